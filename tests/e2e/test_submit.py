#!/usr/bin/env python3
"""End-to-end tests of `kommo-lead submit`: the real binary against the Kommo
sandbox, asserting on the exact request the sandbox recorded and on what the
tool printed and returned.

Run by CTest with KL_BIN (the binary), KL_SANDBOX_DIR (a running sandbox
started by `scripts/sandbox-ctl start`) and KL_SOURCE_DIR set.
"""
import hashlib
import json
import os
import re
import time
import unittest
import urllib.request

from kltest import (EXAMPLE_CONFIG, FORMS, SOURCE, TOKEN, URL, SandboxTest, closed_port, control,
                    recorded)


class SubmitTest(SandboxTest):
    def assert_request_envelope(self, req):
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["path"], FORMS)
        self.assertEqual(req["headers"]["authorization"], "Bearer " + TOKEN)
        self.assertEqual(req["headers"]["content-type"], "application/json")
        self.assertTrue(req["headers"]["user-agent"].startswith("kommo-lead/"))
        self.assertEqual(req["status"], 200)

    # --- the two examples of the integration guide ---------------------------------

    def test_full_example_sends_every_field_in_one_request(self):
        t0 = int(time.time())
        r = self.kl("--config", EXAMPLE_CONFIG,
                    "--name", "Иван", "--last-name", "Петров", "--phone", "+7 (999) 123-45-67",
                    "--email", "ivan.petrov@example.com", "--telegram", "@ivan_petrov",
                    "--career", "Инженер-программист", "--education", "Высшее",
                    "--income", "250000", "--utm-source", "google", "--utm-medium", "cpc",
                    "--utm-campaign", "весна-2026", "--utm-content", "banner-1",
                    "--utm-term", "ВНЖ Германия", "--utm-referrer", "https://google.com/",
                    "--price", "1500", "--referer", "https://intermigro.com/landing")
        t1 = int(time.time())
        self.assertEqual(r.code, 0, r)
        req = self.only_request()
        self.assert_request_envelope(req)
        # the body goes out as raw UTF-8, not \u escapes
        self.assertIn("Иван", req["body"])
        body = json.loads(req["body"])
        self.assertIsInstance(body, list)
        self.assertEqual(len(body), 1)
        item = body[0]
        self.assertRegex(item["source_uid"], r"^[0-9a-f]{32}$")
        self.assertEqual(item["source_name"], "kommo-lead")
        self.assertEqual(item["pipeline_id"], 12984871)
        self.assertEqual(item["request_id"], "0")
        self.assertTrue(t0 <= item["created_at"] <= t1, "created_at must be Unix seconds")
        self.assertEqual(item["metadata"], {
            "form_id": "kommo-lead", "form_name": "Заявка с сайта",
            "form_page": "https://intermigro.com/", "form_sent_at": item["created_at"],
            "referer": "https://intermigro.com/landing"})
        self.assertEqual(item["_embedded"]["contacts"], [{
            "name": "Иван Петров", "first_name": "Иван", "last_name": "Петров",
            "custom_fields_values": [
                {"field_id": 467700, "values": [{"value": "+79991234567"}]},
                {"field_id": 467702, "values": [{"value": "ivan.petrov@example.com"}]},
                {"field_id": 1709360, "values": [{"value": "@ivan_petrov"}]}]}])
        self.assertEqual(item["_embedded"]["leads"], [{
            "name": "Заявка: Иван Петров", "price": 1500,
            "custom_fields_values": [
                {"field_id": 488804, "values": [{"value": "Инженер-программист"}]},
                {"field_id": 1711074, "values": [{"value": "Высшее"}]},
                {"field_id": 1709444, "values": [{"value": 250000}]},
                {"field_id": 467714, "values": [{"value": "google"}]},
                {"field_id": 467710, "values": [{"value": "cpc"}]},
                {"field_id": 467712, "values": [{"value": "весна-2026"}]},
                {"field_id": 467708, "values": [{"value": "banner-1"}]},
                {"field_id": 467716, "values": [{"value": "ВНЖ Германия"}]},
                {"field_id": 467718, "values": [{"value": "https://google.com/"}]}]}])
        self.assertNotIn("companies", item["_embedded"])
        # the ids printed are the ones the sandbox created
        ents = control("GET", "entities")
        self.assertEqual(r.out, f"lead_id={ents['leads'][-1]['id']} contact_id={ents['contacts'][-1]['id']}\n")
        self.assertEqual(r.err, "")

    def test_simplified_example_works_with_no_ids_configured(self):
        r = self.kl("--name", "Ivan", "--last-name", "Petrov", "--phone", "+79991234567",
                    "--source", "referral", "--no-config")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^lead_id=\d+ contact_id=\d+\n$")
        req = self.only_request()
        self.assert_request_envelope(req)
        item = json.loads(req["body"])[0]
        self.assertNotIn("pipeline_id", item)
        self.assertEqual(item["_embedded"]["contacts"][0]["custom_fields_values"],
                         [{"field_code": "PHONE", "values": [{"value": "+79991234567"}]}])
        self.assertEqual(item["_embedded"]["leads"][0], {
            "name": "Заявка: Ivan Petrov", "price": 0,
            "custom_fields_values": [{"field_code": "UTM_SOURCE", "values": [{"value": "referral"}]}]})
        # default source_uid: MD5 of "<phone>-<unix ms>", as in the guide
        uid = item["source_uid"]
        now_ms = int(time.time() * 1000)
        self.assertTrue(any(hashlib.md5(f"+79991234567-{ms}".encode()).hexdigest() == uid
                            for ms in range(now_ms - 60000, now_ms + 1)))

    def test_json_output_carries_ids_uid_and_source_uid(self):
        r = self.kl("--no-config", "--name", "Anna", "--email", "anna@example.com",
                    "--source-uid", "crm-000123", "--json")
        self.assertEqual(r.code, 0, r)
        out = json.loads(r.out)
        self.assertEqual(set(out), {"status", "lead_id", "contact_id", "uid", "source_uid", "possibly_duplicated"})
        self.assertIs(out["possibly_duplicated"], False)
        self.assertEqual(out["status"], "created")
        self.assertEqual(out["source_uid"], "crm-000123")
        self.assertRegex(out["uid"], r"^[0-9a-f]{40}$")
        ents = control("GET", "entities")
        self.assertEqual(out["lead_id"], ents["leads"][-1]["id"])
        self.assertEqual(json.loads(self.only_request()["body"])[0]["source_uid"], "crm-000123")

    def test_custom_fields_by_id_and_overridden_metadata(self):
        r = self.kl("--config", EXAMPLE_CONFIG, "--name", "Ivan", "--phone", "89991234567",
                    "--field", "lead:1709500=Германия", "--pipeline", "12984871",
                    "--source-name", "Partner X", "--form-name", "Форма партнёра",
                    "--form-id", "partner-1", "--lead-name", "Консультация")
        self.assertEqual(r.code, 0, r)
        item = json.loads(self.only_request()["body"])[0]
        self.assertEqual(item["source_name"], "Partner X")
        self.assertEqual(item["metadata"]["form_name"], "Форма партнёра")
        self.assertEqual(item["metadata"]["form_id"], "partner-1")
        self.assertEqual(item["_embedded"]["leads"][0]["name"], "Консультация")
        self.assertIn({"field_id": 1709500, "values": [{"value": "Германия"}]},
                      item["_embedded"]["leads"][0]["custom_fields_values"])

    def test_numeric_custom_field_is_sent_as_a_number(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--field", "lead:1709444:number=5000")
        self.assertEqual(r.code, 0, r)
        item = json.loads(self.only_request()["body"])[0]
        self.assertEqual(item["_embedded"]["leads"][0]["custom_fields_values"][-1],
                         {"field_id": 1709444, "values": [{"value": 5000}]})
        # without :number the value is text, and Kommo refuses text in a numeric field
        control("POST", "reset")
        self.seen = len(recorded())
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--field", "lead:1709444=5000")
        self.assertEqual(r.code, 65, r)
        # Kommo's path goes from the item into the lead, so the lead's field alone is named
        # (the contact's phone is text at index 0 too; tests/e2e/test_error_paths.py has
        # the entity-relative path, which names both)
        self.assertIn("InvalidType at _embedded.leads.0.custom_fields_values.0.values.0.value "
                      "(--field lead:1709444): This value should be of type number.", r.err)

    # --- dry run ------------------------------------------------------------------

    def test_dry_run_prints_the_exact_body_and_sends_nothing(self):
        args = ("--config", EXAMPLE_CONFIG, "--name", "Иван", "--phone", "+79991234567",
                "--career", "Врач", "--source-uid", "same-uid")
        dry = self.kl(*args, "--dry-run", base_url=None, token_file=None)
        self.assertEqual(dry.code, 0, dry)
        self.assert_nothing_sent()
        self.assertTrue(dry.out.endswith("]\n"))
        sent = self.kl(*args)
        self.assertEqual(sent.code, 0, sent)
        body = self.only_request()["body"]

        def without_times(text):
            return re.sub(r'"(created_at|form_sent_at)":\d+', '"T":0', text)
        # byte for byte the same, but for the clock
        self.assertEqual(without_times(dry.out.rstrip("\n")), without_times(body))

    # --- precedence ------------------------------------------------------------------

    def test_flags_beat_environment_beat_config_file(self):
        cfg = self.write("c.env", "KOMMO_FORM_NAME=from-file\nKOMMO_FORM_ID=file-id\nKOMMO_SOURCE_NAME=file-src\n")
        base = ("--config", cfg, "--name", "A", "--phone", "1234567", "--dry-run")
        env = {"KOMMO_FORM_NAME": "from-env", "KOMMO_FORM_ID": "env-id"}
        r = self.kl(*base, "--form-name", "from-flag", env=env)
        meta = json.loads(r.out)[0]["metadata"]
        self.assertEqual((meta["form_name"], meta["form_id"]), ("from-flag", "env-id"))
        self.assertEqual(json.loads(r.out)[0]["source_name"], "file-src")
        r = self.kl(*base, env=env)
        self.assertEqual(json.loads(r.out)[0]["metadata"]["form_name"], "from-env")
        r = self.kl(*base)
        self.assertEqual(json.loads(r.out)[0]["metadata"]["form_name"], "from-file")

    def test_config_file_found_through_kommo_lead_config_and_xdg(self):
        cfg = self.write("k.env", "KOMMO_FORM_ID=via-env-var\n")
        r = self.kl("--name", "A", "--phone", "1234567", "--dry-run", env={"KOMMO_LEAD_CONFIG": cfg})
        self.assertEqual(json.loads(r.out)[0]["metadata"]["form_id"], "via-env-var", r)
        xdg = os.path.join(self.tmp.name, "xdg")
        os.makedirs(os.path.join(xdg, "kommo-lead"))
        with open(os.path.join(xdg, "kommo-lead", "config.env"), "w") as f:
            f.write("export KOMMO_FORM_ID='via-xdg'\n")
        r = self.kl("--name", "A", "--phone", "1234567", "--dry-run", env={"XDG_CONFIG_HOME": xdg})
        self.assertEqual(json.loads(r.out)[0]["metadata"]["form_id"], "via-xdg", r)
        r = self.kl("--name", "A", "--phone", "1234567", "--dry-run", "--no-config",
                    env={"XDG_CONFIG_HOME": xdg})
        self.assertEqual(json.loads(r.out)[0]["metadata"]["form_id"], "kommo-lead", r)

    # --- Kommo's errors -----------------------------------------------------------------

    def test_401_exits_77_and_never_shows_the_token(self):
        bad = self.write("bad-token", "wrong-token-value-123\n")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "-v", token_file=bad)
        self.assertEqual(r.code, 77, r)
        self.assertIn("HTTP 401", r.err)
        self.assertIn("Invalid user name or password", r.err)
        self.assertIn("KOMMO_API_TOKEN", r.err)
        self.assertNotIn("wrong-token-value-123", r.err + r.out)
        self.assertIn(f"the refused token came from --token-file {bad}", r.err)
        self.assertEqual(self.only_request()["headers"]["authorization"], "Bearer wrong-token-value-123")

    def test_400_validation_errors_are_mapped_back_to_flags(self):
        r = self.kl("--config", EXAMPLE_CONFIG, "--name", "A", "--phone", "+79991234567",
                    "--telegram", "@a", env={"KOMMO_TELEGRAM_FIELD_ID": "1709361"})
        self.assertEqual(r.code, 65, r)
        self.assertIn("Kommo refused the lead (HTTP 400 Bad Request): Request validation failed", r.err)
        self.assertRegex(r.err, r"NotSupportedChoice at _embedded\.contacts\.0\.custom_fields_values\.1\.field_id "
                                r"\(--telegram \(field 1709361\): the account has no contact field 1709361; "
                                r"kommo-lead fields lists them\): The value you selected is not a valid choice\.")
        self.assertEqual(self.only_request()["status"], 400)

    def test_400_for_an_unknown_pipeline_names_the_flag(self):
        r = self.kl("--config", EXAMPLE_CONFIG, "--name", "A", "--phone", "+79991234567", "--pipeline", "5")
        self.assertEqual(r.code, 65, r)
        self.assertIn("NotSupportedChoice at pipeline_id (--pipeline or KOMMO_PIPELINE_ID: the account has no pipeline "
                      "5; kommo-lead fields lists the pipelines): The value you selected is not a valid choice.", r.err)

    def test_403_html_is_reported_as_blocked(self):
        self.fault("403html")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567")
        self.assertEqual(r.code, 77, r)
        self.assertIn("blocked by Kommo", r.err)
        self.assertIn("contact Kommo support", r.err)
        self.assertNotIn("JSON", r.err)
        self.assertEqual(r.out, "")

    def test_402_exits_77(self):
        self.fault("402")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567")
        self.assertEqual(r.code, 77, r)
        self.assertIn("paid period", r.err)

    def test_a_429_is_waited_out_and_the_same_lead_sent_again(self):
        # a 429 means Kommo did nothing: the same body goes again after the wait
        self.fault("429")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "-v")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^lead_id=\d+ contact_id=\d+")
        self.assertIn("HTTP 429: sending the lead again in ", r.err)
        reqs = self.new_requests()
        self.assertEqual([q["status"] for q in reqs], [429, 200])
        self.assertEqual(reqs[0]["body"], reqs[1]["body"])
        self.assertGreaterEqual(reqs[1]["time"] - reqs[0]["time"], 0.9, "Retry-After: 1 was not waited")

    def test_429s_that_keep_coming_exit_75_and_say_when(self):
        self.fault("429", "429", "429")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567")
        self.assertEqual(r.code, 75, r)
        self.assertIn("HTTP 429", r.err)
        self.assertIn("try again in 1 s", r.err)
        self.assertEqual([q["status"] for q in self.new_requests()], [429, 429, 429])

    # --- an answer lost: the lead is looked for, never guessed ----------------------------

    def assert_created_once_and_found(self, r, uid, answered_late=False):
        """The request was carried out, its answer lost: one POST, one lead, its ids printed.
        (A late answer's request is recorded when the sandbox answers it, after the run.)"""
        self.assertEqual(r.code, 0, r)
        if answered_late:
            # the sandbox records the request when it answers, after the run: wait for that,
            # so that it is this test's and not the next one's
            deadline = time.monotonic() + 30
            while not self.forms_posts() and time.monotonic() < deadline:
                time.sleep(0.05)
        self.assertEqual(len(self.forms_posts()), 1, r)
        incoming = [u for u in self.control("GET", "unsorted") if u["source_uid"] == uid]
        self.assertEqual(len(incoming), 1)
        self.assertGreaterEqual(len(self.lookups()), 1)
        self.assertEqual(r.out, f"lead_id={incoming[0]['lead_id']} contact_id={incoming[0]['contact_id']}\n")
        self.assertIn(f"the lead is in Kommo's Incoming leads (source_uid {uid}): it was created", r.err)

    def assert_sent_again_flagged(self, r, uid):
        """Kommo did nothing with the request (the fault answered instead): not found twice, the
        grace between, then the same body again, flagged."""
        self.assertEqual(r.code, 0, r)
        posts = self.forms_posts()
        self.assertEqual(len(posts), 2, r)
        self.assertEqual(posts[0]["body"], posts[1]["body"])
        self.assertEqual(json.loads(posts[1]["body"])[0]["source_uid"], uid)
        self.assertEqual(len(self.lookups()), 2, "looked for at once, and again after the grace")
        self.assertEqual(len([u for u in self.control("GET", "unsorted") if u["source_uid"] == uid]), 1)
        self.assertRegex(r.out, r"^lead_id=\d+ contact_id=\d+ possibly_duplicated\n$")
        self.assertIn("the lead is not in Kommo's Incoming leads: sending it again with the same "
                      "source_uid, flagged possibly_duplicated", r.err)

    def test_a_500_is_looked_up_then_the_lead_sent_again_flagged(self):
        self.fault("500")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--source-uid", "u-500",
                    "--timeout", "0.5")
        self.assertIn("HTTP 500", r.err)
        self.assertIn("trace_id", r.err)
        self.assert_sent_again_flagged(r, "u-500")

    def test_a_502_html_is_looked_up_then_the_lead_sent_again_flagged(self):
        self.fault("502")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--source-uid", "u-502",
                    "--timeout", "0.5", "--json")
        self.assertIn("HTTP 502", r.err)
        self.assertEqual(r.code, 0, r)
        out = json.loads(r.out)
        self.assertIs(out["possibly_duplicated"], True)
        self.assertEqual(len(self.forms_posts()), 2)

    def test_a_timeout_is_looked_up_then_the_lead_sent_again_flagged(self):
        self.fault("hang")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--source-uid", "u-hang",
                    "--timeout", "0.5")
        self.assertIn("no reply", r.err)
        self.assert_sent_again_flagged(r, "u-hang")

    def test_a_connection_reset_before_kommo_acted_is_sent_again_flagged(self):
        self.fault("reset")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--source-uid", "u-rst",
                    "--timeout", "0.5")
        self.assert_sent_again_flagged(r, "u-rst")

    def test_an_answer_lost_after_kommo_acted_finds_the_lead_and_prints_its_ids(self):
        # carried out, then: the connection dropped before any reply byte; the reply cut
        # short; an unreadable 200; a reply slower than the timeout
        for kind in ("drop", "cut", "garbage", "truncated", "late=2"):
            with self.subTest(kind):
                self.control("POST", "reset")
                self.seen = len(self.recorded())
                self.fault(kind)
                r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--source-uid", "u-" + kind,
                            "--timeout", "0.5")
                self.assert_created_once_and_found(r, "u-" + kind, answered_late=kind.startswith("late"))

    def test_a_lead_still_landing_is_found_after_the_grace_not_sent_again(self):
        # Kommo carries the request out only after the client gave up (slow=2.5 > --timeout
        # 1.6): not there at the first look (at ~1.6 s), there after the grace (as long as the
        # timeout: ~3.2 s); close to a second of margin either side on a loaded machine
        self.fault("slow=2.5")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--source-uid", "u-slow",
                    "--timeout", "1.6")
        self.assert_created_once_and_found(r, "u-slow")
        self.assertEqual(len(self.lookups()), 2)

    def test_a_source_uid_reused_is_not_taken_for_this_leads(self):
        # another lead with the same source_uid, sent an hour ago, is in Incoming leads: the
        # lookup after a lost answer must not take its ids for this one's
        old = [{"source_uid": "form-7", "source_name": "web", "created_at": int(time.time()) - 3600,
                "metadata": {"form_sent_at": int(time.time()) - 3600},
                "_embedded": {"contacts": [{"name": "Old"}]}}]
        req = urllib.request.Request(self.url + FORMS, data=json.dumps(old).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + TOKEN,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as reply:
            old_lead = json.loads(reply.read())["_embedded"]["unsorted"][0]["_embedded"]["leads"][0]["id"]
        self.seen = len(self.recorded())
        self.fault("reset")  # this one is not carried out
        r = self.kl("--no-config", "--name", "B", "--phone", "1234567", "--source-uid", "form-7",
                    "--timeout", "0.5")
        self.assertEqual(r.code, 0, r)
        self.assertNotIn(f"lead_id={old_lead} ", r.out)
        self.assertRegex(r.out, r"^lead_id=\d+ contact_id=\d+ possibly_duplicated\n$")
        self.assertEqual(len([u for u in self.control("GET", "unsorted") if u["source_uid"] == "form-7"]), 2)

    def test_a_failing_lookup_keeps_the_outcome_unknown(self):
        # the POST's answer is lost, and the look at Incoming leads fails too (a GET is not
        # tried again after a 500): nothing is sent again, exit 75 as before
        self.fault("reset", "500")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--source-uid", "u-lf",
                    "--timeout", "0.5")
        self.assertEqual(r.code, 75, r)
        self.assertIn("looking for the lead in Kommo's Incoming leads failed: ", r.err)
        self.assertIn("may or may not have been created (source_uid u-lf)", r.err)
        self.assertEqual(len(self.forms_posts()), 1)

    def test_unreachable_host_exits_69(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567",
                    base_url=f"http://127.0.0.1:{closed_port()}")
        self.assertEqual(r.code, 69, r)
        self.assertIn("cannot reach", r.err)
        self.assertNotIn("may or may not", r.err)

    def test_wrong_path_404_exits_78(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", base_url=URL + "/nothing-here")
        self.assertEqual(r.code, 78, r)
        self.assertIn("HTTP 404", r.err)

    # --- refusals before anything is sent --------------------------------------------------

    def test_usage_errors_exit_64_and_send_nothing(self):
        for args in (("--name", "A", "--phon", "1234567"), ("--name",), ("--name", "A", "extra"),
                     ("frobnicate",), ("--token", "abc", "--name", "A", "--phone", "1234567"),
                     ("--name", "A", "--phone", "1234567", "--pipeline", "x")):
            with self.subTest(args=args):
                r = self.kl(*args, token_file=None)
                self.assertEqual(r.code, 64, r)
                self.assertTrue(r.err.startswith("kommo-lead: "), r)
        self.assert_nothing_sent()

    def test_an_option_missing_its_value_never_turns_into_a_sent_lead(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--utm-term", "--dry-run")
        self.assertEqual(r.code, 64, r)
        self.assertIn("--utm-term needs a value, but the next argument is the option --dry-run", r.err)
        self.assert_nothing_sent()

    def test_address_mistakes_get_a_hint(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567",
                    env={"KOMMO_SUBDOMAIN": "intermigro.kommo.com"}, base_url=None)
        self.assertEqual(r.code, 78, r)
        self.assertIn("give only the subdomain", r.err)
        self.assertIn("KOMMO_DOMAIN=intermigro.kommo.com", r.err)
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", base_url=URL + "/api/v4/")
        self.assertEqual(r.code, 78, r)
        self.assertIn("ends in /api/v4: leave it out", r.err)
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", base_url=URL + "/?x=1")
        self.assertEqual(r.code, 78, r)
        self.assert_nothing_sent()

    def test_misspelt_config_keys_are_warned_about(self):
        cfg = self.write("typo.env", "KOMO_PIPELINE_ID=12984871\nkommo_form_id=x\nKOMMO_PHONE_FIELD=1\nNODE_ENV=production\n")
        r = self.kl("--config", cfg, "--name", "A", "--phone", "1234567", "--dry-run")
        self.assertEqual(r.code, 0, r)
        self.assertIn(f"{cfg}:1: KOMO_PIPELINE_ID ignored: did you mean KOMMO_PIPELINE_ID?", r.err)
        self.assertIn(f"{cfg}:2: kommo_form_id ignored: did you mean KOMMO_FORM_ID?", r.err)
        self.assertIn(f"{cfg}:3: unknown key KOMMO_PHONE_FIELD ignored (did you mean KOMMO_PHONE_FIELD_ID?)", r.err)
        self.assertNotIn("NODE_ENV", r.err)

    def test_invalid_lead_data_exits_65_naming_flag_value_and_fix(self):
        cases = [
            (("--name", "A", "--phone", "12ab"), '--phone: "12ab" is not a phone number: "a" (character 3)'),
            (("--name", "A", "--email", "ivan@"), '--email: "ivan@" is not an email address'),
            (("--name", "   ", "--phone", "+79991234567"), "--name is required"),  # empty: not given
            (("--name", "A\x01", "--phone", "+79991234567"), "control character"),
            (("--name", "A", "--phone", "+79991234567", "--price", "12.5"), '--price: "12.5" is not a whole number'),
            (("--name", "A", "--phone", "+79991234567", "--income", "много"), "--income"),
            (("--phone", "+79991234567",), "--name is required"),
            (("--name", "A",), "--phone or --email is required"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = self.kl("--config", EXAMPLE_CONFIG, *args)
                self.assertEqual(r.code, 65, r)
                self.assertIn(message, r.err)
        # the lead is checked before the configuration: no account set up, still 65
        r = self.kl("--no-config", "--name", "A", "--phone", "12ab", base_url=None, token_file=None)
        self.assertEqual(r.code, 65, r)
        self.assertIn("--phone", r.err)
        self.assert_nothing_sent()

    def test_invalid_utf8_is_refused(self):
        # os.fsdecode: the bytes as a str that subprocess turns back into the same bytes
        r = self.kl("--no-config", "--name", os.fsdecode(b"\xd0\x98\xd0"), "--phone", "1234567")
        self.assertEqual(r.code, 65, r)
        self.assertIn("not valid UTF-8", r.err)
        self.assert_nothing_sent()

    def test_configuration_errors_exit_78_and_name_the_key(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--telegram", "@a")
        self.assertEqual(r.code, 78, r)
        self.assertIn("set KOMMO_TELEGRAM_FIELD_ID", r.err)
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", base_url=None)
        self.assertEqual(r.code, 78, r)
        self.assertIn("KOMMO_SUBDOMAIN", r.err)
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", token_file=None)
        self.assertEqual(r.code, 78, r)
        self.assertIn("no API token", r.err)
        cfg = self.write("bad.env", "# intermigro\nKOMMO_PIPELINE_ID=12984871x\n")
        r = self.kl("--config", cfg, "--name", "A", "--phone", "1234567")
        self.assertEqual(r.code, 78, r)
        self.assertIn(f'KOMMO_PIPELINE_ID (from {cfg}:2): "12984871x" is not an id', r.err)
        r = self.kl("--config", os.path.join(self.tmp.name, "missing.env"), "--name", "A", "--phone", "1234567")
        self.assertEqual(r.code, 78, r)
        self.assertIn("no such config file", r.err)
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", env={"KOMMO_SUBDOMAIN": "Inter_migro"},
                    base_url=None)
        self.assertEqual(r.code, 78, r)
        self.assertIn("not a Kommo subdomain", r.err)
        self.assert_nothing_sent()

    def test_plain_http_is_refused_unless_loopback(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", base_url="http://kommo.example.com")
        self.assertEqual(r.code, 78, r)
        self.assertIn("plain http", r.err)
        self.assert_nothing_sent()

    def test_token_with_newline_or_space_is_refused(self):
        for tok in ("abc def", "abc\tdef"):
            with self.subTest(tok=tok):
                r = self.kl("--no-config", "--name", "A", "--phone", "1234567",
                            env={"KOMMO_API_TOKEN": tok}, token_file=None)
                self.assertEqual(r.code, 78, r)
                self.assertNotIn("def", r.err)
        bad = self.write("two-lines", "abc\nX-Injected: 1\n")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", token_file=bad)
        self.assertEqual(r.code, 78, r)
        self.assert_nothing_sent()

    # --- output, logs and secrets ------------------------------------------------------------

    def test_verbose_logs_request_status_timing_with_token_redacted(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--verbose")
        self.assertEqual(r.code, 0, r)
        self.assertIn(f"kommo-lead: > POST {URL}{FORMS} (", r.err)
        self.assertIn("kommo-lead: > Authorization: Bearer [redacted]", r.err)
        self.assertRegex(r.err, r"kommo-lead: < 200 in \d+\.\d{3} s")
        self.assertNotIn(TOKEN, r.err)
        self.assertNotIn(TOKEN, r.out)

    def test_token_from_environment_and_config_file_is_used_and_warned_when_exposed(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", env={"KOMMO_API_TOKEN": TOKEN},
                    token_file=None)
        self.assertEqual(r.code, 0, r)
        cfg = self.write("tok.env", f"KOMMO_API_TOKEN={TOKEN}\n", mode=0o644)
        r = self.kl("--config", cfg, "--name", "A", "--phone", "1234567", token_file=None)
        self.assertEqual(r.code, 0, r)
        self.assertIn("other users can read it", r.err)
        self.assertIn("chmod 600", r.err)
        self.assertNotIn(TOKEN, r.err)
        os.chmod(cfg, 0o600)
        r = self.kl("--config", cfg, "--name", "A", "--phone", "1234567", token_file=None)
        self.assertEqual(r.err, "")

    def test_token_file_beats_environment(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", env={"KOMMO_API_TOKEN": "env-token"})
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.only_request()["headers"]["authorization"], "Bearer " + TOKEN)

    def test_failed_write_to_stdout_exits_74(self):
        with open("/dev/full", "w") as full:
            r = self.kl("--no-config", "--name", "A", "--phone", "1234567", stdout=full)
        self.assertEqual(r.code, 74, r)
        ents = control("GET", "entities")
        # the lead exists: the message must say so, with its ids, so nobody sends it twice
        self.assertIn(f"the lead was created (lead_id={ents['leads'][-1]['id']} "
                      f"contact_id={ents['contacts'][-1]['id']}", r.err)
        self.assertIn("could not be written to standard output", r.err)

    def test_closed_stdout_after_creation_is_explained_not_a_silent_death(self):
        r_fd, w_fd = os.pipe()
        os.close(r_fd)  # nobody will read: writing gets EPIPE (or SIGPIPE)
        try:
            r = self.kl("--no-config", "--name", "A", "--phone", "1234567", stdout=w_fd)
        finally:
            os.close(w_fd)
        self.assertEqual(r.code, 74, r)
        self.assertIn("the lead was created (lead_id=", r.err)

    def test_proxy_is_never_used_for_plain_http_to_loopback(self):
        # a proxy that would see the token in the clear: nothing listens there
        proxy = f"http://127.0.0.1:{closed_port()}"
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567",
                    env={"http_proxy": proxy, "HTTP_PROXY": proxy, "ALL_PROXY": proxy, "all_proxy": proxy})
        self.assertEqual(r.code, 0, r)
        self.assertEqual(len(self.new_requests()), 1)

    def test_help_goes_to_stdout_and_exits_0(self):
        r = self.kl("--help", token_file=None)
        self.assertEqual(r.code, 0)
        self.assertTrue(r.out.startswith("Usage: kommo-lead"))
        self.assertEqual(r.err, "")
        r = self.kl("--version", token_file=None)
        self.assertEqual(r.code, 0)
        self.assertRegex(r.out, r"^kommo-lead \d+\.\d+\.\d+\n$")

    def test_help_man_page_and_readme_document_every_option(self):
        help_text = self.kl("--help", token_file=None).out
        flags = set(re.findall(r"--[a-z][a-z-]+", help_text))
        self.assertGreater(len(flags), 30)
        for cmd in ("check", "fields", "leads", "contacts"):
            r = self.kl(cmd, "--help", token_file=None)
            self.assertEqual(r.code, 0, r)
            self.assertTrue(r.out.startswith(f"Usage: kommo-lead {cmd}"), r.out)
            flags |= set(re.findall(r"--[a-z][a-z-]+", r.out))
        with open(os.path.join(SOURCE, "doc", "kommo-lead.1"), encoding="utf-8") as f:
            man = f.read().replace("\\-", "-")
        with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        for flag in sorted(flags):
            self.assertTrue(flag in man, f"{flag} missing from the man page")
            self.assertTrue(flag in readme, f"{flag} missing from README.md")
        for code in ("64", "65", "68", "69", "75", "76", "77", "78"):
            self.assertRegex(man, rf"\b{code}\b")
            self.assertRegex(readme, rf"\b{code}\b")


if __name__ == "__main__":
    unittest.main(verbosity=2)
