#!/usr/bin/env python3
"""Holds the sandbox's replies to the shape of Kommo's documented reply
examples in tests/kommo-docs/*.json (see its README.md): the same keys at
every level and the same JSON types, recursively. Extra or missing keys pass
only where the example file lists them with a reason, so the sandbox cannot
drift from Kommo unnoticed.

Run from the repository root:  python3 tests/sandbox/test_sandbox_docs.py -v
"""

import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_sandbox_unsorted import TOKEN, Sandbox, item  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "kommo-docs"
SIDECAR_KEYS = {"endpoint", "source", "note", "request", "method", "body", "token", "status",
                "example", "partial", "extra_allowed", "missing_allowed", "nullable", "free"}
SECTIONS = ("extra_allowed", "missing_allowed", "nullable", "free")


def kind(v):
    """A JSON type name; int and float are both JSON numbers."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "array" if isinstance(v, list) else "object"


def join(path, key):
    return "%s.%s" % (path, key) if path else key


def shape_errors(doc, got, spec, path=""):
    """Where got's shape differs from doc's. A null in the example is a
    documented nullable value and matches any type, as does a null served where
    the file lists the path as nullable; each element of a list is held to the
    example's first element."""
    if path in spec["free"] or doc is None:
        return []
    if got is None and path in spec.get("nullable", {}):
        return []
    if kind(doc) != kind(got):
        return ["%s: %s documented, %s served" % (path or "(top)", kind(doc), kind(got))]
    if isinstance(doc, list):
        if not doc:
            return []
        return [e for g in got for e in shape_errors(doc[0], g, spec, path + "[]")]
    if not isinstance(doc, dict):
        return []
    out = []
    for k in doc:
        p = join(path, k)
        if k not in got:
            if p not in spec["missing_allowed"]:
                out.append("%s: documented, not served" % p)
            continue
        out += shape_errors(doc[k], got[k], spec, p)
    if path not in spec["partial"]:
        out += ["%s: served, not documented" % join(path, k)
                for k in got if k not in doc and join(path, k) not in spec["extra_allowed"]]
    return out


def load_docs():
    docs = {}
    for f in sorted(DOCS.glob("*.json")):
        docs[f.name] = json.loads(f.read_text(encoding="utf-8"))
    return docs


class TestShapeChecker(unittest.TestCase):
    """The checker itself, so a broken checker cannot pass every reply."""
    SPEC = {"free": {}, "partial": [], "extra_allowed": {}, "missing_allowed": {}, "nullable": {}}

    def test_differences_are_found(self):
        doc = {"a": 1, "b": {"c": "x"}, "l": [{"id": 1}], "n": None}
        self.assertEqual(shape_errors(doc, {"a": 2, "b": {"c": "y"}, "l": [{"id": 3}], "n": 5},
                                      self.SPEC), [])
        self.assertEqual(shape_errors(doc, {"a": "2", "b": {}, "l": [{"id": 1, "x": 0}], "n": 1},
                                      self.SPEC),
                         ["a: number documented, string served", "b.c: documented, not served",
                          "l[].x: served, not documented"])
        spec = dict(self.SPEC, extra_allowed={"l[].x": "why"}, missing_allowed={"b.c": "why"},
                    free={"a": "why"})
        self.assertEqual(shape_errors(doc, {"a": "2", "b": {}, "l": [{"id": 1, "x": 0}]}, spec),
                         ["n: documented, not served"])
        self.assertEqual(shape_errors(doc, {"a": 1, "b": None, "l": None, "n": 0}, self.SPEC),
                         ["b: object documented, null served", "l: array documented, null served"])
        spec = dict(self.SPEC, nullable={"l": "why"})
        self.assertEqual(shape_errors(doc, {"a": 1, "b": None, "l": None, "n": 0}, spec),
                         ["b: object documented, null served"])


def fill(value, ids):
    """The request's placeholders ({uid}, {lead_id}, {contact_id}) filled in:
    inside a path's text, or as a whole JSON value (an id becomes a number)."""
    if isinstance(value, str):
        if value in ids:
            return ids[value]
        for name, v in ids.items():
            value = value.replace(name, str(v))
        return value
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def with_fields():
    """An Incoming lead whose lead and contact carry custom fields, so the
    entities' custom_fields_values are lists to compare, not null."""
    it = item(1)
    emb = it["_embedded"]
    emb["leads"][0]["custom_fields_values"] = [
        {"field_code": "UTM_SOURCE", "values": [{"value": "google"}]}]
    emb["contacts"][0]["custom_fields_values"] = [
        {"field_code": "PHONE", "values": [{"value": "+79991234567"}]}]
    return it


class TestDocumentedShapes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sb = Sandbox()
        status, _, data = cls.sb.post([with_fields()])
        if status != 200:
            cls.sb.stop()
            raise AssertionError("forms POST: %d %s" % (status, data))
        made = json.loads(data)["_embedded"]["unsorted"][0]
        cls.ids = {"{uid}": made["uid"], "{lead_id}": made["_embedded"]["leads"][0]["id"],
                   "{contact_id}": made["_embedded"]["contacts"][0]["id"]}

    @classmethod
    def tearDownClass(cls):
        cls.sb.stop()

    def test_every_example_file_is_well_formed(self):
        docs = load_docs()
        self.assertGreaterEqual(len(docs), 16)
        for name, spec in docs.items():
            with self.subTest(name):
                self.assertLessEqual(set(spec), SIDECAR_KEYS)
                self.assertTrue(spec["source"] and all(u.startswith("https://") for u in spec["source"]))
                for section in SECTIONS:
                    for path, reason in spec.get(section, {}).items():
                        self.assertTrue(reason.strip(), "%s: %s has no reason" % (section, path))

    def test_sandbox_replies_have_the_documented_shape(self):
        for name, spec in load_docs().items():
            with self.subTest(name):
                status, headers, data = self.sb.call(
                    spec.get("method", "GET"), fill(spec["request"], self.ids),
                    fill(spec.get("body"), self.ids), token=spec.get("token", TOKEN))
                self.assertEqual(status, spec["status"], data)
                ctype = "application/hal+json" if status < 400 else "application/problem+json"
                self.assertEqual(headers["Content-Type"], ctype)
                self.assertEqual(shape_errors(spec["example"], json.loads(data), spec), [])


if __name__ == "__main__":
    unittest.main()
