"""Shared helpers for the end-to-end tests: the running sandbox, its control
API, and a way to run the real binary with a clean environment.

KL_WRAPPER (e.g. "valgrind --quiet --error-exitcode=97 --leak-check=full") is
put in front of the binary's argv by SandboxTest.kl() and SandboxTest.start().
A run the wrapper flags (its --error-exitcode) fails the test at once, with the
wrapper's report in the message, whatever the test itself asserts. Under
valgrind each run's report goes to a file of its own (--log-file), so the
binary's stderr stays what the tests expect; KL_WRAPPER_LOG_DIR keeps those
files (scripts/valgrind-e2e.sh reads them), else they go with the test's
temporary directory."""
import itertools
import json
import os
import re
import shlex
import socket
import stat
import subprocess
import tempfile
import time
import unittest
import urllib.request

BIN = os.environ["KL_BIN"]
SANDBOX = os.environ["KL_SANDBOX_DIR"]
SOURCE = os.environ["KL_SOURCE_DIR"]
EXAMPLE_CONFIG = os.path.join(SOURCE, "config.example.env")
TOKEN_FILE = os.path.join(SANDBOX, "token")
TOKEN = open(TOKEN_FILE, encoding="ascii").read().strip()
PORT = int(open(os.path.join(SANDBOX, "port"), encoding="ascii").read())
URL = f"http://127.0.0.1:{PORT}"
FORMS = "/api/v4/leads/unsorted/forms"

WRAPPER = shlex.split(os.environ.get("KL_WRAPPER", ""))
_VALGRIND = bool(WRAPPER) and os.path.basename(WRAPPER[0]).startswith("valgrind")


def _wrapper_error_code(argv):
    for a in argv:
        m = re.fullmatch(r"--error-exitcode=(\d+)", a)
        if m:
            return int(m.group(1))
    return None


# the exit status by which the wrapper says it found something (None: it has none)
WRAPPER_ERROR = _wrapper_error_code(WRAPPER)
# how much slower a run is under the wrapper: scales the per-run time limit
SLOWDOWN = float(os.environ.get("KL_WRAPPER_SLOWDOWN", "10")) if WRAPPER else 1.0
RUN_TIMEOUT = 120 * SLOWDOWN
_runs = itertools.count(1)

# Tests that rely on the binary starting and running fast, skipped under
# KL_WRAPPER. Keyed by "Class.test_name"; a test may instead say it itself
# with @fast_binary_only(reason). Keep this short: every entry is code that
# memcheck does not see.
WRAPPER_SKIPS = {
    "StateTest.test_a_second_run_on_the_same_state_exits_75_at_once":
        "asserts the second run is refused within 2.5 s of starting",
    "ImportTest.test_rate_limit_is_never_exceeded":
        "times requests at the sandbox's arrival: the wrapper's uneven delay between a request's start "
        "and its arrival puts 8 arrivals in 1 s although no 8 starts were",
    "SkipExistingTest.test_import_searches_count_against_the_rate_limit":
        "times requests at the sandbox's arrival, as above (the first connection's setup delays only the first)",
}


def fast_binary_only(reason):
    """Skips a test under KL_WRAPPER: for assertions on how fast the binary is."""
    return unittest.skipIf(bool(WRAPPER), f"under KL_WRAPPER: {reason}")


