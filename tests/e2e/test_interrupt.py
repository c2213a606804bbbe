#!/usr/bin/env python3
"""End-to-end tests of Ctrl-C (SIGINT) and of what an operator is told while
a run goes on: the first signal says at once that the request in flight is
finished, and the rows read ahead are counted not sent; the second stops
without waiting for the answer, and the journal keeps the rows in flight as
sent without an answer, so that a rerun finds or resends each exactly once;
the progress line counts rows done; a terminal on standard input is told
that the import reads it."""
import json
import os
import pty
import re
import subprocess
import time
import unittest

from kltest import FORMS, SLOWDOWN, SandboxTest

FIRST = "kommo-lead: interrupted: finishing the request in flight, then stopping"
SECOND = "kommo-lead: interrupted again: stopping without waiting for the answer"
# the first signal when no request is on the wire (a wait on input, --dry-run)
IDLE = "kommo-lead: interrupted: stopping (nothing is being sent; Ctrl-C again stops at once)\n"
NOT_SENT = "not sent: the import was interrupted"
IN_FLIGHT = "interrupted while waiting for Kommo's answer: the request may have reached Kommo (possibly duplicated)"
STDIN = "kommo-lead: reading rows from standard input (end with Ctrl-D)"
# long enough that a run which waited for the answer would not end before the test gives up
NEVER = str(int(min(600 * SLOWDOWN, 3600)))  # --timeout takes up to 3600
# how long the sandbox holds a request the test interrupts: time enough to be
# told, well within the default --timeout (30 s) even under valgrind
HELD = min(8 * SLOWDOWN, 20)


class Interrupting(SandboxTest):
    """Helpers: a run's stderr read as it comes."""

    def start(self, *args, **popen):
        """As SandboxTest.start, stderr unbuffered: wait_for_line reads it a line
        at a time, leaving the rest in the pipe for finish()."""
        return super().start(*args, bufsize=0, **popen)

    def wait_for_terminal_read(self, p, timeout=30):
        """Waits until the start()ed run p is blocked reading its standard input
        (/proc/PID/syscall: read, on descriptor 0): a signal sent before would
        come between its last look at the flag and the read."""
        reads = {"x86_64": "0", "aarch64": "63"}.get(os.uname().machine)
        if reads is None:
            self.skipTest("the read system call's number on this machine is not known here")
        deadline = time.monotonic() + timeout * SLOWDOWN
        while True:
            try:
                with open(f"/proc/{p.pid}/syscall", encoding="ascii") as f:
                    call = f.read().split()
            except OSError:
                call = []
            if call[:2] == [reads, "0x0"]:
                return
            if p.poll() is not None or time.monotonic() > deadline:
                self._abandon(p, "the run did not wait on its terminal")
            time.sleep(0.02)

    def wait_for_line(self, p, text, seen):
        """Reads the start()ed run's stderr, line by line, into seen until a
        line holds text; fails the test if stderr ends first."""
        while True:
            line = p.stderr.readline().decode("utf-8")
            if not line:
                self._abandon(p, f"stderr ended before {text!r}; it said: {''.join(seen)}")
            seen.append(line)
            if text in line:
                return

    def interrupted(self, *args, posts=1, times=1, ready=None):
        """Starts a run (its argv has -v), waits until its posts-th request went
        out (and ready(p), when given), then sends times SIGINTs, each once the
        one before was told. Returns the run and the stderr lines read."""
        p = self.start(*args)
        seen = []
        for _ in range(posts):
            self.wait_for_line(p, "> POST ", seen)
        if ready:
            ready(p)
        for text in (FIRST, SECOND)[:times]:
            self.interrupt(p)
            self.wait_for_line(p, text, seen)
        return p, seen

    def assert_created(self, r, rows):
        """The run exited 75, its first lines on stdout the rows created."""
        self.assertEqual(r.code, 75, r)
        lines = r.out.splitlines()
        for n, line in zip(rows, lines):
            self.assertRegex(line, rf"^row={n} lead_id=\d+ contact_id=\d+$")
        return lines

    def finish_with(self, p, seen):
        r = self.finish(p, timeout=120)
        r.err = "".join(seen) + r.err
        return r


