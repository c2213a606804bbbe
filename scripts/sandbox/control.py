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


class Control:
    """The handler's control API (mixed into server.Handler)."""

    def control(self, path):
        st = self.server.state
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
        m = self.command

        def ok(obj, status=200):
            self.send(json_reply(status, obj, "application/json"))

        def request_json():
            try:
                return json.loads(body.decode("utf-8") or "null", parse_constant=reject_constant)
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise ValueError("body is not valid JSON") from None

        if path == "/_sandbox/faults":
            if m == "GET":
                with st.lock:
                    queue = [fault_text(f) for f in st.queue]
                    sched = {str(n): fault_text(f) for n, f in sorted(st.schedule.items())}
                return ok({"faults": queue, "schedule": sched})
            if m == "DELETE":
                with st.lock:
                    st.queue.clear()
                return ok({"faults": []})
            if m == "POST":
                try:
                    req = request_json()
                    items = req.get("faults") if isinstance(req, dict) else req
                    if not isinstance(items, list):
                        raise ValueError('body must be {"faults": ["500", "reset", ...]}')
                    faults = [parse_fault(x) for x in items]
                except ValueError as e:
                    return ok({"error": str(e)}, 400)
                with st.lock:
                    st.queue.extend(faults)
                    queue = [fault_text(f) for f in st.queue]
                return ok({"faults": queue})
            return ok({"error": "method not allowed"}, 405)
        if path == "/_sandbox/modes":
            if m == "GET":
                return ok(st.modes)
            if m != "PATCH":
                return ok({"error": "method not allowed"}, 405)
            try:
                modes = parse_modes(request_json(), st.modes)
            except ValueError as e:
                return ok({"error": str(e)}, 400)
            with st.lock:
                st.modes = modes
            return ok(modes)
        if path == "/_sandbox/unsorted":
            if m != "GET":
                return ok({"error": "method not allowed"}, 405)
            with st.lock:
                return ok(list(st.unsorted.values()))
        sorted_m = re.fullmatch(r"/_sandbox/unsorted/([A-Za-z0-9]+)/(accept|decline)", path)
        if sorted_m:
            if m != "POST":
                return ok({"error": "method not allowed"}, 405)
            verdict = "accepted" if sorted_m.group(2) == "accept" else "declined"
            try:
                return ok(st.sort_unsorted(sorted_m.group(1), verdict))
            except KeyError:
                return ok({"error": "no Incoming lead %s" % sorted_m.group(1)}, 404)
            except ValueError as e:
                return ok({"error": str(e)}, 409)
        if path == "/_sandbox/tls":
            if m != "GET":
                return ok({"error": "method not allowed"}, 405)
            with st.lock:
                counts = dict(self.server.handshakes)
            return ok({"tls": self.server.tls is not None, **counts})
        if path == "/_sandbox/reset":
            if m != "POST":
                return ok({"error": "method not allowed"}, 405)
            st.reset()
            return ok({"reset": True})
        if path == "/_sandbox/requests":
            if m != "GET":
                return ok({"error": "method not allowed"}, 405)
            with st.lock:
                recs = sorted(st.records, key=lambda r: r["seq"])
            return ok(recs)
        if path == "/_sandbox/entities":
            if m != "GET":
                return ok({"error": "method not allowed"}, 405)
            return ok(st.snapshot(self.base_url()))
        if path == "/_sandbox/account":
            if m == "GET":
                return ok(st.account)
            if m != "PATCH":
                return ok({"error": "method not allowed"}, 405)
            try:
                req = request_json()
                if not isinstance(req, dict):
                    raise ValueError("body must be a JSON object to merge into the account")
            except ValueError as e:
                return ok({"error": str(e)}, 400)
            with st.lock:
                st.account = {**st.account, **req}
                return ok(st.account)
        if path == "/_sandbox/fields":
            if m == "GET":
                fields = st.fields
                return ok({entity: [{"id": fid, **fields[entity][fid]}
                                    for fid in field_order(fields[entity])]
                           for entity in ("lead", "contact")})
            if m != "POST":
                return ok({"error": "method not allowed"}, 405)
            try:
                req = request_json()
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
                    return ok({"entity": entity, "ids": ids, "total": total})
                fid = st.add_field(entity, req)
            except ValueError as e:
                return ok({"error": str(e)}, 400)
            return ok({"entity": entity, "field": {"id": fid, **st.fields[entity][fid]}})
        if path in ("/_sandbox/leads", "/_sandbox/contacts"):
            if m != "POST":
                return ok({"error": "method not allowed"}, 405)
            kind = path.rsplit("/", 1)[1]
            try:
                data = request_json()
                if not isinstance(data, list) or not data or len(data) > MAX_SEED:
                    raise ValueError("body must be an array of 1 to %d %s as POST /api/v4/%s "
                                     "takes them" % (MAX_SEED, kind, kind))
            except ValueError as e:
                return ok({"error": str(e)}, 400)
            fields = st.fields
            if kind == "leads":
                checked = validate_new(data, lambda item, errs: check_lead(
                    item, fields, MAIN_PIPELINE_ID, errs))
            else:
                checked = validate_new(data, lambda item, errs: check_contact(item, fields, errs))
            failed = [{"request_id": rid, "errors": errs} for rid, errs in checked if errs]
            if failed:
                return ok({"error": "Request validation failed", "validation-errors": failed}, 400)
            add = st.add_leads if kind == "leads" else st.add_contacts
            return ok({"ids": add(data, [rid for rid, _ in checked], fields)})
        return ok({"error": "unknown control path"}, 404)
