"""Entities and lists as GET answers them: paging, search, links."""

import json
import re
from urllib.parse import urlencode

from .model import DEFAULT_LIMIT, MAX_LIMIT, UNSORTED_CATEGORIES, UNSORTED_ORDERS


class ParamError(Exception):
    pass


def int_param(params, name, default, low, high):
    if name not in params:
        return default
    text = params[name]
    if not re.fullmatch(r"-?[0-9]+", text):
        raise ParamError("%s must be an integer" % name)
    n = int(text)
    if high is None and n < low:
        raise ParamError("%s must be %d or more" % (name, low))
    if high is not None and not low <= n <= high:
        raise ParamError("%s must be between %d and %d" % (name, low, high))
    return n


def paging(pairs):
    """(page, limit) from the query's (name, value) pairs; ParamError if bad.
    A parameter given twice counts with its last value."""
    params = dict(pairs)
    limit = int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    page = int_param(params, "page", 1, 1, None)
    return page, limit


def page_links(url, pairs, page, limit, more):
    """self (and next while more pages remain): the query as sent, other
    parameters kept in order, with page and limit made explicit."""
    rest = [(k, v) for k, v in pairs if k not in ("page", "limit")]

    def href(p):
        return "%s?%s" % (url, urlencode(rest + [("page", p), ("limit", limit)]))

    links = {"self": {"href": href(page)}}
    if more:
        links["next"] = {"href": href(page + 1)}
    return links


def digits(text):
    return re.sub(r"[^0-9]", "", text)


def searcher(query):
    """A predicate for ?query=: case-insensitive (casefold) substring of a name
    or of any custom field value; with 5+ digits in the query, also its digits
    as a substring of a PHONE value's digits."""
    q = query.casefold()
    qd = digits(query)
    if len(qd) < 5:
        qd = None

    def match(ent):
        for key in ("name", "first_name", "last_name"):
            v = ent.get(key)
            if v and q in v.casefold():
                return True
        for f in ent["custom_fields_values"] or ():
            phone = qd is not None and f["field_code"] == "PHONE"
            for item in f["values"]:
                v = item.get("value")
                if isinstance(v, bool) or v is None:
                    continue
                text = v if isinstance(v, str) else json.dumps(v)
                if q in text.casefold():
                    return True
                if phone and qd in digits(text):
                    return True
        return False
    return match


# ---------------------------------------------------------------------------
# Shared state
# ---------------------------------------------------------------------------


# The keys of a lead and of a contact as GET answers them, in Kommo's order.
# Stored entities carry these plus sandbox-only ones (see State.create); _links
# and _embedded are added when answering.
LEAD_KEYS = ("id", "name", "price", "responsible_user_id", "group_id", "status_id",
             "pipeline_id", "loss_reason_id", "created_by", "updated_by", "created_at",
             "updated_at", "closed_at", "closest_task_at", "is_deleted",
             "custom_fields_values", "score", "account_id")
CONTACT_KEYS = ("id", "name", "first_name", "last_name", "responsible_user_id", "group_id",
                "created_by", "updated_by", "created_at", "updated_at", "closest_task_at",
                "is_deleted", "is_unsorted", "custom_fields_values", "account_id")


def link(base, path):
    return {"self": {"href": base + path}}


def lead_view(lead, base, with_contacts=False):
    out = {k: lead[k] for k in LEAD_KEYS}
    out["_links"] = link(base, "/api/v4/leads/%d" % lead["id"])
    emb = {"tags": lead.get("tags") or [], "companies": []}
    if with_contacts:
        emb["contacts"] = [{"id": cid, "is_main": i == 0,
                            "_links": link(base, "/api/v4/contacts/%d" % cid)}
                           for i, cid in enumerate(lead["contacts"])]
    out["_embedded"] = emb
    return out


def contact_view(contact, base, with_leads=False):
    out = {k: contact[k] for k in CONTACT_KEYS}
    out["_links"] = link(base, "/api/v4/contacts/%d" % contact["id"])
    emb = {"tags": [], "companies": []}
    if with_leads:
        emb["leads"] = [{"id": lid, "_links": link(base, "/api/v4/leads/%d" % lid)}
                        for lid in contact["leads"]]
    out["_embedded"] = emb
    return out


def with_extras(view, ent, keys):
    """/_sandbox/entities: the GET view plus the sandbox-only keys."""
    view.update((k, v) for k, v in ent.items() if k not in keys)
    return view


def bracket_values(pairs, name):
    """The values of name, name[] and name[N] in the query, or None if absent."""
    pat = re.compile(re.escape(name) + r"(\[[0-9]*\])?")
    vals = [v for k, v in pairs if pat.fullmatch(k)]
    return vals or None


def unsorted_query(pairs):
    """GET /leads/unsorted's filter and order -> (predicate, [(field, desc)]);
    ParamError if bad."""
    uids = bracket_values(pairs, "filter[uid]")
    cats = bracket_values(pairs, "filter[category]")
    pids = bracket_values(pairs, "filter[pipeline_id]")
    if cats is not None and any(c not in UNSORTED_CATEGORIES for c in cats):
        raise ParamError("filter[category] must name %s" % ", ".join(UNSORTED_CATEGORIES))
    if pids is not None:
        if not all(re.fullmatch(r"[0-9]+", p) for p in pids):
            raise ParamError("filter[pipeline_id] must be an integer")
        pids = {int(p) for p in pids}
    order = []
    for k, v in pairs:
        m = re.fullmatch(r"order\[([a-z_]*)\]", k)
        if m is None:
            continue
        if m.group(1) not in UNSORTED_ORDERS:
            raise ParamError("order by %s, one of %s" % (m.group(1) or "nothing",
                                                         ", ".join(UNSORTED_ORDERS)))
        if v not in ("asc", "desc"):
            raise ParamError("order[%s] must be asc or desc" % m.group(1))
        order.append((m.group(1), v == "desc"))

    def keep(rec):
        return ((uids is None or rec["uid"] in uids)
                and (cats is None or rec["category"] in cats)
                and (pids is None or rec["pipeline_id"] in pids))
    return keep, order
