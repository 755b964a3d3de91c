#!/usr/bin/env python3
"""Per-protocol golden tests.

Each folder tests/protocols/NAME/ holds:

  source     where the packets come from, one directive a line:
               capture REL-PATH    a capture under the shared corpus (../shared/pcaps)
               build NAME          or a capture the test suite builds (fixtures.cpp)
               frames  1-20,31,40-45
                                   the frames to cut from it (1-based; all when absent)
               args    ARG...      the mmtrun options for the per-packet table
                                   (e.g. -e mqtt.msg_type -e mqtt.topic)
               tshark-args ARG...  options for tshark (e.g. -d udp.port==2057,cflow to
                                   decode a port tshark does not know)
               tshark-skip 7,9     frames of the cut capture left out of the comparison
                                   with tshark (say why in a comment: e.g. a variant
                                   tshark does not decode)
  expected   what mmtrun prints on the cut capture: the per-packet table (CSV) and the
             flow records (CSV), as this driver formats them

The capture is cut at run time into a temporary pcap file; third-party captures never
enter the repository. When the corpus is absent the test is skipped (exit 77).

    golden.py [--mmtrun PATH] [--pcaps DIR] [--update] DIR...

MMT_UPDATE_GOLDEN=1 (or --update) rewrites the expected files.
"""
import argparse
import os
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP = 77


def parse_frames(text):
    frames = set()
    for part in text.replace(' ', '').split(','):
        if not part:
            continue
        if '-' in part:
            lo, hi = part.split('-', 1)
            frames.update(range(int(lo), int(hi) + 1))
        else:
            frames.add(int(part))
    return frames


