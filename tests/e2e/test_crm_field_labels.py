#!/usr/bin/env python3
"""End-to-end tests of the crm commands' custom-field labels: leads create,
leads update and contacts create build their custom_fields_values with
submit's builder, so a value Kommo refuses there is named as submit names it,
by its flag and the field it went to ("--career (field 488804)"), and a
--field after the lead's own fields by its own label."""
import json
import unittest

from kltest import EXAMPLE_CONFIG, SandboxTest, control, load_tests  # noqa: F401

TOO_LONG = "This value is too long. It should have 256 characters or less."
CHOICE = "The value you selected is not a valid choice."
LONG = "Карьера " + "x" * 292  # 300 characters: over the sandbox's 256


class CrmFieldLabelsTest(SandboxTest):
    def refused(self, *args):
        """Runs a crm command that Kommo refuses; the body of the one request sent."""
        r = self.kl(*args)
        self.assertEqual(r.code, 65, r)
        req = self.only_request()
        self.assertEqual(req["status"], 400, req)
        self.seen = len(self.recorded())
        return r, json.loads(req["body"])

    def test_leads_create_and_update_name_a_lead_field_by_flag_and_field_id(self):
        r, body = self.refused("leads", "create", "--config", EXAMPLE_CONFIG, "--name", "Сделка", "--career", LONG)
        self.assertEqual(body[0]["custom_fields_values"], [{"field_id": 488804, "values": [{"value": LONG}]}])
        self.assertIn(f"InvalidLength at custom_fields_values.0.values.0.value (--career (field 488804)): {TOO_LONG}",
                      r.err)
        self.kl("--no-config", "--name", "Олег", "--phone", "+79990000001")
        lid = control("GET", "entities")["leads"][-1]["id"]
        self.seen = len(self.recorded())
        r, body = self.refused("leads", "update", str(lid), "--config", EXAMPLE_CONFIG, "--career", LONG)
        self.assertEqual(body, {"custom_fields_values": [{"field_id": 488804, "values": [{"value": LONG}]}]})
        self.assertIn(f"InvalidLength at custom_fields_values.0.values.0.value (--career (field 488804)): {TOO_LONG}",
                      r.err)

    def test_a_field_after_the_leads_own_is_named_by_its_own_label(self):
        r, body = self.refused("leads", "create", "--config", EXAMPLE_CONFIG, "--name", "Сделка", "--career",
                               "Инженер", "--field", "1709500=" + LONG)
        self.assertEqual(body[0]["custom_fields_values"], [{"field_id": 488804, "values": [{"value": "Инженер"}]},
                                                           {"field_id": 1709500, "values": [{"value": LONG}]}])
        self.assertIn(f"InvalidLength at custom_fields_values.1.values.0.value (--field lead:1709500): {TOO_LONG}",
                      r.err)
        self.assertNotIn("--career", r.err)

    def test_contacts_create_names_phone_and_email_by_flag_and_field(self):
        # the phone by its code (no id configured), the email by an id the account does not have
        cfg = self.write("config.env", "KOMMO_EMAIL_FIELD_ID=999999\n")
        r, body = self.refused("contacts", "create", "--config", cfg, "--name", "Анна", "--phone", "+79990001701",
                               "--email", "anna@example.com")
        self.assertEqual(body[0]["custom_fields_values"], [
            {"field_code": "PHONE", "values": [{"value": "+79990001701"}]},
            {"field_id": 999999, "values": [{"value": "anna@example.com"}]}])
        self.assertIn("NotSupportedChoice at custom_fields_values.1.field_id (--email (field 999999): the account has "
                      f"no contact field 999999; kommo-lead fields lists them): {CHOICE}", r.err)
        cfg = self.write("config.env", "KOMMO_PHONE_FIELD_ID=999999\n")
        r, body = self.refused("contacts", "create", "--config", cfg, "--name", "Анна", "--phone", "+79990001701")
        self.assertEqual(body[0]["custom_fields_values"], [
            {"field_id": 999999, "values": [{"value": "+79990001701"}]}])
        self.assertIn("NotSupportedChoice at custom_fields_values.0.field_id (--phone (field 999999): the account has "
                      f"no contact field 999999; kommo-lead fields lists them): {CHOICE}", r.err)


if __name__ == "__main__":
    unittest.main()
