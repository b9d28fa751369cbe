#!/usr/bin/env python3
"""A loopback HTTP server for Kiln's transport and retry tests.

    fault_proxy.py READY_FILE [UPSTREAM_URL]

Writes {"port": N} to READY_FILE. Every request is recorded. Behaviour is set with
`POST /__control` (JSON): {"fail": N, "status": 503, "code": "RequestLimitExceeded",
"delay": seconds, "reply": "<xml/>", "hold_action": "CopyImage", "hold": seconds}: the next N requests
get that error (an EC2-style XML body when "code" is set), then requests pass through to
UPSTREAM_URL, or, without one, are echoed back as JSON (method, path, query, headers, body).
A request whose Action is "hold_action" is passed upstream at once, but its answer is held
back for "hold" seconds: the resource exists while the client still waits for its id (a
Ctrl-C then meets a request in flight). `GET /__requests` returns the recorded requests,
`GET /__held` {"held": N}, how many answers are being held.

Lost answers: with {"lose_action": "RunInstances", "lose": "503" or "drop", "lose_count": N}
(N defaults to 1), the next N requests whose Action is "lose_action" are passed upstream
(so the service acts), and then their answer is lost: replaced by a 503 `ServiceUnavailable`
error, or the connection is closed without a byte of answer (curl: "Empty reply from server").
This is the "EC2 acted, the client never heard" case a retry must not turn into a second
resource. `GET /__lost` {"lost": N}: how many answers were lost so far.

With {"fail_action": "X"}, "fail" counts only requests whose Action is X (others pass);
"message" replaces the injected error's message, and {"date_offset": seconds} gives injected
errors a `Date` header that many seconds off this host's clock (a clock-skew test). Errors of
STS requests (Version 2011-06-15) have STS's `<ErrorResponse>` shape, others EC2's `<Response>`.

With {"endless": seconds}, every
request is answered with a body without a length that goes on until the client hangs up (64 KiB
writes, bounded all the same: at most that many seconds and 256 MiB). With {"headers": N}, every
answer carries N extra 100-byte headers.
"""
import base64
import email.utils
import json
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from xml.sax.saxutils import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lifeline import exit_with_parent, write_ready

ready_file = sys.argv[1]

exit_with_parent()
upstream = sys.argv[2] if len(sys.argv) > 2 else None
state = {"fail": 0, "status": 503, "code": None, "delay": 0.0, "reply": None, "hold_action": None, "hold": 0.0,
         "held": 0, "endless": 0, "headers": 0, "lose_action": None, "lose": "503", "lose_count": 1, "lost": 0,
         "fail_action": None, "message": None, "date_offset": None}
recorded = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json", headers=(), date=None):
        if date is None:
            self.send_response(status)
        else:
            # The Date header given, not the one send_response would add.
            self.log_request(status)
            self.send_response_only(status)
            self.send_header("Server", self.version_string())
            self.send_header("Date", date)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if not self.path.startswith("/__"):
            for index in range(state["headers"]):
                self.send_header(f"X-Padding-{index:06d}", "p" * 80)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/__control":
            settings = json.loads(body or b"{}")
            if "lose_action" in settings:
                settings.setdefault("lose_count", 1)
            with lock:
                state.update(settings)
            return self.reply(200, b"{}")
        if self.path == "/__held":
            with lock:
                return self.reply(200, json.dumps({"held": state["held"]}).encode())
        if self.path == "/__lost":
            with lock:
                return self.reply(200, json.dumps({"lost": state["lost"]}).encode())
        if self.path == "/__requests":
            with lock:
                return self.reply(200, json.dumps(recorded).encode())
        params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        action = params.get("Action")
        with lock:
            recorded.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                             "body": base64.b64encode(body).decode()})
            failing = state["fail"] > 0 and state["fail_action"] in (None, action)
            if failing:
                state["fail"] -= 1
            status, code, delay, endless = state["status"], state["code"], state["delay"], state["endless"]
            message, date_offset = state["message"] or "Injected by the test proxy", state["date_offset"]
            losing = bool(action) and action == state["lose_action"] and state["lose_count"] > 0
            if losing:
                state["lose_count"] -= 1
            lose = state["lose"]
        if endless:
            return self.endless_body(endless)
        if delay:
            time.sleep(delay)
        date = None
        if date_offset is not None:
            date = email.utils.formatdate(time.time() + float(date_offset), usegmt=True)
        if failing:
            if code:
                return self.reply(status, error_body(params, code, message, f"fault-{len(recorded)}"), "text/xml", date=date)
            return self.reply(status, b"injected failure", "text/plain", date=date)
        if upstream:
            request = urllib.request.Request(upstream + self.path, data=body if body else None, method=self.command)
            for name, value in self.headers.items():
                # Host too: the client signed it, and the upstream checks the signature.
                if name.lower() not in ("content-length", "connection"):
                    request.add_header(name, value)
            try:
                with urllib.request.urlopen(request) as response:
                    answer = response.read()
                    if losing:
                        return self.lose_answer(lose, params)
                    with lock:
                        hold = state["hold"] if action and action == state["hold_action"] else 0
                        if hold:
                            state["held"] += 1
                    if hold:
                        time.sleep(hold)
                    return self.reply(response.status, answer, response.headers.get("Content-Type", "text/xml"))
            except urllib.error.HTTPError as error:
                answer = error.read()
                if losing:
                    return self.lose_answer(lose, params)
                return self.reply(error.code, answer, error.headers.get("Content-Type", "text/xml"))
        if state["reply"] is not None:
            return self.reply(200, state["reply"].encode(), "text/xml")
        echo = {"method": self.command, "path": self.path, "headers": dict(self.headers),
                "body": body.decode("utf-8", "replace")}
        return self.reply(200, json.dumps(echo).encode(), headers=[("X-Echo", "yes")])

    def lose_answer(self, how, params):
        """The service acted; its answer never reaches the client."""
        with lock:
            state["lost"] += 1
        if how == "drop":
            # No status line, no headers: the connection just closes.
            self.close_connection = True
            return None
        body = error_body(params, "ServiceUnavailable", "Injected by the test proxy after the service acted", "lost-answer")
        return self.reply(503, body, "text/xml")

    def endless_body(self, seconds):
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = b"<item>" + b"x" * 65523 + b"</item>"
        deadline = time.monotonic() + seconds
        try:
            self.wfile.write(b"<DescribeRegionsResponse>")
            for _ in range(256 * 1024 * 1024 // len(chunk)):
                if time.monotonic() >= deadline:
                    break
                self.wfile.write(chunk)
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def error_body(params, code, message, request_id):
    """An error document in the shape the service documents: STS (and the other query
    services) `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`, EC2
    `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>`."""
    text = escape(message)
    if params.get("Version") == "2011-06-15":
        return (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
                f'<Code>{code}</Code><Message>{text}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>').encode()
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
            f'<Message>{text}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>').encode()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
write_ready(ready_file, {"port": server.server_address[1]})
server.serve_forever()
