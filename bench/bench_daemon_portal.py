# SPDX-License-Identifier: Apache-2.0
"""The whole daemon against the local portal, in the bed: SignIn (D-Bus) → StateChanged
'connected' with 1, 100 and 10,000 resources (portal handshake, init parse, resource table,
TUN + routes, DNS, ResourcesChanged), and the daemon's RSS once idle with them. Reference, side
by side: a Status() round trip on the same bus (the floor of any D-Bus answer).
Targets (issue 5): ≤ 50 ms for 100 resources; RSS ≤ 16 MiB with 10,000."""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
from portalbed import LocalPortal  # noqa: E402
from procwatch import rss_kib  # noqa: E402

TOKEN = 'bench-token-0123456789'
RUNS = {1: 15, 100: 15, 10000: 5}


def rss_detail(pid):
    with open(f"/proc/{pid}/status") as f:
        return {l.split(":")[0]: int(l.split()[1]) for l in f if l.startswith(("RssAnon", "RssFile"))}


def main(bed, build_root):
    print(f'{"resources":>10} {"SignIn→connected p50":>22} {"p90":>8} {"Status() p50":>14} {"daemon RSS idle":>16}')
    for n, runs in RUNS.items():
        portal = LocalPortal(bed, account={'token': TOKEN, 'interface': {'ipv4': '100.64.0.9', 'ipv6': 'fd00:2021:1111::9',
                                                                         'search_domain': 'corp.example.com',
                                                                         'upstream_do53': [{'ip': '192.0.2.53'}]},
                                           'resources': []},
                             token=TOKEN, generate=n, name=f'portal-{n}')
        daemon = bed.start_daemon(env={'FIREZONE_API_URL': portal.ws_url}, debug=False,
                                  args=['--dns-control=etc-resolv-conf'])
        agent = bed.agent('root')
        agent.subscribe('StateChanged')
        agent.subscribe('ResourcesChanged')
        times, rss, status = [], 0, []
        for _ in range(runs):
            t0 = time.perf_counter()
            r = agent.call('SignIn', f"('{TOKEN}', @a{{sv}} {{}})", '(sa{sv})')
            assert 'ok' in r, r
            sig = agent.wait_signal('StateChanged', match={0: 'connected'}, timeout_ms=60000)
            times.append((time.perf_counter() - t0) * 1000)
            assert 'ok' in sig, sig
            for _ in range(5):
                t1 = time.perf_counter()
                agent.call('Status')
                status.append((time.perf_counter() - t1) * 1000)
            # Memory once the daemon is idle: after the (coalesced) ResourcesChanged went out.
            changed = agent.wait_signal('ResourcesChanged', timeout_ms=60000)
            assert 'ok' in changed and len(changed['ok']['args'][0]) == n, n
            agent.call('Status')
            rss = rss_kib(daemon.pid)
            detail = rss_detail(daemon.pid)
            agent.call('SignOut')
            agent.wait_signal('StateChanged', match={0: 'signed-out'})
            agent.wait_signal('ResourcesChanged')  # the empty list after sign-out
        times.sort()
        print(f'{n:>10} {statistics.median(times):>19.1f} ms {times[int(0.9 * (len(times) - 1))]:>5.1f} ms '
              f'{statistics.median(status):>11.2f} ms {rss / 1024:>12.1f} MiB '
              f'(anon {detail["RssAnon"] / 1024:.1f}, file {detail["RssFile"] / 1024:.1f})', flush=True)
        bed.stop_daemon()
        portal.stop()
    print('(times include the Python agent\'s own D-Bus round trips, ~0.3 ms)')
    return 0
