/* SPDX-License-Identifier: Apache-2.0 */
/* The portal session: resolve once, connect (TLS, WebSocket), join the "client" channel,
 * heartbeat, turn portal messages into engine events, and reconnect with backoff. All of it
 * runs on the sd-event loop; callbacks into the manager may re-enter the engine (stop,
 * reconnect, even free), which the session generation and a reference count make safe. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "backoff.h"
#include "config.h"
#include "engine-private.h"
#include "engine.h"
#include "error.h"
#include "log.h"
#include "phoenix.h"
#include "portal-gateway.h"
#include "portal-json.h"
#include "portal-url.h"
#include "resolve.h"
#include "tls.h"
#include "token.h"
#include "websocket.h"

#define HEARTBEAT_INTERVAL_USEC   (10ULL * USEC_PER_SEC)
#define HEARTBEAT_MAX_UNANSWERED  3U
#define JOIN_TIMEOUT_USEC         (10ULL * USEC_PER_SEC)
#define CONNECT_TIMEOUT_USEC      (5ULL * USEC_PER_SEC)
#define HANDSHAKE_TIMEOUT_USEC    (15ULL * USEC_PER_SEC)
#define FRAMES_DROPPED_LOGGED     10U /* per connection at warning level; the rest at debug */
#define FRAME_FREE_LATER          (256U * 1024U) /* frames this large are freed from the loop */

struct FzdEngine {
        unsigned n_ref;
        sd_event *event;
        FzdEngineEvents ev;
        void *userdata;

        bool running;
        unsigned generation; /* bumped whenever the session or connection is torn down */

        FzdUrl url;
        char *device_id, *device_name, *user_agent;
        unsigned mark;
        FzdSecret *token;
        SSL_CTX *tls;

        struct sockaddr_storage addrs[FZD_RESOLVE_MAX_ADDRESSES];
        socklen_t addr_lens[FZD_RESOLVE_MAX_ADDRESSES];
        size_t n_addrs;
        bool resolve_again;
        FzdResolve *resolve;

        FzdWs *ws;
        EVP_PKEY *key; /* this connection's X25519 key; the data plane will use it */
        uint64_t next_ref, join_ref;
        bool joined, got_init;
        unsigned frames_dropped; /* on this connection */
        unsigned heartbeats_unanswered;
        uint64_t heartbeat_ref;
        char reject_reason[200];

        sd_event_source *retry_timer, *heartbeat_timer, *join_timer, *trim_event;
        FzdPortalFrame spent; /* a big frame already handled, freed by on_trim() */
        FzdBackoff backoff;
        uint64_t heartbeat_interval, join_timeout;
};

static void engine_ref(FzdEngine *e) {
        e->n_ref++;
}

static void engine_destroy(FzdEngine *e);

static void engine_unref(FzdEngine *e) {
        if (e && --e->n_ref == 0)
                engine_destroy(e);
}

static uint64_t random_u64(void) {
        uint64_t v = 0;
        if (RAND_bytes((unsigned char *) &v, sizeof(v)) != 1)
                v = (uint64_t) getpid() * 0x9e3779b97f4a7c15ULL;
        return v;
}

/* ---- tearing down ---------------------------------------------------------------------- */

