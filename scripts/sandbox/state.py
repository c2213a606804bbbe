"""The shared state: entities, fields, the request record, the fault queue."""

import copy
import json
import threading
import time
from collections import deque

from .model import (ACCOUNT, CHOICE_TYPES, CUSTOM_FIELDS, FIELD_TYPES, FILLER_FIRST_ID,
                    FILLER_LEAD_FIELDS, FILLER_SORT, FIRST_CONTACT_ID, FIRST_LEAD_ID, FIRST_TAG_ID,
                    LOST_STATUS_ID, MAIN_PIPELINE_ID, ROBOT_USER_ID, WON_STATUS_ID, _field,
                    first_open_status_id, incoming_status_id)
from .modes import default_modes
from .validate import FieldTable, is_int, merge_fields, resolve_fields
from .views import CONTACT_KEYS, LEAD_KEYS, contact_view, lead_view, with_extras


def contact_name(item):
    name = item.get("name") or ""
    if name.strip():
        return name
    return " ".join(x for x in (item.get("first_name"), item.get("last_name")) if x)


def linked_ids(item):
    """The contact ids a validated new lead's _embedded.contacts names, each
    once, the first (the main contact) first."""
    out = []
    for c in (item.get("_embedded") or {}).get("contacts") or ():
        if c["id"] not in out:
            out.append(c["id"])
    return out


def status_closed_at(status_id, now, old=None):
    if status_id in (WON_STATUS_ID, LOST_STATUS_ID):
        return old or now
    return None


def default_fields(extra):
    """The custom field tables at start and after a reset: CUSTOM_FIELDS, the
    lead filler fields, then --extra-field fields."""
    fields = copy.deepcopy(CUSTOM_FIELDS)
    for n in range(1, FILLER_LEAD_FIELDS + 1):
        fields["lead"][FILLER_FIRST_ID + n - 1] = _field("Поле %d" % n, "text", FILLER_SORT + n)
    for entity, fid, field in extra:
        table = fields[entity]
        field = dict(field)
        field["sort"] = table[fid]["sort"] if fid in table else max_sort(table) + 1
        table[fid] = field
    return {entity: FieldTable(table) for entity, table in fields.items()}


def max_sort(table):
    return max((f["sort"] for f in table.values()), default=0)


def field_order(table):
    return sorted(table, key=lambda fid: (table[fid]["sort"], fid))


