#!/usr/bin/env python3
"""End-to-end tests that the API token stays secret: it never shows in what
kommo-lead prints (even with --verbose, even when things fail), in its dry
runs, or in any file it writes; values that go into a request's header or URL
cannot smuggle in another header; and no option takes the token, so it is
never in the process's command line.

The tests run against a sandbox of their own that accepts a token made up for
this run, long and shaped like Kommo's (a JWT), so that any piece of it that
leaks is found, not only the whole."""
import base64
import json
import os
import secrets
import shutil
import tempfile
import time
import unittest
import urllib.parse

from kltest import EXAMPLE_CONFIG, SLOWDOWN, SandboxTest, closed_port, start_sandbox, stop_sandbox


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwt_like():
    """A token shaped like Kommo's long-lived tokens, random for this run."""
    head = b64url(b'{"typ":"JWT","alg":"RS256","jti":"' + secrets.token_hex(8).encode() + b'"}')
    return f"{head}.{b64url(secrets.token_bytes(96))}.{b64url(secrets.token_bytes(64))}"


TOKEN = jwt_like()
WRONG = jwt_like()  # a token the sandbox refuses (401)
_dir = None


def setUpModule():
    global _dir
    _dir = tempfile.mkdtemp(prefix="kl-secrets-")
    SecretsTest.url = start_sandbox(os.path.join(_dir, "sandbox"), "--rate-limit", "0", token=TOKEN)
    SecretsTest.token_file = os.path.join(_dir, "token")
    with open(SecretsTest.token_file, "w", encoding="ascii") as f:
        f.write(TOKEN + "\n")  # an editor's final newline is allowed
    os.chmod(SecretsTest.token_file, 0o600)


def tearDownModule():
    stop_sandbox(os.path.join(_dir, "sandbox"))
    shutil.rmtree(_dir, ignore_errors=True)


def pieces(token, width=12):
    """Every width-character piece of the token's random parts: a token cut
    short, wrapped or partly masked still shows one of them."""
    parts = token.split(".")[1:]  # the JWT header is the same shape for every token
    return {p[i:i + width] for p in parts for i in range(0, len(p) - width + 1)}