def read_packets(path):
    """Yields (linktype, ts_sec, ts_usec, caplen_bytes, orig_len) from pcap or pcapng."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\xa1\xb2\xc3\xd4', b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d'):
        e = '<' if magic[0] in (0xd4, 0x4d) else '>'
        nano = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
        linktype = struct.unpack(e + 'I', data[20:24])[0] & 0x0fffffff
        off = 24
        while off + 16 <= len(data):
            sec, frac, incl, orig = struct.unpack(e + 'IIII', data[off:off + 16])
            off += 16
            if off + incl > len(data):
                break
            yield linktype, sec, frac // 1000 if nano else frac, data[off:off + incl], orig
            off += incl
        return
    if magic != b'\x0a\x0d\x0d\x0a':
        raise SystemExit(f'golden: error: {path}: not a pcap or pcapng file')
    off, e, ifaces = 0, '<', []
    while off + 12 <= len(data):
        btype = struct.unpack(e + 'I', data[off:off + 4])[0]
        if btype == 0x0a0d0d0a:
            e = '<' if data[off + 8:off + 12] == b'\x4d\x3c\x2b\x1a' else '>'
            ifaces = []
        blen = struct.unpack(e + 'I', data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1:  # interface description
            linktype = struct.unpack(e + 'H', body[0:2])[0]
            res = 6  # microseconds unless if_tsresol says otherwise
            o = 8
            while o + 4 <= len(body):
                code, olen = struct.unpack(e + 'HH', body[o:o + 4])
                if code == 0:
                    break
                if code == 9 and olen >= 1:
                    res = body[o + 4]
                o += 4 + ((olen + 3) & ~3)
            ifaces.append((linktype, res))
        elif btype in (6, 3) and ifaces:
            if btype == 6:
                iface, hi, lo, incl, orig = struct.unpack(e + 'IIIII', body[:20])
                pkt = body[20:20 + incl]
            else:
                iface, hi, lo, orig = 0, 0, 0, struct.unpack(e + 'I', body[:4])[0]
                pkt = body[4:4 + min(orig, len(body) - 4)]
            linktype, res = ifaces[iface] if iface < len(ifaces) else ifaces[0]
            ts = (hi << 32) | lo
            if res & 0x80:
                units = 2 ** (res & 0x7f)
            else:
                units = 10 ** res
            sec, frac = divmod(ts, units)
            yield linktype, sec, frac * 1000000 // units, pkt, orig
        off += blen


def cut(capture, frames, out):
    packets = [p for n, p in enumerate(read_packets(capture), 1) if not frames or n in frames]
    if not packets:
        raise SystemExit(f'golden: error: {capture}: no frame selected')
    linktype = packets[0][0]
    with open(out, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, linktype))
        for lt, sec, usec, pkt, orig in packets:
            if lt != linktype:
                continue  # one link type per pcap file: the first packet's
            f.write(struct.pack('<IIII', sec, usec, len(pkt), orig))
            f.write(pkt)


def run(mmtrun, capture, args):
    cmd = [mmtrun, '-r', capture, '--no-progress'] + args
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if r.returncode not in (0, 1):
        raise SystemExit(f'golden: error: {shlex.join(cmd)} exited {r.returncode}: '
                         f'{r.stderr.decode(errors="replace").strip()}')
    return r.stdout.decode('utf-8', 'replace')


def tshark_agrees(mmtrun, capture, args, folder, skip=frozenset(), tshark_args=()):
    """The attributes of `args` that have a tshark counterpart agree with tshark on every
    packet (tests/conformance/tshark-pairs.tsv). Without tshark, nothing to compare."""
    if not shutil.which('tshark'):
        return True
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'conformance'))
    import compare
    asked = {args[i + 1] for i in range(len(args) - 1) if args[i] == '-e'}
    table = [p for p in compare.pairs([]) if p[0] in asked]
    if not table:
        return True
    bad = [(k, s, n) for k, (s, n) in compare.compare(mmtrun, capture, table, 20, skip=skip, tshark_args=tshark_args).items() if s != n]
    for k, s, n in bad:
        print(f'golden: {folder}: {k} agrees with tshark on {s} of {n} packets')
    return not bad


def one(mmtrun, pcaps, fixtures, folder, update):
    src = {}
    with open(os.path.join(folder, 'source'), encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                key, _, value = line.partition(' ')
                src[key] = value.strip()
    if 'build' in src:
        capture = os.path.join(fixtures, src['build'] + '.pcap')
        if not os.path.exists(capture):
            print(f'golden: error: {capture} is missing (run protocol_fixtures {fixtures})')
            return 1
    else:
        capture = os.path.join(pcaps, src['capture'])
    if 'capture' in src and not os.path.exists(capture):
        print(f'skipped: {capture} is absent (the shared corpus is not part of a clone)')
        return SKIP
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, 'cut.pcap')
        cut(capture, parse_frames(src.get('frames', '')), small)
        args = shlex.split(src.get('args', ''))
        text = '# packets\n' + run(mmtrun, small, ['-T', 'csv', '-e', 'frame.number', '-e', 'frame.path'] + args)
        text += '# flows\n' + run(mmtrun, small, ['--flows', '-q', '-T', 'csv'])
        if not tshark_agrees(mmtrun, small, args, folder, parse_frames(src.get('tshark-skip', '')),
                             shlex.split(src.get('tshark-args', ''))):
            return 1
    expected = os.path.join(folder, 'expected')
    if update:
        with open(expected, 'w', encoding='utf-8') as f:
            f.write(text)
        print(f'wrote {expected}')
        return 0
    try:
        with open(expected, encoding='utf-8') as f:
            want = f.read()
    except FileNotFoundError:
        print(f'golden: error: {expected} is missing (MMT_UPDATE_GOLDEN=1 writes it)')
        return 1
    if want == text:
        return 0
    import difflib
    sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                               expected, 'mmtrun'))
    print(f'golden: {folder}: output differs (MMT_UPDATE_GOLDEN=1 rewrites it)')
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mmtrun', default=os.path.join(ROOT, 'build/release/bin/mmtrun'))
    ap.add_argument('--pcaps', default=os.path.join(ROOT, '..', 'shared', 'pcaps'))
    ap.add_argument('--fixtures', default=os.path.join(ROOT, 'build/release/tests/protocol-fixtures'),
                    help='where protocol_fixtures wrote the captures it builds')
    ap.add_argument('--update', action='store_true')
    ap.add_argument('folders', nargs='+')
    a = ap.parse_args()
    update = a.update or os.environ.get('MMT_UPDATE_GOLDEN') == '1'
    status = [one(a.mmtrun, a.pcaps, a.fixtures, os.path.abspath(d), update) for d in a.folders]
    if any(s == 1 for s in status):
        return 1
    return SKIP if all(s == SKIP for s in status) else 0


if __name__ == '__main__':
    sys.exit(main())
