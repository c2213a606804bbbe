#!/usr/bin/env python3
"""End-to-end tests of hostile replies: every command that reads Kommo's
answers (submit, import, check, fields, leads search, contacts search) against
every hostile fault of the sandbox (docs/sandbox.md, Faults): a reply larger
than the 16 MiB cap (plain, and gzipped to 17 KiB), a body that does not
decode, an answer that is not HTTP, JSON nested 100000 deep, ids of the wrong
type or missing, a reply that never comes (hang) and one that trickles a byte
a second (trickle).

Each run must end on its own (within kltest's time limit for a run), not by a
signal, with no sanitizer report (the suite also runs against
an ASan + UBSan build), with the documented exit status (76 Kommo's reply
unreadable, 75 timeout; import: 75, the rows failed) and a message that says
what happened; a submit or import whose request Kommo answered 2xx must say
the lead was probably created, and import must not send it again; submit
looks for the lead among Incoming leads first (those replies are hostile too).

Run by CTest with KL_BIN, KL_SANDBOX_DIR and KL_SOURCE_DIR set.
"""
import json
import re
import unittest

from kltest import FORMS, SLOWDOWN, URL, SandboxTest, load_tests  # noqa: F401 (load_tests: ctest runs shards)

TIMEOUT = ("--timeout", "2")
# Against a reply that never comes any timeout gives the same outcome, and a short one spares
# the suite most of its waiting (a GET is tried 3 times). The 2 s above stays where something
# must arrive in time: trickle's status line, the replies before the one a fault spoils. (Under
# KL_WRAPPER, longer: the slowed client must still get its request out within it.)
HANG_TIMEOUT = ("--timeout", f"{0.3 * SLOWDOWN:g}")
PHONE = "+79991234567"

# name -> (argv, stdin); run_hostile adds the --timeout
COMMANDS = {
    "submit": (("--no-config", "--name", "Ivan", "--phone", PHONE), None),
    "import": (("import", "--no-config", "--max-retries", "1", "-"),
               f"name,phone\nIvan,{PHONE}\n".encode()),
    "check": (("check", "--no-config"), None),
    "fields": (("fields", "--no-config"), None),
    "leads_search": (("leads", "search", "Ivan", "--no-config"), None),
    "contacts_search": (("contacts", "search", "Ivan", "--no-config"), None),
}
# the first request of each command, whose reply the fault spoils
FIRST = {"submit": "forms", "import": "forms", "check": "account", "fields": "pipelines",
         "leads_search": "leads", "contacts_search": "contacts"}

ID_SHAPES = {"letters": "a string that is not a number",
             "negative": "a number that is not a whole number from 1 to 2^53",
             "float": "a number that is not a whole number from 1 to 2^53",
             "object": "an object", "null": "null", "missing": "missing",
             "big": "a number that is not a whole number from 1 to 2^53"}


def expected_message(fault, command):
    """(exit status, a regular expression the message must match)."""
    port = URL.rsplit(":", 1)[1]
    if fault in ("huge", "zipbomb"):
        return 76, r"Kommo answered HTTP 200 with a reply larger than 16 MiB; refusing to read it"
    if fault == "deep":
        return 76, r"reply is nested more than 64 levels deep \(200000 bytes\)"
    if fault == "badgzip":
        return 76, r"Kommo answered HTTP 200, but its reply cannot be read: [^\n]*\w"  # libcurl's words
    if fault == "nothttp":
        return 76, r"Kommo's reply is not HTTP: [^\n]*\w"  # libcurl's words
    if fault == "hang":
        return 75, (rf"no reply from http://127\.0\.0\.1:{port} within the timeout "
                    r"\(Operation timed out after \d+ milliseconds with 0 bytes received\)")
    if fault == "trickle":
        return 75, (r"Kommo answered HTTP 200, but the rest of its reply did not come within the "
                    r"timeout \(Operation timed out after \d+ milliseconds with \d+ out of \d+ bytes received\)")
    how = fault.split("=")[1]
    first = FIRST[command]
    if first == "forms":
        return 76, re.escape("Kommo's reply has no lead id in _embedded.unsorted[0]")
    if first == "account":
        return 76, re.escape("Kommo's reply to GET /api/v4/account has no account id")
    if first == "pipelines":
        return 76, re.escape("Kommo's reply to GET /api/v4/leads/pipelines has an entry without a usable "
                             f"id: _embedded.pipelines[0].id is {ID_SHAPES[how]}")
    kind = "leads" if first == "leads" else "contacts"
    asked = "with=contacts&" if kind == "leads" else ""  # a lead comes with its linked contacts
    return 76, re.escape(f"Kommo's reply to GET /api/v4/{kind}?{asked}query=Ivan&page=1&limit=50 has an entry "
                         f"without a usable id: _embedded.{kind}[0].id is {ID_SHAPES[how]}")


