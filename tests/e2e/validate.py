#!/usr/bin/python3
"""Validates imaptrace NDJSON output against docs/imaptrace.schema.json.

usage: validate.py FILE.ndjson [--max-severity SEV]
Prints nothing and exits 0 when every line is a valid event (and, with
--max-severity, no violation is more severe than SEV); otherwise prints
the first problems and exits 1.
"""
import json
import sys

import jsonschema

SEVERITIES = ["info", "low", "medium", "high"]


def main():
    path = sys.argv[1]
    max_sev = None
    if "--max-severity" in sys.argv:
        max_sev = SEVERITIES.index(sys.argv[sys.argv.index("--max-severity") + 1])
    schema = json.load(open("docs/imaptrace.schema.json"))
    validator = jsonschema.Draft7Validator(schema)
    problems = []
    lines = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            lines += 1
            try:
                ev = json.loads(line)
            except ValueError as e:
                problems.append(f"line {n}: not JSON: {e}")
                continue
            for err in validator.iter_errors(ev):
                problems.append(f"line {n}: {err.message} at {list(err.absolute_path)}")
            if (max_sev is not None and ev.get("type") == "violation"
                    and SEVERITIES.index(ev["severity"]) > max_sev):
                problems.append(f"line {n}: finding above {SEVERITIES[max_sev]}: "
                                f"{ev['id']} ({ev['severity']}) {ev.get('detail', '')}")
    if lines == 0:
        problems.append("no events at all")
    for p in problems[:10]:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
