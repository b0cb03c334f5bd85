"""A test ESP for benchmarks: Mailjet's Send API v3.1 over HTTP on loopback, answering after a delay.

    python -m bench.esp_server [--port 0] [--latency-ms 50]

Prints ``listening on <port>`` once ready, then serves until stopped. anymail's
real Mailjet backend talks to it with ``ANYMAIL["MAILJET_API_URL"] =
"http://127.0.0.1:<port>/v3.1/"``. Every ``POST /v3.1/send`` is answered after
the latency (HTTP/1.1 keep-alive, as the real API) with Mailjet's success body
for each message.

A real ESP does its work on its own machines; this one shares the sender's
cores, so it is written to cost as little CPU as it can: one event loop
(uvloop's when installed), no thread per connection, the answer's delay a
timer rather than a sleeping thread: about 0.26 ms of CPU a call here, where a
thread-per-connection server took about 0.44. It runs in a process of its own so that it never holds the sender's GIL. Two
more paths, not Mailjet's, let the benchmark read and clear its counts:
``GET /_stats`` and ``POST /_reset``. A message counts as a duplicate when the
same recipient was already sent the same subject since the last reset.
"""

import argparse
import asyncio
import json
import socket
import sys
import time
import uuid

try:  # the same loop in C (the bench extra installs it): about a third less CPU a call
    import uvloop
except ImportError:
    uvloop = None

SEND_PATH = "/v3.1/send"


class Counts:
    """What the ESP received since the last reset (read and written by the event loop only)."""

    def __init__(self):
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
        self.in_flight -= 1

    def failed(self):
        """A request the ESP could not read."""
        self.errors += 1

    def as_dict(self):
        """The counts, and the rate at which calls arrived, as JSON-ready values."""
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


REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found"}
#: Larger request heads or bodies than these are refused (a runaway client, not a sender).
MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


def parse_send(body):
    """The (recipient, subject) pairs of a Send API v3.1 body; ValueError when malformed."""
    try:
        payload = json.loads(body)
        globals_ = payload.get("Globals", {})
        return [
            (recipient["Email"].lower(), message.get("Subject", globals_.get("Subject", "")))
            for message in payload["Messages"]
            for recipient in message["To"]
        ], payload["Messages"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError("Malformed JSON") from exc


def send_results(messages, ids):
    """Mailjet's success body for ``messages``, one new id per recipient."""
    results = []
    for message in messages:
        to = []
        for recipient in message["To"]:
            message_id = next(ids)
            to.append(
                {
                    "Email": recipient["Email"],
                    "MessageUUID": str(uuid.uuid4()),
                    "MessageID": message_id,
                    "MessageHref": f"https://api.mailjet.com/v3/REST/message/{message_id}",
                }
            )
        results.append({"Status": "success", "CustomID": "", "To": to, "Cc": [], "Bcc": []})
    return {"Messages": results}


class EspProtocol(asyncio.Protocol):
    """One client connection: requests read in turn, each answered in the order it came."""

    def __init__(self, server):
        self.server = server
        self.buffer = bytearray()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Head and body leave in one write; with Nagle's algorithm an answer could
            # still wait for the client's delayed ACK, 40 ms more on a call.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data):
        self.buffer += data
        while self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.reply(400, {"ErrorMessage": "Request head too large"}, close=True)
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            method, path = (lines[0].split(" ") + ["", ""])[:2]
            length, close = 0, False
            for line in lines[1:]:
                name, _sep, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value) if value.strip().isdigit() else -1
                elif name == "connection":
                    close = value.strip().lower() == "close"
            if not 0 <= length <= MAX_BODY:
                self.reply(400, {"ErrorMessage": "Bad Content-Length"}, close=True)
                return
            if len(self.buffer) < end + 4 + length:
                return  # the rest of the body is still on its way
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.handle(method, path, body, close)

    def handle(self, method, path, body, close):
        counts = self.server.counts
        if method == "GET" and path == "/_stats":
            self.reply(200, counts.as_dict(), close=close)
        elif method == "POST" and path == "/_reset":
            counts.reset()
            self.reply(200, {}, close=close)
        elif method == "POST" and path == SEND_PATH:
            try:
                keys, messages = parse_send(body)
            except ValueError:
                counts.failed()
                self.reply(400, {"ErrorCode": "mj-0002", "ErrorMessage": "Malformed JSON"})
                return
            ids = iter(counts.arrived(keys))
            self.server.loop.call_later(self.server.latency, self.answer, messages, ids, close)
        else:
            self.reply(404, {"ErrorMessage": "Not found"}, close=close)

    def answer(self, messages, ids, close):
        """The send's answer, once the latency has passed."""
        self.server.counts.answered()
        self.reply(200, send_results(messages, ids), close=close)

    def reply(self, status, body, close=False):
        if self.transport is None or self.transport.is_closing():
            return  # the client went away meanwhile
        data = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, '')}\r\n"
            "Server: FakeMailjet/1.0\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n"
        )
        self.transport.write(head.encode("latin-1") + data)
        if close:
            self.transport.close()

    def connection_lost(self, exc):
        self.transport = None


class Server:
    """The listening socket (a deep backlog, so no sender waits to connect) and its counts."""

    def __init__(self, latency):
        self.latency = latency
        self.counts = Counts()
        self.loop = None


def main(argv=None):
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    server = Server(args.latency_ms / 1000)

    async def serve():
        server.loop = asyncio.get_running_loop()
        listener = await server.loop.create_server(
            lambda: EspProtocol(server), "127.0.0.1", args.port, backlog=1024
        )
        port = listener.sockets[0].getsockname()[1]
        print(f"listening on {port}", flush=True)
        async with listener:
            await listener.serve_forever()

    try:
        (uvloop.run if uvloop is not None else asyncio.run)(serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
