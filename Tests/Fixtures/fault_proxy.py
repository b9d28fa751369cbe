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
`GET /__held` {"held": N}, how many answers are being held. With {"endless": seconds}, every
request is answered with a body without a length that goes on until the client hangs up (64 KiB
writes, bounded all the same: at most that many seconds and 256 MiB). With {"headers": N}, every
answer carries N extra 100-byte headers.
"""
import base64
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lifeline import exit_with_parent, write_ready

ready_file = sys.argv[1]

exit_with_parent()
upstream = sys.argv[2] if len(sys.argv) > 2 else None
state = {"fail": 0, "status": 503, "code": None, "delay": 0.0, "reply": None, "hold_action": None, "hold": 0.0,
         "held": 0, "endless": 0, "headers": 0}
recorded = []
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json", headers=()):
        self.send_response(status)
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
            with lock:
                state.update(json.loads(body or b"{}"))
            return self.reply(200, b"{}")
        if self.path == "/__held":
            with lock:
                return self.reply(200, json.dumps({"held": state["held"]}).encode())
        if self.path == "/__requests":
            with lock:
                return self.reply(200, json.dumps(recorded).encode())
        with lock:
            recorded.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                             "body": base64.b64encode(body).decode()})
            failing = state["fail"] > 0
            if failing:
                state["fail"] -= 1
            status, code, delay, endless = state["status"], state["code"], state["delay"], state["endless"]
        if endless:
            return self.endless_body(endless)
        if delay:
            time.sleep(delay)
        if failing:
            if code:
                xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                       f'<Message>Injected by the test proxy</Message></Error></Errors>'
                       f'<RequestID>fault-{len(recorded)}</RequestID></Response>').encode()
                return self.reply(status, xml, "text/xml")
            return self.reply(status, b"injected failure", "text/plain")
        if upstream:
            request = urllib.request.Request(upstream + self.path, data=body if body else None, method=self.command)
            for name, value in self.headers.items():
                # Host too: the client signed it, and the upstream checks the signature.
                if name.lower() not in ("content-length", "connection"):
                    request.add_header(name, value)
            action = next((p[len("Action="):] for p in body.decode("utf-8", "replace").split("&") if p.startswith("Action=")), None)
            try:
                with urllib.request.urlopen(request) as response:
                    answer = response.read()
                    with lock:
                        hold = state["hold"] if action and action == state["hold_action"] else 0
                        if hold:
                            state["held"] += 1
                    if hold:
                        time.sleep(hold)
                    return self.reply(response.status, answer, response.headers.get("Content-Type", "text/xml"))
            except urllib.error.HTTPError as error:
                return self.reply(error.code, error.read(), error.headers.get("Content-Type", "text/xml"))
        if state["reply"] is not None:
            return self.reply(200, state["reply"].encode(), "text/xml")
        echo = {"method": self.command, "path": self.path, "headers": dict(self.headers),
                "body": body.decode("utf-8", "replace")}
        return self.reply(200, json.dumps(echo).encode(), headers=[("X-Echo", "yes")])

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


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
write_ready(ready_file, {"port": server.server_address[1]})
server.serve_forever()
