# SPDX-License-Identifier: Apache-2.0
"""python3-aioice (an independent ICE implementation) with Firezone's conventions: ICE
credentials from the portal, candidates as `candidate:…` SDP strings, one TURN relay from the
portal's relay entries (coturn in the test world). Used by the world's scripted peers
(worldpeer.py, icepeer.py); it moves datagrams, nothing more."""

import asyncio
import ipaddress

import aioice

PREFIX = 'candidate:'


def to_wire(c):
    return PREFIX + c.to_sdp()


def from_wire(s):
    return aioice.Candidate.from_sdp(s[len(PREFIX):] if s.startswith(PREFIX) else s)


def describe(c):
    return {'type': c.type, 'host': c.host, 'port': c.port, 'sdp': to_wire(c)}


def ignore_networks(networks):
    """Leave these networks out of host candidates (aioice gathers on every interface; a
    gateway's resource-side address only delays gathering: its STUN request never returns)."""
    nets = [ipaddress.ip_network(n) for n in networks]
    original = aioice.ice.get_host_addresses

    def filtered(use_ipv4, use_ipv6):
        return [a for a in original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
                if not any(ipaddress.ip_address(a) in n for n in nets)]
    aioice.ice.get_host_addresses = filtered


def split_addr(addr):
    host, _, port = addr.rpartition(':')
    return host.strip('[]'), int(port)


class Agent:
    """controlling: the client's role. local/remote: {'username', 'password'} as the portal
    sent them. relays: the portal's relay entries; the first IPv4 one is used for TURN (and
    STUN: coturn answers Binding requests too). relay_only: offer relayed candidates only."""

    def __init__(self, controlling, local, remote, relays=(), relay_only=False, use_ipv6=True):
        turn = next((r for r in relays if r.get('type') == 'turn'
                     and ipaddress.ip_address(split_addr(r['addr'])[0]).version == 4), None)
        kw = {}
        if turn:
            server = split_addr(turn['addr'])
            kw = dict(stun_server=server, turn_server=server, turn_username=turn['username'],
                      turn_password=turn['password'])
        policy = aioice.TransportPolicy.RELAY if relay_only else aioice.TransportPolicy.ALL
        self.conn = aioice.Connection(ice_controlling=controlling, use_ipv6=use_ipv6, transport_policy=policy,
                                      **kw)
        self.conn.local_username, self.conn.local_password = local['username'], local['password']
        self.conn.remote_username, self.conn.remote_password = remote['username'], remote['password']
        self.turn = turn

    async def gather(self):
        await self.conn.gather_candidates()
        return [to_wire(c) for c in self.conn.local_candidates]

    async def add_remote(self, candidates):
        added = 0
        for s in candidates:
            try:
                c = from_wire(s)
            except (ValueError, IndexError):
                continue
            await self.conn.add_remote_candidate(c)
            added += 1
        return added

    async def connect(self, timeout=30):
        await asyncio.wait_for(self.conn.connect(), timeout)
        pair = self.conn._nominated.get(1)  # aioice keeps the nominated pair per component
        return {'local': describe(pair.local_candidate), 'remote': describe(pair.remote_candidate),
                'relayed': 'relay' in (pair.local_candidate.type, pair.remote_candidate.type)}

    async def send(self, data):
        await self.conn.send(data)

    async def recv(self, timeout=10):
        return await asyncio.wait_for(self.conn.recv(), timeout)

    async def close(self):
        await self.conn.close()
