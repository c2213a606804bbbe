#!/usr/bin/env python3
"""End-to-end tests of the two CRM workflows of the README's "Workflows":
scripts/examples/qualify.sh and inquiry.sh, run as they are by /bin/sh with
kommo-lead configured the ordinary way (a config file), against the sandbox.
Each test checks the requests the sandbox received and what it then holds:
the lead linked to the right contact, and its status updated."""
import json
import os
import subprocess
import unittest
import urllib.parse

from kltest import BIN, FORMS, SOURCE, TOKEN, SandboxTest

EXAMPLES = os.path.join(SOURCE, "scripts", "examples")
QUALIFIED = 72000003  # "Консультация назначена" in the sandbox's main pipeline
LEADS, CONTACTS = "/api/v4/leads", "/api/v4/contacts"


class WorkflowTest(SandboxTest):
    def setUp(self):
        super().setUp()
        self.cfg = self.write("config.env", f"KOMMO_BASE_URL={self.url}\nKOMMO_API_TOKEN={TOKEN}\n")

    def script(self, name, *args, env=None):
        """Runs scripts/examples/NAME with sh, as a user would: kommo-lead by
        KOMMO_LEAD, its configuration by KOMMO_LEAD_CONFIG, nothing else of ours."""
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home, "LANG": "C.UTF-8",
             "KOMMO_LEAD": BIN, "KOMMO_LEAD_CONFIG": self.cfg, "STATUS": str(QUALIFIED)}
        e.update(env or {})
        p = subprocess.run(["sh", os.path.join(EXAMPLES, name), *args], env=e, capture_output=True,
                           timeout=120, text=True)
        p.code, p.out, p.err = p.returncode, p.stdout, p.stderr
        return p

    def entities(self):
        ents = self.control("GET", "entities")
        return {x["id"]: x for x in ents["leads"]}, {x["id"]: x for x in ents["contacts"]}

    def calls(self):
        return [(q["method"], urllib.parse.unquote(q["path"])) for q in self.new_requests()]

    def body_of(self, method, path):
        got = [json.loads(q["body"]) for q in self.new_requests() if (q["method"], q["path"]) == (method, path)]
        self.assertEqual(len(got), 1, self.calls())
        return got[0]

    def assert_linked_and_qualified(self, lid, cid):
        """What the sandbox holds, and what leads search --json shows of it."""
        leads, contacts = self.entities()
        self.assertEqual(leads[lid]["contacts"], [cid])
        self.assertIn(lid, contacts[cid]["leads"])
        self.assertEqual(leads[lid]["status_id"], QUALIFIED)
        r = self.kl("leads", "search", "--config", self.cfg, leads[lid]["name"], "--json")
        self.assertEqual(r.code, 0, r)
        found, = [x for x in json.loads(r.out) if x["id"] == lid]
        self.assertEqual((found["status_id"], found["contacts"]), (QUALIFIED, [{"id": cid, "is_main": True}]))

    # --- qualify.sh -------------------------------------------------------------------------

    def test_qualify_adds_a_new_person_links_the_lead_moves_it_and_lists_their_leads(self):
        p = self.script("qualify.sh", "Иван Петров", "+7 999 123-45-67", "ivan@example.com")
        self.assertEqual(p.code, 0, p)
        leads, contacts = self.entities()
        (cid, contact), = contacts.items()
        (lid, lead), = leads.items()
        self.assertEqual((contact["name"], lead["name"]), ("Иван Петров", "Qualification: Иван Петров"))
        calls = self.calls()
        self.assertEqual([m for m, _ in calls], ["GET", "POST", "POST", "PATCH", "GET", "GET"], calls)
        self.assertEqual(calls[0], ("GET", f"{CONTACTS}?query=9991234567&page=1&limit=250"))
        self.assertEqual(self.body_of("POST", CONTACTS), [{"name": "Иван Петров", "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": "+79991234567"}]},
            {"field_code": "EMAIL", "values": [{"value": "ivan@example.com"}]}]}])
        # linked in the creating request, as Kommo's "Add leads" documents it
        self.assertEqual(self.body_of("POST", LEADS), [{"name": "Qualification: Иван Петров",
                                                        "_embedded": {"contacts": [{"id": cid}]}}])
        self.assertEqual(self.body_of("PATCH", f"{LEADS}/{lid}"), {"status_id": QUALIFIED})
        self.assertEqual(calls[4][1], f"{LEADS}?with=contacts&query=Иван Петров&page=1&limit=50")
        # the related leads, each with its contacts
        self.assertRegex(p.out, r"^ID +NAME +PRICE +PIPELINE +STATUS +CONTACTS\n"
                                rf"{lid} +Qualification: Иван Петров +0 +Воронка +Консультация назначена +{cid}\n$")
        self.assert_linked_and_qualified(lid, cid)

    def test_qualify_links_the_contact_that_holds_the_phone_not_a_looser_match(self):
        # listed first by Kommo's loose search: its number holds the digits searched for
        self.control("POST", "contacts", [{"name": "Другой", "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": "+7 (999) 123-45-670"}]}]}])
        decoy = max(self.entities()[1])
        r = self.kl("--config", self.cfg, "--name", "Анна", "--phone", "89991234567", "--phone-region", "RU")
        self.assertEqual(r.code, 0, r)
        anna = max(self.entities()[1])
        self.assertNotEqual(anna, decoy)
        self.seen = len(self.recorded())
        p = self.script("qualify.sh", "Анна", "+7 999 123 45 67")
        self.assertEqual(p.code, 0, p)
        self.assertNotIn(("POST", CONTACTS), self.calls())  # she is known: no contact is added
        leads, _ = self.entities()
        lid = max(leads)
        self.assertEqual(self.body_of("POST", LEADS)[0]["_embedded"], {"contacts": [{"id": anna}]})
        self.assert_linked_and_qualified(lid, anna)
        # her earlier lead (from submit) is listed with the new one
        self.assertEqual(len([ln for ln in p.out.splitlines()[1:] if f" {anna}" in ln]), 2, p.out)

    def test_qualify_stops_at_an_error_and_creates_nothing(self):
        self.fault("401")
        p = self.script("qualify.sh", "Иван", "+79991234567")
        self.assertEqual(p.code, 77, p)
        self.assertIn("Kommo refused the API token", p.err)
        self.assertEqual(self.calls(), [("GET", f"{CONTACTS}?query=9991234567&page=1&limit=250")])
        self.assertEqual(self.entities(), ({}, {}))
        p = self.script("qualify.sh", "Иван", env={"STATUS": ""})
        self.assertNotEqual(p.code, 0, p)  # sh's ${STATUS:?}: the script says what it needs
        self.assertIn("set STATUS", p.err)

    # --- inquiry.sh -------------------------------------------------------------------------

    def test_inquiry_from_a_known_email_gets_a_lead_linked_to_that_contact(self):
        r = self.kl("contacts", "create", "--config", self.cfg, "--name", "Ольга", "--email", "olga@example.com")
        self.assertEqual(r.code, 0, r)
        cid = int(r.out.strip().split("=")[1])
        self.seen = len(self.recorded())
        p = self.script("inquiry.sh", "Olga@Example.com", "Ольга")
        self.assertEqual(p.code, 0, p)
        leads, _ = self.entities()
        (lid, lead), = leads.items()
        self.assertEqual(p.out, f"lead_id={lid} contact_id={cid}\n")
        self.assertEqual(self.calls(), [("GET", f"{CONTACTS}?query=Olga@Example.com&page=1&limit=250"),
                                        ("POST", LEADS), ("PATCH", f"{LEADS}/{lid}")])
        self.assertEqual(self.body_of("POST", LEADS), [{"name": "Inquiry: Ольга",
                                                        "_embedded": {"contacts": [{"id": cid}]}}])
        self.assert_linked_and_qualified(lid, cid)

    def test_inquiry_falls_back_to_the_phone_when_no_contact_holds_the_email(self):
        r = self.kl("contacts", "create", "--config", self.cfg, "--name", "Борис", "--phone", "+79165554433")
        cid = int(r.out.strip().split("=")[1])
        self.seen = len(self.recorded())
        p = self.script("inquiry.sh", env={"EMAIL": "boris@new.example", "PHONE": "+7 916 555-44-33",
                                           "NAME": "Борис"})
        self.assertEqual(p.code, 0, p)
        leads, _ = self.entities()
        (lid, _), = leads.items()
        self.assertEqual(p.out, f"lead_id={lid} contact_id={cid}\n")
        self.assertEqual([path for _, path in self.calls()[:2]],
                         [f"{CONTACTS}?query=boris@new.example&page=1&limit=250",
                          f"{CONTACTS}?query=9165554433&page=1&limit=250"])
        self.assert_linked_and_qualified(lid, cid)

    def test_inquiry_from_someone_new_goes_to_incoming_leads_and_is_not_changed(self):
        p = self.script("inquiry.sh", "+7 912 000-11-22", "Пётр")
        self.assertEqual(p.code, 0, p)
        leads, contacts = self.entities()
        (lid, lead), = leads.items()
        (cid, _), = contacts.items()
        self.assertEqual(p.out, f"lead_id={lid} contact_id={cid}\n")
        self.assertEqual([m for m, path in self.calls() if not path.startswith(CONTACTS + "?")], ["POST"])
        self.assertEqual(self.new_requests()[-1]["path"], FORMS)
        self.assertEqual(lead["status_id"], 72000001)  # Incoming leads, left for a manager
        self.assertEqual(lead["contacts"], [cid])


if __name__ == "__main__":
    unittest.main()
