"""Modes: how answers are written and how long unsorted/forms takes, settable at
run time (PATCH /_sandbox/modes) as well as on the command line."""

from .validate import is_int, is_number, join


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
# How an Incoming lead's custom-field errors are written (--cf-paths or the
# modes), before any ERROR_PATHS prefix: relative to the item as Kommo's
# examples show (item: "_embedded.leads.0.custom_fields_values.0.field_id"),
# or relative to the embedded lead or contact (entity:
# "custom_fields_values.0.field_id", which does not say which of the two).
# /api/v4/leads and /contacts items are the lead or contact: one form there.
CF_PATHS = ("item", "entity")
# Batch timing, so that a client sizing its batches (--batch-size auto) can be
# shown both directions: a forms answer takes forms_base_ms plus
# forms_ms_per_item for each item, and a batch of more than forms_max_batch
# items (None: no such limit) is a 504 that carries out nothing.
MAX_DELAY_MS = 60000


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
    return {"forms_reply": opts.forms_reply, "error_paths": opts.error_paths,
            "cf_paths": opts.cf_paths,
            "forms_base_ms": opts.forms_base_ms, "forms_ms_per_item": opts.forms_ms_per_item,
            "forms_max_batch": opts.forms_max_batch}


def check_delay_ms(v):
    """A delay in milliseconds, 0..MAX_DELAY_MS; ValueError if not."""
    if not is_number(v) or not 0 <= v <= MAX_DELAY_MS:
        raise ValueError("must be milliseconds from 0 to %d" % MAX_DELAY_MS)
    return v


def check_max_batch(v):
    """The largest batch carried out: an integer of 1 or more, or None for no limit."""
    if v is not None and (not is_int(v) or v < 1):
        raise ValueError("must be an integer of 1 or more (null in the modes: no limit)")
    return v


def check_choice(choices):
    def check(v):
        if v not in choices:
            raise ValueError("must be one of %s" % ", ".join(choices))
        return v
    return check


MODE_CHECKS = {"forms_reply": check_choice(FORMS_REPLIES),
               "error_paths": check_choice(ERROR_PATHS),
               "cf_paths": check_choice(CF_PATHS),
               "forms_base_ms": check_delay_ms,
               "forms_ms_per_item": check_delay_ms,
               "forms_max_batch": check_max_batch}


def parse_modes(req, modes):
    """PATCH /_sandbox/modes: the modes with req's merged in; ValueError if bad."""
    if not isinstance(req, dict):
        raise ValueError('body must be an object such as {"forms_reply": ..., "error_paths": ...}')
    out = dict(modes)
    for k, v in req.items():
        if k not in MODE_CHECKS:
            raise ValueError("unknown mode %r (known: %s)" % (k, ", ".join(MODE_CHECKS)))
        try:
            out[k] = MODE_CHECKS[k](v)
        except ValueError as e:
            raise ValueError("%s %s" % (k, e)) from None
    return out


def forms_delay(modes, items):
    """Seconds a forms answer of `items` items takes."""
    return (modes["forms_base_ms"] + modes["forms_ms_per_item"] * items) / 1000.0


def over_max_batch(modes, items):
    limit = modes["forms_max_batch"]
    return limit is not None and items > limit
