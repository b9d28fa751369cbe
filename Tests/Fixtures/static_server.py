#!/usr/bin/env python3
"""Serves a directory over HTTP on 127.0.0.1 (the EKS scripts' mirror, for the script tests
and demo/run).

    static_server.py READY_FILE DIRECTORY

Writes {"port": N} to READY_FILE once it listens; exits when its stdin closes.
"""
import functools
import http.server
import sys

from lifeline import exit_with_parent, write_ready

exit_with_parent()
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
handler.log_message = lambda *args: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
write_ready(sys.argv[1], {"port": server.server_address[1]})
server.serve_forever()
