#!/usr/bin/python3
"""Checks ECS documents (NDJSON, one per line) against the official ECS field
definitions extracted in tests/ecs/ecs_fields.json (make-ecs-fields.sh).

Every leaf field outside the custom `imap.*` object must exist in ECS, and
its value must fit the ECS type (keyword and friends: a string; long: an
integer; float kinds: a number; date: an ISO 8601 string; ip: an IPv4 or
IPv6 address; boolean); categorization fields must hold allowed values.
Prints one line per problem and exits 1 when there is any.

Usage: check_ecs.py FILE.ndjson...
"""
import datetime
import ipaddress
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
STRINGS = {"keyword", "constant_keyword", "wildcard", "text", "match_only_text"}
INTS = {"long", "integer", "short", "byte", "unsigned_long"}
FLOATS = {"float", "double", "scaled_float", "half_float"}
CUSTOM = "imap"


def load_fields():
    with open(os.path.join(HERE, "ecs_fields.json")) as f:
        return json.load(f)["fields"]


def leaves(doc, prefix=""):
    """Yields (flat name, value) for every leaf; lists are leaves."""
    for k, v in doc.items():
        name = prefix + k
        if isinstance(v, dict) and v:
            yield from leaves(v, name + ".")
        else:
            yield name, v


def fits(kind, v):
    if v is None:
        return True
    if kind in STRINGS:
        return isinstance(v, str)
    if kind in INTS:
        return isinstance(v, int) and not isinstance(v, bool)
    if kind in FLOATS:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if kind == "boolean":
        return isinstance(v, bool)
    if kind == "date":
        if not isinstance(v, str):
            return False
        try:
            datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    if kind == "ip":
        try:
            ipaddress.ip_address(v)
        except (ValueError, TypeError):
            return False
        return True
    if kind in ("object", "flattened", "nested"):
        return isinstance(v, (dict, list))
    return False


def check_doc(fields, doc, prefix=""):
    problems = []
    for name, v in leaves(doc, prefix):
        if name == CUSTOM or name.startswith(CUSTOM + "."):
            continue
        f = fields.get(name)
        if f is None:
            problems.append("%s: not an ECS field" % name)
            continue
        values = v if isinstance(v, list) else [v]
        for x in values:
            if not fits(f["type"], x):
                problems.append("%s: %r is not of ECS type %s" % (name, x, f["type"]))
            elif "allowed" in f and x not in f["allowed"]:
                problems.append("%s: %r is not an allowed value" % (name, x))
            elif f["type"] in ("nested", "object") and isinstance(x, dict):
                # The objects of an array (email.attachments): their
                # fields are ECS fields under the array's name.
                problems.extend(p for p in check_doc(fields, x, name + ".")
                                if not p.endswith(" missing"))
    for required in ("@timestamp", "ecs.version"):
        if not any(n == required for n, _ in leaves(doc)):
            problems.append("%s missing" % required)
    return problems


def main(paths):
    fields = load_fields()
    bad = 0
    docs = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                docs += 1
                for p in check_doc(fields, json.loads(line)):
                    bad += 1
                    if bad <= 50:
                        print("%s:%d: %s" % (path, lineno, p))
    print("%d documents, %d problems" % (docs, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
