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
        # the first line has every key, so the columns are in the CSV's order
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
        self.assertEqual(lines[2], 'row=4 rejected: line 4: key "telegram_id" is not among the columns (the keys of line 1)')
        self.assertRegex(lines[3], r"^row=5 lead_id=\d+ contact_id=\d+$")
        sent = [it["_embedded"]["contacts"][0]["name"] for q in self.forms_posts() for it in json.loads(q["body"])]
        self.assertEqual(sent, ["A", "C"])
        # the rejects file of JSON Lines is JSON Lines: a line that is no row whole under the first key
        got = self.read_jsonl(rej)
        self.assertEqual(got[0], {"name": "not json", "phone": "", "source_uid": "", "error": "line 3: not a JSON object"})
        self.assertEqual(got[1]["name"], '{"name":"B","telegram_id":"x"}')
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
        # every column of the input, in its order (the first line's keys are the columns of a
        # file imported again), then the error; the user's values as they decode
        self.assertEqual(list(row), list(first) + ["error"])
        for k, v in bad.items():
            self.assertEqual(row[k], v, k)
        self.assertEqual([row[k] for k in first if k not in bad], ["", "", ""])
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


if __name__ == "__main__":
    unittest.main()
