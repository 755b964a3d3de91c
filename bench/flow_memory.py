#!/usr/bin/env python3
"""Bytes per tracked flow: the memory mmtrun takes for each flow it holds at once.

Writes captures of N packets that each start a flow of their own, all within a second (so
that none times out before the end of the input): UDP datagrams with 16 bytes of payload,
and TCP SYNs. Runs `mmtrun -r - --flows -q` on each, and on the same capture's first
packet, and prints the peak resident set of both and their difference divided by N:
what one more live flow costs (session, state, details, stream), reassembly buffers aside.
The capture comes through a pipe: a file read in place would count its pages (about 70
bytes a flow here) in the resident set.

Usage: python3 bench/flow_memory.py [--build build/release] [--flows 200000]
"""
import argparse
import os
import struct
import sys
import tempfile


def write_capture(path, n, tcp):
    """n packets from 10.x.y.z to 192.168.0.1, each a flow of its own, 1 microsecond apart."""
    eth = bytes.fromhex("001122334455" "66778899aabb" "0800")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            src = bytes([10, (i >> 16) & 255, (i >> 8) & 255, i & 255])
            dst = bytes([192, 168, 0, 1])
            sport = 1024 + i % 50000
            if tcp:
                l4 = struct.pack(">HHIIBBHHH", sport, 443, 1000, 0, 5 << 4, 0x02, 65535, 0, 0)
                proto = 6
            else:
                payload = b"x" * 16
                l4 = struct.pack(">HHHH", sport, 9999, 8 + len(payload), 0) + payload
                proto = 17
            ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), i & 0xFFFF, 0, 64, proto, 0,
                             src, dst)
            packet = eth + ip + l4
            ts = 1700000000 * 1000000 + i
            f.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(packet), len(packet)))
            f.write(packet)


def peak_rss_kib(cmd, capture):
    """Peak RSS of `cmd` reading `capture` from a pipe on its standard input."""
    # posix_spawn (glibc's clone with CLONE_VM): the child's peak does not count this
    # process's pages, as it would after a fork.
    null = os.open(os.devnull, os.O_WRONLY)
    read_end, write_end = os.pipe()
    pid = os.posix_spawn(cmd[0], cmd, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, read_end, 0),
                                       (os.POSIX_SPAWN_CLOSE, write_end),
                                       (os.POSIX_SPAWN_DUP2, null, 1),
                                       (os.POSIX_SPAWN_DUP2, null, 2)])
    os.close(null)
    os.close(read_end)
    with open(capture, "rb") as f, os.fdopen(write_end, "wb") as pipe:
        while chunk := f.read(1 << 20):
            pipe.write(chunk)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"flow_memory: {' '.join(cmd)} failed")
    return usage.ru_maxrss


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(root, "build", "release"))
    ap.add_argument("--flows", type=int, default=200000)
    a = ap.parse_args()
    mmtrun = os.path.join(a.build, "bin", "mmtrun")
    print(f"{'flows':<22}{'1 packet KiB':>14}{'all KiB':>12}{'bytes a flow':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, tcp in (("UDP", False), ("TCP (SYN only)", True)):
            big, one = os.path.join(tmp, "big.pcap"), os.path.join(tmp, "one.pcap")
            write_capture(big, a.flows, tcp)
            write_capture(one, 1, tcp)
            cmd = [mmtrun, "--flows", "-q", "--no-progress", "-r", "-"]
            peak_rss_kib(cmd, one)  # the compile cache, warm
            small = peak_rss_kib(cmd, one)
            large = peak_rss_kib(cmd, big)
            per_flow = (large - small) * 1024 / a.flows
            print(f"{f'{a.flows:,} {name}':<22}{small:>14,}{large:>12,}{per_flow:>14,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