static void drop_connection(FzdEngine *e) {
        e->generation++;
        e->ws = fzd_ws_free(e->ws);
        e->resolve = fzd_resolve_cancel(e->resolve);
        (void) sd_event_source_set_enabled(e->heartbeat_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(e->join_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(e->retry_timer, SD_EVENT_OFF);
        e->joined = e->got_init = false;
        e->frames_dropped = 0;
        e->heartbeats_unanswered = 0;
}

static void stop_session(FzdEngine *e) {
        drop_connection(e);
        e->token = fzd_secret_free(e->token);
        if (e->key) {
                EVP_PKEY_free(e->key);
                e->key = NULL;
        }
        e->running = false;
}

/* The session is over for good: wipe the token, then tell the manager. */
static void end_session(FzdEngine *e, FzdError err) {
        char msg[FZD_ERROR_TEXT_MAX];

        log_error("%s", fzd_error_format(&err, msg, sizeof msg));
        stop_session(e);
        if (e->ev.session_ended) {
                engine_ref(e);
                e->ev.session_ended(e->userdata, &err);
                engine_unref(e);
        }
}

/* An error about the portal at the URL's host. */
static FzdError portal_error(FzdEngine *e, FzdErrorCode code, int errnum) {
        FzdError err = fzd_error_make(code, errnum);

        fzd_error_set_subject(&err, e->url.host_header);
        return err;
}

/* ---- connecting -------------------------------------------------------------------------- */

static void connect_now(FzdEngine *e);

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdEngine *e = userdata;

        if (e->running)
                connect_now(e);
        return 0;
}

/* Drop the connection, tell the manager why (with when we retry) and retry after the
 * backoff delay, or after delay_usec if it is not UINT64_MAX (Retry-After). */
static void schedule_retry(FzdEngine *e, uint64_t delay_usec, FzdError err) {
        char msg[FZD_ERROR_TEXT_MAX];
        int r;

        drop_connection(e);
        if (delay_usec == UINT64_MAX)
                delay_usec = fzd_backoff_next(&e->backoff, random_u64());
        err.retry_usec = delay_usec;

        log_warning("%s", fzd_error_format(&err, msg, sizeof msg));
        r = sd_event_source_set_time_relative(e->retry_timer, delay_usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(e->retry_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to arm the reconnect timer: %m");

        if (e->ev.reconnecting) {
                engine_ref(e);
                e->ev.reconnecting(e->userdata, &err);
                engine_unref(e);
        }
}

static void ws_open(void *userdata);
static int ws_message(void *userdata, const char *data, size_t len);
static void ws_closed(void *userdata, const FzdWsError *error);

/* The session's X25519 key: made when the session starts, the same across reconnects (the
 * gateways know us by it: a new key would break every WireGuard session), wiped when the
 * session ends. */
static int session_key(FzdEngine *e, char ret_b64[45]) {
        unsigned char pub[32];
        size_t len = sizeof(pub);

        if (!e->key)
                e->key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        if (!e->key)
                return -EIO;
        if (EVP_PKEY_get_raw_public_key(e->key, pub, &len) != 1 || len != 32)
                return -EIO;
        if (EVP_EncodeBlock((unsigned char *) ret_b64, pub, 32) != 44)
                return -EIO;
        return 0;
}

static void open_websocket(FzdEngine *e) {
        static const FzdWsCallbacks callbacks = {
                .open = ws_open,
                .message = ws_message,
                .closed = ws_closed,
        };
        _cleanup_(freep) char *target = NULL;
        char public_key[45];
        FzdWsParams p;
        int r;

        if (!e->url.tls)
                for (size_t i = 0; i < e->n_addrs; i++)
                        if (!fzd_sockaddr_is_loopback((const struct sockaddr *) &e->addrs[i])) {
                                end_session(e, portal_error(e, FZD_ERR_PORTAL_WS_NOT_LOOPBACK, 0));
                                return;
                        }

        r = session_key(e, public_key);
        if (r >= 0)
                r = fzd_portal_url_request_target(&e->url, e->device_id, e->device_name, public_key, &target);
        if (r < 0) {
                schedule_retry(e, UINT64_MAX, portal_error(e, FZD_ERR_PORTAL_PREPARE, r));
                return;
        }

        p = (FzdWsParams){
                .addrs = e->addrs,
                .addr_lens = e->addr_lens,
                .n_addrs = e->n_addrs,
                .tls = e->url.tls ? e->tls : NULL,
                .host = e->url.host,
                .host_is_ip = e->url.host_is_ip,
                .host_header = e->url.host_header,
                .target = target,
                .user_agent = e->user_agent,
                .token = fzd_secret_get(e->token),
                .firewall_mark = e->mark,
                .max_message = FZD_PORTAL_MAX_FRAME,
                .connect_timeout_usec = CONNECT_TIMEOUT_USEC,
                .handshake_timeout_usec = HANDSHAKE_TIMEOUT_USEC,
        };
        r = fzd_ws_new(e->event, &p, &callbacks, e, &e->ws);
        if (r < 0) {
                schedule_retry(e, UINT64_MAX, portal_error(e, FZD_ERR_PORTAL_PREPARE, r));
                return;
        }
        log_info("Connecting to the Firezone portal at %s (%s).", e->url.host_header, e->url.tls ? "wss" : "ws");
        log_debug("Portal request path: %.*s", (int) strcspn(target, "?"), target);
}

static void on_resolved(void *userdata, int error, int gai_error, const struct sockaddr_storage *addrs,
                        const socklen_t *addr_lens, size_t n) {
        FzdEngine *e = userdata;

        e->resolve = fzd_resolve_cancel(e->resolve);
        if (error < 0 || n == 0) {
                const char *why = gai_error != 0 && gai_error != EAI_SYSTEM ? gai_strerror(gai_error) : strerror(-error);
                if (e->n_addrs > 0) {
                        log_warning("Could not resolve %s again (%s); using the addresses resolved before.",
                                    e->url.host, why);
                        open_websocket(e);
                        return;
                }
                FzdError err = fzd_error_make(FZD_ERR_PORTAL_RESOLVE, 0);
                fzd_error_set_subject(&err, e->url.host);
                fzd_error_set_detail(&err, why);
                e->resolve_again = true;
                schedule_retry(e, UINT64_MAX, err);
                return;
        }
        memcpy(e->addrs, addrs, n * sizeof(*addrs));
        memcpy(e->addr_lens, addr_lens, n * sizeof(*addr_lens));
        e->n_addrs = n;
        e->resolve_again = false;
        open_websocket(e);
}

static void connect_now(FzdEngine *e) {
        int r;

        drop_connection(e);
        /* The portal's address is resolved at the start of a session (and after
         * fzd_engine_reconnect(), e.g. on a network change) with the system's resolver, and
         * reused across reconnects, so reconnecting never depends on DNS through the tunnel. */
        if (e->n_addrs > 0 && !e->resolve_again) {
                open_websocket(e);
                return;
        }
        r = fzd_resolve_start(e->event, e->url.host, e->url.port, on_resolved, e, &e->resolve);
        if (r < 0) {
                FzdError err = fzd_error_make(FZD_ERR_PORTAL_RESOLVE, r);
                fzd_error_set_subject(&err, e->url.host);
                fzd_error_set_detail(&err, strerror(-r));
                schedule_retry(e, UINT64_MAX, err);
        }
}

/* ---- the Phoenix channel ----------------------------------------------------------------- */

static int send_frame(FzdEngine *e, const char *topic, const char *event, const char *payload, uint64_t *ret_ref) {
        _cleanup_(freep) char *frame = NULL;
        uint64_t ref = e->next_ref++;
        int r;

        r = fzd_phoenix_encode(topic, event, payload, ref, &frame);
        if (r < 0)
                return r;
        r = fzd_ws_send_text(e->ws, frame, strlen(frame));
        if (r < 0)
                return r;
        if (ret_ref)
                *ret_ref = ref;
        return 0;
}

static int on_join_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdEngine *e = userdata;
        FzdError err = portal_error(e, FZD_ERR_PORTAL_NO_INIT, 0);

        err.duration_usec = e->join_timeout;
        schedule_retry(e, UINT64_MAX, err);
        return 0;
}

static int on_heartbeat_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FzdEngine *e = userdata;
        int r;

        if (e->heartbeats_unanswered >= HEARTBEAT_MAX_UNANSWERED) {
                FzdError err = portal_error(e, FZD_ERR_PORTAL_NO_HEARTBEAT, 0);
                err.duration_usec = e->heartbeat_interval * HEARTBEAT_MAX_UNANSWERED;
                schedule_retry(e, UINT64_MAX, err);
                return 0;
        }
        r = send_frame(e, FZD_PHOENIX_TOPIC_PHOENIX, "heartbeat", "{}", &e->heartbeat_ref);
        if (r < 0) {
                FzdError err = portal_error(e, FZD_ERR_PORTAL_LOST, r);
                fzd_error_set_detail(&err, strerror(-r));
                schedule_retry(e, UINT64_MAX, err);
                return 0;
        }
        e->heartbeats_unanswered++;
        (void) sd_event_source_set_time_relative(s, e->heartbeat_interval);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON);
        return 0;
}

