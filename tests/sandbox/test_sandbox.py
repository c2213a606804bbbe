#!/usr/bin/env python3
"""Self-tests of scripts/kommo-sandbox and scripts/sandbox-ctl.

Run from the repository root:  python3 tests/sandbox/test_sandbox.py -v
Every class starts its own sandbox on an ephemeral loopback port.
"""

import base64
import copy
import gzip
import itertools
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "scripts" / "kommo-sandbox"
CTL = ROOT / "scripts" / "sandbox-ctl"
TOKEN = "test-token-7f3a"
FORMS = "/api/v4/leads/unsorted/forms"
LEADS = "/api/v4/leads"
CONTACTS = "/api/v4/contacts"
LEAD_FIELDS = "/api/v4/leads/custom_fields"
CONTACT_FIELDS = "/api/v4/contacts/custom_fields"
PIPELINES = "/api/v4/leads/pipelines"
MAIN, PARTNERS = 12984871, 12984999

UNAUTHORIZED = {"title": "Unauthorized", "type": "https://httpstatus.es/401",
                "status": 401, "detail": "Invalid user name or password"}
TOO_MANY = {"title": "Too Many Requests", "type": "https://httpstatus.es/429",
            "status": 429, "detail": "Too many requests", "retry_after": 1}


# Every time limit below ends as soon as what it waits for happens, so a
# generous one costs nothing: it only catches a hang, and a busy machine
# (Python starting in seconds) does not meet it.
WAIT = 60