class HostileTest(SandboxTest):
    def setUp(self):
        super().setUp()
        # something for the searches to find, so that their replies carry ids
        self.control("POST", "contacts", [{"name": "Ivan Petrov", "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": PHONE}]}]}])
        self.control("POST", "leads", [{"name": "Ivan lead"}])

    def tearDown(self):
        self.control("DELETE", "faults")  # a fault left over must not meet another suite
        super().tearDown()

    def run_hostile(self, command, *faults):
        argv, stdin = COMMANDS[command]
        argv = (*argv, *(HANG_TIMEOUT if set(faults) == {"hang"} else TIMEOUT))
        self.fault(*faults)
        r = self.kl(*argv, stdin=stdin)
        self.assert_no_crash(r)
        return r

    def assert_no_crash(self, r):
        self.assertGreaterEqual(r.code, 0, f"killed by signal {-r.code}: {r}")
        for report in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer"):
            self.assertNotIn(report, r.err, r)

    def forms_leads(self):
        return [lead for lead in self.control("GET", "entities")["leads"] if "source_uid" in lead]

    def check(self, fault, command):
        # the reply is hostile every time: retries meet it too
        r = self.run_hostile(command, *[fault] * 4)
        code, message = expected_message(fault, command)
        answered_2xx = fault not in ("hang", "nothttp")  # a 2xx status line came
        retried = fault == "hang"  # no answer at all: import sends the rows again
        if command == "import":
            # a row that failed: 75, its reason on stdout
            self.assertEqual(r.code, 75, r)
            self.assertRegex(r.out, r"^row=2 failed: [^\n]*" + message)
            self.assertIn("1 row read: 0 created, 0 rejected, 1 failed", r.err)
            forms = [q for q in self.new_requests() if q["path"] == FORMS]
            if fault.startswith("ids="):  # looked for: there, its ids as hostile as in the reply
                self.assertIn("it is in Kommo's Incoming leads, so it was created, but its ids cannot be "
                              "read there either: do not import it again", r.out)
                self.assertEqual(len(forms), 1, "Kommo answered 2xx: the rows are not sent again")
                self.assertEqual(len(self.forms_leads()), 1)
            elif answered_2xx:
                self.assertIn("so the leads were probably created: look in Incoming leads before "
                              "importing these rows again", r.out)
                self.assertEqual(len(forms), 1, "Kommo answered 2xx: the rows are not sent again")
                self.assertEqual(len(self.forms_leads()), 1)
            else:
                self.assertIn("(possibly duplicated: a request carrying it may have reached Kommo)", r.out)
                self.assertEqual(len(forms), 2 if retried else 1)
                if retried:  # --max-retries 1: sent again, with the same uid
                    self.assertEqual(json.loads(forms[0]["body"])[0]["source_uid"],
                                     json.loads(forms[1]["body"])[0]["source_uid"])
            return
        self.assertEqual(r.code, code, r)
        self.assertEqual(r.out, "")
        self.assertRegex(r.err, r"^kommo-lead: [^\n]*" + message)
        if command == "submit":
            forms = [q for q in self.new_requests() if q["path"] == FORMS]
            self.assertEqual(len(forms), 1)
            uid = json.loads(forms[0]["body"])[0]["source_uid"]
            # the answer was lost: the lead is looked for among Incoming leads, whose
            # replies meet the fault too, and it is never sent again
            lookups = [q for q in self.new_requests() if q["path"].startswith("/api/v4/leads/unsorted?")]
            self.assertGreaterEqual(len(lookups), 1, r)
            if fault.startswith("ids="):  # found there, its ids as hostile as in the reply
                self.assertIn(f"the lead is in Kommo's Incoming leads, so it was created (source_uid {uid}), "
                              "but its ids cannot be read there either", r.err)
                self.assertEqual(len(self.forms_leads()), 1)
            elif answered_2xx:
                self.assertIn("looking for the lead in Kommo's Incoming leads failed: ", r.err)
                self.assertIn(f"Kommo answered 200, so the lead was probably created (source_uid {uid}), "
                              "but its ids cannot be read", r.err)
                self.assertEqual(len(self.forms_leads()), 1)
            else:
                self.assertIn(f"the lead may or may not have been created (source_uid {uid})", r.err)

    # --- faults aimed past the first request -------------------------------------------

    def test_ids_in_the_custom_fields_list_fail_check(self):
        # the account and pipelines are fine; the lead fields' ids are not
        r = self.run_hostile("check", "ids=letters@/api/v4/leads/custom_fields")
        self.assertEqual(r.code, 76, r)
        self.assertRegex(r.err, "^kommo-lead: " + re.escape(
            "Kommo's reply to GET /api/v4/leads/custom_fields?page=1&limit=250 has an entry without a "
            "usable id: _embedded.custom_fields[0].id is a string that is not a number") + "\n$")

    def test_a_huge_second_page_fails_fields(self):
        self.control("POST", "fields", {"entity": "lead", "count": 250})  # two pages of lead fields
        r = self.run_hostile("fields", "slow=0@/api/v4/leads/custom_fields",
                             "huge@/api/v4/leads/custom_fields")
        self.assertEqual(r.code, 76, r)
        self.assertEqual(r.out, "")
        pages = [q["path"] for q in self.new_requests() if "custom_fields" in q["path"]]
        self.assertEqual(pages, ["/api/v4/leads/custom_fields?page=1&limit=250",
                                 "/api/v4/leads/custom_fields?page=2&limit=250"])
        self.assertEqual(r.err, "kommo-lead: Kommo answered HTTP 200 with a reply larger than 16 MiB; "
                                "refusing to read it\n")

    def test_a_deep_pipelines_reply_fails_leads_search(self):
        # the search is fine; the pipelines it fetches for names are not
        r = self.run_hostile("leads_search", "deep@/api/v4/leads/pipelines")
        self.assertEqual(r.code, 76, r)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err, "kommo-lead: Kommo answered GET /api/v4/leads/pipelines with 200, but the reply "
                                "is nested more than 64 levels deep (200000 bytes)\n")

    def test_skip_existing_with_a_hostile_search_sends_nothing(self):
        for fault, code in (("huge", 76), ("trickle", 75)):
            with self.subTest(fault):
                # every search attempt meets it (a GET is tried 3 times)
                self.fault(*[f"{fault}@/api/v4/contacts"] * 3)
                r = self.kl(*COMMANDS["submit"][0], *TIMEOUT, "--skip-existing")
                self.control("DELETE", "faults")
                self.assert_no_crash(r)
                self.assertEqual(r.code, code, r)
                self.assertEqual(r.out, "")
                self.assertIn("searching Kommo's contacts for this lead failed, so nothing was sent "
                              "(--skip-existing)", r.err)
                self.assertEqual([q for q in self.new_requests() if q["path"] == FORMS], [])


def _make(fault, command):
    def test(self):
        self.check(fault, command)
    test.__name__ = "test_" + re.sub(r"\W", "_", fault) + "_" + command
    return test


for _fault in ("huge", "zipbomb", "badgzip", "nothttp", "deep", *[f"ids={how}" for how in ID_SHAPES], "hang", "trickle"):
    for _command in COMMANDS:
        _t = _make(_fault, _command)
        setattr(HostileTest, _t.__name__, _t)


if __name__ == "__main__":
    unittest.main(verbosity=2)
