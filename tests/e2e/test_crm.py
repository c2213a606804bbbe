"""End-to-end tests of check, fields, leads, contacts and --skip-existing:
the real binary against the sandbox, asserting on the requests the sandbox
recorded and on what was printed."""
import json
import os
import re
import sys
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from kltest import CLOSED, EXAMPLE_CONFIG, FORMS, TOKEN, URL, SandboxTest, control  # noqa: E402


def api_get(path):
    """GETs an API path from the sandbox as a client would; None on 204."""
    req = urllib.request.Request(URL + path, headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def all_fields(entity):
    out, page = [], 1
    while True:
        reply = api_get(f"/api/v4/{entity}/custom_fields?page={page}&limit=250")
        if not reply:
            return out
        out += reply["_embedded"]["custom_fields"]
        if "next" not in reply["_links"]:
            return out
        page += 1


def paths(reqs):
    return [(q["method"], q["path"]) for q in reqs]


def query_of(path):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)


class CrmTest(SandboxTest):
    def submit(self, *args):
        r = self.kl("--no-config", *args)
        self.assertEqual(r.code, 0, r)
        return r

    def config(self, text):
        return self.write("config.env", text)


class CheckTest(CrmTest):
    def test_example_config_checks_ok_and_reads_account_pipelines_and_every_field_page(self):
        r = self.kl("check", "--config", EXAMPLE_CONFIG)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.err, "")
        lines = r.out.splitlines()
        self.assertRegex(lines[0], r"^CHECK +VALUE +RESULT +DETAIL$")
        self.assertRegex(r.out, r"\naccount +intermigro +ok +token accepted")
        self.assertRegex(r.out, r"\nKOMMO_PIPELINE_ID +12984871 +ok +pipeline \"Воронка\" \(main\)")
        self.assertRegex(r.out, r"\nKOMMO_PHONE_FIELD_ID +467700 +ok +contact field \"Phone\"")
        self.assertRegex(r.out, r"\nKOMMO_INCOME_FIELD_ID +1709444 +ok +lead field \"Income\" \(numeric")
        self.assertNotIn("PROBLEM", r.out)
        # the columns line up: RESULT starts at the same place on every line
        starts = {len(re.match(r"^(\S+(?: \S+)*\s+\S+\s+)", ln).group(1)) for ln in lines}
        self.assertEqual(len(starts), 1, r.out)
        got = paths(self.new_requests())
        self.assertEqual(got[:2], [("GET", "/api/v4/account"), ("GET", "/api/v4/leads/pipelines")])
        self.assertIn(("GET", "/api/v4/leads/custom_fields?page=1&limit=250"), got)
        self.assertIn(("GET", "/api/v4/contacts/custom_fields?page=1&limit=250"), got)
        for q in self.new_requests():
            self.assertEqual(q["headers"]["authorization"], "Bearer " + TOKEN)

    def test_wrong_pipeline_and_field_ids_are_named_with_their_origin_and_exit_78(self):
        cfg = self.config("KOMMO_PIPELINE_ID=999\nKOMMO_TELEGRAM_FIELD_ID=1709369\n"
                          "KOMMO_PHONE_FIELD_ID=488804\nKOMMO_INCOME_FIELD_ID=1711074\n")
        r = self.kl("check", "--config", cfg)
        self.assertEqual(r.code, 78, r)
        self.assertRegex(r.out, r"\nKOMMO_PIPELINE_ID +999 +PROBLEM +the account has no pipeline with this id "
                                r"\(it has 12984871 \"Воронка\"")
        self.assertRegex(r.out, r"\nKOMMO_TELEGRAM_FIELD_ID +1709369 +PROBLEM +the account has no contact field")
        self.assertRegex(r.out, r"\nKOMMO_PHONE_FIELD_ID +488804 +PROBLEM +this id is a lead field")
        self.assertRegex(r.out, r"\nKOMMO_INCOME_FIELD_ID +1711074 +PROBLEM .*--income needs a numeric field")
        self.assertIn(f"kommo-lead: problem: KOMMO_PIPELINE_ID=999 (from {cfg}:1): ", r.err)
        self.assertIn(f"kommo-lead: problem: KOMMO_TELEGRAM_FIELD_ID=1709369 (from {cfg}:2): ", r.err)
        self.assertIn("kommo-lead: 4 problems: fix the configuration", r.err)

    def test_a_field_id_that_is_not_the_accounts_phone_field_is_a_problem(self):
        cfg = self.config("KOMMO_PHONE_FIELD_ID=1709360\n")
        r = self.kl("check", "--config", cfg)
        self.assertEqual(r.code, 78, r)
        self.assertRegex(r.out, r"\nKOMMO_PHONE_FIELD_ID +1709360 +PROBLEM +this id is contact field \"Telegram\" "
                                r"\(text\), not the account's contact field \"Phone\" \(multitext, code PHONE\) 467700")

    def test_a_flag_is_checked_in_place_of_the_config(self):
        r = self.kl("check", "--no-config", "--pipeline", "4242")
        self.assertEqual(r.code, 78, r)
        self.assertIn("problem: KOMMO_PIPELINE_ID=4242 (from --pipeline)", r.err)
        # with no ids at all: codes carry phone, email and UTM; the rest is unset, not a problem
        r = self.kl("check", "--no-config")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"\nKOMMO_PHONE_FIELD_ID +- +ok +not set: --phone is sent by field_code PHONE")
        self.assertRegex(r.out, r"\nKOMMO_CAREER_FIELD_ID +- +unset +not set: --career cannot be used")

    def test_incoming_leads_off_is_a_problem(self):
        control("PATCH", "account", {"is_unsorted_on": False})
        r = self.kl("check", "--no-config", "--json")
        self.assertEqual(r.code, 78, r)
        out = json.loads(r.out)
        self.assertFalse(out["ok"])
        self.assertFalse(out["account"]["is_unsorted_on"])
        inc = [c for c in out["checks"] if c["check"] == "incoming leads"][0]
        self.assertEqual((inc["value"], inc["result"]), ("off", "problem"))

    def test_json_lists_every_check(self):
        r = self.kl("check", "--config", EXAMPLE_CONFIG, "--json")
        self.assertEqual(r.code, 0, r)
        out = json.loads(r.out)
        self.assertTrue(out["ok"])
        self.assertEqual(out["account"], {"id": 31000001, "name": "intermigro", "subdomain": "intermigro",
                                          "is_unsorted_on": True})
        by = {c["check"]: c for c in out["checks"]}
        self.assertEqual(by["KOMMO_TELEGRAM_FIELD_ID"]["value"], "1709360")
        with open(EXAMPLE_CONFIG, encoding="utf-8") as f:
            line = f.read().splitlines().index("KOMMO_TELEGRAM_FIELD_ID=1709360") + 1
        self.assertEqual(by["KOMMO_TELEGRAM_FIELD_ID"]["origin"], f"{EXAMPLE_CONFIG}:{line}")
        self.assertEqual({c["result"] for c in out["checks"]}, {"ok"})

    def test_401_exits_77_and_stops_at_the_account(self):
        self.fault("401")
        r = self.kl("check", "--no-config")
        self.assertEqual(r.code, 77, r)
        self.assertIn("Kommo refused the API token", r.err)
        self.assertIn("the refused token came from --token-file", r.err)
        self.assertNotIn(TOKEN, r.err + r.out)
        self.assertEqual(paths(self.new_requests()), [("GET", "/api/v4/account")])

    def test_403_html_exits_77_as_blocked(self):
        self.fault("403html")
        r = self.kl("check", "--no-config")
        self.assertEqual(r.code, 77, r)
        self.assertIn("blocked by Kommo", r.err)
        self.assertEqual(r.out, "")


