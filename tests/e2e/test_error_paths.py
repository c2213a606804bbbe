#!/usr/bin/env python3
"""End-to-end tests of issue 16: Kommo's validation errors are named by the
flag or column that gave the refused value, whatever form their paths take.

The sandbox writes its paths in each form Kommo has been seen to use
(PATCH /_sandbox/modes {"error_paths": FORM}): relative to the item (item),
with a leading "data." (data), with the item's position in the request
(index), or both (data-index). An Incoming lead's custom-field paths are
relative to the item ("_embedded.leads.0.custom_fields_values...", as Kommo's
examples show) or to the embedded lead or contact ("custom_fields_values...",
which does not say which of the two) as {"cf_paths": "item"|"entity"} says.
Each refusal case (an unknown field id, text too long, a wrong type, a bad
pipeline) runs in every form, for submit and for import under both cf_paths
modes, and for the crm commands (whose items are the lead or contact)."""
import json
import os
import unittest

from kltest import EXAMPLE_CONFIG, FORMS, SandboxTest, control, load_tests  # noqa: F401

PATH_FORMS = ("item", "data", "index", "data-index")
CF_PATHS = ("item", "entity")
MODES = [(form, cf) for cf in CF_PATHS for form in PATH_FORMS]
CHOICE = "The value you selected is not a valid choice."
TOO_LONG = "This value is too long. It should have 256 characters or less."
LONG = "Карьера " + "x" * 292  # 300 characters: over the sandbox's 256
# what a refused id adds to its name: what the account lacks, and where to look
NO_FIELD = "the account has no lead field 999999; kommo-lead fields lists them"
NO_PIPELINE = "the account has no pipeline 5; kommo-lead fields lists the pipelines"


def prefix(form, index):
    """What the sandbox puts before a path in form `form`, for the item at `index`."""
    return {"item": "", "data": "data.", "index": f"{index}.", "data-index": f"data.{index}."}[form]


def in_lead(cf):
    """What the sandbox puts between the prefix and a custom field's path in
    the Incoming lead's lead, under cf_paths mode `cf`."""
    return "_embedded.leads.0." if cf == "item" else ""


def items(req):
    return json.loads(req["body"])


