#!/usr/bin/env python3
"""Every spec file of the built-in library has its golden test: protocols.dsl/NAME.mmtp
needs tests/protocols/NAME/source (a family of protocols in one file shares one test)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPECS = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'protocols.dsl')

missing = [f[:-5] for f in sorted(os.listdir(SPECS))
           if f.endswith('.mmtp') and not os.path.exists(os.path.join(HERE, f[:-5], 'source'))]
for name in missing:
    print(f'protocols.dsl/{name}.mmtp: no golden test (tests/protocols/{name}/source)')
sys.exit(1 if missing else 0)
