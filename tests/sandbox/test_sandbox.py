#!/usr/bin/env python3
"""Self-tests of scripts/kommo-sandbox and scripts/sandbox-ctl.

Run from the repository root:  python3 tests/sandbox/test_sandbox.py -v
Every class starts its own sandbox on an ephemeral loopback port.
"""

import base64
import copy
import http.client
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "scripts" / "kommo-sandbox"
CTL = ROOT / "scripts" / "sandbox-ctl"
TOKEN = "test-token-7f3a"
FORMS = "/api/v4/leads/unsorted/forms"

UNAUTHORIZED = {"title": "Unauthorized", "type": "https://httpstatus.es/401",
                "status": 401, "detail": "Invalid user name or password"}
TOO_MANY = {"title": "Too Many Requests", "type": "https://httpstatus.es/429",
            "status": 429, "detail": "Too many requests", "retry_after": 1}


def wait_for_file(path, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError("%s did not appear" % path)


def wait_gone(pid, timeout=5.0):
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
            self.port = int(wait_for_file(self.port_file))
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

    def connect(self, timeout=5):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def call(self, method, path, body=None, token=TOKEN, ctype="application/json",
             headers=None, timeout=5, conn=None):
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
     [("InvalidType", "custom_fields_values")]),
    ("cfv entry not object", setp(C + "custom_fields_values.1", 5),
     [("InvalidType", "custom_fields_values.1")]),
    ("lead field on contact", setp(C + "custom_fields_values.2.field_id", 488804),
     [("NotSupportedChoice", "custom_fields_values.2.field_id")]),
    ("contact code on lead", setp(L + "custom_fields_values.3.field_code", "PHONE"),
     [("NotSupportedChoice", "custom_fields_values.3.field_code")]),
    ("unknown field_code", setp(C + "custom_fields_values.1.field_code", "TELEGRAM"),
     [("NotSupportedChoice", "custom_fields_values.1.field_code")]),
    ("field_id string", setp(C + "custom_fields_values.0.field_id", "467700"),
     [("InvalidType", "custom_fields_values.0.field_id")]),
    ("no field_id nor code", delp(L + "custom_fields_values.0.field_id"),
     [("FieldMissing", "custom_fields_values.0.field_id")]),
    ("values missing", delp(L + "custom_fields_values.1.values"),
     [("FieldMissing", "custom_fields_values.1.values")]),
    ("values empty", setp(L + "custom_fields_values.1.values", []),
     [("InvalidLength", "custom_fields_values.1.values")]),
    ("values not array", setp(L + "custom_fields_values.1.values", "MSc"),
     [("InvalidType", "custom_fields_values.1.values")]),
    ("value missing", setp(L + "custom_fields_values.1.values.0", {"val": "x"}),
     [("FieldMissing", "custom_fields_values.1.values.0.value")]),
    ("text value number", setp(C + "custom_fields_values.2.values.0.value", 42),
     [("InvalidType", "custom_fields_values.2.values.0.value")]),
    ("multitext value number", setp(C + "custom_fields_values.0.values.0.value", 79991234567),
     [("InvalidType", "custom_fields_values.0.values.0.value")]),
    ("numeric value string", setp(L + "custom_fields_values.2.values.0.value", "50000"),
     [("InvalidType", "custom_fields_values.2.values.0.value")]),
    ("numeric value bool", setp(L + "custom_fields_values.2.values.0.value", True),
     [("InvalidType", "custom_fields_values.2.values.0.value")]),
    ("text value too long", setp(L + "custom_fields_values.3.values.0.value", "x" * 257),
     [("InvalidLength", "custom_fields_values.3.values.0.value")]),
    ("enum_code on text field", setp(C + "custom_fields_values.2.values.0.enum_code", "WORK"),
     [("NotSupportedChoice", "custom_fields_values.2.values.0.enum_code")]),
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

    def test_wrong_method_and_unknown_path(self):
        for method, path in [("GET", FORMS), ("PATCH", FORMS), ("DELETE", FORMS),
                             ("POST", "/api/v4/leads/unsorted")]:
            with self.subTest(method + " " + path):
                resp = self.sb.call(method, path, [item()])
                body = self.assertProblem(resp, 405)
                self.assertEqual(body["title"], "Method Not Allowed")
        for path in ("/api/v4/leads", "/api/v4/leads/complex", "/nope", FORMS + "/"):
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