class SecretsTest(SandboxTest):
    token_file = None  # set by setUpModule

    # --- helpers -------------------------------------------------------------------

    def assert_secret_absent(self, text, where, token=TOKEN):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.assertNotIn(token, text, f"the token is in {where}")
        for p in pieces(token):
            self.assertNotIn(p, text, f"a piece of the token ({p}) is in {where}:\n{text}")

    def assert_clean(self, r, token=TOKEN):
        self.assert_secret_absent(r.out, "stdout", token)
        self.assert_secret_absent(r.err, "stderr", token)

    def assert_files_clean(self, root, token=TOKEN, allowed=()):
        """No file under root holds the token, but those that held it before the run."""
        seen = 0
        for d, _, names in os.walk(root):
            for n in names:
                path = os.path.join(d, n)
                if path in allowed or not os.path.isfile(path):
                    continue
                with open(path, "rb") as f:
                    self.assert_secret_absent(f.read(), path, token)
                seen += 1
        return seen

    def run_kl(self, *args, **kw):
        """self.kl() in the test's directory, with TMPDIR there too, so that every
        file the run writes lands where assert_files_clean looks."""
        env = dict(kw.pop("env", None) or {}, TMPDIR=self.tmp.name)
        return self.kl(*args, env=env, cwd=self.tmp.name, **kw)

    def assert_token_was_sent(self, token=TOKEN):
        """The run did send the token: what it printed was printed with the token in play."""
        reqs = self.new_requests()
        self.assertTrue(reqs, "nothing was sent")
        for q in reqs:
            self.assertEqual(q["headers"].get("authorization"), "Bearer " + token)

    def config(self, text, name="config.env", mode=0o600):
        return self.write(name, text, mode)

    # --- what is printed when all goes well ------------------------------------------

    def test_verbose_runs_of_every_command_never_print_the_token(self):
        self.config(f"KOMMO_API_TOKEN={TOKEN}\n", name="tok.env")
        cases = [
            ("submit", "--no-config", "--name", "A", "--phone", "1234567"),
            ("submit", "--no-config", "--name", "A", "--phone", "1234567", "--json"),
            ("check", "--config", EXAMPLE_CONFIG),
            ("check", "--config", EXAMPLE_CONFIG, "--json"),
            ("fields", "--no-config"),
            ("fields", "--no-config", "--env"),
            ("fields", "--no-config", "--json"),
            ("leads", "search", "Заявка", "--no-config"),
            ("contacts", "search", "1234567", "--no-config", "--json"),
            ("leads", "create", "--no-config", "--name", "Deal", "--price", "5"),
            ("contacts", "create", "--no-config", "--name", "Anna", "--phone", "7654321"),
            ("submit", "--no-config", "--name", "B", "--phone", "1234568", "--skip-existing"),
        ]
        for args in cases:
            with self.subTest(args=args):
                self.seen = len(self.recorded())
                r = self.run_kl(*args, "--verbose")
                self.assertIn(r.code, (0, 78), r)  # check may find the example's ids missing
                self.assertIn("Authorization: Bearer [redacted]", r.err)
                self.assert_clean(r)
                self.assert_token_was_sent()
        lead = self.run_kl("leads", "create", "--no-config", "--name", "Deal", "--json")
        lead_id = json.loads(lead.out)["lead_id"]
        r = self.run_kl("leads", "update", str(lead_id), "--no-config", "--price", "9", "-v")
        self.assertEqual(r.code, 0, r)
        self.assert_clean(r)
        # the token from the environment and from a config file: the same
        for env, cfg in (({"KOMMO_API_TOKEN": TOKEN}, "--no-config"), ({}, "tok.env")):
            with self.subTest(env=bool(env), cfg=cfg):
                self.seen = len(self.recorded())
                args = ("--no-config",) if cfg == "--no-config" else ("--config", os.path.join(self.tmp.name, cfg))
                r = self.run_kl(*args, "--name", "A", "--phone", "1234567", "-v", env=env, token_file=None)
                self.assertEqual(r.code, 0, r)
                self.assert_clean(r)
                self.assert_token_was_sent()
        self.assert_files_clean(self.tmp.name, allowed={os.path.join(self.tmp.name, "tok.env")})

    def test_import_state_and_rejects_files_never_hold_the_token(self):
        csv = self.write("in.csv", "name,phone\nA,+79990000001\nB,12ab\nREJECT,+79990000002\nC,+79990000003\n")
        state, rej = os.path.join(self.tmp.name, "run.state"), os.path.join(self.tmp.name, "rejects.csv")
        r = self.run_kl("import", "--no-config", "--state", state, "--rejects", rej, "--batch-size", "2",
                        "-v", csv)
        self.assertEqual(r.code, 65, r)
        self.assert_token_was_sent()
        self.assert_clean(r)
        self.assertGreater(os.path.getsize(state), 0)
        with open(rej, encoding="utf-8") as f:
            self.assertEqual(len(f.read().splitlines()), 3, "two rows rejected")
        # the rerun reads the journal and sends nothing more
        self.seen = len(self.recorded())
        r = self.run_kl("import", "--no-config", "--state", state, "--rejects", rej, "-v", csv)
        self.assertEqual(r.code, 65, r)
        self.assert_clean(r)
        # failed rows (a 500, then the import stops) go to the rejects file too (without
        # --state: with it they are the state file's rerun's)
        csv2 = self.write("in2.csv", "name,phone\nD,+79990000004\n")
        self.fault(*["500"] * 3)
        r = self.run_kl("import", "--no-config", "--rejects", rej + "2",
                        "--max-retries", "1", "-v", csv2)
        self.assertEqual(r.code, 75, r)
        self.assert_clean(r)
        with open(rej + "2", encoding="utf-8") as f:
            self.assertIn("D", f.read())
        # every file the runs left (state, rejects, their locks, anything in TMPDIR)
        self.assertGreaterEqual(self.assert_files_clean(self.tmp.name), 4)

    def test_dry_run_output_never_holds_the_token(self):
        csv = self.write("in.csv", "name,phone\nA,+79990000001\nB,+79990000002\n")
        cases = [
            ("--no-config", "--name", "A", "--phone", "1234567"),
            ("--config", EXAMPLE_CONFIG, "--name", "A", "--phone", "8 999 123-45-67", "--career", "x"),
            ("import", "--no-config", csv),
            ("leads", "create", "--no-config", "--name", "Deal"),
            ("leads", "update", "5", "--no-config", "--name", "Deal"),
            ("contacts", "create", "--no-config", "--name", "Anna", "--phone", "7654321"),
        ]
        for args in cases:
            for how in ("file", "env"):
                with self.subTest(args=args, token=how):
                    kw = {"env": {"KOMMO_API_TOKEN": TOKEN}, "token_file": None} if how == "env" else {}
                    r = self.run_kl(*args, "--dry-run", "-v", **kw)
                    self.assertEqual(r.code, 0, r)
                    self.assertTrue(r.out.strip(), r)
                    self.assert_clean(r)
        self.assert_nothing_sent()
        self.assert_files_clean(self.tmp.name)

    # --- what is printed when things fail ---------------------------------------------

    def test_a_refused_token_is_never_printed_whatever_its_source(self):
        bad = self.write("wrong-token", WRONG + "\n")
        cfg = self.config(f"KOMMO_API_TOKEN={WRONG}\n")
        sources = [
            ({"token_file": bad}, "--token-file " + bad),
            ({"token_file": None, "env": {"KOMMO_API_TOKEN": WRONG}}, "environment"),
            ({"token_file": None}, cfg),
        ]
        commands = [("--name", "A", "--phone", "1234567"), ("check",), ("fields",),
                    ("leads", "search", "x"), ("contacts", "create", "--name", "A"),
                    ("import", self.write("in.csv", "name,phone\nA,+79990000001\n"))]
        for kw, origin in sources:
            for cmd in commands:
                with self.subTest(cmd=cmd, origin=origin):
                    self.seen = len(self.recorded())
                    conf = ("--config", cfg) if origin == cfg else ("--no-config",)
                    r = self.run_kl(*cmd, *conf, "-v", **kw)
                    self.assertEqual(r.code, 77, r)
                    self.assertIn("HTTP 401", r.err)
                    self.assertIn(f"the refused token came from {origin}", r.err)
                    self.assert_clean(r, WRONG)
                    self.assert_token_was_sent(WRONG)

    def test_error_replies_and_lost_replies_never_print_the_token(self):
        cases = [
            (["401"], 77), (["402"], 77), (["403html"], 77), (["429"] * 5, 75), (["429html"] * 5, 75),
            # an answer lost (5xx but 503, no reply, an unreadable 200): submit looks for the
            # lead among Incoming leads, and finds it or sends it again: exit 0 either way
            (["500"], 0), (["502"], 0), (["503"], 69), (["504"], 0), (["422"], 65), (["reset"], 0),
            (["truncated"], 0), (["garbage"], 0), (["hang"], 0),
        ]
        for i, (faults, code) in enumerate(cases):
            with self.subTest(faults=faults):
                self.seen = len(self.recorded())
                self.fault(*faults)
                # a source_uid of its own: the lookup after a lost answer must find one lead
                r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", "--source-uid", f"u-{i}",
                                "--timeout", "1", "-v")
                self.control("DELETE", "faults")
                self.assertEqual(r.code, code, r)
                self.assert_clean(r)
                self.assert_token_was_sent()
        # GETs are retried: every retry's log line too
        self.seen = len(self.recorded())
        self.fault("502", "hang", "500")
        r = self.run_kl("fields", "--no-config", "--timeout", "1", "-v")
        self.assertEqual(r.code, 69, r)
        self.assertIn("retrying", r.err)
        self.assert_clean(r)
        self.assert_token_was_sent()
        # and an import whose answer is lost, whose look at Incoming leads is retried, and
        # that sends the row again: every log line of it
        self.seen = len(self.recorded())
        self.fault("hang", "503", "hang")
        csv = self.write("in.csv", "name,phone\nA,+79990000001\n")
        r = self.run_kl("import", "--no-config", "--max-retries", "2", "--timeout", "1", "-v", csv)
        self.assertEqual(r.code, 0, r)
        self.assertIn("retrying", r.err)
        self.assertIn("possibly_duplicated", r.out)
        self.assert_clean(r)

    def test_validation_errors_and_wrong_addresses_never_print_the_token(self):
        cases = [
            (("--config", EXAMPLE_CONFIG, "--name", "A", "--phone", "+79991234567", "--pipeline", "5"), {}, 65),
            (("--no-config", "--name", "REJECT", "--phone", "1234567"), {}, 65),
            (("leads", "create", "--no-config", "--name", "D", "--status", "1"), {}, 65),
            (("leads", "update", "999999999", "--no-config", "--price", "1"), {}, 65),
            (("--no-config", "--name", "A", "--phone", "1234567"), {"base_url": self.url + "/nothing"}, 78),
            (("check", "--no-config"), {"base_url": self.url + "/nothing"}, 78),
            (("--no-config", "--name", "A", "--phone", "1234567"),
             {"base_url": f"http://127.0.0.1:{closed_port()}"}, 69),
        ]
        for args, kw, code in cases:
            with self.subTest(args=args, **kw):
                r = self.run_kl(*args, "-v", **kw)
                self.assertEqual(r.code, code, r)
                self.assert_clean(r)

    def test_a_reply_quoting_the_token_back_is_not_printed(self):
        """A proxy's error page or an echo service at a wrong KOMMO_BASE_URL may
        quote the request's headers; the token must not go from there into the
        messages (and cron mails, journals) kommo-lead writes."""
        import http.server
        import threading

        class Echo(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.answer()

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.answer()

            def answer(self):
                auth = self.headers.get("Authorization", "")
                status = 400 if "forms" in self.path else 500
                body = json.dumps({"title": "Bad Request", "status": status, "detail": "you sent " + auth,
                                   "validation-errors": [{"request_id": "0", "errors": [
                                       {"code": "X", "path": "source_uid", "detail": auth}]}]}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/problem+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{srv.server_address[1]}"
            for args in (("--no-config", "--name", "A", "--phone", "1234567"),
                         ("leads", "search", "x", "--no-config")):
                for verbose in (["-v"], ["-v", "-v"]):
                    with self.subTest(args=args, verbose=len(verbose)):
                        r = self.run_kl(*args, *verbose, base_url=url)
                        self.assertIn(r.code, (65, 69), r)
                        self.assertIn("you sent Bearer [redacted]", r.err)
                        # -v -v shows the reply's body as it came, with the token redacted
                        shown = '< {"title": "Bad Request"' in r.err
                        self.assertEqual(shown, len(verbose) == 2, r.err)
                        self.assert_clean(r)
                        if len(verbose) == 2 and args[0] != "leads":
                            self.assertRegex(r.err, r'kommo-lead: > \[\{"source_name"|kommo-lead: > .*"source_uid"')
        finally:
            srv.shutdown()
            srv.server_close()

    def test_configuration_mistakes_never_print_the_token(self):
        t, here = TOKEN, {"KOMMO_BASE_URL": self.url}
        cases = [
            # (config file text, environment, what stderr says)
            (f"KOMMO_API_TOKEN={t}\nKOMMO_PIPELINE_ID=12x\n", here, "is not an id"),
            (f"KOMMO_API_TOKEN={t}\nthis is not a line\n", here, "expected KEY=value"),
            (f'KOMMO_API_TOKEN="{t}\n', here, "double quote is not closed"),
            (f"KOMMO_API_TOKEN='{t}' trailing\n", here, "unexpected text after the closing quote"),
            (f"KOMMO_API_TOKEN={t} {t}\n", here, "white space"),
            (f"KOMMO_API_TOKN={t}\n", here, "unknown key KOMMO_API_TOKN ignored"),
            (f"kommo_api_token={t}\n", here, "did you mean KOMMO_API_TOKEN"),
            (f"KOMMO_API_TOKEN={t}\nKOMMO_SUBDOMAIN=Bad_Sub\n", {}, "not a Kommo subdomain"),
            (f"KOMMO_API_TOKEN={t}\nKOMMO_DOMAIN=https://acme.amocrm.ru/\n", {}, "not a domain name"),
            (f"KOMMO_API_TOKEN={t}\n", {"KOMMO_BASE_URL": "http://kommo.example.com"}, "plain http"),
            (f"KOMMO_API_TOKEN={t}\n", {"KOMMO_BASE_URL": self.url + "/api/v4"}, "ends in /api/v4"),
            (f"KOMMO_API_TOKEN={t}\n", dict(here, KOMMO_CA_BUNDLE="/nonexistent/ca.pem"), "cannot read"),
            ("KOMMO_SUBDOMAIN=x\n", {"KOMMO_API_TOKEN": t + "\t"}, "white space"),
            ("KOMMO_SUBDOMAIN=x\n", {"KOMMO_API_TOKEN": "é" + t}, "non-ASCII"),
        ]
        for text, env, message in cases:
            with self.subTest(text=text.replace(t, "TOKEN"), env=list(env)):
                cfg = self.config(text)
                r = self.run_kl("--config", cfg, "--name", "A", "--phone", "1234567", "-v", env=env,
                                token_file=None, base_url=None)
                self.assertIn(r.code, (64, 78), r)
                self.assertIn(message, r.err)
                self.assert_clean(r)
        self.assert_nothing_sent()
        # a token file given as a directory, or with two lines
        two = self.write("two", f"{t}\n{t}\n")
        for path in (self.tmp.name, two):
            with self.subTest(token_file=path):
                r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", "-v", token_file=path)
                self.assertEqual(r.code, 78, r)
                self.assert_clean(r)
        self.assert_nothing_sent()
        # a readable config file is warned about by name, the token not shown
        cfg = self.config(f"KOMMO_API_TOKEN={t}\n", mode=0o644)
        r = self.run_kl("--config", cfg, "--name", "A", "--phone", "1234567", "-v", token_file=None)
        self.assertEqual(r.code, 0, r)
        self.assertIn("other users can read it", r.err)
        self.assert_clean(r)

    # --- CR, LF and other control characters in header and URL values --------------------

    def assert_refused_unsent(self, r, *messages):
        self.assertIn(r.code, (64, 78), r)
        for m in messages:
            self.assertIn(m, r.err)
        # a value is shown escaped, if at all: it cannot start a line or move the cursor
        self.assertTrue(r.err.endswith("\n"), r)
        for line in r.err.splitlines():
            self.assertTrue(line.startswith("kommo-lead: "), r)
        for c in "\r\x1b\x7f\x0b\x0c\x00\u0085\u2028":
            self.assertNotIn(c, r.err, r)
        self.assert_nothing_sent()

    def test_a_token_with_cr_lf_or_control_characters_is_refused_from_every_source(self):
        bad_tokens = [
            TOKEN + "\r\nX-Injected: 1\r\n", TOKEN[:40] + "\rX-Injected: 1" + TOKEN[40:], "\r\n" + TOKEN,
            TOKEN + "\x1b[2J", TOKEN + "\nX-Injected: 1", TOKEN + "\rX-Injected: 1",
            TOKEN + "\x7f", TOKEN + "\x0b", TOKEN + "\x0c", TOKEN + "\u2028", TOKEN + "\u0085", TOKEN + " ",
            TOKEN + "\t"]
        # every token through the environment; the first four through every file as well
        for i, bad in enumerate(bad_tokens):
            shown = repr(bad.replace(TOKEN, "TOKEN"))
            if "\x00" not in bad:  # an environment variable cannot hold NUL
                with self.subTest(source="environment", token=shown):
                    r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", "-v",
                                    env={"KOMMO_API_TOKEN": bad}, token_file=None)
                    self.assert_refused_unsent(r, "KOMMO_API_TOKEN (from environment)", "API token")
                    self.assert_clean(r)
            if i >= 4:
                continue
            with self.subTest(source="config file, quoted with escapes", token=shown):
                esc = bad.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n")
                cfg = self.write("esc.env", "")
                with open(cfg, "w", encoding="utf-8", newline="") as f:
                    f.write(f'KOMMO_API_TOKEN="{esc}"\n')
                r = self.run_kl("--config", cfg, "--name", "A", "--phone", "1234567", "-v", token_file=None)
                self.assert_refused_unsent(r, f"KOMMO_API_TOKEN (from {cfg}:1)", "API token")
                self.assert_clean(r)
            # unquoted, a config value's trailing blanks are trimmed: that token is fine
            with self.subTest(source="config file, raw bytes", token=shown):
                if bad.rstrip(" \t") == TOKEN:
                    continue
                raw = os.path.join(self.tmp.name, "raw.env")
                with open(raw, "wb") as f:
                    f.write(b"KOMMO_API_TOKEN=" + bad.replace("\n", "\r").encode() + b"\n")
                r = self.run_kl("--config", raw, "--name", "A", "--phone", "1234567", "-v", token_file=None)
                self.assert_refused_unsent(r, f"KOMMO_API_TOKEN (from {raw}:1)", "API token")
                self.assert_clean(r)
            with self.subTest(source="--token-file", token=shown):
                path = os.path.join(self.tmp.name, "bad-token")
                with open(path, "wb") as f:
                    f.write(bad.encode() + b"\n")
                os.chmod(path, 0o600)
                r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", "-v", token_file=path)
                self.assert_refused_unsent(r, "--token-file " + path)
                self.assert_clean(r)

    def test_a_token_file_with_a_nul_byte_is_refused_not_cut_short(self):
        utf16 = TOKEN.encode("utf-16-le")  # Notepad's "Unicode", without its BOM
        for data in (TOKEN.encode() + b"\0\n", TOKEN[:40].encode() + b"\0" + TOKEN[40:].encode() + b"\n", utf16):
            with self.subTest(data=data[:8]):
                path = os.path.join(self.tmp.name, "nul-token")
                with open(path, "wb") as f:
                    f.write(data)
                os.chmod(path, 0o600)
                r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", "-v", token_file=path)
                self.assert_refused_unsent(r, "--token-file " + path, "NUL")
                self.assert_clean(r)

    def test_a_token_files_final_newline_is_allowed_and_not_sent(self):
        for ending in (b"", b"\n", b"\r\n", b"\n\n"):
            with self.subTest(ending=ending):
                self.seen = len(self.recorded())
                path = os.path.join(self.tmp.name, "tok")
                with open(path, "wb") as f:
                    f.write(TOKEN.encode() + ending)
                os.chmod(path, 0o600)
                r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", token_file=path)
                self.assertEqual(r.code, 0, r)
                self.assertEqual(self.only_request()["headers"]["authorization"], "Bearer " + TOKEN)

    def test_the_token_from_standard_input_or_a_command_is_sent_and_never_printed(self):
        cmd = f"printf %s {TOKEN}"
        cases = [
            ("--token-file -", ["--token-file", "-"], {}, (TOKEN + "\n").encode()),
            ("--token-command", ["--token-command", cmd], {}, None),
            ("KOMMO_TOKEN_COMMAND", [], {"KOMMO_TOKEN_COMMAND": f"printf '%s\\nsecond line' {TOKEN}"}, None),
        ]
        for name, flags, env, stdin in cases:
            with self.subTest(source=name):
                self.seen = len(self.recorded())
                r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", "-v", "-v", *flags,
                                env=env, stdin=stdin, token_file=None)
                self.assertEqual(r.code, 0, r)
                self.assertEqual(self.only_request()["headers"]["authorization"], "Bearer " + TOKEN)
                self.assert_clean(r)

    def test_a_token_command_that_fails_is_a_config_error_naming_it_not_its_output(self):
        cases = [
            (f"printf %s {TOKEN}; exit 3", "failed (exit status 3)"),
            ("true", "printed nothing"),
            (f"printf '\\n%s' {TOKEN}", "empty first line"),
        ]
        for cmd, why in cases:
            with self.subTest(cmd=cmd[:20]):
                self.seen = len(self.recorded())
                r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", "--token-command", cmd,
                                token_file=None)
                self.assertEqual(r.code, 78, r)
                self.assertIn("--token-command", r.err)
                self.assertIn(why, r.err)
                self.assertEqual(self.new_requests(), [])
                self.assertIn(cmd.split()[0], r.err)  # the command is named; what it printed is not
                self.assert_clean(r)

    def test_address_values_with_cr_lf_or_control_characters_are_refused(self):
        # the line breaks into every address, from both places; the rest of the
        # characters into a base URL from the environment (one check covers them all)
        breaks = ["\r\nX-Injected: 1", "\rX-Injected: 1", "\nX-Injected: 1", "\x00"]
        others = ["\tX", "\x1b[2J", "\x7f", "\u0085", " X-Injected", "\u2028X-Injected: 1", "\ufeff", "\\x"]
        for inj in breaks + others:
            cases = [
                ("KOMMO_SUBDOMAIN", "intermigro" + inj, "KOMMO_SUBDOMAIN"),
                ("KOMMO_DOMAIN", "acme.amocrm.ru" + inj, "KOMMO_DOMAIN"),
                ("KOMMO_BASE_URL", self.url + inj, "KOMMO_BASE_URL"),
                ("KOMMO_BASE_URL", self.url + "/kommo" + inj + "/x", "KOMMO_BASE_URL"),
                ("KOMMO_BASE_URL", self.url.replace("127.0.0.1", "127.0.0.1" + inj), "KOMMO_BASE_URL"),
            ]
            if inj in others:
                cases = cases[2:3]
            for key, value, named in cases:
                if "\x00" not in value:
                    with self.subTest(source="environment", key=key, value=repr(value)):
                        r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", "-v",
                                        env={key: value}, base_url=None)
                        self.assert_refused_unsent(r, named)
                        self.assertEqual(r.code, 78, r)
                if inj in others or inj.startswith("\n"):  # a raw LF in a file ends the line: CR stands for it
                    continue
                with self.subTest(source="config file", key=key, value=repr(value)):
                    path = os.path.join(self.tmp.name, "addr.env")
                    with open(path, "wb") as f:  # a line break inside the value: CR only
                        f.write(f"{key}={value}\n".replace("\n", "\r", value.count("\n")).encode())
                    r = self.run_kl("--config", path, "--name", "A", "--phone", "1234567", "-v", base_url=None)
                    self.assert_refused_unsent(r, path)
                    self.assertEqual(r.code, 78, r)

    def test_plain_http_to_a_loopback_address_spelled_otherwise_is_refused_unsent(self):
        """127.-0.-0.1 once passed for loopback (a sign is a digit to sscanf's %u),
        and libcurl hands such a spelling to the resolver as a name: the token
        would go in the clear to wherever the name led. The others reach this
        machine through libcurl's or the C library's reading of them, and are
        refused all the same: only the strict spelling is taken for loopback."""
        port = urllib.parse.urlsplit(self.url).port
        hosts = ["127.-0.-0.1", "127.+0.+0.+1", "127.000.000.001", "0x7f.0.0.1", "2130706433", "127.1",
                 "127.0.0.08"]
        for host in hosts:
            url = f"http://{host}:{port}"
            with self.subTest(source="environment", url=url):
                r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", "-v",
                                env={"KOMMO_BASE_URL": url}, base_url=None)
                self.assert_refused_unsent(r, f'KOMMO_BASE_URL (from environment): "{url}" uses plain http',
                                           f'its host "{host}" is not a loopback address as written',
                                           "e.g. http://127.0.0.1:8080")
                self.assertEqual(r.code, 78, r)
                self.assert_clean(r)
            if host not in hosts[:2]:
                continue
            with self.subTest(source="config file", url=url):
                cfg = self.config(f"KOMMO_API_TOKEN={TOKEN}\nKOMMO_BASE_URL={url}\n")
                r = self.run_kl("leads", "search", "x", "--config", cfg, "-v", token_file=None, base_url=None)
                self.assert_refused_unsent(r, f"KOMMO_BASE_URL (from {cfg}:2)", "uses plain http",
                                           "not a loopback address as written")
                self.assertEqual(r.code, 78, r)
                self.assert_clean(r)
        # the strict spelling of the same address goes through: the refusals are the spelling's
        self.seen = len(self.recorded())
        r = self.run_kl("--no-config", "--name", "A", "--phone", "1234567", base_url=f"http://127.0.0.1:{port}")
        self.assertEqual(r.code, 0, r)
        self.assert_token_was_sent()

    def test_url_parts_from_the_command_line_cannot_add_headers(self):
        # a search query is percent-encoded or refused; an id must be a number
        for cmd in (("leads", "search"), ("contacts", "search")):
            with self.subTest(cmd=cmd):
                r = self.run_kl(*cmd, "a\r\nX-Injected: 1", "--no-config")
                self.assert_refused_unsent(r)
        r = self.run_kl("leads", "update", "1\r\nX-Injected: 1", "--no-config", "--price", "1")
        self.assert_refused_unsent(r)
        r = self.run_kl("leads", "update", "1/../../x", "--no-config", "--price", "1")
        self.assert_refused_unsent(r)
        # what is allowed arrives percent-encoded, in the URL only
        r = self.run_kl("contacts", "search", "a b&c=d#e?%0d%0a", "--no-config")
        self.assertEqual(r.code, 0, r)
        req = self.only_request()
        self.assertIn("query=a%20b%26c%3Dd%23e%3F%250d%250a", req["path"])
        self.assertLessEqual(set(req["headers"]), {"host", "authorization", "content-type", "accept",
                                                   "user-agent", "accept-encoding"}, req)

    # --- the command line ---------------------------------------------------------------

    def test_no_option_takes_the_token_and_a_refusal_never_echoes_it(self):
        forms = [("--token", TOKEN), (f"--token={TOKEN}",), ("--api-token", TOKEN), (f"--api-token={TOKEN}",),
                 (f"--access-token={TOKEN}",), (f"--bearer={TOKEN}",), (f"--kommo-api-token={TOKEN}",),
                 (f"--TOKEN={TOKEN}",), (f"--token-fil={TOKEN}",)]
        commands = [(), ("--name", "A", "--phone", "1234567"), ("import", "-"), ("check",), ("fields",),
                    ("leads", "search", "x"), ("leads", "create", "--name", "D"), ("contacts", "search", "x"),
                    ("contacts", "create", "--name", "A")]
        # every spelling on submit; the two real-looking ones on every other command
        runs = [((), f) for f in forms] + [(c, f) for c in commands[1:] for f in forms[:2] + forms[3:4]]
        for cmd, form in runs:
            with self.subTest(cmd=cmd, form=form[0][:14]):
                r = self.run_kl(*cmd, *form, "--no-config", "-v", token_file=None, stdin=b"")
                self.assertEqual(r.code, 64, r)
                self.assertTrue(r.err.startswith("kommo-lead: "), r)
                self.assert_clean(r)
        r = self.run_kl("--token", TOKEN, token_file=None)
        self.assertIn("--token-file FILE", r.err)
        self.assertIn("KOMMO_API_TOKEN", r.err)
        # --help names no such option either
        for cmd in ((), ("import",), ("check",), ("fields",), ("leads",), ("contacts",)):
            text = self.run_kl(*cmd, "--help", token_file=None).out
            self.assertNotRegex(text, r"--(api-)?token(?!-file|-command)\b")
        self.assert_nothing_sent()

    def in_flight(self, *args, **kw):
        """Starts a run whose request the sandbox holds, and waits until it is held."""
        self.fault("hang")
        p = self.start(*args, "--timeout", "2" if SLOWDOWN == 1 else "3", cwd=self.tmp.name, **kw)
        deadline = time.monotonic() + 30 * SLOWDOWN
        while not self.new_requests():
            if p.poll() is not None or time.monotonic() > deadline:
                r = self.finish(p)
                self.fail(f"the request never reached the sandbox: {r}")
            time.sleep(0.02)
        return p

    def proc_file(self, pid, name):
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()

    def test_the_command_line_of_a_running_request_holds_no_token(self):
        cfg = self.config(f"KOMMO_API_TOKEN={TOKEN}\n")
        xdg = os.path.join(self.tmp.name, "xdg")
        os.makedirs(os.path.join(xdg, "kommo-lead"))
        shutil.copy(cfg, os.path.join(xdg, "kommo-lead", "config.env"))
        csv = self.write("in.csv", "name,phone\nA,+79990000001\n")
        # (exit status: submit finds out what became of a lead whose answer was lost, and
        # sends it again, 0; the others stop at the unknown outcome, 75)
        runs = [
            ("--token-file", ("--no-config", "--name", "A", "--phone", "1234567"), {}, False, 0),
            ("--config", ("--config", cfg, "--name", "A", "--phone", "1234567"), {"token_file": None}, False, 0),
            ("XDG config", ("leads", "create", "--name", "D"), {"token_file": None, "env": {"XDG_CONFIG_HOME": xdg}},
             False, 75),
            ("import --token-file", ("import", "--no-config", "--max-retries", "0", csv), {}, False, 75),
            ("environment", ("contacts", "create", "--no-config", "--name", "A"),
             {"token_file": None, "env": {"KOMMO_API_TOKEN": TOKEN}}, True, 75),
        ]
        for name, args, kw, token_in_env, code in runs:
            with self.subTest(source=name):
                self.seen = len(self.recorded())
                p = self.in_flight(*args, "-v", **kw)
                try:
                    cmdline = self.proc_file(p.pid, "cmdline")
                    environ = self.proc_file(p.pid, "environ")
                finally:
                    r = self.finish(p)
                # the file read is the right process's: it names what was run
                self.assertIn(args[0].encode(), cmdline.split(b"\0"))
                self.assert_secret_absent(cmdline, "/proc/PID/cmdline")
                if token_in_env:
                    self.assertIn(b"KOMMO_API_TOKEN=" + TOKEN.encode(), environ)
                else:  # kommo-lead puts it in no environment variable of its own
                    self.assert_secret_absent(environ, "/proc/PID/environ")
                self.assertEqual(r.code, code, r)
                self.assertIn("no reply", r.err)
                self.assert_clean(r)
                self.assert_token_was_sent()


if __name__ == "__main__":
    unittest.main(verbosity=2)
