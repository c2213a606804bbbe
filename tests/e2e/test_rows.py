#!/usr/bin/env python3
"""End-to-end tests of where an imported row ends: created (stdout, the
journal) or the rejects file, exactly once, whatever stops the run; the
rejects file written safely; a row printed as soon as its outcome is known;
a file still being written left for the next run."""
import csv
import io
import json
import os
import stat
import unittest

from kltest import SLOWDOWN, SandboxTest


def phones_in_kommo(test):
    """How many contacts the sandbox holds for each phone."""
    counts = {}
    for c in test.control("GET", "entities")["contacts"]:
        ph = c["custom_fields_values"][0]["values"][0]["value"]
        counts[ph] = counts.get(ph, 0) + 1
    return counts


def read_rejects(path):
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(io.StringIO(f.read())))


class RowsTest(SandboxTest):
    def setUp(self):
        super().setUp()
        self.csv = os.path.join(self.tmp.name, "leads.csv")
        self.rej = os.path.join(self.tmp.name, "rejects.csv")
        self.state = os.path.join(self.tmp.name, "import.state")

    def write_csv(self, n, prefix="+7981", bad=()):
        """n rows; the rows at the indexes in bad get a phone that is rejected."""
        with open(self.csv, "w", encoding="utf-8") as f:
            f.write("name,phone\n")
            for i in range(n):
                f.write(f"Lead{i},{'12ab' if i in bad else f'{prefix}{i:07d}'}\n")
        return [f"{prefix}{i:07d}" for i in range(n) if i not in bad]

    def imp(self, *args, **kw):
        return self.kl("import", "--no-config", *args, **kw)

    def snapshot(self, path):
        with open(path, "rb") as f:
            return f.read()

    # --- every input row ends in exactly one place ---------------------------------------

    def test_a_403_on_the_fourth_request_leaves_every_row_created_or_in_the_rejects_file(self):
        phones = self.write_csv(300)
        self.fault("slow=0", "slow=0", "slow=0", "403html")
        r = self.imp("--batch-size", "50", "--rejects", self.rej, self.csv)
        self.assertEqual(r.code, 77, r)
        created = [l for l in r.out.splitlines() if " lead_id=" in l]
        self.assertEqual(len(created), 150, r.out)
        self.assertIn("300 rows read: 150 created, 0 rejected, 50 failed, 100 not sent, 0 skipped", r.err)
        self.assertIn(f"150 rows failed or were not sent: they are in {self.rej}", r.err)
        rows = read_rejects(self.rej)
        self.assertEqual(len(rows), 150)
        self.assertEqual([x["error"] for x in rows[50:]],
                         ["not sent: the import stopped before this row"] * 100)
        self.assertTrue(all("403" in x["error"] or "blocked" in x["error"] for x in rows[:50]), rows[0])
        in_kommo = phones_in_kommo(self)
        self.assertEqual(sorted(in_kommo.values()), [1] * 150)
        # created plus rejected: every row of the input, each once
        self.assertEqual(sorted(list(in_kommo) + [x["phone"] for x in rows]), sorted(phones))
        # importing the rejects file finishes the job: the rest, once
        again = self.imp("--rejects", os.path.join(self.tmp.name, "rejects2.csv"), self.rej)
        self.assertEqual(again.code, 0, again)
        self.assertIn("150 rows read: 150 created, 0 rejected, 0 failed, 0 skipped", again.err)
        in_kommo = phones_in_kommo(self)
        self.assertEqual(sorted(in_kommo), sorted(phones))
        self.assertEqual(set(in_kommo.values()), {1})

    def test_without_rejects_the_summary_counts_the_rows_not_sent_and_names_the_first(self):
        self.write_csv(12)
        self.fault("slow=0", "403html")
        r = self.imp("--batch-size", "4", self.csv)
        self.assertEqual(r.code, 77, r)
        # every row read is printed, the rows never sent too
        lines = r.out.splitlines()
        self.assertEqual(lines[8:], [f"row={n} not sent: the import stopped before this row" for n in range(10, 14)])
        self.assertIn("12 rows read: 4 created, 0 rejected, 4 failed, 4 not sent, 0 skipped", r.err)
        # the whole file was read: no "reading stopped" beside the rows not sent
        self.assertNotIn("reading stopped", r.err)
        self.assertIn("kommo-lead: 4 rows were not sent, the first of them row 10 "
                      "(and the failed rows listed above): to finish, import the input's rows from row 10 on "
                      "again; next time, --rejects FILE", r.err)

    def test_with_state_the_rejects_file_gets_only_rows_to_fix_and_one_instruction(self):
        phones = self.write_csv(8, bad=(1,))
        self.fault("slow=0", "403html")
        r = self.imp("--batch-size", "2", "--state", self.state, "--rejects", self.rej, self.csv)
        self.assertEqual(r.code, 77, r)
        rows = read_rejects(self.rej)
        self.assertEqual([(x["phone"], x["error"][:5]) for x in rows], [("12ab", "row 3")],
                         "only the rejected row: the rerun sends the others")
        # the whole file was read: the rerun does the rest, the rejects file holds the rows to fix
        self.assertIn("5 rows failed or were not sent: run the same import again later with the same --state: it "
                      "sends only what was not created (the rejects file holds only the rows to fix; do not import "
                      "it for these)", r.err)
        self.assertNotIn("import it again", r.err)
        # doing what it says (the rerun) finishes the job, each row once
        again = self.imp("--batch-size", "2", "--state", self.state, "--rejects", self.rej, self.csv)
        self.assertEqual(again.code, 65, again)
        self.assertEqual(len(read_rejects(self.rej)), 1)
        in_kommo = phones_in_kommo(self)
        self.assertEqual(sorted(in_kommo), sorted(phones))
        self.assertEqual(set(in_kommo.values()), {1})

    # --- the rejects file is safe --------------------------------------------------------

    def test_rejects_naming_the_input_is_refused_and_the_input_untouched(self):
        self.write_csv(3, bad=(0,))
        before = self.snapshot(self.csv)
        link = os.path.join(self.tmp.name, "link.csv")
        os.symlink(self.csv, link)
        for rej in (self.csv, link):
            r = self.imp("--rejects", rej, self.csv)
            self.assertEqual(r.code, 64, r)
            self.assertIn(f"--rejects {rej} is the file being imported", r.err)
            self.assertEqual(self.snapshot(self.csv), before)
        self.assert_nothing_sent()

    def test_rejects_as_stdin_redirected_from_it_is_refused(self):
        self.write_csv(3, bad=(0,))
        before = self.snapshot(self.csv)
        with open(self.csv, "rb") as f:
            p = self.start("import", "--no-config", "--rejects", self.csv, "-", stdin=f)
            r = self.finish(p)
        self.assertEqual(r.code, 64, r)
        self.assertIn("is the file being imported (standard input)", r.err)
        self.assertEqual(self.snapshot(self.csv), before)
        self.assert_nothing_sent()

    def test_rejects_naming_the_state_file_is_refused_and_the_journal_untouched(self):
        self.write_csv(2)
        first = self.imp("--state", self.state, self.csv)
        self.assertEqual(first.code, 0, first)
        before = self.snapshot(self.state)
        link = os.path.join(self.tmp.name, "state-link")
        os.symlink(self.state, link)
        for rej in (self.state, link):
            r = self.imp("--state", self.state, "--rejects", rej, self.csv)
            self.assertEqual(r.code, 64, r)
            self.assertIn(f"--rejects {rej} is the --state file", r.err)
            self.assertEqual(self.snapshot(self.state), before)
        # neither exists yet: the same name is still the same file
        fresh = os.path.join(self.tmp.name, "fresh.state")
        r = self.imp("--state", fresh, "--rejects", os.path.join(self.tmp.name, ".", "fresh.state"), self.csv)
        self.assertEqual(r.code, 64, r)
        self.assertFalse(os.path.exists(fresh))
        self.assertEqual(len(self.new_requests()), 1, "only the first run sent")

    def test_rejects_on_a_full_device_exits_74_naming_what_is_not_recorded(self):
        self.write_csv(4, bad=(1, 2))
        r = self.imp("--rejects", "/dev/full", self.csv)
        self.assertEqual(r.code, 74, r)
        self.assertIn("--rejects /dev/full: cannot write: No space left on device: 2 rows meant for it "
                      "(the first is row 3) are not recorded there", r.err)
        self.assertEqual(len(r.out.splitlines()), 4, "every row still reported")

    def test_a_symlink_at_the_rejects_path_is_replaced_and_its_target_untouched(self):
        self.write_csv(2, bad=(0,))
        target = os.path.join(self.tmp.name, "precious.txt")
        with open(target, "w") as f:
            f.write("keep me\n")
        os.chmod(target, 0o644)
        os.symlink(target, self.rej)
        r = self.imp("--rejects", self.rej, self.csv)
        self.assertEqual(r.code, 65, r)
        self.assertFalse(os.path.islink(self.rej))
        self.assertEqual(stat.S_IMODE(os.stat(self.rej).st_mode), 0o600)
        self.assertEqual([x["phone"] for x in read_rejects(self.rej)], ["12ab"])
        with open(target) as f:
            self.assertEqual(f.read(), "keep me\n")
        self.assertEqual([n for n in os.listdir(self.tmp.name) if "rejects" in n], ["rejects.csv"],
                         "no new file left beside it")

    def test_an_existing_rejects_file_becomes_private_and_survives_a_run_that_never_starts(self):
        with open(self.csv, "w", encoding="utf-8") as f:
            f.write("name,phone,income\nLead0,12ab,5\n")
        with open(self.rej, "w") as f:
            f.write("name,phone,error\nOld,12ab,old\n")
        os.chmod(self.rej, 0o644)
        before = self.snapshot(self.rej)
        # the header is read (and the rejects file begun) before the missing field id stops the run
        r = self.imp("--rejects", self.rej, self.csv)
        self.assertEqual(r.code, 78, r)
        self.assertEqual(self.snapshot(self.rej), before, "no row was read: the old file stays")
        self.assertEqual([n for n in os.listdir(self.tmp.name) if "rejects" in n], ["rejects.csv"],
                         "no new file left beside it")
        r = self.imp("--rejects", self.rej, self.csv, env={"KOMMO_INCOME_FIELD_ID": "1709444"})
        self.assertEqual(r.code, 65, r)
        self.assertEqual(stat.S_IMODE(os.stat(self.rej).st_mode), 0o600)
        self.assertEqual([x["name"] for x in read_rejects(self.rej)], ["Lead0"])

    # --- a growing file --------------------------------------------------------------------

    def test_a_last_line_without_its_end_is_left_for_the_next_run_with_state(self):
        with open(self.csv, "w", encoding="utf-8") as f:
            f.write("name,phone\nAnna,+79820000001\nBoris,+7982000000")
        r = self.imp("--state", self.state, self.csv)
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^row=2 lead_id=\d+ contact_id=\d+\n$")
        self.assertIn("1 row read: 1 created, 0 rejected, 0 failed, 0 skipped; 1 request, 0 retries;", r.err)
        self.assertIn("row 3 has no line end yet (another program may still be writing", r.err)
        self.assertIn("left for the next run", r.err)
        with open(self.csv, "a", encoding="utf-8") as f:
            f.write("2\n")
        again = self.imp("--state", self.state, self.csv)
        self.assertEqual(again.code, 0, again)
        self.assertRegex(again.out, r"^row=2 skipped lead_id=\d+ contact_id=\d+\nrow=3 lead_id=\d+ contact_id=\d+\n$")
        self.assertEqual(phones_in_kommo(self), {"+79820000001": 1, "+79820000002": 1})

    def test_a_last_line_without_its_end_is_imported_with_a_warning_without_state(self):
        with open(self.csv, "w", encoding="utf-8") as f:
            f.write("name,phone\nAnna,+79820000003")
        r = self.imp(self.csv)
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^row=2 lead_id=\d+")
        self.assertIn("warning: row 2 has no line end", r.err)

    # --- a row is printed as soon as its outcome is known -----------------------------------

    def test_rows_are_printed_as_they_are_decided_not_when_the_batch_ends(self):
        with open(self.csv, "w", encoding="utf-8") as f:
            f.write("name,phone\nBad,12ab\n" + "".join(f"L{i},+798300000{i:02d}\n" for i in range(4)))
        # the whole batch: 504 (looked up: not there), halved; the first half created; the
        # second half never answered (the lookups of Incoming leads are not faulted)
        forms = "@/api/v4/leads/unsorted/forms"
        self.fault("504" + forms, "slow=0" + forms, "hang" + forms)
        # the timeout (and the lookup's grace, as long) ends a run that would print only at
        # the end, so that it fails rather than hangs
        p = self.start("import", "--no-config", "--batch-size", "4", "--max-retries", "0",
                       "--timeout", str(5 * SLOWDOWN), self.csv)
        try:
            lines = [p.stdout.readline().decode() for _ in range(3)]
            self.assertIsNone(p.poll(), "the run is still waiting on the second half")
        finally:
            p.kill()
            self.finish(p, timeout=30)
        self.assertTrue(lines[0].startswith("row=2 rejected: "), lines)
        self.assertRegex(lines[1], r"^row=3 lead_id=\d+ contact_id=\d+ possibly_duplicated\n$")
        self.assertRegex(lines[2], r"^row=4 lead_id=\d+ contact_id=\d+ possibly_duplicated\n$")


    # --- a row's message names where each value came from --------------------------------

    def test_a_value_no_column_and_no_flag_gave_is_named_as_such(self):
        r = self.imp("-", stdin=b"name,phone\nAnna,\n")
        self.assertEqual(r.code, 65, r)
        self.assertEqual(r.out, 'row=2 rejected: row 2, column "phone" or row 2, email (the input has no such '
                                "column, and --email was not given) is required: Kommo needs a way to reach the person\n")
        self.assertNotIn("the default given on the command line", r.out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
