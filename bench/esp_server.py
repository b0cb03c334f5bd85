"""A test ESP for benchmarks: Mailjet's Send API v3.1 over HTTP on loopback, answering after a delay.

    python -m bench.esp_server [--port 0] [--latency-ms 50]

Prints ``listening on <port>`` once ready, then serves until stopped. anymail's
real Mailjet backend talks to it with ``ANYMAIL["MAILJET_API_URL"] =
"http://127.0.0.1:<port>/v3.1/"``. Every ``POST /v3.1/send`` is answered after
the latency, one thread per connection (HTTP/1.1 keep-alive, as the real API),
with Mailjet's success body for each message.

It runs in a process of its own so that its threads never hold the sender's
GIL. Two more paths, not Mailjet's, let the benchmark read and clear its counts:
``GET /_stats`` and ``POST /_reset``. A message counts as a duplicate when the
same recipient was already sent the same subject since the last reset.
"""

import argparse
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEND_PATH = "/v3.1/send"


class Counts:
    """What the ESP received since the last reset; every method takes the lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        """Forget everything received so far."""
        self.requests = 0
        self.recipients = 0
        self.duplicates = 0
        self.errors = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.first_at = None
        self.last_at = None
        self.seen = set()
        self.message_id = 0

    def arrived(self, keys):
        """Count one API call carrying ``keys`` (recipient, subject); returns new message ids."""
        now = time.monotonic()
        with self.lock:
            self.requests += 1
            self.recipients += len(keys)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.first_at is None:
                self.first_at = now
            self.last_at = now
            ids = []
            for key in keys:
                if key in self.seen:
                    self.duplicates += 1
                self.seen.add(key)
                self.message_id += 1
                ids.append(self.message_id)
            return ids

    def answered(self):
        """One call is no longer in flight."""
        with self.lock:
            self.in_flight -= 1

    def failed(self):
        """A request the ESP could not read."""
        with self.lock:
            self.errors += 1

    def as_dict(self):
        """The counts, and the rate at which calls arrived, as JSON-ready values."""
        with self.lock:
            span = (self.last_at - self.first_at) if self.requests > 1 else 0.0
            return {
                "requests": self.requests,
                "recipients": self.recipients,
                "duplicates": self.duplicates,
                "errors": self.errors,
                "max_in_flight": self.max_in_flight,
                "arrival_span": span,
                "arrival_rate": (self.requests - 1) / span if span else 0.0,
            }


class Handler(BaseHTTPRequestHandler):
    """Mailjet's send endpoint plus the two control paths."""

    protocol_version = "HTTP/1.1"  # keep-alive: anymail's session reuses its connection
    # Headers and body leave in one packet: with Nagle's algorithm the body would wait for
    # the client's delayed ACK of the headers, 40 ms more on every call.
    disable_nagle_algorithm = True
    server_version = "FakeMailjet/1.0"

    def log_message(self, format, *args):  # one line per request would swamp the output
        pass

    def _reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(data)
        self.flush_headers()

    def do_GET(self):
        """``/_stats``: the counts since the last reset."""
        if self.path == "/_stats":
            self._reply(200, self.server.counts.as_dict())
        else:
            self._reply(404, {"ErrorMessage": "Not found"})

    def do_POST(self):
        """Mailjet's send: every message accepted after the latency; or ``/_reset``."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        counts = self.server.counts
        if self.path == "/_reset":
            with counts.lock:
                counts.reset()
            self._reply(200, {})
            return
        if self.path != SEND_PATH:
            self._reply(404, {"ErrorMessage": "Not found"})
            return
        try:
            payload = json.loads(body)
            globals_ = payload.get("Globals", {})
            messages = payload["Messages"]
            keys = [
                (
                    recipient["Email"].lower(),
                    message.get("Subject", globals_.get("Subject", "")),
                )
                for message in messages
                for recipient in message["To"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError):
            counts.failed()
            self._reply(400, {"ErrorCode": "mj-0002", "ErrorMessage": "Malformed JSON"})
            return
        ids = iter(counts.arrived(keys))
        try:
            time.sleep(self.server.latency)
            results = []
            for message in messages:
                to = []
                for recipient in message["To"]:
                    message_id = next(ids)
                    message_uuid = str(uuid.uuid4())
                    to.append(
                        {
                            "Email": recipient["Email"],
                            "MessageUUID": message_uuid,
                            "MessageID": message_id,
                            "MessageHref": (
                                f"https://api.mailjet.com/v3/REST/message/{message_id}"
                            ),
                        }
                    )
                results.append({"Status": "success", "CustomID": "", "To": to, "Cc": [], "Bcc": []})
            self._reply(200, {"Messages": results})
        finally:
            counts.answered()


class Server(ThreadingHTTPServer):
    """One daemon thread per connection and a deep listen backlog, so no sender waits to connect."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def __init__(self, address, latency):
        super().__init__(address, Handler)
        self.latency = latency
        self.counts = Counts()


def main(argv=None):
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    server = Server(("127.0.0.1", args.port), args.latency_ms / 1000)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
