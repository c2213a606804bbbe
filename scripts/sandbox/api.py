"""Kommo's endpoints: account, fields, pipelines, leads, contacts, unsorted."""

import copy
import hmac
import json
import re
import secrets
import time
from urllib.parse import parse_qsl, urlsplit

from .model import (ENTITY_PLURAL, FORMS_PATH, MAIN_PIPELINE_ID, MAX_ITEMS, PIPELINES,
                    UNSORTED_PATH)
from .faults import fault_reply
from .modes import arrange_items, failures, forms_delay, over_max_batch
from .replies import (bad_request, hal, json_reply, method_not_allowed, no_content, not_found,
                      problem, reject_constant, too_many_items, unauthorized, validation_failed)
from .state import field_order
from .validate import (D_MISSING, Errors, check_contact, check_lead, embedded_objects, is_int,
                       item_request_id, join, not_an_array, not_an_object, validate_item, validate_new)
from .views import (ParamError, contact_view, lead_view, link, page_links, paging, searcher,
                    unsorted_query)


class Api:
    """The handler's API methods (mixed into server.Handler)."""

    # (path pattern, {method: handler}). Routing (404, then 405 with Allow)
    # comes before the token check; path groups are passed to the handler.
    ROUTES = [
        (re.compile(r"/api/v4/account"), {"GET": "get_account"}),
        (re.compile(r"/api/v4/leads/unsorted/forms"), {"POST": "post_forms"}),
        (re.compile(r"/api/v4/leads/unsorted"), {"GET": "get_unsorted"}),
        (re.compile(r"/api/v4/leads/unsorted/([A-Za-z0-9]+)"), {"GET": "get_unsorted_one"}),
        (re.compile(r"/api/v4/leads/custom_fields"), {"GET": "get_lead_fields"}),
        (re.compile(r"/api/v4/contacts/custom_fields"), {"GET": "get_contact_fields"}),
        (re.compile(r"/api/v4/leads/pipelines"), {"GET": "get_pipelines"}),
        (re.compile(r"/api/v4/leads/pipelines/([0-9]+)"), {"GET": "get_pipeline"}),
        (re.compile(r"/api/v4/leads"), {"GET": "get_leads", "POST": "post_leads",
                                        "PATCH": "patch_leads"}),
        (re.compile(r"/api/v4/leads/([0-9]+)"), {"GET": "get_lead", "PATCH": "patch_lead"}),
        (re.compile(r"/api/v4/contacts"), {"GET": "get_contacts", "POST": "post_contacts"}),
        (re.compile(r"/api/v4/contacts/([0-9]+)"), {"GET": "get_contact"}),
    ]

    def api(self, path, body):
        for pattern, methods in self.ROUTES:
            m = pattern.fullmatch(path)
            if m is None:
                continue
            if self.command not in methods:
                return method_not_allowed(", ".join(methods))
            if not self.authorized():
                return unauthorized()
            return getattr(self, methods[self.command])(body, *m.groups())
        return not_found()

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        return hmac.compare_digest(auth.encode("utf-8", "replace"),
                                   ("Bearer " + self.server.token).encode("utf-8"))

    def query_pairs(self):
        query = urlsplit(self.path).query
        try:  # http.server reads the request line as Latin-1; raw UTF-8 is accepted too
            query = query.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
        return parse_qsl(query, keep_blank_values=True)

    def json_body(self, body):
        """(data, None), or (None, the 400 to answer). Empty data is a 400."""
        ctype = self.headers.get("Content-Type", "")
        if ctype.split(";")[0].strip().lower() != "application/json":
            return None, bad_request("Content-Type must be application/json")
        if not body.strip():
            return None, bad_request("Request data can not be empty")
        try:
            data = json.loads(body.decode("utf-8"), parse_constant=reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None, bad_request("Request body is not valid JSON")
        if data in ([], {}, None):
            return None, bad_request("Request data can not be empty")
        return data, None

    def json_array(self, body):
        data, err = self.json_body(body)
        if err is None and not isinstance(data, list):
            err = not_an_array()
        elif err is None and len(data) > MAX_ITEMS:
            err = too_many_items()
        return data, err

    # -- POST /api/v4/leads/unsorted/forms ---------------------------------

    def post_forms(self, body):
        st = self.server.state
        data, err = self.json_body(body)
        if err:
            return err
        if not isinstance(data, list):
            return validation_failed([{"request_id": "0", "errors": [
                {"code": "FieldMissing", "path": "data.source_name", "detail": D_MISSING},
                {"code": "FieldMissing", "path": "data.source_uid", "detail": D_MISSING},
            ]}])
        if len(data) > MAX_ITEMS:
            return too_many_items()
        modes = st.modes
        if over_max_batch(modes, len(data)):
            return fault_reply("504")  # too heavy for Kommo at the moment: nothing done
        # the work takes its time before anything is created, as a commit at the end would
        delay = forms_delay(modes, len(data))
        if delay > 0 and self.server.stop_event.wait(delay):
            return fault_reply("503")  # stopping: the batch is not carried out
        fields = st.fields
        checked = [validate_item(item, i, fields, modes["cf_paths"]) for i, item in enumerate(data)]
        failed = failures(checked, modes["error_paths"])
        if failed:
            return validation_failed(failed)
        base = self.base_url()
        account_id = st.account["id"]
        unsorted = []
        for item, (rid, _) in zip(data, checked):
            uid = secrets.token_hex(20)
            lid, cid = st.create(item, rid, uid, fields)
            unsorted.append({
                "uid": uid,
                "account_id": account_id,
                "request_id": rid,
                "_embedded": {
                    "leads": [{"id": lid, "_links": link(base, "/api/v4/leads/%d" % lid)}],
                    "contacts": [{"id": cid, "_links": link(base, "/api/v4/contacts/%d" % cid)}],
                    "companies": [],
                },
                "_links": link(base, "/api/v4/leads/unsorted/" + uid),
            })
        unsorted = arrange_items(unsorted, modes["forms_reply"])
        return hal({"_total_items": len(unsorted),
                    "_embedded": {"unsorted": unsorted},
                    "_links": link(base, FORMS_PATH)})

    # -- GET /api/v4/leads/unsorted and /unsorted/{uid} ---------------------

    def unsorted_json(self, rec, base):
        def ref(kind, eid):
            return {"id": eid, "_links": link(base, "/api/v4/%s/%d" % (kind, eid))}
        return {"uid": rec["uid"], "source_uid": rec["source_uid"],
                "source_name": rec["source_name"], "category": rec["category"],
                "pipeline_id": rec["pipeline_id"], "created_at": rec["created_at"],
                "metadata": copy.deepcopy(rec["metadata"]), "account_id": rec["account_id"],
                "_links": link(base, "%s/%s" % (UNSORTED_PATH, rec["uid"])),
                "_embedded": {"contacts": [ref("contacts", rec["contact_id"])],
                              "leads": [ref("leads", rec["lead_id"])],
                              "companies": []}}

    def get_unsorted(self, body):
        """page, limit, filter[uid] (one, or filter[uid][]), filter[category][],
        filter[pipeline_id], order[created_at|updated_at|id]=asc|desc. Only
        Incoming leads not yet accepted or declined; creation order by default."""
        pairs = self.query_pairs()
        try:
            page, limit = paging(pairs)
            keep, order = unsorted_query(pairs)
        except ParamError as e:
            return bad_request(str(e))
        st = self.server.state
        with st.lock:
            recs = [r for r in st.unsorted.values() if r["state"] == "new" and keep(r)]
        for field, desc in reversed(order):
            recs.sort(key=lambda r: r["order" if field == "id" else field], reverse=desc)
        start = (page - 1) * limit
        chunk = recs[start:start + limit]
        if not chunk:
            return no_content()
        base = self.base_url()
        return hal({"_page": page,
                    "_links": page_links(base + UNSORTED_PATH, pairs, page, limit,
                                         start + limit < len(recs)),
                    "_embedded": {"unsorted": [self.unsorted_json(r, base) for r in chunk]}})

    def get_unsorted_one(self, body, uid):
        rec = self.server.state.unsorted.get(uid)
        if rec is None or rec["state"] != "new":
            return no_content()
        return hal(self.unsorted_json(rec, self.base_url()))

    # -- account, custom fields, pipelines ---------------------------------

    def get_account(self, body):
        st = self.server.state
        return hal({**st.account, "_links": link(self.base_url(), "/api/v4/account")})

    def get_lead_fields(self, body):
        return self.custom_fields("lead")

    def get_contact_fields(self, body):
        return self.custom_fields("contact")

    def custom_fields(self, entity):
        pairs = self.query_pairs()
        try:
            page, limit = paging(pairs)
        except ParamError as e:
            return bad_request(str(e))
        st = self.server.state
        table = st.fields[entity]
        order = field_order(table)
        start = (page - 1) * limit
        chunk = order[start:start + limit]
        if not chunk:
            return no_content()
        base = self.base_url()
        plural = ENTITY_PLURAL[entity]
        path = "/api/v4/%s/custom_fields" % plural
        account_id = st.account["id"]
        out = []
        for fid in chunk:
            f = table[fid]
            out.append({"id": fid, "name": f["name"], "type": f["type"], "code": f["code"],
                        "sort": f["sort"], "is_api_only": False,
                        "enums": copy.deepcopy(f["enums"]), "entity_type": plural,
                        "account_id": account_id,
                        "_links": link(base, "%s/%d" % (path, fid))})
        return hal({"_total_items": len(out), "_page": page,
                    "_page_count": -(-len(order) // limit),
                    "_links": page_links(base + path, pairs, page, limit,
                                         start + limit < len(order)),
                    "_embedded": {"custom_fields": out}})

    def pipeline_json(self, p, base):
        pid = p["id"]
        account_id = self.server.state.account["id"]
        path = "/api/v4/leads/pipelines/%d" % pid
        statuses = [{"id": s["id"], "name": s["name"], "sort": s["sort"],
                     "is_editable": s["is_editable"], "pipeline_id": pid, "color": s["color"],
                     "type": s["type"], "account_id": account_id,
                     "_links": link(base, "%s/statuses/%d" % (path, s["id"]))}
                    for s in sorted(p["statuses"], key=lambda s: s["sort"])]
        return {"id": pid, "name": p["name"], "sort": p["sort"], "is_main": p["is_main"],
                "is_unsorted_on": True, "is_archive": False, "account_id": account_id,
                "_links": link(base, path), "_embedded": {"statuses": statuses}}

    def get_pipelines(self, body):
        base = self.base_url()
        out = [self.pipeline_json(p, base) for p in sorted(PIPELINES.values(),
                                                             key=lambda p: p["sort"])]
        return hal({"_total_items": len(out), "_links": link(base, "/api/v4/leads/pipelines"),
                    "_embedded": {"pipelines": out}})

    def get_pipeline(self, body, pid):
        p = PIPELINES.get(int(pid))
        if p is None:
            return json_reply(404, problem(404, "Not Found", "Pipeline not found"))
        return hal(self.pipeline_json(p, self.base_url()))

    # -- leads and contacts: lists, search, one by id ----------------------

    def get_leads(self, body):
        return self.list_entities("leads")

    def get_contacts(self, body):
        return self.list_entities("contacts")

    def with_(self):
        return {w.strip() for w in dict(self.query_pairs()).get("with", "").split(",")}

    def list_entities(self, kind):
        """?query, page, limit; with=contacts (leads) / with=leads (contacts);
        order[...] and filter[...] are accepted and ignored. Ordered by id."""
        pairs = self.query_pairs()
        try:
            page, limit = paging(pairs)
        except ParamError as e:
            return bad_request(str(e))
        st = self.server.state
        with st.lock:
            items = list((st.leads if kind == "leads" else st.contacts).values())
        query = dict(pairs).get("query", "").strip()
        if query:
            match = searcher(query)
            items = [x for x in items if match(x)]
        start = (page - 1) * limit
        chunk = items[start:start + limit]
        if not chunk:
            return no_content()
        base = self.base_url()
        if kind == "leads":
            flag = "contacts" in self.with_()
            out = [lead_view(x, base, flag) for x in chunk]
        else:
            flag = "leads" in self.with_()
            out = [contact_view(x, base, flag) for x in chunk]
        return hal({"_page": page,
                    "_links": page_links(base + "/api/v4/" + kind, pairs, page, limit,
                                         start + limit < len(items)),
                    "_embedded": {kind: out}})

    def get_lead(self, body, lid):
        lead = self.server.state.leads.get(int(lid))
        if lead is None:
            return no_content()
        return hal(lead_view(lead, self.base_url(), "contacts" in self.with_()))

    def get_contact(self, body, cid):
        contact = self.server.state.contacts.get(int(cid))
        if contact is None:
            return no_content()
        return hal(contact_view(contact, self.base_url(), "leads" in self.with_()))

    # -- adding and changing -----------------------------------------------

    def post_leads(self, body):
        st = self.server.state
        data, err = self.json_array(body)
        if err:
            return err
        fields = st.fields

        def check(item, errs):
            check_lead(item, fields, MAIN_PIPELINE_ID, errs)
            check_lead_contacts(item, st.contacts, errs)
        checked = validate_new(data, check)
        failed = failures(checked, st.modes["error_paths"])
        if failed:
            return validation_failed(failed)
        rids = [rid for rid, _ in checked]
        ids = st.add_leads(data, rids, fields)
        return self.added("leads", ids, rids)

    def post_contacts(self, body):
        st = self.server.state
        data, err = self.json_array(body)
        if err:
            return err
        fields = st.fields
        checked = validate_new(data, lambda item, errs: check_contact(item, fields, errs))
        failed = failures(checked, st.modes["error_paths"])
        if failed:
            return validation_failed(failed)
        rids = [rid for rid, _ in checked]
        ids = st.add_contacts(data, rids, fields)
        return self.added("contacts", ids, rids)

    def added(self, kind, ids, rids):
        base = self.base_url()
        # Kommo's contacts reply says whether each contact is deleted or unsorted; its leads
        # reply does not (tests/kommo-docs/contacts_post.json, leads_post.json)
        flags = {"is_deleted": False, "is_unsorted": False} if kind == "contacts" else {}
        return hal({"_links": link(base, "/api/v4/" + kind),
                    "_embedded": {kind: [{"id": i, **flags, "request_id": rid,
                                          "_links": link(base, "/api/v4/%s/%d" % (kind, i))}
                                         for i, rid in zip(ids, rids)]}})

    def patch_lead(self, body, lid):
        st = self.server.state
        data, err = self.json_body(body)
        if err:
            return err
        if not isinstance(data, dict):
            return not_an_object()
        lead = st.leads.get(int(lid))
        if lead is None:
            return json_reply(404, problem(404, "Not Found", "Lead not found"))
        fields = st.fields
        errs = Errors()
        item_request_id(data, 0, errs)
        check_lead(data, fields, lead["pipeline_id"], errs)
        if errs.list:
            return validation_failed(failures([("0", errs.list)], st.modes["error_paths"]))
        lead = st.update_lead(lead["id"], data, fields)
        if lead is None:  # reset meanwhile
            return json_reply(404, problem(404, "Not Found", "Lead not found"))
        return hal({"id": lead["id"], "updated_at": lead["updated_at"],
                    "_links": link(self.base_url(), "/api/v4/leads/%d" % lead["id"])})

    def patch_leads(self, body):
        st = self.server.state
        data, err = self.json_array(body)
        if err:
            return err
        fields = st.fields
        checked = []
        for i, item in enumerate(data):
            errs = Errors()
            if not isinstance(item, dict):
                errs.type("", "object")
                checked.append((str(i), errs.list))
                continue
            rid = item_request_id(item, i, errs)
            lead = None
            if "id" not in item:
                errs.missing("id")
            elif not is_int(item["id"]):
                errs.type("id", "int")
            else:
                lead = st.leads.get(item["id"])
                if lead is None:
                    errs.choice("id")
            check_lead(item, fields, lead["pipeline_id"] if lead else MAIN_PIPELINE_ID, errs)
            checked.append((rid, errs.list))
        failed = failures(checked, st.modes["error_paths"])
        if failed:
            return validation_failed(failed)
        base = self.base_url()
        out = []
        for item, (rid, _) in zip(data, checked):
            lead = st.update_lead(item["id"], item, fields)
            out.append({"id": item["id"],
                        "updated_at": lead["updated_at"] if lead else int(time.time()),
                        "request_id": rid,
                        "_links": link(base, "/api/v4/leads/%d" % item["id"])})
        return hal({"_links": link(base, "/api/v4/leads"), "_embedded": {"leads": out}})


def check_lead_contacts(item, contacts, errs):
    """A new lead's _embedded.contacts, the contacts it is linked to as Kommo's
    "Add leads" documents them: objects, each with the id of a contact the
    account has (an id it does not have: NotSupportedChoice, a sandbox
    assumption) and optionally is_main. Other _embedded keys are not judged."""
    if "_embedded" not in item:
        return
    for p, c in embedded_objects(item["_embedded"], "contacts", "_embedded", errs):
        if "id" not in c:
            errs.missing(join(p, "id"))
        elif not is_int(c["id"]):
            errs.type(join(p, "id"), "int")
        elif c["id"] not in contacts:
            errs.choice(join(p, "id"))
        if "is_main" in c and not isinstance(c["is_main"], bool):
            errs.type(join(p, "is_main"), "bool")
