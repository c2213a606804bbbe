"""Answers, built before they are sent so faults can mangle them."""

import json

from .model import MAX_ITEMS


def problem(status, title, detail, **extra):
    body = {"title": title, "type": "https://httpstatus.es/%d" % status,
            "status": status, "detail": detail}
    body.update(extra)
    return body


def nginx_page(code, reason):
    return ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
            "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n" % (code, reason, code, reason)).encode()


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Reply:
    """One HTTP answer, built before it is sent so faults can mangle it."""

    def __init__(self, status, body=b"", ctype=None, headers=None):
        self.status = status
        self.body = body
        self.ctype = ctype
        self.headers = headers or []


def json_reply(status, obj, ctype="application/problem+json", headers=None):
    return Reply(status, dump(obj), ctype, headers)


def html_reply(status, reason, headers=None):
    return Reply(status, nginx_page(status, reason), "text/html", headers)


def unauthorized():
    return json_reply(401, problem(401, "Unauthorized", "Invalid user name or password"))


def too_many(html=False):
    if html:
        return html_reply(429, "Too Many Requests")
    return json_reply(429, problem(429, "Too Many Requests", "Too many requests", retry_after=1),
                      headers=[("Retry-After", "1")])


def bad_request(detail):
    return json_reply(400, problem(400, "Bad Request", detail))


def not_found():
    return json_reply(404, problem(404, "Not Found", "Not Found"))


def method_not_allowed(allow):
    return json_reply(405, problem(405, "Method Not Allowed", "Method Not Allowed"),
                      headers=[("Allow", allow)])


def hal(obj, status=200):
    return json_reply(status, obj, ctype="application/hal+json")


def no_content():
    """Kommo's answer to a list or search with nothing to return, or a missing entity."""
    return Reply(204)


def validation_failed(failed):
    return json_reply(400, {"validation-errors": failed,
                            **problem(400, "Bad Request", "Request validation failed")})


def too_many_items():
    return json_reply(422, problem(422, "Unprocessable Entity", "Limit %d per page" % MAX_ITEMS))


def reject_constant(name):
    raise ValueError("%s is not JSON" % name)


class BodyError(Exception):
    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class ClientGone(Exception):
    pass
