"""A fake Postmark: a real HTTP server speaking Postmark's send API, failing on demand.

anymail's real Postmark backend talks to it over real sockets, so every code
path between the engine and the wire runs as in production: payload building,
``requests`` with its timeout, anymail's status parsing and its exceptions.

What it answers is scripted per request: replies queued for one recipient are
used first, then replies queued for anyone, then the default, a 200 with a new
MessageID. A reply may wait before answering (a read timeout after the request
was sent). Every request is recorded when it arrives, with the reply it got,
so a test counts what the ESP received and what it accepted.

The server can be stopped and started again on the same port (connection
refused in between).
"""

import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from anymail.backends.postmark import EmailBackend as PostmarkBackend

#: anymail's REQUESTS_TIMEOUT in the tests that talk to a fake ESP (seconds).
REQUESTS_TIMEOUT = 0.5


@dataclass
class Reply:
    """One scripted answer; ``body=None`` means Postmark's success body."""

    status: int = 200
    body: object = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    """One request as the ESP received it, and what it answered."""

    path: str
    headers: dict
    json: object
    reply: Reply | None = None
    message_id: str = ""

    @property
    def to(self):
        return self.json.get("To", "") if isinstance(self.json, dict) else ""

    @property
    def accepted(self):
        """The ESP took the message (it answered 200 with ErrorCode 0), whether or not the
        client was still waiting for the answer."""
        return self.message_id != ""

    @property
    def message_headers(self):
        """The email's own headers as Postmark received them: {name: value}."""
        return {h["Name"]: h["Value"] for h in self.json.get("Headers", [])}


# -- Postmark's answers ---------------------------------------------------------


def ok(delay=0.0):
    return Reply(200, None, delay=delay)


def error(status, error_code, message, headers=None, delay=0.0):
    return Reply(status, {"ErrorCode": error_code, "Message": message}, headers or {}, delay)


def rate_limited(retry_after=None):
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return error(429, 429, "Rate limit exceeded.", headers)


def server_error(status=503):
    return Reply(status, "<html><body>Service Unavailable</body></html>")


def bad_token():
    return error(401, 10, "Request does not contain a valid Server token.")


def inactive(address):
    """Postmark's 422 / ErrorCode 406: the address hard-bounced or complained before."""
    return error(
        422,
        406,
        "You tried to send to recipient(s) that have been marked as inactive.\n"
        f"Found inactive addresses: {address.lower()}.\n"
        "Inactive recipients are ones that have generated a hard bounce, "
        "a spam complaint, or a manual suppression. ",
    )


def invalid_to(address):
    """Postmark's 422 / ErrorCode 300 for a malformed To address."""
    return error(422, 300, f"Invalid 'To' address: '{address}'.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a reply still sleeping must not hold up the test's teardown


class LoopbackServer:
    """An HTTP server on a loopback port, answering from its own thread; a subclass gives
    ``_handler()``, the request handler class."""

    port = 0
    _server = None
    _thread = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def start(self):
        self._server = _Server(("127.0.0.1", self.port), self._handler())
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self):
        """Stop listening: connections are refused until :meth:`start`."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self):
        raise NotImplementedError


class FakePostmark(LoopbackServer):
    """The fake ESP. ``url`` goes into ``ANYMAIL["POSTMARK_API_URL"]``."""

    def __init__(self, port=0):
        self.requests = []
        self._anyone = deque()
        self._by_recipient = {}
        self._lock = threading.Lock()
        self.port = port
        self.start()

    # -- scripting --------------------------------------------------------------

    def script(self, *replies, to=None):
        """Queue replies for the next requests (to ``to`` only, when given)."""
        with self._lock:
            queue = (
                self._anyone if to is None else self._by_recipient.setdefault(to.lower(), deque())
            )
            queue.extend(replies)

    def _next_reply(self, to):
        with self._lock:
            queue = self._by_recipient.get(to.lower())
            if queue:
                return queue.popleft()
            if self._anyone:
                return self._anyone.popleft()
        return ok()

    # -- what it received -------------------------------------------------------

    def received(self, to=None):
        with self._lock:
            requests = list(self.requests)
        return [r for r in requests if to is None or r.to.lower() == to.lower()]

    def accepted(self, to=None):
        return [r for r in self.received(to) if r.accepted]

    # -- answering --------------------------------------------------------------

    def _handler(self):
        esp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = None
                record = Received(self.path, dict(self.headers), payload)
                with esp._lock:
                    esp.requests.append(record)
                reply = esp._next_reply(record.to)
                record.reply = reply
                body = reply.body
                if self.path != "/email" or self.headers.get("X-Postmark-Server-Token") is None:
                    reply = record.reply = bad_token()
                    body = reply.body
                elif reply.status == 200 and body is None:
                    record.message_id = str(uuid.uuid4())
                    body = {
                        "To": record.to,
                        "SubmittedAt": datetime.now(UTC).isoformat(),
                        "MessageID": record.message_id,
                        "ErrorCode": 0,
                        "Message": "OK",
                    }
                if reply.delay:
                    time.sleep(reply.delay)
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                content_type = "text/html" if isinstance(body, str) else "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting (read timeout)
                    pass

        return Handler


def unused_port():
    """A local port nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HookedPostmarkBackend(PostmarkBackend):
    """anymail's Postmark backend with a test hook run after each ESP call returns.

    ``after_post(message)`` runs in the sending thread (so it shares the test's
    database connection), between one message of a batch and the next.
    """

    after_post = None

    def post_to_esp(self, payload, message):
        try:
            return super().post_to_esp(payload, message)
        finally:
            hook = type(self).after_post
            if hook is not None:
                hook(message)
