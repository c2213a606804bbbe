#!/usr/bin/env python3
"""End-to-end tests of where --rejects and --results go when FILE is not a
plain file: a name of one of the process's own descriptors (/dev/stdout,
/dev/fd/N) is written through that descriptor and never renamed over (as
root, renaming over /dev/stdout would replace the system's symlink), and a
symlink to a device or a FIFO is written through, the symlink kept."""
import os
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
        lines = r.out.splitlines()
        # the row lines, then the results file's header and rows, all on the pipe
        self.assertRegex(lines[0], r"^row=2 lead_id=\d+ contact_id=\d+$")
        self.assertTrue(lines[1].startswith("row=3 rejected: "), lines)
        self.assertIn("row,status,lead_id,contact_id,source_uid,possibly_duplicated,error\r\n", r.out)
        self.assertRegex(r.out, r"\r?\n2,created,\d+,\d+,[0-9a-f]{32},false,\r\n3,rejected,")
        if self.dev_stdout:
            self.assertTrue(os.path.islink("/dev/stdout"))

    def test_rejects_to_dev_fd_n_go_through_that_descriptor(self):
        r = self.kl("import", "--no-config", "--rejects", "/dev/fd/1", self.csv)
        self.assertEqual(r.code, 65, r)
        self.assertIn("\nname,phone,source_uid,error\r\nB,12ab,,", r.out)

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