def wait_for_file(path, timeout=WAIT, proc=None):
    """The text of path once it ends in a newline; proc: give up once it has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError("%s did not appear" % path)


def wait_gone(pid, timeout=WAIT):
    """True once pid is gone or a zombie (it may not be our child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def make_certs(directory):
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost
    that it signs, made with the openssl CLI: {"ca", "cert", "key"} paths."""
    d = Path(directory)
    paths = {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(d / "ca.key"), "-out", str(paths["ca"]), "-subj", "/CN=sandbox test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(paths["key"]),
            "-out", str(d / "server.csr"), "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                               "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(paths["ca"]),
            "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", str(d / "ext.cnf"), "-out", str(paths["cert"]))
    return {k: str(v) for k, v in paths.items()}


class Sandbox:
    """One kommo-sandbox process in its own temporary directory."""

    def __init__(self, *args, env_token=TOKEN):
        self.dir = Path(tempfile.mkdtemp(prefix="kommo-sandbox-test-"))
        self.port_file = self.dir / "port"
        self.pid_file = self.dir / "pid"
        self.log_file = self.dir / "requests.jsonl"
        env = dict(os.environ)
        env.pop("KOMMO_SANDBOX_TOKEN", None)
        if env_token is not None:
            env["KOMMO_SANDBOX_TOKEN"] = env_token
        self.stderr = open(self.dir / "stderr", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(SANDBOX), "--port-file", str(self.port_file),
             "--pid-file", str(self.pid_file), "--log", str(self.log_file), *args],
            env=env, stdin=subprocess.DEVNULL, stdout=self.stderr, stderr=self.stderr)
        try:
            self.port = int(wait_for_file(self.port_file, proc=self.proc))
        except AssertionError:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode

    def connect(self, timeout=WAIT):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def call(self, method, path, body=None, token=TOKEN, ctype="application/json",
             headers=None, timeout=WAIT, conn=None):
        """Returns (status, headers, raw body bytes)."""
        h = {}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if ctype is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        own = conn is None
        conn = conn or self.connect(timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.headers, data
        finally:
            if own:
                conn.close()

    def post(self, body, **kw):
        return self.call("POST", FORMS, body, **kw)

    def control(self, method, path, body=None):
        status, _, data = self.call(method, "/_sandbox/" + path, body, token=None)
        return status, json.loads(data)

    def get(self, path, **kw):
        """GET without a Content-Type; returns (status, headers, raw body)."""
        return self.call("GET", path, ctype=None, **kw)

    def get_json(self, path, status=200):
        """GET an API path that must answer `status` with hal+json; the body."""
        code, headers, data = self.get(path)
        if code != status:
            raise AssertionError("GET %s: %d %s" % (path, code, data[:500]))
        if headers["Content-Type"] != "application/hal+json":
            raise AssertionError("GET %s: Content-Type %s" % (path, headers["Content-Type"]))
        return json.loads(data)

    def log_lines(self):
        return [json.loads(line) for line in self.log_file.read_text().splitlines()]


def item(**top):
    """A valid item using every field kommo-lead sends."""
    it = {
        "source_uid": "uid-1",
        "source_name": "kommo-lead",
        "pipeline_id": 12984871,
        "created_at": 1700000000,
        "metadata": {"form_id": "csv", "form_name": "Import", "form_page": "https://example.com/form",
                     "form_sent_at": 1700000000, "referer": "https://example.com/", "ip": "127.0.0.1"},
        "_embedded": {
            "contacts": [{
                "name": "Иван Петров", "first_name": "Иван", "last_name": "Петров",
                "custom_fields_values": [
                    {"field_id": 467700, "values": [{"value": "+79991234567", "enum_code": "WORK"}]},
                    {"field_code": "EMAIL", "values": [{"value": "ivan@example.com"}]},
                    {"field_id": 1709360, "values": [{"value": "@ivan"}]},
                ],
            }],
            "leads": [{
                "name": "Заявка", "price": 1000,
                "custom_fields_values": [
                    {"field_id": 488804, "values": [{"value": "Engineer"}]},
                    {"field_id": 1711074, "values": [{"value": "MSc"}]},
                    {"field_id": 1709444, "values": [{"value": 50000}]},
                    {"field_code": "UTM_SOURCE", "values": [{"value": "google"}]},
                    {"field_id": 467718, "values": [{"value": "https://ref.example/"}]},
                ],
            }],
        },
    }
    it.update(top)
    return it


def _walk(obj, path):
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    for k in keys[:-1]:
        obj = obj[k]
    return obj, keys[-1]


def setp(path, value):
    def mutate(it):
        obj, key = _walk(it, path)
        obj[key] = value
    return mutate


def delp(path):
    def mutate(it):
        obj, key = _walk(it, path)
        del obj[key]
    return mutate


C = "_embedded.contacts.0."
L = "_embedded.leads.0."

# (name, mutation, [(code, path)]) -- every validation rule of the sandbox.
VALIDATION_CASES = [
    ("source_uid missing", delp("source_uid"), [("FieldMissing", "source_uid")]),
    ("source_uid empty", setp("source_uid", ""), [("FieldMissing", "source_uid")]),
    ("source_uid int", setp("source_uid", 5), [("InvalidType", "source_uid")]),
    ("source_name missing", delp("source_name"), [("FieldMissing", "source_name")]),
    ("source_name null", setp("source_name", None), [("InvalidType", "source_name")]),
    ("pipeline_id string", setp("pipeline_id", "12984871"), [("InvalidType", "pipeline_id")]),
    ("pipeline_id unknown", setp("pipeline_id", 1), [("NotSupportedChoice", "pipeline_id")]),
    ("created_at string", setp("created_at", "1700000000"), [("InvalidType", "created_at")]),
    ("created_at float", setp("created_at", 1700000000.5), [("InvalidType", "created_at")]),
    ("created_at bool", setp("created_at", True), [("InvalidType", "created_at")]),
    ("created_at millis", setp("created_at", 1700000000000), [("InvalidType", "created_at")]),
    ("metadata missing", delp("metadata"), [("FieldMissing", "metadata")]),
    ("metadata array", setp("metadata", []), [("InvalidType", "metadata")]),
    ("form_sent_at missing", delp("metadata.form_sent_at"),
     [("FieldMissing", "metadata.form_sent_at")]),
    ("form_sent_at millis", setp("metadata.form_sent_at", 1700000000123),
     [("InvalidType", "metadata.form_sent_at")]),
    ("form_sent_at string", setp("metadata.form_sent_at", "now"),
     [("InvalidType", "metadata.form_sent_at")]),
    ("form_name int", setp("metadata.form_name", 3), [("InvalidType", "metadata.form_name")]),
    ("form_id int", setp("metadata.form_id", 3), [("InvalidType", "metadata.form_id")]),
    ("form_page int", setp("metadata.form_page", 3), [("InvalidType", "metadata.form_page")]),
    ("referer int", setp("metadata.referer", 3), [("InvalidType", "metadata.referer")]),
    ("ip int", setp("metadata.ip", 3), [("InvalidType", "metadata.ip")]),
    ("request_id int", setp("request_id", 7), [("InvalidType", "request_id")]),
    ("_embedded array", setp("_embedded", []), [("InvalidType", "_embedded")]),
    ("contacts object", setp("_embedded.contacts", {}), [("InvalidType", "_embedded.contacts")]),
    ("two contacts", setp("_embedded.contacts", [{}, {}]),
     [("InvalidLength", "_embedded.contacts")]),
    ("contact not object", setp("_embedded.contacts", ["x"]),
     [("InvalidType", "_embedded.contacts.0")]),
    ("two leads", setp("_embedded.leads", [{}, {}]), [("InvalidLength", "_embedded.leads")]),
    ("contact name int", setp(C + "name", 1), [("InvalidType", C + "name")]),
    ("contact first_name int", setp(C + "first_name", 1), [("InvalidType", C + "first_name")]),
    ("contact last_name list", setp(C + "last_name", []), [("InvalidType", C + "last_name")]),
    ("REJECT rule", setp(C + "first_name", "REJECT"), [("InvalidType", C + "first_name")]),
    ("lead name int", setp(L + "name", 1), [("InvalidType", L + "name")]),
    ("price string", setp(L + "price", "1000"), [("InvalidType", L + "price")]),
    ("price float", setp(L + "price", 10.5), [("InvalidType", L + "price")]),
    ("price negative", setp(L + "price", -1), [("InvalidType", L + "price")]),
    ("price bool", setp(L + "price", False), [("InvalidType", L + "price")]),
    ("cfv not array", setp(C + "custom_fields_values", {}),
     [("InvalidType", C + "custom_fields_values")]),
    ("cfv entry not object", setp(C + "custom_fields_values.1", 5),
     [("InvalidType", C + "custom_fields_values.1")]),
    ("lead field on contact", setp(C + "custom_fields_values.2.field_id", 488804),
     [("NotSupportedChoice", C + "custom_fields_values.2.field_id")]),
    ("contact code on lead", setp(L + "custom_fields_values.3.field_code", "PHONE"),
     [("NotSupportedChoice", L + "custom_fields_values.3.field_code")]),
    ("unknown field_code", setp(C + "custom_fields_values.1.field_code", "TELEGRAM"),
     [("NotSupportedChoice", C + "custom_fields_values.1.field_code")]),
    ("field_id string", setp(C + "custom_fields_values.0.field_id", "467700"),
     [("InvalidType", C + "custom_fields_values.0.field_id")]),
    ("no field_id nor code", delp(L + "custom_fields_values.0.field_id"),
     [("FieldMissing", L + "custom_fields_values.0.field_id")]),
    ("values missing", delp(L + "custom_fields_values.1.values"),
     [("FieldMissing", L + "custom_fields_values.1.values")]),
    ("values empty", setp(L + "custom_fields_values.1.values", []),
     [("InvalidLength", L + "custom_fields_values.1.values")]),
    ("values not array", setp(L + "custom_fields_values.1.values", "MSc"),
     [("InvalidType", L + "custom_fields_values.1.values")]),
    ("value missing", setp(L + "custom_fields_values.1.values.0", {"val": "x"}),
     [("FieldMissing", L + "custom_fields_values.1.values.0.value")]),
    ("text value number", setp(C + "custom_fields_values.2.values.0.value", 42),
     [("InvalidType", C + "custom_fields_values.2.values.0.value")]),
    ("multitext value number", setp(C + "custom_fields_values.0.values.0.value", 79991234567),
     [("InvalidType", C + "custom_fields_values.0.values.0.value")]),
    ("numeric value string", setp(L + "custom_fields_values.2.values.0.value", "50000"),
     [("InvalidType", L + "custom_fields_values.2.values.0.value")]),
    ("numeric value bool", setp(L + "custom_fields_values.2.values.0.value", True),
     [("InvalidType", L + "custom_fields_values.2.values.0.value")]),
    ("text value too long", setp(L + "custom_fields_values.3.values.0.value", "x" * 257),
     [("InvalidLength", L + "custom_fields_values.3.values.0.value")]),
    ("enum_code on text field", setp(C + "custom_fields_values.2.values.0.enum_code", "WORK"),
     [("NotSupportedChoice", C + "custom_fields_values.2.values.0.enum_code")]),
]


class SandboxCase(unittest.TestCase):
    ARGS = ("--rate-limit", "0")
    sb = None

    @classmethod
    def setUpClass(cls):
        cls.sb = Sandbox(*cls.ARGS)

    @classmethod
    def tearDownClass(cls):
        if cls.sb:
            cls.sb.stop()

    def assertProblem(self, resp, status, detail=None):
        code, headers, data = resp
        self.assertEqual(code, status, data)
        self.assertEqual(headers["Content-Type"], "application/problem+json")
        body = json.loads(data)
        self.assertEqual(body["status"], status)
        self.assertEqual(body["type"], "https://httpstatus.es/%d" % status)
        if detail is not None:
            self.assertEqual(body["detail"], detail)
        return body

    def errors_of(self, resp):
        body = self.assertProblem(resp, 400, "Request validation failed")
        self.assertEqual(body["title"], "Bad Request")
        return body["validation-errors"]


class TestForms(SandboxCase):
    ARGS = ("--rate-limit", "0", "--extra-field", "lead:999001:numeric",
            "--extra-field", "contact:999002:text")

    def test_missing_wrong_or_malformed_token_is_401_with_exact_body(self):
        for name, kw in [("missing", {"token": None}), ("wrong", {"token": "nope"}),
                         ("lowercase scheme", {"token": None,
                                               "headers": {"Authorization": "bearer " + TOKEN}}),
                         ("extra space", {"token": None,
                                          "headers": {"Authorization": "Bearer  " + TOKEN}})]:
            with self.subTest(name):
                status, headers, data = self.sb.post([item()], **kw)
                self.assertEqual(status, 401)
                self.assertEqual(headers["Content-Type"], "application/problem+json")
                self.assertEqual(json.loads(data), UNAUTHORIZED)

    def test_content_type_must_be_json(self):
        for ctype in (None, "text/plain", "application/x-www-form-urlencoded"):
            with self.subTest(ctype):
                self.assertProblem(self.sb.post([item()], ctype=ctype), 400,
                                   "Content-Type must be application/json")
        status, _, _ = self.sb.post([item()], ctype="application/json; charset=utf-8")
        self.assertEqual(status, 200)

    def test_empty_request_data(self):
        for body in (b"", b"  \n", b"[]", b"{}", b"null"):
            with self.subTest(body):
                self.assertProblem(self.sb.post(body), 400, "Request data can not be empty")

    def test_body_not_json_or_not_utf8(self):
        for body in (b"[{", b"not json", b"[NaN]", b'["\xff\xfe"]'):
            with self.subTest(body):
                self.assertProblem(self.sb.post(body), 400, "Request body is not valid JSON")

    def test_object_instead_of_array_reports_data_fields_missing(self):
        resp = self.sb.post({"data": [item()]})
        self.assertEqual(self.errors_of(resp), [{"request_id": "0", "errors": [
            {"code": "FieldMissing", "path": "data.source_name", "detail": "This field is missing."},
            {"code": "FieldMissing", "path": "data.source_uid", "detail": "This field is missing."},
        ]}])

    def test_more_than_250_items_is_422(self):
        body = self.assertProblem(self.sb.post([item()] * 251), 422, "Limit 250 per page")
        self.assertEqual(body["title"], "Unprocessable Entity")

    def test_250_items_are_accepted(self):
        status, _, data = self.sb.post([item(source_uid="u%d" % i) for i in range(250)])
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["_total_items"], 250)

    def test_success_shape_ids_and_request_id_echo(self):
        status, headers, data = self.sb.post([item(request_id="first"), item(source_uid="uid-2")])
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/hal+json")
        self.assertEqual(int(headers["Content-Length"]), len(data))
        body = json.loads(data)
        base = "http://127.0.0.1:%d" % self.sb.port
        self.assertEqual(body["_total_items"], 2)
        self.assertEqual(body["_links"], {"self": {"href": base + FORMS}})
        first, second = body["_embedded"]["unsorted"]
        self.assertEqual(first["request_id"], "first")
        self.assertEqual(second["request_id"], "1")
        for u in (first, second):
            self.assertRegex(u["uid"], r"^[0-9a-f]{40}$")
            self.assertEqual(u["account_id"], 31000001)
            self.assertEqual(u["_links"], {"self": {"href": base + "/api/v4/leads/unsorted/" + u["uid"]}})
            self.assertEqual(u["_embedded"]["companies"], [])
            lead, = u["_embedded"]["leads"]
            contact, = u["_embedded"]["contacts"]
            self.assertEqual(lead["_links"]["self"]["href"], "%s/api/v4/leads/%d" % (base, lead["id"]))
            self.assertEqual(contact["_links"]["self"]["href"],
                             "%s/api/v4/contacts/%d" % (base, contact["id"]))
        self.assertNotEqual(first["uid"], second["uid"])
        l1, l2 = (u["_embedded"]["leads"][0]["id"] for u in (first, second))
        c1, c2 = (u["_embedded"]["contacts"][0]["id"] for u in (first, second))
        self.assertEqual(l2, l1 + 1)
        self.assertEqual(c2, c1 + 1)
        self.assertGreaterEqual(l1, 8876820)
        self.assertGreaterEqual(c1, 7654321)

        # A minimal item still gets a contact, and ids keep counting.
        bare = {"source_uid": "bare", "source_name": "x", "metadata": {"form_sent_at": 1700000000}}
        status, _, data = self.sb.post([bare])
        self.assertEqual(status, 200)
        u, = json.loads(data)["_embedded"]["unsorted"]
        self.assertEqual(u["_embedded"]["leads"][0]["id"], l2 + 1)
        self.assertEqual(u["_embedded"]["contacts"][0]["id"], c2 + 1)

    def test_first_ids_of_a_fresh_sandbox(self):
        sb = Sandbox("--rate-limit", "0")
        try:
            status, _, data = sb.post([item()])
            self.assertEqual(status, 200)
            u, = json.loads(data)["_embedded"]["unsorted"]
            self.assertEqual(u["_embedded"]["leads"][0]["id"], 8876820)
            self.assertEqual(u["_embedded"]["contacts"][0]["id"], 7654321)
            self.assertEqual(u["request_id"], "0")
        finally:
            sb.stop()

    def test_each_validation_rule(self):
        for name, mutate, expected in VALIDATION_CASES:
            with self.subTest(name):
                it = copy.deepcopy(item())
                mutate(it)
                got = self.errors_of(self.sb.post([it]))
                self.assertEqual(len(got), 1, got)
                self.assertEqual(got[0]["request_id"], "0")
                self.assertEqual([(e["code"], e["path"]) for e in got[0]["errors"]], expected)
                for e in got[0]["errors"]:
                    self.assertIsInstance(e["detail"], str)
                    self.assertTrue(e["detail"])

    def test_item_not_an_object(self):
        got = self.errors_of(self.sb.post([item(), 5]))
        self.assertEqual(got, [{"request_id": "1", "errors": [
            {"code": "InvalidType", "path": "", "detail": "This value should be of type object."}]}])

    def test_millisecond_and_reject_details(self):
        got = self.errors_of(self.sb.post([item(created_at=1700000000000)]))
        self.assertIn("milliseconds", got[0]["errors"][0]["detail"])
        it = item()
        it["_embedded"]["contacts"][0]["first_name"] = "REJECT"
        got = self.errors_of(self.sb.post([it]))
        self.assertEqual(got[0]["errors"], [{"code": "InvalidType", "path": C + "first_name",
                                             "detail": "rejected by sandbox rule"}])

    def test_accepted_edge_values(self):
        it = item()
        lead_cf = it["_embedded"]["leads"][0]["custom_fields_values"]
        lead_cf[2]["values"][0]["value"] = 1234.5        # numeric takes floats
        lead_cf[3]["values"][0]["value"] = "y" * 256     # 256 characters is fine
        lead_cf.append({"field_id": 999001, "values": [{"value": 7}]})  # --extra-field
        it["_embedded"]["contacts"][0]["custom_fields_values"].append(
            {"field_id": 999002, "values": [{"value": "extra"}]})
        it["_embedded"]["leads"][0]["price"] = 0
        del it["pipeline_id"], it["created_at"], it["_embedded"]["leads"]
        status, _, data = self.sb.post([it, item(_embedded={})])
        self.assertEqual(status, 200, data)

    def test_all_errors_of_all_items_and_nothing_created(self):
        self.sb.control("POST", "reset")
        bad1 = item(source_uid="")
        del bad1["metadata"]
        bad2 = item(request_id="row-7", pipeline_id=5)
        bad2["_embedded"]["contacts"][0]["first_name"] = "REJECT"
        got = self.errors_of(self.sb.post([item(), bad1, item(), bad2]))
        self.assertEqual([(g["request_id"], [(e["code"], e["path"]) for e in g["errors"]]) for g in got], [
            ("1", [("FieldMissing", "source_uid"), ("FieldMissing", "metadata")]),
            ("row-7", [("NotSupportedChoice", "pipeline_id"), ("InvalidType", C + "first_name")]),
        ])
        status, entities = self.sb.control("GET", "entities")
        self.assertEqual(entities, {"leads": [], "contacts": []})

    def test_created_entities_are_kept(self):
        self.sb.control("POST", "reset")
        status, _, data = self.sb.post([item(source_uid="keep-1")])
        lead_id = json.loads(data)["_embedded"]["unsorted"][0]["_embedded"]["leads"][0]["id"]
        _, entities = self.sb.control("GET", "entities")
        lead, = entities["leads"]
        contact, = entities["contacts"]
        self.assertEqual(lead["id"], lead_id)
        self.assertEqual(lead["source_uid"], "keep-1")
        self.assertEqual(lead["pipeline_id"], 12984871)
        self.assertEqual(lead["status_id"], 72000001)
        self.assertEqual(lead["name"], "Заявка")
        self.assertEqual(lead["contacts"], [contact["id"]])
        utm = [f for f in lead["custom_fields_values"] if f["field_code"] == "UTM_SOURCE"]
        self.assertEqual(utm[0]["field_id"], 467714)
        self.assertEqual(utm[0]["values"], [{"value": "google"}])
        self.assertEqual(contact["first_name"], "Иван")
        self.assertEqual(contact["custom_fields_values"][1]["field_id"], 467702)

        status, body = self.sb.control("POST", "reset")
        self.assertEqual(status, 200)
        _, entities = self.sb.control("GET", "entities")
        self.assertEqual(entities, {"leads": [], "contacts": []})
        _, _, data = self.sb.post([item()])
        self.assertEqual(json.loads(data)["_embedded"]["unsorted"][0]["_embedded"]["leads"][0]["id"],
                         lead_id + 1)

    def test_extra_fields_are_listed_and_survive_reset(self):
        for _ in range(2):
            status, _, data = self.sb.call("GET", "/api/v4/leads/custom_fields?limit=250")
            self.assertEqual(status, 200, data)
            lead = {f["id"]: f for f in json.loads(data)["_embedded"]["custom_fields"]}
            self.assertEqual((lead[999001]["type"], lead[999001]["name"], lead[999001]["code"]),
                             ("numeric", "Extra field 999001", None))
            self.assertEqual(len(lead), 71)
            status, _, data = self.sb.call("GET", "/api/v4/contacts/custom_fields")
            contact = {f["id"]: f for f in json.loads(data)["_embedded"]["custom_fields"]}
            self.assertEqual(contact[999002]["type"], "text")
            self.sb.control("POST", "reset")

    def test_wrong_method_and_unknown_path(self):
        for method, path in [("GET", FORMS), ("PATCH", FORMS), ("DELETE", FORMS),
                             ("POST", "/api/v4/leads/unsorted")]:
            with self.subTest(method + " " + path):
                resp = self.sb.call(method, path, [item()])
                body = self.assertProblem(resp, 405)
                self.assertEqual(body["title"], "Method Not Allowed")
        for path in ("/api/v4/leads/complex", "/api/v4/leads/", "/api/v4/leads/abc",
                     "/api/v4/companies", "/nope", FORMS + "/"):
            with self.subTest(path):
                body = self.assertProblem(self.sb.call("POST", path, [item()]), 404)
                self.assertEqual(body["title"], "Not Found")

    def test_keep_alive_and_rate_limit_off(self):
        conn = self.sb.connect()
        try:
            for i in range(20):
                status, headers, data = self.sb.post([item(source_uid="ka%d" % i)], conn=conn)
                self.assertEqual(status, 200)
                self.assertNotEqual(headers.get("Connection"), "close")
        finally:
            conn.close()

    def test_chunked_request_body(self):
        conn = self.sb.connect()
        try:
            body = json.dumps([item()]).encode()
            conn.request("POST", FORMS, body=iter([body[:10], body[10:]]),
                         headers={"Authorization": "Bearer " + TOKEN,
                                  "Content-Type": "application/json"},
                         encode_chunked=True)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200, resp.read())
        finally:
            conn.close()


def burst(sb, requests):
    """The replies to requests (functions of sb), all sent within 0.9 s: a limit per
    second is what they test. A busy machine may spread a burst over more than that,
    so it is tried again from a reset sandbox (the rate window starts afresh) until
    one is fast enough, rather than failing on the machine's speed."""
    for _ in range(50):
        sb.control("POST", "reset")
        t0 = time.monotonic()
        resps = [r(sb) for r in requests]
        if time.monotonic() - t0 < 0.9:
            return resps
    raise AssertionError("no burst of %d requests took less than 0.9 s in 50 tries" % len(requests))


def posts(n):
    return [lambda sb, i=i: sb.post([item(source_uid="r%d" % i)]) for i in range(n)]


class TestRateLimit(unittest.TestCase):
    def test_eighth_request_in_a_second_is_429(self):
        sb = Sandbox()  # default limit: 7 per second
        try:
            resps = burst(sb, posts(8))
            self.assertEqual([r[0] for r in resps[:7]], [200] * 7)
            status, headers, data = resps[7]
            self.assertEqual(status, 429)
            self.assertEqual(headers["Content-Type"], "application/problem+json")
            self.assertEqual(headers["Retry-After"], "1")
            self.assertEqual(json.loads(data), TOO_MANY)
            self.assertEqual([r["status"] for r in sb.log_lines()[-8:]], [200] * 7 + [429])
            time.sleep(1.05)
            self.assertEqual(sb.post([item()])[0], 200)
        finally:
            sb.stop()

    def test_html_429_and_custom_limit(self):
        sb = Sandbox("--rate-limit", "2", "--rate-limit-html")
        try:
            resps = burst(sb, posts(3))
            self.assertEqual([r[0] for r in resps], [200, 200, 429])
            status, headers, data = resps[2]
            self.assertEqual(headers["Content-Type"], "text/html")
            self.assertIsNone(headers.get("Retry-After"))
            self.assertIn(b"429 Too Many Requests", data)
            with self.assertRaises(ValueError):
                json.loads(data)
        finally:
            sb.stop()

    def test_zero_disables(self):
        sb = Sandbox("--rate-limit", "0")
        try:
            self.assertEqual([sb.post([item(source_uid="r%d" % i)])[0] for i in range(15)], [200] * 15)
        finally:
            sb.stop()


class TestFaults(SandboxCase):
    def setUp(self):
        self.sb.control("POST", "reset")

    def queue(self, *faults):
        status, body = self.sb.control("POST", "faults", {"faults": list(faults)})
        self.assertEqual(status, 200, body)

    def test_queue_is_listed_and_consumed_in_order(self):
        self.queue("503", "slow=0.1")
        self.queue("500")
        self.assertEqual(self.sb.control("GET", "faults"),
                         (200, {"faults": ["503", "slow=0.1", "500"], "schedule": {}}))
        self.assertEqual(self.sb.post([item()])[0], 503)
        self.assertEqual(self.sb.post([item()])[0], 200)
        self.assertEqual(self.sb.post([item()])[0], 500)
        self.assertEqual(self.sb.post([item()])[0], 200)
        self.assertEqual(self.sb.control("GET", "faults")[1]["faults"], [])

    def test_unknown_fault_is_refused(self):
        for bad in (["boom"], ["slow"], ["slow=abc"], ["500=1"], "500"):
            with self.subTest(bad):
                status, body = self.sb.control("POST", "faults", {"faults": bad})
                self.assertEqual(status, 400)
                self.assertIn("error", body)
        self.assertEqual(self.sb.control("GET", "faults")[1]["faults"], [])

    def test_reset_empties_the_queue(self):
        self.queue("500", "502")
        self.sb.control("POST", "reset")
        self.assertEqual(self.sb.control("GET", "faults")[1]["faults"], [])
        self.assertEqual(self.sb.post([item()])[0], 200)

    def test_fault_wins_over_auth(self):
        self.queue("500")
        self.assertEqual(self.sb.post([item()], token="wrong")[0], 500)

    def test_500_has_trace_id(self):
        self.queue("500")
        body = self.assertProblem(self.sb.post([item()]), 500)
        self.assertRegex(body["trace_id"], r"^[0-9a-f]{32}$")

    def test_html_gateway_errors(self):
        for kind, reason in (("502", b"502 Bad Gateway"),
                             ("503", b"503 Service Temporarily Unavailable"),
                             ("504", b"504 Gateway Time-out"),
                             ("403html", b"403 Forbidden")):
            with self.subTest(kind):
                self.queue(kind)
                status, headers, data = self.sb.post([item()])
                self.assertEqual(status, int(kind[:3]))
                self.assertEqual(headers["Content-Type"], "text/html")
                self.assertIn(b"<center><h1>" + reason + b"</h1></center>", data)
                self.assertIn(b"nginx", data)

    def test_429_kinds(self):
        self.queue("429", "429html")
        status, headers, data = self.sb.post([item()])
        self.assertEqual((status, headers["Retry-After"], json.loads(data)), (429, "1", TOO_MANY))
        status, headers, data = self.sb.post([item()])
        self.assertEqual(status, 429)
        self.assertEqual(headers["Content-Type"], "text/html")
        self.assertIsNone(headers.get("Retry-After"))
        self.assertNotIn(b"{", data)

    def test_401_and_402(self):
        self.queue("401", "402")
        status, _, data = self.sb.post([item()])
        self.assertEqual((status, json.loads(data)), (401, UNAUTHORIZED))
        body = self.assertProblem(self.sb.post([item()]), 402)
        self.assertEqual(body["title"], "Payment Required")

    def test_reset_closes_without_reply(self):
        self.queue("reset")
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
            self.sb.post([item()])
        last = self.sb.log_lines()[-1]
        self.assertIsNone(last["status"])
        self.assertEqual(self.sb.post([item()])[0], 200)

    def test_slow(self):
        self.queue("slow=0.5")
        t0 = time.monotonic()
        status, _, data = self.sb.post([item()])
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["_total_items"], 1)

    def test_truncated(self):
        self.queue("truncated")
        status, headers, data = self.sb.post([item()])
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/hal+json")
        self.assertEqual(int(headers["Content-Length"]), len(data))
        self.assertTrue(data.startswith(b'{"_total_items":1,'))
        with self.assertRaises(ValueError):
            json.loads(data)

    def test_garbage(self):
        self.queue("garbage")
        status, headers, data = self.sb.post([item()])
        self.assertEqual((status, headers["Content-Type"], data),
                         (200, "application/hal+json", b"not json at all"))

    def test_hang_times_out_client_but_not_server(self):
        self.queue("hang")
        hung = self.sb.connect(timeout=1)
        t0 = time.monotonic()
        try:
            with self.assertRaises((TimeoutError, socket.timeout)):
                self.sb.post([item()], conn=hung)
            self.assertGreaterEqual(time.monotonic() - t0, 0.9)
            # The hung connection is still open; others are served meanwhile.
            self.assertEqual(self.sb.post([item()])[0], 200)
        finally:
            hung.close()
        statuses = [r["status"] for r in self.sb.log_lines()[-2:]]
        self.assertEqual(statuses, [None, 200])


