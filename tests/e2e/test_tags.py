#!/usr/bin/env python3
"""End-to-end tests of tags: --tag and the tags column arrive on the lead as
Kommo documents them (_embedded.tags of the lead, each {"name": ...}), and the
sandbox refuses any other shape and keeps them on the lead."""
import json
import os
import unittest
import urllib.error
import urllib.request

from kltest import FORMS, TOKEN, URL, SandboxTest, control


def items(req):
    return json.loads(req["body"])


def post_forms(body):
    req = urllib.request.Request(URL + FORMS, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode())


class TagsTest(SandboxTest):
    def imp(self, csv, *args):
        path = os.path.join(self.tmp.name, "in.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write(csv)
        return self.kl("import", "--no-config", *args, path)

    def lead_of(self, item):
        return item["_embedded"]["leads"][0]

    def test_tags_by_flag_and_column_arrive_on_the_lead_as_kommo_documents(self):
        csv = "name,phone,tags\nA,+79990000101,\" vip ,ads,,vip\"\nB,+79990000102,\n"
        r = self.imp(csv, "--tag", "web", "--tag", "ads")
        self.assertEqual(r.code, 0, r)
        its = [it for q in self.forms_posts() for it in items(q)]
        self.assertEqual([it["request_id"] for it in its], ["2", "3"])
        # the row's tags add to --tag's; trimmed, empty names and repeats dropped
        self.assertEqual(self.lead_of(its[0])["_embedded"],
                         {"tags": [{"name": "web"}, {"name": "ads"}, {"name": "vip"}]})
        # an empty cell leaves --tag's
        self.assertEqual(self.lead_of(its[1])["_embedded"], {"tags": [{"name": "web"}, {"name": "ads"}]})
        leads = control("GET", "entities")["leads"][-2:]
        self.assertEqual([[t["name"] for t in l["_embedded"]["tags"]] for l in leads],
                         [["web", "ads", "vip"], ["web", "ads"]])

    def test_submit_sends_its_tags_in_the_creating_request(self):
        r = self.kl("submit", "--no-config", "--name", "Анна", "--phone", "+79990000103",
                    "--tag", "Выставка 2025", "--tag", " ")
        self.assertEqual(r.code, 0, r)
        req = self.only_request()
        self.assertEqual(req["path"], FORMS)
        self.assertEqual(self.lead_of(items(req)[0])["_embedded"], {"tags": [{"name": "Выставка 2025"}]})

    def test_no_tags_no_embedded(self):
        r = self.kl("submit", "--no-config", "--name", "Анна", "--phone", "+79990000104")
        self.assertEqual(r.code, 0, r)
        self.assertNotIn("_embedded", self.lead_of(items(self.only_request())[0]))

    def test_a_tag_with_a_control_character_is_refused_naming_its_place(self):
        r = self.imp("name,phone,tags\nA,+79990000105,\"ok,b\x07d\"\n")
        self.assertEqual(r.code, 65, r)
        self.assertIn('row=2 rejected: row 2, column "tags": "b\\x07d" contains a control character', r.out)
        self.assertEqual(self.forms_posts(), [])
        r = self.kl("submit", "--no-config", "--name", "A", "--phone", "+79990000106", "--tag", "a\x1bb")
        self.assertEqual(r.code, 64, r)  # refused as the command line is read
        self.assertIn('--tag: "a\\x1Bb" contains a control character', r.err)
        self.assertEqual(self.forms_posts(), [])

    def test_the_sandbox_refuses_tags_of_another_shape(self):
        base = {"source_uid": "t1", "source_name": "s", "metadata": {"form_sent_at": 1732180000}}
        for tags, path, code in (
                ("vip", "tags", "InvalidType"),
                (["vip"], "tags.0", "InvalidType"),
                ([{"name": ""}], "tags.0.name", "FieldMissing"),
                ([{"name": 5}], "tags.0.name", "InvalidType"),
                ([{"id": "7"}], "tags.0.id", "InvalidType"),
                ([{}], "tags.0.name", "FieldMissing")):
            item = dict(base, _embedded={"leads": [{"name": "L", "_embedded": {"tags": tags}}]})
            status, reply = post_forms([item])
            self.assertEqual(status, 400, (tags, reply))
            errs = reply["validation-errors"][0]["errors"]
            self.assertEqual([(e["path"].split("_embedded.leads.0._embedded.")[-1], e["code"]) for e in errs],
                             [(path, code)], tags)
        item = dict(base, _embedded={"leads": [{"name": "L", "_embedded": {"tags": [{"id": 2164}]}}]})
        self.assertEqual(post_forms([item])[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
