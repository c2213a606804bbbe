"""The control API under /_sandbox/: loopback only, not logged, not counted."""

import ipaddress
import json
import re

from .faults import fault_text, parse_fault
from .model import ENTITY_PLURAL, MAIN_PIPELINE_ID, MAX_SEED
from .modes import parse_modes
from .replies import BodyError, ClientGone, json_reply, reject_constant
from .state import field_order
from .validate import check_contact, check_lead, is_int, validate_new

# path -> {method: handler}. A handler takes the request body and returns
# (status, JSON object); a ValueError it raises is the client's mistake, a 400.
ROUTES = {
    "/_sandbox/faults": {"GET": "ctl_faults", "DELETE": "ctl_faults_clear",
                         "POST": "ctl_faults_add"},
    "/_sandbox/modes": {"GET": "ctl_modes", "PATCH": "ctl_modes_set"},
    "/_sandbox/unsorted": {"GET": "ctl_unsorted"},
    "/_sandbox/tls": {"GET": "ctl_tls"},
    "/_sandbox/reset": {"POST": "ctl_reset"},
    "/_sandbox/requests": {"GET": "ctl_requests"},
    "/_sandbox/entities": {"GET": "ctl_entities"},
    "/_sandbox/account": {"GET": "ctl_account", "PATCH": "ctl_account_merge"},
    "/_sandbox/fields": {"GET": "ctl_fields", "POST": "ctl_fields_add"},
    "/_sandbox/leads": {"POST": "ctl_seed_leads"},
    "/_sandbox/contacts": {"POST": "ctl_seed_contacts"},
}
SORT_PATH = re.compile(r"/_sandbox/unsorted/([A-Za-z0-9]+)/(accept|decline)")


