"""A scripted HTTP ESP for anymail's real SendGrid, Mailgun and Brevo backends.

Every POST gets the next scripted (status, JSON body) answer, whatever the path:
enough to see what the product makes of each ESP's documented error answers
through anymail's real request and response handling.
"""

import json
from collections import deque
from http.server import BaseHTTPRequestHandler

from tests.fake_esp import LoopbackServer


class ScriptedESP(LoopbackServer):
    def __init__(self):
        self.answers = deque()
        self.paths = []
        self.start()

    def script(self, status, body):
        self.answers.append((status, body))

    def _handler(self):
        esp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # quiet
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                esp.paths.append(self.path)
                status, body = esp.answers.popleft() if esp.answers else (200, {})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