class InterruptTest(Interrupting):
    def setUp(self):
        super().setUp()
        self.csv = os.path.join(self.tmp.name, "leads.csv")
        self.state = os.path.join(self.tmp.name, "import.state")

    def write_csv(self, n):
        with open(self.csv, "w", encoding="utf-8") as f:
            f.write("name,phone\n")
            for i in range(n):
                f.write(f"Lead{i},+7996{i:07d}\n")

    def test_one_sigint_finishes_the_batch_in_flight_and_counts_the_rest_not_sent(self):
        self.write_csv(6)
        self.fault(f"slow={HELD:g}@{FORMS}")
        p, seen = self.interrupted("import", "--no-config", "--batch-size", "2", "-v", self.csv)
        # told at once: the sandbox has not carried out (nor answered) the request yet
        self.assertEqual(self.forms_posts(), [], "the message came while the request was in flight")
        self.assertIn("(Ctrl-C again stops without waiting for its answer)", seen[-1])
        r = self.finish_with(p, seen)
        # every row read is printed: the rows read ahead as not sent
        self.assertEqual(self.assert_created(r, (2, 3))[2:], [f"row={n} {NOT_SENT}" for n in range(4, 8)], r)
        self.assertIn("6 rows read: 2 created, 0 rejected, 0 failed, 4 not sent, 0 skipped", r.err)
        # the whole file was read: no "reading stopped" beside it
        self.assertIn("kommo-lead: 4 rows were not sent, the first of them row 4: to finish, import the input's "
                      "rows from row 4 on again", r.err)
        self.assertNotIn("reading stopped", r.err)
        self.assertNotIn(SECOND, r.err)
        forms = self.forms_posts()
        self.assertEqual(len(forms), 1, "nothing sent after the signal")
        self.assertEqual(sorted(self.leads_per_uid().values()), [1, 1])

    def test_a_sigint_during_the_last_batch_that_then_does_everything_exits_0(self):
        # nothing is left to run again: 75 ("run again") would make a wrapper without
        # --state send every row a second time
        self.write_csv(2)
        self.fault(f"slow={HELD:g}@{FORMS}")
        p, seen = self.interrupted("import", "--no-config", "--batch-size", "2", "-v", self.csv)
        r = self.finish_with(p, seen)
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^row=2 lead_id=\d+ contact_id=\d+\nrow=3 lead_id=\d+ contact_id=\d+\n$")
        self.assertIn("2 rows read: 2 created, 0 rejected, 0 failed, 0 skipped; 1 request", r.err)
        self.assertNotIn("every row read is reported above", r.err)
        self.assertEqual(sorted(self.leads_per_uid().values()), [1, 1])

    def test_one_sigint_counts_the_rows_of_the_batch_read_ahead_not_sent_not_failed(self):
        self.write_csv(3)
        rej = os.path.join(self.tmp.name, "rejects.csv")
        self.fault(f"slow={HELD:g}@{FORMS}")
        # row 4 is read ahead (in the reader's chunk) while rows 2-3 are in
        # flight: not sent, and in the rejects file as such
        p, seen = self.interrupted("import", "--no-config", "--batch-size", "2", "--rejects", rej, "-v", self.csv)
        r = self.finish_with(p, seen)
        self.assert_created(r, (2, 3))
        self.assertIn("3 rows read: 2 created, 0 rejected, 0 failed, 1 not sent, 0 skipped", r.err)
        with open(rej, encoding="utf-8", newline="") as f:
            self.assertEqual(f.read().split("\r\n")[1:], ["Lead2,+79960000002,,not sent: the import was interrupted", ""])

    def test_two_sigints_stop_without_waiting_and_the_rerun_creates_every_lead_once(self):
        self.write_csv(6)
        # the first batch is answered; the second is never answered (and not carried out)
        self.fault(f"slow=0@{FORMS}", f"hang@{FORMS}")
        # the hang fault records the request when it arrives
        p, seen = self.interrupted("import", "--no-config", "--state", self.state, "--batch-size", "2",
                                   "--timeout", NEVER, "-v", self.csv, posts=2, times=2,
                                   ready=lambda p: self.wait_for_requests(p, 2))
        r = self.finish_with(p, seen)
        lines = self.assert_created(r, (2, 3))
        # the reason said once, not again in the flag's note; the rows read ahead (6, 7) not sent
        self.assertEqual(lines[2:], [f"row={n} failed: {IN_FLIGHT}" for n in (4, 5)] +
                         [f"row={n} {NOT_SENT}" for n in (6, 7)], r)
        self.assertIn("6 rows read: 2 created, 0 rejected, 2 failed, 2 not sent, 0 skipped", r.err)
        self.assertIn("kommo-lead: 4 rows failed or were not sent: run the same import again later with the same "
                      "--state", r.err)
        self.assertNotIn("reading stopped", r.err)
        self.assertEqual(len(self.forms_posts()), 2, "nothing sent after the signals")
        self.assertEqual(self.lookups(), [], "no lookup after the second signal")

        # the journal holds rows 4 and 5 as sent without an answer: the rerun looks
        # for them first, and sends them again flagged, with their own source_uids
        before = len(self.new_requests())
        again = self.kl("import", "--no-config", "--state", self.state, "--batch-size", "2", self.csv)
        self.assertEqual(again.code, 0, again)
        self.assertIn(f"--state {self.state}: 0 of 2 rows sent without a recorded answer are in Incoming leads", again.err)
        rerun = self.new_requests()[before:]
        self.assertTrue(rerun[0]["path"].startswith("/api/v4/leads/unsorted?"), rerun[0])
        self.assertEqual(sorted(self.leads_per_uid().values()), [1] * 6)
        out = again.out.splitlines()
        self.assertEqual([l.split(" ")[0] for l in out], [f"row={n}" for n in range(2, 8)])
        self.assertTrue(out[2].endswith(" possibly_duplicated") and out[3].endswith(" possibly_duplicated"), out)
        self.assertTrue(all(" skipped " in l for l in out[:2]), out)

    def test_a_lead_that_landed_before_the_second_sigint_is_found_by_the_rerun_not_sent_again(self):
        self.write_csv(2)
        late = 20 * SLOWDOWN
        # carried out at once, answered only after late seconds
        self.fault(f"late={late:g}@{FORMS}")
        def landed(p):  # the leads exist: the answer is what is late
            deadline = time.monotonic() + 30 * SLOWDOWN
            while len(self.leads_per_uid()) < 2:
                self.assertLess(time.monotonic(), deadline, "the sandbox did not carry out the request")
                time.sleep(0.02)

        p, seen = self.interrupted("import", "--no-config", "--state", self.state, "--timeout", NEVER, "-v",
                                   self.csv, times=2, ready=landed)
        r = self.finish_with(p, seen)
        self.assertEqual(r.code, 75, r)
        # the late fault records the request when it answers: the run ended before that
        self.assertEqual(self.forms_posts(), [], "the run did not wait for the answer")
        self.assertIn("2 rows read: 0 created, 0 rejected, 2 failed, 0 skipped", r.err)
        again = self.kl("import", "--no-config", "--state", self.state, self.csv)
        self.assertEqual(again.code, 0, again)
        self.assertIn("2 of 2 rows sent without a recorded answer are in Incoming leads: created", again.err)
        self.assertEqual(sorted(self.leads_per_uid().values()), [1, 1])
        # the sandbox answers the first request in the end: wait for it, so that
        # its record does not land in the next test
        deadline = time.monotonic() + (late + 30) * SLOWDOWN
        while not self.forms_posts():
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.1)
        self.assertEqual(len(self.forms_posts()), 1, "the rerun sent nothing")

    def test_progress_counts_the_rows_done_not_the_bytes_read_ahead(self):
        self.write_csv(12)
        jsonl = os.path.join(self.tmp.name, "leads.jsonl")
        with open(jsonl, "w", encoding="utf-8") as f:
            f.writelines(f'{{"name": "J{i:02d}", "phone": "+7996100{i:04d}"}}\n' for i in range(12))
        for path in (self.csv, jsonl):
            with self.subTest(path=path):
                r = self.kl("import", "--no-config", "--batch-size", "4", "--progress", path)
                self.assertEqual(r.code, 0, r)
                # the CSV is read at once (one chunk of 64 KiB); after the first
                # batch a third of its rows are done, whatever was read ahead
                shares = re.findall(r"\rkommo-lead: (\d+) rows, \d+ rows/s, (\d+)%", r.err)
                self.assertEqual(shares[:3], [("4", "33"), ("8", "67"), ("12", "100")], r.err)

    def import_on_terminal(self, then, *args):
        """Runs an import of standard input on a new terminal (a pty), with
        args; once it said that it reads it, then(p, master, seen) drives it.
        The Result."""
        master, slave = pty.openpty()
        try:
            p = self.start("import", "--no-config", *args, "-", stdin=slave)
            os.close(slave)
            slave = -1
            seen = []
            self.wait_for_line(p, STDIN, seen)
            then(p, master, seen)
            return self.finish_with(p, seen)
        finally:
            if slave >= 0:
                os.close(slave)
            os.close(master)

    def test_a_terminal_on_standard_input_is_told_that_the_import_reads_it(self):
        r = self.import_on_terminal(lambda p, master, seen: os.write(master, b"name,phone\nA,+79960001001\n\x04"))
        self.assertEqual(r.code, 0, r)
        self.assertEqual(r.err.count(STDIN), 1, r)
        self.assertRegex(r.out, r"^row=2 lead_id=\d+ contact_id=\d+\n$")

    def test_sigint_while_a_terminal_is_read_ends_the_wait(self):
        def interrupt(p, master, seen):
            self.wait_for_terminal_read(p)
            self.interrupt(p)
            self.wait_for_line(p, IDLE, seen)

        r = self.import_on_terminal(interrupt)
        self.assertEqual(r.code, 75, r)
        # no request was on the wire: the message does not claim one
        self.assertIn(IDLE, r.err)
        self.assertNotIn(FIRST, r.err)
        self.assertIn("kommo-lead: interrupted before the first row: nothing was sent\n", r.err)
        self.assertNotIn("rows read", r.err)  # none was
        self.assert_nothing_sent()

    def wait_for_consumed(self, p, before, n, timeout=30):
        """Waits until the start()ed run p read n bytes more than before (its
        /proc/PID/io rchar) and waits on its terminal again."""
        deadline = time.monotonic() + timeout * SLOWDOWN
        while self.rchar(p) < before + n:
            if p.poll() is not None or time.monotonic() > deadline:
                self._abandon(p, "the run did not read what was typed")
            time.sleep(0.02)
        self.wait_for_terminal_read(p)

    @staticmethod
    def rchar(p):
        with open(f"/proc/{p.pid}/io", encoding="ascii") as f:
            return int(next(l for l in f if l.startswith("rchar:")).split()[1])

    def test_rows_typed_at_a_terminal_are_printed_and_recorded_not_sent_on_sigint(self):
        rej = os.path.join(self.tmp.name, "rejects.csv")
        typed = b"name,phone\nAnna,+79960002001\nBoris,+79960002002\n"

        def type_then_interrupt(p, master, seen):
            self.wait_for_terminal_read(p)
            before = self.rchar(p)
            os.write(master, typed)
            self.wait_for_consumed(p, before, len(typed))
            self.interrupt(p)
            self.wait_for_line(p, IDLE, seen)

        r = self.import_on_terminal(type_then_interrupt, "--rejects", rej)
        self.assertEqual(r.code, 75, r)
        self.assertEqual(r.out, f"row=2 {NOT_SENT}\nrow=3 {NOT_SENT}\n")
        self.assertIn("kommo-lead: 2 rows read: 0 created, 0 rejected, 0 failed, 2 not sent, 0 skipped", r.err)
        self.assertIn(f"kommo-lead: 2 rows were not sent: they are in {rej} with the rejected ones", r.err)
        self.assertNotIn("nothing was sent\n", r.err)
        self.assertNotIn("reading stopped", r.err)  # a terminal has no rows after the last one typed
        with open(rej, encoding="utf-8", newline="") as f:
            self.assertEqual(f.read().split("\r\n"), ["name,phone,source_uid,error",
                                                     f"Anna,+79960002001,,{NOT_SENT}",
                                                     f"Boris,+79960002002,,{NOT_SENT}", ""])
        self.assert_nothing_sent()

    def two_sigints_on_a_batch_of_40(self, *args):
        """An import of 40 rows in batches of 2, interrupted twice while its
        first request hangs. The Result."""
        self.write_csv(40)
        self.fault(f"hang@{FORMS}")
        p, seen = self.interrupted("import", "--no-config", "--batch-size", "2", "--timeout", NEVER, "-v", *args,
                                   self.csv, times=2, ready=lambda p: self.wait_for_requests(p, 1))
        r = self.finish_with(p, seen)
        self.assertEqual(r.code, 75, r)
        self.assertEqual(len(self.forms_posts()), 1, "nothing sent after the signals")
        return r

    def test_two_sigints_print_every_row_read_and_the_summary_agrees_with_them(self):
        rej = os.path.join(self.tmp.name, "rejects.csv")
        r = self.two_sigints_on_a_batch_of_40("--rejects", rej)
        self.assertEqual(r.out.splitlines(), [f"row={n} failed: {IN_FLIGHT}" for n in (2, 3)] +
                         [f"row={n} {NOT_SENT}" for n in range(4, 42)])
        self.assertIn("kommo-lead: interrupted: every row read is reported above\n", r.err)
        self.assertIn("kommo-lead: 40 rows read: 0 created, 0 rejected, 2 failed, 38 not sent, 0 skipped", r.err)
        self.assertIn(f"kommo-lead: 40 rows failed or were not sent: they are in {rej} with the rejected ones: "
                      "import it again later to finish (fix the rejected rows first)\n", r.err)
        self.assertIn("kommo-lead: but 2 of the failed rows may be in Kommo already (flagged possibly duplicated: "
                      "a request carrying each may have reached Kommo)", r.err)
        # the whole file was read: no row is left outside the rejects file
        self.assertNotIn("reading stopped", r.err)
        with open(rej, encoding="utf-8", newline="") as f:
            errors = [line.rsplit(",", 1)[1] for line in f.read().split("\r\n")[1:-1]]
        self.assertEqual(errors, ["interrupted while waiting for Kommo's answer: the request may have reached "
                                  "Kommo (possibly duplicated)"] * 2 + [NOT_SENT] * 38)

    def test_the_json_summary_counts_every_row_flagged_possibly_duplicated(self):
        r = self.two_sigints_on_a_batch_of_40("--json")
        out = [json.loads(line) for line in r.out.splitlines()]
        rows, summary = out[:-1], out[-1]
        self.assertEqual([x["row"] for x in rows], list(range(2, 42)))
        self.assertEqual([x["row"] for x in rows if x["possibly_duplicated"]], [2, 3])
        self.assertEqual((summary["read"], summary["failed"], summary["not_sent"], summary["possibly_duplicated"]),
                         (40, 2, 38, 2), summary)
        # with neither --rejects nor --state: the rows to import again are named, and
        # the two that may be in Kommo already are told about too
        self.assertIn("kommo-lead: 38 rows were not sent, the first of them row 4 (and the failed rows listed "
                      "above): to finish, import the input's rows from row 4 on again", r.err)
        self.assertIn("kommo-lead: but 2 of the failed rows may be in Kommo already (flagged possibly duplicated: "
                      "a request carrying each may have reached Kommo): look each up in Incoming leads by its "
                      "source_uid and leave out those found; --state FILE does this by itself\n", r.err)

    def test_a_second_sigint_ends_a_read_of_a_pipe_its_writer_keeps_open(self):
        # the writer sends three rows and neither closes the pipe nor is signalled
        # (another process group, a SIGTERM from a supervisor): the reads restart
        # after the first signal, the second cuts the wait short
        rd, wr = os.pipe()
        try:
            os.write(wr, b"name,phone\nA,+79960002001\nB,+79960002002\nC,+79960002003\n")
            p = self.start("import", "--no-config", "-", stdin=rd)
            os.close(rd)
            rd = -1
            seen = []
            self.wait_for_terminal_read(p)
            self.interrupt(p)
            self.wait_for_line(p, IDLE, seen)
            self.wait_for_terminal_read(p)  # read again: the first signal ends no read
            self.interrupt(p)
            self.wait_for_line(p, "kommo-lead: interrupted again: stopping now", seen)
            r = self.finish(p)
        finally:
            for fd in (rd, wr):
                if fd >= 0:
                    os.close(fd)
        self.assertEqual(r.code, 75, r)
        self.assertEqual(r.out, "".join(f"row={n} {NOT_SENT}\n" for n in (2, 3, 4)), r)
        self.assert_nothing_sent()

    def test_a_pipe_on_standard_input_is_not_told_about(self):
        r = self.kl("import", "--no-config", "-", stdin=b"name,phone\nA,+79960001002\n")
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("reading rows from standard input", r.err)


