"""Validation of request items, as Kommo reports its failures."""

import datetime
import re

from .model import (CHOICE_TYPES, MAX_STRING, MAX_UNIX_SECONDS, PIPELINES, PLAIN_TYPES,
                    ROBOT_USER_ID, STRING_TYPES, USERS, pipeline_status)
from .replies import validation_failed


D_MISSING = "This field is missing."
D_BLANK = "This value should not be blank."
D_CHOICE = "The value you selected is not a valid choice."
D_MILLIS = "This value looks like milliseconds; Unix seconds are expected."
D_TOO_LONG = "This value is too long. It should have %d characters or less." % MAX_STRING
D_DATE = "This value should be a Unix timestamp or an RFC 3339 date."
D_NAME = "A contact needs a name, first_name or last_name."


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def type_detail(t):
    return "This value should be of type %s." % t


class Errors:
    def __init__(self):
        self.list = []

    def add(self, code, path, detail):
        self.list.append({"code": code, "path": path, "detail": detail})

    def missing(self, path):
        self.add("FieldMissing", path, D_MISSING)

    def type(self, path, t):
        self.add("InvalidType", path, type_detail(t))

    def choice(self, path):
        self.add("NotSupportedChoice", path, D_CHOICE)


def join(prefix, name):
    return "%s.%s" % (prefix, name) if prefix else str(name)


def check_string(obj, key, path, errs, required=False, nonempty=False):
    if key not in obj:
        if required:
            errs.missing(path)
        return
    v = obj[key]
    if not isinstance(v, str):
        errs.type(path, "string")
    elif nonempty and v == "":
        errs.add("FieldMissing", path, D_BLANK)


def check_timestamp(obj, key, path, errs, required=False):
    if key not in obj:
        if required:
            errs.missing(path)
        return
    v = obj[key]
    if not is_int(v):
        errs.type(path, "int")
    elif v > MAX_UNIX_SECONDS:
        errs.add("InvalidType", path, D_MILLIS)


class FieldTable(dict):
    """Field id -> field of one entity, with .codes: field code -> id (the first
    field carrying it). Tables are never changed once in State.fields: a change
    builds a new table, so requests can keep using the one they started with."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.codes = {}
        for fid, f in self.items():
            if f["code"] is not None:
                self.codes.setdefault(f["code"], fid)


def field_by_code(table, code):
    return table.codes.get(code) if isinstance(code, str) else None


def parse_date(v):
    """A date field's value: Unix seconds (int) or an RFC 3339 / ISO 8601 string
    -> Unix seconds, else None."""
    if is_int(v):
        return v
    if isinstance(v, str) and re.match(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", v):
        try:
            d = datetime.datetime.fromisoformat(v)
        except ValueError:
            return None
        if d.tzinfo is None:
            d = d.replace(tzinfo=datetime.timezone.utc)
        return int(d.timestamp())
    return None


def enum_by_id(field, eid):
    return next((e for e in field["enums"] or () if e["id"] == eid), None)


def enum_by_value(field, value):
    return next((e for e in field["enums"] or () if e["value"] == value), None)


def check_value(field, item, ip, errs):
    """One entry of a custom field's values (an object); field None if unknown."""
    ftype = field["type"] if field else None
    if ftype in CHOICE_TYPES:
        # A choice names one of the field's enums: by enum_id, else by value.
        if "enum_id" in item:
            eid = item["enum_id"]
            if not is_int(eid):
                errs.type(join(ip, "enum_id"), "int")
            elif enum_by_id(field, eid) is None:
                errs.choice(join(ip, "enum_id"))
        elif "value" not in item:
            errs.missing(join(ip, "value"))
        elif not isinstance(item["value"], str):
            errs.type(join(ip, "value"), "string")
        elif enum_by_value(field, item["value"]) is None:
            errs.choice(join(ip, "value"))
    elif "value" not in item:
        errs.missing(join(ip, "value"))
    else:
        v = item["value"]
        vp = join(ip, "value")
        if ftype == "numeric":
            if not is_number(v):
                errs.type(vp, "number")
        elif ftype == "checkbox":
            if not isinstance(v, bool):
                errs.type(vp, "bool")
        elif ftype == "date":
            if is_int(v) and v > MAX_UNIX_SECONDS:
                errs.add("InvalidType", vp, D_MILLIS)
            elif parse_date(v) is None:
                errs.add("InvalidType", vp, D_DATE)
        elif ftype in STRING_TYPES:
            if not isinstance(v, str):
                errs.type(vp, "string")
        if isinstance(v, str) and len(v) > MAX_STRING:
            errs.add("InvalidLength", vp, D_TOO_LONG)
        if "enum_id" in item and ftype is not None:
            ep = join(ip, "enum_id")
            if ftype != "multitext" or not field["enums"]:
                errs.choice(ep)
            elif not is_int(item["enum_id"]):
                errs.type(ep, "int")
            elif enum_by_id(field, item["enum_id"]) is None:
                errs.choice(ep)
    if "enum_code" in item:
        ep = join(ip, "enum_code")
        if not isinstance(item["enum_code"], str):
            errs.type(ep, "string")
        elif ftype is not None and ftype != "multitext":
            errs.choice(ep)