class State:
    def __init__(self, opts, extra_fields):
        self.lock = threading.Lock()
        self.opts = opts
        self.extra_fields = extra_fields
        self.fields = default_fields(extra_fields)
        self.account = dict(ACCOUNT)
        self.seq = 0
        self.next_lead = FIRST_LEAD_ID
        self.next_contact = FIRST_CONTACT_ID
        # id -> entity, in id order (ids only grow). A change replaces the
        # entity's dict rather than editing it, so readers need no lock.
        self.leads = {}
        self.contacts = {}
        # Incoming leads by uid, in creation order; replaced, never edited, as leads
        self.unsorted = {}
        # tag name -> id: Kommo gives a tag one id across the account
        self.tags = {}
        self.modes = default_modes(opts)
        self.queue = deque()
        self.schedule = opts.schedule
        self.window = deque()
        self.records = []
        self.log = open(opts.log, "a", encoding="utf-8") if opts.log else None

    def arrive(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def take_fault(self, seq, path):
        """A scheduled fault wins; the queue is then left for the next request.
        Otherwise the first queued fault for any path, or for this one."""
        with self.lock:
            if seq in self.schedule:
                return self.schedule[seq]
            for i, fault in enumerate(self.queue):
                if fault[2] is None or fault[2] == path:
                    del self.queue[i]
                    return fault
            return None

    def over_rate(self, now):
        """Counts every API request, including those answered 429."""
        limit = self.opts.rate_limit
        if limit <= 0:
            return False
        with self.lock:
            while self.window and self.window[0] <= now - 1.0:
                self.window.popleft()
            over = len(self.window) >= limit
            self.window.append(now)
            return over

    def record(self, rec):
        with self.lock:
            self.records.append(rec)
            if self.log:
                self.log.write(json.dumps(rec, ensure_ascii=False) + "\n")
                self.log.flush()

    def reset(self):
        fields = default_fields(self.extra_fields)
        with self.lock:
            self.queue.clear()
            self.window.clear()
            self.leads = {}
            self.contacts = {}
            self.unsorted = {}
            self.tags = {}
            self.modes = default_modes(self.opts)
            self.fields = fields
            self.account = dict(ACCOUNT)

    # -- entities ----------------------------------------------------------

    def create(self, item, rid, uid, fields):
        """unsorted/forms: the lead (in its pipeline's Incoming stage) and the
        contact of one valid item; returns their ids."""
        emb = item.get("_embedded") or {}
        contact = (emb.get("contacts") or [{}])[0]
        lead = (emb.get("leads") or [{}])[0]
        now = int(time.time())
        created = item.get("created_at", now)
        pid = item.get("pipeline_id", MAIN_PIPELINE_ID)
        account = self.account
        c = {
            "id": None,
            "name": contact_name(contact),
            "first_name": contact.get("first_name", ""),
            "last_name": contact.get("last_name", ""),
            "responsible_user_id": account["current_user_id"],
            "group_id": 0,
            "created_by": ROBOT_USER_ID,
            "updated_by": ROBOT_USER_ID,
            "created_at": created,
            "updated_at": created,
            "closest_task_at": None,
            "is_deleted": False,
            "is_unsorted": True,
            "custom_fields_values": resolve_fields(contact.get("custom_fields_values"),
                                                   fields["contact"]),
            "account_id": account["id"],
            "leads": None,
        }
        l = {
            "id": None,
            "name": lead.get("name", ""),
            "price": lead.get("price", 0),
            "responsible_user_id": account["current_user_id"],
            "group_id": 0,
            "status_id": incoming_status_id(pid),
            "pipeline_id": pid,
            "loss_reason_id": None,
            "created_by": ROBOT_USER_ID,
            "updated_by": ROBOT_USER_ID,
            "created_at": created,
            "updated_at": created,
            "closed_at": None,
            "closest_task_at": None,
            "is_deleted": False,
            "custom_fields_values": resolve_fields(lead.get("custom_fields_values"),
                                                   fields["lead"]),
            "score": None,
            "account_id": account["id"],
            "source_uid": item["source_uid"],
            "source_name": item["source_name"],
            "request_id": rid,
            "unsorted_uid": uid,
            "metadata": item.get("metadata"),
            "contacts": None,
        }
        with self.lock:
            l["tags"] = self.tag_list((lead.get("_embedded") or {}).get("tags") or [])
            lid, cid = self.next_lead, self.next_contact
            self.next_lead += 1
            self.next_contact += 1
            c["id"], c["leads"] = cid, [lid]
            l["id"], l["contacts"] = lid, [cid]
            self.contacts[cid] = c
            self.leads[lid] = l
            self.unsorted[uid] = {
                "uid": uid, "source_uid": item["source_uid"], "source_name": item["source_name"],
                "category": "forms", "pipeline_id": pid, "created_at": created,
                "metadata": item.get("metadata"), "account_id": account["id"],
                "lead_id": lid, "contact_id": cid, "state": "new",
                "order": len(self.unsorted), "updated_at": now}
        return lid, cid

    def tag_list(self, tags):
        """Validated tags -> the lead's tags as GET shows them, a tag named
        twice kept once. Called with the lock held."""
        out = []
        for tag in tags:
            if "name" in tag:
                name = tag["name"]
                tid = self.tags.setdefault(name, FIRST_TAG_ID + len(self.tags))
            else:
                tid = tag["id"]
                name = next((n for n, i in self.tags.items() if i == tid), "")
            if all(t["id"] != tid for t in out):
                out.append({"id": tid, "name": name, "color": None})
        return out

    def sort_unsorted(self, uid, verdict):
        """A manager accepts or declines an Incoming lead (control API): it
        leaves the list; accepted, its lead moves to the first open stage and
        its contact is no longer unsorted; declined, its lead is closed as
        lost. Returns the new record; KeyError if unknown, ValueError if
        already sorted."""
        now = int(time.time())
        with self.lock:
            rec = self.unsorted[uid]
            if rec["state"] != "new":
                raise ValueError("Incoming lead %s was already %s" % (uid, rec["state"]))
            rec = {**rec, "state": verdict, "updated_at": now}
            self.unsorted[uid] = rec
            lead = self.leads.get(rec["lead_id"])
            if lead is not None:
                lead = dict(lead)
                lead["status_id"] = (first_open_status_id(lead["pipeline_id"])
                                     if verdict == "accepted" else LOST_STATUS_ID)
                lead["closed_at"] = status_closed_at(lead["status_id"], now)
                lead["updated_at"] = now
                self.leads[lead["id"]] = lead
            contact = self.contacts.get(rec["contact_id"])
            if contact is not None and verdict == "accepted":
                self.contacts[contact["id"]] = {**contact, "is_unsorted": False}
            return rec

    def add_leads(self, items, rids, fields):
        """POST /api/v4/leads (validated items); returns the new ids."""
        now = int(time.time())
        account = self.account
        user = account["current_user_id"]
        new = []
        for item, rid in zip(items, rids):
            pid = item.get("pipeline_id", MAIN_PIPELINE_ID)
            sid = item.get("status_id", first_open_status_id(pid))
            created_by = item.get("created_by", user)
            created = item.get("created_at", now)
            new.append({
                "id": None,
                "name": item.get("name", ""),
                "price": item.get("price", 0),
                "responsible_user_id": item.get("responsible_user_id", user),
                "group_id": 0,
                "status_id": sid,
                "pipeline_id": pid,
                "loss_reason_id": None,
                "created_by": created_by,
                "updated_by": item.get("updated_by", created_by),
                "created_at": created,
                "updated_at": item.get("updated_at", created),
                "closed_at": status_closed_at(sid, now),
                "closest_task_at": None,
                "is_deleted": False,
                "custom_fields_values": resolve_fields(item.get("custom_fields_values"),
                                                       fields["lead"]),
                "score": None,
                "account_id": account["id"],
                "request_id": rid,
                "contacts": linked_ids(item),
            })
        with self.lock:
            for lead in new:
                lead["id"] = self.next_lead
                self.next_lead += 1
                self.leads[lead["id"]] = lead
                # the link is kept on both sides, as GET ?with= shows it
                lead["contacts"] = [cid for cid in lead["contacts"] if cid in self.contacts]
                for cid in lead["contacts"]:
                    c = self.contacts[cid]
                    self.contacts[cid] = {**c, "leads": (c["leads"] or []) + [lead["id"]]}
        return [lead["id"] for lead in new]

    def add_contacts(self, items, rids, fields):
        """POST /api/v4/contacts (validated items); returns the new ids."""
        now = int(time.time())
        account = self.account
        user = account["current_user_id"]
        new = []
        for item, rid in zip(items, rids):
            created_by = item.get("created_by", user)
            created = item.get("created_at", now)
            new.append({
                "id": None,
                "name": contact_name(item),
                "first_name": item.get("first_name", ""),
                "last_name": item.get("last_name", ""),
                "responsible_user_id": item.get("responsible_user_id", user),
                "group_id": 0,
                "created_by": created_by,
                "updated_by": item.get("updated_by", created_by),
                "created_at": created,
                "updated_at": item.get("updated_at", created),
                "closest_task_at": None,
                "is_deleted": False,
                "is_unsorted": False,
                "custom_fields_values": resolve_fields(item.get("custom_fields_values"),
                                                       fields["contact"]),
                "account_id": account["id"],
                "request_id": rid,
                "leads": [],
            })
        with self.lock:
            for contact in new:
                contact["id"] = self.next_contact
                self.next_contact += 1
                self.contacts[contact["id"]] = contact
        return [contact["id"] for contact in new]

    def update_lead(self, lead_id, item, fields):
        """PATCH one lead with a validated item; returns the new lead, or None
        if it is gone."""
        now = int(time.time())
        with self.lock:
            old = self.leads.get(lead_id)
            if old is None:
                return None
            lead = dict(old)
            for key in ("name", "price", "responsible_user_id", "created_by", "created_at"):
                if key in item:
                    lead[key] = item[key]
            if "status_id" in item:
                lead["pipeline_id"] = item.get("pipeline_id", lead["pipeline_id"])
                lead["status_id"] = item["status_id"]
            elif "pipeline_id" in item and item["pipeline_id"] != lead["pipeline_id"]:
                lead["pipeline_id"] = item["pipeline_id"]
                lead["status_id"] = first_open_status_id(item["pipeline_id"])
            lead["closed_at"] = status_closed_at(lead["status_id"], now, old["closed_at"])
            if "custom_fields_values" in item:
                lead["custom_fields_values"] = merge_fields(
                    lead["custom_fields_values"],
                    resolve_fields(item["custom_fields_values"], fields["lead"]))
            lead["updated_by"] = item.get("updated_by", self.account["current_user_id"])
            lead["updated_at"] = item.get("updated_at", now)
            self.leads[lead_id] = lead
            return lead

    def snapshot(self, base):
        with self.lock:
            leads = list(self.leads.values())
            contacts = list(self.contacts.values())
        return {"leads": [with_extras(lead_view(x, base), x, LEAD_KEYS) for x in leads],
                "contacts": [with_extras(contact_view(x, base), x, CONTACT_KEYS) for x in contacts]}

    # -- custom fields (control API) ---------------------------------------

    def next_field_id(self):
        ids = [fid for table in self.fields.values() for fid in table if fid >= FILLER_FIRST_ID]
        return max(ids, default=FILLER_FIRST_ID - 1) + 1

    def next_enum_id(self):
        ids = [e["id"] for table in self.fields.values() for f in table.values()
               for e in f["enums"] or ()]
        return max(ids, default=900000) + 1

    def add_fillers(self, entity, count):
        with self.lock:
            table = dict(self.fields[entity])
            first = self.next_field_id()
            sort = max_sort(table)
            ids = []
            for k in range(count):
                fid = first + k
                table[fid] = _field("Поле %d" % (fid - FILLER_FIRST_ID + 1), "text", sort + k + 1)
                ids.append(fid)
            self.fields = {**self.fields, entity: FieldTable(table)}
            return ids, len(table)

    def add_field(self, entity, spec):
        """One field from a control request; returns its id. ValueError if bad."""
        with self.lock:
            table = dict(self.fields[entity])
            fid = spec.get("id")
            if fid is None:
                fid = self.next_field_id()
            elif not is_int(fid) or fid < 1:
                raise ValueError("id must be a positive integer")
            ftype = spec.get("type", "text")
            if ftype not in FIELD_TYPES:
                raise ValueError("type must be one of " + ", ".join(FIELD_TYPES))
            name = spec.get("name", "Extra field %d" % fid)
            if not isinstance(name, str) or not name:
                raise ValueError("name must be a non-empty string")
            code = spec.get("code")
            if code is not None and (not isinstance(code, str) or not code):
                raise ValueError("code must be a non-empty string or null")
            if code is not None and any(f["code"] == code for i, f in table.items() if i != fid):
                raise ValueError("another %s field has code %s" % (entity, code))
            enums = spec.get("enums")
            if ftype in CHOICE_TYPES and not enums:
                raise ValueError("a %s field needs enums" % ftype)
            if enums is not None and ftype not in CHOICE_TYPES + ("multitext",):
                raise ValueError("only select, multiselect and multitext fields take enums")
            if enums is not None and not isinstance(enums, list):
                raise ValueError("enums must be an array")
            out = []
            next_enum = self.next_enum_id()
            for k, e in enumerate(enums or ()):
                if isinstance(e, str):
                    e = {"value": e}
                if not isinstance(e, dict) or not isinstance(e.get("value"), str):
                    raise ValueError("each enum must be a string or {\"value\": STRING, ...}")
                eid = e.get("id")
                if eid is None:
                    eid, next_enum = next_enum, next_enum + 1
                elif not is_int(eid):
                    raise ValueError("enum id must be an integer")
                esort = e.get("sort", (k + 1) * 10)
                if not is_int(esort):
                    raise ValueError("enum sort must be an integer")
                out.append({"id": eid, "value": e["value"], "sort": esort})
            sort = table[fid]["sort"] if fid in table else max_sort(table) + 1
            table[fid] = {"name": name, "code": code, "type": ftype, "sort": sort,
                          "enums": out or None}
            self.fields = {**self.fields, entity: FieldTable(table)}
            return fid
