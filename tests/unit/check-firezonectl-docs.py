#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""firezonectl's commands and options are the same in --help, the man page and the bash
completion, and the exit codes in --help are those the man page documents. Also runs the
completion in bash to see that it completes.

usage: check-firezonectl-docs.py FIREZONECTL MANPAGE COMPLETION"""

import re
import subprocess
import sys


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def complete(completion, words):
    """What the completion offers for the command line `words` (the last one being completed)."""
    script = f'''
source "{completion}"
COMP_WORDS=({" ".join(repr(w) for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE="{" ".join(words)}"
_firezonectl
printf '%s\\n' "${{COMPREPLY[@]}}"
'''
    return sorted(filter(None, run(['bash', '--norc', '--noprofile', '-c', script]).split('\n')))


def main():
    exe, man, completion = sys.argv[1:4]
    problems = []
    helptext = run([exe, '--help'])
    commands = re.findall(r'^  ([a-z-]+)\s{2,}\S', helptext.split('Commands:')[1].split('\n\n')[0], flags=re.M)
    if sorted(commands) != sorted(['status', 'sign-in', 'sign-out', 'reconnect', 'resources', 'monitor',
                                   'internet-resource']):
        problems.append(f'unexpected command table: {commands}')
    mantext = open(man).read().replace('\\-', '-')
    comptext = open(completion).read()

    codes_help = dict(re.findall(r'^\s+([0-4])\s+(\S.*)$', helptext.split('Exit status:')[1], flags=re.M))
    codes_man = re.findall(r'^\.TP\n\.B ([0-9])\n', mantext.split('.SH EXIT STATUS')[1].split('.SH')[0], flags=re.M)
    if sorted(codes_help) != sorted(codes_man) or sorted(codes_help) != ['0', '1', '2', '3', '4']:
        problems.append(f'exit codes: --help {sorted(codes_help)}, man page {codes_man}')

    offered = complete(completion, ['firezonectl', ''])
    if offered != sorted(commands):
        problems.append(f'completion offers {offered} for the command, --help lists {commands}')

    for cmd in commands:
        if not re.search(rf'^\.B(?:R)? {re.escape(cmd)}\b', mantext, flags=re.M):
            problems.append(f'the man page does not document the command {cmd}')
        opts = sorted(set(re.findall(r'(--[a-z][a-z-]+)', run([exe, cmd, '--help']))) - {'--help', '--help-all'})
        for o in opts:
            if o not in mantext:
                problems.append(f'{cmd} {o} is missing from the man page')
        got = complete(completion, ['firezonectl', cmd, '--'])
        want = sorted(set(opts) | {'--help'})
        if got != want:
            problems.append(f'completion offers {got} after "{cmd} --", --help lists {want}')
    for o in re.findall(r'(--[a-z][a-z-]+)', helptext):
        if o not in mantext and o not in ('--help', '--help-all'):
            problems.append(f'global option {o} is missing from the man page')
        if o not in comptext and o != '--help-all':
            problems.append(f'global option {o} is missing from the completion')

    # Completion of a file name after --token-file, and a prefix.
    if complete(completion, ['firezonectl', 'st']) != ['status']:
        problems.append('completion of "st" is not "status"')
    if complete(completion, ['firezonectl', 'sign-in', '--token-file', '/etc/host']) == []:
        problems.append('completion after --token-file offers no file names')
    # The argument of internet-resource, as its --help names it.
    ir_args = re.search(r'firezonectl internet-resource \[OPTION…\] \[(\S+)\]', run([exe, 'internet-resource', '--help']))
    if ir_args is None or complete(completion, ['firezonectl', 'internet-resource', '']) != sorted(ir_args.group(1).split('|')):
        problems.append(f'completion after "internet-resource" does not offer its arguments {ir_args and ir_args.group(1)}')
    if complete(completion, ['firezonectl', 'internet-resource', 'o']) != ['off', 'on']:
        problems.append('completion of "internet-resource o" is not "off on"')
    if not re.search(r'^\.B firezonectl internet-resource\n\.RB \[ --json \]\n\.RB \[ on \| off \]', mantext, flags=re.M):
        problems.append('the man page\'s synopsis does not show "internet-resource [--json] [on|off]"')

    for p in problems:
        print(p)
    print(f'{len(commands)} commands checked')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
