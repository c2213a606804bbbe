#!/usr/bin/env python3
"""End-to-end tests of TLS: the real binary against sandboxes of this suite's
own that serve https with a throwaway CA, made here with the openssl CLI.

Shown: a private CA is trusted with --cacert, KOMMO_CA_BUNDLE in the
environment or in a config file; an untrusted certificate, a CA that did not
sign it, or a certificate for another host name fails with exit 68 and a
message that says what to do; a TLS failure is never retried; and nothing
turns verification off (no flag, no config key, no environment variable:
libcurl reads no CURL_CA_BUNDLE, and SSL_CERT_FILE / SSL_CERT_DIR / an
OPENSSL_CONF are not consulted for trust).

Run by CTest with KL_BIN, KL_SANDBOX_DIR and KL_SOURCE_DIR set (the shared
sandbox is not used here, but kltest needs it).
"""
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

import kltest
from kltest import FORMS, SOURCE, SandboxTest

OPENSSL = shutil.which("openssl")
SLOWDOWN = getattr(kltest, "SLOWDOWN", 1.0)  # under KL_WRAPPER (valgrind) runs are slower
CTL = os.path.join(SOURCE, "scripts", "sandbox-ctl")
LEAD = ("--name", "Ivan", "--phone", "+79991234567")
NEVER_OFF = "kommo-lead never turns certificate verification off"
TRUST = ("if a private CA signs it (a proxy that inspects TLS, a test server), trust that CA with "
         "--cacert FILE or KOMMO_CA_BUNDLE=FILE; " + NEVER_OFF)


def openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", f"{name}.key",
            "-out", f"{name}.pem", "-subj", f"/CN=kommo-lead test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return os.path.join(d, f"{name}.pem")


def make_cert(d, name, ca, san):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={name}", cwd=d)
    with open(os.path.join(d, f"{name}.ext"), "w", encoding="ascii") as f:
        f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
    return os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")


def start_https_sandbox(directory, cert, key):
    """scripts/sandbox-ctl start on an ephemeral port, https; returns the URL."""
    env = {k: v for k, v in os.environ.items() if k != "KOMMO_SANDBOX_TOKEN"}
    r = subprocess.run([CTL, "start", directory, "--rate-limit", "0", "--tls-cert", cert, "--tls-key", key],
                       env=env, capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"the https sandbox did not start: {r.stderr}")
    return r.stdout.strip()


def stop_sandbox(directory):
    subprocess.run([CTL, "stop", directory], capture_output=True, timeout=30)


@unittest.skipUnless(OPENSSL, "the openssl CLI is missing: it makes the test CA "
                     "(scripts/install-deps.sh installs it)")
