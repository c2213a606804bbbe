"""Modes that change how every answer is written, settable at run time."""

from .validate import join


# How the unsorted/forms success reply lists its items (--forms-reply, the
# control API's modes, or one reply with the fault reply=HOW). Kommo echoes
# each item's request_id in the order sent; the others are what a client must
# survive without guessing ids: ids numbered by position, the order reversed,
# request_id left out, and items left out (the first and every third after it).
FORMS_REPLIES = ("echo", "numbered", "reversed", "norid", "drop")
# How validation errors write their path (--error-paths or the modes): relative
# to the item (item), with a leading "data." (data), with the item's position
# in the request array (index: "8._embedded..."), or both (data-index).
ERROR_PATHS = ("item", "data", "index", "data-index")


def arrange_items(items, how):
    """A forms reply's items as FORMS_REPLIES mode `how` lists them."""
    if how == "numbered":
        return [{**x, "request_id": str(k)} for k, x in enumerate(items)]
    if how == "reversed":
        return items[::-1]
    if how == "norid":
        return [{k: v for k, v in x.items() if k != "request_id"} for x in items]
    if how == "drop":
        return [x for k, x in enumerate(items) if k % 3 != 0]
    return items


def error_path(path, index, form):
    """A validation error's path (relative to the item) in ERROR_PATHS form `form`."""
    prefix = {"item": "", "data": "data", "index": str(index),
              "data-index": "data.%d" % index}[form]
    return join(prefix, path) if path else prefix or path


def failures(checked, form):
    """[(request_id, errors)], one per item in request order -> the
    validation-errors list, paths written in form `form`."""
    out = []
    for index, (rid, errs) in enumerate(checked):
        if errs:
            out.append({"request_id": rid, "errors": [
                {**e, "path": error_path(e["path"], index, form)} for e in errs]})
    return out


def default_modes(opts):
    return {"forms_reply": opts.forms_reply, "error_paths": opts.error_paths}


def parse_modes(req, modes):
    """PATCH /_sandbox/modes: the modes with req's merged in; ValueError if bad."""
    if not isinstance(req, dict):
        raise ValueError('body must be {"forms_reply": ..., "error_paths": ...}')
    allowed = {"forms_reply": FORMS_REPLIES, "error_paths": ERROR_PATHS}
    out = dict(modes)
    for k, v in req.items():
        if k not in allowed:
            raise ValueError("unknown mode %r (known: %s)" % (k, ", ".join(allowed)))
        if v not in allowed[k]:
            raise ValueError("%s must be one of %s" % (k, ", ".join(allowed[k])))
        out[k] = v
    return out