class CommandLineTest(CrmTest):
    def test_shared_options_before_the_command_work_as_after_it(self):
        after = self.kl("check", "--no-config", "--json", "-v")
        before = self.kl("--no-config", "--json", "-v", "check")
        self.assertEqual(before.code, after.code, before)
        self.assertEqual(json.loads(before.out), json.loads(after.out))
        self.assertIn("> GET ", before.err)
        self.assertEqual(len(self.new_requests()), 2 * sum("> GET " in l for l in after.err.splitlines()))

    def test_config_shows_each_value_and_its_origin_but_never_the_token(self):
        cfg = self.write("c.env", f"KOMMO_SUBDOMAIN=acme\n# comment\nKOMMO_API_TOKEN={TOKEN}\nKOMMO_PIPELINE_ID=11\n")
        r = self.kl("--config", cfg, "config", "--cacert", cfg, env={"KOMMO_PIPELINE_ID": "22"},
                    base_url=None, token_file=None)
        self.assertEqual(r.code, 0, r)
        lines = r.out.splitlines()
        self.assertIn(f"file:{cfg}:1\tKOMMO_SUBDOMAIN=acme", lines)
        self.assertIn(f"file:{cfg}:3\tKOMMO_API_TOKEN=(set)", lines)
        self.assertIn("environment\tKOMMO_PIPELINE_ID=22", lines)  # the environment beats the file
        self.assertIn(f"flag:--cacert\tKOMMO_CA_BUNDLE={cfg}", lines)
        self.assertIn("default\tKOMMO_SOURCE_NAME=kommo-lead", lines)
        self.assertIn(f"config file: {cfg}", r.err)
        self.assertNotIn(TOKEN, r.out + r.err)
        # a token file and a token command: their place, never their token; the command is not run
        mark = os.path.join(self.tmp.name, "ran")
        for flags, env, line in (
            (["--token-file", self.token_file], {}, "flag:--token-file\tKOMMO_API_TOKEN=(set)"),
            ([], {"KOMMO_TOKEN_COMMAND": f"touch {mark}; echo {TOKEN}"},
             "environment\tKOMMO_API_TOKEN=(set: from the command's output; not run)"),
            ([], {}, "default\tKOMMO_API_TOKEN=(unset)"),
        ):
            with self.subTest(line=line):
                r = self.kl("config", "--no-config", *flags, env=env, token_file=None)
                self.assertEqual(r.code, 0, r)
                self.assertIn(line, r.out.splitlines())
                self.assertNotIn(TOKEN, r.out + r.err)
        self.assertFalse(os.path.exists(mark))
        r = self.kl("config", "--no-config", "--json", env={"KOMMO_DOMAIN": "acme.amocrm.ru"}, token_file=None)
        objs = [json.loads(l) for l in r.out.splitlines()]
        self.assertIn({"key": "KOMMO_DOMAIN", "value": "acme.amocrm.ru", "origin": "environment"}, objs)
        self.assert_nothing_sent()

    def test_options_before_the_command_get_a_clear_message(self):
        r = self.kl("--name", "A", "check", token_file=None)
        self.assertEqual(r.code, 64, r)
        self.assertIn("the command comes first: kommo-lead check [OPTIONS]", r.err)
        r = self.kl("chek", token_file=None)
        self.assertIn('unknown command "chek" (did you mean check?)', r.err)
        r = self.kl("help", "leads", token_file=None)
        self.assertEqual(r.code, 0, r)
        self.assertTrue(r.out.startswith("Usage: kommo-lead leads search"))
        self.assert_nothing_sent()

    def test_a_closed_stdout_exits_74_before_anything_is_sent(self):
        r = self.kl("--no-config", "--name", "A", "--phone", "+79990000001", stdout=CLOSED)
        self.assertEqual(r.code, 74, r)
        self.assertIn("standard output is closed", r.err)
        self.assert_nothing_sent()

    def test_import_reads_russian_headers(self):
        csv = self.write("ru.csv", "Имя;Фамилия;Телефон;Почта\nАнна;Петрова;+79991234567;anna@example.com\n")
        r = self.kl("import", "--no-config", csv)
        self.assertEqual(r.code, 0, r)
        item = json.loads(self.only_request()["body"])[0]
        contact = item["_embedded"]["contacts"][0]
        self.assertEqual((contact["first_name"], contact["last_name"]), ("Анна", "Петрова"))


