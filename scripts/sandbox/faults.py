"""Fault kinds: parsing them, and the answers that replace or spoil a reply."""

import gzip
import json
import re
import secrets

from .modes import FORMS_REPLIES, arrange_items
from .replies import Reply, dump, html_reply, json_reply, problem, too_many, unauthorized
from .validate import is_int


FAULT_KINDS = ("500", "502", "503", "504", "422", "429", "429html", "429hdr", "401", "402",
               "403html", "reset", "slow", "truncated", "garbage", "hang",
               "huge", "zipbomb", "deep", "ids", "trickle", "badgzip", "nothttp",
               "drop", "cut", "late", "reply", "half504", "half500", "stray")
# drop=HOW: how the connection ends once the request was carried out
DROP_HOWS = ("rst", "fin")
MAX_RETRY_AFTER = 3600       # 429hdr=N: the most seconds its Retry-After says


# Hostile replies (docs/sandbox.md, Faults). kommo-lead reads at most 16 MiB
# of a reply (KL_HTTP_MAX_REPLY); huge sends more than that.
HUGE_BODY = 17 * 1024 * 1024
DEEP_LEVELS = 100000
# ids=HOW: what every "id" key of the reply becomes
ID_MANGLES = ("letters", "negative", "float", "object", "null", "missing", "big")
TRICKLE_SECONDS = 1.0        # one byte this often
TRICKLE_LENGTH = 86400       # the Content-Length promised beyond the real body


NOT_HTTP = b"this is not HTTP\r\n\r\n"  # the nothttp fault's whole answer
# The stray fault's extra item of validation-errors: about a request_id no
# client sends, so about none of the items sent.
STRAY_ERROR = {"request_id": "stray", "errors": [
    {"code": "FieldMissing", "path": "source_name", "detail": "a stray error about no item"}]}


def fault_reply(kind, arg=None):
    """The answer of a fault that replaces normal handling (not reset/slow/hang/...)."""
    if kind == "500":
        return json_reply(500, problem(500, "Internal Server Error", "Internal Server Error",
                                       trace_id=secrets.token_hex(16)))
    if kind == "502":
        return html_reply(502, "Bad Gateway")
    if kind == "503":
        return html_reply(503, "Service Temporarily Unavailable")
    if kind == "504":
        return html_reply(504, "Gateway Time-out")
    if kind == "429":
        return too_many(False)
    if kind == "429html":
        return too_many(True)
    if kind == "429hdr":
        # the wait only in the header: a client must read Retry-After, not the body
        return json_reply(429, problem(429, "Too Many Requests", "Too many requests"),
                          headers=[("Retry-After", "%d" % arg)])
    if kind == "401":
        return unauthorized()
    if kind == "402":
        return json_reply(402, problem(402, "Payment Required", "Payment Required"))
    if kind == "422":
        return json_reply(422, problem(422, "Unprocessable Entity", "Limit 250 per page"))
    if kind == "403html":
        return html_reply(403, "Forbidden")
    raise ValueError(kind)


def parse_fault(text):
    """'500', 'slow=2.5', 'ids=null' or 'deep@/api/v4/account' -> (kind,
    argument or None, path or None). ValueError if bad."""
    if not isinstance(text, str):
        raise ValueError("fault must be a string: %r" % (text,))
    text, at, path = text.strip().partition("@")
    if at and (not path.startswith("/") or "?" in path or any(c.isspace() for c in path)):
        raise ValueError("bad path in %r: want KIND@/api/v4/... (no query string)" % (text + at + path))
    kind, arg = parse_fault_kind(text)
    return kind, arg, path if at else None


def parse_fault_kind(text):
    kind, sep, arg = text.strip().partition("=")
    if kind not in FAULT_KINDS:
        raise ValueError("unknown fault kind %r (known: %s)" % (kind, ", ".join(FAULT_KINDS)))
    if kind == "ids":
        if arg not in ID_MANGLES:
            raise ValueError("ids needs one of %s: ids=HOW" % ", ".join(ID_MANGLES))
        return kind, arg
    if kind == "reply":
        if arg not in FORMS_REPLIES:
            raise ValueError("reply needs one of %s: reply=HOW" % ", ".join(FORMS_REPLIES))
        return kind, arg
    if kind == "drop":
        if sep and arg not in DROP_HOWS:
            raise ValueError("drop takes %s: drop or drop=HOW" % ", ".join(DROP_HOWS))
        return kind, arg if sep else "rst"
    if kind == "429hdr":
        if not re.fullmatch(r"[0-9]{1,4}", arg) or int(arg) > MAX_RETRY_AFTER:
            raise ValueError("429hdr needs whole seconds 0..%d: 429hdr=N" % MAX_RETRY_AFTER)
        return kind, int(arg)
    if kind in ("slow", "late"):
        if not sep:
            raise ValueError("%s needs seconds: %s=SECONDS" % (kind, kind))
        try:
            secs = float(arg)
        except ValueError:
            raise ValueError("bad seconds in %r" % text) from None
        if not 0 <= secs <= 3600:
            raise ValueError("seconds out of range in %r" % text)
        return kind, secs
    if sep:
        raise ValueError("fault %r takes no argument" % kind)
    return kind, None


