"""What every loopback server in Tests/Fixtures does around its real work.

A test (or demo/run) starts the server with its stdin on a pipe it holds open; when that
closes, the server exits (no orphans). The server writes a JSON "ready file" atomically
once it listens, which LoopbackServer (or the script) waits for.
"""
import json
import os
import sys
import threading


def exit_with_parent(before_exit=None):
    """Exits the process when stdin closes, after `before_exit()` (e.g. killing a child)."""
    def watch():
        try:
            sys.stdin.read()
        finally:
            if before_exit is not None:
                before_exit()
            os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def write_ready(path, info):
    """Writes `info` as JSON to `path`, all at once (a reader never sees half of it)."""
    with open(path + ".tmp", "w") as f:
        json.dump(info, f)
    os.rename(path + ".tmp", path)