class TestHostileFaults(SandboxCase):
    """huge, deep, ids=HOW, trickle, and faults aimed at one path."""

    def setUp(self):
        self.sb.control("POST", "reset")

    def queue(self, *faults):
        status, body = self.sb.control("POST", "faults", {"faults": list(faults)})
        self.assertEqual(status, 200, body)

    def created(self):
        return len(self.sb.control("GET", "entities")[1]["leads"])

    def test_huge_is_the_real_answer_padded_past_16_mib(self):
        self.queue("huge")
        status, headers, data = self.sb.post([item()], timeout=30)
        self.assertEqual((status, headers["Content-Type"]), (200, "application/hal+json"))
        self.assertEqual(int(headers["Content-Length"]), len(data))
        self.assertEqual(len(data), 17 * 1024 * 1024)
        body = json.loads(data)  # whitespace padding: valid JSON, only too large
        self.assertEqual(body["_total_items"], 1)
        self.assertEqual(self.created(), 1, "the work is done before the answer is spoilt")

    def test_zipbomb_is_small_on_the_wire_and_huge_decoded(self):
        self.queue("zipbomb")
        status, headers, data = self.sb.post([item()])  # http.client does not decode
        self.assertEqual((status, headers["Content-Type"], headers["Content-Encoding"]),
                         (200, "application/hal+json", "gzip"))
        self.assertEqual(int(headers["Content-Length"]), len(data))
        self.assertLess(len(data), 64 * 1024)
        decoded = gzip.decompress(data)
        self.assertEqual(len(decoded), 17 * 1024 * 1024)
        self.assertEqual(json.loads(decoded)["_total_items"], 1)
        self.assertEqual(self.created(), 1)

    def test_badgzip_and_nothttp(self):
        self.queue("badgzip", "nothttp")
        status, headers, data = self.sb.post([item()])
        self.assertEqual((status, headers["Content-Encoding"], data), (200, "gzip", b"this is not gzip"))
        with socket.create_connection(("127.0.0.1", self.sb.port), timeout=5) as raw:
            body = json.dumps([item()]).encode()
            raw.sendall(b"POST " + FORMS.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                        TOKEN.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
                        str(len(body)).encode() + b"\r\n\r\n" + body)
            got = b""
            while True:
                chunk = raw.recv(4096)
                if not chunk:
                    break
                got += chunk
        self.assertEqual(got, b"this is not HTTP\r\n\r\n")
        self.assertEqual([r["status"] for r in self.sb.log_lines()[-2:]], [200, None])
        self.assertEqual(self.created(), 2)

    def test_deep_is_100000_nested_arrays(self):
        self.queue("deep")
        status, headers, data = self.sb.post([item()])
        self.assertEqual((status, headers["Content-Type"]), (200, "application/hal+json"))
        self.assertEqual(data, b"[" * 100000 + b"]" * 100000)
        self.assertEqual(self.created(), 1)

    def test_ids_spoil_every_id_key_and_nothing_else(self):
        expect = {"letters": lambda n: "abcdefg", "negative": lambda n: -n,
                  "float": lambda n: n + 0.5, "object": lambda n: {"id": n},
                  "null": lambda n: None, "big": lambda n: 2 ** 64 + n}
        for how in ("letters", "negative", "float", "object", "null", "big", "missing"):
            with self.subTest(how):
                self.sb.control("POST", "reset")
                self.queue("ids=" + how)
                status, headers, data = self.sb.post([item(request_id="r1")])
                self.assertEqual((status, headers["Content-Type"]), (200, "application/hal+json"))
                u, = json.loads(data)["_embedded"]["unsorted"]
                lead, = u["_embedded"]["leads"]
                contact, = u["_embedded"]["contacts"]
                ents = self.sb.control("GET", "entities")[1]
                lid, cid = ents["leads"][0]["id"], ents["contacts"][0]["id"]
                if how == "missing":
                    self.assertNotIn("id", lead)
                    self.assertNotIn("id", contact)
                else:
                    self.assertEqual((lead["id"], contact["id"]), (expect[how](lid), expect[how](cid)))
                self.assertEqual((u["request_id"], u["account_id"]), ("r1", 31000001))
                self.assertIn("_links", lead)

    def test_ids_in_lists_and_nested_entities(self):
        self.sb.call("POST", "/_sandbox/contacts", [{"name": "Ivan"}], token=None)
        self.queue("ids=null")
        body = self.sb.get_json(CONTACTS + "?query=ivan")
        c, = body["_embedded"]["contacts"]
        self.assertIsNone(c["id"])
        self.assertEqual(body["_page"], 1)
        self.queue("ids=letters")
        body = self.sb.get_json(PIPELINES)
        for p in body["_embedded"]["pipelines"]:
            self.assertEqual(p["id"], "abcdefg")
            self.assertEqual({s["id"] for s in p["_embedded"]["statuses"]}, {"abcdefg"})
            self.assertIn("pipeline_id", p["_embedded"]["statuses"][0])  # only "id" keys change
        # nothing to spoil: a 204 stays a 204
        self.queue("ids=missing")
        self.assertEqual(self.sb.get(LEADS + "?query=nobody")[0], 204)
        self.assertEqual(self.sb.control("GET", "faults")[1]["faults"], [])

    def test_trickle_sends_headers_then_a_byte_a_second(self):
        self.queue("trickle")
        conn = self.sb.connect()
        try:
            body = json.dumps([item()]).encode()
            t0 = time.monotonic()
            conn.request("POST", FORMS, body=body, headers={
                "Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
            # the headers come while the body has barely begun: they are read
            # with a body of more than 86400 bytes to come
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.headers["Content-Type"]), (200, "application/hal+json"))
            length = int(resp.headers["Content-Length"])
            self.assertGreater(length, 86400)
            got = resp.read(1) + resp.read(1)
            self.assertEqual(got, b'{"')
            self.assertGreaterEqual(time.monotonic() - t0, 1.9, "a byte a second")
        finally:
            conn.close()
        self.assertEqual(self.created(), 1)
        self.assertEqual(self.sb.log_lines()[-1]["status"], 200)
        self.assertEqual(self.sb.post([item()])[0], 200, "others are served meanwhile")

    def test_no_tls_counts_without_a_certificate(self):
        self.assertEqual(self.sb.control("GET", "tls"), (200, {"tls": False, "ok": 0, "failed": 0}))

    def test_a_fault_for_a_path_lets_other_requests_pass(self):
        self.queue("500@" + LEAD_FIELDS, "garbage")
        self.assertEqual(self.sb.control("GET", "faults")[1]["faults"],
                         ["500@" + LEAD_FIELDS, "garbage"])
        status, _, data = self.sb.get("/api/v4/account")
        self.assertEqual((status, data), (200, b"not json at all"))  # the first for any path
        self.assertEqual(self.sb.get("/api/v4/account")[0], 200)
        self.assertEqual(self.sb.get(LEAD_FIELDS + "?page=2")[0], 500)  # the query does not count
        self.assertEqual(self.sb.get(LEAD_FIELDS)[0], 200)
        self.assertEqual(self.sb.control("GET", "faults")[1]["faults"], [])

    def test_bad_hostile_faults_are_refused(self):
        for bad in ("ids", "ids=", "ids=words", "huge=1", "zipbomb=1", "deep=2", "nothttp=1", "trickle=1", "500@",
                    "500@api/v4/account", "500@/api/v4/leads?query=x", "teapot@/api/v4/account"):
            with self.subTest(bad):
                status, body = self.sb.control("POST", "faults", {"faults": [bad]})
                self.assertEqual(status, 400, body)
        self.assertEqual(self.sb.control("GET", "faults")[1]["faults"], [])


@unittest.skipUnless(shutil.which("openssl"), "the openssl CLI is needed to make test certificates "
                     "(scripts/install-deps.sh installs it)")
class TestTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="kommo-sandbox-tls-")
        cls.certs = make_certs(cls.certdir)
        cls.sb = Sandbox("--rate-limit", "0", "--tls-cert", cls.certs["cert"],
                         "--tls-key", cls.certs["key"])

    @classmethod
    def tearDownClass(cls):
        cls.sb.stop()
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def https(self, method, path, body=None, ca=True, token=TOKEN, timeout=WAIT):
        ctx = ssl.create_default_context(cafile=self.certs["ca"] if ca else None)
        conn = http.client.HTTPSConnection("127.0.0.1", self.sb.port, timeout=timeout, context=ctx)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def test_api_and_control_over_https(self):
        status, _, data = self.https("POST", FORMS, [item()])
        self.assertEqual(status, 200, data)
        u, = json.loads(data)["_embedded"]["unsorted"]
        self.assertTrue(u["_links"]["self"]["href"].startswith(
            "https://127.0.0.1:%d/api/v4/leads/unsorted/" % self.sb.port), u)
        status, _, data = self.https("GET", "/_sandbox/faults", token=None)
        self.assertEqual((status, json.loads(data)), (200, {"faults": [], "schedule": {}}))

    def handshakes(self):
        status, _, data = self.https("GET", "/_sandbox/tls", token=None)
        self.assertEqual(status, 200)
        return json.loads(data)

    def test_a_client_that_does_not_trust_the_ca_is_refused_and_others_go_on(self):
        before = len(self.sb.log_lines())
        counts = self.handshakes()
        self.assertTrue(counts["tls"])
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.https("POST", FORMS, [item()], ca=False)
        self.assertEqual(self.https("GET", "/api/v4/account")[0], 200)
        self.assertEqual([r["path"] for r in self.sb.log_lines()[before:]], ["/api/v4/account"])
        after = self.handshakes()
        # the refused one, then the account and this control request
        self.assertEqual((after["failed"], after["ok"]), (counts["failed"] + 1, counts["ok"] + 2))

    def test_plain_http_gets_no_answer(self):
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            self.sb.call("GET", "/api/v4/account")
        self.assertEqual(self.https("GET", "/api/v4/account")[0], 200)

    def test_a_client_that_never_says_hello_holds_up_no_one(self):
        idle = socket.create_connection(("127.0.0.1", self.sb.port), timeout=5)
        try:
            # were the idle client's handshake in the way, this would wait out the
            # sandbox's 10 s HANDSHAKE_TIMEOUT: past this client's own
            self.assertEqual(self.https("GET", "/api/v4/account", timeout=5)[0], 200)
        finally:
            idle.close()

    def test_key_inside_the_certificate_file(self):
        both = Path(self.certdir) / "both.pem"
        both.write_text(Path(self.certs["cert"]).read_text() + Path(self.certs["key"]).read_text())
        sb = Sandbox("--tls-cert", str(both))
        try:
            ctx = ssl.create_default_context(cafile=self.certs["ca"])
            conn = http.client.HTTPSConnection("localhost", sb.port, timeout=5, context=ctx)
            conn.request("GET", "/_sandbox/faults")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()
        finally:
            sb.stop()


