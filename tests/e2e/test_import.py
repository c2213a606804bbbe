#!/usr/bin/env python3
"""End-to-end tests of `kommo-lead import`: CSV files and pipes against the
Kommo sandbox, asserting on the requests it recorded and the rows printed."""
import json
import os
import subprocess
import tempfile
import time
import unittest

from kltest import FORMS, SOURCE, SandboxTest, control


def items(req):
    return json.loads(req["body"])


class ImportTest(SandboxTest):
    def imp(self, csv, *args, encoding="utf-8", stdin=False, **kw):
        data = csv.encode(encoding) if isinstance(csv, str) else csv
        if stdin:
            return self.kl("import", "--no-config", *args, stdin=data, **kw)
        path = os.path.join(self.tmp.name, "in.csv")
        with open(path, "wb") as f:
            f.write(data)
        return self.kl("import", "--no-config", *args, path, **kw)

    def sent_items(self):
        return [it for req in self.new_requests() if req["status"] == 200 for it in items(req)]

    # --- CSV as spreadsheets write it -------------------------------------------------

    def test_quotes_newlines_crlf_bom_and_blank_lines(self):
        csv = ("\ufeffname,last_name,phone,lead_name,note\r\n"
               "\"Иван\",\"Петров, мл.\",+79990000001,\"Заявка \"\"VIP\"\"\",\"две\r\nстроки\"\r\n"
               "\r\n"
               ",,,,\r\n"
               "Анна,,+79990000002,,\r\n")
        r = self.imp(csv, "--ignore-unknown-columns")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^row=2 lead_id=\d+ contact_id=\d+\nrow=5 lead_id=\d+ contact_id=\d+\n$")
        its = self.sent_items()
        self.assertEqual([it["request_id"] for it in its], ["2", "5"])
        c = its[0]["_embedded"]["contacts"][0]
        self.assertEqual((c["first_name"], c["last_name"]), ("Иван", "Петров, мл."))
        self.assertEqual(its[0]["_embedded"]["leads"][0]["name"], "Заявка \"VIP\"")
        self.assertNotIn("last_name", its[1]["_embedded"]["contacts"][0])
        # a line break inside a value that goes to Kommo is refused, naming the place
        r = self.imp('name,phone\n"Ив\nан",+79990000003\n')
        self.assertEqual(r.code, 65, r)
        self.assertIn('row=2 rejected: row 2, column "name": "Ив\\nан" has a line break or a tab: this value is one line', r.out)

    def test_semicolon_cp1251_file_from_russian_excel(self):
        csv = "Имя;Фамилия;Телефон;Доход\r\nОльга;Смирнова;8 (999) 000-00-03;120000,50\r\n"
        r = self.imp(csv, "--encoding", "cp1251", "--map", "Имя=name", "--map", "Фамилия=last_name",
                     "--map", "Телефон=phone", "--map", "Доход=income",
                     env={"KOMMO_INCOME_FIELD_ID": "1709444"}, encoding="cp1251")
        self.assertEqual(r.code, 0, r)
        it = self.sent_items()[0]
        self.assertEqual(it["_embedded"]["contacts"][0]["name"], "Ольга Смирнова")
        self.assertEqual(it["_embedded"]["contacts"][0]["custom_fields_values"][0]["values"][0]["value"],
                         "89990000003")
        self.assertEqual(it["_embedded"]["leads"][0]["custom_fields_values"],
                         [{"field_id": 1709444, "values": [{"value": 120000.5}]}])

    def test_tab_delimited_from_stdin_without_header(self):
        r = self.imp("Иван\t+79990000004\tgoogle\n", "--columns", "name,phone,utm_source", "-",
                     stdin=True)
        self.assertEqual(r.code, 0, r)
        it = self.sent_items()[0]
        self.assertEqual(it["_embedded"]["contacts"][0]["first_name"], "Иван")
        self.assertEqual(it["_embedded"]["leads"][0]["custom_fields_values"],
                         [{"field_code": "UTM_SOURCE", "values": [{"value": "google"}]}])

    def test_flags_are_defaults_and_cells_win(self):
        csv = "name,phone,utm_source,lead:1709500\nA,+79990000005,,\nB,+79990000006,partner,Берлин\n"
        r = self.imp(csv, "--source", "web", "--form-name", "Выгрузка", "--field", "lead:1709500=Москва")
        self.assertEqual(r.code, 0, r)
        its = self.sent_items()
        srcs = [it["_embedded"]["leads"][0]["custom_fields_values"][0]["values"][0]["value"] for it in its]
        self.assertEqual(srcs, ["web", "partner"])
        self.assertEqual({it["metadata"]["form_name"] for it in its}, {"Выгрузка"})
        cities = [[v["values"][0]["value"] for v in it["_embedded"]["leads"][0]["custom_fields_values"]
                   if v.get("field_id") == 1709500] for it in its]
        self.assertEqual(cities, [["Москва"], ["Берлин"]])

    def test_every_row_gets_its_own_source_uid_unless_a_column_gives_one(self):
        csv = "name,phone\nA,+79990000007\nA,+79990000007\nA,+79990000007\n"
        r = self.imp(csv)
        self.assertEqual(r.code, 0, r)
        uids = [it["source_uid"] for it in self.sent_items()]
        self.assertEqual(len(set(uids)), 3)
        control("POST", "reset")
        self.seen = len(self.new_requests()) + self.seen
        r = self.imp("name,phone,source_uid\nA,+79990000007,crm-1\n")
        self.assertEqual([it["source_uid"] for it in self.sent_items()], ["crm-1"])

    def test_created_at_is_sent_as_seconds(self):
        r = self.imp("name,phone,created_at\nA,+79990000008,2024-11-21T12:06:40+03:00\n"
                     "B,+79990000009,1732180000\n")
        self.assertEqual(r.code, 0, r)
        self.assertEqual([(it["created_at"], it["metadata"]["form_sent_at"]) for it in self.sent_items()],
                         [(1732180000, 1732180000)] * 2)

    # --- refusals before sending ----------------------------------------------------------

    def test_unknown_column_stops_before_anything_is_sent(self):
        r = self.imp("name,phone,city\nA,+79990000010,Berlin\n")
        self.assertEqual(r.code, 65, r)
        self.assertIn('unknown column "city"', r.err)
        self.assert_nothing_sent()
        r = self.imp("name,phone,city\nA,+79990000010,Berlin\n", "--ignore-unknown-columns")
        self.assertEqual(r.code, 0, r)

    def test_column_needing_an_unconfigured_id_stops_before_sending(self):
        r = self.imp("name,phone,telegram\nA,+79990000011,@a\n")
        self.assertEqual(r.code, 78, r)
        self.assertIn('column "telegram" needs the id of its Kommo field: set KOMMO_TELEGRAM_FIELD_ID', r.err)
        self.assert_nothing_sent()

    def test_invalid_rows_are_rejected_with_row_column_value_and_never_sent(self):
        csv = "name,phone,email\nA,12ab,\n,+79990000012,\nC,+79990000013,c@\nD,+79990000014,\n"
        r = self.imp(csv)
        self.assertEqual(r.code, 65, r)
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 4)
        self.assertIn('row=2 rejected: row 2, column "phone": "12ab" is not a phone number', lines[0])
        self.assertIn('row=3 rejected: row 3, column "name" is required', lines[1])
        self.assertIn('row=4 rejected: row 4, column "email": "c@" is not an email address', lines[2])
        self.assertRegex(lines[3], r"^row=5 lead_id=\d+")
        self.assertEqual([it["request_id"] for it in self.sent_items()], ["5"])
        self.assertIn("4 rows read: 1 created, 3 rejected, 0 failed", r.err)

    # --- batching ----------------------------------------------------------------------

    def test_batches_of_batch_size_with_row_numbers_as_request_ids(self):
        rows = "".join(f"Lead{i},+7999{i:07d}\n" for i in range(120))
        r = self.imp("name,phone\n" + rows, "--batch-size", "50")
        self.assertEqual(r.code, 0, r)
        reqs = self.new_requests()
        self.assertEqual([len(items(q)) for q in reqs], [50, 50, 20])
        self.assertEqual([it["request_id"] for it in items(reqs[2])], [str(n) for n in range(102, 122)])
        out = r.out.splitlines()
        self.assertEqual(len(out), 120)
        self.assertEqual([int(l.split()[0][4:]) for l in out], list(range(2, 122)))

    def test_partial_400_rejects_only_the_named_rows_and_resends_the_rest(self):
        csv = "name,phone\nA,+79990000020\nREJECT,+79990000021\nC,+79990000022\n"
        r = self.imp(csv)
        self.assertEqual(r.code, 65, r)
        reqs = self.new_requests()
        self.assertEqual([q["status"] for q in reqs], [400, 200])
        self.assertEqual([it["request_id"] for it in items(reqs[1])], ["2", "4"])
        lines = r.out.splitlines()
        self.assertRegex(lines[0], r"^row=2 lead_id=\d+")
        self.assertIn('row=3 rejected: Kommo: InvalidType at _embedded.contacts.0.first_name (row 3, column "name")',
                      lines[1])
        self.assertRegex(lines[2], r"^row=4 lead_id=\d+")

    def test_a_single_row_kommo_refuses_as_too_large_is_rejected_and_the_run_goes_on(self):
        self.fault("422")
        r = self.imp("name,phone\nA,+79990000023\nB,+79990000024\n", "--batch-size", "1")
        self.assertEqual(r.code, 65, r)
        lines = r.out.splitlines()
        self.assertIn("row=2 rejected: ", lines[0])
        self.assertIn("HTTP 422", lines[0])
        self.assertRegex(lines[1], r"^row=3 lead_id=\d+")

    # --- --batch-size auto ----------------------------------------------------------------

    def test_auto_batches_grow_while_kommo_takes_them_quickly(self):
        rows = "".join(f"G{i},+7997{i:07d}\n" for i in range(1000))
        r = self.imp("name,phone\n" + rows, "-v")  # auto is the default
        self.assertEqual(r.code, 0, r)
        # from Kommo's recommended 50, by half while answers are quick, up to its limit of 250
        self.assertEqual([len(items(q)) for q in self.forms_posts()], [50, 75, 112, 168, 250, 250, 95])
        self.assertIn("batches of 250 rows from now on", r.err)

    def test_auto_batches_halve_when_too_heavy_and_settle_under_the_limit(self):
        # the sandbox answers 504 to a batch over 100 items (creating nothing)
        self.control("PATCH", "modes", {"forms_max_batch": 100})
        rows = "".join(f"H{i},+7996{i:07d}\n" for i in range(1200))
        # --timeout 4: a batch answered within 1 s (a quarter of it) counts as quick even on a
        # loaded machine, and the lookup's grace after each 504 stays a few seconds
        r = self.imp("name,phone\n" + rows, "--timeout", "4", "-v")
        self.assertEqual(r.code, 0, r)
        sizes = [(q["status"], len(items(q))) for q in self.forms_posts()]
        first_504 = next(i for i, (st, _) in enumerate(sizes) if st == 504)
        self.assertEqual(sizes[:first_504 + 1], [(200, 50), (200, 75), (504, 112)])
        # after a batch too heavy, growth is slow: the sizes that follow stay near the limit,
        # and the batches that last reach it no more than once before halving
        later = [n for st, n in sizes[first_504 + 1:] if st == 200]
        self.assertTrue(all(n <= 100 for n in later), sizes)
        self.assertGreaterEqual(max(later), 80, sizes)
        # no row lost, none created twice
        incoming = control("GET", "unsorted")
        self.assertEqual(len(incoming), 1200)
        self.assertEqual(len({u["source_uid"] for u in incoming}), 1200)
        self.assertEqual(len(r.out.splitlines()), 1200)

    def test_a_fixed_batch_size_stays_fixed(self):
        rows = "".join(f"F{i},+7995{i:07d}\n" for i in range(300))
        r = self.imp("name,phone\n" + rows, "--batch-size", "50")
        self.assertEqual(r.code, 0, r)
        self.assertEqual([len(items(q)) for q in self.forms_posts()], [50] * 6)

    def test_422_halves_the_batch(self):
        # the sandbox answers 422 above 250 items: 260 rows in one batch of 250 + 10
        rows = "".join(f"L{i},+7998{i:07d}\n" for i in range(260))
        r = self.imp("name,phone\n" + rows, "--batch-size", "250")
        self.assertEqual(r.code, 0, r)
        self.assertEqual([len(items(q)) for q in self.new_requests()], [250, 10])

    # --- faults and retries ------------------------------------------------------------------

    def test_429_is_waited_out_and_retried(self):
        self.fault("429")
        r = self.imp("name,phone\nA,+79990000030\n", "--max-retries", "2")
        self.assertEqual(r.code, 0, r)
        reqs = self.new_requests()
        self.assertEqual([q["status"] for q in reqs], [429, 200])
        self.assertGreaterEqual(reqs[1]["time"] - reqs[0]["time"], 0.95, "retry_after 1 s was honoured")
        self.assertEqual(items(reqs[0]), items(reqs[1]), "the same body, the same source_uids")
        self.assertIn("; 2 requests, 1 retry;", r.err)

    def test_500_and_reset_are_looked_up_then_sent_again_with_the_same_uids_flagged(self):
        # Kommo did nothing (the fault answered instead): not in Incoming leads, at once nor
        # after the grace (as long as --timeout), so the row goes again, flagged
        for kind in ("500", "reset"):
            with self.subTest(kind):
                control("POST", "reset")
                self.seen = len(control("GET", "requests"))
                self.fault(kind)
                r = self.imp("name,phone\nA,+79990000031\n", "--timeout", "0.5")
                self.assertEqual(r.code, 0, r)
                posts = self.forms_posts()
                self.assertEqual(len(posts), 2)
                self.assertEqual(len(self.lookups()), 2)
                self.assertEqual(items(posts[0])[0]["source_uid"], items(posts[1])[0]["source_uid"])
                self.assertRegex(r.out, r"^row=2 lead_id=\d+ contact_id=\d+ possibly_duplicated\n$")

    def test_503_retries_without_duplicate_flag_and_gives_up_after_max_retries(self):
        self.fault("503")
        r = self.imp("name,phone\nA,+79990000032\n", "--json")
        self.assertEqual(r.code, 0, r)
        row, summary = (json.loads(line) for line in r.out.splitlines())
        self.assertEqual((row["status"], row["possibly_duplicated"]), ("created", False))
        self.assertEqual((summary["summary"], summary["retries"]), (True, 1))
        self.fault("503", "503", "503")
        r = self.imp("name,phone\nB,+79990000033\n", "--max-retries", "2")
        self.assertEqual(r.code, 75, r)
        self.assertIn("row=2 failed: ", r.out)
        self.assertIn("HTTP 503", r.out)

    def test_502_is_retried_and_flagged_since_a_gateway_may_answer_after_a_commit(self):
        self.fault("502")
        r = self.imp("name,phone\nA,+79990000034\n", "--timeout", "0.5")
        self.assertEqual(r.code, 0, r)
        self.assertEqual([q["status"] for q in self.forms_posts()], [502, 200])
        self.assertIn("possibly_duplicated", r.out)

    def test_504_halves_the_batch_and_flags_possible_duplicates(self):
        self.fault("504")
        r = self.imp("name,phone\nA,+79990000035\nB,+79990000036\n", "--timeout", "0.5")
        self.assertEqual(r.code, 0, r)
        reqs = self.forms_posts()
        self.assertEqual([(q["status"], len(items(q))) for q in reqs], [(504, 2), (200, 1), (200, 1)])
        self.assertEqual(r.out.count("possibly_duplicated"), 2)

    def test_a_batch_half_carried_out_before_a_504_or_500_is_created_once_each(self):
        # the first half of the batch created, then 504 or 500: those are found in Incoming
        # leads, the others go again (flagged), and no row is created twice
        for kind in ("half504", "half500"):
            with self.subTest(kind):
                control("POST", "reset")
                self.seen = len(control("GET", "requests"))
                self.check_half(kind)

    def check_half(self, kind):
        self.fault(kind)
        rows = "".join(f"P{i},+7992{i:07d}\n" for i in range(8))
        r = self.imp("name,phone\n" + rows, "--batch-size", "8", "--timeout", "0.3")
        self.assertEqual(r.code, 0, r)
        incoming = control("GET", "unsorted")
        uids = [u["source_uid"] for u in incoming]
        self.assertEqual(len(uids), 8)
        self.assertEqual(len(set(uids)), 8, "no row created twice")
        sent = [len(items(q)) for q in self.forms_posts()]
        self.assertEqual(sent[0], 8)
        self.assertEqual(sum(sent[1:]), 4, "only the half not carried out goes again")
        by_uid = {u["source_uid"]: u["lead_id"] for u in incoming}
        first = items(self.forms_posts()[0])
        lines = r.out.splitlines()
        for i, line in enumerate(lines):
            self.assertIn(f"lead_id={by_uid[first[i]['source_uid']]} ", line)
            self.assertEqual(line.endswith("possibly_duplicated"), i >= 4, line)

    def test_rows_that_may_be_in_kommo_are_not_simply_to_be_imported_again(self):
        # carried out, the answer cut short, and Incoming leads cannot be read: the rows
        # fail, flagged, and the summary says to look them up before importing the rejects
        self.fault("cut", "500@/api/v4/leads/unsorted")
        rej = os.path.join(self.tmp.name, "rej.csv")
        r = self.imp("name,phone\nA,+79990000094\nB,+79990000095\n", "--timeout", "0.3", "--rejects", rej)
        self.assertEqual(r.code, 75, r)
        self.assertIn("kommo-lead: 2 rows failed: they are in " + rej, r.err)
        self.assertIn("but 2 of the failed rows may be in Kommo already (flagged possibly duplicated: a request "
                      "carrying each may have reached Kommo)", r.err)
        self.assertIn("before importing the rejects file; --state FILE does this by itself", r.err)
        with open(rej, encoding="utf-8") as f:
            self.assertEqual(f.read().count("possibly duplicated"), 2)

    def test_rows_sharing_a_source_uid_are_never_given_each_others_ids(self):
        # s1 twice in the input: after a lost answer the lookup cannot tell the two apart,
        # so neither is taken as found; they go again, flagged. s3 is found.
        self.fault("drop")
        r = self.imp("name,phone,source_uid\nA,+79990000091,s1\nB,+79990000092,s1\nC,+79990000093,s3\n",
                     "--timeout", "0.3")
        self.assertEqual(r.code, 0, r)
        lines = r.out.splitlines()
        ids = [int(l.split()[1].split("=")[1]) for l in lines]
        self.assertEqual(len(set(ids)), 3, "each row its own lead")
        incoming = {u["lead_id"]: u["source_uid"] for u in control("GET", "unsorted")}
        self.assertEqual([incoming[i] for i in ids], ["s1", "s1", "s3"])
        self.assertTrue(lines[0].endswith("possibly_duplicated") and lines[1].endswith("possibly_duplicated"))
        self.assertFalse(lines[2].endswith("possibly_duplicated"), lines[2])

    def test_an_unreadable_200_is_settled_from_incoming_leads_without_resending(self):
        self.fault("truncated")
        r = self.imp("name,phone\nA,+79990000037\n", "--timeout", "0.5")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(len(self.forms_posts()), 1, "a 200 is never sent again")
        lead = [u for u in control("GET", "unsorted")]
        self.assertEqual(len(lead), 1)
        self.assertEqual(r.out, f"row=2 lead_id={lead[0]['lead_id']} contact_id={lead[0]['contact_id']}\n")

    def test_an_unreadable_200_that_cannot_be_looked_up_fails_as_probably_created(self):
        # the lookup fails too (a GET is not tried again after a 500): the row is not sent again
        self.fault("truncated", "500@/api/v4/leads/unsorted")
        r = self.imp("name,phone\nA,+79990000037\n", "--timeout", "0.5")
        self.assertEqual(r.code, 75, r)
        self.assertEqual(len(self.forms_posts()), 1, "a 200 is never sent again")
        self.assertIn("looking for rows 2-2 in Kommo's Incoming leads failed", r.err)
        self.assertIn("row=2 failed: ", r.out)
        self.assertIn("probably created", r.out)

    def test_a_timeout_is_retried_with_the_same_uid(self):
        self.fault("hang")
        r = self.imp("name,phone\nA,+79990000038\n", "--timeout", "0.5")
        self.assertEqual(r.code, 0, r)
        reqs = self.forms_posts()
        self.assertEqual(len(reqs), 2)
        self.assertEqual(items(reqs[0])[0]["source_uid"], items(reqs[1])[0]["source_uid"])
        self.assertIn("possibly_duplicated", r.out)

    def test_invalid_utf8_is_a_row_error_not_a_crash(self):
        # --encoding utf-8: auto would read the lone 0xD0 as Windows-1251's "Р"
        r = self.imp(b"name,phone\nIv\xd0an,+79990000039\nAnna,+79990000040\n", "--encoding", "utf-8")
        self.assertEqual(r.code, 65, r)
        self.assertIn('row=2 rejected: row 2, column "name": "Iv\\xD0an" is not valid UTF-8', r.out)
        self.assertRegex(r.out.splitlines()[1], r"^row=3 lead_id=\d+")

    def test_kommo_failing_past_max_retries_stops_the_run_rather_than_hammer_it(self):
        self.fault("503", "503", "503")
        rows = "".join(f"L{i},+7992{i:07d}\n" for i in range(4))
        r = self.imp("name,phone\n" + rows, "--batch-size", "1", "--max-retries", "2")
        self.assertEqual(r.code, 75, r)
        self.assertEqual([q["status"] for q in self.new_requests()], [503, 503, 503])
        # every row read is printed: the one that failed, and those never sent
        lines = r.out.splitlines()
        self.assertTrue(lines[0].startswith("row=2 failed: "), lines)
        self.assertEqual(lines[1:], [f"row={n} not sent: the import stopped before this row" for n in (3, 4, 5)])
        self.assertIn("stopping the import after 2 retries", r.err)
        self.assertIn("4 rows read: 0 created, 0 rejected, 1 failed, 3 not sent, 0 skipped", r.err)
        self.assertNotIn("reading stopped", r.err)  # the whole input was read

    def test_403_stops_the_whole_run_at_once(self):
        self.fault("403html")
        rows = "".join(f"L{i},+7997{i:07d}\n" for i in range(10))
        r = self.imp("name,phone\n" + rows, "--batch-size", "5")
        self.assertEqual(r.code, 77, r)
        self.assertEqual(len(self.new_requests()), 1, "nothing after the 403")
        self.assertIn("blocked by Kommo", r.err)
        self.assertIn("contact Kommo support", r.err)

    def test_rate_limit_is_never_exceeded(self):
        with tempfile.TemporaryDirectory() as d:
            ctl = os.path.join(SOURCE, "scripts", "sandbox-ctl")
            env = dict(os.environ, KOMMO_SANDBOX_TOKEN="")
            url = subprocess.run([ctl, "start", d], env=env, capture_output=True, text=True,
                                 check=True).stdout.strip()
            try:
                rows = "".join(f"L{i},+7996{i:07d}\n" for i in range(24))
                r = self.imp("name,phone\n" + rows, "--batch-size", "1", base_url=url,
                             token_file=os.path.join(d, "token"))
                self.assertEqual(r.code, 0, r)
                with open(os.path.join(d, "requests.jsonl"), encoding="utf-8") as f:
                    reqs = [json.loads(line) for line in f]
                self.assertEqual(len(reqs), 24)
                self.assertEqual([q["status"] for q in reqs], [200] * 24, "no 429 from a 7 req/s limit")
                t = sorted(q["time"] for q in reqs)
                for i in range(7, len(t)):
                    self.assertGreater(t[i] - t[i - 7], 1.0, "8 requests within one second")
            finally:
                subprocess.run([ctl, "stop", d], check=False)

    # --- rejects file and output ------------------------------------------------------------

    def test_rejects_file_round_trip(self):
        csv = "name;phone;note\nA;+79990000040;ok\nB;12ab;\"has; semicolon\"\nREJECT;+79990000041;x\n"
        rej = os.path.join(self.tmp.name, "rejects.csv")
        r = self.imp(csv, "--ignore-unknown-columns", "--rejects", rej)
        self.assertEqual(r.code, 65, r)
        with open(rej, encoding="utf-8", newline="") as f:
            text = f.read()
        lines = text.split("\r\n")
        # the original columns, the source_uid each row was given, and why
        self.assertEqual(lines[0], "name;phone;note;source_uid;error")
        self.assertRegex(lines[1], r'^B;12ab;"has; semicolon";;"row 3, column ""phone"": ""12ab""')
        sent_uid = items(self.new_requests()[0])[1]["source_uid"]
        self.assertTrue(lines[2].startswith(f"REJECT;+79990000041;x;{sent_uid};"), lines[2])
        # fixed, the same file imports again as it is (its error column is skipped)
        fixed = text.replace("12ab", "+79990000042").replace("REJECT", "Fixed")
        with open(rej, "w", encoding="utf-8", newline="") as f:
            f.write(fixed)
        control("POST", "reset")
        self.seen = len(control("GET", "requests"))
        r = self.kl("import", "--no-config", "--ignore-unknown-columns", rej)
        self.assertEqual(r.code, 0, r)
        again = self.sent_items()
        self.assertEqual(len(again), 2)
        self.assertEqual(again[1]["source_uid"], sent_uid, "a retried row keeps its source_uid")

    def test_a_row_with_extra_fields_keeps_them_in_the_rejects_file(self):
        rej = os.path.join(self.tmp.name, "rejects.csv")
        r = self.imp("name,phone,lead_name\nA,+79990000043,Big, important deal\n", "--rejects", rej)
        self.assertEqual(r.code, 65, r)
        self.assertIn("row 2 has 4 fields, the header has 3", r.out)
        with open(rej, encoding="utf-8", newline="") as f:
            self.assertTrue(f.read().split("\r\n")[1].startswith('A,+79990000043,"Big, important deal",'))

    def test_an_undefined_cp1251_byte_rejects_its_row_only(self):
        csv = b"name;phone\r\n\xc0\xed\xed\xe0;+79990000044\r\nBo\x98ris;+79990000045\r\n\xc2\xe5\xf0\xe0;+79990000046\r\n"
        r = self.imp(csv, "--encoding", "cp1251")
        self.assertEqual(r.code, 65, r)
        lines = r.out.splitlines()
        self.assertRegex(lines[0], r"^row=2 lead_id=")
        self.assertIn('row=3 rejected: row 3, column "name"', lines[1])
        self.assertIn("not valid UTF-8", lines[1])
        self.assertRegex(lines[2], r"^row=4 lead_id=")

    def test_rejects_file_of_a_cp1251_input_is_cp1251(self):
        rej = os.path.join(self.tmp.name, "rejects.csv")
        r = self.imp("name;phone\nБорис;12ab\n", "--encoding", "cp1251", "--rejects", rej, encoding="cp1251")
        self.assertEqual(r.code, 65, r)
        with open(rej, "rb") as f:
            raw = f.read()
        self.assertIn("Борис;12ab;".encode("cp1251"), raw)
        self.assertEqual(raw.decode("cp1251").split("\r\n")[0], "name;phone;source_uid;error")

    def test_json_lines_per_row(self):
        r = self.imp("name,phone\nA,+79990000050\nB,bad\n", "--json")
        self.assertEqual(r.code, 65, r)
        rows = [json.loads(line) for line in r.out.splitlines()]
        self.assertIs(rows.pop()["summary"], True)
        self.assertEqual([(x["row"], x["status"]) for x in rows], [(2, "created"), (3, "rejected")])
        self.assertIsInstance(rows[0]["lead_id"], int)
        self.assertIsNone(rows[1]["lead_id"])
        self.assertIn("phone", rows[1]["error"])

    def test_dry_run_prints_batches_and_sends_nothing(self):
        r = self.imp("name,phone\nA,+79990000060\nB,+79990000061\nC,+79990000062\n", "--dry-run",
                     "--batch-size", "2", base_url=None, token_file=None)
        self.assertEqual(r.code, 0, r)
        arrays = [json.loads(line) for line in r.out.splitlines()]
        self.assertEqual([len(a) for a in arrays], [2, 1])
        self.assertEqual(arrays[1][0]["request_id"], "4")
        self.assert_nothing_sent()

    def test_progress_line_only_when_asked_or_on_a_terminal(self):
        rows = "".join(f"L{i},+7993{i:07d}\n" for i in range(120))
        r = self.imp("name,phone\n" + rows, "--batch-size", "50", "--progress")
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.err, r"\rkommo-lead: 100 rows, \d+ rows/s, \d+%, about \d+ s left")
        self.assertRegex(r.err, r"\rkommo-lead: 120 rows, \d+ rows/s.*\n")
        r = self.imp("name,phone\n" + rows)  # stderr is a pipe here: no progress by default
        self.assertNotIn("\r", r.err)
        self.assertEqual(len(r.out.splitlines()), 120)

    def test_missing_file_and_malformed_csv(self):
        r = self.kl("import", "--no-config", os.path.join(self.tmp.name, "nope.csv"))
        self.assertEqual(r.code, 66, r)
        self.assertIn("nope.csv: cannot open", r.err)
        r = self.imp('name,phone\nA,+79990000070\n"B,+79990000071\n')
        self.assertEqual(r.code, 65, r)
        self.assertRegex(r.out, r"^row=2 lead_id=\d+")  # the rows before the bad one are not lost
        self.assertIn("a closing quote (\") is missing", r.err)
        self.assertIn("reading stopped after row 2", r.err)

    def test_a_rate_above_kommos_limit_is_warned_of_except_against_loopback(self):
        # the missing file stops the run before anything could go out: nothing leaves loopback
        nope = os.path.join(self.tmp.name, "nope.csv")
        warning = "Kommo's limit of 7 requests a second"
        r = self.kl("import", "--no-config", "--rate", "0", nope, base_url=None,
                    env={"KOMMO_SUBDOMAIN": "intermigro"})
        self.assertEqual(r.code, 66, r)
        self.assertIn("--rate 0 sends without a limit, above " + warning + ": expect 429s", r.err)
        self.assertIn("blocked (403)", r.err)
        # above 7 the account-wide limiter keeps to 7: said, not feared
        r = self.kl("import", "--no-config", "--rate", "8", nope, base_url=None,
                    env={"KOMMO_SUBDOMAIN": "intermigro"})
        self.assertEqual(r.code, 66, r)
        self.assertIn("--rate 8 is above " + warning + " for an account: kommo-lead keeps to 7", r.err)
        for rate in ("7", "7.9"):  # 7.9 starts 7 a window, as 7 does
            r = self.kl("import", "--no-config", "--rate", rate, nope, base_url=None,
                        env={"KOMMO_SUBDOMAIN": "intermigro"})
            self.assertEqual(r.code, 66, r)
            self.assertNotIn(warning, r.err)
        r = self.kl("import", "--no-config", "--rate", "0", nope)  # the sandbox: the tester's business
        self.assertEqual(r.code, 66, r)
        self.assertNotIn(warning, r.err)
        self.assert_nothing_sent()



