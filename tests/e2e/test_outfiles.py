#!/usr/bin/env python3
"""End-to-end tests of where --rejects and --results go when FILE is not a
plain file: a name of one of the process's own descriptors (/dev/stdout,
/dev/fd/N) is written through that descriptor and never renamed over (as
root, renaming over /dev/stdout would replace the system's symlink), and a
symlink to a device or a FIFO is written through, the symlink kept."""
import json
import os
import re
import stat
import threading
import unittest

from kltest import SandboxTest, load_tests  # noqa: F401

CSV = "name,phone\nA,+79990000301\nB,12ab\n"


class OutFilesTest(SandboxTest):
    def setUp(self):
        super().setUp()
        self.csv = self.write("in.csv", CSV)
        self.dev_stdout = os.readlink("/dev/stdout") if os.path.islink("/dev/stdout") else None

    def tearDown(self):
        # a regression would have replaced the system's /dev/stdout: put it back
        if self.dev_stdout and not os.path.islink("/dev/stdout"):
            os.unlink("/dev/stdout")
            os.symlink(self.dev_stdout, "/dev/stdout")
            self.fail("/dev/stdout was replaced by a regular file")
        super().tearDown()

    def test_results_to_dev_stdout_go_to_standard_output_and_leave_the_symlink(self):
        r = self.kl("import", "--no-config", "--results", "/dev/stdout", self.csv)
        self.assertEqual(r.code, 65, r)
        # the row lines and the results file's lines, each whole, all on the pipe
        lines = r.out.split("\n")
        self.assertIn("row,status,lead_id,contact_id,source_uid,possibly_duplicated,error\r", lines)
        self.assertEqual(len([l for l in lines if re.fullmatch(r"row=2 lead_id=\d+ contact_id=\d+", l)]), 1, lines)
        self.assertEqual(len([l for l in lines if l.startswith("row=3 rejected: ")]), 1, lines)
        self.assertEqual(len([l for l in lines if re.fullmatch(r"2,created,\d+,\d+,[0-9a-f]{32},false,\r", l)]), 1,
                         lines)
        self.assertEqual(len([l for l in lines if l.startswith("3,rejected,,,,false,")]), 1, lines)
        if self.dev_stdout:
            self.assertTrue(os.path.islink("/dev/stdout"))

    def test_rejects_to_dev_fd_n_go_through_that_descriptor(self):
        r = self.kl("import", "--no-config", "--rejects", "/dev/fd/1", self.csv)
        self.assertEqual(r.code, 65, r)
        lines = r.out.split("\n")
        self.assertIn("name,phone,source_uid,error\r", lines)
        self.assertEqual(len([l for l in lines if l.startswith("B,12ab,,")]), 1, lines)

    def test_rejects_on_standard_output_are_never_cut_by_the_json_lines_beside_them(self):
        # a dry run: each batch's JSON array goes to stdout, and so do the rejects rows
        rows = "".join(f"A{i},notaphone{i}\nB{i},+7999{i:07d}\n" for i in range(1500))
        path = self.write("many.csv", "name,phone\n" + rows)
        r = self.kl("import", "--no-config", "--dry-run", "--batch-size", "1", "--rejects", "/dev/stdout", path)
        self.assertEqual(r.code, 65, r)
        rejects = 0
        for line in r.out.split("\n")[:-1]:
            if line.startswith("["):
                json.loads(line)  # a whole array: no rejects row inside it
            elif line != "name,phone,source_uid,error\r":
                self.assertRegex(line, r'^A\d+,notaphone\d+,,"row \d+, column ""phone"".*"\r$')
                rejects += 1
        self.assertEqual(rejects, 1500)

    def test_a_symlink_to_a_fifo_is_written_through_and_kept(self):
        fifo = os.path.join(self.tmp.name, "fifo")
        os.mkfifo(fifo)
        link = os.path.join(self.tmp.name, "rejects.csv")
        os.symlink(fifo, link)
        got = []
        reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
        reader.start()
        r = self.kl("import", "--no-config", "--rejects", link, self.csv)
        reader.join()
        self.assertEqual(r.code, 65, r)
        self.assertIn("B,12ab,", got[0].decode())
        st = os.lstat(link)
        self.assertTrue(stat.S_ISLNK(st.st_mode), "the symlink was replaced")
        self.assertEqual(os.readlink(link), fifo)


if __name__ == "__main__":
    unittest.main()
