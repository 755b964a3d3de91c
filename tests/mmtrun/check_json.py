#!/usr/bin/env python3
"""Every JSON line mmtrun writes parses, and every key has one type across a run.

Runs mmtrun on a few shared captures in every JSON output mode: per-packet rows with every
attribute (all occurrences, then the first only), flow records and the protocol summary
(each in its own file beside the rows, and alone on standard output). In each stream every
line must be a JSON object with the same keys as the first, and each key must hold one JSON
type on every line (null stands for an absent value and goes with any type).

    check_json.py --mmtrun PATH --pcaps DIR
Exit status 77 (skipped) when the captures are absent.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from capture_args import mmtrun_and_captures  # noqa: E402

CAPTURES = ['chrome.pcap', '6in4tunnel.pcap', 'dns_fragmented.pcap', 'QinQ_802.1_AD.pcapng',
            'smtp-starttls.pcap', 'vxlan.pcap', 'http_ua_splitted_in_two_pkts.pcapng',
            'badpackets.pcap']


def json_type(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return 'boolean'
    if isinstance(v, (int, float)):
        return 'number'
    if isinstance(v, str):
        return 'string'
    if isinstance(v, list):
        inner = {json_type(x) for x in v}
        if len(inner) > 1 or None in inner:
            return 'mixed array ' + '/'.join(sorted(str(t) for t in inner))
        return 'array of ' + (inner.pop() if inner else '?')
    return 'object'


def check_stream(what, text, problems):
    """Returns the number of lines; appends what is wrong to problems."""
    keys, types, n = None, {}, 0
    for number, line in enumerate(text.splitlines(), 1):
        n += 1
        try:
            obj = json.loads(line)
        except ValueError as e:
            problems.append(f'{what}:{number}: not JSON ({e}): {line[:120]}')
            continue
        if not isinstance(obj, dict):
            problems.append(f'{what}:{number}: not an object')
            continue
        if keys is None:
            keys = list(obj)
        elif list(obj) != keys:
            problems.append(f'{what}:{number}: keys differ from the first line\'s')
        for k, v in obj.items():
            t = json_type(v)
            if t is None:
                continue
            # An empty array agrees with any array.
            seen = types.setdefault(k, set())
            seen.add(t)
            arrays = {x for x in seen if x != 'array of ?'}
            if len(arrays) > 1 or any(x.startswith('mixed') for x in arrays):
                problems.append(f'{what}:{number}: "{k}" has types {sorted(arrays)}')
                seen.clear()
                seen.add(t)
    return n


def main():
    a, captures = mmtrun_and_captures(CAPTURES)
    if not captures:
        print(f'skipped: no captures in {a.pcaps}')
        return 77
    names = subprocess.run([a.mmtrun, '-L'], stdout=subprocess.PIPE, check=True,
                           text=True).stdout.split()
    every = sum((['-e', n] for n in names), [])
    problems, lines = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        flows_file, stats_file = os.path.join(tmp, 'flows'), os.path.join(tmp, 'stats')
        for cap in captures:
            base = os.path.basename(cap)
            modes = [
                ('rows', every + ['--flows-file', flows_file, '--stats-file', stats_file]),
                ('rows first', every + ['-E', 'occurrence=f']),
                ('flows', ['-q', '--flows']),
                ('stats', ['-q', '--stats']),
            ]
            for mode, args in modes:
                for f in (flows_file, stats_file):
                    if os.path.exists(f):
                        os.unlink(f)
                r = subprocess.run([a.mmtrun, '-r', cap, '-T', 'json', '--no-progress'] + args,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   errors='strict')
                if r.returncode > 1:
                    problems.append(f'{base} {mode}: exit status {r.returncode}: {r.stderr}')
                    continue
                n = check_stream(f'{base} {mode}', r.stdout, problems)
                if n == 0 and mode != 'flows':  # a capture may have no flow
                    problems.append(f'{base} {mode}: no output')
                lines += n
                for f, label in ((flows_file, 'flows file'), (stats_file, 'stats file')):
                    if os.path.exists(f):
                        with open(f, encoding='utf-8') as fh:
                            text = fh.read()
                        if not text and label == 'stats file':
                            problems.append(f'{base} {mode}: empty {label}')
                        lines += check_stream(f'{base} {mode} {label}', text, problems)
    for p in problems[:50]:
        print(p)
    print(f'{lines} JSON lines from {len(captures)} captures, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