def check_custom_fields(cfv, entity, fields, errs, at=""):
    """at: the path of the entity holding them ("" when it is the item itself);
    the errors' paths start there."""
    table = fields[entity]
    base = join(at, "custom_fields_values")
    if not isinstance(cfv, list):
        errs.type(base, "array")
        return
    for i, entry in enumerate(cfv):
        p = join(base, i)
        if not isinstance(entry, dict):
            errs.type(p, "object")
            continue
        fid = None
        if "field_id" not in entry and "field_code" not in entry:
            errs.missing(join(p, "field_id"))
        if "field_id" in entry:
            v = entry["field_id"]
            if not is_int(v):
                errs.type(join(p, "field_id"), "int")
            elif v not in table:
                errs.choice(join(p, "field_id"))
            else:
                fid = v
        if "field_code" in entry:
            v = entry["field_code"]
            if not isinstance(v, str):
                errs.type(join(p, "field_code"), "string")
            else:
                by_code = field_by_code(table, v)
                if by_code is None:
                    errs.choice(join(p, "field_code"))
                elif "field_id" not in entry:
                    fid = by_code
                elif fid is not None and fid != by_code:
                    errs.add("NotSupportedChoice", join(p, "field_code"),
                             "field_code does not name the field given by field_id.")
        field = table[fid] if fid is not None else None
        vp = p + ".values"
        if "values" not in entry:
            errs.missing(vp)
            continue
        values = entry["values"]
        if not isinstance(values, list):
            errs.type(vp, "array")
            continue
        if not values:
            errs.add("InvalidLength", vp, "This collection should contain 1 element or more.")
            continue
        string_field = field is not None and field["type"] in STRING_TYPES
        for k, item in enumerate(values):
            if string_field and len(item) == 1 and type(item) is dict:
                v = item.get("value")  # the bulk case: one plain string value
                if type(v) is str and len(v) <= MAX_STRING:
                    continue
            ip = "%s.%d" % (vp, k)
            if not isinstance(item, dict):
                errs.type(ip, "object")
                continue
            check_value(field, item, ip, errs)


def resolve_fields(cfv, table):
    """Valid custom_fields_values -> the form GET answers (None when empty)."""
    out = []
    for entry in cfv or ():
        fid = entry.get("field_id")
        if fid is None:
            fid = field_by_code(table, entry.get("field_code"))
        f = table[fid]
        if f["type"] in PLAIN_TYPES:  # the common case, kept fast for bulk imports
            values = [{"value": item["value"]} for item in entry["values"]]
        else:
            values = [resolve_value(f, item) for item in entry["values"]]
        out.append({"field_id": fid, "field_name": f["name"], "field_code": f["code"],
                    "field_type": f["type"], "values": values})
    return out or None


def resolve_value(field, item):
    ftype = field["type"]
    if ftype in CHOICE_TYPES:
        e = (enum_by_id(field, item["enum_id"]) if "enum_id" in item
             else enum_by_value(field, item["value"]))
        return {"value": e["value"], "enum_id": e["id"]}
    if ftype == "date":
        return {"value": parse_date(item["value"])}
    out = {"value": item["value"]}
    if ftype == "multitext":
        e = None
        if "enum_id" in item:
            e = enum_by_id(field, item["enum_id"])
        elif "enum_code" in item:
            e = enum_by_value(field, item["enum_code"])
        if e is not None:
            out.update(enum_id=e["id"], enum_code=e["value"])
        elif "enum_code" in item:
            out["enum_code"] = item["enum_code"]
    return out


