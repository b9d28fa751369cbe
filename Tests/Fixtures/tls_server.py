#!/usr/bin/env python3
"""An HTTPS server on 127.0.0.1 with a certificate made here by the openssl command line, for
Kiln's TLS verification and CA bundle tests.

    tls_server.py READY_FILE DIRECTORY (ca|self-signed)

`ca`: a test CA (`openssl req -x509`) signs the server's certificate (`openssl x509 -req`);
`self-signed`: the server's certificate signs itself. Either names IP 127.0.0.1. Writes
{"port": N, "ca": "DIRECTORY/ca.pem" or the self-signed certificate} to READY_FILE once it
listens. Every request is answered with an EC2 DescribeRegions document. Exits when its stdin
closes.
"""
import http.server
import os
import ssl
import subprocess
import sys

from lifeline import exit_with_parent, write_ready

ready_file, directory, mode = sys.argv[1], sys.argv[2], sys.argv[3]
exit_with_parent()


def openssl(*arguments):
    subprocess.run(["openssl", *arguments], check=True, stdin=subprocess.DEVNULL, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def path(name):
    return os.path.join(directory, name)


ec_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
with open(path("server.ext"), "w") as f:
    f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
if mode == "ca":
    openssl("req", "-x509", *ec_key, "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2",
            "-subj", "/CN=Kiln Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", *ec_key, "-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", path("server.csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
            "-CAcreateserial", "-out", path("server.pem"), "-days", "2", "-extfile", path("server.ext"))
    trusted = path("ca.pem")
else:
    openssl("req", "-x509", *ec_key, "-keyout", path("server.key"), "-out", path("server.pem"), "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
    trusted = path("server.pem")

REPLY = (b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeRegionsResponse><requestId>tls-1</requestId>'
         b'<regionInfo><item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com'
         b'</regionEndpoint></item></regionInfo></DescribeRegionsResponse>')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(REPLY)))
        self.end_headers()
        self.wfile.write(REPLY)

    do_GET = do_POST = answer


context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(path("server.pem"), path("server.key"))
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.socket = context.wrap_socket(server.socket, server_side=True)
write_ready(ready_file, {"port": server.server_address[1], "ca": trusted})
server.serve_forever()