static void ws_open(void *userdata) {
        FzdEngine *e = userdata;
        int r;

        log_debug("WebSocket to the portal is open; joining the client channel.");
        e->next_ref = 1;
        r = send_frame(e, FZD_PHOENIX_TOPIC_CLIENT, "phx_join", "{}", &e->join_ref);
        if (r < 0) {
                schedule_retry(e, UINT64_MAX, portal_error(e, FZD_ERR_PORTAL_JOIN_FAILED, r));
                return;
        }
        (void) sd_event_source_set_time_relative(e->join_timer, e->join_timeout);
        (void) sd_event_source_set_enabled(e->join_timer, SD_EVENT_ONESHOT);
        (void) sd_event_source_set_time_relative(e->heartbeat_timer, e->heartbeat_interval);
        (void) sd_event_source_set_enabled(e->heartbeat_timer, SD_EVENT_ON);
}

/* Returns -EBADMSG with reject_reason set to drop the connection, -ECANCELED if the session
 * or connection went away while handling the message, 0 otherwise. */
static int reject(FzdEngine *e, const char *reason) {
        (void) snprintf(e->reject_reason, sizeof(e->reject_reason), "%s", reason);
        return -EBADMSG;
}

static int handle_init(FzdEngine *e, const FzdJson *payload) {
        FzdPortalSkips skips = FZD_PORTAL_SKIPS("init");
        FzdInterfaceConfig config;
        FzdResource **resources = NULL;
        FzdRelay relays[FZD_PORTAL_MAX_RELAYS];
        size_t n = 0, n_relays;
        char err[200] = "";
        unsigned gen = e->generation;
        int r;

        /* Bad elements are skipped inside; an init that cannot be applied as a whole leaves
         * the session without a state: reset. */
        r = fzd_portal_init_parse(payload, &skips, &config, &resources, &n, err, sizeof(err));
        if (r < 0) {
                fzd_portal_skips_done(&skips);
                return reject(e, r == -ENOMEM ? "out of memory" : err);
        }

        /* The relays too, so that every skip line of the message comes before its summary. */
        n_relays = fzd_portal_relays_parse(fzd_json_get(payload, "relays"), &skips, relays, ELEMENTSOF(relays));
        fzd_portal_skips_done(&skips);

        e->got_init = true;
        fzd_backoff_reset(&e->backoff);
        (void) sd_event_source_set_enabled(e->join_timer, SD_EVENT_OFF);
        log_info("Connected to the Firezone portal at %s: %zu resources%s.", e->url.host_header, n,
                 skips.skipped > 0 ? " (some skipped, see above)" : "");
        if (e->ev.init)
                e->ev.init(e->userdata, &config, resources, n);
        if (gen == e->generation && e->ev.relays)
                e->ev.relays(e->userdata, relays, n_relays, NULL, 0, true);
        explicit_bzero(relays, sizeof relays);
        fzd_resources_free(resources, n);
        /* A large init leaves megabytes of freed blocks (the parsed frame, the WebSocket's
         * message buffer) in the heap. Hand them back once all of it is freed, i.e. from the
         * loop. */
        if (n >= 256)
                (void) sd_event_source_set_enabled(e->trim_event, SD_EVENT_ONESHOT);
        return gen == e->generation ? 0 : -ECANCELED;
}

