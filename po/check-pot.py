#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks of firezone-gui's translation catalogue.

  check-pot.py SOURCE_ROOT POTFILES.in firezone-gui.pot
      The POT is current: extracting the strings from the files POTFILES.in lists gives
      exactly the messages (context, singular, plural) of the committed POT. Locations
      and comments may differ; a string added, changed or removed in the sources may not.
  check-pot.py --po SOURCE_ROOT LINGUAS
      Every language LINGUAS lists has a .po that msgfmt --check accepts, for the current
      POT's messages only (msgmerge would have dropped the others)."""

import os
import subprocess
import sys
import tempfile

KEYWORDS = ['--keyword=_', '--keyword=N_', '--keyword=C_:1c,2', '--keyword=NC_:1c,2', '--keyword=g_dngettext:2,3',
            '--keyword=ngettext:1,2']


def unquote(s):
    s = s.strip()
    assert s.startswith('"') and s.endswith('"'), s
    return bytes(s[1:-1], 'utf-8').decode('unicode_escape').encode('latin-1').decode('utf-8')


def messages(path):
    """{(msgctxt, msgid, msgid_plural): [msgstr…]} of a PO/POT file, header excluded."""
    out = {}
    entry, field = {}, None

    def flush():
        if 'msgid' in entry and entry['msgid'] != '' and not entry.get('obsolete'):
            out[(entry.get('msgctxt'), entry['msgid'], entry.get('msgid_plural'))] = entry.get('msgstr', [])
        entry.clear()

    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\n')
            if not line.strip():
                flush()
                field = None
                continue
            if line.startswith('#~'):
                entry['obsolete'] = True
                continue
            if line.startswith('#'):
                continue
            key, _, rest = line.partition(' ')
            if key in ('msgctxt', 'msgid', 'msgid_plural') or key.startswith('msgstr'):
                if key == 'msgctxt' and 'msgid' in entry:
                    flush()
                field = key
                if key.startswith('msgstr'):
                    entry.setdefault('msgstr', []).append(unquote(rest))
                else:
                    entry[key] = unquote(rest)
            elif line.startswith('"') and field is not None:
                if field.startswith('msgstr'):
                    entry['msgstr'][-1] += unquote(line)
                else:
                    entry[field] += unquote(line)
    flush()
    return out


def check_pot(root, potfiles, pot):
    with open(potfiles) as f:
        files = [line.strip() for line in f if line.strip() and not line.startswith('#')]
    missing = [p for p in files if not os.path.exists(os.path.join(root, p))]
    if missing:
        print('POTFILES.in names files that do not exist:', *missing, sep='\n  ')
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        fresh = os.path.join(tmp, 'fresh.pot')
        r = subprocess.run(['xgettext', '--from-code=UTF-8', '--add-comments=Translators', *KEYWORDS,
                            '--directory', root, '--output', fresh, *files], capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr)
            return 1
        want, have = messages(fresh), messages(pot)
    added = sorted(k for k in want if k not in have)
    stale = sorted(k for k in have if k not in want)
    if added or stale:
        for k in added:
            print('not in the POT:', k)
        for k in stale:
            print('in the POT but no longer in the sources:', k)
        print('\nRegenerate it: ninja -C build firezone-gui-pot (and firezone-gui-update-po)')
        return 1
    print(f'{os.path.basename(pot)} is current: {len(have)} messages')
    return 0


def check_po(root, linguas):
    with open(linguas) as f:
        langs = [w for line in f if not line.startswith('#') for w in line.split()]
    pot = messages(os.path.join(root, 'po', 'firezone-gui.pot'))
    bad = 0
    for lang in langs:
        po = os.path.join(root, 'po', f'{lang}.po')
        r = subprocess.run(['msgfmt', '--check', '--output-file=/dev/null', po], capture_output=True, text=True)
        if r.returncode != 0:
            print(f'{lang}.po:', r.stderr)
            bad += 1
            continue
        stale = [k for k in messages(po) if k not in pot]
        if stale:
            print(f'{lang}.po has messages the POT no longer has (run firezone-gui-update-po):', *stale,
                  sep='\n  ')
            bad += 1
    print(f'{len(langs) - bad} of {len(langs)} translations valid: {" ".join(langs)}')
    return 1 if bad else 0


if __name__ == '__main__':
    if sys.argv[1] == '--po':
        sys.exit(check_po(sys.argv[2], sys.argv[3]))
    sys.exit(check_pot(sys.argv[1], sys.argv[2], sys.argv[3]))
