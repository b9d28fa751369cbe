#!/usr/bin/env python3
"""Validates every line of a `kiln build -events` file against schemas/kiln-events.schema.json.

    validate_events.py SCHEMA EVENTS_FILE

Uses the `jsonschema` library (installed with check-jsonschema by .ci/install-deps), draft
2020-12 with format checks. Prints `line N: message` for each problem and exits 1 if any;
an empty file is a problem too.
"""
import json
import sys

import jsonschema

with open(sys.argv[1]) as f:
    schema = json.load(f)
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
problems = 0
count = 0
with open(sys.argv[2]) as f:
    for number, line in enumerate(f, 1):
        count += 1
        try:
            event = json.loads(line)
        except json.JSONDecodeError as error:
            print(f"line {number}: not JSON: {error}")
            problems += 1
            continue
        for error in validator.iter_errors(event):
            print(f"line {number}: {error.message}")
            problems += 1
if count == 0:
    print("no events")
    problems += 1
sys.exit(1 if problems else 0)
