#!/usr/bin/env python3
"""Prints what AWS's model said of every EC2, STS and SSM request a test run sent to moto.

    model_report.py REPORT_FILE

REPORT_FILE is what `moto_server.py` appended with KILN_MODEL_CHECK_REPORT set: one line per
request, `service<TAB>action<TAB>accepted|refused`. Prints each action with its number of
requests, and the actions the clients can send (`call("Action"` and the like in
Sources/KilnAWS) that no request of the run used. Exits 1 when the model refused any request
or when no request was checked at all (the report was not wired up).
"""
import collections
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parents[2]
counts = collections.Counter()
refused = collections.Counter()
with open(sys.argv[1]) as report:
    for line in report:
        fields = line.rstrip("\n").split("\t")
        if len(fields) != 3:
            continue
        service, action, verdict = fields
        counts[(service, action)] += 1
        if verdict == "refused":
            refused[(service, action)] += 1

pattern = re.compile(r'\b(?:call|callUnsigned|paginate|stateChange)\("([A-Z][A-Za-z]+)"')
known = set()
for source in (root / "Sources" / "KilnAWS").rglob("*.swift"):
    known.update(pattern.findall(source.read_text()))

print(f"model check: {sum(counts.values())} requests, {len(counts)} actions, {sum(refused.values())} refused by AWS's model")
for (service, action), n in sorted(counts.items()):
    mark = f"  ({refused[(service, action)]} refused)" if refused[(service, action)] else ""
    print(f"  {service:4} {action:40} {n:6}{mark}")
unsent = sorted(known - {action for _, action in counts})
if unsent:
    print(f"  sent by no test of this run: {', '.join(unsent)}")
sys.exit(1 if refused or not counts else 0)
