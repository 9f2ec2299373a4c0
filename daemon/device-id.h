/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The device's external id for the portal: derived from /etc/machine-id with
 * sd_id128_get_machine_app_specific() (stable, and the machine id itself is never
 * exposed), or — on machines without a machine id — a random id persisted in the state
 * directory (never next to a token). Formatted as a UUID. */
int fzd_device_id_get(const char *state_dir, char **ret);