/* An event whose payload cannot be used as a whole: dropped, the connection stays. */
static int drop_event(const char *event, const char *why) {
        log_warning("Portal: ignoring a \"%s\" event: %s.", event, why);
        return 0;
}

/* Messages about connections to gateways (DESIGN §7.2). A message that cannot be used is
 * dropped with a log line, a bad element in it skipped with one: the connection stays (the
 * resource asks again on its next packet). -ENOENT: not one of these. */
static int handle_gateway_event(FzdEngine *e, const FzdPortalFrame *f) {
        FzdPortalSkips skips = FZD_PORTAL_SKIPS(f->event);

        if (streq(f->event, "authorization_created")) {
                FzdPortalElement el = { .what = "authorization", .index = FZD_PORTAL_NO_INDEX };
                FzdAuthorization a;

                if (fzd_portal_authorization_parse(f->payload, &el, &a) < 0) {
                        char why[FZD_PORTAL_MAX_ID + sizeof el.why + 32];

                        (void) snprintf(why, sizeof why, "%s%s%s", el.id ? "resource " : "", el.id ? el.id : "",
                                        el.id ? ": " : "");
                        (void) snprintf(why + strlen(why), sizeof why - strlen(why), "%s", el.why);
                        return drop_event(f->event, why);
                }
                if (e->ev.authorization_created)
                        e->ev.authorization_created(e->userdata, &a);
                explicit_bzero(&a, sizeof a); /* the preshared key, the ICE passwords */
                return 0;
        }
        if (streq(f->event, "authorization_creation_failed")) {
                const char *id, *reason;

                if (fzd_portal_authorization_failed_parse(f->payload, &id, &reason) < 0)
                        return drop_event(f->event, "it has no usable \"resource_id\"");
                if (e->ev.authorization_failed)
                        e->ev.authorization_failed(e->userdata, id, reason);
                return 0;
        }
        if (streq(f->event, "ice_candidates") || streq(f->event, "invalidate_ice_candidates")) {
                const char *id, *cands[FZD_PORTAL_MAX_CANDIDATES];
                size_t n;
                int r = fzd_portal_candidates_parse(f->payload, &skips, &id, cands, ELEMENTSOF(cands), &n);

                fzd_portal_skips_done(&skips);
                if (r < 0)
                        return drop_event(f->event, "it has no usable \"gateway_id\" or \"candidates\" list");
                if (e->ev.ice_candidates)
                        e->ev.ice_candidates(e->userdata, id, cands, n, streq(f->event, "invalidate_ice_candidates"));
                return 0;
        }
        if (streq(f->event, "relays_presence")) {
                FzdRelay relays[FZD_PORTAL_MAX_RELAYS];
                const char *gone[FZD_PORTAL_MAX_RELAYS];
                size_t n = 0, n_gone = 0;
                int r = fzd_portal_relays_presence_parse(f->payload, &skips, relays, ELEMENTSOF(relays), &n, gone,
                                                         ELEMENTSOF(gone), &n_gone);

                fzd_portal_skips_done(&skips);
                if (r < 0)
                        (void) drop_event(f->event, "the payload is not an object");
                else if (e->ev.relays)
                        e->ev.relays(e->userdata, relays, n, gone, n_gone, false);
                explicit_bzero(relays, sizeof relays);
                return 0;
        }
        return -ENOENT;
}

