#!/usr/bin/env python3
"""End-to-end tests of spreadsheet data as people type it (issue 13): a file
as Russian Excel saves it, imported with no --encoding, checked against the
requests the sandbox recorded."""
import json
import os
import unittest

from kltest import SandboxTest

MSK = 3 * 3600
# 2026-11-21 10:30 and 00:00 in Moscow (TZ below)
AT_1030 = 1795257000 - MSK
AT_0000 = 1795219200 - MSK
ENV = {"KOMMO_PHONE_REGION": "RU", "KOMMO_INCOME_FIELD_ID": "1709444", "KOMMO_CAREER_FIELD_ID": "488804",
       "TZ": "Europe/Moscow"}


def field(entity, key, value):
    for f in entity.get("custom_fields_values", []):
        if f.get(key) == value:
            return f["values"][0]["value"]
    return None


class SpreadsheetTest(SandboxTest):
    def imp(self, data, *args, env=ENV):
        path = os.path.join(self.tmp.name, "in.csv")
        with open(path, "wb") as f:
            f.write(data)
        return self.kl("import", "--no-config", *args, path, env=env)

    def sent_items(self):
        return [it for req in self.new_requests() if req["status"] == 200 for it in json.loads(req["body"])]

    def test_a_russian_excel_file_is_read_as_written(self):
        rows = [
            "Имя;Фамилия;Телефон;Профессия;Доход;Дата создания",
            'Иван;Петров;8 (999) 000-00-01;"Инженер\nпрограммист";250 000;21.11.2026 10:30',
            "Анна;Смирнова;+7 999 000–00–02;Врач;250\u00a0000;21.11.2026",
            "Олег;Сидоров;8-999-000-00-03 доб. 12;Юрист;1 500,50;21.11.2026 10:30",
            "Ольга;Кузнецова;8 (999) 000-00-05;Учитель;250,000;21.11.2026",
        ]
        # Excel on Russian Windows: Windows-1251, ';', CRLF (a line break inside a cell is LF)
        data = ("\r\n".join(rows) + "\r\n").encode("cp1251")
        r = self.imp(data)
        self.assertEqual(r.code, 65, r)
        lines = r.out.splitlines()
        self.assertRegex("\n".join(lines[:3]), r"^row=2 lead_id=\d+ contact_id=\d+\nrow=3 lead_id=\d+ contact_id=\d+\n"
                                               r"row=4 lead_id=\d+ contact_id=\d+$")
        self.assertEqual(lines[3], 'row=5 rejected: row 5, column "Доход": "250,000" could be read two ways: '
                                   "as 250000 (',' between thousands) or as 250.000 (',' as the decimal mark); "
                                   "write 250000 or 250 000 for the first, 250.0000 for the second")
        self.assertEqual(len(lines), 4, r)
        its = self.sent_items()
        self.assertEqual([it["request_id"] for it in its], ["2", "3", "4"])
        contacts = [it["_embedded"]["contacts"][0] for it in its]
        leads = [it["_embedded"]["leads"][0] for it in its]
        self.assertEqual([c["name"] for c in contacts], ["Иван Петров", "Анна Смирнова", "Олег Сидоров"])
        self.assertEqual([field(c, "field_code", "PHONE") for c in contacts],
                         ["+79990000001", "+79990000002", "+79990000003 доб. 12"])
        self.assertEqual([field(ld, "field_id", 1709444) for ld in leads], [250000, 250000, 1500.5])
        self.assertEqual(field(leads[0], "field_id", 488804), "Инженер\nпрограммист")
        self.assertEqual([it["created_at"] for it in its], [AT_1030, AT_0000, AT_1030])

    def test_without_a_region_a_national_number_goes_as_written(self):
        env = dict(ENV)
        del env["KOMMO_PHONE_REGION"]
        r = self.imp("name,phone\nИван,8 (999) 000-00-01\nАнна,+7 999 000 00 0\n".encode(), env=env)
        self.assertEqual(r.code, 65, r)
        self.assertIn('row=3 rejected: row 3, column "phone": "+7 999 000 00 0" is too short for RU +7', r.out)
        c = self.sent_items()[0]["_embedded"]["contacts"][0]
        self.assertEqual(field(c, "field_code", "PHONE"), "89990000001")
        # --phone-region wins over the environment
        r = self.imp("name,phone\nИван,8 (999) 000-00-01\n".encode(), "--phone-region", "ru", env=env)
        self.assertEqual(r.code, 0, r)
        c = self.sent_items()[-1]["_embedded"]["contacts"][0]
        self.assertEqual(field(c, "field_code", "PHONE"), "+79990000001")

    def test_encoding_cp1251_on_a_utf8_file_is_refused_and_nothing_sent(self):
        data = "Фамилия;Имя;Телефон\nСидоров;Иван;+79990000001\n".encode()
        r = self.imp(data, "--encoding", "cp1251")
        self.assertEqual(r.code, 65, r)
        self.assertIn("but the file is UTF-8 (Cyrillic in UTF-8 on line 1): drop --encoding cp1251", r.err)
        self.assertEqual(self.sent_items(), [])
        # the same file without --encoding: read as UTF-8, "И" and all
        r = self.imp(data)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.sent_items()[0]["_embedded"]["contacts"][0]["name"], "Иван Сидоров")

    def test_a_file_neither_utf8_nor_cyrillic_names_its_line(self):
        r = self.imp(b"name;phone\nJos\xe9 M\xfcller;+79990000001\n")
        self.assertEqual(r.code, 65, r)
        self.assertIn("in.csv: line 2 is neither UTF-8 nor Windows-1251 Cyrillic text (byte 0xE9)", r.err)
        self.assertEqual(self.sent_items(), [])

    def test_an_input_with_no_rows_says_so(self):
        r = self.imp(b"name;phone\r\n")
        self.assertEqual((r.code, r.out), (0, ""), r)
        self.assertIn("in.csv has no rows: nothing to send", r.err)
        # no header either: an error of its own
        r = self.imp(b"")
        self.assertEqual((r.code, r.out), (65, ""), r)
        self.assertIn("in.csv: empty input: expected a header line", r.err)
        self.assertEqual(self.new_requests(), [])

    def test_an_empty_flag_value_is_not_given(self):
        r = self.kl("--no-config", "--name", "Анна", "--last-name", "", "--phone", "+79990000001",
                    "--income", " ", "--phone-region", "")
        self.assertEqual(r.code, 0, r)
        it = self.sent_items()[0]
        self.assertNotIn("last_name", it["_embedded"]["contacts"][0])
        self.assertEqual(it["_embedded"]["contacts"][0]["name"], "Анна")


if __name__ == "__main__":
    unittest.main()
