/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The device id the portal knows this machine by (the "external_id" query parameter),
 * computed as Firezone's own Linux clients do, so that switching clients keeps the device:
 *   1. {state_dir}/config/firezone-id.json {"id": "…"} if it exists (Firezone's file);
 *   2. else hex(HMAC-SHA256(key = Firezone's client app id, data = /etc/machine-id));
 *   3. else a random id, saved to that file (0640) so it stays stable.
 * A UUID-shaped id (older Firezone clients wrote those) is sent as hex(SHA-256(id)), as the
 * reference does. The file lives under the state directory, never next to a token. */

int fzd_device_id_get(const char *state_dir, const char *machine_id_path, char **ret);