class StateTest(SandboxTest):
    """--state: reruns skip what was created, never send a row twice, lose none."""

    def setUp(self):
        super().setUp()
        self.state = os.path.join(self.tmp.name, "import.state")
        self.csv = os.path.join(self.tmp.name, "leads.csv")

    def write_csv(self, n, prefix="+7995"):
        with open(self.csv, "w", encoding="utf-8") as f:
            f.write("name,phone\n")
            for i in range(n):
                f.write(f"Lead{i},{prefix}{i:07d}\n")

    def run_import(self, *args, **kw):
        return self.kl("import", "--no-config", "--state", self.state, *args, self.csv, **kw)


    def test_rerun_skips_every_created_row_and_sends_nothing(self):
        self.write_csv(5)
        first = self.run_import("--batch-size", "2")
        self.assertEqual(first.code, 0, first)
        sent = len(self.new_requests())
        again = self.run_import("--batch-size", "2")
        self.assertEqual(again.code, 0, again)
        self.assertEqual(len(self.new_requests()), sent, "the rerun sent nothing")
        ids = [l.split(" ", 1)[1] for l in first.out.splitlines()]
        self.assertEqual([l.split(" ", 2)[2] for l in again.out.splitlines()], ids)
        self.assertTrue(all(" skipped " in l for l in again.out.splitlines()))
        self.assertIn("5 rows read: 0 created, 0 rejected, 0 failed, 5 skipped", again.err)

    def test_a_run_stopped_by_403_resumes_where_it_stopped(self):
        self.write_csv(6)
        control("POST", "faults", {"faults": ["slow=0", "403html"]})  # the 2nd request is refused
        first = self.run_import("--batch-size", "2")
        self.assertEqual(first.code, 77, first)
        second = self.run_import("--batch-size", "2")
        self.assertEqual(second.code, 0, second)
        statuses = [l.split()[1].split("=")[0] for l in second.out.splitlines()]
        self.assertEqual(statuses, ["skipped", "skipped", "lead_id", "lead_id", "lead_id", "lead_id"])
        self.assertNotIn("possibly_duplicated", second.out, "a 403 created nothing")
        counts = self.leads_per_uid()
        self.assertEqual(sorted(counts.values()), [1] * 6)

    def test_a_lost_outcome_goes_again_with_the_same_source_uid(self):
        self.write_csv(1)
        self.fault("500")
        first = self.run_import("--max-retries", "0")
        self.assertEqual(first.code, 75, first)
        uid = items(self.new_requests()[0])[0]["source_uid"]
        second = self.run_import()
        self.assertEqual(second.code, 0, second)
        self.assertEqual(items(self.new_requests()[-1])[0]["source_uid"], uid)
        self.assertRegex(second.out, r"^row=2 lead_id=\d+ contact_id=\d+ possibly_duplicated\n$")

    def test_a_refused_rerun_never_erases_an_unknown_outcome(self):
        self.write_csv(2)
        lookups_fail = ["500@/api/v4/leads/unsorted"]  # a GET is not tried again after a 500
        # created, but the answer is unreadable and Incoming leads cannot be read either:
        # the outcome stays unknown
        self.fault("truncated", *lookups_fail)
        first = self.run_import("--timeout", "0.5")
        self.assertEqual(first.code, 75, first)
        uids = [it["source_uid"] for it in items(self.forms_posts()[0])]
        # the rerun cannot look either, and is refused as a whole: that says nothing of the
        # first send
        self.fault(*lookups_fail, "429")
        second = self.run_import("--max-retries", "0")
        self.assertEqual(second.code, 75, second)
        self.assertIn("looking for the rows sent without a recorded answer in Kommo's Incoming leads failed",
                      second.err)
        # the third can look: both are there, created by the first run, and nothing is sent
        sent = len(self.forms_posts())
        third = self.run_import()
        self.assertEqual(third.code, 0, third)
        self.assertEqual(len(self.forms_posts()), sent, "nothing sent again")
        self.assertIn("2 of 2 rows sent without a recorded answer are in Incoming leads: created", third.err)
        self.assertEqual(third.out.count("skipped"), 2)
        self.assertEqual(sorted(self.leads_per_uid().values()), [1, 1])
        self.assertEqual(sorted(self.leads_per_uid()), sorted(uids))

    def test_a_second_run_on_the_same_state_exits_75_at_once(self):
        self.write_csv(1)
        self.fault("slow=3")
        first = self.start("import", "--no-config", "--state", self.state, "-v", self.csv)
        try:
            # the first run is mid-request once -v says the POST went out (the journal,
            # written before it, holds the lock from the start)
            for line in first.stderr:
                if b"> POST " in line:
                    break
            t = time.monotonic()
            second = self.run_import()
            self.assertLess(time.monotonic() - t, 2.5, "refused at once, not after waiting")
            self.assertEqual(second.code, 75, second)
            self.assertIn("another kommo-lead import is using this state file", second.err)
        finally:
            first = self.finish(first, timeout=30)
        self.assertEqual(first.code, 0, first)

    def test_sigint_finishes_the_request_in_flight_and_the_rerun_does_the_rest(self):
        self.write_csv(6)
        control("POST", "faults", {"faults": ["slow=0.7"] * 6})
        p = self.start("import", "--no-config", "--state", self.state, "--batch-size", "1", self.csv)
        # a request reached the sandbox: the run is past setting up its signal handler
        self.wait_for_requests(p, 1)
        self.interrupt(p)
        r = self.finish(p, timeout=30)
        self.assertEqual(r.code, 75, r)
        self.assertIn("interrupted", r.err)
        self.assertIn("rows read", r.err)  # the summary
        done = [l for l in r.out.splitlines() if "lead_id=" in l]
        self.assertGreaterEqual(len(done), 1, "the request in flight was finished")
        control("DELETE", "faults")
        second = self.run_import("--batch-size", "1")
        self.assertEqual(second.code, 0, second)
        self.assertEqual(sorted(self.leads_per_uid().values()), [1] * 6)

    def test_sigint_puts_rows_already_taken_from_a_pipe_in_the_rejects_file(self):
        rej = os.path.join(self.tmp.name, "rejects.csv")
        p = self.start("import", "--no-config", "--rejects", rej, "-", stdin=subprocess.PIPE)
        p.stdin.write("name,phone\nAnna,+79990000111\nBoris,+79990000112\n".encode())
        p.stdin.flush()
        # the rows left the pipe: the run is reading them, so past setting up its signal handler
        self.wait_for_stdin_read(p)
        self.interrupt(p)
        p.stdin.close()
        p.stdin = None  # closed: communicate() must not flush it
        r = self.finish(p, timeout=30)
        self.assertEqual(r.code, 75, r)
        self.assertIn("2 rows read: 0 created, 0 rejected, 0 failed, 2 not sent, 0 skipped", r.err)
        self.assertIn(f"2 rows were not sent: they are in {rej}", r.err)
        self.assertEqual(r.out, "row=2 not sent: the import was interrupted\nrow=3 not sent: the import was interrupted\n")
        with open(rej, encoding="utf-8", newline="") as f:
            self.assertEqual(f.read().split("\r\n"),
                             ["name,phone,source_uid,error",
                              "Anna,+79990000111,,not sent: the import was interrupted",
                              "Boris,+79990000112,,not sent: the import was interrupted", ""])
        self.assert_nothing_sent()

    def test_kill_9_mid_import_then_rerun_creates_every_row_once(self):
        self.write_csv(2000, prefix="+7994")
        control("POST", "faults", {"faults": ["slow=0.05"] * 40})
        p = self.start("import", "--no-config", "--state", self.state, "--rate", "0", "--batch-size", "50",
                       self.csv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_for_requests(p, 12)
        p.kill()
        self.assertEqual(self.finish(p, timeout=10).code, -9, "killed, not finished")
        control("DELETE", "faults")
        created_before = len(control("GET", "entities")["leads"])
        self.assertGreater(created_before, 0, "killed after some requests")
        self.assertLess(created_before, 2000, "killed mid-way")
        second = self.run_import("--rate", "0", "--batch-size", "50")
        self.assertEqual(second.code, 0, second)
        lines = second.out.splitlines()
        self.assertEqual(len(lines), 2000)
        dups = {int(l.split()[0][4:]) for l in lines if "possibly_duplicated" in l}
        self.assertLessEqual(len(dups), 50, "at most the batch in flight")
        skipped = sum(1 for l in lines if " skipped " in l)
        self.assertGreaterEqual(skipped, created_before - 50, "what the killed run created is skipped")
        # every row exists; only a row flagged possibly duplicated may exist twice
        phones = {}
        for c in control("GET", "entities")["contacts"]:
            ph = c["custom_fields_values"][0]["values"][0]["value"]
            phones[ph] = phones.get(ph, 0) + 1
        for i in range(2000):
            ph = f"+7994{i:07d}"
            self.assertIn(ph, phones, f"row {i + 2} was lost")
            if i + 2 not in dups:
                self.assertEqual(phones[ph], 1, f"row {i + 2} was sent twice without a warning")

    def test_not_a_state_file_is_refused(self):
        self.write_csv(1)
        with open(self.state, "w") as f:
            f.write("name,phone\n")
        r = self.run_import()
        self.assertEqual(r.code, 65, r)
        self.assertIn("not a kommo-lead state file", r.err)
        self.assert_nothing_sent()


if __name__ == "__main__":
    unittest.main(verbosity=2)
