"""The command line: options, start-up and a clean stop."""

import argparse
import ipaddress
import os
import signal
import ssl
import sys
import threading

from .faults import parse_schedule
from .model import EXTRA_FIELD_TYPES
from .modes import CF_PATHS, ERROR_PATHS, FORMS_REPLIES, check_delay_ms, check_max_batch
from .server import Handler, Server, Server6
from .state import State


def die(msg):
    sys.stderr.write("kommo-sandbox: %s\n" % msg)
    sys.exit(2)


def loopback_host(host):
    h = host.strip()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if h.lower() == "localhost":
        return "127.0.0.1", Server
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        die("--host %r is not a loopback address (use 127.0.0.1, ::1 or localhost)" % host)
    if ip.version == 4 and ip in ipaddress.ip_network("127.0.0.0/8"):
        return str(ip), Server
    if ip.version == 6 and ip == ipaddress.ip_address("::1"):
        return str(ip), Server6
    die("--host %r is not a loopback address (use 127.0.0.1, ::1 or localhost)" % host)


def parse_extra_field(spec):
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise ValueError("want ENTITY:ID:TYPE[:CODE]")
    entity, fid, ftype = parts[:3]
    if entity not in ("lead", "contact"):
        raise ValueError("ENTITY must be lead or contact")
    if not fid.isdigit():
        raise ValueError("ID must be a positive integer")
    if ftype not in EXTRA_FIELD_TYPES:
        raise ValueError("TYPE must be one of " + ", ".join(EXTRA_FIELD_TYPES))
    code = parts[3] if len(parts) == 4 and parts[3] else None
    return entity, int(fid), {"name": "Extra field %s" % fid, "code": code, "type": ftype,
                              "sort": None, "enums": None}


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_token(opts):
    tok = os.environ.get("KOMMO_SANDBOX_TOKEN")
    if tok:
        return tok
    if opts.token_file:
        try:
            with open(opts.token_file, encoding="utf-8") as f:
                tok = f.read()
        except OSError as e:
            die("cannot read --token-file: %s" % e)
        if tok.endswith("\r\n"):
            tok = tok[:-2]
        elif tok.endswith("\n"):
            tok = tok[:-1]
        if not tok:
            die("--token-file %s is empty" % opts.token_file)
        return tok
    return "sandbox-token"


FAULTS_HELP = """\
fault kinds (--faults N:KIND, or queued with POST /_sandbox/faults as KIND or KIND@/api/v4/PATH):
  500 502 503 504 422 429 429html 401 402 403html
                 answered instead of the request (nothing is carried out)
  429hdr=N       429 problem+json without retry_after; only the header says
                 Retry-After: N (nothing is carried out)
  reset          connection reset (RST) before the request is carried out
  slow=SECONDS   wait, then carry out and answer: a request that lands late
  hang           never answers, carries out nothing
  late=SECONDS   carried out at once, answered after SECONDS: slower than a
                 client's timeout, yet the leads exist
  drop[=rst|fin] carried out, then the connection reset (rst, the default) or
                 closed (fin) before any reply byte; on a reused keep-alive
                 connection this is when a client may resend on its own
  stray          carried out; a 400 with validation errors gets one more,
                 about request_id "stray" (no item sent); others as they are
  half504 half500
                 the first half of an unsorted/forms batch carried out, then
                 504 or 500 (a gateway or a server that gave up midway)
  cut            carried out, then the status line and headers with the whole
                 body's Content-Length, half the body, and the connection closed
  truncated      carried out, then 200 with half the body (Content-Length to match)
  garbage huge zipbomb deep badgzip nothttp trickle ids=HOW
                 carried out, then a hostile answer (see docs/sandbox.md)
  reply=HOW      carried out; this one unsorted/forms answer lists its items as
                 --forms-reply HOW does
forms replies (--forms-reply, or PATCH /_sandbox/modes {"forms_reply": HOW}):
  echo           each item's request_id as sent, in request order (Kommo)
  numbered       request_id "0".."n-1" by position, whatever was sent
  reversed       items in reverse order
  norid          no request_id key
  drop           the first item and every third after it left out of the answer
                 (still created)
error paths (--error-paths, or PATCH /_sandbox/modes {"error_paths": FORM}):
  item           relative to the item: _embedded.leads.0.name (default)
  data           data._embedded.leads.0.name
  index          8._embedded.leads.0.name (8: the item's position in the request)
  data-index     data.8._embedded.leads.0.name
custom-field paths in an Incoming lead (--cf-paths, or PATCH /_sandbox/modes
{"cf_paths": FORM}), before the error paths' prefix:
  item           _embedded.leads.0.custom_fields_values.0.field_id (default)
  entity         custom_fields_values.0.field_id: relative to the embedded lead
                 or contact, so it does not say which (/api/v4/leads and
                 /api/v4/contacts items are the entity: their paths are the same
                 in both)
batch timing (--forms-base-ms, --forms-ms-per-item, --forms-max-batch, or PATCH
/_sandbox/modes {"forms_base_ms": MS, "forms_ms_per_item": MS, "forms_max_batch": N}):
  an unsorted/forms batch of n items is answered after base + n * per-item ms;
  one of more than N items is a 504 at once, nothing carried out (null: no limit)
Incoming leads: GET /api/v4/leads/unsorted[/UID] lists what unsorted/forms
created until POST /_sandbox/unsorted/UID/accept or /decline sorts it.
"""


