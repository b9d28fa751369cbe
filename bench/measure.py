#!/usr/bin/env python3
"""Runs a command and measures it with its whole process tree (for bench/build.sh).

    measure.py OUT_JSON -- COMMAND...

Samples every 20 ms every descendant of the command (Packer runs one plugin process per
builder, provisioner and post-processor, so the largest single process understates it):
the summed RSS and the summed PSS (shared pages split between processes: the fair figure),
and the number of processes. Writes {"wall", "status", "peak_rss_mib", "peak_pss_mib",
"max_processes"} to OUT_JSON; the command's own output passes through.
"""
import json
import os
import subprocess
import sys
import threading
import time

out = sys.argv[1]
command = sys.argv[sys.argv.index("--") + 1:]


def children_map():
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(name))
        except OSError:
            continue
    return children


def tree(root):
    children = children_map()
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def memory(pid):
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


peak = {"rss": 0, "pss": 0, "procs": 0}
start = time.monotonic()
process = subprocess.Popen(command)
done = threading.Event()


def sample():
    while not done.is_set():
        pids = tree(process.pid)
        totals = [memory(pid) for pid in pids]
        peak["rss"] = max(peak["rss"], sum(t[0] for t in totals))
        peak["pss"] = max(peak["pss"], sum(t[1] for t in totals))
        peak["procs"] = max(peak["procs"], len(pids))
        done.wait(0.02)


sampler = threading.Thread(target=sample)
sampler.start()
status = process.wait()
wall = time.monotonic() - start
done.set()
sampler.join()
with open(out, "w") as f:
    json.dump({"wall": wall, "status": status, "peak_rss_mib": peak["rss"] / 1024, "peak_pss_mib": peak["pss"] / 1024,
               "max_processes": peak["procs"]}, f)
