#!/usr/bin/env python3
"""Classification report against nDPI.

Runs `mmtrun --flows` on every shared capture that has an nDPI expected-result file,
matches each flow nDPI labels with ours by transport and address/port pair, and prints,
per nDPI protocol, how many of its flows we label the same.

    tests/ndpi/ndpi_report.py [--mmtrun PATH] [--pcaps DIR] [--captures GLOB] [--spec PATH]... [--list] [--check]

names.tsv maps nDPI's master protocol names to ours where they differ (the default is
the lower-case nDPI name). known-differences.tsv lists the reviewed disagreements, each
with a reason; with --check an unlisted disagreement fails (exit 1), and so does a
listed one that no longer happens, so the file stays true. Exit 77 when the captures
are absent.
"""
import argparse
import csv
import fnmatch
import ipaddress
import io
import os
import re
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FLOW = re.compile(r'^\s+\d+\s+(\S+)\s+(\S+) (?:<->|->) (\S+) .*?\[proto: [\d.]+/([^\]]+)\]')


def read_table(path, columns):
    rows = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line.strip() or line.startswith('#'):
                continue
            cells = line.split('\t')
            if len(cells) != columns:
                sys.exit(f'{path}:{n}: error: expected {columns} tab-separated columns, found {len(cells)}')
            rows.append(cells)
    return rows


def endpoint_key(transport, a, b):
    # Flows over other IP protocols (ICMP, IGMP, ESP...) meet by addresses: the two tools
    # name those protocols differently.
    t = transport.lower()
    if t not in ('tcp', 'udp', 'sctp'):
        t = 'ip'
    a, b = sorted([canonical(a), canonical(b)])
    return f'{t}|{a}|{b}'


def canonical(ep):
    """`[v6]:port` or `v4:port` with the address in one spelling: nDPI shortens a single
    zero group of an IPv6 address with `::`, we do not (RFC 5952)."""
    addr, _, port = ep.rpartition(':')
    try:
        ip = ipaddress.ip_address(addr.strip('[]'))
    except ValueError:
        return ep
    return f'[{ip}]:{port}' if ip.version == 6 else f'{ip}:{port}'


def endpoint(addr, port):
    port = port or '0'
    return f'[{addr}]:{port}' if ':' in addr else f'{addr}:{port}'


def ndpi_labels(result):
    """(flow key, nDPI's label: `Master` or `Master.Service`) of every flow of a result file."""
    with open(result, errors='replace') as f:
        for line in f:
            m = FLOW.match(line)
            if m:
                transport, a, b, label = m.groups()
                yield endpoint_key(transport, a, b), label


def ndpi_flows(result):
    flows = {}
    for key, label in ndpi_labels(result):
        master = label.split('.')[0]
        if master != 'Unknown':
            flows[key] = master
    return flows


def result_pairs(pcaps, pattern='*'):
    """(capture, nDPI result file) for every shared capture with an nDPI result whose name
    matches the glob `pattern`."""
    pairs = []
    for sub in ('ndpi-results', os.path.join('ndpi', 'results')):
        rdir = os.path.join(pcaps, sub)
        if not os.path.isdir(rdir):
            continue
        cdir = os.path.dirname(rdir) if sub != 'ndpi-results' else pcaps
        for name in sorted(os.listdir(rdir)):
            capture = os.path.join(cdir, name[:-4])
            if name.endswith('.out') and os.path.exists(capture) and fnmatch.fnmatch(name[:-4], pattern):
                pairs.append((capture, os.path.join(rdir, name)))
    return pairs


