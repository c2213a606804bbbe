#!/usr/bin/env python3
"""End-to-end tests of what scripts rely on: stdout that pipes (--dry-run's
arrays, --json's objects and summary), the --results file, and JSON Lines
in, against the Kommo sandbox."""
import csv
import io
import json
import os
import unittest

from kltest import FORMS, SandboxTest


class ScriptsTest(SandboxTest):
    def imp(self, text, *args, name="in.csv", **kw):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return self.kl("import", "--no-config", *args, path, **kw)

    # --- output that pipes ----------------------------------------------------------------

    def test_dry_run_stdout_holds_only_the_arrays_and_row_statuses_go_to_stderr(self):
        r = self.imp("name,phone\nA,+79990000060\nB,12ab\nC,+79990000062\n", "--dry-run", "--batch-size", "1",
                     base_url=None, token_file=None)
        self.assertEqual(r.code, 65, r)
        lines = [json.loads(line) for line in r.out.splitlines()]
        self.assertTrue(all(isinstance(x, list) for x in lines), r.out)
        self.assertEqual([x[0]["request_id"] for x in lines], ["2", "4"])
        self.assertIn("kommo-lead: row=3 rejected: ", r.err)

    def test_dry_run_json_puts_row_objects_between_the_arrays(self):
        r = self.imp("name,phone\nA,+79990000060\nB,12ab\n", "--dry-run", "--json", base_url=None, token_file=None)
        self.assertEqual(r.code, 65, r)
        lines = [json.loads(line) for line in r.out.splitlines()]
        self.assertIsInstance(lines[0], list)
        self.assertEqual([(x["row"], x["status"]) for x in lines[1:3]], [(2, "checked"), (3, "rejected")])
        self.assertEqual(lines[3]["summary"], True)
        self.assertEqual((lines[3]["checked"], lines[3]["rejected"], lines[3]["requests"]), (1, 1, 0))
        self.assertEqual(len(lines), 4)

    def test_import_json_ends_with_one_summary_object(self):
        r = self.imp("name,phone\nA,+79990000070\nB,bad\nC,+79990000071\n", "--json", "--batch-size", "1")
        self.assertEqual(r.code, 65, r)
        lines = [json.loads(line) for line in r.out.splitlines()]
        self.assertEqual([x.get("status") for x in lines[:3]], ["created", "rejected", "created"])
        s = lines[-1]
        self.assertEqual(len(lines), 4)
        self.assertIs(s["summary"], True)
        self.assertEqual((s["read"], s["created"], s["rejected"], s["failed"], s["requests"], s["retries"],
                          s["exit_code"]), (3, 2, 1, 0, 2, 0, 65))
        self.assertIsInstance(s["seconds"], (int, float))
        self.assertEqual(len([q for q in self.new_requests() if q["path"] == FORMS]), 2)

    def test_submit_json_against_a_401_prints_one_failed_object_and_exits_77(self):
        bad = self.write("bad-token", "wrong-token-value-123\n")
        r = self.kl("--no-config", "--name", "A", "--phone", "1234567", "--json", token_file=bad)
        self.assertEqual(r.code, 77, r)
        lines = r.out.splitlines()
        self.assertEqual(len(lines), 1, r)
        obj = json.loads(lines[0])
        self.assertEqual((obj["status"], obj["exit_code"]), ("failed", 77))
        self.assertIn("HTTP 401", obj["error"])
        self.assertNotIn("wrong-token-value-123", r.out + r.err)

    # --- the results file -----------------------------------------------------------------

    def read_results(self, path, delimiter=","):
        with open(path, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f, delimiter=delimiter))

    def test_results_lists_every_row_with_its_outcome_and_ids(self):
        res = os.path.join(self.tmp.name, "results.csv")
        r = self.imp("name;phone;source_uid\nA;+79990000080;u-a\nB;12ab;u-b\nC;+79990000081;\n",
                     "--results", res, "--json")
        self.assertEqual(r.code, 65, r)
        printed = [json.loads(line) for line in r.out.splitlines()][:3]
        rows = self.read_results(res, ";")
        self.assertEqual([(x["row"], x["status"]) for x in rows], [("2", "created"), ("3", "rejected"), ("4", "created")])
        for p, x in zip(printed, rows):
            self.assertEqual(x["lead_id"], "" if p["lead_id"] is None else str(p["lead_id"]))
            self.assertEqual(x["contact_id"], "" if p["contact_id"] is None else str(p["contact_id"]))
            self.assertEqual(x["source_uid"], p["source_uid"] or "")
        self.assertEqual(rows[0]["source_uid"], "u-a")
        self.assertTrue(rows[2]["source_uid"])
        self.assertIn("phone", rows[1]["error"])
        self.assertEqual(rows[0]["error"], "")
        self.assertEqual(rows[0]["possibly_duplicated"], "false")
        # the input's dialect: its ';' delimiter
        with open(res, encoding="utf-8") as f:
            self.assertTrue(f.readline().startswith("row;status;lead_id;contact_id;source_uid;"))
        self.assertEqual(os.stat(res).st_mode & 0o777, 0o600)

    def test_results_naming_the_input_the_state_or_the_rejects_file_is_refused(self):
        path = self.write("in.csv", "name,phone\nA,+79990000082\n")
        state = os.path.join(self.tmp.name, "x.state")
        for args, said in [(("--results", path), "is the file being imported"),
                           (("--state", state, "--results", state), "is the --state file"),
                           (("--rejects", path + ".r", "--results", path + ".r"), "is the --rejects file")]:
            with self.subTest(args=args):
                r = self.kl("import", "--no-config", *args, path)
                self.assertEqual(r.code, 64, r)
                self.assertIn(f"--results {args[-1]} {said}", r.err)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read(), "name,phone\nA,+79990000082\n")
        self.assert_nothing_sent()

    def test_results_on_a_full_device_exits_74(self):
        r = self.imp("name,phone\nA,+79990000083\n", "--results", "/dev/full")
        self.assertEqual(r.code, 74, r)
        self.assertIn("--results /dev/full: cannot write: No space left on device: 1 row (the first is row 2) "
                      "is not recorded there", r.err)


if __name__ == "__main__":
    unittest.main()
