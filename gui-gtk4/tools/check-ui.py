#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks the GUI's GtkBuilder templates (data/ui/*.ui), the rules GNOME's own apps keep:

- every user-visible text (label, title, tooltip, menu label, accessible label, …) is
  marked translatable="yes" — or translatable="no" on purpose (a shell command);
- every control a user can operate (buttons, switches, entries, menu buttons, spinners)
  has a name for assistive technology: a text label, an accessible label, or a
  labelled-by relation, or the row it is the activatable widget of (an icon-only button
  has none by itself: GTK would expose it as "GtkImage");
- no button has a mnemonic label property: GTK 4.8 then names it "_Sign In Sign In" for
  assistive technology; put the mnemonic on a child GtkLabel and the name in an
  accessible label;
- rows that show names from outside (libadwaita rows) are not markup: use-markup False.

Usage: check-ui.py FILE.ui…   Exits 1 with one line per problem."""

import sys
import xml.etree.ElementTree as ET

TEXT_PROPERTIES = {'label', 'title', 'subtitle', 'description', 'tooltip-text', 'tooltip-markup', 'placeholder-text',
                   'text', 'button-label', 'heading', 'body', 'secondary-text', 'accessible-name'}
CONTROLS = {'GtkButton', 'GtkToggleButton', 'GtkMenuButton', 'GtkSwitch', 'GtkCheckButton', 'GtkEntry',
            'GtkPasswordEntry', 'GtkSpinButton', 'GtkSpinner', 'GtkLinkButton', 'GtkDropDown', 'GtkScale',
            'AdwSplitButton'}
ROWS = {'AdwActionRow', 'AdwExpanderRow', 'AdwEntryRow', 'AdwPasswordEntryRow', 'AdwComboRow'}


def problems_in(path):
    out = []
    try:
        tree = ET.parse(path)
    except ET.ParseError as e:
        return [f'{path}: not well-formed: {e}']
    root = tree.getroot()
    if root.tag != 'interface':
        return [f'{path}: the root element is <{root.tag}>, not <interface>']

    def where(el):
        return f'{path}: <{el.tag} {" ".join(f"{k}={v!r}" for k, v in el.attrib.items())}>'

    # 1. Texts are marked.
    for el in root.iter():
        if el.tag not in ('property', 'attribute') or el.get('name') not in TEXT_PROPERTIES:
            continue
        if not (el.text or '').strip():
            continue
        if el.get('translatable') not in ('yes', 'no'):
            out.append(f'{where(el)}: text "{el.text.strip()}" is not marked translatable="yes" (or "no")')

    # 2. Controls have names. A row's activatable widget is labelled by the row (libadwaita
    # sets the relation; an accessible label on top would double the name in GTK 4.8).
    labelled_by_row = {(p.text or '').strip() for p in root.iter('property') if p.get('name') == 'activatable-widget'}
    for el in root.iter():
        if el.tag not in ('object', 'template'):
            continue
        cls = el.get('class') if el.tag == 'object' else el.get('parent')
        if cls not in CONTROLS:
            continue
        own = {p.get('name'): (p.text or '').strip() for p in el.findall('property')}
        a11y = el.find('accessibility')
        named = bool(own.get('label')) or el.get('id') in labelled_by_row
        if a11y is not None:
            named = named or any(p.get('name') == 'label' and (p.text or '').strip() for p in a11y.findall('property'))
            named = named or any(r.get('name') == 'labelled-by' for r in a11y.findall('relation'))
        if not named:
            out.append(f'{where(el)}: a {cls} without a name for assistive technology '
                       '(add <accessibility><property name="label" translatable="yes">…)')
        if own.get('label') and own.get('use-underline', '').lower() in ('true', '1', 'yes'):
            out.append(f'{where(el)}: a mnemonic label property ("{own["label"]}") gives a doubled name in '
                       'GTK 4.8; use a child GtkLabel with use-underline and an accessible label')

    # 3. Rows are plain text.
    for el in root.iter():
        if el.tag not in ('object', 'template'):
            continue
        cls = el.get('class') if el.tag == 'object' else el.get('parent')
        if cls not in ROWS:
            continue
        markup = [p for p in el.findall('property') if p.get('name') == 'use-markup']
        if not markup or (markup[0].text or '').strip().lower() not in ('false', '0', 'no'):
            out.append(f'{where(el)}: a {cls} must set use-markup False (its texts may come from outside)')
    return out


def main(paths):
    problems = [p for path in paths for p in problems_in(path)]
    for p in problems:
        print(p)
    print(f'{len(paths)} templates checked, {len(problems)} problems')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