class TlsTest(SandboxTest):
    """A sandbox with a certificate for 127.0.0.1 and localhost signed by a
    throwaway CA; a second one whose certificate, signed by the same CA, names
    another host."""

    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="kl-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.pki, True)
        d = cls.pki
        cls.ca = make_ca(d, "ca")
        cls.other_ca = make_ca(d, "other-ca")
        cert, key = make_cert(d, "server", "ca", "IP:127.0.0.1,DNS:localhost")
        wrong_cert, wrong_key = make_cert(d, "wrong-name", "ca", "DNS:kommo.example")
        cls.sb_dir = os.path.join(d, "sandbox")
        cls.addClassCleanup(stop_sandbox, cls.sb_dir)
        cls.url = start_https_sandbox(cls.sb_dir, cert, key)
        cls.token_file = os.path.join(cls.sb_dir, "token")
        cls.wrong_dir = os.path.join(d, "wrong-name-sandbox")
        cls.addClassCleanup(stop_sandbox, cls.wrong_dir)
        cls.wrong_url = start_https_sandbox(cls.wrong_dir, wrong_cert, wrong_key)
        cls.port = int(re.search(r":(\d+)$", cls.url).group(1))
        cls.host = f"127.0.0.1:{cls.port}"

    @classmethod
    def tearDownClass(cls):
        stop_sandbox(cls.sb_dir)
        stop_sandbox(cls.wrong_dir)

    # the control API is https too: this suite trusts its own CA for it
    def control(self, method, path, body=None, url=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request((url or self.url) + "/_sandbox/" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        ctx = ssl.create_default_context(cafile=self.ca)
        if url == self.wrong_url:
            ctx.check_hostname = False  # its name is wrong on purpose; the chain still verifies
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            text = r.read().decode()
            return json.loads(text) if text else None

    def recorded(self):
        return self.control("GET", "requests")

    def failed_handshakes(self, url=None):
        return self.control("GET", "tls", url=url)["failed"]

    def handshakes(self, url=None):
        """TLS handshakes the sandbox saw, completed or not, this control request's own excluded."""
        c = self.control("GET", "tls", url=url)
        return c["ok"] + c["failed"] - 1

    def setUp(self):
        super().setUp()
        self.handshakes_before = self.failed_handshakes()

    def assert_refused(self, r, against="the system's CA certificates", host=None):
        """Exit 68, nothing on stdout, the whole message, nothing sent."""
        self.assertEqual(r.code, 68, r)
        self.assertEqual(r.out, "")
        self.assertRegex(r.err, "^kommo-lead: the TLS certificate of " + re.escape(host or self.host) +
                         " could not be verified against " + re.escape(against) +
                         r" \([^\n]+\): nothing was sent; " + re.escape(TRUST) + "\n$")
        self.assert_nothing_sent()

    def assert_one_failed_handshake(self, url=None):
        self.assertEqual(self.failed_handshakes(url) - (0 if url else self.handshakes_before), 1,
                         "one TLS handshake, refused, and no retry")

    # --- a private CA, trusted three ways -------------------------------------------

    def assert_created(self, r):
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^lead_id=\d+ contact_id=\d+\n$")
        req = self.only_request()
        self.assertEqual((req["method"], req["path"], req["status"]), ("POST", FORMS, 200))
        self.assertEqual(req["headers"]["authorization"], "Bearer sandbox-token")
        self.assertEqual(json.loads(req["body"])[0]["_embedded"]["contacts"][0]["first_name"], "Ivan")

    def test_cacert_trusts_a_private_ca(self):
        self.assert_created(self.kl("--no-config", *LEAD, "--cacert", self.ca))

    def test_ca_bundle_from_the_environment(self):
        self.assert_created(self.kl("--no-config", *LEAD, env={"KOMMO_CA_BUNDLE": self.ca}))

    def test_ca_bundle_from_a_config_file(self):
        config = self.write("config.env", f"KOMMO_CA_BUNDLE={self.ca}\n")
        self.assert_created(self.kl("--config", config, *LEAD))

    def test_the_name_checked_is_the_one_in_the_url(self):
        # the certificate names 127.0.0.1 and localhost: both addresses verify
        r = self.kl("--no-config", *LEAD, "--cacert", self.ca, base_url=f"https://localhost:{self.port}")
        self.assert_created(r)

    def test_every_command_reaches_kommo_through_the_private_ca(self):
        for args in (("check",), ("fields",), ("leads", "search", "Ivan"), ("contacts", "search", "Ivan")):
            with self.subTest(args[0]):
                r = self.kl(*args, "--no-config", "--cacert", self.ca)
                self.assertIn(r.code, (0, 78), r)  # check: 78 when the bare config misses ids
                self.assertNotIn("certificate", r.err)
                self.assertTrue(self.new_requests(), "the requests went through")

    # --- refused ------------------------------------------------------------------------

    def test_an_untrusted_certificate_exits_68_and_says_how_to_trust_a_private_ca(self):
        r = self.kl("--no-config", *LEAD)
        self.assert_refused(r)
        self.assert_one_failed_handshake()

    def test_a_ca_that_did_not_sign_it_exits_68(self):
        r = self.kl("--no-config", *LEAD, "--cacert", self.other_ca)
        self.assert_refused(r, against="the CA certificates in " + self.other_ca)

    def test_a_certificate_for_another_host_name_exits_68(self):
        # signed by the trusted CA, but for kommo.example: the name is what fails
        # (after the handshake: libcurl checks the name once the chain verified)
        before = self.handshakes(self.wrong_url) + 1
        port = re.search(r":(\d+)$", self.wrong_url).group(1)
        r = self.kl("--no-config", *LEAD, "--cacert", self.ca, base_url=self.wrong_url)
        self.assertEqual(self.handshakes(self.wrong_url) - before, 1, "one connection, no retry")
        self.assertEqual(r.code, 68, r)
        self.assertRegex(r.err, "^kommo-lead: the TLS certificate of 127.0.0.1:" + port +
                         " could not be verified against the CA certificates in " + re.escape(self.ca) +
                         r" \([^\n]*127\.0\.0\.1[^\n]*\): nothing was sent; " + re.escape(TRUST) + "\n$")
        self.assertEqual(self.control("GET", "requests", url=self.wrong_url), [])

    def test_https_to_a_plain_http_server_exits_68(self):
        # the shared sandbox speaks plain http: no handshake, so no certificate to verify
        plain = kltest.URL.replace("http://", "https://")
        r = self.kl("--no-config", *LEAD, "--cacert", self.ca, base_url=plain,
                    token_file=kltest.TOKEN_FILE)
        self.assertEqual(r.code, 68, r)
        self.assertRegex(r.err, "^kommo-lead: the TLS handshake with " + re.escape(plain[len("https://"):]) +
                         r" failed, so its certificate could not be verified \([^\n]+\): check that "
                         "KOMMO_BASE_URL names an https server; nothing was sent; " + re.escape(NEVER_OFF) + "\n$")
        self.assertEqual(r.out, "")

    def test_every_command_exits_68_and_sends_nothing(self):
        for args in (("check",), ("fields",), ("leads", "search", "Ivan"), ("contacts", "search", "Ivan"),
                     ("leads", "create", "--name", "X"), ("contacts", "create", "--name", "X")):
            with self.subTest(args[0]):
                before = self.failed_handshakes()
                t0 = time.monotonic()
                r = self.kl(*args, "--no-config")
                self.assertEqual(r.code, 68, r)
                self.assertIn("the TLS certificate of " + self.host + " could not be verified", r.err)
                self.assertIn(NEVER_OFF, r.err)
                self.assertEqual(self.failed_handshakes() - before, 1, "a TLS failure is never retried")
                self.assertLess(time.monotonic() - t0, 10 * SLOWDOWN)
        self.assert_nothing_sent()

    def test_skip_existing_search_fails_68_before_anything_is_sent(self):
        r = self.kl("--no-config", *LEAD, "--skip-existing")
        self.assertEqual(r.code, 68, r)
        self.assertIn(NEVER_OFF, r.err)
        self.assert_one_failed_handshake()
        self.assert_nothing_sent()

    def test_import_stops_at_the_first_tls_failure_and_exits_68(self):
        t0 = time.monotonic()
        r = self.kl("import", "--no-config", "--batch-size", "1", "--max-retries", "3", "-",
                    stdin=b"name,phone\nA,+79990000001\nB,+79990000002\n")
        self.assertEqual(r.code, 68, r)
        self.assertLess(time.monotonic() - t0, 5 * SLOWDOWN, "no backoff: nothing is retried")
        self.assert_one_failed_handshake()
        self.assertIn("kommo-lead: stopping the import: the TLS certificate of " + self.host, r.err)
        self.assertIn(NEVER_OFF, r.err)
        self.assertEqual(r.out, "row=2 not sent: Kommo's certificate could not be verified\n"
                                "row=3 not sent: the import stopped before this row\n")
        self.assertNotIn("reading stopped", r.err)  # the whole input was read
        self.assert_nothing_sent()

    def test_an_empty_or_unreadable_ca_file(self):
        empty = self.write("empty.pem", "")
        r = self.kl("--no-config", *LEAD, "--cacert", empty)
        self.assertEqual(r.code, 68, r)  # an empty file trusts nothing: it does not turn checks off
        self.assertEqual(r.err, f"kommo-lead: cannot load the CA certificates in {empty} to verify the TLS "
                                f"certificate of {self.host} (error setting certificate file: {empty}): "
                                "--cacert and KOMMO_CA_BUNDLE take a file of PEM certificates; "
                                f"nothing was sent; {NEVER_OFF}\n")
        missing = os.path.join(self.tmp.name, "missing.pem")
        r = self.kl("--no-config", *LEAD, "--cacert", missing)
        self.assertEqual(r.code, 64, r)
        self.assertIn(missing, r.err)
        r = self.kl("--no-config", *LEAD, env={"KOMMO_CA_BUNDLE": missing})
        self.assertEqual(r.code, 78, r)
        self.assertIn(missing, r.err)
        self.assert_nothing_sent()

    # --- nothing turns verification off -------------------------------------------------

    def test_no_flag_turns_verification_off(self):
        for flag in ("--insecure", "-k", "--no-verify", "--no-check-certificate", "--ssl-no-verify",
                     "--tls-no-verify", "--insecure=1"):
            with self.subTest(flag):
                r = self.kl("--no-config", *LEAD, flag)
                self.assertEqual(r.code, 64, r)
                self.assertIn("unknown option", r.err)
        self.assert_nothing_sent()

    def test_no_environment_variable_turns_verification_off_or_adds_trust(self):
        # what other tools honour: curl's CURL_CA_BUNDLE, OpenSSL's SSL_CERT_FILE and
        # SSL_CERT_DIR, an OpenSSL config that adds the CA and asks for no checks,
        # and the names someone might guess for kommo-lead
        hashed = os.path.join(self.tmp.name, "certs")
        os.mkdir(hashed)
        h = subprocess.run([OPENSSL, "x509", "-hash", "-noout", "-in", self.ca], capture_output=True,
                           text=True, check=True).stdout.strip()
        shutil.copy(self.ca, os.path.join(hashed, h + ".0"))
        conf = self.write("openssl.cnf", "openssl_conf = main\n[main]\nssl_conf = ssl\n[ssl]\n"
                                         "system_default = sys\n[sys]\n"
                                         f"VerifyCAFile = {self.ca}\nVerifyMode = None\n")
        for env in ({"CURL_CA_BUNDLE": self.ca}, {"SSL_CERT_FILE": self.ca}, {"SSL_CERT_DIR": hashed},
                    {"OPENSSL_CONF": conf}, {"KOMMO_INSECURE": "1"}, {"KOMMO_SSL_VERIFY": "0"},
                    {"KOMMO_VERIFY": "0"}, {"KOMMO_TLS_VERIFY": "false"}, {"CURLOPT_SSL_VERIFYPEER": "0"},
                    {"PYTHONHTTPSVERIFY": "0"}, {"NODE_TLS_REJECT_UNAUTHORIZED": "0"}):
            with self.subTest(env):
                self.assert_refused(self.kl("--no-config", *LEAD, env=env))

    def test_no_config_key_turns_verification_off(self):
        keys = ("KOMMO_INSECURE=1", "KOMMO_SSL_VERIFY=0", "KOMMO_VERIFY_SSL=false", "KOMMO_TLS_VERIFY=no")
        config = self.write("config.env", "".join(k + "\n" for k in keys) +
                            f"CURL_CA_BUNDLE={self.ca}\nSSL_CERT_FILE={self.ca}\n")
        r = self.kl("--config", config, *LEAD)
        self.assertEqual(r.code, 68, r)
        for k in keys:
            # read, named, and ignored: none of them is a setting (nor are the others' keys)
            self.assertIn(f"unknown key {k.split('=')[0]} ignored", r.err)
        self.assertIn("the TLS certificate of " + self.host + " could not be verified", r.err)
        self.assert_nothing_sent()


if __name__ == "__main__":
    unittest.main(verbosity=2)
