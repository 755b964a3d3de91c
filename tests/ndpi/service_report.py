#!/usr/bin/env python3
"""Service report against nDPI.

Runs `mmtrun --flows` on every shared capture that has an nDPI expected-result file and,
for each flow nDPI names as `App.Service` with a service we ship (services.tsv maps
nDPI's service names to ours), checks the `service` column of our flow. Prints a table
per shipped service: the flows nDPI names with it, those where we agree, the share.

    tests/ndpi/service_report.py [--mmtrun PATH] [--pcaps DIR] [--list] [--min-share 0.8]

Exit 1 below --min-share (over all those flows), 77 when the captures are absent.
"""
import os
import re
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from ndpi_report import (ndpi_labels, our_flow_records, pairs_to_compare,  # noqa: E402
                         read_table, report_arguments, run_each)


def ndpi_services(result):
    """Flow key -> nDPI service name, for flows labelled `App.Service`."""
    return {key: label.split('.', 1)[1] for key, label in ndpi_labels(result) if '.' in label}


def our_services(mmtrun, capture):
    flows = {}
    for key, record in our_flow_records(mmtrun, capture):
        service = (record['service'], record['service_from'], record['server_name'])
        if service[0] or key not in flows:
            flows[key] = service
    return flows


def shipped_services():
    names = set()
    with open(os.path.join(ROOT, 'protocols.dsl', 'services.mmtp'), encoding='utf-8') as f:
        for line in f:
            m = re.match(r'service\s+(\w+)', line)
            if m:
                names.add(m.group(1))
    return names


def main():
    ap = report_arguments(__doc__)
    ap.add_argument('--min-share', type=float, default=0.0,
                    help='fail below this share of agreeing flows (0..1)')
    args = ap.parse_args()

    pairs = pairs_to_compare(args, 'service_report')
    if not pairs:
        return 77

    mapping = {n: o.split(',') for n, o in read_table(os.path.join(HERE, 'services.tsv'), 2)}
    shipped = shipped_services()
    for n, ours in mapping.items():
        for o in ours:
            if o not in shipped:
                sys.exit(f'services.tsv: error: {n} maps to {o}, which services.mmtp does not declare')

    def job(pair):
        theirs = ndpi_services(pair[1])
        if not any(s in mapping for s in theirs.values()):
            return pair, theirs, {}
        return pair, theirs, our_services(args.mmtrun, pair[0])

    results = run_each(job, pairs)

    per = defaultdict(lambda: [0, 0])  # our first service for the nDPI name -> [same, flows]
    for (capture, _), theirs, ours in results:
        cname = os.path.basename(capture)
        for key, service in sorted(theirs.items()):
            if service not in mapping:
                continue
            want = mapping[service]
            got, source, server = ours.get(key, ('(no flow)', '', ''))
            row = per[want[0]]
            row[1] += 1
            if got in want:
                row[0] += 1
            elif args.list:
                print(f'! {cname}\t{key}\t{service}\t{got or "(none)"}\t{source}\t{server}')

    same = sum(v[0] for v in per.values())
    total = sum(v[1] for v in per.values())
    print(f'{"service":<16} {"nDPI flows":>10} {"same":>6} {"share":>7}')
    for name, (s, t) in sorted(per.items(), key=lambda kv: (-kv[1][1], kv[0])):
        print(f'{name:<16} {t:>10} {s:>6} {100 * s / t:>6.1f}%')
    share = same / total if total else 0.0
    print(f'flows whose service we name as nDPI does: {same} of {total} ({100 * share:.1f}%)')
    if share < args.min_share:
        print(f'below the required share: {100 * args.min_share:.1f}%')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