class TestFaultSchedule(SandboxCase):
    ARGS = ("--rate-limit", "0", "--faults", "2:502,3:slow=0.2,5:reset")

    def test_schedule_by_request_number_plus_queue(self):
        self.assertEqual(self.sb.control("GET", "faults")[1]["schedule"],
                         {"2": "502", "3": "slow=0.2", "5": "reset"})
        self.assertEqual(self.sb.post([item()])[0], 200)                  # 1
        self.sb.control("POST", "faults", {"faults": ["504"]})
        self.assertEqual(self.sb.post([item()])[0], 502)                  # 2: schedule wins
        t0 = time.monotonic()
        self.assertEqual(self.sb.post([item()])[0], 200)                  # 3: slow
        self.assertGreaterEqual(time.monotonic() - t0, 0.2)
        self.assertEqual(self.sb.post([item()])[0], 504)                  # 4: queued
        with self.assertRaises(ConnectionError):
            self.sb.post([item()])                                        # 5: reset
        self.assertEqual(self.sb.post([item()])[0], 200)                  # 6
        self.assertEqual([r["seq"] for r in self.sb.log_lines()], [1, 2, 3, 4, 5, 6])


class TestLog(SandboxCase):
    def test_log_line_format(self):
        t0 = time.time()
        body = json.dumps([item()], ensure_ascii=False).encode()
        status, _, _ = self.sb.call("POST", FORMS + "?debug=1", body,
                                    headers={"X-Trace-Me": "yes", "User-Agent": "kommo-lead/test"})
        self.assertEqual(status, 200)
        self.sb.control("GET", "faults")  # control requests are not logged
        rec = self.sb.log_lines()[-1]
        self.assertEqual(list(rec), ["seq", "time", "method", "path", "headers", "body", "status"])
        self.assertIsInstance(rec["seq"], int)
        self.assertTrue(t0 - 0.01 <= rec["time"] <= time.time())
        self.assertEqual(rec["method"], "POST")
        self.assertEqual(rec["path"], FORMS + "?debug=1")
        self.assertEqual(rec["headers"]["authorization"], "Bearer " + TOKEN)
        self.assertEqual(rec["headers"]["content-type"], "application/json")
        self.assertEqual(rec["headers"]["x-trace-me"], "yes")
        self.assertEqual(rec["headers"]["user-agent"], "kommo-lead/test")
        self.assertEqual(rec["headers"]["content-length"], str(len(body)))
        self.assertEqual(rec["headers"]["host"], "127.0.0.1:%d" % self.sb.port)
        self.assertTrue(all(k == k.lower() for k in rec["headers"]))
        self.assertEqual(rec["body"], body.decode())
        self.assertEqual(json.loads(rec["body"])[0]["_embedded"]["contacts"][0]["first_name"], "Иван")
        self.assertEqual(rec["status"], 200)

    def test_non_utf8_body_is_base64(self):
        raw = b'[{"x":"\xff"}]'
        status, _, _ = self.sb.post(raw)
        self.assertEqual(status, 400)
        rec = self.sb.log_lines()[-1]
        self.assertNotIn("body", rec)
        self.assertEqual(base64.b64decode(rec["body_b64"]), raw)
        self.assertEqual(rec["status"], 400)

    def test_seq_counts_and_requests_endpoint_matches_log(self):
        self.sb.post([item()], token=None)
        self.sb.call("GET", "/api/v4/account")
        self.sb.call("GET", "/api/v4/nope")
        lines = self.sb.log_lines()
        self.assertEqual([r["seq"] for r in lines], list(range(1, len(lines) + 1)))
        self.assertEqual([r["status"] for r in lines[-3:]], [401, 200, 404])
        status, recs = self.sb.control("GET", "requests")
        self.assertEqual(status, 200)
        self.assertEqual(recs, lines)
        self.assertFalse(any(r["path"].startswith("/_sandbox") for r in recs))


LEAD_GET_KEYS = ["id", "name", "price", "responsible_user_id", "group_id", "status_id",
                 "pipeline_id", "loss_reason_id", "created_by", "updated_by", "created_at",
                 "updated_at", "closed_at", "closest_task_at", "is_deleted",
                 "custom_fields_values", "score", "account_id", "_links", "_embedded"]
CONTACT_GET_KEYS = ["id", "name", "first_name", "last_name", "responsible_user_id", "group_id",
                    "created_by", "updated_by", "created_at", "updated_at", "closest_task_at",
                    "is_deleted", "is_unsorted", "custom_fields_values", "account_id",
                    "_links", "_embedded"]

# Every API endpoint with a method it serves and a body it accepts.
ENDPOINTS = [
    ("GET", "/api/v4/account", None),
    ("GET", LEAD_FIELDS, None),
    ("GET", CONTACT_FIELDS, None),
    ("GET", PIPELINES, None),
    ("GET", PIPELINES + "/12984871", None),
    ("GET", LEADS, None),
    ("GET", LEADS + "?query=x", None),
    ("GET", LEADS + "/8876820", None),
    ("GET", CONTACTS, None),
    ("GET", CONTACTS + "/7654321", None),
    ("POST", LEADS, [{"name": "x"}]),
    ("PATCH", LEADS, [{"id": 8876820, "name": "x"}]),
    ("PATCH", LEADS + "/8876820", {"name": "x"}),
    ("POST", CONTACTS, [{"name": "x"}]),
    ("POST", FORMS, None),
]


class ApiCase(SandboxCase):
    """Resets the sandbox before each test."""
    maxDiff = None

    def setUp(self):
        self.assertEqual(self.sb.control("POST", "reset")[0], 200)
        self.base = "http://127.0.0.1:%d" % self.sb.port

    def add(self, path, items, status=200):
        code, headers, data = self.sb.call("POST", path, items)
        self.assertEqual(code, status, data)
        if status == 200:
            self.assertEqual(headers["Content-Type"], "application/hal+json")
            return json.loads(data)
        return data

    def add_lead(self, **lead):
        body = self.add(LEADS, [lead])
        return body["_embedded"]["leads"][0]["id"]

    def add_contact(self, **contact):
        body = self.add(CONTACTS, [contact])
        return body["_embedded"]["contacts"][0]["id"]

    def forms(self, *items):
        status, _, data = self.sb.post(list(items))
        self.assertEqual(status, 200, data)
        return [(u["_embedded"]["leads"][0]["id"], u["_embedded"]["contacts"][0]["id"])
                for u in json.loads(data)["_embedded"]["unsorted"]]

    def assertNoContent(self, resp):
        status, headers, data = resp
        self.assertEqual(status, 204, data)
        self.assertEqual(data, b"")
        self.assertIsNone(headers.get("Content-Type"))

    def assertErrors(self, resp, expected):
        """expected: [(request_id, [(code, path), ...]), ...]"""
        got = self.errors_of(resp)
        self.assertEqual([(g["request_id"], [(e["code"], e["path"]) for e in g["errors"]])
                          for g in got], expected)
        for g in got:
            for e in g["errors"]:
                self.assertTrue(isinstance(e["detail"], str) and e["detail"])

    def pages(self, path):
        """Follows _links.next from path; returns the bodies of every page."""
        out = []
        url = path
        while True:
            body = self.sb.get_json(url)
            out.append(body)
            nxt = body["_links"].get("next")
            if not nxt:
                return out
            self.assertTrue(nxt["href"].startswith(self.base))
            url = nxt["href"][len(self.base):]


class TestApiAuthAndRouting(ApiCase):
    def test_every_endpoint_needs_the_token(self):
        for method, path, body in ENDPOINTS:
            for name, kw in [("missing", {"token": None}), ("wrong", {"token": "nope"}),
                             ("lowercase scheme", {"token": None,
                                                   "headers": {"Authorization": "bearer " + TOKEN}})]:
                with self.subTest(method=method, path=path, token=name):
                    status, headers, data = self.sb.call(method, path, body, **kw)
                    self.assertEqual(status, 401, data)
                    self.assertEqual(headers["Content-Type"], "application/problem+json")
                    self.assertEqual(json.loads(data), UNAUTHORIZED)
        self.assertEqual(self.sb.control("GET", "entities")[1], {"leads": [], "contacts": []})

    def test_wrong_method_is_405_with_allow(self):
        for method, path, allow in [
                ("POST", "/api/v4/account", "GET"),
                ("PATCH", "/api/v4/account", "GET"),
                ("POST", LEAD_FIELDS, "GET"),
                ("DELETE", CONTACT_FIELDS, "GET"),
                ("POST", PIPELINES, "GET"),
                ("PATCH", PIPELINES + "/12984871", "GET"),
                ("DELETE", LEADS, "GET, POST, PATCH"),
                ("PUT", LEADS, "GET, POST, PATCH"),
                ("POST", LEADS + "/8876820", "GET, PATCH"),
                ("DELETE", LEADS + "/8876820", "GET, PATCH"),
                ("PATCH", CONTACTS, "GET, POST"),
                ("PATCH", CONTACTS + "/7654321", "GET")]:
            with self.subTest(method=method, path=path):
                resp = self.sb.call(method, path, [{"name": "x"}], token=None)
                body = self.assertProblem(resp, 405)
                self.assertEqual(body["title"], "Method Not Allowed")
                self.assertEqual(resp[1]["Allow"], allow)

    def test_unknown_paths_are_404(self):
        for path in ("/api/v4/leads/abc", "/api/v4/leads/12/x", "/api/v4/leads/-1",
                     "/api/v4/contacts/x", "/api/v4/leads/pipelines/main",
                     "/api/v4/leads/pipelines/12984871/statuses", "/api/v4/accounts",
                     "/api/v4/account/", "/api/v4/companies", "/api/v4/leads/custom_fields/x"):
            with self.subTest(path):
                self.assertProblem(self.sb.get(path, token=None), 404)
        for path in (LEADS + "/abc", LEADS + "/1.5"):
            with self.subTest("PATCH " + path):
                self.assertProblem(self.sb.call("PATCH", path, {"name": "x"}), 404)


class TestAccount(ApiCase):
    def test_account(self):
        body = self.sb.get_json("/api/v4/account")
        self.assertEqual(body, {"id": 31000001, "name": "intermigro", "subdomain": "intermigro",
                                "current_user_id": 11000001, "country": "RU", "currency": "RUB",
                                "is_unsorted_on": True,
                                "_links": {"self": {"href": self.base + "/api/v4/account"}}})
        self.assertEqual(list(body), ["id", "name", "subdomain", "current_user_id", "country",
                                      "currency", "is_unsorted_on", "_links"])

    def test_control_patch_merges_and_reset_restores(self):
        status, acct = self.sb.control("PATCH", "account", {"is_unsorted_on": False,
                                                            "name": "Другой"})
        self.assertEqual(status, 200)
        self.assertEqual((acct["is_unsorted_on"], acct["name"], acct["id"]),
                         (False, "Другой", 31000001))
        body = self.sb.get_json("/api/v4/account")
        self.assertIs(body["is_unsorted_on"], False)
        self.assertEqual(body["name"], "Другой")
        self.assertEqual(self.sb.control("GET", "account")[1], acct)
        for bad in ([1], "x", None):
            with self.subTest(bad):
                self.assertEqual(self.sb.control("PATCH", "account", bad)[0], 400)
        self.sb.control("POST", "reset")
        self.assertIs(self.sb.get_json("/api/v4/account")["is_unsorted_on"], True)
        self.assertEqual(self.sb.get_json("/api/v4/account")["name"], "intermigro")


FIELD_KEYS = ["id", "name", "type", "code", "sort", "is_api_only", "enums", "entity_type",
              "account_id", "_links"]


