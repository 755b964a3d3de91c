#!/usr/bin/env python3
"""Turn a tool's Markdown manual (docs/mmtrun.md, docs/mmtc.md) into a man page.

    md2man.py DOC.md VERSION OUT.1

The Markdown subset the docs use: '#' titles ("# `tool` — what it does"), '##' and '###'
sections, paragraphs, '-' lists, fenced code, tables (the first column becomes the tag of
an indented paragraph), and inline `code`, **bold**, *italics* and [links](...).
"""
import re
import sys


def inline(text):
    """Markdown inline markup to roff, escaping what roff would read."""
    out = []
    pos = 0
    for m in re.finditer(r'`([^`]*)`|\*\*([^*]+)\*\*|\*([^*]+)\*|\[([^\]]+)\]\([^)]*\)', text):
        out.append(escape(text[pos:m.start()]))
        if m.group(1) is not None:
            out.append(r'\fB' + escape(m.group(1), code=True) + r'\fR')
        elif m.group(2) is not None:
            out.append(r'\fB' + escape(m.group(2)) + r'\fR')
        elif m.group(3) is not None:
            out.append(r'\fI' + escape(m.group(3)) + r'\fR')
        else:
            out.append(inline(m.group(4)))
        pos = m.end()
    out.append(escape(text[pos:]))
    return ''.join(out)


def escape(text, code=False):
    text = text.replace('\\', r'\e')
    text = text.replace('—', r'\(em').replace('−', r'\-')
    if code:
        text = text.replace('-', r'\-')
    return text


def line_safe(s):
    """A roff text line must not start with '.' or "'"."""
    return '\\&' + s if s[:1] in ('.', "'") else s


def cells(row):
    row = row.strip()
    if row.startswith('|'):
        row = row[1:]
    if row.endswith('|') and not row.endswith('\\|'):
        row = row[:-1]
    parts = re.split(r'(?<!\\)\|', row)
    return [p.strip().replace('\\|', '|') for p in parts]


def convert(md, version):
    lines = md.split('\n')
    out = []
    m = re.match(r'#\s+`?([\w-]+)`?\s+—\s+(.*)', lines[0])
    if not m:
        sys.exit('md2man: the first line must be "# `tool` — description"')
    name, what = m.group(1), m.group(2)
    out.append('.TH %s 1 "" "mmt-journey %s" "User Commands"' % (name.upper(), version))
    out.append('.SH NAME')
    out.append('%s \\- %s' % (name, inline(what)))
    i = 1
    in_table = False
    # Before the first '##': a code block is the synopsis, the text the description.
    intro = {'synopsis': False, 'description': False, 'over': False}

    def intro_section(which, heading):
        if not intro['over'] and not intro[which]:
            intro['synopsis'] = True
            intro[which] = True
            out.append('.SH ' + heading)

    while i < len(lines):
        line = lines[i]
        if line.startswith('```'):
            intro_section('synopsis', 'SYNOPSIS')
            out.append('.PP')
            out.append('.nf')
            i += 1
            while i < len(lines) and not lines[i].startswith('```'):
                out.append(line_safe(escape(lines[i], code=True)))
                i += 1
            out.append('.fi')
            out.append('.PP')
            i += 1
            in_table = False
            continue
        if line.startswith('|'):
            row = cells(line)
            if not in_table:
                in_table = True  # the header row names the columns: skip it
            elif not all(re.fullmatch(r':?-+:?', c) for c in row):
                out.append('.TP')
                out.append(line_safe(inline(row[0])))
                out.append(line_safe(inline(' \u2014 '.join(c for c in row[1:] if c))))
            i += 1
            continue
        in_table = False
        if line.startswith('### '):
            out.append('.SS ' + inline(line[4:].strip()))
        elif line.startswith('## '):
            intro['over'] = True
            out.append('.SH ' + inline(line[3:].strip()).upper())
        elif line.startswith('- '):
            out.append('.IP \\(bu 2')
            out.append(line_safe(inline(line[2:].strip())))
        elif line.strip() == '':
            out.append('.PP')
        else:
            # A paragraph: its lines together, so that markup may span them.
            intro_section('description', 'DESCRIPTION')
            para = [line.strip()]
            while i + 1 < len(lines) and lines[i + 1].strip() and \
                    not lines[i + 1].startswith(('#', '|', '- ', '```')):
                i += 1
                para.append(lines[i].strip())
            out.append(line_safe(inline(' '.join(para))))
        i += 1
    # No empty paragraphs: collapse runs of .PP and drop those next to a section heading.
    tidy = []
    for l in out:
        if l == '.PP' and tidy and (tidy[-1] == '.PP' or tidy[-1].startswith(('.SH', '.SS'))):
            continue
        if l.startswith(('.SH', '.SS', '.TP')) and tidy and tidy[-1] == '.PP':
            tidy.pop()
        tidy.append(l)
    while tidy and tidy[-1] == '.PP':
        tidy.pop()
    return '\n'.join(tidy) + '\n'


def main():
    if len(sys.argv) != 4:
        sys.exit('usage: md2man.py DOC.md VERSION OUT.1')
    with open(sys.argv[1], encoding='utf-8') as f:
        page = convert(f.read(), sys.argv[2])
    with open(sys.argv[3], 'w', encoding='utf-8') as f:
        f.write(page)


if __name__ == '__main__':
    main()