def fault_text(fault):
    kind, arg, path = fault
    if kind in ("slow", "late"):
        text = "%s=%g" % (kind, arg)
    elif kind in ("ids", "reply", "drop", "429hdr"):
        text = "%s=%s" % (kind, arg)
    else:
        text = kind
    return text + "@" + path if path else text


def mangle_ids(obj, how):
    """A copy of obj with every "id" key, at any depth, given a value of the
    wrong type (or removed): the ids=HOW fault."""
    if isinstance(obj, list):
        return [mangle_ids(x, how) for x in obj]
    if not isinstance(obj, dict):
        return obj
    out = {}
    for k, v in obj.items():
        if k != "id":
            out[k] = mangle_ids(v, how)
            continue
        n = v if is_int(v) else 1
        if how == "missing":
            continue
        out[k] = {"letters": "abcdefg", "negative": -abs(n), "float": n + 0.5,
                  "object": {"id": n}, "null": None, "big": 2 ** 64 + n}[how]
    return out


# Faults that let the request be handled (entities created), then change
# the answer.
HANDLED_FAULTS = ("truncated", "garbage", "huge", "zipbomb", "deep", "ids", "trickle", "badgzip",
                  "nothttp", "drop", "cut", "late", "reply", "stray")


def hostile_reply(kind, arg, reply):
    """The answer of a fault that does the work, then mangles the answer."""
    if kind == "truncated":
        return Reply(200, reply.body[:len(reply.body) // 2], "application/hal+json")
    if kind == "garbage":
        return Reply(200, b"not json at all", "application/hal+json")
    if kind == "huge":
        # the real answer, padded with spaces: still valid JSON, only too large
        return Reply(200, reply.body + b" " * max(0, HUGE_BODY - len(reply.body)),
                     "application/hal+json")
    if kind == "zipbomb":
        # the same padded answer, gzipped whether asked for or not: about 17 KiB
        # on the wire, 17 MiB once decoded
        padded = reply.body + b" " * max(0, HUGE_BODY - len(reply.body))
        return Reply(200, gzip.compress(padded, 9, mtime=0), "application/hal+json",
                     [("Content-Encoding", "gzip")])
    if kind == "badgzip":
        return Reply(200, b"this is not gzip", "application/hal+json", [("Content-Encoding", "gzip")])
    if kind == "deep":
        return Reply(200, b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS, "application/hal+json")
    if kind == "ids":
        try:
            data = json.loads(reply.body)
        except ValueError:
            return reply  # a 204 or an HTML page has no ids to spoil
        return Reply(reply.status, dump(mangle_ids(data, arg)), reply.ctype, reply.headers)
    if kind == "reply":
        try:
            data = json.loads(reply.body)
            items = data["_embedded"]["unsorted"]
        except (ValueError, TypeError, KeyError):
            return reply  # only a forms success reply lists items
        data["_embedded"]["unsorted"] = arrange_items(items, arg)
        data["_total_items"] = len(data["_embedded"]["unsorted"])
        return Reply(reply.status, dump(data), reply.ctype, reply.headers)
    if kind == "stray":
        try:
            data = json.loads(reply.body)
            data["validation-errors"].append(STRAY_ERROR)
        except (ValueError, TypeError, KeyError, AttributeError):
            return reply  # only a 400 with validation errors gets one more
        return Reply(reply.status, dump(data), reply.ctype, reply.headers)
    return reply


def parse_schedule(spec):
    schedule = {}
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        num, sep, kind = part.partition(":")
        if not sep or not num.strip().isdigit() or int(num) < 1:
            raise ValueError("bad --faults entry %r (want N:KIND)" % part)
        n = int(num)
        if n in schedule:
            raise ValueError("request %d scheduled twice in --faults" % n)
        if "@" in kind:
            raise ValueError("--faults entry %r: KIND@PATH is for queued faults "
                             "(the control API); a --faults entry names its request" % part)
        schedule[n] = parse_fault(kind)
    return schedule
