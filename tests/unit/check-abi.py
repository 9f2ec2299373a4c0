#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The symbols libfirezone-client-1.so.0 exports are exactly those its version script
lists (both ways), each in the version node the script puts it in, and every function
declared FZ_CLIENT_EXPORT in the public headers is among them.

usage: check-abi.py LIBRARY MAP HEADER..."""

import re
import subprocess
import sys


def map_symbols(path):
    text = re.sub(r'/\*.*?\*/', '', open(path).read(), flags=re.S)
    nodes = {}
    for node, body in re.findall(r'([\w.]+)\s*\{(.*?)\}\s*[\w.]*\s*;', text, flags=re.S):
        glob = re.search(r'global:(.*?)(?:local:|$)', body, flags=re.S)
        for sym in re.findall(r'([A-Za-z_]\w*)\s*;', glob.group(1) if glob else ''):
            nodes[sym] = node
    return nodes


def exported(lib):
    out = subprocess.run(['nm', '-D', '--defined-only', '--with-symbol-versions', lib], check=True,
                         capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] == 'A':  # 'A': a version node's own definition
            continue
        name = parts[2]
        sym, _, version = name.partition('@')
        version = version.lstrip('@')
        syms[sym] = version
    return syms


def header_functions(headers):
    names = set()
    for h in headers:
        text = re.sub(r'^#.*$', '', open(h).read(), flags=re.M)
        for m in re.finditer(r'FZ_CLIENT_EXPORT\s+([^;]*?)\(', text):
            decl = m.group(1)
            if 'G_DECLARE_' in decl:
                continue
            names.add(re.findall(r'(\w+)\s*$', decl)[0])
        for m in re.finditer(r'FZ_CLIENT_EXPORT\s+G_DECLARE_\w+\(\s*\w+\s*,\s*(\w+)', text):
            names.add(m.group(1) + '_get_type')
    return names


def main():
    lib, mapfile, headers = sys.argv[1], sys.argv[2], sys.argv[3:]
    listed = map_symbols(mapfile)
    have = exported(lib)
    declared = header_functions(headers)
    problems = []
    for s in sorted(set(have) - set(listed)):
        problems.append(f'exported but not in the map: {s}')
    for s in sorted(set(listed) - set(have)):
        problems.append(f'in the map but not exported: {s}')
    for s in sorted(set(listed) & set(have)):
        if have[s] != listed[s]:
            problems.append(f'{s} is exported as version {have[s]}, the map says {listed[s]}')
    for s in sorted(declared - set(have)):
        problems.append(f'declared FZ_CLIENT_EXPORT in a header but not exported: {s}')
    for p in problems:
        print(p)
    print(f'{len(have)} symbols exported, {len(listed)} in the map, {len(declared)} declared in headers')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