class FieldsTest(CrmTest):
    def test_a_list_longer_than_any_accounts_stops_with_a_clear_error(self):
        # memory stays bounded: at most 10,000 entries are kept, whatever the server sends
        control("POST", "fields", {"entity": "lead", "count": 10100})
        self.seen = len(control("GET", "requests"))
        r = self.kl("fields", "--no-config", "--json")
        self.assertEqual(r.code, 76, r)
        self.assertEqual(r.out, "")
        self.assertIn("Kommo's list at /api/v4/leads/custom_fields goes on past 10000 entries; stopping "
                      "(kommo-lead keeps no more in memory)", r.err)
        got = [p for m, p in paths(self.new_requests()) if "leads/custom_fields" in p]
        self.assertEqual(len(got), 40, "10,000 entries are 40 pages of 250: not one more is read")

    def test_every_page_of_fields_is_read(self):
        control("POST", "fields", {"entity": "lead", "count": 300})
        expected = all_fields("leads")
        expected_contacts = all_fields("contacts")
        self.assertGreater(len(expected), 300)
        self.seen = len(control("GET", "requests"))
        r = self.kl("fields", "--no-config", "--json")
        self.assertEqual(r.code, 0, r)
        out = json.loads(r.out)
        self.assertEqual([f["id"] for f in out["lead_fields"]], [f["id"] for f in expected])
        self.assertEqual([f["id"] for f in out["contact_fields"]], [f["id"] for f in expected_contacts])
        got = [p for m, p in paths(self.new_requests()) if "leads/custom_fields" in p]
        self.assertEqual(got, ["/api/v4/leads/custom_fields?page=1&limit=250",
                               "/api/v4/leads/custom_fields?page=2&limit=250"])

    def test_human_output_has_fields_enums_and_pipelines(self):
        r = self.kl("fields", "--no-config")
        self.assertEqual(r.code, 0, r)
        sections = r.out.split("\n\n")
        self.assertEqual([s.splitlines()[0] for s in sections], ["Lead fields", "Contact fields", "Pipelines"])
        self.assertRegex(sections[0], r"\n1709444 +numeric +Income\n")
        self.assertRegex(sections[0], r"\n467714 +UTM_SOURCE +tracking_data +utm_source\n")
        self.assertRegex(sections[1], r"\n467700 +PHONE +multitext +Phone\n")
        select = [f for f in all_fields("leads") if f["type"] == "select"][0]
        first = select["enums"][0]
        self.assertRegex(sections[0], rf"\n{select['id']} +select +{re.escape(select['name'])}\n"
                                      rf"  {first['id']} +enum +  {re.escape(first['value'])}\n")
        self.assertRegex(sections[2], r"\n12984871 +pipeline \(main\) +Воронка\n +72000001 +incoming +  НЕРАЗОБРАННОЕ\n")
        self.assertRegex(sections[2], r"\n +142 +won ")

    def test_env_output_is_a_config_that_checks_ok(self):
        r = self.kl("fields", "--no-config", "--env")
        self.assertEqual(r.code, 0, r)
        lines = [ln for ln in r.out.splitlines() if not ln.startswith("#")]
        self.assertEqual(lines, [
            "KOMMO_PIPELINE_ID=12984871", "KOMMO_PHONE_FIELD_ID=467700", "KOMMO_EMAIL_FIELD_ID=467702",
            "KOMMO_TELEGRAM_FIELD_ID=1709360", "KOMMO_CAREER_FIELD_ID=488804",
            "KOMMO_EDUCATION_FIELD_ID=1711074", "KOMMO_INCOME_FIELD_ID=1709444",
            "KOMMO_UTM_SOURCE_FIELD_ID=467714", "KOMMO_UTM_MEDIUM_FIELD_ID=467710",
            "KOMMO_UTM_CAMPAIGN_FIELD_ID=467712", "KOMMO_UTM_CONTENT_FIELD_ID=467708",
            "KOMMO_UTM_TERM_FIELD_ID=467716", "KOMMO_UTM_REFERRER_FIELD_ID=467718"])
        self.assertIn('# contact field "Phone" (multitext, code PHONE), matched by code\n', r.out)
        self.assertIn('# contact field "Telegram" (text), matched by name\n', r.out)
        cfg = self.config(r.out)
        r = self.kl("check", "--config", cfg)
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("unset", r.out)

    def test_env_comments_out_what_it_cannot_match_for_sure(self):
        control("POST", "fields", {"entity": "contact", "id": 1800001, "name": "Телеграм", "type": "text",
                                   "code": None})
        control("POST", "fields", {"entity": "lead", "id": 1800002, "name": "Доход", "type": "text",
                                   "code": None})
        r = self.kl("fields", "--no-config", "--env")
        self.assertEqual(r.code, 0, r)
        self.assertIn('# several contact fields are named like telegram: 1709360 "Telegram", '
                      '1800001 "Телеграм"; pick one\n#KOMMO_TELEGRAM_FIELD_ID=\n', r.out)
        # "Income" (numeric) and "Доход" (text) are both named like income: only one can take a number
        self.assertIn('# lead field "Income" (numeric), matched by name\nKOMMO_INCOME_FIELD_ID=1709444\n', r.out)

    def test_401_exits_77_and_a_502_is_retried(self):
        self.fault("401")
        r = self.kl("fields", "--no-config")
        self.assertEqual((r.code, r.out), (77, ""), r)
        self.seen = len(control("GET", "requests"))
        self.fault("502", "reset")
        r = self.kl("fields", "--no-config", "--json")
        self.assertEqual(r.code, 0, r)
        reqs = self.new_requests()
        self.assertEqual([q["path"] for q in reqs[:3]], ["/api/v4/leads/pipelines"] * 3)
        self.assertEqual(reqs[2]["status"], 200)


