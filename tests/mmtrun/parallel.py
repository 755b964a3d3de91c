#!/usr/bin/env python3
"""--workers and --shard give the results of one plain run.

For each capture (the bundled demo capture, and every capture at the top of the shared
corpus when it is present), mmtrun runs once plainly, writing per-packet rows (frame
number, session id, path, addresses, ports), flow records and the summary; then with
--workers 2 and 3, and as the four shards of --shard K/4. It checks:
- workers (2 reading the file themselves, 2 and 3 handed packets by one reader): the rows
  are the same lines in the same order; the flow records are the same
  lines (sorted: workers end flows in another order); the summary is the same;
- shards: each packet's row is in exactly one shard's output, the same line; the four
  shards' flow records together are the plain run's; a shard with --workers 2 is the
  shard without;
- -w: the packets written with --workers 2 are the plain run's, byte for byte.

    parallel.py --mmtrun PATH --demo PCAP [--pcaps DIR]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

FIELDS = ['frame.number', 'frame.session', 'frame.path', 'ip.src', 'ip.dst', 'ipv6.src',
          'ipv6.dst', 'tcp.srcport', 'udp.dstport', 'dns.qname', 'tls.sni']


def run(mmtrun, capture, extra, tmp, write=True):
    """Rows, flow records and summary of one run, as lists of lines."""
    flows, stats = os.path.join(tmp, 'flows'), os.path.join(tmp, 'stats')
    cmd = [mmtrun, '-r', capture, '--no-progress', '--flows-file', flows, '--stats-file',
           stats]
    if write:
        cmd += ['-w', os.path.join(tmp, 'written'), '-F', 'pcapng']
    cmd += [a for f in FIELDS for a in ('-e', f)] + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):  # 1: a damaged capture, read to its end
        raise RuntimeError(f'{" ".join(cmd)}: exit {p.returncode}: {p.stderr.strip()}')
    with open(flows) as f, open(stats) as s:
        return p.stdout.splitlines(), f.read().splitlines(), s.read().splitlines(), p.returncode


def check(mmtrun, capture, problems):
    name = os.path.basename(capture)
    with tempfile.TemporaryDirectory() as tmp:
        rows, flows, stats, status = run(mmtrun, capture, [], tmp)
        with open(os.path.join(tmp, 'written'), 'rb') as w:
            written = w.read()
        # Without -w, workers over a pcap file read it themselves; with it, one thread
        # reads and hands packets out (as for pcapng files and pipes).
        for n, write in ((2, False), (2, True), (3, True)):
            r, f, s, st = run(mmtrun, capture, ['--workers', str(n)], tmp, write)
            if write:
                with open(os.path.join(tmp, 'written'), 'rb') as w:
                    if w.read() != written:
                        problems.append(f'{name}: --workers {n}: -w wrote other packets')
            if r != rows:
                diff = next((i for i, (a, b) in enumerate(zip(r, rows)) if a != b),
                            min(len(r), len(rows)))
                problems.append(f'{name}: --workers {n}: rows differ from line {diff + 1}')
            if sorted(f) != sorted(flows):
                problems.append(f'{name}: --workers {n}: flow records differ: '
                                f'{sorted(set(f) ^ set(flows))[:2]}')
            if s != stats:
                problems.append(f'{name}: --workers {n}: the summary differs')
            if st != status:
                problems.append(f'{name}: --workers {n}: exit {st}, not {status}')
        shard_rows, shard_flows = [], []
        for k in range(4):
            r, f, _, _ = run(mmtrun, capture, ['--shard', f'{k}/4'], tmp)
            shard_rows += r
            shard_flows += f
            if k == 1:
                r2, f2, _, _ = run(mmtrun, capture, ['--shard', '1/4', '--workers', '2'], tmp,
                                   False)
                if r2 != r or sorted(f2) != sorted(f):
                    problems.append(f'{name}: --shard 1/4 --workers 2 differs from --shard 1/4')
        by_frame = sorted(shard_rows, key=lambda line: int(line.split('\t')[0]))
        if by_frame != rows:
            problems.append(f'{name}: --shard K/4: the shards\' rows are not the plain run\'s')
        if sorted(shard_flows) != sorted(flows):
            problems.append(f'{name}: --shard K/4: flow records differ: '
                            f'{sorted(set(shard_flows) ^ set(flows))[:2]}')
    return len(rows), len(flows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mmtrun', required=True)
    ap.add_argument('--demo', required=True)
    ap.add_argument('--pcaps')
    a = ap.parse_args()
    captures = [a.demo]
    if a.pcaps and os.path.isdir(a.pcaps):
        captures += sorted(glob.glob(os.path.join(a.pcaps, '*.pcap*')) +
                           glob.glob(os.path.join(a.pcaps, '*.cap')))
        # Packet times that go backwards by hours, between flows that time out.
        captures += [c for c in [os.path.join(a.pcaps, 'ndpi', 'ipsec_isakmp_esp.pcap')]
                     if os.path.exists(c)]
    problems, packets, flows = [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        # The demo capture cut inside its last record: every run reads the same packets and
        # ends with the same error (exit 1).
        with open(a.demo, 'rb') as f:
            demo = f.read()
        cut = os.path.join(tmp, 'cut.pcap')
        with open(cut, 'wb') as f:
            f.write(demo[:-30])
        for c in captures + [cut]:
            p, f = check(a.mmtrun, c, problems)
            packets += p
            flows += f
    for p in problems:
        print(p)
    print(f'{len(captures) + 1} captures, {packets} packets, {flows} flows: '
          f'{len(problems)} differences')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