def request_json(body):
    try:
        return json.loads(body.decode("utf-8") or "null", parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("body is not valid JSON") from None


class Control:
    """The handler's control API (mixed into server.Handler)."""

    def control(self, path):
        try:
            body = self.read_body()
        except ClientGone:
            self.close_connection = True
            return
        except BodyError as e:
            self.close_connection = True
            return self.send(json_reply(e.status, {"error": e.detail}, "application/json"))
        try:
            loopback = ipaddress.ip_address(self.client_address[0].split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return self.send(json_reply(403, {"error": "control API is loopback only"}, "application/json"))
        status, obj = self.control_route(path, body)
        self.send(json_reply(status, obj, "application/json"))

    def control_route(self, path, body):
        methods, args = ROUTES.get(path), ()
        if methods is None:
            m = SORT_PATH.fullmatch(path)
            if m is None:
                return 404, {"error": "unknown control path"}
            methods, args = {"POST": "ctl_sort"}, m.groups()
        if self.command not in methods:
            return 405, {"error": "method not allowed"}
        try:
            return getattr(self, methods[self.command])(body, *args)
        except ValueError as e:
            return 400, {"error": str(e)}

    # -- faults and modes ----------------------------------------------------

    def ctl_faults(self, body):
        st = self.server.state
        with st.lock:
            queue = [fault_text(f) for f in st.queue]
            sched = {str(n): fault_text(f) for n, f in sorted(st.schedule.items())}
        return 200, {"faults": queue, "schedule": sched}

    def ctl_faults_clear(self, body):
        st = self.server.state
        with st.lock:
            st.queue.clear()
        return 200, {"faults": []}

    def ctl_faults_add(self, body):
        st = self.server.state
        req = request_json(body)
        items = req.get("faults") if isinstance(req, dict) else req
        if not isinstance(items, list):
            raise ValueError('body must be {"faults": ["500", "reset", ...]}')
        faults = [parse_fault(x) for x in items]
        with st.lock:
            st.queue.extend(faults)
            queue = [fault_text(f) for f in st.queue]
        return 200, {"faults": queue}

    def ctl_modes(self, body):
        return 200, self.server.state.modes

    def ctl_modes_set(self, body):
        st = self.server.state
        modes = parse_modes(request_json(body), st.modes)
        with st.lock:
            st.modes = modes
        return 200, modes

    # -- Incoming leads ------------------------------------------------------

    def ctl_unsorted(self, body):
        st = self.server.state
        with st.lock:
            return 200, list(st.unsorted.values())

    def ctl_sort(self, body, uid, how):
        verdict = "accepted" if how == "accept" else "declined"
        try:
            return 200, self.server.state.sort_unsorted(uid, verdict)
        except KeyError:
            return 404, {"error": "no Incoming lead %s" % uid}
        except ValueError as e:
            return 409, {"error": str(e)}

    # -- the server, the record, the entities -------------------------------

    def ctl_tls(self, body):
        with self.server.state.lock:
            counts = dict(self.server.handshakes)
        return 200, {"tls": self.server.tls is not None, **counts}

    def ctl_reset(self, body):
        self.server.state.reset()
        return 200, {"reset": True}

    def ctl_requests(self, body):
        st = self.server.state
        with st.lock:
            recs = sorted(st.records, key=lambda r: r["seq"])
        return 200, recs

    def ctl_entities(self, body):
        return 200, self.server.state.snapshot(self.base_url())

    def ctl_account(self, body):
        return 200, self.server.state.account

    def ctl_account_merge(self, body):
        st = self.server.state
        req = request_json(body)
        if not isinstance(req, dict):
            raise ValueError("body must be a JSON object to merge into the account")
        with st.lock:
            st.account = {**st.account, **req}
            return 200, st.account

    # -- custom fields and seeding ------------------------------------------

    def ctl_fields(self, body):
        fields = self.server.state.fields
        return 200, {entity: [{"id": fid, **fields[entity][fid]}
                              for fid in field_order(fields[entity])]
                     for entity in ("lead", "contact")}

    def ctl_fields_add(self, body):
        st = self.server.state
        req = request_json(body)
        if not isinstance(req, dict):
            raise ValueError('body must be {"entity": "lead"|"contact", "count": N} '
                             'or {"entity": ..., "id": ..., "name": ..., "type": ..., ...}')
        entity = req.get("entity")
        if entity not in ENTITY_PLURAL:
            raise ValueError("entity must be lead or contact")
        if "count" in req:
            count = req["count"]
            if not is_int(count) or not 1 <= count <= MAX_SEED:
                raise ValueError("count must be an integer from 1 to %d" % MAX_SEED)
            ids, total = st.add_fillers(entity, count)
            return 200, {"entity": entity, "ids": ids, "total": total}
        fid = st.add_field(entity, req)
        return 200, {"entity": entity, "field": {"id": fid, **st.fields[entity][fid]}}

    def ctl_seed_leads(self, body):
        return self.seed(body, "leads")

    def ctl_seed_contacts(self, body):
        return self.seed(body, "contacts")

    def seed(self, body, kind):
        """Many entities at once, validated as the API would, neither rate
        limited nor logged."""
        st = self.server.state
        data = request_json(body)
        if not isinstance(data, list) or not data or len(data) > MAX_SEED:
            raise ValueError("body must be an array of 1 to %d %s as POST /api/v4/%s "
                             "takes them" % (MAX_SEED, kind, kind))
        fields = st.fields
        if kind == "leads":
            checked = validate_new(data, lambda item, errs: check_lead(
                item, fields, MAIN_PIPELINE_ID, errs))
        else:
            checked = validate_new(data, lambda item, errs: check_contact(item, fields, errs))
        failed = [{"request_id": rid, "errors": errs} for rid, errs in checked if errs]
        if failed:
            return 400, {"error": "Request validation failed", "validation-errors": failed}
        add = st.add_leads if kind == "leads" else st.add_contacts
        return 200, {"ids": add(data, [rid for rid, _ in checked], fields)}