def our_flow_records(mmtrun, capture, specs=()):
    """Our flow records of a capture: (endpoint key, the record's fields by name)."""
    r = subprocess.run([mmtrun, '-r', capture] + sum([['-p', x] for x in specs], []) +
                       ['--flows', '-q', '-T', 'csv', '--no-progress'],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    rows = csv.reader(io.StringIO(r.stdout.decode('utf-8', 'replace')))
    header = next(rows, None)
    if not header:
        return
    for row in rows:
        if len(row) < len(header):
            continue
        record = dict(zip(header, row))
        key = endpoint_key(record['transport'], endpoint(record['src'], record['src_port']),
                           endpoint(record['dst'], record['dst_port']))
        yield key, record


def our_flows(mmtrun, capture, specs=()):
    flows = {}
    for key, record in our_flow_records(mmtrun, capture, specs):
        app = record['application']
        # Several of our flows may meet one nDPI flow (a flow that timed out and came
        # back): keep a label if any of them has one.
        if app or key not in flows:
            flows[key] = app
    return flows


def report_arguments(doc):
    """The options both reports take: where mmtrun and the captures are, and --list."""
    ap = argparse.ArgumentParser(description=doc.split('\n\n')[0])
    ap.add_argument('--mmtrun', default=os.path.join(ROOT, 'build/release/bin/mmtrun'))
    ap.add_argument('--pcaps', default=os.path.join(ROOT, '..', 'shared', 'pcaps'))
    ap.add_argument('--list', action='store_true', help='print every disagreement')
    return ap


def pairs_to_compare(args, prog, pattern='*'):
    """The (capture, nDPI result) pairs under --pcaps, or None (said) when there are none;
    exits when mmtrun has not been built."""
    pairs = result_pairs(args.pcaps, pattern)
    if not pairs:
        print(f'skipped: no nDPI results under {args.pcaps}')
        return None
    if not os.access(args.mmtrun, os.X_OK):
        sys.exit(f'{prog}: error: {args.mmtrun} is not an executable (build first)')
    return pairs


def run_each(job, pairs):
    """job(pair) for every pair, on as many threads as there are processors (each job
    waits on an mmtrun)."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(job, pairs))


def main():
    ap = report_arguments(__doc__)
    ap.add_argument('--captures', default='*', help='only the captures whose name matches this glob')
    ap.add_argument('--spec', action='append', default=[], help='more specs for mmtrun (-p)')
    ap.add_argument('--check', action='store_true',
                    help='fail on disagreements not listed in known-differences.tsv')
    ap.add_argument('--min-flows', type=float, default=0.0, help='fail below this share of flows (0..1)')
    ap.add_argument('--min-protocols', type=int, default=0, help='fail below this many protocols matched')
    args = ap.parse_args()

    pairs = pairs_to_compare(args, 'ndpi_report', args.captures)
    if not pairs:
        return 77

    names = {n: set(o.split(',')) for n, o in read_table(os.path.join(HERE, 'names.tsv'), 2)}
    known = read_table(os.path.join(HERE, 'known-differences.tsv'), 4)
    used = [0] * len(known)

    def job(pair):
        return pair, ndpi_flows(pair[1]), our_flows(args.mmtrun, pair[0], args.spec)

    results = run_each(job, pairs)

    per = defaultdict(lambda: [0, 0])
    unlisted = []
    for (capture, _), theirs, ours in results:
        cname = os.path.basename(capture)
        for key, master in sorted(theirs.items()):
            want = names.get(master, {master.lower()})
            got = ours.get(key)
            per[master][1] += 1
            if got is not None and got in want:
                per[master][0] += 1
                continue
            shown = '(no flow)' if got is None else (got or '(none)')
            line = f'{cname}\t{key}\t{master}\t{shown}'
            listed = False
            for i, (cglob, nglob, oglob, _) in enumerate(known):
                if fnmatch.fnmatchcase(cname, cglob) and fnmatch.fnmatchcase(master, nglob) \
                        and fnmatch.fnmatchcase(shown, oglob):
                    used[i] += 1
                    listed = True
                    break
            if not listed:
                unlisted.append(line)
            if args.list:
                print(('  ' if listed else '! ') + line)

    same = sum(v[0] for v in per.values())
    total = sum(v[1] for v in per.values())
    matched = sum(1 for v in per.values() if v[0] > 0)
    print(f'{"nDPI protocol":<28} {"same":>6} {"flows":>6}')
    for master, (s, t) in sorted(per.items(), key=lambda kv: (-kv[1][1], kv[0])):
        print(f'{master:<28} {s:>6} {t:>6}')
    share = same / total if total else 0.0
    print(f'flows labelled as nDPI labels them: {same} of {total} ({100 * share:.1f}%)')
    print(f'nDPI protocols matched on at least one flow: {matched} of {len(per)}')

    status = 0
    if args.check:
        for line in unlisted:
            print(f'unlisted disagreement: {line}')
        for i, row in enumerate(known):
            if used[i] == 0:
                print(f'known-differences.tsv: no longer happens: {chr(9).join(row[:3])}')
        if unlisted or not all(used):
            status = 1
    if share < args.min_flows:
        print(f'below the required share of flows: {100 * args.min_flows:.1f}%')
        status = 1
    if matched < args.min_protocols:
        print(f'below the required number of protocols: {args.min_protocols}')
        status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
