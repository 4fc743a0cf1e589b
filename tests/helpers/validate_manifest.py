#!/usr/bin/python3
"""Validates every line of an extraction manifest against its JSON Schema.

usage: validate_manifest.py MANIFEST SCHEMA
Exits 0 when every record is valid, 1 (naming the line) otherwise.
"""
import json
import sys

import jsonschema


def main():
    with open(sys.argv[2]) as f:
        schema = json.load(f)
    validator = jsonschema.Draft7Validator(schema)
    n = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            rec = json.loads(line)
            errors = list(validator.iter_errors(rec))
            if errors:
                print("%s:%d: %s" % (sys.argv[1], n, errors[0].message))
                return 1
    if n == 0:
        print("%s: no records" % sys.argv[1])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
