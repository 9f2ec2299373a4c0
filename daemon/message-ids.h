/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* MESSAGE_ID= of the daemon's journal entries, one per kind of event, so that
 * `journalctl MESSAGE_ID=…` finds them (and `journalctl -x` explains them: see
 * packaging/firezone-client.catalog). Public: fleet tooling filters on them. Never reuse
 * or change one; add new ones with `systemd-id128 new`. */

/* A state change, by the state entered. Fields: FIREZONE_STATE, FIREZONE_PREVIOUS_STATE,
 * FIREZONE_REASON, FIREZONE_MODE, and FIREZONE_ACCOUNT when the account is known. */
#define FZD_MESSAGE_SIGNED_OUT   "c4ef8914d66f45bc90ac80140ca15a75"
#define FZD_MESSAGE_CONNECTING   "cf637e5805cf43afa74759e98830ec9d"
#define FZD_MESSAGE_CONNECTED    "e1d369658c7140b9abebdd8ad3d47be3"
#define FZD_MESSAGE_RECONNECTING "bdcbccb665584246824b468933ade1ee"