def merge_fields(old, new):
    """PATCH: the fields given replace those fields' values; the others stay."""
    merged = {f["field_id"]: f for f in old or ()}
    for f in new or ():
        merged[f["field_id"]] = f
    return list(merged.values()) or None



def check_embedded_list(emb, key, errs):
    """_embedded.contacts / _embedded.leads: optional array of at most one object."""
    if key not in emb:
        return None
    path = "_embedded." + key
    v = emb[key]
    if not isinstance(v, list):
        errs.type(path, "array")
        return None
    if len(v) > 1:
        errs.add("InvalidLength", path,
                 "This collection should contain 1 element or less.")
    if v and not isinstance(v[0], dict):
        errs.type(path + ".0", "object")
        return None
    return v[0] if v else None


def validate_item(item, index, fields, cf_paths="item"):
    """Returns (request_id, [errors]). cf_paths (CF_PATHS in modes.py): the
    embedded lead's and contact's custom-field errors relative to the item
    ("item") or to that lead or contact ("entity")."""
    errs = Errors()
    rid = str(index)
    if not isinstance(item, dict):
        errs.type("", "object")
        return rid, errs.list
    if "request_id" in item:
        if isinstance(item["request_id"], str):
            rid = item["request_id"]
        else:
            errs.type("request_id", "string")
    check_string(item, "source_uid", "source_uid", errs, required=True, nonempty=True)
    check_string(item, "source_name", "source_name", errs, required=True, nonempty=True)
    if "pipeline_id" in item:
        v = item["pipeline_id"]
        if not is_int(v):
            errs.type("pipeline_id", "int")
        elif v not in PIPELINES:
            errs.add("NotSupportedChoice", "pipeline_id", D_CHOICE)
    check_timestamp(item, "created_at", "created_at", errs)
    if "metadata" not in item:
        errs.missing("metadata")
    elif not isinstance(item["metadata"], dict):
        errs.type("metadata", "object")
    else:
        md = item["metadata"]
        check_timestamp(md, "form_sent_at", "metadata.form_sent_at", errs, required=True)
        for key in ("form_id", "form_name", "form_page", "referer", "ip"):
            check_string(md, key, "metadata." + key, errs)
    if "_embedded" in item:
        emb = item["_embedded"]
        if not isinstance(emb, dict):
            errs.type("_embedded", "object")
        else:
            contact = check_embedded_list(emb, "contacts", errs)
            lead = check_embedded_list(emb, "leads", errs)
            if contact is not None:
                p = "_embedded.contacts.0"
                for key in ("name", "first_name", "last_name"):
                    check_string(contact, key, join(p, key), errs)
                if contact.get("first_name") == "REJECT":
                    errs.add("InvalidType", join(p, "first_name"), "rejected by sandbox rule")
                if "custom_fields_values" in contact:
                    check_custom_fields(contact["custom_fields_values"], "contact", fields, errs,
                                        p if cf_paths == "item" else "")
            if lead is not None:
                p = "_embedded.leads.0"
                check_string(lead, "name", join(p, "name"), errs)
                if "price" in lead:
                    v = lead["price"]
                    if not is_int(v):
                        errs.type(join(p, "price"), "int")
                    elif v < 0:
                        errs.add("InvalidType", join(p, "price"),
                                 "This value should be greater than or equal to 0.")
                if "custom_fields_values" in lead:
                    check_custom_fields(lead["custom_fields_values"], "lead", fields, errs,
                                        p if cf_paths == "item" else "")
                if "_embedded" in lead:
                    check_lead_tags(lead["_embedded"], join(p, "_embedded"), errs)
    return rid, errs.list


def embedded_objects(emb, key, path, errs):
    """The items of emb[key], an _embedded object at path whose key holds an
    array of objects: (item's path, item) for each object; a wrong type is
    noted in errs. Nothing when key is absent."""
    if not isinstance(emb, dict):
        errs.type(path, "object")
        return
    if key not in emb:
        return
    items, path = emb[key], join(path, key)
    if not isinstance(items, list):
        errs.type(path, "array")
        return
    for i, x in enumerate(items):
        if isinstance(x, dict):
            yield join(path, i), x
        else:
            errs.type(join(path, i), "object")