class SearchTest(CrmTest):
    def test_contacts_search_finds_a_contact_made_by_submit_and_shows_phones_and_emails(self):
        self.submit("--name", "Анна", "--last-name", "Петрова", "--phone", "+79991234567",
                    "--email", "anna@example.com")
        cid = control("GET", "entities")["contacts"][-1]["id"]
        self.seen = len(control("GET", "requests"))
        r = self.kl("contacts", "search", "--no-config", "+7 999 123-45-67")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^ID +NAME +PHONES +EMAILS\n"
                                rf"{cid} +Анна Петрова +\+79991234567 +anna@example\.com\n$")
        self.assertEqual(r.out.splitlines()[0].index("PHONES"), r.out.splitlines()[1].index("+7"))
        req = self.only_request()
        self.assertEqual(req["method"], "GET")
        self.assertEqual(urllib.parse.urlsplit(req["path"]).path, "/api/v4/contacts")
        # a phone is searched by its last ten digits, however it was typed
        self.assertEqual(query_of(req["path"]), {"query": ["9991234567"], "page": ["1"], "limit": ["50"]})
        r = self.kl("contacts", "search", "--no-config", "петрова", "--json")
        self.assertEqual(json.loads(r.out), [{"id": cid, "name": "Анна Петрова", "first_name": "Анна",
                                              "last_name": "Петрова", "phones": ["+79991234567"],
                                              "emails": ["anna@example.com"]}])

    def test_nothing_found_is_204_nothing_printed_exit_0(self):
        r = self.kl("contacts", "search", "--no-config", "nobody-here")
        self.assertEqual((r.code, r.out, r.err), (0, "", ""))
        self.assertEqual(self.only_request()["status"], 204)
        r = self.kl("leads", "search", "--no-config", "nobody-here", "--json")
        self.assertEqual((r.code, r.out), (0, "[]\n"))

    def test_leads_search_shows_pipeline_and_status_by_name(self):
        self.submit("--name", "Олег", "--phone", "+79990000001", "--price", "700")
        lid = control("GET", "entities")["leads"][-1]["id"]
        cid = control("GET", "entities")["contacts"][-1]["id"]
        self.seen = len(control("GET", "requests"))
        r = self.kl("leads", "search", "--no-config", "Олег")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^ID +NAME +PRICE +PIPELINE +STATUS +CONTACTS\n"
                                rf"{lid} +Заявка: Олег +700 +Воронка +НЕРАЗОБРАННОЕ +{cid}\n$")
        # the leads come with their linked contacts (with=contacts), then the pipelines' names
        self.assertEqual(paths(self.new_requests()), [
            ("GET", "/api/v4/leads?with=contacts&query=%D0%9E%D0%BB%D0%B5%D0%B3&page=1&limit=50"),
            ("GET", "/api/v4/leads/pipelines")])
        r = self.kl("leads", "search", "--no-config", "Олег", "--json")
        lead = [x for x in control("GET", "entities")["leads"] if x["id"] == lid][0]
        self.assertEqual(json.loads(r.out), [{"id": lid, "name": "Заявка: Олег", "price": 700,
                                              "pipeline_id": 12984871, "pipeline": "Воронка",
                                              "status_id": 72000001, "status": "НЕРАЗОБРАННОЕ",
                                              "responsible_user_id": lead["responsible_user_id"] or None,
                                              "contacts": [{"id": cid, "is_main": True}]}])

    def test_first_prints_only_an_entity_that_really_holds_the_query_or_exits_1(self):
        # listed before the real ones by Kommo's loose search (parts of any field)
        control("POST", "contacts", [{"name": "Олег второй"}, {"name": "Иван Петров", "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": "+79991234567"}]}]}])
        ivan = control("GET", "entities")["contacts"][-1]["id"]
        self.submit("--name", "Олег", "--phone", "+79990000001", "--email", "oleg@example.com")
        ents = control("GET", "entities")
        lid, cid = ents["leads"][-1]["id"], ents["contacts"][-1]["id"]
        control("POST", "contacts", [{"name": "Анна Петрова (VIP)", "first_name": "Анна", "last_name": "Петрова"}])
        anna = control("GET", "entities")["contacts"][-1]["id"]
        for args, out in ((("leads", "search", "заявка: ОЛЕГ"), lid), (("contacts", "search", "Олег"), cid),
                          (("contacts", "search", " олег "), cid),
                          (("contacts", "search", "Анна Петрова"), anna),  # first and last name
                          (("contacts", "search", "8 999 000-00-01"), cid),
                          (("contacts", "search", "+7 999 123-45-67"), ivan),
                          (("contacts", "search", "OLEG@example.com"), cid)):
            self.seen = len(control("GET", "requests"))
            r = self.kl(*args, "--no-config", "--first")
            self.assertEqual((r.code, r.out, r.err), (0, f"{out}\n", ""), args)
            # one page of Kommo's largest, as the loose search may list others first
            self.assertEqual(query_of(self.only_request()["path"])["limit"], ["250"])
        for args, what in ((("leads", "search", "nobody"), "lead"), (("contacts", "search", "nobody"), "contact"),
                           (("leads", "search", "Олег"), "lead"),        # part of "Заявка: Олег"
                           (("contacts", "search", "Иван"), "contact"),  # part of "Иван Петров"
                           (("contacts", "search", "Петров"), "contact"),
                           (("contacts", "search", "+79990000009"), "contact"),
                           (("contacts", "search", "le@example.com"), "contact")):
            r = self.kl(*args, "--no-config", "--first")
            self.assertEqual((r.code, r.out), (1, ""), r)
            self.assertEqual(r.err, f'kommo-lead: no {what} matches "{args[2]}"\n')
        # digits that are no phone: refused, nothing sent (a name search would find Иван's number)
        self.seen = len(control("GET", "requests"))
        for q, n in (("12345", 5), ("1234", 4), ("+7 (999) 12", 6)):
            r = self.kl("contacts", "search", "--no-config", "--first", q)
            self.assertEqual((r.code, r.out), (64, ""), r)
            self.assertEqual(r.err, "kommo-lead: contacts search --first QUERY is a whole phone number, an email or "
                                    f'a contact\'s full name: "{q}" has {n} digits; a phone number has 7 to 15, '
                                    "e.g. +79991234567\n")
        self.assertEqual(self.new_requests(), [])
        # two of one name: no id is right
        control("POST", "contacts", [{"name": "ОЛЕГ"}])
        other = control("GET", "entities")["contacts"][-1]["id"]
        r = self.kl("contacts", "search", "--no-config", "--first", "Олег")
        self.assertEqual((r.code, r.out), (65, ""), r)
        self.assertEqual(r.err, f'kommo-lead: two or more contacts are named "Олег" ({cid}, {other}): search by '
                                "the contact's phone or email, or give its id\n")
        # a query with its white space doubled is sent collapsed, so Kommo's search finds the name
        self.seen = len(control("GET", "requests"))
        r = self.kl("contacts", "search", "--no-config", "--first", " Анна   Петрова ")
        self.assertEqual((r.code, r.out), (0, f"{anna}\n"), r)
        self.assertEqual(query_of(self.only_request()["path"])["query"], ["Анна Петрова"])
        # two holding one email or phone: no id is right either
        control("POST", "contacts", [{"name": "Олег другой", "custom_fields_values": [
            {"field_code": "EMAIL", "values": [{"value": "Oleg@Example.com"}]},
            {"field_code": "PHONE", "values": [{"value": "+79990000001"}]}]}])
        twin = control("GET", "entities")["contacts"][-1]["id"]
        for q, what in (("oleg@example.com", "email"), ("+79990000001", "phone")):
            r = self.kl("contacts", "search", "--no-config", "--first", q)
            self.assertEqual((r.code, r.out), (65, ""), r)
            self.assertEqual(r.err, f'kommo-lead: two or more contacts hold the {what} "{q}" ({cid}, {twin}): '
                                    "give the contact's id\n")
        # an error is not "nothing matches"
        self.fault("401")
        r = self.kl("contacts", "search", "--no-config", "--first", "Олег")
        self.assertEqual(r.code, 77, r)
        r = self.kl("contacts", "search", "--no-config", "--first", "Олег", "--json")
        self.assertEqual(r.code, 64, r)
        self.assertIn("--first and --json are two outputs", r.err)

    def test_limit_pages_until_it_is_reached(self):
        control("POST", "leads", [{"name": f"Bulk {i}"} for i in range(300)])
        r = self.kl("leads", "search", "--no-config", "Bulk", "--limit", "260", "--json")
        self.assertEqual(r.code, 0, r)
        out = json.loads(r.out)
        self.assertEqual(len(out), 260)
        self.assertEqual(len({x["id"] for x in out}), 260)
        got = [query_of(p) for m, p in paths(self.new_requests()) if p.startswith("/api/v4/leads?")]
        self.assertEqual([(q["page"], q["limit"]) for q in got], [(["1"], ["250"]), (["2"], ["250"])])
        r = self.kl("leads", "search", "--no-config", "Bulk", "--limit", "7")
        self.assertEqual(len(r.out.splitlines()), 8)  # the header and 7

    def test_a_429_is_waited_out_and_retried(self):
        self.fault("429")
        r = self.kl("contacts", "search", "--no-config", "x")
        self.assertEqual(r.code, 0, r)
        reqs = self.new_requests()
        self.assertEqual([q["status"] for q in reqs], [429, 204])
        self.assertGreaterEqual(reqs[1]["time"] - reqs[0]["time"], 0.9)  # Kommo counts per second
        # a 429 means Kommo did nothing: a create is retried too, once
        self.seen = len(control("GET", "requests"))
        self.fault("429")
        r = self.kl("leads", "create", "--no-config", "--name", "After 429")
        self.assertEqual(r.code, 0, r)
        self.assertEqual([(q["method"], q["status"]) for q in self.new_requests()], [("POST", 429), ("POST", 200)])

    def test_a_phone_is_found_however_it_was_typed(self):
        self.submit("--name", "Анна", "--phone", "+79991234567")
        self.kl("contacts", "create", "--no-config", "--name", "Борис", "--phone", "89165554433")
        for q, name in (("8 (999) 123-45-67", "Анна"), ("9991234567", "Анна"), ("+7 916 555 44 33", "Борис")):
            r = self.kl("contacts", "search", "--no-config", q, "--json")
            self.assertEqual([c["name"] for c in json.loads(r.out)], [name], (q, r))

    def test_a_cut_short_list_says_so(self):
        control("POST", "contacts", [{"name": f"Клиент {i}"} for i in range(30)])
        r = self.kl("contacts", "search", "--no-config", "Клиент", "--limit", "10")
        self.assertEqual((r.code, len(r.out.splitlines())), (0, 11), r)
        self.assertIn("showing the first 10; Kommo has more: raise --limit", r.err)
        r = self.kl("contacts", "search", "--no-config", "Клиент", "--limit", "30")
        self.assertEqual(r.err, "")

    def test_401_and_403_html_exit_77(self):
        self.fault("401")
        r = self.kl("leads", "search", "--no-config", "x")
        self.assertEqual(r.code, 77, r)
        self.fault("403html")
        r = self.kl("contacts", "search", "--no-config", "x")
        self.assertEqual(r.code, 77, r)
        self.assertIn("blocked by Kommo", r.err)

    def test_a_query_with_control_characters_is_refused_unsent(self):
        r = self.kl("contacts", "search", "--no-config", "a\x07b")
        self.assertEqual(r.code, 64, r)
        self.assert_nothing_sent()


