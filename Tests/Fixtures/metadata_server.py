#!/usr/bin/env python3
"""Instance metadata (IMDSv2 only) and container credentials on loopback, for Kiln's tests.

    metadata_server.py READY_FILE ACCESS_KEY_ID SECRET_ACCESS_KEY EXPIRES_IN_SECONDS

IMDSv2: PUT /latest/api/token gives a session token, without which every GET is refused
(401), as an instance with `HttpTokens=required` does. Container: GET /container requires
`Authorization: Bearer container-secret`. Both hand out the given keys with an expiry
EXPIRES_IN_SECONDS from now. GET /__hits returns how many credentials were handed out.
"""
import datetime
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lifeline import exit_with_parent, write_ready

ready_file, key, secret, expires_in = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

exit_with_parent()
TOKEN = "imds-session-token"
hits = {"count": 0}


def credentials():
    hits["count"] += 1
    expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=expires_in)
    return json.dumps({"Code": "Success", "AccessKeyId": key, "SecretAccessKey": secret,
                       "Token": "session-token-%d" % hits["count"],
                       "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(200, TOKEN.encode())
        return self.reply(400)

    def do_GET(self):
        if self.path == "/__hits":
            return self.reply(200, str(hits["count"]).encode())
        if self.path == "/container":
            if self.headers.get("Authorization") != "Bearer container-secret":
                return self.reply(403)
            return self.reply(200, credentials())
        if self.headers.get("X-aws-ec2-metadata-token") != TOKEN:
            return self.reply(401)
        if self.path == "/latest/meta-data/iam/security-credentials/":
            return self.reply(200, b"kiln-builder-role")
        if self.path == "/latest/meta-data/iam/security-credentials/kiln-builder-role":
            return self.reply(200, credentials())
        return self.reply(404)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
write_ready(ready_file, {"port": server.server_address[1]})
server.serve_forever()
