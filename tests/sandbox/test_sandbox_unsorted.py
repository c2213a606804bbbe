#!/usr/bin/env python3
"""Self-tests of scripts/kommo-sandbox: the Incoming leads list, the faults in
which Kommo acted but the answer was lost (drop, cut, late), the forms reply
modes, the validation-error path forms, batch timing (answer time that grows
with the batch, 504 above a size) and a 429 whose wait is only in its header.

Run from the repository root:  python3 tests/sandbox/test_sandbox_unsorted.py -v
One sandbox serves every class (each test resets it), so the file runs in
seconds.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "scripts" / "kommo-sandbox"
TOKEN = "test-token-unsorted"
FORMS = "/api/v4/leads/unsorted/forms"
UNSORTED = "/api/v4/leads/unsorted"
MAIN, PARTNERS = 12984871, 12984999
WAIT = 10.0  # seconds a polled condition may take on a loaded machine before the test fails
DEFAULT_MODES = {"forms_reply": "echo", "error_paths": "item", "cf_paths": "item", "forms_base_ms": 0,
                 "forms_ms_per_item": 0, "forms_max_batch": None}


def poll(what, cond):
    """cond() until it is true; fails after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


class Sandbox:
    """One kommo-sandbox process on an ephemeral loopback port."""

    def __init__(self, *args):
        self.dir = Path(tempfile.mkdtemp(prefix="kommo-sandbox-unsorted-"))
        port_file = self.dir / "port"
        env = dict(os.environ, KOMMO_SANDBOX_TOKEN=TOKEN)
        self.err = open(self.dir / "stderr", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(SANDBOX), "--port-file", str(port_file), "--rate-limit", "0",
             *args], env=env, stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err)
        try:
            text = poll("the port file", lambda: port_file.exists() and port_file.read_text())
            self.port = int(poll("the port", lambda: text.endswith("\n") and text))
        except AssertionError:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, timeout=WAIT):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def call(self, method, path, body=None, token=TOKEN, conn=None, timeout=WAIT):
        """(status, headers, raw body); conn keeps the connection for the caller."""
        h = {}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            h["Content-Type"] = "application/json"
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        c = conn or self.connect(timeout)
        try:
            c.request(method, path, body=body, headers=h)
            resp = c.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            if conn is None:
                c.close()

    def post(self, items, **kw):
        return self.call("POST", FORMS, items, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def control(self, method, name, body=None):
        status, _, data = self.call(method, "/_sandbox/" + name, body, token=None)
        return status, json.loads(data)


def item(n, **top):
    it = {"source_uid": "src-%d" % n, "source_name": "kommo-lead", "pipeline_id": MAIN,
          "created_at": 1700000000 + n, "request_id": "r%d" % n,
          "metadata": {"form_id": "csv", "form_name": "Import", "form_sent_at": 1700000000 + n},
          "_embedded": {"contacts": [{"first_name": "Иван %d" % n}],
                        "leads": [{"name": "Заявка %d" % n}]}}
    it.update(top)
    return it


class Case(unittest.TestCase):
    sb = None

    @classmethod
    def setUpClass(cls):
        if Case.sb is None:
            Case.sb = Sandbox()

    def setUp(self):
        self.assertEqual(self.sb.control("POST", "reset")[0], 200)

    def created(self, items):
        status, _, data = self.sb.post(items)
        self.assertEqual(status, 200, data)
        return json.loads(data)["_embedded"]["unsorted"]

    def listing(self, query="", status=200):
        code, headers, data = self.sb.get(UNSORTED + query)
        self.assertEqual(code, status, data)
        if status == 204:
            self.assertEqual(data, b"")
            return None
        if status == 200:
            self.assertEqual(headers["Content-Type"], "application/hal+json")
        return json.loads(data)

    def source_uids(self, query=""):
        body = self.listing(query)
        return [u["source_uid"] for u in body["_embedded"]["unsorted"]] if body else []

    def entities(self):
        return self.sb.control("GET", "entities")[1]


class TestUnsortedList(Case):
    def test_every_forms_lead_is_listed_as_kommo_documents_it(self):
        made = self.created([item(1), item(2, pipeline_id=PARTNERS)])
        body = self.listing()
        self.assertEqual(list(body), ["_page", "_links", "_embedded"])
        self.assertEqual(body["_page"], 1)
        base = "http://127.0.0.1:%d" % self.sb.port
        self.assertNotIn("next", body["_links"])
        got = body["_embedded"]["unsorted"]
        self.assertEqual([u["uid"] for u in got], [u["uid"] for u in made])
        first = got[0]
        self.assertEqual(list(first), ["uid", "source_uid", "source_name", "category",
                                       "pipeline_id", "created_at", "metadata", "account_id",
                                       "_links", "_embedded"])
        self.assertEqual((first["source_uid"], first["source_name"], first["category"],
                          first["pipeline_id"], first["created_at"], first["account_id"]),
                         ("src-1", "kommo-lead", "forms", MAIN, 1700000001, 31000001))
        self.assertEqual(first["metadata"], item(1)["metadata"])
        self.assertEqual(first["_links"], {"self": {"href": base + UNSORTED + "/" + first["uid"]}})
        lead_id = made[0]["_embedded"]["leads"][0]["id"]
        contact_id = made[0]["_embedded"]["contacts"][0]["id"]
        self.assertEqual(first["_embedded"], {
            "contacts": [{"id": contact_id,
                          "_links": {"self": {"href": base + "/api/v4/contacts/%d" % contact_id}}}],
            "leads": [{"id": lead_id,
                       "_links": {"self": {"href": base + "/api/v4/leads/%d" % lead_id}}}],
            "companies": []})
        self.assertEqual(got[1]["pipeline_id"], PARTNERS)

    def test_nothing_to_list_is_204(self):
        self.listing(status=204)
        self.created([item(1)])
        self.listing("?filter[uid]=nope", status=204)
        self.listing("?page=2", status=204)

    def test_needs_the_token(self):
        self.assertEqual(self.sb.get(UNSORTED, token="wrong")[0], 401)
        self.assertEqual(self.sb.get(UNSORTED + "/abc", token=None)[0], 401)
        self.assertEqual(self.sb.call("POST", UNSORTED, [item(1)])[0], 405)

    def test_pages_follow_next_until_the_last(self):
        self.created([item(n) for n in range(5)])
        body = self.listing("?limit=2&filter[category][]=forms")
        seen = []
        while True:
            seen += [u["source_uid"] for u in body["_embedded"]["unsorted"]]
            nxt = body["_links"].get("next")
            if nxt is None:
                break
            self.assertIn("filter%5Bcategory%5D%5B%5D=forms", nxt["href"])
            body = self.listing(nxt["href"].split(UNSORTED, 1)[1])
        self.assertEqual(seen, ["src-%d" % n for n in range(5)])
        self.assertEqual(body["_page"], 3)
        self.assertEqual(len(self.listing("?limit=250")["_embedded"]["unsorted"]), 5)

    def test_bad_parameters_are_400(self):
        for q in ("?limit=251", "?limit=0", "?page=0", "?page=x", "?filter[category][]=calls",
                  "?filter[pipeline_id]=main", "?order[created_at]=up", "?order[name]=asc"):
            with self.subTest(q):
                body = self.listing(q, status=400)
                self.assertEqual(body["status"], 400)

    def test_filters(self):
        made = self.created([item(1), item(2, pipeline_id=PARTNERS), item(3)])
        uids = [u["uid"] for u in made]
        self.assertEqual(self.source_uids("?filter[uid]=" + uids[1]), ["src-2"])
        self.assertEqual(self.source_uids("?filter[uid][]=%s&filter[uid][]=%s" % (uids[0], uids[2])),
                         ["src-1", "src-3"])
        self.assertEqual(self.source_uids("?filter[uid][0]=%s&filter[uid][1]=%s" % (uids[2], uids[1])),
                         ["src-2", "src-3"])
        self.assertEqual(self.source_uids("?filter[pipeline_id]=%d" % PARTNERS), ["src-2"])
        self.assertEqual(self.source_uids("?filter[pipeline_id]=%d" % MAIN), ["src-1", "src-3"])
        self.assertEqual(self.source_uids("?filter[category][]=forms&filter[category][]=sip"),
                         ["src-1", "src-2", "src-3"])
        self.listing("?filter[category][]=sip", status=204)
        self.listing("?filter[category]=chats", status=204)

    def test_order(self):
        # created_at as sent: item 1 is the newest, item 3 the oldest
        self.created([item(1, created_at=1700000300), item(2, created_at=1700000200),
                      item(3, created_at=1700000100)])
        self.assertEqual(self.source_uids(), ["src-1", "src-2", "src-3"])
        self.assertEqual(self.source_uids("?order[created_at]=asc"), ["src-3", "src-2", "src-1"])
        self.assertEqual(self.source_uids("?order[created_at]=desc"), ["src-1", "src-2", "src-3"])
        self.assertEqual(self.source_uids("?order[id]=desc"), ["src-3", "src-2", "src-1"])
        self.assertEqual(self.source_uids("?order[id]=asc"), ["src-1", "src-2", "src-3"])
        # one request: one updated_at, so the creation order breaks the tie
        self.assertEqual(self.source_uids("?order[updated_at]=desc"), ["src-1", "src-2", "src-3"])
        body = self.listing("?order[created_at]=asc&limit=2")
        self.assertIn("order%5Bcreated_at%5D=asc", body["_links"]["next"]["href"])

    def test_one_by_uid(self):
        made = self.created([item(1), item(2)])
        uid = made[1]["uid"]
        code, headers, data = self.sb.get(UNSORTED + "/" + uid)
        self.assertEqual((code, headers["Content-Type"]), (200, "application/hal+json"))
        one = json.loads(data)
        self.assertEqual(one, self.listing("?filter[uid]=" + uid)["_embedded"]["unsorted"][0])
        self.assertEqual(one["source_uid"], "src-2")
        self.assertEqual(self.sb.get(UNSORTED + "/" + "0" * 40)[:3:2], (204, b""))

    def test_accept_and_decline_take_it_off_the_list(self):
        made = self.created([item(1), item(2), item(3)])
        uids = [u["uid"] for u in made]
        status, rec = self.sb.control("POST", "unsorted/%s/accept" % uids[0])
        self.assertEqual((status, rec["state"]), (200, "accepted"))
        status, rec = self.sb.control("POST", "unsorted/%s/decline" % uids[2])
        self.assertEqual((status, rec["state"]), (200, "declined"))
        self.assertEqual(self.source_uids(), ["src-2"])
        self.assertEqual(self.sb.get(UNSORTED + "/" + uids[0])[0], 204)
        self.assertEqual(self.sb.control("POST", "unsorted/%s/accept" % uids[0])[0], 409)
        self.assertEqual(self.sb.control("POST", "unsorted/nope/decline")[0], 404)
        self.assertEqual(self.sb.control("GET", "unsorted/%s/accept" % uids[1])[0], 405)
        leads = {x["id"]: x for x in self.entities()["leads"]}
        accepted = leads[made[0]["_embedded"]["leads"][0]["id"]]
        declined = leads[made[2]["_embedded"]["leads"][0]["id"]]
        waiting = leads[made[1]["_embedded"]["leads"][0]["id"]]
        self.assertEqual((accepted["status_id"], declined["status_id"], waiting["status_id"]),
                         (72000002, 143, 72000001))
        states = {r["uid"]: r["state"] for r in self.sb.control("GET", "unsorted")[1]}
        self.assertEqual(states, {uids[0]: "accepted", uids[1]: "new", uids[2]: "declined"})

    def test_reset_forgets_incoming_leads(self):
        self.created([item(1)])
        self.sb.control("POST", "reset")
        self.listing(status=204)
        self.assertEqual(self.sb.control("GET", "unsorted")[1], [])


class TestCarriedOutFaults(Case):
    def queue(self, *faults):
        status, body = self.sb.control("POST", "faults", {"faults": list(faults)})
        self.assertEqual(status, 200, body)
        return body["faults"]

    def lead_count(self):
        return len(self.entities()["leads"])

    def test_connections_are_kept_alive(self):
        conn = self.sb.connect()
        try:
            for n in range(3):
                status, headers, _ = self.sb.post([item(n)], conn=conn)
                self.assertEqual(status, 200)
                self.assertIsNone(headers.get("Connection"))
            local = conn.sock.getsockname()
            self.assertEqual(self.sb.get(UNSORTED, conn=conn)[0], 200)
            self.assertEqual(conn.sock.getsockname(), local)
        finally:
            conn.close()

    def test_drop_on_a_reused_connection_after_carrying_it_out(self):
        self.assertEqual(self.queue("drop@" + FORMS), ["drop=rst@" + FORMS])
        conn = self.sb.connect()
        try:
            # the search first, as submit --skip-existing does: the POST then reuses the connection
            self.assertEqual(self.sb.get(UNSORTED, conn=conn)[0], 204)
            with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
                self.sb.post([item(1), item(2)], conn=conn)
        finally:
            conn.close()
        self.assertEqual(self.source_uids(), ["src-1", "src-2"])
        recs = self.sb.control("GET", "requests")[1]
        self.assertEqual((recs[-2]["path"], recs[-2]["status"]), (FORMS, None))

    def test_drop_fin_closes_without_a_reply(self):
        self.queue("drop=fin")
        with self.assertRaises(http.client.RemoteDisconnected):
            self.sb.post([item(1)])
        self.assertEqual(self.source_uids(), ["src-1"])

    def test_cut_promises_the_whole_body_and_sends_half(self):
        self.queue("cut")
        conn = self.sb.connect()
        try:
            conn.request("POST", FORMS, body=json.dumps([item(1)]),
                         headers={"Authorization": "Bearer " + TOKEN,
                                  "Content-Type": "application/json"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            length = int(resp.headers["Content-Length"])
            with self.assertRaises(http.client.IncompleteRead) as cm:
                resp.read()
            self.assertEqual(len(cm.exception.partial), length // 2)
            self.assertTrue(cm.exception.partial.startswith(b'{"_total_items":1,'))
        finally:
            conn.close()
        self.assertEqual(self.source_uids(), ["src-1"])
        self.assertEqual(self.sb.control("GET", "requests")[1][-1]["status"], 200)

    def test_late_is_carried_out_before_the_client_gives_up(self):
        self.queue("late=60")
        with self.assertRaises((TimeoutError, socket.timeout)):
            self.sb.post([item(1)], timeout=0.5)
        # carried out at arrival, while the answer still waits
        poll("the late lead", lambda: self.source_uids() == ["src-1"])
        self.assertEqual(self.lead_count(), 1)

    def test_slow_is_carried_out_after_its_wait(self):
        self.queue("slow=0.2")
        status, _, data = self.sb.post([item(1)])
        self.assertEqual(status, 200)
        self.assertEqual(self.source_uids(), ["src-1"])

    def test_reset_carries_out_nothing(self):
        self.queue("reset")
        with self.assertRaises((ConnectionError, http.client.RemoteDisconnected)):
            self.sb.post([item(1)])
        self.listing(status=204)

    def test_fault_arguments(self):
        self.assertEqual(self.queue("late=0.5", "drop=fin", "reply=numbered", "cut"),
                         ["late=0.5", "drop=fin", "reply=numbered", "cut"])
        self.sb.control("DELETE", "faults")
        for bad in ("late", "late=x", "drop=both", "reply", "reply=sorted", "cut=1"):
            with self.subTest(bad):
                status, body = self.sb.control("POST", "faults", {"faults": [bad]})
                self.assertEqual(status, 400)
                self.assertIn("error", body)


class TestFormsReplyModes(Case):
    ITEMS = [item(n, request_id="row-%d" % n) for n in range(5)]

    def reply(self):
        status, _, data = self.sb.post(self.ITEMS)
        self.assertEqual(status, 200, data)
        return json.loads(data)

    def made(self):
        """source_uid -> lead id, from the sandbox's own record."""
        return {x["source_uid"]: x["id"] for x in self.entities()["leads"]}

    def check(self, body, rids, sources):
        got = body["_embedded"]["unsorted"]
        self.assertEqual(body["_total_items"], len(got))
        self.assertEqual([u.get("request_id") for u in got], rids)
        made = self.made()
        self.assertEqual(len(made), 5)  # every item created, whatever the reply lists
        self.assertEqual([u["_embedded"]["leads"][0]["id"] for u in got],
                         [made["src-%d" % n] for n in sources])

    def set_mode(self, **modes):
        status, body = self.sb.control("PATCH", "modes", modes)
        self.assertEqual(status, 200, body)
        return body

    def test_echo_is_the_default(self):
        self.assertEqual(self.sb.control("GET", "modes")[1], DEFAULT_MODES)
        self.check(self.reply(), ["row-%d" % n for n in range(5)], range(5))

    def test_numbered(self):
        self.set_mode(forms_reply="numbered")
        self.check(self.reply(), ["0", "1", "2", "3", "4"], range(5))

    def test_reversed(self):
        self.set_mode(forms_reply="reversed")
        self.check(self.reply(), ["row-%d" % n for n in (4, 3, 2, 1, 0)], (4, 3, 2, 1, 0))

    def test_norid(self):
        self.set_mode(forms_reply="norid")
        body = self.reply()
        self.check(body, [None] * 5, range(5))
        self.assertTrue(all("request_id" not in u for u in body["_embedded"]["unsorted"]))

    def test_drop_leaves_items_out_of_the_reply_only(self):
        self.set_mode(forms_reply="drop")
        self.check(self.reply(), ["row-1", "row-2", "row-4"], (1, 2, 4))
        self.assertEqual(len(self.source_uids()), 5)

    def test_reply_fault_is_one_answer_only(self):
        self.sb.control("POST", "faults", {"faults": ["reply=reversed@" + FORMS]})
        self.assertEqual(self.sb.get(UNSORTED)[0], 204)  # another path passes the fault by
        self.check(self.reply(), ["row-%d" % n for n in (4, 3, 2, 1, 0)], (4, 3, 2, 1, 0))
        body = json.loads(self.sb.post([item(9)])[2])
        self.assertEqual(body["_embedded"]["unsorted"][0]["request_id"], "r9")

    def test_bad_modes_and_reset(self):
        for bad in ({"forms_reply": "sorted"}, {"error_paths": "json"}, {"cf_paths": "field"},
                    {"speed": 1}, [1]):
            with self.subTest(bad):
                self.assertEqual(self.sb.control("PATCH", "modes", bad)[0], 400)
        self.assertEqual(self.sb.control("DELETE", "modes")[0], 405)
        self.set_mode(forms_reply="numbered", error_paths="data", cf_paths="entity")
        self.sb.control("POST", "reset")
        self.assertEqual(self.sb.control("GET", "modes")[1], DEFAULT_MODES)


class TestErrorPaths(Case):
    EXPECTED = {"item": "_embedded.leads.0.name",
                "data": "data._embedded.leads.0.name",
                "index": "2._embedded.leads.0.name",
                "data-index": "data.2._embedded.leads.0.name"}

    def refused(self, path, items):
        status, _, data = self.sb.call("POST", path, items)
        self.assertEqual(status, 400, data)
        return json.loads(data)["validation-errors"]

    def test_forms_paths_in_each_form(self):
        bad = item(2)
        bad["_embedded"]["leads"][0]["name"] = 5
        for form, want in self.EXPECTED.items():
            with self.subTest(form):
                self.sb.control("PATCH", "modes", {"error_paths": form})
                errs = self.refused(FORMS, [item(0), item(1), bad])
                self.assertEqual(errs, [{"request_id": "r2", "errors": [
                    {"code": "InvalidType", "path": want,
                     "detail": "This value should be of type string."}]}])
        self.listing(status=204)

    def test_leads_and_contacts_paths(self):
        cases = [("/api/v4/leads", [{"name": "a"}, {"price": "x"}], "price"),
                 ("/api/v4/contacts", [{"name": "a"}, {"name": 1}], "name")]
        for form, prefix in (("item", ""), ("data", "data."), ("index", "1."),
                             ("data-index", "data.1.")):
            self.sb.control("PATCH", "modes", {"error_paths": form})
            for path, items, key in cases:
                with self.subTest(form=form, path=path):
                    errs = self.refused(path, items)
                    self.assertEqual([e["path"] for e in errs[0]["errors"]], [prefix + key])

    def test_a_non_object_item_has_the_bare_prefix(self):
        self.sb.control("PATCH", "modes", {"error_paths": "data-index"})
        errs = self.refused(FORMS, [item(0), "x"])
        self.assertEqual(errs[0]["errors"][0]["path"], "data.1")


class TestBatchTiming(Case):
    def set_mode(self, **modes):
        status, body = self.sb.control("PATCH", "modes", modes)
        self.assertEqual(status, 200, body)
        return body

    def timed_post(self, items):
        start = time.monotonic()
        status, _, data = self.sb.post(items)
        return status, data, time.monotonic() - start

    def test_a_batch_over_the_limit_is_504_and_carries_out_nothing(self):
        self.assertEqual(self.set_mode(forms_max_batch=3)["forms_max_batch"], 3)
        status, headers, data = self.sb.post([item(n) for n in range(4)])
        self.assertEqual(status, 504)
        self.assertEqual(headers["Content-Type"], "text/html")
        self.assertIn(b"504 Gateway Time-out", data)
        self.assertEqual(self.sb.control("GET", "requests")[1][-1]["status"], 504)
        self.listing(status=204)
        self.assertEqual(self.entities()["leads"], [])
        self.assertEqual(len(self.created([item(n) for n in range(3)])), 3)
        self.set_mode(forms_max_batch=None)
        self.assertEqual(len(self.created([item(n) for n in range(10, 14)])), 4)
        self.assertEqual(len(self.source_uids()), 7)

    def test_the_limit_is_for_unsorted_forms_only(self):
        self.set_mode(forms_max_batch=1)
        status, _, data = self.sb.call("POST", "/api/v4/leads", [{"name": "a"}, {"name": "b"}])
        self.assertEqual(status, 200, data)

    def test_answer_time_grows_with_the_batch(self):
        # lower bounds only: a wait can run long on a loaded machine, never short
        self.set_mode(forms_base_ms=100, forms_ms_per_item=40)
        for n in (1, 8):
            with self.subTest(items=n):
                status, data, took = self.timed_post([item(k) for k in range(n)])
                self.assertEqual(status, 200, data)
                self.assertGreaterEqual(took, (100 + 40 * n) / 1000.0)
        self.assertEqual(len(self.source_uids()), 9)  # carried out after the wait

    def test_bad_values_are_400_and_reset_restores_them(self):
        for bad in ({"forms_base_ms": -1}, {"forms_base_ms": "5"}, {"forms_base_ms": True},
                    {"forms_ms_per_item": 60001}, {"forms_max_batch": 0},
                    {"forms_max_batch": 2.5}, {"forms_max_batch": "3"}):
            with self.subTest(bad):
                status, body = self.sb.control("PATCH", "modes", bad)
                self.assertEqual(status, 400)
                self.assertIn(next(iter(bad)), body["error"])
        self.set_mode(forms_base_ms=5, forms_ms_per_item=0.5, forms_max_batch=7)
        self.sb.control("POST", "reset")
        self.assertEqual(self.sb.control("GET", "modes")[1], DEFAULT_MODES)


class TestRetryAfterInTheHeaderOnly(Case):
    def test_429hdr_says_the_wait_only_in_its_header(self):
        status, body = self.sb.control("POST", "faults", {"faults": ["429hdr=7@" + FORMS]})
        self.assertEqual((status, body["faults"]), (200, ["429hdr=7@" + FORMS]))
        status, headers, data = self.sb.post([item(1)])
        self.assertEqual(status, 429)
        self.assertEqual(headers["Retry-After"], "7")
        self.assertEqual(headers["Content-Type"], "application/problem+json")
        self.assertEqual(json.loads(data), {"title": "Too Many Requests",
                                            "type": "https://httpstatus.es/429",
                                            "status": 429, "detail": "Too many requests"})
        self.listing(status=204)  # nothing carried out
        self.assertEqual(self.sb.post([item(2)])[0], 200)  # one answer only

    def test_429hdr_arguments(self):
        for bad in ("429hdr", "429hdr=", "429hdr=x", "429hdr=-1", "429hdr=1.5", "429hdr=3601"):
            with self.subTest(bad):
                status, body = self.sb.control("POST", "faults", {"faults": [bad]})
                self.assertEqual(status, 400)
                self.assertIn("429hdr", body["error"])
        self.assertEqual(self.sb.control("GET", "faults")[1]["faults"], [])


class TestCommandLine(unittest.TestCase):
    def test_modes_from_the_command_line(self):
        sb = Sandbox("--forms-reply", "numbered", "--error-paths", "data-index",
                     "--cf-paths", "entity")
        try:
            self.assertEqual(sb.control("GET", "modes")[1],
                             {**DEFAULT_MODES, "forms_reply": "numbered",
                              "error_paths": "data-index", "cf_paths": "entity"})
            sb.control("POST", "reset")  # the command line's modes are the defaults
            self.assertEqual(sb.control("GET", "modes")[1]["forms_reply"], "numbered")
        finally:
            sb.stop()

    def test_help_names_every_new_fault_and_mode(self):
        out = subprocess.run([sys.executable, str(SANDBOX), "--help"], capture_output=True,
                             text=True, timeout=WAIT, check=True).stdout
        for word in ("late=SECONDS", "drop[=rst|fin]", "cut ", "reply=HOW", "numbered",
                     "reversed", "norid", "data-index", "--forms-reply", "--error-paths",
                     "/_sandbox/unsorted/UID/accept", "429hdr=N", "--forms-ms-per-item",
                     "--forms-base-ms", "--forms-max-batch", "forms_max_batch",
                     "--cf-paths", "cf_paths"):
            self.assertIn(word, out)

    def test_batch_timing_from_the_command_line(self):
        sb = Sandbox("--forms-max-batch", "2", "--forms-ms-per-item", "1.5",
                     "--forms-base-ms", "3", "--faults", "1:429hdr=0")
        try:
            self.assertEqual(sb.control("GET", "modes")[1],
                             {**DEFAULT_MODES, "forms_base_ms": 3.0, "forms_ms_per_item": 1.5,
                              "forms_max_batch": 2})
            status, headers, _ = sb.post([item(1)])
            self.assertEqual((status, headers["Retry-After"]), (429, "0"))
            self.assertEqual(sb.post([item(1), item(2), item(3)])[0], 504)
            self.assertEqual(sb.post([item(1), item(2)])[0], 200)
            # a client that gives up first times out; this sandbox of its own is
            # stopped below, so the answer still waiting spills into no other test
            sb.control("PATCH", "modes", {"forms_ms_per_item": 2000})
            with self.assertRaises((TimeoutError, socket.timeout)):
                sb.post([item(3), item(4)], timeout=0.3)
        finally:
            sb.stop()
        for args, said in ((["--forms-max-batch", "0"], "--forms-max-batch"),
                           (["--forms-base-ms", "-5"], "--forms-base-ms"),
                           (["--forms-ms-per-item", "x"], "--forms-ms-per-item"),
                           (["--faults", "1:429hdr=x"], "429hdr")):
            with self.subTest(args):
                r = subprocess.run([sys.executable, str(SANDBOX), *args], capture_output=True,
                                   text=True, timeout=WAIT)
                self.assertEqual(r.returncode, 2)
                self.assertIn(said, r.stderr)

    def test_bad_mode_on_the_command_line(self):
        r = subprocess.run([sys.executable, str(SANDBOX), "--forms-reply", "sorted"],
                           capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--forms-reply", r.stderr)


def tearDownModule():
    if Case.sb is not None:
        Case.sb.stop()


if __name__ == "__main__":
    unittest.main()
