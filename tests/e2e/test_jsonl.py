#!/usr/bin/env python3
"""End-to-end tests of `kommo-lead import --format jsonl`: JSON Lines send what
the same rows as CSV send, byte for byte, and a bad line is a rejected row."""
import csv
import io
import json
import os
import re
import unittest

from kltest import FORMS, SandboxTest

# source_uid and created_at given, so that both runs send the very same bodies
COLUMNS = ["name", "last_name", "phone", "email", "lead_name", "utm_source", "source_uid", "created_at"]
ROWS = [
    ["Иван", "Петров, мл.", "+79990000101", "", "Заявка \"VIP\"", "google", "jl-1", "1795257000"],
    ["Anna", "", "+79990000102", "anna@example.com", "", "", "jl-2", "2026-11-21T10:30:00+03:00"],
    ["Олег", "Сидоров", "", "oleg@example.com", "Лид", "yandex", "jl-3", "21.11.2026 10:30"],
]


def as_csv(rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(rows)
    return out.getvalue()


def as_lines(body):
    """A CSV run's body as JSON Lines number it: request_id is the row, the
    CSV header's line 1, the first object's line 1 itself (everything else is
    compared byte for byte)."""
    return re.sub(r'"request_id":"(\d+)"', lambda m: f'"request_id":"{int(m[1]) - 1}"', body)


def as_jsonl(rows):
    # the first line names every column; later, a missing key is an empty cell
    return "".join(json.dumps({k: v for k, v in zip(COLUMNS, row) if v or i == 0}, ensure_ascii=False) + "\n"
                   for i, row in enumerate(rows))


class JsonlTest(SandboxTest):
    def run_file(self, name, text, *args):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return self.kl("import", "--no-config", *args, path)

    def bodies(self):
        bodies = [q["body"] for q in self.forms_posts()]
        self.seen = len(self.recorded())
        return bodies

    def test_the_same_rows_as_csv_and_as_json_lines_send_the_same_bodies(self):
        jsonl = as_jsonl(ROWS)
        # here line 1 has every key (JsonlKeysTest gives lines their own keys)
        self.assertEqual(list(json.loads(jsonl.splitlines()[0])), COLUMNS)
        r = self.run_file("in.csv", as_csv(ROWS))
        self.assertEqual(r.code, 0, r)
        from_csv = self.bodies()
        self.assertEqual(len(from_csv), 1)
        self.assertEqual([it["source_uid"] for it in json.loads(from_csv[0])], ["jl-1", "jl-2", "jl-3"])
        # by the extension
        from_csv = [as_lines(b) for b in from_csv]
        r = self.run_file("in.jsonl", jsonl)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.bodies(), from_csv)
        # keys in another order, and a number for the phone (jq -c's output as it comes)
        shuffled = "".join(json.dumps(dict(reversed(list(json.loads(line).items()))), ensure_ascii=False) + "\n"
                           for line in jsonl.splitlines())
        first = json.loads(jsonl.splitlines()[0])
        shuffled = json.dumps(first, ensure_ascii=False) + "\n" + "".join(shuffled.splitlines(True)[1:])
        shuffled = shuffled.replace('"phone": "+79990000102"', '"phone": 79990000102')
        r = self.kl("import", "--no-config", "--format", "jsonl", "-", stdin=shuffled.encode())
        self.assertEqual(r.code, 0, r)
        got = self.bodies()
        self.assertEqual(got[0].replace('"79990000102"', '"+79990000102"'), from_csv[0])
        self.assertIn('"79990000102"', got[0])

    def test_a_bad_line_is_a_rejected_row_naming_the_line_and_the_rest_go(self):
        rej = os.path.join(self.tmp.name, "rejects.csv")
        text = ('{"name":"A","phone":"+79990000111"}\n'
                "\n"
                "not json\n"
                '{"name":"B","telegram_id":"x"}\n'
                '{"name":"C","phone":"+79990000112"}\n')
        r = self.run_file("in.ndjson", text, "--rejects", rej)
        self.assertEqual(r.code, 65, r)
        lines = r.out.splitlines()
        self.assertRegex(lines[0], r"^row=1 lead_id=\d+ contact_id=\d+$")
        self.assertEqual(lines[1], "row=3 rejected: line 3: not a JSON object")
        self.assertEqual(lines[2], 'row=4 rejected: line 4: key "telegram_id" is not a column (did you mean "telegram"?): '
                         "name lead fields as in kommo-lead(1) (name, last_name, phone, email, ..., lead:ID, contact:ID), "
                         "rename with --map KEY=FIELD, or pass --ignore-unknown-columns")
        self.assertRegex(lines[3], r"^row=5 lead_id=\d+ contact_id=\d+$")
        sent = [it["_embedded"]["contacts"][0]["name"] for q in self.forms_posts() for it in json.loads(q["body"])]
        self.assertEqual(sent, ["A", "C"])
        # the rejects file of JSON Lines is JSON Lines: a line that is no row whole under the first
        # key, a row refused for a key as its own object (that key too, to be put right)
        got = self.read_jsonl(rej)
        self.assertEqual(got[0], {"name": "not json", "source_uid": "", "error": "line 3: not a JSON object"})
        self.assertEqual(got[1], {"name": "B", "telegram_id": "x", "source_uid": "", "error": lines[2][len("row=4 rejected: "):]})
        self.assertEqual(len(got), 2)

    def test_a_line_with_a_nul_byte_keeps_all_it_says_in_the_rejects(self):
        rej = os.path.join(self.tmp.name, "rejects.jsonl")
        text = ('{"name":"A","phone":"+79992220001","email":"a@example.com"}\n'
                '{"name":"B\0x","phone":"+79992220002","email":"keep@example.com"}\n')
        r = self.run_file("in.jsonl", text, "--rejects", rej)
        self.assertEqual(r.code, 65, r)
        self.assertEqual(len(self.forms_posts()), 1)
        [got] = self.read_jsonl(rej)
        # the NUL is written as '?', and what followed it is still there
        self.assertEqual(got["name"], '{"name":"B?x","phone":"+79992220002","email":"keep@example.com"}')

    def read_jsonl(self, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertTrue(text.endswith("\n"), text)
        return [json.loads(line) for line in text.splitlines()]

    def test_the_rejects_of_json_lines_are_json_lines_that_import_again_once_fixed(self):
        rej = os.path.join(self.tmp.name, "rejects.jsonl")
        first = {"name": "Иван", "last_name": "", "phone": "+79990000131", "email": "", "lead_name": "",
                 "utm_source": "", "source_uid": "jr-1"}
        # what the user typed: escapes, Cyrillic, a tab, quotes; keys in their order, some left out
        bad = {"source_uid": "jr-3", "name": "Ольга \"О\" \\ «x»", "email": "olga@", "lead_name": "Заявка №3"}
        lines = [json.dumps(first, ensure_ascii=False),
                 json.dumps({"name": "Anna", "phone": "+79990000132", "source_uid": "jr-2"}),
                 json.dumps(bad),  # \u escapes: what it decodes to is what comes back
                 json.dumps({"name": "Пётр", "phone": "+79990000133", "source_uid": "jr-4"}, ensure_ascii=False)]
        r = self.run_file("in.jsonl", "\n".join(lines) + "\n", "--rejects", rej)
        self.assertEqual(r.code, 65, r)
        self.assertIn("row=3 rejected: ", r.out)
        self.assertEqual([it["source_uid"] for q in self.forms_posts() for it in json.loads(q["body"])], ["jr-1", "jr-2", "jr-4"])
        self.assertEqual(os.stat(rej).st_mode & 0o777, 0o600)
        got = self.read_jsonl(rej)
        self.assertEqual(len(got), 1)
        row = got[0]
        # the row's own keys (in the order the import took them), then the error: no key of
        # another line; the user's values as they decode
        self.assertEqual(list(row), ["name", "email", "lead_name", "source_uid", "error"])
        for k, v in bad.items():
            self.assertEqual(row[k], v, k)
        self.assertIn('"email"', row["error"])
        # fixed, and fed back as it is (its "error" key is the column --rejects adds: ignored)
        row["email"] = "olga@example.com"
        fixed = os.path.join(self.tmp.name, "fixed.jsonl")
        with open(fixed, "w", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.seen = len(self.recorded())
        rej2 = os.path.join(self.tmp.name, "rejects2.jsonl")
        r = self.kl("import", "--no-config", "--format", "jsonl", "--rejects", rej2, fixed)
        self.assertEqual(r.code, 0, r)
        posts = self.forms_posts()
        self.assertEqual(len(posts), 1)
        items = json.loads(posts[0]["body"])
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["source_uid"], "jr-3")
        contact = items[0]["_embedded"]["contacts"][0]
        self.assertEqual(contact["name"], "Ольга \"О\" \\ «x»")
        self.assertIn("olga@example.com", posts[0]["body"])
        self.assertEqual(items[0]["_embedded"]["leads"][0]["name"], "Заявка №3")
        self.assertEqual(self.read_jsonl(rej2) if os.path.getsize(rej2) else [], [])

    def test_a_rejects_file_imported_again_keeps_one_error_key(self):
        rej, rej2 = (os.path.join(self.tmp.name, n) for n in ("r1.jsonl", "r2.jsonl"))
        r = self.run_file("in.jsonl", '{"name":"A","email":"a@"}\n', "--rejects", rej)
        self.assertEqual(r.code, 65, r)
        r = self.kl("import", "--no-config", "--rejects", rej2, rej)
        self.assertEqual(r.code, 65, r)
        with open(rej2, encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(text.count('"error"'), 1, text)
        got = json.loads(text)
        # the first run's uid is kept: its retry is the same Incoming lead
        self.assertEqual(list(got), ["name", "email", "source_uid", "error"])
        self.assertEqual(got["source_uid"], self.read_jsonl(rej)[0]["source_uid"])
        self.assertIn('"email"', got["error"])
        self.assert_nothing_sent()

    def test_results_of_json_lines_list_every_row_as_json_lines(self):
        res = os.path.join(self.tmp.name, "results.jsonl")
        text = ('{"name":"A","phone":"+79990000141","source_uid":"jres-1"}\n'
                '{"name":"B","phone":"12ab","source_uid":"jres-2"}\n'
                '{"name":"Вера","phone":"+79990000142"}\n')
        r = self.run_file("in.jsonl", text, "--results", res)
        self.assertEqual(r.code, 65, r)
        got = self.read_jsonl(res)
        self.assertEqual([(x["row"], x["status"]) for x in got], [(1, "created"), (2, "rejected"), (3, "created")])
        # the same keys as the CSV results file's columns (and --json's "existing")
        self.assertEqual(list(got[0]), ["row", "status", "lead_id", "contact_id", "source_uid", "error",
                                        "possibly_duplicated", "existing"])
        created = {x["source_uid"]: x for x in self.control("GET", "unsorted")}
        self.assertEqual(len(created), 2)
        for x in (got[0], got[2]):
            self.assertEqual((x["lead_id"], x["contact_id"]),
                             (created[x["source_uid"]]["lead_id"], created[x["source_uid"]]["contact_id"]))
            self.assertIsNone(x["error"])
            self.assertIs(x["possibly_duplicated"], False)
        self.assertEqual(got[0]["source_uid"], "jres-1")
        self.assertEqual((got[1]["lead_id"], got[1]["contact_id"], got[1]["source_uid"]), (None, None, "jres-2"))
        self.assertIn("phone", got[1]["error"])
        self.assertEqual(os.stat(res).st_mode & 0o777, 0o600)

    def test_a_csv_input_still_gets_csv_rejects_and_results(self):
        rej, res = (os.path.join(self.tmp.name, n) for n in ("rejects.csv", "results.csv"))
        r = self.run_file("in.csv", "name,phone\nA,+79990000151\nB,12ab\n", "--rejects", rej, "--results", res)
        self.assertEqual(r.code, 65, r)
        with open(rej, encoding="utf-8") as f:
            self.assertEqual(list(csv.reader(f))[0], ["name", "phone", "source_uid", "error"])
        with open(res, encoding="utf-8") as f:
            self.assertEqual(f.readline(), "row,status,lead_id,contact_id,source_uid,possibly_duplicated,error\n")

    def test_json_lines_rejects_or_results_naming_the_input_are_refused(self):
        text = '{"name":"A","phone":"12ab"}\n'
        path = self.write("in.jsonl", text)
        for flag in ("--rejects", "--results"):
            with self.subTest(flag=flag):
                r = self.kl("import", "--no-config", flag, path, path)
                self.assertEqual(r.code, 64, r)
                self.assertIn(f"{flag} {path} is the file being imported", r.err)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read(), text)
        self.assert_nothing_sent()

    def test_json_lines_results_and_rejects_on_a_full_device_exit_74(self):
        for flag in ("--rejects", "--results"):
            with self.subTest(flag=flag):
                r = self.run_file("in.jsonl", '{"name":"A","phone":"12ab"}\n', flag, "/dev/full")
                self.assertEqual(r.code, 74, r)
                self.assertIn(f"{flag} /dev/full: cannot write: No space left on device: 1 row", r.err)

    def test_format_csv_reads_a_jsonl_name_as_csv_and_columns_is_refused_for_jsonl(self):
        r = self.run_file("in.jsonl", "name,phone\nA,+79990000121\n", "--format", "csv")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(len(self.forms_posts()), 1)
        r = self.kl("import", "--no-config", "--format", "jsonl", "--columns", "name,phone", "-",
                    stdin=b'{"name":"A","phone":"+79990000122"}\n')
        self.assertEqual(r.code, 64, r)
        self.assertIn("--columns is for CSV without a header: JSON Lines name their keys", r.err)
        r = self.kl("import", "--no-config", "--format", "yaml", "-", stdin=b"")
        self.assertEqual(r.code, 64, r)
        self.assertIn('--format: "yaml": use auto (the default), csv or jsonl', r.err)
        self.assertEqual(len(self.forms_posts()), 1)


# jq -c '.[]' of a source that leaves empty fields out: every line its own keys
VARYING = [{k: v for k, v in zip(COLUMNS, row) if v} for row in ROWS]


class JsonlKeysTest(SandboxTest):
    """Every line stands on its own: any known key on any line."""
    run_file, bodies, read_jsonl = JsonlTest.run_file, JsonlTest.bodies, JsonlTest.read_jsonl

    def test_lines_with_varying_keys_send_what_a_csv_with_every_column_sends(self):
        # line 1 has no "email": line 2's and line 3's still count
        self.assertNotIn("email", VARYING[0])
        self.assertIn("email", VARYING[1])
        r = self.run_file("in.csv", as_csv(ROWS))
        self.assertEqual(r.code, 0, r)
        from_csv = [as_lines(b) for b in self.bodies()]
        text = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in VARYING)
        r = self.kl("import", "--no-config", "--format", "jsonl", "-", stdin=text.encode())
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.bodies(), from_csv)

    def test_known_spellings_and_map_keys_on_later_lines_and_an_unknown_key_on_line_3(self):
        rej = os.path.join(self.tmp.name, "rejects.jsonl")
        lines = [{"name": "A", "phone": "+79990000201"},
                 {"Имя": "B", "Телефон": "+79990000202", "Work mail": "b@example.com"},
                 {"name": "C", "phnoe": "+79990000203"},
                 {"name": "D", "email": "d@example.com", "tags": "x"}]
        r = self.run_file("in.jsonl", "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in lines),
                          "--map", "Work mail=email", "--rejects", rej)
        self.assertEqual(r.code, 65, r)
        out = r.out.splitlines()
        self.assertTrue(out[2].startswith('row=3 rejected: line 3: key "phnoe" is not a column (did you mean "phone"?)'), out)
        items = [it for q in self.forms_posts() for it in json.loads(q["body"])]
        self.assertEqual([it["_embedded"]["contacts"][0]["name"] for it in items], ["A", "B", "D"])
        self.assertIn("b@example.com", json.dumps(items[1]))
        self.assertEqual(items[2]["_embedded"]["leads"][0]["_embedded"], {"tags": [{"name": "x"}]})
        [got] = self.read_jsonl(rej)
        self.assertEqual(got["name"], "C")
        self.assertEqual(got["phnoe"], "+79990000203")
        self.assertEqual(list(got), ["name", "phnoe", "source_uid", "error"])
        self.assertEqual(got["source_uid"], "")  # refused as read: nothing went under a uid
        # put right and imported again
        got["phone"] = got.pop("phnoe")
        self.seen = len(self.recorded())
        r = self.run_file("fixed.jsonl", json.dumps(got) + "\n")
        self.assertEqual(r.code, 0, r)
        [item] = [it for q in self.forms_posts() for it in json.loads(q["body"])]
        self.assertEqual(item["_embedded"]["contacts"][0]["name"], "C")
        self.assertIn("+79990000203", json.dumps(item))

    def test_two_keys_of_one_line_for_one_field_refuse_that_line_only(self):
        text = ('{"name":"A","phone":"+79990000211","Телефон":"+79990000212"}\n'
                '{"name":"B","Телефон":"+79990000213"}\n')
        r = self.run_file("in.jsonl", text)
        self.assertEqual(r.code, 65, r)
        self.assertEqual(r.out.splitlines()[0],
                         'row=1 rejected: line 1: keys "phone" and "Телефон" fill the same field (phone): keep one')
        [item] = [it for q in self.forms_posts() for it in json.loads(q["body"])]
        self.assertIn("+79990000213", json.dumps(item, ensure_ascii=False))

    def test_a_rerun_that_spells_the_keys_otherwise_sends_nothing_again(self):
        # a jq mapping edited between runs: the same leads, their keys spelled otherwise
        state = os.path.join(self.tmp.name, "state")
        first = self.run_file("in.jsonl", '{"name":"Иван","email":"ivan@example.com"}\n'
                              '{"name":"Пётр","phone":"+79990000231"}\n', "--state", state)
        self.assertEqual(first.code, 0, first)
        self.seen = len(self.recorded())
        again = self.run_file("in.jsonl", '{"Имя":"Иван","почта":"ivan@example.com"}\n'
                              '{"phone":"+79990000231","NAME":"Пётр"}\n', "--state", state)
        self.assertEqual(again.code, 0, again)
        self.assertEqual([l.split(" ")[1] for l in again.out.splitlines()], ["skipped", "skipped"], again)
        self.assertEqual(self.forms_posts(), [])

    def test_a_key_on_a_later_line_keeps_the_journal_and_uids_of_the_other_rows(self):
        state = os.path.join(self.tmp.name, "state")
        a = [{"name": "A", "phone": "+79990000221"},
             {"name": "B", "phone": "+79990000222"},
             {"name": "C", "phone": "+79990000223", "email": "c@example.com"}]
        # line 2 gains a key: a new column, before "email", which line 3 gives
        b = [a[0], dict(a[1], tags="vip"), a[2]]

        def run(rows):
            r = self.run_file("in.jsonl", "".join(json.dumps(o) + "\n" for o in rows), "--json", "--state", state)
            self.assertEqual(r.code, 0, r)
            return [json.loads(line) for line in r.out.splitlines() if '"row"' in line]

        first = run(a)
        self.assertEqual([x["status"] for x in first], ["created"] * 3)
        self.seen = len(self.recorded())
        second = run(b)
        # the rows whose keys did not change are the same rows: not sent again, same uid and lead
        self.assertEqual([x["status"] for x in second], ["skipped", "created", "skipped"])
        for i in (0, 2):
            self.assertEqual(second[i]["source_uid"], first[i]["source_uid"])
            self.assertEqual(second[i]["lead_id"], first[i]["lead_id"])
        [item] = [it for q in self.forms_posts() for it in json.loads(q["body"])]
        self.assertEqual(item["_embedded"]["contacts"][0]["name"], "B")


if __name__ == "__main__":
    unittest.main()
