/* SPDX-License-Identifier: Apache-2.0 */
/* A program as a user of the installed library writes it: the one public include, no
 * internal defines, linked against libfirezone-client-1.so only. Proves the header is
 * self-contained and the exported symbols suffice. */
#include <firezone-client.h>
#include <stdio.h>
#include <string.h>

int main(void) {
        g_autoptr(GError) e = g_error_new_literal(FZ_CLIENT_ERROR, FZ_CLIENT_ERROR_DAEMON_NOT_RUNNING, "x");
        g_autofree char *name = g_dbus_error_encode_gerror(e);
        GEnumClass *states = g_type_class_ref(FZ_TYPE_CLIENT_STATE);
        GEnumValue *v = g_enum_get_value(states, FZ_CLIENT_STATE_RECONNECTING);
        int ok = strcmp(name, "dev.firezone.Client1.Error.DaemonNotRunning") == 0 &&
                 strcmp(v->value_nick, fz_client_state_to_string(FZ_CLIENT_STATE_RECONNECTING)) == 0 &&
                 g_type_is_a(FZ_TYPE_CLIENT, G_TYPE_ASYNC_INITABLE) &&
                 g_type_is_a(FZ_TYPE_RESOURCE, G_TYPE_OBJECT) && G_TYPE_IS_BOXED(FZ_TYPE_RESOURCE_SITE);

        g_type_class_unref(states);
        printf("%s\n", ok ? "ok" : "public API mismatch");
        return ok ? 0 : 1;
}