class TestCustomFields(ApiCase):
    def test_lead_fields_take_two_pages_by_default(self):
        first = self.sb.get_json(LEAD_FIELDS)
        url = self.base + LEAD_FIELDS
        self.assertEqual(first["_page"], 1)
        self.assertEqual(first["_total_items"], 50)
        self.assertEqual(len(first["_embedded"]["custom_fields"]), 50)
        self.assertEqual(first["_links"], {"self": {"href": url + "?page=1&limit=50"},
                                           "next": {"href": url + "?page=2&limit=50"}})
        second = self.sb.get_json(LEAD_FIELDS + "?page=2")
        self.assertEqual(second["_page"], 2)
        self.assertEqual(second["_total_items"], 20)
        self.assertEqual(second["_links"], {"self": {"href": url + "?page=2&limit=50"}})
        self.assertNoContent(self.sb.get(LEAD_FIELDS + "?page=3"))
        self.assertNoContent(self.sb.get(LEAD_FIELDS + "?page=1000000&limit=250"))
        ids = [f["id"] for p in (first, second) for f in p["_embedded"]["custom_fields"]]
        self.assertEqual(len(set(ids)), 70)
        everything = self.sb.get_json(LEAD_FIELDS + "?limit=250")
        self.assertEqual(everything["_total_items"], 70)
        self.assertNotIn("next", everything["_links"])
        self.assertEqual([f["id"] for f in everything["_embedded"]["custom_fields"]], ids)
        # a small limit, followed to the end through next links
        pages = self.pages(LEAD_FIELDS + "?limit=30")
        self.assertEqual([p["_total_items"] for p in pages], [30, 30, 10])
        self.assertEqual([f["id"] for p in pages for f in p["_embedded"]["custom_fields"]], ids)

    def test_known_fields_keep_their_ids_codes_and_types(self):
        leads = {f["id"]: f for f in self.sb.get_json(LEAD_FIELDS + "?limit=250")
                 ["_embedded"]["custom_fields"]}
        contacts = {f["id"]: f for f in self.sb.get_json(CONTACT_FIELDS)
                    ["_embedded"]["custom_fields"]}
        for fid, code, ftype in [(467714, "UTM_SOURCE", "tracking_data"),
                                 (467710, "UTM_MEDIUM", "tracking_data"),
                                 (467712, "UTM_CAMPAIGN", "tracking_data"),
                                 (467708, "UTM_CONTENT", "tracking_data"),
                                 (467716, "UTM_TERM", "tracking_data"),
                                 (467718, "UTM_REFERRER", "tracking_data"),
                                 (488804, None, "text"), (1711074, None, "text"),
                                 (1709444, None, "numeric"), (1709446, None, "select"),
                                 (1709448, None, "multiselect"), (1709450, None, "date"),
                                 (1709452, None, "checkbox"), (1709454, None, "textarea"),
                                 (1709456, None, "url"), (2000001, None, "text")]:
            with self.subTest(fid):
                self.assertEqual((leads[fid]["code"], leads[fid]["type"]), (code, ftype))
        for fid, code, ftype in [(467700, "PHONE", "multitext"), (467702, "EMAIL", "multitext"),
                                 (467698, "POSITION", "text"), (1709360, None, "text"),
                                 (1709362, None, "url"), (1709364, None, "date"),
                                 (1709366, None, "select"), (1709368, None, "checkbox")]:
            with self.subTest(fid):
                self.assertEqual((contacts[fid]["code"], contacts[fid]["type"]), (code, ftype))
        country = leads[1709446]
        self.assertEqual(list(country), FIELD_KEYS)
        self.assertEqual(country["name"], "Страна")
        self.assertEqual(country["enums"][:3], [{"id": 901001, "value": "Германия", "sort": 10},
                                                {"id": 901002, "value": "Португалия", "sort": 20},
                                                {"id": 901003, "value": "Сербия", "sort": 30}])
        self.assertEqual((country["entity_type"], country["account_id"], country["is_api_only"]),
                         ("leads", 31000001, False))
        self.assertEqual(country["_links"]["self"]["href"], self.base + LEAD_FIELDS + "/1709446")
        self.assertIsNone(leads[488804]["enums"])
        phone = contacts[467700]
        self.assertEqual(phone["entity_type"], "contacts")
        self.assertIn({"id": 300005, "value": "MOB", "sort": 30}, phone["enums"])
        self.assertEqual(leads[2000001]["name"], "Поле 1")
        self.assertEqual(leads[2000055]["name"], "Поле 55")
        self.assertNotIn(2000056, leads)
        self.assertEqual(len(contacts), 8)

    def test_paging_parameter_errors(self):
        for query, detail in [("limit=251", "limit must be between 1 and 250"),
                              ("limit=0", "limit must be between 1 and 250"),
                              ("limit=-5", "limit must be between 1 and 250"),
                              ("limit=abc", "limit must be an integer"),
                              ("limit=", "limit must be an integer"),
                              ("limit=2.5", "limit must be an integer"),
                              ("page=0", "page must be 1 or more"),
                              ("page=-1", "page must be 1 or more"),
                              ("page=x", "page must be an integer"),
                              ("page=1e3", "page must be an integer")]:
            for path in (LEAD_FIELDS, CONTACT_FIELDS, LEADS, CONTACTS):
                with self.subTest(path=path, query=query):
                    body = self.assertProblem(self.sb.get(path + "?" + query), 400, detail)
                    self.assertEqual(body["title"], "Bad Request")

    def test_control_adds_filler_fields_and_reset_removes_them(self):
        status, body = self.sb.control("POST", "fields", {"entity": "lead", "count": 200})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["total"], 270)
        self.assertEqual(body["ids"][:2], [2000056, 2000057])
        pages = self.pages(LEAD_FIELDS + "?limit=250")
        self.assertEqual([p["_total_items"] for p in pages], [250, 20])
        last = pages[1]["_embedded"]["custom_fields"][-1]
        self.assertEqual((last["id"], last["name"], last["type"]), (2000255, "Поле 255", "text"))
        status, body = self.sb.control("POST", "fields", {"entity": "contact", "count": 3})
        self.assertEqual((status, body["ids"], body["total"]), (200, [2000256, 2000257, 2000258], 11))
        self.sb.control("POST", "reset")
        self.assertEqual(len(self.sb.get_json(LEAD_FIELDS + "?limit=250")
                             ["_embedded"]["custom_fields"]), 70)
        self.assertEqual(self.sb.control("GET", "fields")[1]["contact"][0]["code"], "POSITION")

    def test_control_adds_one_field(self):
        status, body = self.sb.control("POST", "fields", {
            "entity": "lead", "id": 3000001, "name": "Тариф", "type": "select", "code": "TARIFF",
            "enums": [{"id": 77, "value": "Базовый"}, "Премиум"]})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["field"]["enums"][0], {"id": 77, "value": "Базовый", "sort": 10})
        premium = body["field"]["enums"][1]["id"]
        fields = {f["id"]: f for f in self.sb.get_json(LEAD_FIELDS + "?limit=250")
                  ["_embedded"]["custom_fields"]}
        self.assertEqual((fields[3000001]["name"], fields[3000001]["code"]), ("Тариф", "TARIFF"))
        # the new field is usable at once, by code, enum id or enum value
        lid = self.add_lead(name="x", custom_fields_values=[
            {"field_code": "TARIFF", "values": [{"enum_id": premium}]}])
        lead = self.sb.get_json("%s/%d" % (LEADS, lid))
        self.assertEqual(lead["custom_fields_values"][0]["values"],
                         [{"value": "Премиум", "enum_id": premium}])
        self.assertErrors(self.sb.call("POST", LEADS, [{"custom_fields_values": [
            {"field_id": 3000001, "values": [{"value": "Золотой"}]}]}]),
            [("0", [("NotSupportedChoice", "custom_fields_values.0.values.0.value")])])
        for bad in ({"entity": "deal", "type": "text"}, {"entity": "lead", "type": "color"},
                    {"entity": "lead", "type": "select"},
                    {"entity": "lead", "type": "text", "enums": ["a"]},
                    {"entity": "lead", "type": "text", "code": "UTM_SOURCE"},
                    {"entity": "lead", "id": "1"}, {"entity": "lead", "count": 0},
                    {"entity": "lead", "count": "5"}, ["lead"]):
            with self.subTest(bad):
                status, body = self.sb.control("POST", "fields", bad)
                self.assertEqual(status, 400, body)
                self.assertIn("error", body)


class TestPipelines(ApiCase):
    def test_pipelines_shape(self):
        body = self.sb.get_json(PIPELINES)
        self.assertEqual(body["_total_items"], 2)
        self.assertEqual(body["_links"], {"self": {"href": self.base + PIPELINES}})
        main, partners = body["_embedded"]["pipelines"]
        self.assertEqual(list(main), ["id", "name", "sort", "is_main", "is_unsorted_on",
                                      "is_archive", "account_id", "_links", "_embedded"])
        self.assertEqual((main["id"], main["name"], main["is_main"], main["is_unsorted_on"],
                          main["is_archive"], main["account_id"]),
                         (MAIN, "Воронка", True, True, False, 31000001))
        self.assertEqual((partners["id"], partners["name"], partners["is_main"]),
                         (PARTNERS, "Партнёры", False))
        self.assertEqual(main["_links"]["self"]["href"], "%s%s/%d" % (self.base, PIPELINES, MAIN))
        statuses = main["_embedded"]["statuses"]
        self.assertEqual([(s["id"], s["type"]) for s in statuses],
                         [(72000001, 1), (72000002, 0), (72000003, 0), (72000004, 0),
                          (142, 0), (143, 0)])
        self.assertEqual(statuses[0]["name"], "НЕРАЗОБРАННОЕ")
        first = statuses[0]
        self.assertEqual(list(first), ["id", "name", "sort", "is_editable", "pipeline_id", "color",
                                       "type", "account_id", "_links"])
        self.assertEqual((first["pipeline_id"], first["is_editable"], first["account_id"]),
                         (MAIN, False, 31000001))
        self.assertEqual(first["_links"]["self"]["href"],
                         "%s%s/%d/statuses/72000001" % (self.base, PIPELINES, MAIN))
        self.assertEqual([(s["id"], s["type"], s["pipeline_id"])
                          for s in partners["_embedded"]["statuses"]],
                         [(72000011, 1, PARTNERS), (72000012, 0, PARTNERS),
                          (72000013, 0, PARTNERS), (142, 0, PARTNERS), (143, 0, PARTNERS)])

    def test_one_pipeline(self):
        whole = self.sb.get_json(PIPELINES)["_embedded"]["pipelines"][1]
        self.assertEqual(self.sb.get_json("%s/%d" % (PIPELINES, PARTNERS)), whole)
        body = self.assertProblem(self.sb.get(PIPELINES + "/1"), 404)
        self.assertEqual(body["title"], "Not Found")


