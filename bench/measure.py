#!/usr/bin/env python3
"""Runs a command and measures it with its whole process tree (for bench/build.sh).

    measure.py OUT_JSON [--cpu-log=PATH] -- COMMAND...

Samples every 20 ms every descendant of the command (Packer runs one plugin process per
builder, provisioner and post-processor, so the largest single process understates it):
the summed RSS and the summed PSS (shared pages split between processes: the fair figure),
and the number of processes. Writes {"wall", "status", "peak_rss_mib", "peak_pss_mib",
"max_processes", "cpu"} to OUT_JSON (cpu: user + system seconds of the whole tree, from
getrusage once it has exited); the command's own output passes through. With --cpu-log, each
sample also appends "epoch<TAB>cpu seconds so far" of the tree (utime + stime of the live
processes plus cutime + cstime, what their exited and reaped children spent) to PATH, so
bench/latency.sh can tell the CPU spent in given intervals.
"""
import json
import os
import resource
import subprocess
import sys
import threading
import time

out = sys.argv[1]
command = sys.argv[sys.argv.index("--") + 1:]
cpu_log = next((a.split("=", 1)[1] for a in sys.argv[2:sys.argv.index("--")] if a.startswith("--cpu-log=")), None)
ticks = os.sysconf("SC_CLK_TCK")


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


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15]) / ticks  # utime, stime, cutime, cstime
    except (OSError, IndexError, ValueError):
        return 0.0


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
    log = open(cpu_log, "a") if cpu_log else None
    while not done.is_set():
        pids = tree(process.pid)
        if log:
            log.write(f"{time.time():.3f}\t{sum(cpu_seconds(pid) for pid in pids):.2f}\n")
        totals = [memory(pid) for pid in pids]
        peak["rss"] = max(peak["rss"], sum(t[0] for t in totals))
        peak["pss"] = max(peak["pss"], sum(t[1] for t in totals))
        peak["procs"] = max(peak["procs"], len(pids))
        done.wait(0.02)
    if log:
        log.close()


sampler = threading.Thread(target=sample)
sampler.start()
status = process.wait()
wall = time.monotonic() - start
done.set()
sampler.join()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    json.dump({"wall": wall, "status": status, "peak_rss_mib": peak["rss"] / 1024, "peak_pss_mib": peak["pss"] / 1024,
               "max_processes": peak["procs"], "cpu": usage.ru_utime + usage.ru_stime}, f)