class ErrorPathsTest(SandboxTest):
    def in_form(self, form, cf="item"):
        """The sandbox writes its paths in form `form`, an Incoming lead's custom
        fields' as cf_paths `cf` says, from now on; the requests are read from here."""
        self.control("PATCH", "modes", {"error_paths": form, "cf_paths": cf})
        self.seen = len(self.recorded())

    def refused_once(self):
        """The one request sent, answered 400: its only item."""
        req = self.only_request()
        self.assertEqual((req["path"], req["status"]), (FORMS, 400))
        [item] = items(req)
        return item

    # --- submit ------------------------------------------------------------------------

    def test_submit_an_unknown_field_id_names_the_field_flag_in_every_form(self):
        for form, cf in MODES:
            with self.subTest(form=form, cf_paths=cf):
                self.in_form(form, cf)
                r = self.kl("submit", "--no-config", "--name", "Анна", "--phone", "+79990001601",
                            "--field", "lead:999999=x")
                self.assertEqual(r.code, 65, r)
                lead = self.refused_once()["_embedded"]["leads"][0]
                self.assertEqual(lead["custom_fields_values"], [{"field_id": 999999, "values": [{"value": "x"}]}])
                # the contact's phone goes by field code, so only the lead has a field_id at 0
                self.assertIn(f"NotSupportedChoice at {prefix(form, 0)}{in_lead(cf)}custom_fields_values.0.field_id "
                              f"(--field lead:999999: {NO_FIELD}): {CHOICE}", r.err)
                # with the phone's field id configured, the contact's field 0 has a field_id too:
                # a path from the item names the lead's alone; one from the entity does not say
                # lead or contact, so both are named
                self.seen = len(self.recorded())
                r = self.kl("submit", "--config", EXAMPLE_CONFIG, "--name", "Анна", "--phone", "+79990001601",
                            "--field", "lead:999999=x")
                self.assertEqual(r.code, 65, r)
                contact = self.refused_once()["_embedded"]["contacts"][0]
                self.assertEqual(contact["custom_fields_values"][0]["field_id"], 467700)
                named = (f"--field lead:999999: {NO_FIELD}" if cf == "item" else
                         "--field lead:999999 or --phone (field 467700): the account has no lead field 999999 "
                         "or no contact field 467700; kommo-lead fields lists them")
                self.assertIn(f"NotSupportedChoice at {prefix(form, 0)}{in_lead(cf)}custom_fields_values.0.field_id "
                              f"({named}): {CHOICE}", r.err)

    def test_submit_text_too_long_names_the_flag_and_not_the_short_phone(self):
        for form, cf in MODES:
            with self.subTest(form=form, cf_paths=cf):
                self.in_form(form, cf)
                r = self.kl("submit", "--config", EXAMPLE_CONFIG, "--name", "Анна", "--phone", "+79990001602",
                            "--career", LONG)
                self.assertEqual(r.code, 65, r)
                item = self.refused_once()
                lead, contact = item["_embedded"]["leads"][0], item["_embedded"]["contacts"][0]
                self.assertEqual(lead["custom_fields_values"], [{"field_id": 488804, "values": [{"value": LONG}]}])
                # the contact has a field with an id at 0 as well, but its value is not too long
                self.assertEqual(contact["custom_fields_values"][0]["field_id"], 467700)
                self.assertIn(f"InvalidLength at {prefix(form, 0)}{in_lead(cf)}custom_fields_values.0.values.0.value "
                              f"(--career (field 488804)): {TOO_LONG}", r.err)

    def test_submit_a_wrong_type_names_the_values_it_can_be(self):
        for form, cf in MODES:
            with self.subTest(form=form, cf_paths=cf):
                self.in_form(form, cf)
                # a number for a text field: only the lead's value is not a string
                r = self.kl("submit", "--no-config", "--name", "Анна", "--phone", "+79990001603",
                            "--field", "lead:1709500:number=5")
                self.assertEqual(r.code, 65, r)
                lead = self.refused_once()["_embedded"]["leads"][0]
                self.assertEqual(lead["custom_fields_values"], [{"field_id": 1709500, "values": [{"value": 5}]}])
                self.assertIn(f"InvalidType at {prefix(form, 0)}{in_lead(cf)}custom_fields_values.0.values.0.value "
                              "(--field lead:1709500:number): This value should be of type string.", r.err)
                # text for a numeric field: the contact's phone is text as well; a path from the
                # item names the lead's field alone, one from the entity does not say lead or
                # contact, so both are named
                self.seen = len(self.recorded())
                r = self.kl("submit", "--no-config", "--name", "Анна", "--phone", "+79990001603",
                            "--field", "lead:1709444=5000")
                self.assertEqual(r.code, 65, r)
                self.assertEqual(self.refused_once()["_embedded"]["leads"][0]["custom_fields_values"],
                                 [{"field_id": 1709444, "values": [{"value": "5000"}]}])
                named = "--field lead:1709444" if cf == "item" else "--field lead:1709444 or --phone (field code PHONE)"
                self.assertIn(f"InvalidType at {prefix(form, 0)}{in_lead(cf)}custom_fields_values.0.values.0.value "
                              f"({named}): This value should be of type number.", r.err)

    def test_submit_a_bad_pipeline_names_the_flag_and_the_config_key(self):
        for form, cf in MODES:
            with self.subTest(form=form, cf_paths=cf):
                self.in_form(form, cf)
                r = self.kl("submit", "--config", EXAMPLE_CONFIG, "--name", "Анна", "--phone", "+79990001604",
                            "--pipeline", "5")
                self.assertEqual(r.code, 65, r)
                self.assertEqual(self.refused_once()["pipeline_id"], 5)
                self.assertIn(f"NotSupportedChoice at {prefix(form, 0)}pipeline_id "
                              f"(--pipeline or KOMMO_PIPELINE_ID: {NO_PIPELINE}): {CHOICE}", r.err)

    # --- import --------------------------------------------------------------------------

    def imp(self, csv, *args, config=EXAMPLE_CONFIG):
        path = self.write("in.csv", csv)
        return self.kl("import", *(("--config", config) if config else ("--no-config",)), *args, path)

    def assert_rows_rejected_and_the_rest_created(self, r, rejected, sent):
        """rejected: {row: text its line carries}; sent: the rows of the file, in order.
        The first request (all rows) was refused; the second carries the others and
        creates them."""
        self.assertEqual(r.code, 65, r)
        reqs = self.forms_posts()
        kept = [str(n) for n in sent if n not in rejected]
        self.assertEqual([q["status"] for q in reqs], [400, 200] if kept else [400])
        self.assertEqual([it["request_id"] for it in items(reqs[0])], [str(n) for n in sent])
        if kept:
            self.assertEqual([it["request_id"] for it in items(reqs[1])], kept)
        lines = {int(l.split()[0][4:]): l for l in r.out.splitlines()}
        self.assertEqual(sorted(lines), list(sent))
        for n in sent:
            if n in rejected:
                self.assertEqual(lines[n], f"row={n} rejected: Kommo: {rejected[n]}")
            else:
                self.assertRegex(lines[n], rf"^row={n} lead_id=\d+ contact_id=\d+$")

    def test_import_row_10_with_a_career_over_the_limit_is_rejected_naming_the_column(self):
        rows = [f"Лид {n},+7999000{n:04d},{LONG if n == 10 else 'Врач'}" for n in range(2, 14)]
        csv = "name,phone,career\n" + "\n".join(rows) + "\n"
        for form, cf in MODES:
            with self.subTest(form=form, cf_paths=cf):
                control("POST", "reset")  # the leads of the last form's run go
                self.in_form(form, cf)
                r = self.imp(csv)
                # row 10 is the batch's ninth item, at index 8
                self.assert_rows_rejected_and_the_rest_created(r, {10: (
                    f"InvalidLength at {prefix(form, 8)}{in_lead(cf)}custom_fields_values.0.values.0.value "
                    f'(row 10, column "career" (field 488804)): {TOO_LONG}')}, range(2, 14))
                self.assertEqual(len(control("GET", "entities")["leads"]), 11)

    def test_import_an_error_about_no_row_sent_is_told_and_pinned_on_none(self):
        # Kommo's answer names row 3 and, besides, a request_id no row was sent with
        csv = "name,phone,career\nA,+79990001711,Врач\nB,+79990001712," + LONG + "\nC,+79990001713,Врач\n"
        self.in_form("index")
        self.fault("stray@" + FORMS)
        r = self.imp(csv)
        self.assert_rows_rejected_and_the_rest_created(r, {3: (
            "InvalidLength at 1._embedded.leads.0.custom_fields_values.0.values.0.value "
            f'(row 3, column "career" (field 488804)): {TOO_LONG}')}, range(2, 5))
        self.assertIn('kommo-lead: Kommo: FieldMissing at source_name (no lead sent carries the '
                      'request_id "stray" Kommo names): a stray error about no item '
                      "(about no row of this request)", r.err)

    def test_import_an_unknown_field_id_names_the_rows_column(self):
        csv = "name,phone,lead:999999\nA,+79990001611,\nB,+79990001612,x\nC,+79990001613,\n"
        for form, cf in MODES:
            with self.subTest(form=form, cf_paths=cf):
                self.in_form(form, cf)
                # without a config the phone goes by field code: only the lead has a field_id at 0
                r = self.imp(csv, config=None)
                # (a custom field column's label repeats the column's name after it)
                self.assert_rows_rejected_and_the_rest_created(r, {3: (
                    f"NotSupportedChoice at {prefix(form, 1)}{in_lead(cf)}custom_fields_values.0.field_id "
                    f'(row 3, column "lead:999999" lead:999999: {NO_FIELD}): {CHOICE}')}, range(2, 5))
                # with the config the phone goes by field id: the contact has a field_id at 0 too,
                # which only a path from the entity leaves open
                self.seen = len(self.recorded())
                r = self.imp(csv)
                refused = items(self.forms_posts()[0])[1]["_embedded"]
                self.assertEqual([refused[k][0]["custom_fields_values"][0]["field_id"] for k in ("leads", "contacts")],
                                 [999999, 467700])
                named = 'row 3, column "lead:999999" lead:999999'
                if cf == "entity":
                    named += (' or row 3, column "phone" (field 467700): the account has no lead field 999999 or no '
                              "contact field 467700; kommo-lead fields lists them")
                else:
                    named += f": {NO_FIELD}"
                self.assert_rows_rejected_and_the_rest_created(r, {3: (
                    f"NotSupportedChoice at {prefix(form, 1)}{in_lead(cf)}custom_fields_values.0.field_id "
                    f"({named}): {CHOICE}")}, range(2, 5))

    def test_import_a_wrong_type_names_the_rows_column(self):
        csv = "name,phone,lead:1709500:number\nA,+79990001621,\nB,+79990001622,\nC,+79990001623,7\n"
        for form, cf in MODES:
            with self.subTest(form=form, cf_paths=cf):
                self.in_form(form, cf)
                r = self.imp(csv)
                self.assert_rows_rejected_and_the_rest_created(r, {4: (
                    f"InvalidType at {prefix(form, 2)}{in_lead(cf)}custom_fields_values.0.values.0.value "
                    f'(row 4, column "lead:1709500:number" lead:1709500:number): '
                    "This value should be of type string.")}, range(2, 5))

    def test_import_a_bad_pipeline_rejects_each_row_naming_the_flag(self):
        csv = "name,phone\nA,+79990001631\nB,+79990001632\n"
        for form, cf in MODES:
            with self.subTest(form=form, cf_paths=cf):
                self.in_form(form, cf)
                r = self.imp(csv, "--pipeline", "5")
                self.assert_rows_rejected_and_the_rest_created(r, {
                    n: f"NotSupportedChoice at {prefix(form, n - 2)}pipeline_id (--pipeline or KOMMO_PIPELINE_ID: "
                       f"{NO_PIPELINE}): {CHOICE}" for n in (2, 3)}, range(2, 4))

    # --- crm commands --------------------------------------------------------------------

    def test_leads_create_and_contacts_create_name_their_flags_in_every_form(self):
        # their items are the lead or contact: the same paths whatever cf_paths says
        for form, cf in MODES:
            with self.subTest(form=form, cf_paths=cf):
                self.in_form(form, cf)
                r = self.kl("leads", "create", "--no-config", "--name", "Сделка", "--status", "1",
                            "--field", "999999=x")
                self.assertEqual(r.code, 65, r)
                [body] = items(self.only_request())
                self.assertEqual((body["status_id"], body["custom_fields_values"][0]["field_id"]), (1, 999999))
                self.assertIn(f"NotSupportedChoice at {prefix(form, 0)}status_id (--status: the account has no "
                              "status 1 in the lead's pipeline; kommo-lead fields lists the pipelines and their "
                              f"statuses): {CHOICE}", r.err)
                self.assertIn(f"NotSupportedChoice at {prefix(form, 0)}custom_fields_values.0.field_id "
                              f"(--field lead:999999: {NO_FIELD}): {CHOICE}", r.err)
                # a linked contact the account does not have
                self.seen = len(self.recorded())
                r = self.kl("leads", "create", "--no-config", "--name", "Сделка", "--contact", "123")
                self.assertEqual(r.code, 65, r)
                self.assertEqual(items(self.only_request())[0]["_embedded"], {"contacts": [{"id": 123}]})
                self.assertIn(f"NotSupportedChoice at {prefix(form, 0)}_embedded.contacts.0.id (--contact 123: the "
                              "account has no contact 123; kommo-lead contacts search finds a contact's id): "
                              f"{CHOICE}", r.err)
                self.seen = len(self.recorded())
                r = self.kl("contacts", "create", "--no-config", "--name", "Анна", "--email", "a@example.com",
                            "--responsible", "1")
                self.assertEqual(r.code, 65, r)
                self.assertEqual(items(self.only_request())[0]["responsible_user_id"], 1)
                self.assertIn(f"NotSupportedChoice at {prefix(form, 0)}responsible_user_id (--responsible: the "
                              f"account has no user 1; Kommo's account settings list the users): {CHOICE}", r.err)


if __name__ == "__main__":
    unittest.main()
