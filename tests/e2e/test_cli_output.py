#!/usr/bin/env python3
"""End-to-end tests of what the commands that send nothing print: config's
origins (only the four documented forms) and the address in force, and help
or version piped into a reader that stopped early."""
import os
import re
import unittest

from kltest import TOKEN, SandboxTest, load_tests  # noqa: F401  (load_tests: sharding)

# kommo-lead config's ORIGIN, as --help, the man page and README document it
ORIGIN = re.compile(r"(flag:--[a-z][-a-z]*|environment|file:.+:[0-9]+|default)")


class CliOutputTest(SandboxTest):
    def config(self, *args, env=None):
        r = self.kl("config", "--no-config", *args, env=env, base_url=None, token_file=None)
        self.assertEqual(r.code, 0, r)
        self.assertNotIn(TOKEN, r.out + r.err)
        return r

    def test_config_origins_are_the_documented_forms(self):
        cfg = self.write("c.env", "KOMMO_SUBDOMAIN=acme\nKOMMO_PIPELINE_ID=11\n")
        mark = os.path.join(self.tmp.name, "ran")
        for args, env, line in (
            (["--token-file", self.token_file], {}, "flag:--token-file\tKOMMO_API_TOKEN=(set)"),
            (["--token-command", f"touch {mark}"], {}, "flag:--token-command\tKOMMO_API_TOKEN="
                                                         "(set: from the command's output; not run)"),
            ([], {"KOMMO_TOKEN_COMMAND": f"touch {mark}; echo {TOKEN}"},
             "environment\tKOMMO_API_TOKEN=(set: from the command's output; not run)"),
            ([], {"KOMMO_API_TOKEN": TOKEN, "KOMMO_PIPELINE_ID": "22"}, "environment\tKOMMO_API_TOKEN=(set)"),
            (["--cacert", cfg], {}, f"flag:--cacert\tKOMMO_CA_BUNDLE={cfg}"),
        ):
            with self.subTest(line=line):
                r = self.config(*args, env=env)
                lines = r.out.splitlines()
                self.assertIn(line, lines)
                for origin in (l.split("\t")[0] for l in lines):
                    self.assertIsNotNone(ORIGIN.fullmatch(origin), origin)
        r = self.kl("--config", cfg, "config", base_url=None, token_file=None)
        self.assertIn(f"file:{cfg}:2\tKOMMO_PIPELINE_ID=11", r.out.splitlines())
        self.assertFalse(os.path.exists(mark))  # the command is never run

    def test_config_names_the_address_in_force_and_its_key(self):
        for env, said in (
            ({"KOMMO_SUBDOMAIN": "acme", "KOMMO_BASE_URL": "http://127.0.0.1:9/"},
             "address: http://127.0.0.1:9 (from KOMMO_BASE_URL)"),
            ({"KOMMO_SUBDOMAIN": "acme", "KOMMO_DOMAIN": "acme.amocrm.ru"},
             "address: https://acme.amocrm.ru (from KOMMO_DOMAIN)"),
            ({"KOMMO_SUBDOMAIN": "acme"}, "address: https://acme.kommo.com (from KOMMO_SUBDOMAIN)"),
            ({}, "address: none (set KOMMO_SUBDOMAIN, KOMMO_DOMAIN or KOMMO_BASE_URL)"),
        ):
            with self.subTest(env=env):
                r = self.config(env=env)
                self.assertIn(f"kommo-lead: {said}\n", r.err)
                self.assertNotIn("address", r.out)  # stdout keeps its one shape
        self.assert_nothing_sent()

    def test_help_into_a_reader_that_stopped_is_no_error(self):
        for args in (["help", "import"], ["--help"], ["leads", "create", "--help"], ["--version"]):
            with self.subTest(args=args):
                rd, wr = os.pipe()
                os.close(rd)  # as head does once it has its lines
                try:
                    r = self.kl(*args, stdout=wr, token_file=None)
                finally:
                    os.close(wr)
                self.assertEqual((r.code, r.err), (0, ""), r)
        # a full disk is still an error
        with open("/dev/full", "wb") as full:
            r = self.kl("--help", stdout=full, token_file=None)
        self.assertEqual(r.code, 74, r)
        self.assertIn("cannot write to standard output", r.err)


if __name__ == "__main__":
    unittest.main()