class TestRateLimit(unittest.TestCase):
    def burst(self, sb, n):
        return [sb.post([item(source_uid="r%d" % i)]) for i in range(n)]

    def test_eighth_request_in_a_second_is_429(self):
        sb = Sandbox()  # default limit: 7 per second
        try:
            t0 = time.monotonic()
            resps = self.burst(sb, 8)
            self.assertLess(time.monotonic() - t0, 0.9, "burst too slow to test the limit")
            self.assertEqual([r[0] for r in resps[:7]], [200] * 7)
            status, headers, data = resps[7]
            self.assertEqual(status, 429)
            self.assertEqual(headers["Content-Type"], "application/problem+json")
            self.assertEqual(headers["Retry-After"], "1")
            self.assertEqual(json.loads(data), TOO_MANY)
            self.assertEqual([r["status"] for r in sb.log_lines()], [200] * 7 + [429])
            time.sleep(1.05)
            self.assertEqual(sb.post([item()])[0], 200)
        finally:
            sb.stop()

    def test_html_429_and_custom_limit(self):
        sb = Sandbox("--rate-limit", "2", "--rate-limit-html")
        try:
            resps = self.burst(sb, 3)
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
            self.assertEqual([r[0] for r in self.burst(sb, 15)], [200] * 15)
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
            self.assertEqual(self.sb.post([item()], timeout=2)[0], 200)
        finally:
            hung.close()
        statuses = [r["status"] for r in self.sb.log_lines()[-2:]]
        self.assertEqual(statuses, [None, 200])


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
        lines = self.sb.log_lines()
        self.assertEqual([r["seq"] for r in lines], list(range(1, len(lines) + 1)))
        self.assertEqual([r["status"] for r in lines[-2:]], [401, 404])
        status, recs = self.sb.control("GET", "requests")
        self.assertEqual(status, 200)
        self.assertEqual(recs, lines)
        self.assertFalse(any(r["path"].startswith("/_sandbox") for r in recs))


class TestProcess(unittest.TestCase):
    def run_sandbox(self, *args, env=None, timeout=5):
        e = dict(os.environ)
        e.pop("KOMMO_SANDBOX_TOKEN", None)
        e.update(env or {})
        return subprocess.run([sys.executable, str(SANDBOX), *args], env=e, timeout=timeout,
                              capture_output=True, text=True)

    def test_refuses_non_loopback_host_and_bad_options(self):
        for args in (["--host", "0.0.0.0"], ["--host", "10.1.2.3"], ["--host", "example.com"],
                     ["--faults", "x:500"], ["--faults", "1:teapot"],
                     ["--extra-field", "deal:1:text"], ["--extra-field", "lead:1:date"]):
            with self.subTest(args):
                r = self.run_sandbox(*args, "--port", "0")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("kommo-sandbox", r.stderr)

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
            deadline = time.monotonic() + 3
            while not sb.log_file.read_text() and time.monotonic() < deadline:
                time.sleep(0.02)
            t0 = time.monotonic()
            sb.proc.send_signal(signal.SIGTERM)
            self.assertEqual(sb.proc.wait(3), 0)
            self.assertLess(time.monotonic() - t0, 2.5)
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

    def test_stop_without_sandbox_and_usage(self):
        self.assertEqual(self.ctl("stop", str(self.tmp / "never")).returncode, 0)
        self.assertEqual(self.ctl("bogus", str(self.dir)).returncode, 2)


if __name__ == "__main__":
    unittest.main()
