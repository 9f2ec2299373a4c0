# SPDX-License-Identifier: Apache-2.0
"""The secrets the local portal mints for a connection between a client and a gateway.

Learned from Firezone's portal (elixir/lib/portal_api/client/channel/shared.ex,
elixir/lib/portal/crypto.ex, elixir/lib/portal_api/client/views/relay.ex). Tests import this
module too, to check what the portal sent (e.g. that a relay password is what coturn expects).
"""

import base64
import hashlib
import hmac
import ipaddress

# Firezone's portal gives gateways relay credentials that expire at this fixed date, so that
# they do not change on every reconnect (@relay_credentials_expire_at in gateway/channel/shared.ex).
GATEWAY_RELAY_EXPIRY = 2145916800  # 2038-01-01T00:00:00Z


def relay_salt(public_key):
    """Firezone salts relay usernames with the connecting device's public key:
    base64(SHA-256(public_key)) without padding."""
    return base64.b64encode(hashlib.sha256(public_key.encode()).digest()).decode().rstrip('=')


def turn_credentials(secret, public_key, expires_at):
    """coturn's REST-API credentials (--use-auth-secret): username "<expiry>:<salt>",
    password base64(HMAC-SHA1(secret, username)).

    Firezone's own relays take the same username shape but a different password
    (base64(SHA-256("<expiry>:<stamp secret>:<salt>")), views/relay.ex); this portal serves
    coturn, so it mints coturn's."""
    username = f'{int(expires_at)}:{relay_salt(public_key)}'
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def relay_entries(relay, public_key, expires_at, secret=None):
    """One relay rendered as Firezone does: one `turn` entry per address family it has."""
    username, password = turn_credentials(secret if secret is not None else relay['secret'], public_key, expires_at)
    port = int(relay.get('port', 3478))
    out = []
    for key in ('ipv4', 'ipv6'):
        ip = relay.get(key)
        if not ip:
            continue
        host = f'[{ip}]' if ipaddress.ip_address(ip).version == 6 else ip
        out.append({'id': relay['id'], 'type': 'turn', 'addr': f'{host}:{port}', 'username': username,
                    'password': password, 'expires_at': int(expires_at)})
    return out


def ice_credentials(initiator_id, initiator_public_key, receiver_id, receiver_public_key):
    """Firezone's generate_ice_credentials/4: stable for a pair of devices as long as
    neither restarts (their public keys change on restart). Slices of the lower-case,
    unpadded base32 of SHA-256("<initiator id>:<initiator key>:<receiver id>:<receiver key>")."""
    seed = ':'.join([initiator_id, initiator_public_key, receiver_id, receiver_public_key])
    h = base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode().lower().rstrip('=')
    return ({'username': h[0:4], 'password': h[4:26]},     # initiator (the client)
            {'username': h[26:30], 'password': h[30:53]})  # receiver (the gateway)


def preshared_key(client_id, client_public_key, client_psk_base, gateway_id, gateway_public_key, gateway_psk_base):
    """Portal.Crypto.psk/4 for a client-gateway pair: PBKDF2-HMAC-SHA256 with one iteration
    over both devices' psk_base, salted with both ids and keys; 32 bytes, base64."""
    salt = f'WG_PSK|C_ID:{client_id}|G_ID:{gateway_id}|C_PK:{client_public_key}|G_PK:{gateway_public_key}'
    key = hashlib.pbkdf2_hmac('sha256', client_psk_base + gateway_psk_base, salt.encode(), 1, 32)
    return base64.b64encode(key).decode()