static int handle_client_event(FzdEngine *e, const FzdPortalFrame *f) {
        char err[200] = "";
        unsigned gen = e->generation;
        int r;

        if (streq(f->event, "phx_reply")) {
                bool ok;
                const char *reason = NULL;

                if (!f->has_ref || f->ref != e->join_ref || e->joined)
                        return 0; /* a reply to nothing we wait for */
                if (fzd_portal_reply_parse(f->payload, &ok, &reason) < 0)
                        return reject(e, "the join reply is malformed");
                if (!ok) {
                        FzdError refused = portal_error(e, FZD_ERR_PORTAL_JOIN_REFUSED, 0);
                        fzd_error_set_detail(&refused, reason);
                        end_session(e, refused);
                        return -ECANCELED;
                }
                e->joined = true;
                log_debug("Joined the portal's client channel.");
                /* This client does ICE only (DESIGN §7.2). */
                (void) send_frame(e, FZD_PHOENIX_TOPIC_CLIENT, "set_snownet_capabilities", "{\"iceless\":false}",
                                  NULL);
                return 0;
        }
        if (streq(f->event, "init"))
                return handle_init(e, f->payload);
        if (!e->got_init) {
                log_debug("Ignoring portal event \"%s\" that arrived before init.", f->event);
                return 0;
        }
        if (streq(f->event, "resource_created_or_updated")) {
                FzdPortalSkips skips = FZD_PORTAL_SKIPS(f->event);
                FzdPortalElement el = { .what = "resource", .index = FZD_PORTAL_NO_INDEX };
                FzdResource *res = NULL;

                r = fzd_portal_resource_parse(f->payload, &skips, &el, &res);
                /* The resource's own line first, then the message's summary. */
                if (r == -EOPNOTSUPP)
                        fzd_portal_skip_unknown(&skips, &el);
                else if (r == -EINVAL)
                        fzd_portal_skip(&skips, &el);
                fzd_portal_skips_done(&skips);
                if (r == -ENOMEM)
                        return reject(e, "out of memory");
                if (r < 0) {
                        /* Unusable now (or of a kind we do not know): skipped, and whatever
                         * we had under that id goes. */
                        if (res && e->ev.resource_deleted)
                                e->ev.resource_deleted(e->userdata, res->id);
                        fzd_resource_free(res);
                        return gen == e->generation ? 0 : -ECANCELED;
                }
                log_debug("Portal: resource %s created or updated.", res->id);
                if (e->ev.resource_upserted)
                        e->ev.resource_upserted(e->userdata, res);
                else
                        fzd_resource_free(res);
                return gen == e->generation ? 0 : -ECANCELED;
        }
        if (streq(f->event, "resource_deleted")) {
                const char *id;

                r = fzd_portal_resource_deleted_parse(f->payload, &id, err, sizeof(err));
                if (r < 0)
                        return drop_event(f->event, err);
                log_debug("Portal: resource %s deleted.", id);
                if (e->ev.resource_deleted)
                        e->ev.resource_deleted(e->userdata, id);
                return gen == e->generation ? 0 : -ECANCELED;
        }
        r = handle_gateway_event(e, f);
        if (r != -ENOENT)
                return r == 0 && gen != e->generation ? -ECANCELED : r;
        if (streq(f->event, "config_changed")) {
                FzdPortalSkips skips = FZD_PORTAL_SKIPS(f->event);
                FzdInterfaceConfig config;

                r = fzd_portal_config_changed_parse(f->payload, &skips, &config, err, sizeof(err));
                fzd_portal_skips_done(&skips);
                if (r < 0)
                        return drop_event(f->event, err); /* the configuration in use stays */
                log_info("The Firezone portal changed this device's interface configuration.");
                if (e->ev.config_changed)
                        e->ev.config_changed(e->userdata, &config);
                return gen == e->generation ? 0 : -ECANCELED;
        }
        log_debug("Ignoring portal event \"%s\".", f->event);
        return 0;
}

static int ws_message(void *userdata, const char *data, size_t len) {
        FzdEngine *e = userdata;
        FzdPortalFrame f;
        char *owned;
        const char *why = NULL;
        int r;

        if (!e->running)
                return -ECANCELED;
        /* A large frame (an init) is read in place, in the buffer it came in (taken from the
         * connection): no copy, and half the memory. */
        owned = len >= FRAME_FREE_LATER ? fzd_ws_take_message(e->ws) : NULL;
        if (owned)
                r = fzd_portal_frame_parse_owned(owned, len, &f, &why);
        else
                r = fzd_portal_frame_parse(data, len, &f, &why);
        if (r == -ENOMEM)
                return reject(e, "out of memory");
        if (r < 0) {
                /* Not a frame we can read at all: which event it was is unknown, so it is
                 * dropped (as Firezone's client does). A lost init or heartbeat reply is
                 * caught by the join and heartbeat timers. */
                if (e->frames_dropped++ < FRAMES_DROPPED_LOGGED)
                        log_warning("Portal: ignoring a frame that cannot be read (%s).", why);
                else
                        log_debug("Portal: ignoring a frame that cannot be read (%s).", why);
                return 0;
        }

        engine_ref(e);
        if (streq(f.event, "disconnect")) {
                const char *reason = NULL;
                (void) fzd_portal_disconnect_reason(f.payload, &reason);
                if (streq_ptr(reason, "token_expired")) {
                        end_session(e, portal_error(e, FZD_ERR_SESSION_EXPIRED, 0));
                        r = -ECANCELED;
                } else
                        r = reject(e, "the portal ended the session");
        } else if (streq(f.event, "phx_close") && streq(f.topic, FZD_PHOENIX_TOPIC_CLIENT)) {
                r = reject(e, "the portal closed the client channel");
        } else if (streq(f.event, "phx_error")) {
                log_debug("The portal reported a channel error on topic \"%s\", ignoring.", f.topic);
                r = 0;
        } else if (streq(f.topic, FZD_PHOENIX_TOPIC_PHOENIX)) {
                if (streq(f.event, "phx_reply") && f.has_ref && f.ref == e->heartbeat_ref)
                        e->heartbeats_unanswered = 0;
                r = 0;
        } else if (streq(f.topic, FZD_PHOENIX_TOPIC_CLIENT)) {
                r = handle_client_event(e, &f);
        } else {
                log_debug("Ignoring a portal message on topic \"%s\".", f.topic);
                r = 0;
        }
        if (len >= FRAME_FREE_LATER && e->trim_event) {
                /* Unmapping megabytes takes milliseconds: do it from the loop, after what the
                 * frame set off and made pending first (the DNS step that "connected" waits
                 * for). At most one such frame is kept. */
                fzd_portal_frame_done(&e->spent);
                e->spent = f;
                (void) sd_event_source_set_enabled(e->trim_event, SD_EVENT_ONESHOT);
        } else
                fzd_portal_frame_done(&f);
        engine_unref(e); /* the ws still holds us through its userdata only while we live */
        return r;
}

