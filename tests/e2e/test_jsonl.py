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
        with open(rej, encoding="utf-8") as f:
            got = list(csv.reader(f))
        self.assertEqual(got[0], ["name", "phone", "source_uid", "error"])
        self.assertEqual(got[1], ["not json", "", "", "line 3: not a JSON object"])
        self.assertEqual(got[2][0], '{"name":"B","telegram_id":"x"}')

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