class TestLeadsApi(ApiCase):
    def test_add_leads_shape_defaults_and_stored_entity(self):
        t0 = int(time.time())
        body = self.add(LEADS, [
            {"name": "Сделка А", "price": 1500, "request_id": "a",
             "custom_fields_values": [
                 {"field_id": 1709446, "values": [{"value": "Сербия"}]},
                 {"field_id": 1709448, "values": [{"enum_id": 901011}, {"value": "ПМЖ"}]},
                 {"field_id": 1709450, "values": [{"value": "2026-03-01"}]},
                 {"field_id": 1709452, "values": [{"value": True}]},
                 {"field_code": "UTM_SOURCE", "values": [{"value": "google"}]}]},
            {"pipeline_id": PARTNERS, "responsible_user_id": 11000002, "created_by": 0},
            {"status_id": 142, "pipeline_id": PARTNERS},
        ])
        self.assertEqual(list(body), ["_links", "_embedded"])
        self.assertEqual(body["_links"], {"self": {"href": self.base + LEADS}})
        a, b, c = body["_embedded"]["leads"]
        self.assertEqual([x["request_id"] for x in (a, b, c)], ["a", "1", "2"])
        self.assertEqual([b["id"], c["id"]], [a["id"] + 1, a["id"] + 2])
        self.assertEqual(a["_links"], {"self": {"href": "%s%s/%d" % (self.base, LEADS, a["id"])}})

        lead = self.sb.get_json("%s/%d" % (LEADS, a["id"]))
        self.assertEqual(list(lead), LEAD_GET_KEYS)
        self.assertEqual({k: lead[k] for k in ("name", "price", "responsible_user_id", "group_id",
                                                "status_id", "pipeline_id", "loss_reason_id",
                                                "created_by", "updated_by", "closed_at",
                                                "closest_task_at", "is_deleted", "score",
                                                "account_id")},
                         {"name": "Сделка А", "price": 1500, "responsible_user_id": 11000001,
                          "group_id": 0, "status_id": 72000002, "pipeline_id": MAIN,
                          "loss_reason_id": None, "created_by": 11000001,
                          "updated_by": 11000001, "closed_at": None, "closest_task_at": None,
                          "is_deleted": False, "score": None, "account_id": 31000001})
        self.assertTrue(t0 <= lead["created_at"] == lead["updated_at"] <= time.time())
        self.assertEqual(lead["_embedded"], {"tags": [], "companies": []})
        self.assertEqual(lead["custom_fields_values"], [
            {"field_id": 1709446, "field_name": "Страна", "field_code": None,
             "field_type": "select", "values": [{"value": "Сербия", "enum_id": 901003}]},
            {"field_id": 1709448, "field_name": "Программы", "field_code": None,
             "field_type": "multiselect", "values": [{"value": "ВНЖ", "enum_id": 901011},
                                                     {"value": "ПМЖ", "enum_id": 901012}]},
            {"field_id": 1709450, "field_name": "Дата консультации", "field_code": None,
             "field_type": "date", "values": [{"value": 1772323200}]},
            {"field_id": 1709452, "field_name": "Согласие на обработку данных",
             "field_code": None, "field_type": "checkbox", "values": [{"value": True}]},
            {"field_id": 467714, "field_name": "utm_source", "field_code": "UTM_SOURCE",
             "field_type": "tracking_data", "values": [{"value": "google"}]}])
        lb = self.sb.get_json("%s/%d" % (LEADS, b["id"]))
        self.assertEqual((lb["pipeline_id"], lb["status_id"], lb["responsible_user_id"],
                          lb["created_by"], lb["name"], lb["price"], lb["custom_fields_values"]),
                         (PARTNERS, 72000012, 11000002, 0, "", 0, None))
        lc = self.sb.get_json("%s/%d" % (LEADS, c["id"]))
        self.assertEqual((lc["status_id"], lc["pipeline_id"]), (142, PARTNERS))
        self.assertIsInstance(lc["closed_at"], int)
        # /_sandbox/entities holds the same lead, plus the request_id
        _, ents = self.sb.control("GET", "entities")
        stored = ents["leads"][0]
        self.assertEqual({k: stored[k] for k in LEAD_GET_KEYS}, lead)
        self.assertEqual(stored["request_id"], "a")

    def test_status_from_the_main_pipeline_only_without_pipeline_id(self):
        lid = self.add_lead(status_id=72000004)
        self.assertEqual(self.sb.get_json("%s/%d" % (LEADS, lid))["status_id"], 72000004)
        lid = self.add_lead(status_id=143)
        self.assertEqual(self.sb.get_json("%s/%d" % (LEADS, lid))["pipeline_id"], MAIN)

    def test_each_validation_rule(self):
        cases = [
            ("name int", {"name": 5}, [("InvalidType", "name")]),
            ("price string", {"price": "100"}, [("InvalidType", "price")]),
            ("price negative", {"price": -1}, [("InvalidType", "price")]),
            ("price float", {"price": 1.5}, [("InvalidType", "price")]),
            ("pipeline unknown", {"pipeline_id": 1}, [("NotSupportedChoice", "pipeline_id")]),
            ("pipeline string", {"pipeline_id": "12984871"}, [("InvalidType", "pipeline_id")]),
            ("status of another pipeline", {"status_id": 72000012},
             [("NotSupportedChoice", "status_id")]),
            ("status of another pipeline given", {"pipeline_id": PARTNERS, "status_id": 72000002},
             [("NotSupportedChoice", "status_id")]),
            ("status unknown", {"status_id": 5}, [("NotSupportedChoice", "status_id")]),
            ("incoming status", {"status_id": 72000001}, [("NotSupportedChoice", "status_id")]),
            ("status bool", {"status_id": True}, [("InvalidType", "status_id")]),
            ("responsible not a user", {"responsible_user_id": 123},
             [("NotSupportedChoice", "responsible_user_id")]),
            ("responsible 0", {"responsible_user_id": 0},
             [("NotSupportedChoice", "responsible_user_id")]),
            ("responsible string", {"responsible_user_id": "11000001"},
             [("InvalidType", "responsible_user_id")]),
            ("created_by not a user", {"created_by": 11000003},
             [("NotSupportedChoice", "created_by")]),
            ("request_id int", {"request_id": 3}, [("InvalidType", "request_id")]),
            ("created_at millis", {"created_at": 1700000000000}, [("InvalidType", "created_at")]),
            ("cfv not array", {"custom_fields_values": {}},
             [("InvalidType", "custom_fields_values")]),
            ("contact field", {"custom_fields_values": [
                {"field_code": "PHONE", "values": [{"value": "+7999"}]}]},
             [("NotSupportedChoice", "custom_fields_values.0.field_code")]),
            ("unknown field id", {"custom_fields_values": [
                {"field_id": 1, "values": [{"value": "x"}]}]},
             [("NotSupportedChoice", "custom_fields_values.0.field_id")]),
            ("select unknown value", {"custom_fields_values": [
                {"field_id": 1709446, "values": [{"value": "Франция"}]}]},
             [("NotSupportedChoice", "custom_fields_values.0.values.0.value")]),
            ("select unknown enum_id", {"custom_fields_values": [
                {"field_id": 1709446, "values": [{"enum_id": 901011}]}]},
             [("NotSupportedChoice", "custom_fields_values.0.values.0.enum_id")]),
            ("select without value", {"custom_fields_values": [
                {"field_id": 1709448, "values": [{}]}]},
             [("FieldMissing", "custom_fields_values.0.values.0.value")]),
            ("checkbox string", {"custom_fields_values": [
                {"field_id": 1709452, "values": [{"value": "yes"}]}]},
             [("InvalidType", "custom_fields_values.0.values.0.value")]),
            ("date not a date", {"custom_fields_values": [
                {"field_id": 1709450, "values": [{"value": "tomorrow"}]}]},
             [("InvalidType", "custom_fields_values.0.values.0.value")]),
            ("date millis", {"custom_fields_values": [
                {"field_id": 1709450, "values": [{"value": 1772323200000}]}]},
             [("InvalidType", "custom_fields_values.0.values.0.value")]),
            ("tracking_data number", {"custom_fields_values": [
                {"field_code": "UTM_TERM", "values": [{"value": 5}]}]},
             [("InvalidType", "custom_fields_values.0.values.0.value")]),
            ("numeric string", {"custom_fields_values": [
                {"field_id": 1709444, "values": [{"value": "5"}]}]},
             [("InvalidType", "custom_fields_values.0.values.0.value")]),
            ("enum_id on a text field", {"custom_fields_values": [
                {"field_id": 488804, "values": [{"value": "x", "enum_id": 1}]}]},
             [("NotSupportedChoice", "custom_fields_values.0.values.0.enum_id")]),
        ]
        for name, lead, expected in cases:
            with self.subTest(name):
                self.assertErrors(self.sb.call("POST", LEADS, [lead]), [("0", expected)])
        self.assertEqual(self.sb.control("GET", "entities")[1]["leads"], [])

    def test_all_items_are_checked_and_nothing_is_created(self):
        self.assertErrors(self.sb.call("POST", LEADS, [
            {"name": "ok"}, {"request_id": "r1", "pipeline_id": 5}, 7,
            {"responsible_user_id": 1, "created_by": 2}]), [
            ("r1", [("NotSupportedChoice", "pipeline_id")]),
            ("2", [("InvalidType", "")]),
            ("3", [("NotSupportedChoice", "responsible_user_id"),
                   ("NotSupportedChoice", "created_by")])])
        self.assertEqual(self.sb.control("GET", "entities")[1]["leads"], [])

    def test_a_new_lead_is_linked_to_the_contacts_it_names(self):
        # Kommo's "Add leads": _embedded.contacts[] with the id of an existing contact
        (_, old), = self.forms(item())
        cid = self.add_contact(name="Анна")
        body = self.add(LEADS, [{"name": "С контактом", "_embedded": {"contacts": [
            {"id": cid}, {"id": old, "is_main": False}, {"id": cid}]}}, {"name": "Без"}])
        lid, bare = [x["id"] for x in body["_embedded"]["leads"]]
        lead = self.sb.get_json("%s/%d?with=contacts" % (LEADS, lid))
        self.assertEqual(list(lead), LEAD_GET_KEYS)
        self.assertEqual(lead["_embedded"]["contacts"], [
            {"id": cid, "is_main": True,
             "_links": {"self": {"href": "%s%s/%d" % (self.base, CONTACTS, cid)}}},
            {"id": old, "is_main": False,
             "_links": {"self": {"href": "%s%s/%d" % (self.base, CONTACTS, old)}}}])
        # without with=contacts the link is not shown; the list shows it as the lead does
        self.assertNotIn("contacts", self.sb.get_json("%s/%d" % (LEADS, lid))["_embedded"])
        listed = self.sb.get_json(LEADS + "?with=contacts")["_embedded"]["leads"]
        self.assertEqual([[c["id"] for c in x["_embedded"]["contacts"]] for x in listed[-2:]],
                         [[cid, old], []])
        # the contact knows its leads too
        c = self.sb.get_json("%s/%d?with=leads" % (CONTACTS, cid))
        self.assertEqual([x["id"] for x in c["_embedded"]["leads"]], [lid])
        c = self.sb.get_json("%s/%d?with=leads" % (CONTACTS, old))
        self.assertEqual([x["id"] for x in c["_embedded"]["leads"]][-1], lid)
        self.assertNotIn(bare, [x["id"] for x in c["_embedded"]["leads"]])

    def test_a_link_to_a_contact_that_does_not_exist_is_refused(self):
        cid = self.add_contact(name="Анна")
        self.assertErrors(self.sb.call("POST", LEADS, [
            {"name": "a", "_embedded": {"contacts": [{"id": cid}, {"id": cid + 1000}]}},
            {"name": "b", "_embedded": {"contacts": [{}, {"id": "1"}, 5, {"id": cid, "is_main": 1}]}},
            {"name": "c", "_embedded": {"contacts": {"id": cid}}},
            {"name": "d", "_embedded": []}]), [
            ("0", [("NotSupportedChoice", "_embedded.contacts.1.id")]),
            ("1", [("FieldMissing", "_embedded.contacts.0.id"),
                   ("InvalidType", "_embedded.contacts.1.id"),
                   ("InvalidType", "_embedded.contacts.2"),
                   ("InvalidType", "_embedded.contacts.3.is_main")]),
            ("2", [("InvalidType", "_embedded.contacts")]),
            ("3", [("InvalidType", "_embedded")])])
        self.assertEqual(self.sb.control("GET", "entities")[1]["leads"], [])

    def test_body_errors(self):
        for body in (b"", b"[]", b"{}", b"null"):
            with self.subTest(body):
                self.assertProblem(self.sb.call("POST", LEADS, body), 400,
                                   "Request data can not be empty")
        self.assertProblem(self.sb.call("POST", LEADS, b"[{"), 400,
                           "Request body is not valid JSON")
        self.assertProblem(self.sb.call("POST", LEADS, [{}], ctype="text/plain"), 400,
                           "Content-Type must be application/json")
        self.assertErrors(self.sb.call("POST", LEADS, {"name": "x"}),
                          [("0", [("InvalidType", "data")])])
        body = self.assertProblem(self.sb.call("POST", LEADS, [{"name": "x"}] * 251), 422,
                                  "Limit 250 per page")
        self.assertEqual(body["title"], "Unprocessable Entity")
        self.assertEqual(len(self.add(LEADS, [{"name": "x"}] * 250)["_embedded"]["leads"]), 250)

    def test_patch_one_lead(self):
        lid = self.add_lead(name="Старое", price=10, custom_fields_values=[
            {"field_id": 488804, "values": [{"value": "Engineer"}]},
            {"field_id": 1711074, "values": [{"value": "MSc"}]}])
        before = self.sb.get_json("%s/%d" % (LEADS, lid))
        # updated_at is in whole seconds: until the sandbox's clock (this one) is past it
        time.sleep(max(0.0, before["updated_at"] + 1 - time.time()))
        status, headers, data = self.sb.call("PATCH", "%s/%d" % (LEADS, lid), {
            "name": "Новое", "price": 20, "responsible_user_id": 11000002,
            "custom_fields_values": [{"field_id": 1711074, "values": [{"value": "PhD"}]}]})
        self.assertEqual(status, 200, data)
        self.assertEqual(headers["Content-Type"], "application/hal+json")
        body = json.loads(data)
        self.assertEqual(list(body), ["id", "updated_at", "_links"])
        self.assertEqual(body["id"], lid)
        self.assertGreater(body["updated_at"], before["updated_at"])
        self.assertEqual(body["_links"], {"self": {"href": "%s%s/%d" % (self.base, LEADS, lid)}})
        lead = self.sb.get_json("%s/%d" % (LEADS, lid))
        self.assertEqual((lead["name"], lead["price"], lead["responsible_user_id"],
                          lead["updated_at"], lead["created_at"], lead["status_id"]),
                         ("Новое", 20, 11000002, body["updated_at"], before["created_at"],
                          72000002))
        self.assertEqual([(f["field_id"], f["values"]) for f in lead["custom_fields_values"]],
                         [(488804, [{"value": "Engineer"}]), (1711074, [{"value": "PhD"}])])

    def test_patch_pipeline_and_status(self):
        lid = self.add_lead(name="x")
        path = "%s/%d" % (LEADS, lid)
        self.sb.call("PATCH", path, {"status_id": 72000003})
        self.assertEqual(self.sb.get_json(path)["status_id"], 72000003)
        # only pipeline_id: the first stage after Incoming of that pipeline
        self.assertEqual(self.sb.call("PATCH", path, {"pipeline_id": PARTNERS})[0], 200)
        lead = self.sb.get_json(path)
        self.assertEqual((lead["pipeline_id"], lead["status_id"]), (PARTNERS, 72000012))
        # a status is checked against the lead's own pipeline now
        self.assertErrors(self.sb.call("PATCH", path, {"status_id": 72000002}),
                          [("0", [("NotSupportedChoice", "status_id")])])
        self.sb.call("PATCH", path, {"status_id": 72000013})
        self.sb.call("PATCH", path, {"status_id": 143})
        lead = self.sb.get_json(path)
        self.assertEqual((lead["pipeline_id"], lead["status_id"]), (PARTNERS, 143))
        self.assertIsInstance(lead["closed_at"], int)
        self.sb.call("PATCH", path, {"pipeline_id": MAIN, "status_id": 72000004})
        lead = self.sb.get_json(path)
        self.assertEqual((lead["pipeline_id"], lead["status_id"], lead["closed_at"]),
                         (MAIN, 72000004, None))

    def test_patch_errors(self):
        lid = self.add_lead(name="x")
        path = "%s/%d" % (LEADS, lid)
        body = self.assertProblem(self.sb.call("PATCH", "%s/%d" % (LEADS, lid + 1000),
                                               {"name": "y"}), 404, "Lead not found")
        self.assertEqual(body["title"], "Not Found")
        self.assertProblem(self.sb.call("PATCH", path, {}), 400, "Request data can not be empty")
        self.assertProblem(self.sb.call("PATCH", path, b"{"), 400, "Request body is not valid JSON")
        self.assertErrors(self.sb.call("PATCH", path, [{"name": "y"}]),
                          [("0", [("InvalidType", "data")])])
        self.assertErrors(self.sb.call("PATCH", path, {
            "name": 1, "pipeline_id": 3, "responsible_user_id": 5, "request_id": "mine",
            "custom_fields_values": [{"field_id": 1709446, "values": [{"value": "Марс"}]}]}),
            [("0", [("InvalidType", "name"), ("NotSupportedChoice", "pipeline_id"),
                    ("NotSupportedChoice", "responsible_user_id"),
                    ("NotSupportedChoice", "custom_fields_values.0.values.0.value")])])
        self.assertEqual(self.sb.get_json(path)["name"], "x")

    def test_patch_many_leads(self):
        a = self.add_lead(name="a")
        b = self.add_lead(name="b")
        status, _, data = self.sb.call("PATCH", LEADS, [
            {"id": a, "name": "A"}, {"id": b, "price": 7, "request_id": "bee"}])
        self.assertEqual(status, 200, data)
        body = json.loads(data)
        self.assertEqual([(x["id"], x["request_id"]) for x in body["_embedded"]["leads"]],
                         [(a, "0"), (b, "bee")])
        for x in body["_embedded"]["leads"]:
            self.assertEqual(list(x), ["id", "updated_at", "request_id", "_links"])
        self.assertEqual(self.sb.get_json("%s/%d" % (LEADS, a))["name"], "A")
        self.assertEqual(self.sb.get_json("%s/%d" % (LEADS, b))["price"], 7)
        self.assertErrors(self.sb.call("PATCH", LEADS, [
            {"name": "no id"}, {"id": "1"}, {"id": b + 100, "name": "x"},
            {"id": b, "status_id": 72000012}]), [
            ("0", [("FieldMissing", "id")]), ("1", [("InvalidType", "id")]),
            ("2", [("NotSupportedChoice", "id")]), ("3", [("NotSupportedChoice", "status_id")])])
        self.assertProblem(self.sb.call("PATCH", LEADS, [{"id": a}] * 251), 422,
                           "Limit 250 per page")
        self.assertProblem(self.sb.call("PATCH", LEADS, []), 400, "Request data can not be empty")