class CreateUpdateTest(CrmTest):
    def test_leads_create_sends_exactly_the_options_and_prints_the_id(self):
        r = self.kl("leads", "create", "--config", EXAMPLE_CONFIG, "--name", " Сделка ", "--price", "50000",
                    "--status", "72000002", "--responsible", "11000002", "--field", "488804=Инженер",
                    "--field", "1709444:number=1500.50")
        self.assertEqual(r.code, 0, r)
        lid = control("GET", "entities")["leads"][-1]["id"]
        self.assertEqual(r.out, f"lead_id={lid}\n")
        req = self.only_request()
        self.assertEqual((req["method"], req["path"]), ("POST", "/api/v4/leads"))
        self.assertEqual(req["body"], '[{"name":"Сделка","price":50000,"pipeline_id":12984871,'
                                      '"status_id":72000002,"responsible_user_id":11000002,'
                                      '"custom_fields_values":[{"field_id":488804,"values":[{"value":"Инженер"}]},'
                                      '{"field_id":1709444,"values":[{"value":1500.50}]}]}]')
        r = self.kl("leads", "create", "--no-config", "--name", "B", "--json")
        self.assertEqual(json.loads(r.out), {"lead_id": lid + 1})

    def test_leads_create_links_the_contacts_given_and_names_one_kommo_does_not_know(self):
        r = self.kl("contacts", "create", "--no-config", "--name", "Анна")
        cid = int(r.out.strip().split("=")[1])
        self.seen = len(control("GET", "requests"))
        r = self.kl("leads", "create", "--no-config", "--name", "Сделка", "--contact", str(cid), "--json")
        self.assertEqual(r.code, 0, r)
        lid = json.loads(r.out)["lead_id"]
        self.assertEqual(self.only_request()["body"], f'[{{"name":"Сделка","_embedded":{{"contacts":[{{"id":{cid}}}]}}}}]')
        lead = [x for x in control("GET", "entities")["leads"] if x["id"] == lid][0]
        self.assertEqual(lead["contacts"], [cid])
        # an id the account does not have: Kommo's validation error, named by its flag
        self.seen = len(control("GET", "requests"))
        r = self.kl("leads", "create", "--no-config", "--name", "X", "--contact", str(cid), "--contact", "123")
        self.assertEqual(r.code, 65, r)
        self.assertIn("Kommo refused the lead (HTTP 400", r.err)
        self.assertRegex(r.err, r"NotSupportedChoice at \S*_embedded\.contacts\.1\.id \(--contact 123: the account "
                                r"has no contact 123; kommo-lead contacts search finds a contact's id\): ")
        self.assertEqual(len(control("GET", "entities")["leads"]), 1)
        for bad, msg in ((["--contact", "12ab"], '"12ab" is not an id'), (["--contact", "5", "--contact", "5"],
                                                                          "--contact 5 given twice")):
            r = self.kl("leads", "create", "--no-config", "--name", "X", *bad)
            self.assertEqual(r.code, 64, r)
            self.assertIn(msg, r.err)
        r = self.kl("leads", "update", str(lid), "--no-config", "--contact", str(cid))
        self.assertEqual(r.code, 64, r)
        self.assertIn("--contact is not an option of leads update", r.err)
        self.assertEqual(len(self.new_requests()), 1)

    def test_leads_create_and_update_take_the_leads_own_fields(self):
        r = self.kl("leads", "create", "--config", EXAMPLE_CONFIG, "--name", "Сделка", "--career", " Инженер ",
                    "--income", "1 500,50", "--source", "partner", "--field", "1711074=МГУ", "--dry-run")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(json.loads(r.out)[0]["custom_fields_values"], [
            {"field_id": 488804, "values": [{"value": "Инженер"}]},
            {"field_id": 1709444, "values": [{"value": 1500.50}]},
            {"field_id": 467714, "values": [{"value": "partner"}]},
            {"field_id": 1711074, "values": [{"value": "МГУ"}]}])
        self.submit("--name", "Олег", "--phone", "+79990000001")
        lid = control("GET", "entities")["leads"][-1]["id"]
        self.seen = len(control("GET", "requests"))
        r = self.kl("leads", "update", str(lid), "--config", EXAMPLE_CONFIG, "--education", "МГУ",
                    "--income", "250 000", "--utm-campaign", "весна")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(json.loads(self.only_request()["body"]), {"custom_fields_values": [
            {"field_id": 1711074, "values": [{"value": "МГУ"}]},
            {"field_id": 1709444, "values": [{"value": 250000}]},
            {"field_id": 467712, "values": [{"value": "весна"}]}]})
        lead = [x for x in control("GET", "entities")["leads"] if x["id"] == lid][0]
        got = {f["field_id"]: f["values"] for f in lead["custom_fields_values"]}
        self.assertEqual((got[1711074], got[1709444]), ([{"value": "МГУ"}], [{"value": 250000}]))
        # checked as submit checks them, before anything is sent
        self.seen = len(control("GET", "requests"))
        with_ids = ["--config", EXAMPLE_CONFIG]
        for args, code, msg in ((with_ids + ["--income", "250,000"], 65, "--income"),
                                (["--no-config", "--career", "x"], 78, "set KOMMO_CAREER_FIELD_ID"),
                                (with_ids + ["--career", "x", "--field", "488804=y"], 65, "which --career already sets")):
            r = self.kl("leads", "update", str(lid), *args)
            self.assertEqual(r.code, code, r)
            self.assertIn(msg, r.err)
        self.assert_nothing_sent()

    def test_leads_create_refused_status_names_the_flag_and_exits_65(self):
        r = self.kl("leads", "create", "--no-config", "--name", "X", "--status", "999")
        self.assertEqual(r.code, 65, r)
        self.assertIn("Kommo refused the lead (HTTP 400", r.err)
        self.assertRegex(r.err, r"NotSupportedChoice at \S*status_id \(--status: the account has no status 999 in "
                                r"the lead's pipeline; kommo-lead fields lists the pipelines and their statuses\): ")
        # with the pipeline sent, the status is missing from that one
        r = self.kl("leads", "create", "--no-config", "--name", "X", "--pipeline", "12984871", "--status", "999")
        self.assertEqual(r.code, 65, r)
        self.assertRegex(r.err, r"NotSupportedChoice at \S*status_id \(--status: the account has no status 999 in "
                                r"pipeline 12984871; kommo-lead fields lists the pipelines and their statuses\): ")

    def test_leads_update_patches_only_what_was_given(self):
        self.submit("--name", "Олег", "--phone", "+79990000001")
        lid = control("GET", "entities")["leads"][-1]["id"]
        self.seen = len(control("GET", "requests"))
        # the configured pipeline is for create: an update does not move the lead
        r = self.kl("leads", "update", str(lid), "--config", EXAMPLE_CONFIG, "--status", "142")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, rf"^lead_id={lid} updated_at=\d+\n$")
        req = self.only_request()
        self.assertEqual((req["method"], req["path"], req["body"]), ("PATCH", f"/api/v4/leads/{lid}",
                                                                     '{"status_id":142}'))
        lead = [x for x in control("GET", "entities")["leads"] if x["id"] == lid][0]
        self.assertEqual(lead["status_id"], 142)
        r = self.kl("leads", "update", str(lid), "--no-config", "--price", "10", "--json")
        out = json.loads(r.out)
        self.assertEqual(set(out), {"lead_id", "updated_at"})
        self.assertEqual(out["lead_id"], lid)
        self.assertIsInstance(out["updated_at"], int)

    def test_leads_update_of_a_missing_or_invalid_id(self):
        r = self.kl("leads", "update", "99999999", "--no-config", "--name", "x")
        self.assertEqual(r.code, 65, r)
        self.assertEqual((r.out, r.err), ("", "kommo-lead: Kommo has no lead 99999999 (HTTP 404): find the lead's id "
                                              "with kommo-lead leads search\nkommo-lead: (if every command gets HTTP "
                                              "404, check KOMMO_SUBDOMAIN, KOMMO_DOMAIN or KOMMO_BASE_URL)\n"))
        self.seen = len(control("GET", "requests"))
        r = self.kl("leads", "update", "12ab", "--no-config", "--name", "x")
        self.assertEqual(r.code, 64, r)
        self.assertIn('"12ab" is not an id', r.err)
        self.assert_nothing_sent()

    def test_contacts_create_with_ids_or_field_codes(self):
        r = self.kl("contacts", "create", "--config", EXAMPLE_CONFIG, "--first-name", "Анна",
                    "--last-name", "Петрова", "--phone", "+7 (999) 123-45-67", "--email", "Anna@Example.com",
                    "--created-by", "11000002")
        self.assertEqual(r.code, 0, r)
        cid = control("GET", "entities")["contacts"][-1]["id"]
        self.assertEqual(r.out, f"contact_id={cid}\n")
        req = self.only_request()
        self.assertEqual((req["method"], req["path"]), ("POST", "/api/v4/contacts"))
        self.assertEqual(json.loads(req["body"]), [{
            "name": "Анна Петрова", "first_name": "Анна", "last_name": "Петрова", "created_by": 11000002,
            "custom_fields_values": [{"field_id": 467700, "values": [{"value": "+79991234567"}]},
                                     {"field_id": 467702, "values": [{"value": "Anna@Example.com"}]}]}])
        self.seen = len(control("GET", "requests"))
        r = self.kl("contacts", "create", "--no-config", "--name", "B", "--phone", "+79990000002", "--dry-run")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(json.loads(r.out), [{"name": "B", "custom_fields_values": [
            {"field_code": "PHONE", "values": [{"value": "+79990000002"}]}]}])
        self.assert_nothing_sent()

    def test_bad_values_are_refused_before_anything_is_sent(self):
        r = self.kl("contacts", "create", "--no-config", "--name", "B", "--phone", "12")
        self.assertEqual(r.code, 65, r)
        self.assertIn("--phone", r.err)
        r = self.kl("leads", "create", "--no-config", "--name", "B", "--field", "1709444:number=lots")
        self.assertEqual(r.code, 65, r)
        r = self.kl("leads", "create", "--no-config", "--name", "B", "--field", "488804=")
        self.assertEqual(r.code, 65, r)
        self.assertIn("the value is empty", r.err)
        self.assert_nothing_sent()

    def test_an_unreadable_200_on_create_says_it_was_probably_created(self):
        for fault in ("truncated", "garbage"):
            self.fault(fault)
            r = self.kl("contacts", "create", "--no-config", "--name", "G " + fault)
            self.assertEqual(r.code, 76, r)
            self.assertIn("Kommo answered 200, so the contact was probably created", r.err)
        names = [c["name"] for c in control("GET", "entities")["contacts"]]
        self.assertIn("G truncated", names)

    def test_401_and_403_on_create_and_update(self):
        self.fault("401")
        r = self.kl("leads", "create", "--no-config", "--name", "B")
        self.assertEqual(r.code, 77, r)
        self.fault("403html")
        r = self.kl("leads", "update", "1", "--no-config", "--name", "B")
        self.assertEqual(r.code, 77, r)
        self.assertIn("blocked by Kommo", r.err)

    def test_a_500_on_create_warns_the_outcome_is_unknown(self):
        self.fault("500")
        r = self.kl("leads", "create", "--no-config", "--name", "B")
        self.assertEqual(r.code, 69, r)
        self.assertIn("the lead may or may not have been created", r.err)
        self.assertEqual(len(self.new_requests()), 1)  # never retried