def arg_parser():
    ap = argparse.ArgumentParser(
        prog="kommo-sandbox",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=FAULTS_HELP,
        description="Local stand-in for Kommo's API v4 (unsorted/forms, the Incoming leads list, "
                    "account, custom fields, "
                    "pipelines, leads, contacts). "
                    "The valid token comes from $KOMMO_SANDBOX_TOKEN, else --token-file, "
                    "else 'sandbox-token'.")
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=0, help="port (default 0: ephemeral)")
    ap.add_argument("--port-file", help="write the bound port here (atomically)")
    ap.add_argument("--pid-file", help="write the process id here")
    ap.add_argument("--log", help="append one JSON line per API request here")
    ap.add_argument("--token-file", help="file holding the valid bearer token")
    ap.add_argument("--rate-limit", type=int, default=7, metavar="N",
                    help="API requests allowed per sliding second (default 7, 0 disables)")
    ap.add_argument("--rate-limit-html", action="store_true",
                    help="answer rate-limit 429s with an HTML page and no Retry-After")
    ap.add_argument("--faults", default="", metavar="SPEC",
                    help="faults by API request number, e.g. 3:500,5:reset,7:slow=2.5")
    ap.add_argument("--forms-reply", choices=FORMS_REPLIES, default="echo",
                    help="how unsorted/forms success replies list their items (default echo)")
    ap.add_argument("--error-paths", choices=ERROR_PATHS, default="item",
                    help="how validation errors write their path (default item)")
    ap.add_argument("--cf-paths", choices=CF_PATHS, default="item",
                    help="an Incoming lead's custom-field errors relative to the item or to "
                         "the embedded entity (default item)")
    ap.add_argument("--forms-base-ms", type=float, default=0, metavar="MS",
                    help="every unsorted/forms answer takes MS milliseconds more (default 0)")
    ap.add_argument("--forms-ms-per-item", type=float, default=0, metavar="MS",
                    help="... and MS milliseconds more for each item of its batch (default 0)")
    ap.add_argument("--forms-max-batch", type=int, default=None, metavar="N",
                    help="answer 504, carrying out nothing, to an unsorted/forms batch of "
                         "more than N items (default: no limit but Kommo's 250)")
    ap.add_argument("--extra-field", action="append", default=[], metavar="ENTITY:ID:TYPE",
                    help="add a custom field (ENTITY lead|contact, TYPE one of %s)"
                    % "|".join(EXTRA_FIELD_TYPES))
    ap.add_argument("--tls-cert", metavar="FILE",
                    help="serve https with this PEM certificate (chain); the control API too")
    ap.add_argument("--tls-key", metavar="FILE",
                    help="the certificate's PEM private key (default: in --tls-cert)")
    ap.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return ap


def check_options(opts):
    """Exits 2 on a bad option; returns (host, server class, extra fields) and
    sets opts.schedule."""
    host, server_class = loopback_host(opts.host)
    if not 0 <= opts.port <= 65535:
        die("--port must be 0..65535")
    if opts.rate_limit < 0:
        die("--rate-limit must be >= 0")
    for name, value, check in (("--forms-base-ms", opts.forms_base_ms, check_delay_ms),
                               ("--forms-ms-per-item", opts.forms_ms_per_item, check_delay_ms),
                               ("--forms-max-batch", opts.forms_max_batch, check_max_batch)):
        try:
            check(value)
        except ValueError as e:
            die("%s %s" % (name, e))
    try:
        opts.schedule = parse_schedule(opts.faults)
    except ValueError as e:
        die(str(e))
    extra_fields = []
    for spec in opts.extra_field:
        try:
            extra_fields.append(parse_extra_field(spec))
        except ValueError as e:
            die("--extra-field %r: %s" % (spec, e))
    return host, server_class, extra_fields


def tls_context(opts):
    """The server's SSLContext with --tls-cert, else None; exits 2 if unusable."""
    tls = None
    if opts.tls_key and not opts.tls_cert:
        die("--tls-key needs --tls-cert")
    if opts.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            tls.load_cert_chain(opts.tls_cert, opts.tls_key)
        except (OSError, ssl.SSLError) as e:
            die("cannot use --tls-cert %s%s: %s" % (
                opts.tls_cert, " --tls-key %s" % opts.tls_key if opts.tls_key else "", e))
    return tls


def main(argv=None):
    opts = arg_parser().parse_args(argv)
    host, server_class, extra_fields = check_options(opts)
    token = read_token(opts)
    tls = tls_context(opts)
    try:
        server = server_class((host, opts.port), Handler)
    except OSError as e:
        die("cannot listen on %s:%d: %s" % (host, opts.port, e))
    try:
        server.state = State(opts, extra_fields)
    except OSError as e:
        die("cannot open --log: %s" % e)
    server.opts = opts
    server.token = token
    server.tls = tls
    server.handshakes = {"ok": 0, "failed": 0}
    server.stop_event = threading.Event()
    return serve(server, opts)


def serve(server, opts):
    """Until SIGTERM or SIGINT; then a clean stop (log closed, pid file gone)."""
    tls = server.tls
    host, port = server.server_address[:2]
    # before the port file says we are up: a SIGTERM from then on is a clean stop
    stop = server.stop_event
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if opts.pid_file:
        write_atomic(opts.pid_file, "%d\n" % os.getpid())
    if opts.port_file:
        write_atomic(opts.port_file, "%d\n" % port)
    if opts.verbose:
        sys.stderr.write("kommo-sandbox: listening on %s port %d (%s)\n"
                         % (host, port, "https" if tls else "http"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    while not stop.wait(0.5):
        if not thread.is_alive():
            break
    server.shutdown()
    server.server_close()
    if server.state.log:
        with server.state.lock:
            server.state.log.close()
            server.state.log = None
    if opts.pid_file:
        try:
            with open(opts.pid_file) as f:
                if f.read().strip() == str(os.getpid()):
                    os.unlink(opts.pid_file)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