def check_lead_tags(emb, path, errs):
    """A lead's _embedded.tags: an array of objects, each a non-empty string
    name or an integer id (kommo-api.md, "Tags on a lead")."""
    for p, tag in embedded_objects(emb, "tags", path, errs):
        if "name" in tag:
            if not isinstance(tag["name"], str):
                errs.type(join(p, "name"), "string")
            elif not tag["name"].strip():
                errs.add("FieldMissing", join(p, "name"), D_BLANK)
        elif "id" in tag:
            if not is_int(tag["id"]):
                errs.type(join(p, "id"), "int")
        else:
            errs.missing(join(p, "name"))



# -- POST/PATCH /api/v4/leads and POST /api/v4/contacts items ----------------


def item_request_id(item, index, errs):
    rid = str(index)
    if "request_id" in item:
        if isinstance(item["request_id"], str):
            rid = item["request_id"]
        else:
            errs.type("request_id", "string")
    return rid


def check_user(item, key, errs, robot_ok):
    if key not in item:
        return
    v = item[key]
    if not is_int(v):
        errs.type(key, "int")
    elif v not in USERS and not (robot_ok and v == ROBOT_USER_ID):
        errs.choice(key)


def check_common(item, errs):
    """Keys leads and contacts share: users and timestamps."""
    check_user(item, "responsible_user_id", errs, robot_ok=False)
    check_user(item, "created_by", errs, robot_ok=True)
    check_user(item, "updated_by", errs, robot_ok=True)
    check_timestamp(item, "created_at", "created_at", errs)
    check_timestamp(item, "updated_at", "updated_at", errs)


def check_lead(item, fields, pipeline_id, errs):
    """The keys of one lead to add or change. pipeline_id: the lead's pipeline
    when the item names none (the main one for a new lead, its own for a PATCH)."""
    check_string(item, "name", "name", errs)
    if "price" in item:
        v = item["price"]
        if not is_int(v):
            errs.type("price", "int")
        elif v < 0:
            errs.add("InvalidType", "price", "This value should be greater than or equal to 0.")
    pipeline_ok = True
    if "pipeline_id" in item:
        pipeline_ok = False
        v = item["pipeline_id"]
        if not is_int(v):
            errs.type("pipeline_id", "int")
        elif v not in PIPELINES:
            errs.choice("pipeline_id")
        else:
            pipeline_id, pipeline_ok = v, True
    if "status_id" in item:
        v = item["status_id"]
        if not is_int(v):
            errs.type("status_id", "int")
        elif pipeline_ok:
            s = pipeline_status(pipeline_id, v)
            # Leads reach the Incoming stage only through unsorted/forms.
            if s is None or s["type"] == 1:
                errs.choice("status_id")
    check_common(item, errs)
    if "custom_fields_values" in item:
        check_custom_fields(item["custom_fields_values"], "lead", fields, errs)


def check_contact(item, fields, errs):
    names = ("name", "first_name", "last_name")
    for key in names:
        check_string(item, key, key, errs)
    # Kommo composes name from first_name and last_name; with none of the
    # three there is nothing to call the contact (a sandbox rule).
    typed_wrong = any(k in item and not isinstance(item[k], str) for k in names)
    if not typed_wrong and not any(item.get(k, "").strip() for k in names):
        errs.add("FieldMissing", "name", D_NAME)
    check_common(item, errs)
    if "custom_fields_values" in item:
        check_custom_fields(item["custom_fields_values"], "contact", fields, errs)


def validate_new(data, check):
    """POST items: [(request_id, errors)], one per item."""
    out = []
    for i, item in enumerate(data):
        errs = Errors()
        if not isinstance(item, dict):
            errs.type("", "object")
            out.append((str(i), errs.list))
            continue
        rid = item_request_id(item, i, errs)
        check(item, errs)
        out.append((rid, errs.list))
    return out


def not_an_array():
    return validation_failed([{"request_id": "0", "errors": [
        {"code": "InvalidType", "path": "data", "detail": type_detail("array")}]}])


def not_an_object():
    return validation_failed([{"request_id": "0", "errors": [
        {"code": "InvalidType", "path": "data", "detail": type_detail("object")}]}])
