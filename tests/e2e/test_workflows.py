#!/usr/bin/env python3
"""End-to-end tests of the two CRM workflows of the README's "Workflows":
scripts/examples/qualify.sh and inquiry.sh, run as they are by /bin/sh with
kommo-lead on the PATH and configured the ordinary way (a config file),
against the sandbox, one step at a time as a user runs them: the lead is
created, and later moved on by a run of its own.

Each test checks the requests the sandbox received in each run (the creating
POST carries the contact link and the starting stage, no PATCH follows it in
the same run; the later run sends only the PATCH with the status) and what
the sandbox then holds: the lead linked to the right contact, its status
updated, and leads search --json showing both."""
import json
import os
import re
import subprocess
import unittest
import urllib.parse

from kltest import BIN, FORMS, SOURCE, TOKEN, SandboxTest

EXAMPLES = os.path.join(SOURCE, "scripts", "examples")
FIRST = 72000002      # "Первичный контакт": the main pipeline's first stage
QUALIFIED = 72000003  # "Консультация назначена"
INCOMING = 72000001
LEADS, CONTACTS = "/api/v4/leads", "/api/v4/contacts"


class WorkflowTest(SandboxTest):
    def setUp(self):
        super().setUp()
        self.cfg = self.write("config.env", f"KOMMO_BASE_URL={self.url}\nKOMMO_API_TOKEN={TOKEN}\n")
        # kommo-lead on the PATH, under its own name, as an installed one is
        self.bin = os.path.join(self.tmp.name, "bin")
        os.mkdir(self.bin)
        os.symlink(BIN, os.path.join(self.bin, "kommo-lead"))

    def script(self, name, *args, env=None):
        """Runs scripts/examples/NAME with sh, as a user would: kommo-lead on the PATH,
        its configuration by KOMMO_LEAD_CONFIG, nothing else of ours. Returns the run,
        with the requests it sent (method, decoded path, body) as p.sent."""
        e = {"PATH": self.bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
             "LANG": "C.UTF-8", "KOMMO_LEAD_CONFIG": self.cfg}
        e.update(env or {})
        self.seen = len(self.recorded())
        p = subprocess.run(["sh", os.path.join(EXAMPLES, name), *args], env=e, capture_output=True,
                           timeout=120, text=True)
        p.code, p.out, p.err = p.returncode, p.stdout, p.stderr
        p.sent = [(q["method"], urllib.parse.unquote(q["path"]), q["body"] and json.loads(q["body"]))
                  for q in self.new_requests()]
        return p

    def entities(self):
        ents = self.control("GET", "entities")
        return {x["id"]: x for x in ents["leads"]}, {x["id"]: x for x in ents["contacts"]}

    def ids(self, p):
        """lead_id=L contact_id=C, the whole of a creating run's stdout."""
        m = re.fullmatch(r"lead_id=(\d+) contact_id=(\d+)\n", p.out)
        self.assertTrue(m, p)
        return int(m.group(1)), int(m.group(2))

    def assert_created_only(self, p, lid, cid, status=None):
        """The creating run: its one POST /api/v4/leads carries the link (and the stage
        when given), and no request changes a lead after it."""
        posts = [i for i, (m, path, _) in enumerate(p.sent) if (m, path) == ("POST", LEADS)]
        self.assertEqual(len(posts), 1, p.sent)
        body = p.sent[posts[0]][2]
        self.assertEqual(body[0]["_embedded"], {"contacts": [{"id": cid}]})
        self.assertEqual(body[0].get("status_id"), status)
        self.assertEqual(p.sent[posts[0] + 1:], [], "nothing follows the create in the run that made it")
        self.assertNotIn("PATCH", [m for m, _, _ in p.sent])
        lead = self.entities()[0][lid]
        self.assertEqual((lead["contacts"], lead["status_id"]), ([cid], status or FIRST))

    def assert_moved(self, p, lid):
        """The later run: one PATCH of that lead with the status, nothing else."""
        self.assertEqual(p.code, 0, p)
        self.assertEqual(p.sent, [("PATCH", f"{LEADS}/{lid}", {"status_id": QUALIFIED})])
        self.assertRegex(p.out, rf"^lead_id={lid} updated_at=\d+\n$")

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

    def test_qualify_adds_a_new_person_opens_a_linked_lead_later_moves_it_and_lists_their_leads(self):
        p = self.script("qualify.sh", "open", "Иван Петров", "+7 999 123-45-67", "ivan@example.com",
                        env={"STATUS": str(FIRST)})
        self.assertEqual(p.code, 0, p)
        self.assertEqual(p.err, 'kommo-lead: no contact matches "+7 999 123-45-67"\n')  # as README shows
        lid, cid = self.ids(p)
        leads, contacts = self.entities()
        self.assertEqual((list(leads), list(contacts)), ([lid], [cid]))
        self.assertEqual((contacts[cid]["name"], leads[lid]["name"]), ("Иван Петров", "Qualification: Иван Петров"))
        self.assertEqual(p.sent, [
            ("GET", f"{CONTACTS}?query=9991234567&page=1&limit=250", ""),
            ("POST", CONTACTS, [{"name": "Иван Петров", "custom_fields_values": [
                {"field_code": "PHONE", "values": [{"value": "+79991234567"}]},
                {"field_code": "EMAIL", "values": [{"value": "ivan@example.com"}]}]}]),
            # linked and staged in the creating request, as Kommo's "Add leads" documents it
            ("POST", LEADS, [{"name": "Qualification: Иван Петров", "status_id": FIRST,
                              "_embedded": {"contacts": [{"id": cid}]}}])])
        self.assert_created_only(p, lid, cid, FIRST)

        self.assert_moved(self.script("qualify.sh", "move", str(lid), str(QUALIFIED)), lid)

        p = self.script("qualify.sh", "related", "Иван Петров")
        self.assertEqual(p.code, 0, p)
        self.assertEqual(p.sent[0][:2], ("GET", f"{LEADS}?with=contacts&query=Иван Петров&page=1&limit=50"))
        self.assertNotIn("PATCH", [m for m, _, _ in p.sent])
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
        p = self.script("qualify.sh", "open", "Анна", "+7 999 123 45 67")
        self.assertEqual(p.code, 0, p)
        lid, cid = self.ids(p)
        self.assertEqual(cid, anna)
        # she is known: no contact is added; no STATUS: Kommo's first stage
        self.assertEqual([m for m, _, _ in p.sent], ["GET", "POST"], p.sent)
        self.assert_created_only(p, lid, anna)
        self.assert_moved(self.script("qualify.sh", "move", str(lid), str(QUALIFIED)), lid)
        self.assert_linked_and_qualified(lid, anna)
        # her earlier lead (from submit) is listed with the new one
        p = self.script("qualify.sh", "related", "Анна")
        self.assertEqual(len([ln for ln in p.out.splitlines()[1:] if f" {anna}" in ln]), 2, p.out)

    def test_qualify_stops_at_an_error_and_creates_nothing(self):
        self.fault("401")
        p = self.script("qualify.sh", "open", "Иван", "+79991234567")
        self.assertEqual(p.code, 77, p)
        self.assertIn("Kommo refused the API token", p.err)
        self.assertEqual(p.sent, [("GET", f"{CONTACTS}?query=9991234567&page=1&limit=250", "")])
        self.assertEqual(self.entities(), ({}, {}))
        for args in [(), ("open", "Иван"), ("move", "8876820"), ("related",), ("close", "1")]:
            p = self.script("qualify.sh", *args)
            self.assertEqual((p.code, p.sent), (64, []), p)
            self.assertIn("usage: qualify.sh open NAME PHONE [EMAIL] | move LEAD STATUS | related NAME", p.err)

    def test_qualify_refuses_a_phone_that_is_none_before_anything_is_sent(self):
        # Иван's number holds 12345 and 1234: a loose search would link the lead to him
        self.control("POST", "contacts", [{"name": "Иван", "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": "+79991234567"}]}]}])
        before = self.entities()
        for phone, n in (("12345", 5), ("1234", 4)):
            p = self.script("qualify.sh", "open", "Bad", phone)
            self.assertEqual((p.code, p.out, p.sent), (65, "", []), p)
            self.assertEqual(p.err, f'kommo-lead: --phone: "{phone}" has {n} digits; a phone number has 7 to 15, '
                                    "e.g. +79991234567\n")
        self.assertEqual(self.entities(), before)

    # --- inquiry.sh -------------------------------------------------------------------------

    def olga(self):
        r = self.kl("contacts", "create", "--config", self.cfg, "--name", "Ольга", "--email", "olga@example.com")
        self.assertEqual(r.code, 0, r)
        return int(r.out.strip().split("=")[1])

    def test_inquiry_from_a_known_email_gets_a_linked_lead_qualified_later(self):
        cid = self.olga()
        p = self.script("inquiry.sh", "Olga@Example.com", "Ольга")
        self.assertEqual(p.code, 0, p)
        lid, linked = self.ids(p)
        self.assertEqual(linked, cid)
        self.assertEqual(p.sent, [("GET", f"{CONTACTS}?query=Olga@Example.com&page=1&limit=250", ""),
                                  ("POST", LEADS, [{"name": "Inquiry: Ольга",
                                                    "_embedded": {"contacts": [{"id": cid}]}}])])
        self.assert_created_only(p, lid, cid)
        self.assert_moved(self.script("inquiry.sh", "qualify", str(lid), str(QUALIFIED)), lid)
        self.assert_linked_and_qualified(lid, cid)

    def test_inquiry_falls_back_to_the_phone_and_starts_in_the_stage_given(self):
        r = self.kl("contacts", "create", "--config", self.cfg, "--name", "Борис", "--phone", "+79165554433")
        cid = int(r.out.strip().split("=")[1])
        p = self.script("inquiry.sh", env={"EMAIL": "boris@new.example", "PHONE": "+7 916 555-44-33",
                                           "NAME": "Борис", "STATUS": str(FIRST)})
        self.assertEqual(p.code, 0, p)
        lid, linked = self.ids(p)
        self.assertEqual(linked, cid)
        self.assertEqual([path for _, path, _ in p.sent[:2]],
                         [f"{CONTACTS}?query=boris@new.example&page=1&limit=250",
                          f"{CONTACTS}?query=9165554433&page=1&limit=250"])
        self.assert_created_only(p, lid, cid, FIRST)
        self.assert_moved(self.script("inquiry.sh", "qualify", str(lid), str(QUALIFIED)), lid)
        self.assert_linked_and_qualified(lid, cid)

    def test_inquiry_without_a_name_goes_by_the_email_or_phone(self):
        cid = self.olga()
        p = self.script("inquiry.sh", "olga@example.com")  # known: the lead is named by the email
        self.assertEqual(p.code, 0, p)
        self.assertEqual(p.sent[-1][1:], (LEADS, [{"name": "Inquiry: olga@example.com",
                                                   "_embedded": {"contacts": [{"id": cid}]}}]))
        p = self.script("inquiry.sh", "boris@new.example")  # unknown: submit, the contact named so
        self.assertEqual(p.code, 0, p)
        lid, new = self.ids(p)
        self.assertEqual(p.sent[-1][:2], ("POST", FORMS))
        self.assertEqual(p.sent[-1][2][0]["_embedded"]["contacts"][0]["name"], "boris@new.example")
        leads, contacts = self.entities()
        self.assertEqual((leads[lid]["contacts"], contacts[new]["name"]), ([new], "boris@new.example"))

    def test_inquiry_from_someone_new_goes_to_incoming_leads_and_is_not_changed(self):
        p = self.script("inquiry.sh", "+7 912 000-11-22", "Пётр")
        self.assertEqual(p.code, 0, p)
        lid, cid = self.ids(p)
        leads, contacts = self.entities()
        self.assertEqual((list(leads), list(contacts)), ([lid], [cid]))
        self.assertEqual([(m, path) for m, path, _ in p.sent],
                         [("GET", f"{CONTACTS}?query=9120001122&page=1&limit=250"), ("POST", FORMS)])
        self.assertEqual(leads[lid]["status_id"], INCOMING)  # left for a manager
        self.assertEqual(leads[lid]["contacts"], [cid])

    def test_inquiry_refuses_what_is_no_phone_before_anything_is_sent(self):
        self.control("POST", "contacts", [{"name": "Иван Петров", "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": "+79991234567"}]}]}])
        before = self.entities()
        for args, why in (((("1234", "Someone")), '"1234" has 4 digits; a phone number has 7 to 15, e.g. +79991234567'),
                          (("Иван",), '"Иван" is not a phone number')):
            p = self.script("inquiry.sh", *args)
            self.assertEqual((p.code, p.out, p.sent), (65, "", []), p)
            self.assertTrue(p.err.startswith(f"kommo-lead: --phone: {why}"), p.err)
        self.assertEqual(self.entities(), before)

    def test_inquiry_links_only_the_contact_with_that_email_in_any_case(self):
        cid = self.olga()
        self.control("POST", "contacts", [{"name": "Другая", "custom_fields_values": [
            {"field_code": "EMAIL", "values": [{"value": "OLGA@EXAMPLE.COM.evil"}]}]}])
        p = self.script("inquiry.sh", "OLGA@example.COM")
        self.assertEqual(p.code, 0, p)
        self.assertEqual(self.ids(p)[1], cid)
        p = self.script("inquiry.sh", "lga@example.com")  # a part of Olga's: someone new
        self.assertEqual(p.code, 0, p)
        self.assertEqual(p.sent[-1][:2], ("POST", FORMS))
        self.assertNotIn(self.ids(p)[1], (cid,))

    def test_inquiry_usage_errors_send_nothing(self):
        for args in [(), ("qualify", "8876820")]:
            p = self.script("inquiry.sh", *args)
            self.assertEqual((p.code, p.sent), (64, []), p)
            self.assertIn("usage: inquiry.sh ", p.err)

    # --- README -----------------------------------------------------------------------------

    def test_the_readme_quotes_the_scripts_as_they_are(self):
        """Every ```sh block of README's "Workflows" is a piece of the script named
        before it, whole lines exactly as they are in the file."""
        with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        section = readme.split("\n## Workflows\n", 1)[1].split("\n## ", 1)[0]
        seen = set()
        for m in re.finditer(r"scripts/examples/(\w+\.sh)|```sh\n(.*?)```", section, re.S):
            if m.group(1):
                name = m.group(1)
                continue
            with open(os.path.join(EXAMPLES, name), encoding="utf-8") as f:
                self.assertIn("\n" + m.group(2), f.read(), f"README's block is not in {name} as it is")
            seen.add(name)
        self.assertEqual(seen, {"qualify.sh", "inquiry.sh"})


if __name__ == "__main__":
    unittest.main()