class SubmitInterruptTest(Interrupting):
    LEAD = ("--no-config", "--name", "Ivan", "--phone", "+79991234567")

    def test_one_sigint_lets_the_lead_be_created_and_its_ids_printed(self):
        self.fault(f"slow={HELD:g}@{FORMS}")
        p, seen = self.interrupted(*self.LEAD, "--source-uid", "u-int-1", "-v")
        self.assertEqual(self.forms_posts(), [], "the message came while the request was in flight")
        r = self.finish_with(p, seen)
        self.assertEqual(r.code, 0, r)
        self.assertRegex(r.out, r"^lead_id=\d+ contact_id=\d+")
        self.assertEqual(len(self.forms_posts()), 1)

    def test_two_sigints_stop_and_say_the_lead_may_or_may_not_exist(self):
        self.fault(f"hang@{FORMS}")
        p, seen = self.interrupted(*self.LEAD, "--source-uid", "u-int-2", "--timeout", NEVER, "-v", times=2,
                                   ready=lambda p: self.wait_for_requests(p, 1))
        r = self.finish_with(p, seen)
        self.assertEqual(r.code, 75, r)
        self.assertEqual(r.out, "")
        self.assertIn("kommo-lead: interrupted while waiting for Kommo's answer: the lead may or may not have been "
                      "created (source_uid u-int-2): look for it in Kommo's Incoming leads before sending it again\n",
                      r.err)
        self.assertEqual(len(self.forms_posts()), 1)
        self.assertEqual(self.lookups(), [], "no lookup after the second signal")


if __name__ == "__main__":
    unittest.main(verbosity=2)
