"""The command line of the scripts that check mmtrun on a list of the shared captures."""
import argparse
import os


def mmtrun_and_captures(names):
    """Parses `--mmtrun PATH --pcaps DIR`; returns the arguments and the paths of those
    captures among `names` that DIR holds (the corpus may lack some)."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--mmtrun', required=True)
    ap.add_argument('--pcaps', required=True)
    a = ap.parse_args()
    return a, [os.path.join(a.pcaps, c) for c in names if os.path.exists(os.path.join(a.pcaps, c))]
