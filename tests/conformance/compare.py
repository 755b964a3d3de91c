#!/usr/bin/env python3
"""Compare mmtrun's attributes with tshark's fields, packet by packet.

    compare.py [--mmtrun PATH] [--spec PATH]... [--only PREFIX]... [--frames LIST] [--show N] CAPTURE...

The pairs come from tshark-pairs.tsv beside this script (our attribute, tshark field,
kind). --only keeps the pairs whose attribute starts with PREFIX (e.g. --only mqtt.);
--frames cuts the frames to compare (1-based, "1-20,31"). A cell is one attribute of
one packet; it agrees when both print the same set of values after normalisation, or
neither prints anything. Prints agreement per attribute and the first disagreements.
"""
import argparse
import csv
import io
import ipaddress
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'protocols'))
import golden  # noqa: E402  (pcap cutting)


def pairs(only):
    out = []
    with open(os.path.join(HERE, 'tshark-pairs.tsv'), encoding='utf-8') as f:
        for line in f:
            if line.strip() and not line.startswith('#'):
                ours, theirs, kind, *scope = line.rstrip('\n').split('\t')
                if not only or any(ours.startswith(p) for p in only):
                    out.append((ours, theirs, kind, scope == ['ours-only']))
    return out


def norm(v, kind):
    v = v.strip()
    if not v:
        return None
    try:
        if kind == 'int':
            return str(int(v, 10 if v.isdigit() else 0))  # "006127" is decimal
        if kind == 'ip':
            return str(ipaddress.ip_address(v))
        if kind == 'mac':
            return v.lower().replace('-', ':')
        if kind == 'bytes':  # hex with or without separators
            return v.lower().replace(':', '')
    except ValueError:
        return v
    return v


def cell(text, kind):
    return frozenset(x for x in (norm(p, kind) for p in text.split(',')) if x is not None)


def compare(mmtrun, capture, table, show, specs=(), skip=frozenset(), tshark_args=()):
    # tshark prints a field asked twice once: ask each once, and read each pair's column.
    fields = list(dict.fromkeys(p[1] for p in table))
    tcol = [fields.index(p[1]) for p in table]
    t = subprocess.run(['tshark', '-r', capture] + list(tshark_args) + ['-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a',
                        '-E', 'aggregator=,'] + sum([['-e', f] for f in fields], []),
                       capture_output=True, text=True, errors='replace', check=False)
    m = subprocess.run([mmtrun, '-r', capture, '-T', 'csv', '--no-progress'] + sum([['-p', x] for x in specs], []) + sum([['-e', p[0]] for p in table], []),
                       capture_output=True, text=True, errors='replace', check=False)
    if m.returncode > 1:
        sys.exit(f'compare: error: mmtrun: {m.stderr.strip()}')
    trows = [line.split('\t') for line in t.stdout.splitlines()]
    mrows = list(csv.reader(io.StringIO(m.stdout)))[1:]
    score = {p[0]: [0, 0] for p in table}
    shown = 0
    for i, tr in enumerate(trows):
        if i + 1 in skip:
            continue
        mr = mrows[i] if i < len(mrows) else []
        for j, (ours, theirs, kind, ours_only) in enumerate(table):
            a = cell(tr[tcol[j]] if tcol[j] < len(tr) else '', kind)
            b = cell(mr[j] if j < len(mr) else '', kind)
            if not a and not b or ours_only and not b:
                continue
            score[ours][1] += 1
            if a == b:
                score[ours][0] += 1
            elif shown < show:
                shown += 1
                print(f'  {os.path.basename(capture)} frame {i + 1} {ours}: tshark {sorted(a)} mmtrun {sorted(b)}')
    return score


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mmtrun', default=os.path.join(ROOT, 'build/release/bin/mmtrun'))
    ap.add_argument('--only', action='append', default=[])
    ap.add_argument('--spec', action='append', default=[], help='more specs for mmtrun (-p)')
    ap.add_argument('--frames', default='')
    ap.add_argument('--show', type=int, default=10)
    ap.add_argument('captures', nargs='+')
    a = ap.parse_args()
    table = pairs(a.only)
    if not table:
        sys.exit('compare: error: no attribute pairs selected')
    total = {p[0]: [0, 0] for p in table}
    for capture in a.captures:
        if a.frames:
            with tempfile.TemporaryDirectory() as tmp:
                small = os.path.join(tmp, 'cut.pcap')
                golden.cut(capture, golden.parse_frames(a.frames), small)
                score = compare(a.mmtrun, small, table, a.show, a.spec)
        else:
            score = compare(a.mmtrun, capture, table, a.show, a.spec)
        for k, (s, n) in score.items():
            total[k][0] += s
            total[k][1] += n
    agree = sum(v[0] for v in total.values())
    cells = sum(v[1] for v in total.values())
    for k, (s, n) in total.items():
        print(f'{k:<40} {s:>6} / {n:<6}')
    print(f'overall {agree} / {cells}' + (f' ({100 * agree / cells:.2f}%)' if cells else ''))
    return 0 if cells == 0 or agree == cells else 1


if __name__ == '__main__':
    sys.exit(main())
