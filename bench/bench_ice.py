# SPDX-License-Identifier: Apache-2.0
"""Time to connected for daemon/ice, in the bed: a client node (controlling) and a gateway node
(controlled), two fzd-ice-tools in their own namespaces on a bridge, over host candidates and
relayed only (coturn, the direct path dropped), 20 connections each; measured from the
gateway's candidates reaching the client (the moment authorization and trickle are done) to
the client's `connected`. Reference, side by side: two python3-aioice agents on the same
topology (connect() after both have each other's candidates)."""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
from icebed import AioicePeer, Coturn, IceNet, IceTool  # noqa: E402

RUNS = 20


def ours(bed, net, coturn, relayed, runs):
    client = IceTool(bed, net, 'client')
    gw = IceTool(bed, net, 'gw')
    for tool, name in ((client, 'c'), (gw, 'g')):
        if relayed:
            user, pw = coturn.credentials()
            tool.request(op='relay', id='r1', addr=coturn.addr, username=user, password=pw)
            tool.wait('relay_ready')
        else:
            tool.request(op='hosts', addrs='auto')
    times = []
    for i in range(runs):
        cu, gu = f'c{i}x', f'g{i}x'
        client.request(op='agent', id=f'a{i}', controlling=True, local_ufrag=cu, local_pwd='client-pw-0123456789',
                       remote_ufrag=gu, remote_pwd='gateway-pw-0123456789')
        gw.request(op='agent', id=f'a{i}', controlling=False, local_ufrag=gu, local_pwd='gateway-pw-0123456789',
                   remote_ufrag=cu, remote_pwd='client-pw-0123456789')
        want = 2 if relayed else 1
        cc = [client.wait('candidate', lambda m, i=i: m['agent'] == f'a{i}')['candidate'] for _ in range(want)]
        gc = [gw.wait('candidate', lambda m, i=i: m['agent'] == f'a{i}')['candidate'] for _ in range(want)]
        t0 = time.monotonic()
        for c in cc:
            gw.request(op='candidate', agent=f'a{i}', candidate=c)
        for c in gc:
            client.request(op='candidate', agent=f'a{i}', candidate=c)
        client.wait('connected', lambda m, i=i: m['agent'] == f'a{i}', timeout=30)
        times.append((time.monotonic() - t0) * 1000)
        client.request(op='remove_agent', agent=f'a{i}')
        gw.request(op='remove_agent', agent=f'a{i}')
    client.close()
    gw.close()
    return times


def theirs(bed, net, runs):
    times = []
    for i in range(runs):
        a = AioicePeer(bed, net, 'client')
        b = AioicePeer(bed, net, 'gw')
        a.send(op='start', controlling=True)
        b.send(op='start', controlling=False)
        ca, cb = a.wait('candidates'), b.wait('candidates')
        b.send(op='remote', ufrag=ca['ufrag'], pwd=ca['pwd'], candidates=ca['candidates'])
        a.send(op='remote', ufrag=cb['ufrag'], pwd=cb['pwd'], candidates=cb['candidates'])
        times.append(a.wait('connected', timeout=30)['elapsed_ms'])
        a.send(op='quit')
        b.send(op='quit')
        a.close()
        b.close()
    return times


def row(name, times):
    times = sorted(times)
    p90 = times[int(len(times) * 0.9) - 1]
    print(f'{name:<44} {statistics.median(times):>9.1f} {p90:>9.1f} {max(times):>9.1f}')


def main(bed, build_root):
    net = IceNet(['client', 'gw', 'relay'])
    coturn = Coturn(bed, net, 'relay')
    print(f'{"candidates in → connected, ms":<44} {"p50":>9} {"p90":>9} {"max":>9}')
    row('fzd ice, host', ours(bed, net, coturn, False, RUNS))
    net.block('client', 'gw')
    row('fzd ice, relayed only (coturn)', ours(bed, net, coturn, True, RUNS))
    # The reference on the open path (aioice over TURN needs its own allocation per run).
    subprocess_unblock(net)
    row('aioice ↔ aioice, host (reference)', theirs(bed, net, 10))
    return 0


def subprocess_unblock(net):
    import subprocess
    subprocess.run(['ip', 'netns', 'exec', net.ns('client'), 'nft', 'delete', 'table', 'inet', 'fzblock'], check=True)
