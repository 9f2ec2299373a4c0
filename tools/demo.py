# SPDX-License-Identifier: Apache-2.0
"""The main job on a built-in local default, end to end, in a sandbox (run by tools/demo):
a private system bus with the project's policy, the real polkitd, the daemon from the build
tree, the local portal on loopback serving tests/portal/demo-account.json, and a user in
group firezone who signs in with firezonectl. Everything lives in private namespaces; the
host is left as it was."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
from portalbed import LocalPortal, demo_account  # noqa: E402


def say(text):
    print(f'\n\033[1m==> {text}\033[0m', flush=True)


def run(bed, user, argv, input=None):
    shown = ' '.join(a for a in argv[1:])
    print(f'{user}$ firezonectl {shown}' + (' < token' if input else ''), flush=True)
    r = bed.run_as(user, [bed.build_path('cli/firezonectl'), *argv[1:]], input=input,
                   env={'LD_LIBRARY_PATH': bed.build_path('libfirezone-client')})
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    sys.stdout.flush()
    return r.returncode


def main(bed, build_root):
    account = demo_account()
    token = account['token']

    say('Starting the local portal (tests/portal/portal.py, demo account) on loopback')
    portal = LocalPortal(bed, token=token)
    print(f'portal: {portal.ws_url} (and {portal.wss_url} with a test CA)')

    say('Starting firezone-client-tunnel on a private system bus, with the real polkitd')
    daemon = bed.start_daemon(env={'FIREZONE_API_URL': portal.ws_url}, debug=False)
    print(f'daemon: pid {daemon.pid}, owns dev.firezone.Client1')

    say('Signing in as fz-member (in group firezone) with firezonectl; the token comes on stdin')
    rc = run(bed, 'fz-member', ['firezonectl', 'sign-in', '--wait', '--timeout=30', '--account-slug=acme',
                                '--actor-name=Demo User'], input=token + '\n')
    if rc != 0:
        print(daemon.output(), file=sys.stderr)
        return rc

    say('Status')
    run(bed, 'fz-member', ['firezonectl', 'status'])
    say('Resources')
    run(bed, 'fz-member', ['firezonectl', 'resources'])

    say('The tunnel the daemon set up (in the sandbox\'s network namespace)')
    for argv in (['ip', '-brief', 'address', 'show', 'dev', 'tun-firezone'],
                 ['ip', 'route', 'show', 'table', '7946'], ['ip', '-6', 'route', 'show', 'table', '7946'],
                 ['ip', 'rule', 'show', 'table', '7946'], ['ip', '-6', 'rule', 'show', 'table', '7946']):
        print('# ' + ' '.join(argv), flush=True)
        subprocess.run(argv)

    say('Someone outside group firezone is refused by the bus itself')
    run(bed, 'fz-outsider', ['firezonectl', 'status'])

    say('Signing out')
    run(bed, 'fz-member', ['firezonectl', 'sign-out'])
    run(bed, 'fz-member', ['firezonectl', 'status'])

    bed.stop_daemon()
    portal.stop()
    say('Done: the sandbox (bus, polkitd, daemon, portal, namespaces) is torn down; the host is unchanged.')
    return 0
