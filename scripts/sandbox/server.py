"""The HTTP server and the handler's reading, writing and dispatch (keep-alive, TLS)."""

import base64
import json
import secrets
import select
import socket
import struct
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .api import Api
from .control import Control
from .faults import (HANDLED_FAULTS, NOT_HTTP, TRICKLE_LENGTH, TRICKLE_SECONDS, fault_reply,
                     hostile_reply)
from .model import MAX_BODY
from .replies import BodyError, ClientGone, json_reply, problem, too_many


HANDSHAKE_TIMEOUT = 10.0     # a TLS client that never says hello


class Handler(Api, Control, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without this a keep-alive client
    # waits for its delayed ACK (~40 ms) on every reply
    disable_nagle_algorithm = True

    def version_string(self):
        return "nginx"

    def __getattr__(self, name):
        # Every method goes through one dispatcher, so 405s and logging see
        # methods http.server does not know about.
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    def log_message(self, fmt, *args):
        if self.server.opts.verbose:
            sys.stderr.write("kommo-sandbox: %s %s\n" % (self.address_string(), fmt % args))

    # -- reading -----------------------------------------------------------

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if te:
            if te.strip().lower() != "chunked":
                raise BodyError(501, "Transfer-Encoding %s is not supported" % te)
            return self.read_chunked()
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        if not cl.strip().isdigit():
            raise BodyError(400, "Content-Length is not a number")
        n = int(cl)
        if n > MAX_BODY:
            raise BodyError(413, "Request body is too large")
        data = self.rfile.read(n)
        if len(data) != n:
            raise ClientGone()
        return data

    def read_chunked(self):
        out = bytearray()
        while True:
            line = self.rfile.readline(1024)
            if not line:
                raise ClientGone()
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BodyError(400, "bad chunk size") from None
            if size == 0:
                while True:  # trailers
                    line = self.rfile.readline(8192)
                    if not line:
                        raise ClientGone()
                    if line in (b"\r\n", b"\n"):
                        return bytes(out)
            if len(out) + size > MAX_BODY:
                raise BodyError(413, "Request body is too large")
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise ClientGone()
            out += chunk
            self.rfile.readline(8)

    def header_dict(self):
        out = {}
        for k, v in self.headers.items():
            k = k.lower()
            out[k] = out[k] + ", " + v if k in out else v
        return out

    # -- writing -----------------------------------------------------------

    def send(self, reply):
        self.send_response(reply.status)
        if reply.ctype:
            self.send_header("Content-Type", reply.ctype)
        for k, v in reply.headers:
            self.send_header(k, v)
        if reply.status != 204:  # a 204 has no body and no Content-Length
            self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)
        self.wfile.flush()

    def reset_connection(self):
        # SO_LINGER 0 makes close() send RST. The real close happens when
        # http.server closes rfile/wfile after this request.
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        self.connection.close()

    def trickle(self, reply):
        """The status line and headers at once, then the body one byte a second,
        then spaces: TRICKLE_LENGTH more bytes than the body are promised, so
        the answer never ends for a client with any sensible timeout."""
        body = reply.body + b" " * TRICKLE_LENGTH
        self.close_connection = True
        try:
            self.send_response(reply.status)
            if reply.ctype:
                self.send_header("Content-Type", reply.ctype)
            for k, v in reply.headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.flush()
            stop = self.server.stop_event
            for i in range(len(body)):
                if stop.wait(TRICKLE_SECONDS):
                    return
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
        except OSError:
            pass  # the client gave up: that is the point

    def cut(self, reply):
        """The status line and headers with the whole body's Content-Length,
        then half the body, then the connection closed."""
        self.close_connection = True
        try:
            self.send_response(reply.status)
            if reply.ctype:
                self.send_header("Content-Type", reply.ctype)
            for k, v in reply.headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body[:len(reply.body) // 2])
            self.wfile.flush()
        except OSError:
            pass

    def hang(self):
        conn = self.connection
        stop = self.server.stop_event
        while not stop.is_set():
            try:
                ready, _, _ = select.select([conn], [], [], 0.2)
                if ready and not conn.recv(65536):
                    break  # client closed
            except (OSError, ValueError):
                break
        self.close_connection = True

    # -- dispatch ----------------------------------------------------------

    def dispatch(self):
        arrived = time.time()
        path = urlsplit(self.path).path
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            return self.control(path)
        st = self.server.state
        seq = st.arrive()
        rec = {"seq": seq, "time": arrived, "method": self.command, "path": self.path,
               "headers": self.header_dict()}
        try:
            body = self.read_body()
        except ClientGone:
            self.close_connection = True
            rec.update(body="", status=None)
            st.record(rec)
            return
        except BodyError as e:
            self.close_connection = True
            reason = self.responses.get(e.status, ("Error",))[0]
            reply = json_reply(e.status, problem(e.status, reason, e.detail))
            rec.update(body="", status=reply.status)
            st.record(rec)
            self.send(reply)
            return
        try:
            rec["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            rec["body_b64"] = base64.b64encode(body).decode("ascii")
        rec["status"] = None

        fault = st.take_fault(seq, path)
        limited = st.over_rate(time.monotonic())
        kind = fault[0] if fault else None

        if kind == "reset":
            st.record(rec)
            self.reset_connection()
            return
        if kind == "hang":
            st.record(rec)
            self.hang()
            return
        if kind == "slow":
            if self.server.stop_event.wait(fault[1]):
                self.close_connection = True
                st.record(rec)
                return
            kind = None

        if kind in ("half504", "half500"):
            # Kommo's gateway gave up midway through a batch: the first half of the
            # items carried out, the rest not, and a 504 either way
            try:
                items = json.loads(body)
            except ValueError:
                items = None
            if isinstance(items, list) and len(items) > 1 and not limited:
                self.api(path, json.dumps(items[:len(items) // 2]).encode())
            reply = fault_reply(kind[4:])
        elif kind in HANDLED_FAULTS or kind is None:
            if limited:
                reply = too_many(self.server.opts.rate_limit_html)
            else:
                try:
                    reply = self.api(path, body)
                except Exception:
                    traceback.print_exc()
                    reply = json_reply(500, problem(500, "Internal Server Error",
                                                    "sandbox error", trace_id=secrets.token_hex(16)))
            if kind is not None:
                reply = hostile_reply(kind, fault[1], reply)
        else:
            reply = fault_reply(kind, fault[1])

        if kind == "drop":
            # carried out, then gone before any reply byte: the case in which a
            # client may resend the request on its own
            st.record(rec)
            if fault[1] == "rst":
                self.reset_connection()
            else:
                self.close_connection = True
            return
        if kind == "late":
            # carried out at once, answered only after the client gave up
            if self.server.stop_event.wait(fault[1]):
                self.close_connection = True
                st.record(rec)
                return
        rec["status"] = None if kind == "nothttp" else reply.status
        st.record(rec)
        if kind == "cut":
            self.cut(reply)
            return
        if kind == "trickle":
            self.trickle(reply)
            return
        if kind == "nothttp":
            self.close_connection = True
            try:
                self.wfile.write(NOT_HTTP)
                self.wfile.flush()
            except OSError:
                pass
            return
        self.send(reply)

    def base_url(self):
        host = self.headers.get("Host")
        if not host:
            h, p = self.server.server_address[:2]
            host = "[%s]:%d" % (h, p) if ":" in h else "%s:%d" % (h, p)
        return ("https://" if self.server.tls is not None else "http://") + host


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # hanging requests must not hold up shutdown
    allow_reuse_address = True
    tls = None  # an ssl.SSLContext with --tls-cert: every connection is https
    handshakes = {"ok": 0, "failed": 0}  # replaced per server in main()

    def process_request_thread(self, request, client_address):
        # The TLS handshake happens here, in the connection's own thread, so a
        # client that never completes it holds up no one else.
        if self.tls is not None:
            try:
                request.settimeout(HANDSHAKE_TIMEOUT)
                request = self.tls.wrap_socket(request, server_side=True)
                request.settimeout(None)
                with self.state.lock:
                    self.handshakes["ok"] += 1
            except OSError as e:  # ssl.SSLError included: e.g. the client refused our certificate
                with self.state.lock:
                    self.handshakes["failed"] += 1
                if self.opts.verbose:
                    sys.stderr.write("kommo-sandbox: TLS handshake with %s failed: %s\n"
                                     % (client_address[0], e))
                self.shutdown_request(request)
                return
        super().process_request_thread(request, client_address)

    def handle_error(self, request, client_address):
        # A client that hangs up mid-reply is normal in fault tests.
        if self.opts.verbose:
            super().handle_error(request, client_address)


class Server6(Server):
    address_family = socket.AF_INET6
