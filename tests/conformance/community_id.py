#!/usr/bin/env python3
"""The Community IDs of mmtrun's flow records equal tshark's (its communityid protocol).

For a few shared captures (over 150 flows: TCP, UDP, SCTP and ICMP, IPv4 and IPv6), every
Community ID mmtrun gives a flow must be one that tshark computes for a packet of the
capture, and at least 100 flows must be compared in all. tshark hashes the innermost
tuple of a packet, so the outer flows of tunnels (GRE, GTP-U, VXLAN...) are not in
these captures. Exit status 77 (skipped) without the captures or tshark.

    community_id.py --mmtrun PATH --pcaps DIR
"""
import csv
import io
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
from capture_args import mmtrun_and_captures  # noqa: E402


CAPTURES = ['badpackets.pcap', 'iphone.pcap', 'dns_fragmented.pcap', 'pcapng-example.pcapng',
            'chrome.pcap', 'sctp.cap', '6in4tunnel.pcap', 'IcmpPackets.pcap']


def main():
    a, captures = mmtrun_and_captures(CAPTURES)
    if not captures or not shutil.which('tshark'):
        print(f'skipped: needs captures in {a.pcaps} and tshark')
        return 77
    compared, problems = 0, []
    for cap in captures:
        r = subprocess.run([a.mmtrun, '-r', cap, '--flows', '-q', '-T', 'csv', '--no-progress'],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ours = {}
        for row in csv.DictReader(io.StringIO(r.stdout)):
            if row.get('community_id'):
                ours[row['community_id']] = row
        if not ours:
            continue
        t = subprocess.run(['tshark', '-r', cap, '--enable-protocol', 'communityid', '-T',
                            'fields', '-e', 'communityid'],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        theirs = set()
        for line in t.stdout.splitlines():
            theirs.update(x for x in line.split(',') if x)
        for cid, row in ours.items():
            compared += 1
            if cid not in theirs:
                problems.append(f'{os.path.basename(cap)}: flow {row["flow"]} {row["transport"]} '
                                f'{row["src"]}:{row["src_port"]} -> {row["dst"]}:{row["dst_port"]}: '
                                f'{cid} is not among tshark\'s')
    for p in problems[:30]:
        print(p)
    print(f'{compared} flows compared, {len(problems)} differ')
    if compared < 100:
        print('fewer than 100 flows compared')
        return 1
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
