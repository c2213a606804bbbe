#!/usr/bin/env python3
"""End-to-end tests of Kommo's limit of 7 requests a second per account, shared
by every kommo-lead process on the machine (kl_limiter): processes run at the
same time against a sandbox that enforces 7 a second receive no 429, and a run
killed and restarted at once does not go over either.

Each test starts a sandbox of its own with its rate limit on. The processes of
one test share a HOME (kltest's environment), so they share the account's
budget file under ~/.cache/kommo-lead/.

Run by CTest with KL_BIN, KL_SANDBOX_DIR and KL_SOURCE_DIR set."""
import json
import os
import subprocess
import tempfile
import unittest

from kltest import FORMS, SandboxTest, start_sandbox, stop_sandbox


class LimitsTest(SandboxTest):
    def setUp(self):
        super().setUp()
        self.sb = tempfile.TemporaryDirectory()
        self.limited = start_sandbox(self.sb.name, "--rate-limit", "7")
        self.limited_token = os.path.join(self.sb.name, "token")

    def tearDown(self):
        stop_sandbox(self.sb.name)
        self.sb.cleanup()
        super().tearDown()

    def limited_requests(self):
        with open(os.path.join(self.sb.name, "requests.jsonl"), encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def run_on_limited(self, *args, stdin=None):
        return self.start(*args, base_url=self.limited, token_file=self.limited_token,
                          stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)

    def csv(self, name, prefix, n):
        return self.write(name, "name,phone\n" + "".join(f"{name}{i},+{prefix}{i:07d}\n" for i in range(n)))

    def test_two_imports_and_a_dozen_submits_at_once_get_no_429(self):
        a, b = self.csv("a", "7981", 120), self.csv("b", "7982", 120)
        procs = [self.run_on_limited("import", "--no-config", "--batch-size", "5", a),
                 self.run_on_limited("import", "--no-config", "--batch-size", "5", b)]
        procs += [self.run_on_limited("--no-config", "--name", f"S{i}", "--phone", f"+7983{i:07d}")
                  for i in range(12)]
        results = [self.finish(p, timeout=120) for p in procs]
        for r in results:
            self.assertEqual(r.code, 0, r)
        reqs = self.limited_requests()
        forms = [q for q in reqs if q["path"] == FORMS]
        self.assertEqual(len(forms), 24 + 24 + 12)
        self.assertEqual([q for q in reqs if q["status"] == 429], [], "no 429 from a 7 req/s account")

    def test_a_run_killed_and_restarted_at_once_gets_no_429(self):
        a = self.csv("k", "7984", 60)
        p = self.run_on_limited("import", "--no-config", "--batch-size", "1", a)
        # killed once it has used the account's budget of the second
        self.wait_for_limited(p, 7)
        p.kill()
        self.finish(p, timeout=30)
        r = self.finish(self.run_on_limited("import", "--no-config", "--batch-size", "1", a), timeout=120)
        self.assertEqual(r.code, 0, r)
        reqs = self.limited_requests()
        self.assertGreaterEqual(len(reqs), 60)
        self.assertEqual([q for q in reqs if q["status"] == 429], [], "the restart waited for the killed run's starts")

    def wait_for_limited(self, p, n):
        """Waits until n requests reached the limited sandbox, p still running."""
        import time
        deadline = time.monotonic() + 60
        while True:
            try:
                if len(self.limited_requests()) >= n:
                    return
            except FileNotFoundError:
                pass
            if p.poll() is not None or time.monotonic() > deadline:
                self.fail(f"the run ended before {n} requests reached the sandbox: {self.finish(p)}")
            time.sleep(0.01)


if __name__ == "__main__":
    unittest.main(verbosity=2)
