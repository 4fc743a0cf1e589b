#!/usr/bin/python3
"""Checks an extraction directory written by imaptrace --extract DIR.

usage: extract_check.py DIR EVENTS.ndjson [--expect FILE] [--samples]
Prints one "FAIL ..." line per problem (nothing when all is well):
  - every manifest record is valid against docs/extract-manifest.schema.json;
  - every object file exists inside DIR, has the manifest's size and SHA-256,
    and every attachment file has its SHA-256 as its name;
  - every message event of EVENTS matches a message record of the manifest;
  - --expect FILE: the SHA-256 of the whole complete messages are exactly the
    lines of FILE (in order);
  - --samples: every whole complete message is one the sample scripts seeded
    or appended (samples/clients/messages.py), byte for byte; and pairs of
    BODY[HEADER] and BODY[TEXT] of one message put together give one of them.
The last line printed is "messages N" (whole complete messages).
"""
import hashlib
import json
import os
import sys

import jsonschema


def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 16), b''):
            h.update(b)
    return h.hexdigest()


def seeded():
    sys.path.insert(0, 'samples/clients')
    import messages
    out = {}

    def add(name, b):
        for v in (b, b.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')):
            out[hashlib.sha256(v).hexdigest()] = name
    for user in ('alice', 'bob'):
        for folder, msgs in messages.mailbox_for(user):
            for i, (_, _, body) in enumerate(msgs):
                add('%s/%s/%d' % (user, folder, i + 1), body)
    add('appended', messages.APPENDED)
    return out


def main():
    d, events = sys.argv[1], sys.argv[2]
    fails = []
    schema = json.load(open('docs/extract-manifest.schema.json'))
    v = jsonschema.Draft7Validator(schema)
    recs = [json.loads(l) for l in open(os.path.join(d, 'manifest.ndjson'))]
    real = os.path.realpath(d)
    whole = []
    msgrec = {}
    parts = {}
    for r in recs:
        for e in v.iter_errors(r):
            fails.append('manifest %s: %s' % (r.get('path'), e.message))
        p = os.path.join(d, r['path'])
        if not os.path.realpath(p).startswith(real + os.sep):
            fails.append('outside DIR: ' + r['path'])
            continue
        if r['record'] == 'object':
            if not os.path.isfile(p) or os.path.getsize(p) != r['size'] or sha(p) != r['sha256']:
                fails.append('object file does not match its record: ' + r['path'])
            if r['whole_message'] and r['complete']:
                whole.append(r)
            if r['complete'] and r['section'] in ('BODY[HEADER]', 'BODY[TEXT]'):
                parts.setdefault((r['session'], r['msn']), {})[r['section']] = p
        else:
            msgrec[r['path']] = r
            for a in r['attachments']:
                f = os.path.join(d, a['file'])
                if not os.path.isfile(f) or sha(f) != a['sha256'] or \
                        os.path.basename(f) != a['sha256']:
                    fails.append('attachment file does not match: ' + a['file'])
    for r in whole:
        if r['path'] not in msgrec:
            fails.append('no message record for ' + r['path'])
    evs = [json.loads(l) for l in open(events)]
    evs = [e for e in evs if e['type'] == 'message']
    if len(evs) != len(whole):
        fails.append('%d message events for %d whole messages' % (len(evs), len(whole)))
    for e in evs:
        m = msgrec.get(e['path'])
        if m is None or any(e[k] != m[k] for k in m if k not in ('record',)):
            fails.append('message event differs from its record: ' + e['path'])
    if '--expect' in sys.argv:
        want = open(sys.argv[sys.argv.index('--expect') + 1]).read().split()
        got = [r['sha256'] for r in whole]
        if got != want:
            fails.append('whole messages %s, expected %s' % (got, want))
    if '--samples' in sys.argv:
        known = seeded()
        for r in whole:
            if r['sha256'] not in known:
                fails.append('extracted message is none the samples sent: ' + r['path'])
            else:
                print('message %s = %s' % (r['path'], known[r['sha256']]))
        for key, pr in parts.items():
            if len(pr) == 2:
                b = open(pr['BODY[HEADER]'], 'rb').read() + open(pr['BODY[TEXT]'], 'rb').read()
                if hashlib.sha256(b).hexdigest() not in known:
                    fails.append('BODY[HEADER] + BODY[TEXT] of %s is no sample message' % (key,))
                else:
                    print('header+text %s = %s' % (pr['BODY[HEADER]'], known[hashlib.sha256(b).hexdigest()]))
    for f in fails:
        print('FAIL ' + f)
    print('messages %d' % len(whole))


if __name__ == '__main__':
    main()