def control(method, path, body=None, url=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request((url or URL) + "/_sandbox/" + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def recorded(url=None):
    return control("GET", "requests", url=url)


def start_sandbox(directory, *args, token=None):
    """Starts a sandbox of its own in directory (scripts/sandbox-ctl start);
    token, when given, is the one it accepts. Returns its URL."""
    env = dict(os.environ, KOMMO_SANDBOX_TOKEN=token or "")
    ctl = os.path.join(SOURCE, "scripts", "sandbox-ctl")
    return subprocess.run([ctl, "start", directory, *args], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def stop_sandbox(directory):
    subprocess.run([os.path.join(SOURCE, "scripts", "sandbox-ctl"), "stop", directory], check=False)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout.decode("utf-8")
        self.err = proc.stderr.decode("utf-8")
        self.wrapper_log = ""  # the wrapper's report on this run, if it wrote one to a file

    def __repr__(self):
        return f"exit {self.code}\nstdout: {self.out}\nstderr: {self.err}"


_DEFAULT = object()


class SandboxTest(unittest.TestCase):
    """Resets the sandbox before each test; self.kl() runs the binary.
    A subclass may point url and token_file at a sandbox of its own."""
    maxDiff = None
    url = URL
    token_file = TOKEN_FILE

    def setUp(self):
        if WRAPPER:
            reason = WRAPPER_SKIPS.get(f"{type(self).__name__}.{self._testMethodName}")
            if reason:
                self.skipTest(f"under KL_WRAPPER: {reason}")
        self.control("POST", "reset")
        self.seen = len(self.recorded())
        self.tmp = tempfile.TemporaryDirectory()
        self.home = self.tmp.name  # no ~/.config/kommo-lead here: no config file by default

    def tearDown(self):
        self.tmp.cleanup()

    def control(self, method, path, body=None):
        return control(method, path, body, url=self.url)

    def recorded(self):
        return recorded(self.url)

    def environment(self, env=None, base_url=_DEFAULT):
        """The binary's whole environment: nothing of the caller's but PATH (and sanitizer options)."""
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home, "LANG": "C.UTF-8"}
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        if base_url is _DEFAULT:
            base_url = self.url
        if base_url:
            e["KOMMO_BASE_URL"] = base_url
        e.update(env or {})
        return e

    def wrapped(self, argv):
        """argv with KL_WRAPPER in front, and the file the wrapper reports to (or None)."""
        if not WRAPPER:
            return list(argv), None
        log = None
        if _VALGRIND and not any(a.startswith(("--log-file", "--log-fd", "--log-socket")) for a in WRAPPER):
            d = os.environ.get("KL_WRAPPER_LOG_DIR") or self.tmp.name
            os.makedirs(d, exist_ok=True)
            log = os.path.join(d, f"{type(self).__name__}.{self._testMethodName}.{os.getpid()}.{next(_runs)}.log")
            return [WRAPPER[0], f"--log-file={log}", *WRAPPER[1:], *argv], log
        return [*WRAPPER, *argv], None

    def check_wrapper(self, argv, code, log, result=""):
        """Fails the test when the wrapper flagged the run; returns its report."""
        text = ""
        if log and os.path.exists(log):
            with open(log, encoding="utf-8", errors="replace") as f:
                text = f.read()
        if WRAPPER and WRAPPER_ERROR is not None and code == WRAPPER_ERROR:
            self.fail(f"{WRAPPER[0]} found errors (exit {code}) in: {shlex.join(argv)}\n"
                      f"{text or '(its report went to stderr)'}\n{result}")
        return text

    def kl(self, *args, env=None, base_url=_DEFAULT, token_file=_DEFAULT, stdout=subprocess.PIPE, stdin=None,
           cwd=None):
        e = self.environment(env, base_url)
        if token_file is _DEFAULT:
            token_file = self.token_file
        argv = [BIN, *args]
        if token_file:
            argv += ["--token-file", token_file]
        full, log = self.wrapped(argv)
        proc = subprocess.run(full, env=e, stdout=stdout, stderr=subprocess.PIPE, timeout=RUN_TIMEOUT,
                              input=stdin, cwd=cwd)
        if stdout != subprocess.PIPE:
            proc.stdout = b""
        r = Result(proc)
        r.wrapper_log = self.check_wrapper(argv, r.code, log, r)
        return r

    def start(self, *args, env=None, base_url=_DEFAULT, token_file=_DEFAULT, cwd=None, **popen):
        """Starts the binary without waiting (for signals, /proc, races); finish() collects it."""
        e = self.environment(env, base_url)
        if token_file is _DEFAULT:
            token_file = self.token_file
        argv = [BIN, *args]
        if token_file:
            argv += ["--token-file", token_file]
        full, log = self.wrapped(argv)
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen(full, env=e, cwd=cwd, **popen)
        p.kl_argv, p.kl_log = argv, log
        return p

    def finish(self, p, timeout=60):
        """Waits for a start()ed run; a Result, checked as kl() checks one."""
        out, err = p.communicate(timeout=timeout * SLOWDOWN)
        p.stdout, p.stderr = out or b"", err or b""
        r = Result(p)
        r.wrapper_log = self.check_wrapper(p.kl_argv, r.code, p.kl_log, r)
        return r

    def new_requests(self):
        return self.recorded()[self.seen:]

    def only_request(self):
        reqs = self.new_requests()
        self.assertEqual(len(reqs), 1, reqs)
        return reqs[0]

    def assert_nothing_sent(self):
        self.assertEqual(self.new_requests(), [])

    def fault(self, *kinds):
        self.control("POST", "faults", {"faults": list(kinds)})

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