class TestContactsApi(ApiCase):
    def test_add_contacts(self):
        body = self.add(CONTACTS, [
            {"first_name": "Мария", "last_name": "Иванова", "request_id": "m",
             "custom_fields_values": [
                 {"field_code": "PHONE", "values": [{"value": "+79990001122", "enum_code": "MOB"}]},
                 {"field_id": 467702, "values": [{"value": "maria@example.com"}]},
                 {"field_code": "POSITION", "values": [{"value": "CTO"}]},
                 {"field_id": 1709366, "values": [{"value": "Казахстан"}]},
                 {"field_id": 1709364, "values": [{"value": -86400}]}]},
            {"name": "ООО Ромашка", "responsible_user_id": 11000002}])
        self.assertEqual(body["_links"], {"self": {"href": self.base + CONTACTS}})
        m, r = body["_embedded"]["contacts"]
        self.assertEqual((m["request_id"], r["request_id"], r["id"]), ("m", "1", m["id"] + 1))
        self.assertEqual(m["_links"], {"self": {"href": "%s%s/%d" % (self.base, CONTACTS, m["id"])}})
        c = self.sb.get_json("%s/%d" % (CONTACTS, m["id"]))
        self.assertEqual(list(c), CONTACT_GET_KEYS)
        self.assertEqual((c["name"], c["first_name"], c["last_name"], c["is_unsorted"],
                          c["responsible_user_id"], c["created_by"], c["group_id"],
                          c["account_id"], c["is_deleted"]),
                         ("Мария Иванова", "Мария", "Иванова", False, 11000001, 11000001, 0,
                          31000001, False))
        cf = {f["field_code"] or f["field_id"]: f for f in c["custom_fields_values"]}
        self.assertEqual(cf["PHONE"]["values"],
                         [{"value": "+79990001122", "enum_id": 300005, "enum_code": "MOB"}])
        self.assertEqual(cf["PHONE"]["field_type"], "multitext")
        self.assertEqual(cf[1709366]["values"], [{"value": "Казахстан", "enum_id": 902003}])
        self.assertEqual(cf[1709364]["values"], [{"value": -86400}])
        r = self.sb.get_json("%s/%d" % (CONTACTS, r["id"]))
        self.assertEqual((r["name"], r["first_name"], r["last_name"], r["responsible_user_id"],
                          r["custom_fields_values"]), ("ООО Ромашка", "", "", 11000002, None))

    def test_contact_validation(self):
        for name, contact, expected in [
                ("no name at all", {"custom_fields_values": [
                    {"field_code": "PHONE", "values": [{"value": "+7999"}]}]},
                 [("FieldMissing", "name")]),
                ("blank names", {"name": " ", "first_name": ""}, [("FieldMissing", "name")]),
                ("name int", {"name": 5}, [("InvalidType", "name")]),
                ("lead field", {"name": "x", "custom_fields_values": [
                    {"field_code": "UTM_SOURCE", "values": [{"value": "g"}]}]},
                 [("NotSupportedChoice", "custom_fields_values.0.field_code")]),
                ("phone number", {"name": "x", "custom_fields_values": [
                    {"field_code": "PHONE", "values": [{"value": 79991234567}]}]},
                 [("InvalidType", "custom_fields_values.0.values.0.value")]),
                ("phone enum_id unknown", {"name": "x", "custom_fields_values": [
                    {"field_code": "PHONE", "values": [{"value": "1", "enum_id": 901001}]}]},
                 [("NotSupportedChoice", "custom_fields_values.0.values.0.enum_id")]),
                ("created_by", {"name": "x", "created_by": 5}, [("NotSupportedChoice", "created_by")]),
                ("responsible", {"name": "x", "responsible_user_id": 5},
                 [("NotSupportedChoice", "responsible_user_id")])]:
            with self.subTest(name):
                self.assertErrors(self.sb.call("POST", CONTACTS, [contact]), [("0", expected)])
        self.assertEqual(self.sb.control("GET", "entities")[1]["contacts"], [])
        self.assertProblem(self.sb.call("POST", CONTACTS, [{"name": "x"}] * 251), 422)
        self.assertErrors(self.sb.call("POST", CONTACTS, {"name": "x"}),
                          [("0", [("InvalidType", "data")])])

    def test_one_contact_or_lead_by_id(self):
        (lid, cid), = self.forms(item())
        c = self.sb.get_json("%s/%d" % (CONTACTS, cid))
        self.assertEqual((c["id"], c["is_unsorted"]), (cid, True))
        self.assertNotIn("leads", c["_embedded"])
        c = self.sb.get_json("%s/%d?with=leads" % (CONTACTS, cid))
        self.assertEqual(c["_embedded"]["leads"],
                         [{"id": lid, "_links": {"self": {"href": "%s%s/%d" % (self.base, LEADS, lid)}}}])
        lead = self.sb.get_json("%s/%d?with=contacts" % (LEADS, lid))
        self.assertEqual(lead["_embedded"]["contacts"][0]["id"], cid)
        self.assertIs(lead["_embedded"]["contacts"][0]["is_main"], True)
        self.assertNoContent(self.sb.get("%s/%d" % (CONTACTS, cid + 1000)))
        self.assertNoContent(self.sb.get("%s/%d" % (LEADS, lid + 1000)))
        self.assertNoContent(self.sb.get("%s/1" % LEADS))


class TestListsAndSearch(ApiCase):
    def test_forms_entities_in_get_shape(self):
        it = item(pipeline_id=PARTNERS)
        (lid, cid), = self.forms(it)
        lead = self.sb.get_json("%s/%d" % (LEADS, lid))
        self.assertEqual(list(lead), LEAD_GET_KEYS)
        self.assertEqual((lead["name"], lead["price"], lead["pipeline_id"], lead["status_id"],
                          lead["created_at"], lead["created_by"], lead["responsible_user_id"]),
                         ("Заявка", 1000, PARTNERS, 72000011, 1700000000, 0, 11000001))
        utm = [f for f in lead["custom_fields_values"] if f["field_code"] == "UTM_SOURCE"][0]
        self.assertEqual((utm["field_type"], utm["values"]), ("tracking_data", [{"value": "google"}]))
        contact = self.sb.get_json("%s/%d" % (CONTACTS, cid))
        self.assertEqual(list(contact), CONTACT_GET_KEYS)
        self.assertEqual((contact["name"], contact["first_name"], contact["last_name"],
                          contact["is_unsorted"]), ("Иван Петров", "Иван", "Петров", True))
        # the control view: the same, plus what the forms request carried
        _, ents = self.sb.control("GET", "entities")
        stored, = ents["leads"]
        self.assertEqual({k: stored[k] for k in LEAD_GET_KEYS}, lead)
        self.assertEqual((stored["source_uid"], stored["source_name"], stored["request_id"],
                          stored["contacts"], stored["metadata"]["form_id"]),
                         ("uid-1", "kommo-lead", "0", [cid], "csv"))
        self.assertRegex(stored["unsorted_uid"], r"^[0-9a-f]{40}$")
        self.assertEqual(ents["contacts"][0]["leads"], [lid])

    def test_search_by_phone_digits_and_cyrillic_names(self):
        other = item(source_uid="u2")
        other["_embedded"]["contacts"][0].update(name="Ольга Смирнова", first_name="Ольга",
                                                 last_name="Смирнова")
        other["_embedded"]["contacts"][0]["custom_fields_values"] = [
            {"field_code": "PHONE", "values": [{"value": "+7 (912) 555-44-33"}]}]
        (_, ivan), (_, olga) = self.forms(item(), other)
        api = self.add_contact(first_name="Пётр", custom_fields_values=[
            {"field_code": "EMAIL", "values": [{"value": "Petr@Example.COM"}]}])

        def found(query):
            status, _, data = self.sb.get(CONTACTS + "?" + urlencode({"query": query}))
            if status == 204:
                self.assertEqual(data, b"")
                return []
            self.assertEqual(status, 200, data)
            return [c["id"] for c in json.loads(data)["_embedded"]["contacts"]]

        for query, expected in [
                ("+7 999 123-45-67", [ivan]),   # digits of the query inside the phone's
                ("8 999 1234567", []),          # 89991234567 is not in 79991234567
                ("9991234567", [ivan]),
                ("12345", [ivan]),
                ("912-555-4433", [olga]),
                ("79125554433", [olga]),
                ("+79991234567", [ivan]),
                ("иван", [ivan]), ("ПЕТРОВ", [ivan]), ("иВаН пЕт", [ivan]),
                ("смирнова", [olga]), ("ольга", [olga]),
                ("пётр", [api]), ("петр", [ivan]),  # Петров; ё is not е
                ("petr@example.com", [api]), ("@ivan", [ivan]),
                ("  ольга  ", [olga]),
                ("", [ivan, olga, api]), ("   ", [ivan, olga, api]),
                ("нет такого", []), ("00000", [])]:
            with self.subTest(query):
                self.assertEqual(found(query), expected)
        self.assertNoContent(self.sb.get(CONTACTS + "?query=%D0%BD%D0%B5%D1%82"))

    def test_lead_search(self):
        (lid, _), = self.forms(item())
        api = self.add_lead(name="Консультация по ВНЖ", custom_fields_values=[
            {"field_id": 1709446, "values": [{"value": "Португалия"}]},
            {"field_id": 1709444, "values": [{"value": 120000}]}])

        def found(query):
            status, _, data = self.sb.get(LEADS + "?" + urlencode({"query": query}))
            return [] if status == 204 else [x["id"] for x in json.loads(data)["_embedded"]["leads"]]

        self.assertEqual(found("заявка"), [lid])
        self.assertEqual(found("engineer"), [lid])       # a custom field value
        self.assertEqual(found("google"), [lid])         # a tracking field value
        self.assertEqual(found("внж"), [api])
        self.assertEqual(found("португал"), [api])       # a select value
        self.assertEqual(found("120000"), [api])         # a number, as text
        self.assertEqual(found("ничего"), [])
        # order[], filter[] and with are accepted (and ignored but for with)
        body = self.sb.get_json(LEADS + "?with=contacts&order%5Bid%5D=desc&filter%5Bid%5D=1")
        self.assertEqual([x["id"] for x in body["_embedded"]["leads"]], [lid, api])
        self.assertEqual(len(body["_embedded"]["leads"][0]["_embedded"]["contacts"]), 1)
        self.assertEqual(body["_embedded"]["leads"][1]["_embedded"]["contacts"], [])

    def test_nothing_to_list_is_204(self):
        self.assertNoContent(self.sb.get(LEADS))
        self.assertNoContent(self.sb.get(CONTACTS))
        self.assertNoContent(self.sb.get(CONTACTS + "?query=x&page=2"))
        # a 204 has no Content-Length and the connection stays usable
        conn = self.sb.connect()
        try:
            status, headers, _ = self.sb.get(LEADS, conn=conn)
            self.assertEqual((status, headers.get("Content-Length")), (204, None))
            self.assertEqual(self.sb.get("/api/v4/account", conn=conn)[0], 200)
            self.assertEqual(self.sb.get(CONTACTS + "/1", conn=conn)[0], 204)
            self.assertEqual(self.sb.get(PIPELINES, conn=conn)[0], 200)
        finally:
            conn.close()

    def test_paging_over_seeded_contacts(self):
        seed = [{"name": "Контакт %03d" % i, "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": "+7900%07d" % i}]}]} for i in range(300)]
        logged = len(self.sb.log_lines())
        status, body = self.sb.control("POST", "contacts", seed)
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.sb.log_lines()), logged)  # control requests are not logged
        ids = body["ids"]
        self.assertEqual(ids, list(range(ids[0], ids[0] + 300)))
        pages = self.pages(CONTACTS + "?limit=250")
        self.assertEqual([len(p["_embedded"]["contacts"]) for p in pages], [250, 50])
        self.assertEqual([p["_page"] for p in pages], [1, 2])
        self.assertEqual([c["id"] for p in pages for c in p["_embedded"]["contacts"]], ids)
        self.assertEqual(pages[0]["_links"]["next"]["href"],
                         self.base + CONTACTS + "?page=2&limit=250")
        self.assertNoContent(self.sb.get(CONTACTS + "?limit=250&page=3"))
        default = self.pages(CONTACTS)
        self.assertEqual(len(default), 6)
        self.assertEqual(default[-1]["_links"]["self"]["href"],
                         self.base + CONTACTS + "?page=6&limit=50")
        # the query and other parameters stay in the links
        q = self.sb.get_json(CONTACTS + "?query=%D0%9A%D0%BE%D0%BD%D1%82%D0%B0%D0%BA%D1%82+1&limit=40&with=leads")
        self.assertEqual(len(q["_embedded"]["contacts"]), 40)        # Контакт 100..199
        self.assertEqual(q["_links"]["next"]["href"], self.base + CONTACTS +
                         "?query=%D0%9A%D0%BE%D0%BD%D1%82%D0%B0%D0%BA%D1%82+1&with=leads&page=2&limit=40")
        tail = self.pages(CONTACTS + "?query=%D0%9A%D0%BE%D0%BD%D1%82%D0%B0%D0%BA%D1%82+1&limit=40")
        self.assertEqual(sum(len(p["_embedded"]["contacts"]) for p in tail), 100)
        # phone digits over seeded contacts
        found = self.sb.get_json(CONTACTS + "?query=%2B7+900+000-01-23")
        self.assertEqual([c["name"] for c in found["_embedded"]["contacts"]], ["Контакт 123"])

    def test_seeding_leads_and_bad_seeds(self):
        status, body = self.sb.control("POST", "leads", [{"name": "L%d" % i} for i in range(260)])
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["ids"]), 260)
        self.assertEqual([len(p["_embedded"]["leads"]) for p in self.pages(LEADS + "?limit=250")],
                         [250, 10])
        status, body = self.sb.control("POST", "contacts", [{"name": "ok"}, {"first_name": 5}])
        self.assertEqual(status, 400)
        self.assertEqual(body["validation-errors"],
                         [{"request_id": "1", "errors": [
                             {"code": "InvalidType", "path": "first_name",
                              "detail": "This value should be of type string."}]}])
        for bad in ({"name": "x"}, [], "x"):
            with self.subTest(bad):
                self.assertEqual(self.sb.control("POST", "leads", bad)[0], 400)
        self.assertEqual(self.sb.control("GET", "leads")[0], 405)
        self.assertEqual(len(self.sb.control("GET", "entities")[1]["contacts"]), 0)
        self.sb.control("POST", "reset")
        self.assertNoContent(self.sb.get(LEADS))