static void ws_closed(void *userdata, const FzdWsError *err) {
        FzdEngine *e = userdata;
        bool was_open = e->joined || e->got_init;
        FzdError out;

        e->ws = fzd_ws_free(e->ws);

        switch (err->kind) {
        case FZD_WS_ERROR_CONNECT:
                /* All addresses failed: they may be stale, so resolve again next time. */
                e->resolve_again = true;
                schedule_retry(e, UINT64_MAX, portal_error(e, FZD_ERR_PORTAL_UNREACHABLE, err->errnum));
                return;
        case FZD_WS_ERROR_TIMEOUT:
                e->resolve_again = true;
                schedule_retry(e, UINT64_MAX, portal_error(e, FZD_ERR_PORTAL_TIMEOUT, 0));
                return;
        case FZD_WS_ERROR_TLS_VERIFY:
        case FZD_WS_ERROR_TLS:
        case FZD_WS_ERROR_HANDSHAKE:
                out = portal_error(e,
                                   err->kind == FZD_WS_ERROR_TLS_VERIFY ? FZD_ERR_PORTAL_TLS_VERIFY
                                   : err->kind == FZD_WS_ERROR_TLS      ? FZD_ERR_PORTAL_TLS
                                                                        : FZD_ERR_PORTAL_NOT_WEBSOCKET,
                                   0);
                fzd_error_set_detail(&out, err->detail);
                schedule_retry(e, UINT64_MAX, out);
                return;
        case FZD_WS_ERROR_HTTP: {
                unsigned s = err->http_status;
                uint64_t delay;

                if (s == 401)
                        end_session(e, portal_error(e, FZD_ERR_TOKEN_REJECTED, 0));
                else if (s == 403)
                        end_session(e, portal_error(e, FZD_ERR_SIGN_IN_REFUSED, 0));
                else if ((s == 429 || s == 503) && err->has_retry_after &&
                         fzd_retry_after_parse(err->retry_after, (uint64_t) time(NULL) * USEC_PER_SEC,
                                               &delay) >= 0) {
                        /* Never sooner than a second, nor than the backoff (Retry-After: 0). */
                        uint64_t least = fzd_backoff_next(&e->backoff, random_u64());
                        least = least > FZD_RETRY_AFTER_MIN_USEC ? least : FZD_RETRY_AFTER_MIN_USEC;
                        out = portal_error(e, FZD_ERR_PORTAL_BUSY, 0);
                        out.number = s;
                        schedule_retry(e, delay > least ? delay : least, out);
                } else if (s >= 400 && s < 500 && s != 408 && s != 429) {
                        out = portal_error(e, FZD_ERR_PORTAL_REFUSED_CLIENT, 0);
                        out.number = s;
                        end_session(e, out);
                } else {
                        out = portal_error(e, FZD_ERR_PORTAL_HTTP, 0);
                        out.number = s;
                        schedule_retry(e, UINT64_MAX, out);
                }
                return;
        }
        case FZD_WS_ERROR_TOO_BIG:
                out = portal_error(e, FZD_ERR_PORTAL_TOO_BIG, 0);
                out.number = FZD_PORTAL_MAX_FRAME / (1024U * 1024U);
                schedule_retry(e, UINT64_MAX, out);
                return;
        case FZD_WS_ERROR_REJECTED:
                out = portal_error(e, FZD_ERR_PORTAL_UNREADABLE, 0);
                fzd_error_set_detail(&out, e->reject_reason[0] ? e->reject_reason : "malformed");
                schedule_retry(e, UINT64_MAX, out);
                return;
        case FZD_WS_ERROR_CLOSED:
                out = portal_error(e, FZD_ERR_PORTAL_CLOSED, 0);
                out.number = err->close_code;
                schedule_retry(e, UINT64_MAX, out);
                return;
        case FZD_WS_ERROR_EOF:
        case FZD_WS_ERROR_IO:
        case FZD_WS_ERROR_PROTOCOL:
        default:
                out = portal_error(e, was_open ? FZD_ERR_PORTAL_LOST : FZD_ERR_PORTAL_CONNECT_FAILED,
                                   err->kind == FZD_WS_ERROR_IO ? err->errnum : 0);
                fzd_error_set_detail(
                        &out, err->kind == FZD_WS_ERROR_IO && err->errnum ? strerror(err->errnum)
                              : err->kind == FZD_WS_ERROR_PROTOCOL        ? "a WebSocket protocol error"
                                                                   : "the portal closed the connection");
                schedule_retry(e, UINT64_MAX, out);
                return;
        }
}

