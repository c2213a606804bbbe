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
import fcntl
import itertools
import json
import os
import re
import shlex
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import termios
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
    "ImportTest.test_auto_batches_halve_when_too_heavy_and_settle_under_the_limit":
        "--batch-size auto grows only after batches answered within a second: under the wrapper none is",
    "SkipExistingTest.test_import_searches_count_against_the_rate_limit":
        "times requests at the sandbox's arrival, as above (the first connection's setup delays only the first)",
}


def load_tests(loader, tests, pattern):
    """KL_TEST_SHARD=I/N: only every N-th test, from the I-th on, so that N processes,
    each against a sandbox of its own, share a suite's wall time (tests/CMakeLists.txt
    says which suites are split). A suite takes part by importing this function:
    from kltest import load_tests."""
    shard = os.environ.get("KL_TEST_SHARD")
    if not shard:
        return tests
    i, n = (int(x) for x in shard.split("/"))

    def flat(suite):
        for t in suite:
            yield from flat(t) if isinstance(t, unittest.TestSuite) else (t,)
    return unittest.TestSuite(t for k, t in enumerate(flat(tests)) if k % n == i - 1)


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
# kl(stdout=CLOSED): the binary starts with descriptor 1 closed
CLOSED = object()


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

    def argv(self, args, token_file=_DEFAULT):
        """The binary and its arguments, with --token-file (the test's token unless given; None: none)."""
        if token_file is _DEFAULT:
            token_file = self.token_file
        return [BIN, *args] + (["--token-file", token_file] if token_file else [])

    def wrapped(self, argv, log_fd=False):
        """argv with KL_WRAPPER in front, the file the wrapper reports to (or None), and a
        descriptor the run must inherit (or None). log_fd: valgrind gets that file as a
        descriptor opened here (--log-fd) rather than a name (--log-file): it opens a name at
        the lowest free descriptor, which is 1 when the binary is to find stdout closed."""
        if not WRAPPER:
            return list(argv), None, None
        if _VALGRIND and not any(a.startswith(("--log-file", "--log-fd", "--log-socket")) for a in WRAPPER):
            d = os.environ.get("KL_WRAPPER_LOG_DIR") or self.tmp.name
            os.makedirs(d, exist_ok=True)
            log = os.path.join(d, f"{type(self).__name__}.{self._testMethodName}.{os.getpid()}.{next(_runs)}.log")
            if log_fd:
                fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                return [WRAPPER[0], f"--log-fd={fd}", *WRAPPER[1:], *argv], log, fd
            return [WRAPPER[0], f"--log-file={log}", *WRAPPER[1:], *argv], log, None
        return [*WRAPPER, *argv], None, None

    def check_wrapper(self, argv, code, log, result=""):
        """Fails the test when the wrapper flagged the run; returns its report."""
        text = ""
        if log and os.path.exists(log):
            with open(log, encoding="utf-8", errors="replace") as f:
                text = f.read()
        if WRAPPER and WRAPPER_ERROR is not None and code == WRAPPER_ERROR:
            self.fail(f"{WRAPPER[0]} found errors (exit {code}) in: {shlex.join(map(os.fsdecode, argv))}\n"
                      f"{text or '(its report went to stderr)'}\n{result}")
        return text

    def kl(self, *args, env=None, base_url=_DEFAULT, token_file=_DEFAULT, stdout=subprocess.PIPE, stdin=None,
           cwd=None):
        """Runs the binary (under KL_WRAPPER, if set) and waits for it. stdout: PIPE (r.out),
        a file or descriptor, or CLOSED."""
        e = self.environment(env, base_url)
        argv = self.argv(args, token_file)
        closed = stdout is CLOSED
        full, log, log_fd = self.wrapped(argv, log_fd=closed)
        try:
            proc = subprocess.run(full, env=e, stdout=None if closed else stdout, stderr=subprocess.PIPE,
                                  timeout=RUN_TIMEOUT, input=stdin, cwd=cwd,
                                  pass_fds=() if log_fd is None else (log_fd,),
                                  preexec_fn=(lambda: os.close(1)) if closed else None)
        finally:
            if log_fd is not None:
                os.close(log_fd)
        if stdout != subprocess.PIPE:
            proc.stdout = b""
        r = Result(proc)
        r.wrapper_log = self.check_wrapper(argv, r.code, log, r)
        return r

    def start(self, *args, env=None, base_url=_DEFAULT, token_file=_DEFAULT, cwd=None, **popen):
        """Starts the binary without waiting (for signals, /proc, races); finish() collects it.
        Under valgrind p.pid is kommo-lead itself: valgrind runs its client in the process it
        was started as, and delivers the signals sent to it to the client (see interrupt())."""
        e = self.environment(env, base_url)
        argv = self.argv(args, token_file)
        full, log, _ = self.wrapped(argv)
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

    def _abandon(self, p, why):
        """Fails the test over a start()ed run, killing it first if it still runs."""
        if p.poll() is None:
            p.kill()
            why += " (killed)"
        if p.stdin:
            p.stdin.close()
            p.stdin = None
        self.fail(f"{why}: {self.finish(p, timeout=30)}")

    def wait_for_requests(self, p, n, timeout=30):
        """Waits until n requests reached the sandbox since the test began, with the
        start()ed run p still running; fails the test if p ends first or it takes longer
        than timeout seconds (scaled by SLOWDOWN)."""
        deadline = time.monotonic() + timeout * SLOWDOWN
        while len(self.new_requests()) < n:
            if p.poll() is not None:
                self._abandon(p, f"the run ended before {n} requests reached the sandbox")
            if time.monotonic() > deadline:
                self._abandon(p, f"{n} requests did not reach the sandbox in {timeout * SLOWDOWN:g} s")
            time.sleep(0.01)

    def wait_for_stdin_read(self, p, timeout=30):
        """Waits until the start()ed run p (started with stdin=subprocess.PIPE) has read
        every byte written to its standard input so far."""
        p.stdin.flush()
        deadline = time.monotonic() + timeout * SLOWDOWN
        while struct.unpack("i", fcntl.ioctl(p.stdin.fileno(), termios.FIONREAD, b"\0" * 4))[0]:
            if p.poll() is not None:
                self._abandon(p, "the run ended before it read its standard input")
            if time.monotonic() > deadline:
                self._abandon(p, f"the run did not read its standard input in {timeout * SLOWDOWN:g} s")
            time.sleep(0.02)

    def interrupt(self, p, sig=signal.SIGINT):
        """Sends sig to the start()ed run p, which must still be running. It goes to p.pid:
        the binary itself, or under valgrind the process valgrind runs it in, which delivers
        it to the binary's handler. (A wrapper that ran the binary as a child process of its
        own would have to pass it on.) Wait first until the binary is past installing its
        handler (wait_for_requests, wait_for_stdin_read): before that, sig kills it."""
        if p.poll() is not None:
            self._abandon(p, f"the run ended before it was sent signal {sig}")
        p.send_signal(sig)

    def new_requests(self):
        return self.recorded()[self.seen:]

    def leads_per_uid(self):
        """{source_uid: how many leads the sandbox holds with it}."""
        counts = {}
        for lead in control("GET", "entities")["leads"]:
            counts[lead["source_uid"]] = counts.get(lead["source_uid"], 0) + 1
        return counts

    def forms_posts(self):
        """The unsorted/forms requests since the test began."""
        return [q for q in self.new_requests() if q["path"] == FORMS]

    def lookups(self):
        """The looks at Incoming leads (GET /api/v4/leads/unsorted?...) since the test began."""
        return [q for q in self.new_requests() if q["path"].startswith("/api/v4/leads/unsorted?")]

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