class SkipExistingTest(CrmTest):
    def test_submit_skips_a_person_whose_phone_is_already_a_contact(self):
        self.submit("--name", "Анна", "--phone", "+79991234567")
        cid = control("GET", "entities")["contacts"][-1]["id"]
        self.seen = len(control("GET", "requests"))
        r = self.kl("--no-config", "--name", "Анна", "--phone", "8 999 123 45 67", "--skip-existing")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.out, f"skipped contact_id={cid}\n")
        self.assertIn(f"contact {cid} already has the phone", r.err)
        req = self.only_request()
        self.assertEqual(req["method"], "GET")
        self.assertEqual(query_of(req["path"])["query"], ["9991234567"])
        r = self.kl("--no-config", "--name", "Анна", "--phone", "+79991234567", "--skip-existing", "--json")
        self.assertEqual(json.loads(r.out), {"status": "skipped", "lead_id": None, "contact_id": cid,
                                             "existing": "phone", "source_uid": None})

    def test_submit_searches_phone_then_email_then_sends(self):
        self.submit("--name", "Анна", "--email", "anna@example.com")
        cid = control("GET", "entities")["contacts"][-1]["id"]
        self.seen = len(control("GET", "requests"))
        r = self.kl("--no-config", "--name", "A", "--phone", "+79990000009", "--email", "ANNA@example.com",
                    "--skip-existing")
        self.assertEqual((r.code, r.out), (0, f"skipped contact_id={cid}\n"), r)
        self.assertEqual([query_of(q["path"])["query"] for q in self.new_requests()],
                         [["9990000009"], ["ANNA@example.com"]])
        self.seen = len(control("GET", "requests"))
        r = self.kl("--no-config", "--name", "B", "--phone", "+79990000010", "--email", "b@example.com",
                    "--skip-existing")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^lead_id=\d+ contact_id=\d+\n$")
        self.assertEqual([(q["method"], q["status"]) for q in self.new_requests()],
                         [("GET", 204), ("GET", 204), ("POST", 200)])
        self.assertEqual(self.new_requests()[2]["path"], FORMS)

    def test_a_create_lost_on_the_searches_kept_alive_connection_is_never_resent_unseen(self):
        # --skip-existing's searches leave a kept-alive connection; the POST on it is carried
        # out and the connection dies before any reply byte. libcurl would resend the body
        # on a new connection by itself: the tool refuses the rewind, so Kommo sees one POST
        forms = "/api/v4/leads/unsorted/forms"
        self.fault("drop@" + forms)
        before = len(control("GET", "entities")["leads"])
        r = self.kl("--no-config", "--name", "Анна", "--phone", "+79990000123",
                    "--email", "a123@example.com", "--skip-existing", "--source-uid", "u-drop")
        posts = [q for q in self.new_requests() if q["method"] == "POST"]
        self.assertEqual([q["path"] for q in posts], [forms], r)
        leads = control("GET", "entities")["leads"]
        self.assertEqual(len(leads), before + 1)
        # the answer was lost: the lead is found among Incoming leads, its ids printed
        self.assertEqual(r.code, 0, r)
        self.assertIn("the lead is in Kommo's Incoming leads (source_uid u-drop): it was created", r.err)
        self.assertRegex(r.out, rf"^lead_id={leads[-1]['id']} contact_id=\d+\n$")

    def test_a_loose_match_of_kommos_search_is_not_a_match(self):
        # Kommo's query matches parts of numbers; only the same number counts
        # (a number stored without its country code, which holds the one asked for)
        self.kl("contacts", "create", "--no-config", "--name", "Анна", "--phone", "99912345670")
        self.seen = len(control("GET", "requests"))
        r = self.kl("--no-config", "--name", "B", "--phone", "+79991234567", "--skip-existing")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^lead_id=\d+ contact_id=\d+\n$")
        reqs = self.new_requests()
        self.assertEqual([(q["method"], q["status"]) for q in reqs], [("GET", 200), ("POST", 200)])

    def test_the_same_number_without_country_code_or_with_00_is_a_match(self):
        self.kl("contacts", "create", "--no-config", "--name", "Old", "--phone", "999 222 33 44")
        self.kl("contacts", "create", "--no-config", "--name", "Olga", "--phone", "+4915123456789")
        ents = {c["name"]: c["id"] for c in control("GET", "entities")["contacts"]}
        r = self.kl("--no-config", "--name", "Иван", "--phone", "+7 999 222-33-44", "--skip-existing")
        self.assertEqual((r.code, r.out), (0, f"skipped contact_id={ents['Old']}\n"), r)
        r = self.kl("--no-config", "--name", "Olga", "--phone", "0049 151 2345 6789", "--skip-existing")
        self.assertEqual((r.code, r.out), (0, f"skipped contact_id={ents['Olga']}\n"), r)

    def test_a_failing_search_sends_nothing(self):
        self.fault("401")
        r = self.kl("--no-config", "--name", "B", "--phone", "+79990000010", "--skip-existing")
        self.assertEqual(r.code, 77, r)
        self.assertIn("nothing was sent", r.err)
        self.assertEqual([q["method"] for q in self.new_requests()], ["GET"])

    def test_import_skips_existing_rows_and_sends_the_rest_in_one_batch(self):
        self.submit("--name", "Анна", "--phone", "+79991234567")
        cid = control("GET", "entities")["contacts"][-1]["id"]
        self.seen = len(control("GET", "requests"))
        csv = self.write("in.csv", "name,phone\nАнна,+7 999 123-45-67\nБорис,+79990000001\nВера,+79990000002\n")
        r = self.kl("import", "--no-config", "--skip-existing", csv)
        self.assertEqual(r.code, 0, r)
        lines = r.out.splitlines()
        self.assertEqual(lines[0], f"row=2 skipped contact_id={cid} (a contact with this phone exists)")
        self.assertRegex(lines[1], r"^row=3 lead_id=\d+ contact_id=\d+$")
        self.assertRegex(lines[2], r"^row=4 lead_id=\d+ contact_id=\d+$")
        reqs = self.new_requests()
        self.assertEqual([q["method"] for q in reqs], ["GET", "GET", "GET", "POST"])
        self.assertEqual([it["_embedded"]["contacts"][0]["name"] for it in json.loads(reqs[3]["body"])],
                         ["Борис", "Вера"])
        self.assertIn("1 skipped; 4 requests", r.err)
        r = self.kl("import", "--no-config", "--skip-existing", "--json", csv)
        rows = [json.loads(ln) for ln in r.out.splitlines()]
        self.assertEqual(rows.pop()["skipped"], 3)
        self.assertEqual([(x["status"], x["existing"]) for x in rows],
                         [("skipped", "phone"), ("skipped", "phone"), ("skipped", "phone")])
        self.assertIsNone(rows[0]["lead_id"])

    def test_import_searches_count_against_the_rate_limit(self):
        csv = self.write("in.csv", "name,phone\n" + "".join(f"N{i},+7999000{i:04d}\n" for i in range(5)))
        r = self.kl("import", "--no-config", "--skip-existing", "--rate", "3", "--batch-size", "2", csv)
        self.assertEqual(r.code, 0, r)
        reqs = self.new_requests()
        # searches and batches interleave, all under one limit
        self.assertEqual([q["method"] for q in reqs], ["GET", "GET", "POST", "GET", "GET", "POST", "GET", "POST"])
        times = sorted(q["time"] for q in reqs)
        for i in range(len(times) - 3):
            self.assertGreaterEqual(times[i + 3] - times[i], 1.0, times)

    def test_import_stops_when_the_search_fails(self):
        csv = self.write("in.csv", "name,phone\nA,+79990000001\nB,+79990000002\n")
        self.fault("403html")
        r = self.kl("import", "--no-config", "--skip-existing", csv)
        self.assertEqual(r.code, 77, r)
        self.assertIn("stopping the import: searching Kommo's contacts failed", r.err)
        self.assertRegex(r.out, r"^row=2 not sent: the search for an existing contact failed")
        self.assertNotIn("POST", [q["method"] for q in self.new_requests()])


if __name__ == "__main__":
    unittest.main(verbosity=2)