/* ---- public API --------------------------------------------------------------------------- */

static int on_trim(sd_event_source *s, void *userdata) {
        FzdEngine *e = userdata;

        fzd_portal_frame_done(&e->spent);
        (void) malloc_trim(0);
        return 0;
}

int fzd_engine_new(sd_event *event, const FzdEngineEvents *events, void *userdata, FzdEngine **ret) {
        FzdEngine *e;
        int r;

        if (!event || !events || !ret)
                return -EINVAL;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->n_ref = 1;
        e->event = sd_event_ref(event);
        e->ev = *events;
        e->userdata = userdata;
        e->heartbeat_interval = HEARTBEAT_INTERVAL_USEC;
        e->join_timeout = JOIN_TIMEOUT_USEC;

        r = sd_event_add_time(event, &e->retry_timer, CLOCK_MONOTONIC, 0, 0, on_retry_timer, e);
        if (r >= 0)
                r = sd_event_add_time(event, &e->heartbeat_timer, CLOCK_MONOTONIC, 0, 0, on_heartbeat_timer, e);
        if (r >= 0)
                r = sd_event_add_time(event, &e->join_timer, CLOCK_MONOTONIC, 0, 0, on_join_timer, e);
        if (r >= 0)
                r = sd_event_add_defer(event, &e->trim_event, on_trim, e);
        if (r < 0) {
                engine_destroy(e);
                return r;
        }
        (void) sd_event_source_set_enabled(e->retry_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(e->heartbeat_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(e->join_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(e->trim_event, SD_EVENT_OFF);
        (void) sd_event_source_set_description(e->retry_timer, "portal-retry");
        (void) sd_event_source_set_description(e->heartbeat_timer, "portal-heartbeat");
        (void) sd_event_source_set_description(e->join_timer, "portal-join");
        *ret = e;
        return 0;
}

static void engine_destroy(FzdEngine *e) {
        stop_session(e);
        e->retry_timer = sd_event_source_disable_unref(e->retry_timer);
        e->heartbeat_timer = sd_event_source_disable_unref(e->heartbeat_timer);
        e->join_timer = sd_event_source_disable_unref(e->join_timer);
        e->trim_event = sd_event_source_disable_unref(e->trim_event);
        fzd_portal_frame_done(&e->spent);
        if (e->tls)
                SSL_CTX_free(e->tls);
        fzd_url_done(&e->url);
        free(e->device_id);
        free(e->device_name);
        free(e->user_agent);
        sd_event_unref(e->event);
        free(e);
}

FzdEngine *fzd_engine_free(FzdEngine *e) {
        if (!e)
                return NULL;
        stop_session(e);
        engine_unref(e);
        return NULL;
}

void fzd_engine_set_timing(FzdEngine *e, uint64_t heartbeat_usec, uint64_t join_timeout_usec) {
        if (heartbeat_usec > 0)
                e->heartbeat_interval = heartbeat_usec;
        if (join_timeout_usec > 0)
                e->join_timeout = join_timeout_usec;
}

/* "Debian/12 firezone-client-tunnel/0.1.0 (x86_64; 6.1.0-18-amd64)", like Firezone's
 * "{os}/{version} {component}/{version} ({arch}; {kernel})". */
static int make_user_agent(char **ret) {
        char os[64] = "Linux", version[64] = "unknown", line[256];
        struct utsname u = {};
        FILE *f;

        f = fopen("/etc/os-release", "re");
        if (!f)
                f = fopen("/usr/lib/os-release", "re");
        if (f) {
                while (fgets(line, sizeof(line), f)) {
                        char *v, *dst;
                        size_t size;

                        if (strncmp(line, "NAME=", 5) == 0) {
                                v = line + 5;
                                dst = os;
                                size = sizeof(os);
                        } else if (strncmp(line, "VERSION_ID=", 11) == 0) {
                                v = line + 11;
                                dst = version;
                                size = sizeof(version);
                        } else
                                continue;
                        v += strspn(v, "\"'");
                        /* first word, header-safe characters only */
                        size_t n = 0;
                        for (; v[n] && n + 1 < size; n++)
                                if (!((v[n] >= 'A' && v[n] <= 'Z') || (v[n] >= 'a' && v[n] <= 'z') ||
                                      (v[n] >= '0' && v[n] <= '9') || v[n] == '.' || v[n] == '-' || v[n] == '_'))
                                        break;
                        if (n > 0) {
                                memcpy(dst, v, n);
                                dst[n] = 0;
                        }
                }
                fclose(f);
        }
        (void) uname(&u);
        for (char *p = u.release; *p; p++)
                if (*p < 0x20 || *p >= 0x7f || *p == ';' || *p == ')')
                        *p = '_';
        for (char *p = u.machine; *p; p++)
                if (*p < 0x20 || *p >= 0x7f || *p == ';' || *p == ')')
                        *p = '_';
        if (asprintf(ret, "%s/%s firezone-client-tunnel/%s (%s; %s)", os, version, FZ_VERSION, u.machine, u.release) <
            0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

static bool token_ok(const FzdSecret *token) {
        const char *reason;
        return fzd_token_check(fzd_secret_get(token), fzd_secret_len(token), &reason) >= 0;
}

int fzd_engine_start(FzdEngine *e, const FzdEngineParams *params, FzdSecret **token) {
        FzdUrl url;
        char host[256];
        int r;

        if (!e || !params || !token || !*token || isempty(params->api_url) || isempty(params->device_id))
                return -EINVAL;
        if (!token_ok(*token))
                return log_error_errno(EINVAL, "The token contains spaces or control characters; it cannot be sent "
                                               "to the portal. Sign in again.");
        r = fzd_url_parse(params->api_url, &url, NULL);
        if (r < 0)
                return log_error_errno(r, "Invalid portal URL: %m");

        fzd_engine_stop(e);
        fzd_url_done(&e->url);
        e->url = url;

        if (free_and_strdup(&e->device_id, params->device_id) < 0)
                return -ENOMEM;
        if (isempty(params->device_name)) {
                if (gethostname(host, sizeof(host)) < 0 || !host[0])
                        strcpy(host, "linux");
                host[sizeof(host) - 1] = 0;
        } else
                (void) snprintf(host, sizeof(host), "%s", params->device_name);
        if (free_and_strdup(&e->device_name, host) < 0)
                return -ENOMEM;
        if (!e->user_agent) {
                r = make_user_agent(&e->user_agent);
                if (r < 0)
                        return r;
        }
        if (e->url.tls && !e->tls) {
                r = fzd_tls_context_new(&e->tls);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up TLS: %m");
        }
        e->mark = params->firewall_mark;

        e->token = TAKE_PTR(*token);
        e->running = true;
        e->n_addrs = 0;
        e->resolve_again = true;
        fzd_backoff_reset(&e->backoff);
        log_debug("Portal User-Agent: %s", e->user_agent);
        connect_now(e);
        return 0;
}

void fzd_engine_stop(FzdEngine *e) {
        if (!e || !e->running)
                return;
        log_info("Disconnecting from the Firezone portal.");
        stop_session(e);
}

int fzd_engine_reconnect(FzdEngine *e) {
        if (!e || !e->running)
                return -ENOTCONN;
        log_info("Reconnecting to the Firezone portal.");
        fzd_backoff_reset(&e->backoff);
        e->resolve_again = true;
        connect_now(e);
        return 0;
}

int fzd_engine_replace_token(FzdEngine *e, FzdSecret **token) {
        if (!e || !token || !*token)
                return -EINVAL;
        if (!e->running)
                return -ENOTCONN;
        if (!token_ok(*token))
                return -EINVAL;
        fzd_secret_free(e->token);
        e->token = TAKE_PTR(*token);
        return fzd_engine_reconnect(e);
}

static int send_event(FzdEngine *e, const char *event, const char *payload) {
        if (!e || !e->running || !e->ws || !e->joined)
                return -ENOTCONN;
        return send_frame(e, FZD_PHOENIX_TOPIC_CLIENT, event, payload, NULL);
}

int fzd_engine_request_authorization(FzdEngine *e, const char *resource_id, const char *const *connected_gateway_ids,
                                     size_t n) {
        _cleanup_(freep) char *payload = NULL;
        int r = fzd_portal_request_authorization_build(resource_id, connected_gateway_ids, n, &payload);

        return r < 0 ? r : send_event(e, "request_authorization", payload);
}

int fzd_engine_send_candidates(FzdEngine *e, const char *gateway_id, const char *const *candidates, size_t n,
                               bool invalidate) {
        _cleanup_(freep) char *payload = NULL;
        int r = fzd_portal_candidates_build(gateway_id, candidates, n, &payload);

        return r < 0 ? r
                     : send_event(e, invalidate ? "invalidate_gateway_ice_candidates" : "new_gateway_ice_candidates",
                                  payload);
}

int fzd_engine_no_relays(FzdEngine *e) {
        return send_event(e, "no_relays", "{}");
}

int fzd_engine_private_key(FzdEngine *e, uint8_t ret[32]) {
        size_t len = 32;

        if (!e || !e->key)
                return -ENOKEY;
        if (EVP_PKEY_get_raw_private_key(e->key, ret, &len) != 1 || len != 32)
                return -EIO;
        return 0;
}

bool fzd_engine_is_running(const FzdEngine *e) {
        return e && e->running;
}

const FzdEngineOps fzd_engine_ops = {
        .start = fzd_engine_start,
        .stop = fzd_engine_stop,
        .reconnect = fzd_engine_reconnect,
        .replace_token = fzd_engine_replace_token,
        .free = fzd_engine_free,
        .private_key = fzd_engine_private_key,
        .request_authorization = fzd_engine_request_authorization,
        .send_candidates = fzd_engine_send_candidates,
        .no_relays = fzd_engine_no_relays,
};