class TestApiLimitsFaultsLog(unittest.TestCase):
    def test_gets_count_toward_the_rate_limit(self):
        sb = Sandbox()  # default limit: 7 per second
        try:
            paths = ["/api/v4/account", LEAD_FIELDS, PIPELINES, LEADS, CONTACTS,
                     LEADS + "/1", CONTACT_FIELDS, "/api/v4/account"]
            resps = burst(sb, [lambda sb, p=p: sb.get(p) for p in paths] +
                          [lambda sb: sb.call("POST", LEADS, [{"name": "x"}])])
            self.assertEqual([r[0] for r in resps], [200, 200, 200, 204, 204, 204, 200, 429, 429])
            self.assertEqual(json.loads(resps[7][2]), TOO_MANY)
            self.assertEqual(resps[7][1]["Retry-After"], "1")
            time.sleep(1.05)
            self.assertEqual(sb.get("/api/v4/account")[0], 200)
        finally:
            sb.stop()

    def test_faults_apply_to_every_endpoint_and_the_log_has_queries(self):
        sb = Sandbox("--rate-limit", "0", "--faults", "1:503")
        try:
            self.assertEqual(sb.get(LEADS + "?query=x")[0], 503)
            sb.control("POST", "faults", {"faults": ["500", "truncated", "401", "garbage"]})
            self.assertEqual(sb.get(LEAD_FIELDS, token="wrong")[0], 500)
            status, headers, data = sb.get(PIPELINES)
            self.assertEqual((status, headers["Content-Type"]), (200, "application/hal+json"))
            self.assertTrue(data.startswith(b'{"_total_items":2,'))
            with self.assertRaises(ValueError):
                json.loads(data)
            status, _, data = sb.get("/api/v4/account")
            self.assertEqual((status, json.loads(data)), (401, UNAUTHORIZED))
            status, _, data = sb.call("POST", CONTACTS, [{"name": "Garbled"}])
            self.assertEqual((status, data), (200, b"not json at all"))
            # garbage does the work: the contact exists
            body = sb.get_json(CONTACTS + "?query=garbled")
            self.assertEqual(len(body["_embedded"]["contacts"]), 1)
            sb.control("POST", "faults", {"faults": ["reset"]})
            with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
                sb.get(CONTACTS)
            lines = sb.log_lines()
            self.assertEqual([(r["method"], r["path"], r["status"]) for r in lines], [
                ("GET", LEADS + "?query=x", 503), ("GET", LEAD_FIELDS, 500),
                ("GET", PIPELINES, 200), ("GET", "/api/v4/account", 401),
                ("POST", CONTACTS, 200), ("GET", CONTACTS + "?query=garbled", 200),
                ("GET", CONTACTS, None)])
            self.assertEqual(lines[0]["headers"]["authorization"], "Bearer " + TOKEN)
            self.assertEqual(json.loads(lines[4]["body"]), [{"name": "Garbled"}])
        finally:
            sb.stop()


class TestProcess(unittest.TestCase):
    def run_sandbox(self, *args, env=None, timeout=WAIT):
        e = dict(os.environ)
        e.pop("KOMMO_SANDBOX_TOKEN", None)
        e.update(env or {})
        return subprocess.run([sys.executable, str(SANDBOX), *args], env=e, timeout=timeout,
                              capture_output=True, text=True)

    def test_refuses_non_loopback_host_and_bad_options(self):
        for args in (["--host", "0.0.0.0"], ["--host", "10.1.2.3"], ["--host", "example.com"],
                     ["--faults", "x:500"], ["--faults", "1:teapot"],
                     ["--faults", "1:500@/api/v4/account"], ["--tls-key", "key.pem"],
                     ["--tls-cert", "/nonexistent/cert.pem"],
                     ["--extra-field", "deal:1:text"], ["--extra-field", "lead:1:select"],
                     ["--extra-field", "lead:1:bogus"], ["--extra-field", "lead:x:text"]):
            with self.subTest(args):
                r = self.run_sandbox(*args, "--port", "0")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("kommo-sandbox", r.stderr)

    def test_extra_field_types_and_codes(self):
        sb = Sandbox("--rate-limit", "0", "--extra-field", "lead:1709500:text",
                     "--extra-field", "contact:3000001:date", "--extra-field", "lead:467714:text:UTM_X")
        try:
            status, _, data = sb.call("GET", "/api/v4/leads/custom_fields?limit=250", ctype=None)
            lead = {f["id"]: f for f in json.loads(data)["_embedded"]["custom_fields"]}
            self.assertEqual(lead[1709500]["type"], "text")
            self.assertEqual((lead[467714]["type"], lead[467714]["code"]), ("text", "UTM_X"))
            it = item()
            it["_embedded"]["contacts"][0]["custom_fields_values"].append(
                {"field_id": 3000001, "values": [{"value": 631152000}]})
            it["_embedded"]["leads"][0]["custom_fields_values"][3] = {
                "field_code": "UTM_X", "values": [{"value": "google"}]}
            self.assertEqual(sb.post([it])[0], 200)
            self.assertEqual(sb.post([item()])[0], 400)  # UTM_SOURCE is gone
        finally:
            sb.stop()

    def test_port_file_pid_file_and_clean_sigterm_exit(self):
        sb = Sandbox("--host", "localhost")
        try:
            self.assertEqual(sb.port_file.read_text(), "%d\n" % sb.port)
            self.assertEqual(int(sb.pid_file.read_text()), sb.proc.pid)
            self.assertFalse(list(sb.dir.glob("*.tmp*")))
        finally:
            self.assertEqual(sb.stop(), 0)

    def test_sigterm_with_a_hanging_request(self):
        sb = Sandbox("--rate-limit", "0", "--faults", "1:hang")
        hung = sb.connect(timeout=10)
        try:
            hung.request("POST", FORMS, body=b"[]", headers={"Content-Type": "application/json"})
            deadline = time.monotonic() + WAIT
            while not sb.log_file.read_text() and time.monotonic() < deadline:
                time.sleep(0.02)
            # the request hangs until the client closes, which it does only after
            # this: a sandbox that waited for it would not exit
            sb.proc.send_signal(signal.SIGTERM)
            self.assertEqual(sb.proc.wait(WAIT), 0)
        finally:
            hung.close()
            sb.stop()

    def test_token_from_file_and_env(self):
        d = Path(tempfile.mkdtemp())
        try:
            (d / "tok").write_text("from-file\n")
            sb = Sandbox("--token-file", str(d / "tok"), env_token=None)
            try:
                self.assertEqual(sb.post([item()], token="from-file")[0], 200)
                self.assertEqual(sb.post([item()], token="from-file\n".strip() + "x")[0], 401)
            finally:
                sb.stop()
            sb = Sandbox("--token-file", str(d / "tok"), env_token="from-env")
            try:
                self.assertEqual(sb.post([item()], token="from-env")[0], 200)
                self.assertEqual(sb.post([item()], token="from-file")[0], 401)
            finally:
                sb.stop()
            sb = Sandbox(env_token=None)
            try:
                self.assertEqual(sb.post([item()], token="sandbox-token")[0], 200)
            finally:
                sb.stop()
        finally:
            shutil.rmtree(d)


class TestSandboxCtl(unittest.TestCase):
    def ctl(self, *args):
        env = dict(os.environ)
        env.pop("KOMMO_SANDBOX_TOKEN", None)
        return subprocess.run(["bash", str(CTL), *args], env=env, timeout=20,
                              capture_output=True, text=True)

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="sandbox-ctl-test-"))
        self.dir = self.tmp / "sb"

    def tearDown(self):
        self.ctl("stop", str(self.dir))
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_start_request_stop(self):
        r = self.ctl("start", str(self.dir), "--rate-limit", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        port = int((self.dir / "port").read_text())
        self.assertEqual(r.stdout, "http://127.0.0.1:%d\n" % port)
        token_file = self.dir / "token"
        self.assertEqual(token_file.read_text().strip(), "sandbox-token")
        self.assertEqual(stat.S_IMODE(token_file.stat().st_mode), 0o600)
        pid = int((self.dir / "pid").read_text())

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", FORMS, body=json.dumps([item()]),
                     headers={"Authorization": "Bearer sandbox-token",
                              "Content-Type": "application/json"})
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()
        rec, = [json.loads(x) for x in (self.dir / "requests.jsonl").read_text().splitlines()]
        self.assertEqual((rec["path"], rec["status"]), (FORMS, 200))

        again = self.ctl("start", str(self.dir))
        self.assertEqual(again.returncode, 1)
        self.assertIn("already running", again.stderr)

        r = self.ctl("stop", str(self.dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(wait_gone(pid), "sandbox still running after stop")
        self.assertEqual(self.ctl("stop", str(self.dir)).returncode, 0)

    def test_existing_token_is_kept(self):
        self.dir.mkdir()
        (self.dir / "token").write_text("my-own\n")
        r = self.ctl("start", str(self.dir))
        self.assertEqual(r.returncode, 0, r.stderr)
        port = int(re.search(r":(\d+)$", r.stdout.strip()).group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", FORMS, body=json.dumps([item()]),
                     headers={"Authorization": "Bearer my-own", "Content-Type": "application/json"})
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()

    def test_failed_start_shows_log_tail(self):
        r = self.ctl("start", str(self.dir), "--host", "192.0.2.1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a loopback address", r.stderr)

    @unittest.skipUnless(shutil.which("openssl"), "needs the openssl CLI")
    def test_start_with_tls_prints_an_https_url(self):
        certs = make_certs(self.tmp)
        r = self.ctl("start", str(self.dir), "--tls-cert", certs["cert"], "--tls-key", certs["key"])
        self.assertEqual(r.returncode, 0, r.stderr)
        port = int((self.dir / "port").read_text())
        self.assertEqual(r.stdout, "https://127.0.0.1:%d\n" % port)

    def test_stop_without_sandbox_and_usage(self):
        self.assertEqual(self.ctl("stop", str(self.tmp / "never")).returncode, 0)
        self.assertEqual(self.ctl("bogus", str(self.dir)).returncode, 2)


def entity_relative(path):
    """An item-relative path of VALIDATION_CASES as the cf_paths mode "entity"
    writes it: an embedded lead's or contact's custom fields lose the
    "_embedded.leads.0." / "_embedded.contacts.0." before them; the rest stay."""
    return re.sub(r"^_embedded\.(?:leads|contacts)\.0\.(?=custom_fields_values(?:\.|$))", "", path)


class TestErrorPathForms(SandboxCase):
    """Issue 16: every validation rule of unsorted/forms writes its path in each
    form of --error-paths (PATCH /_sandbox/modes): as it is (item), after "data."
    (data), after the item's position in the request (index), or after both; and
    an embedded lead's or contact's custom fields relative to the item or to that
    entity (--cf-paths item|entity), the prefix coming on top of either."""
    PREFIX = {"item": "", "data": "data.", "index": "1.", "data-index": "data.1."}
    CF_PATH = {"item": lambda p: p, "entity": entity_relative}

    def test_every_validation_case_writes_its_path_in_each_form(self):
        try:
            for (form, prefix), (cf, cf_path) in itertools.product(self.PREFIX.items(), self.CF_PATH.items()):
                self.assertEqual(self.sb.control("PATCH", "modes", {"error_paths": form, "cf_paths": cf})[0],
                                 200)
                for name, mutate, expected in VALIDATION_CASES:
                    with self.subTest(form=form, cf_paths=cf, case=name):
                        bad = item(source_uid="uid-2", request_id="r1")
                        mutate(bad)
                        rid = bad["request_id"] if isinstance(bad.get("request_id"), str) else "1"
                        errs = self.errors_of(self.sb.post([item(request_id="r0"), bad]))
                        self.assertEqual([(g["request_id"], [(e["code"], e["path"]) for e in g["errors"]])
                                          for g in errs],
                                         [(rid, [(c, prefix + cf_path(p)) for c, p in expected])])
        finally:
            self.sb.control("POST", "reset")

    def test_entity_cf_paths_do_not_say_lead_or_contact(self):
        """The same unknown field id at 0 in the lead and in the contact: one
        path each by default, the same path twice with cf_paths entity."""
        bad = item()
        bad["_embedded"]["leads"][0]["custom_fields_values"][0]["field_id"] = 999999
        bad["_embedded"]["contacts"][0]["custom_fields_values"][0]["field_id"] = 999999
        bad["_embedded"]["leads"][0]["custom_fields_values"][3]["values"][0]["value"] = "x" * 257
        bad["_embedded"]["leads"][0]["name"] = 5
        try:
            for cf, want in (
                    ("item", [("InvalidType", "data.0._embedded.leads.0.name"),
                              ("NotSupportedChoice", "data.0._embedded.contacts.0.custom_fields_values.0.field_id"),
                              ("NotSupportedChoice", "data.0._embedded.leads.0.custom_fields_values.0.field_id"),
                              ("InvalidLength",
                               "data.0._embedded.leads.0.custom_fields_values.3.values.0.value")]),
                    ("entity", [("InvalidType", "data.0._embedded.leads.0.name"),
                                ("NotSupportedChoice", "data.0.custom_fields_values.0.field_id"),
                                ("NotSupportedChoice", "data.0.custom_fields_values.0.field_id"),
                                ("InvalidLength", "data.0.custom_fields_values.3.values.0.value")])):
                with self.subTest(cf_paths=cf):
                    self.sb.control("PATCH", "modes", {"error_paths": "data-index", "cf_paths": cf})
                    [got] = self.errors_of(self.sb.post([bad]))
                    self.assertEqual(sorted((e["code"], e["path"]) for e in got["errors"]), sorted(want))
        finally:
            self.sb.control("POST", "reset")

    def test_leads_and_contacts_items_are_the_entity_in_both_cf_paths_modes(self):
        unknown = [{"field_id": 999999, "values": [{"value": "x"}]}]
        try:
            for cf in ("item", "entity"):
                self.sb.control("PATCH", "modes", {"error_paths": "index", "cf_paths": cf})
                for path, body in ((LEADS, {"name": "a", "custom_fields_values": unknown}),
                                   (CONTACTS, {"name": "a", "custom_fields_values": unknown})):
                    with self.subTest(cf_paths=cf, path=path):
                        [got] = self.errors_of(self.sb.call("POST", path, [{"name": "b"}, body]))
                        self.assertEqual([(e["code"], e["path"]) for e in got["errors"]],
                                         [("NotSupportedChoice", "1.custom_fields_values.0.field_id")])
        finally:
            self.sb.control("POST", "reset")


def _flat(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flat(t)
        else:
            yield t


def load_tests(loader, tests, pattern):
    """KL_TEST_SHARD=I/N (as ctest runs it): only the I-th of N shards, so that
    N processes share the wall time. A class that shares one sandbox among its
    tests (setUpClass) stays whole, so its sandbox starts once; the tests of
    the others, which start their own, are dealt out one by one."""
    shard = os.environ.get("KL_TEST_SHARD")
    if not shard:
        return tests
    i, n = (int(x) for x in shard.split("/"))
    units = {}  # unit -> its tests, in the loader's order
    for t in _flat(tests):
        cls = type(t)
        shared = cls.setUpClass.__func__ is not unittest.TestCase.setUpClass.__func__
        units.setdefault(cls.__name__ if shared else t.id(), []).append(t)
    mine = unittest.TestSuite()
    for k, unit in enumerate(units.values()):
        if k % n == i - 1:
            mine.addTests(unit)
    return mine


if __name__ == "__main__":
    unittest.main()
