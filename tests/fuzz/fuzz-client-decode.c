/* SPDX-License-Identifier: Apache-2.0 */
/* libfirezone-client's decoders of what the daemon sends (Status(), ListResources(),
 * StateChanged, ResourcesChanged, PropertiesChanged) and firezonectl's renderings of the
 * result. Input: one byte choosing the message, then a serialized GVariant of that type
 * (GVariant normalizes untrusted data; the decoders must cope with whatever it yields). */
#include <stdint.h>

#include "fz-client-private.h"
#include "../../cli/fzctl-records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render(FzctlNode *node) {
        for (int o = FZCTL_OUTPUT_TEXT; o <= FZCTL_OUTPUT_JSON; o++)
                g_free(fzctl_render(node, (FzctlOutput)o));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const types[] = {"a{sv}", "aa{sv}", "(sa{sv})", "(aa{sv})", "(sa{sv}as)"};
        static const char *const members[][2] = {
                {NULL, NULL},
                {NULL, NULL},
                {"dev.firezone.Client1", "StateChanged"},
                {"dev.firezone.Client1", "ResourcesChanged"},
                {"org.freedesktop.DBus.Properties", "PropertiesChanged"},
        };
        g_autoptr(GBytes) bytes = NULL;
        g_autoptr(GVariant) v = NULL;
        unsigned kind;

        if (size < 1)
                return 0;
        kind = data[0] % G_N_ELEMENTS(types);
        bytes = g_bytes_new(data + 1, size - 1);
        v = g_variant_ref_sink(g_variant_new_from_bytes(G_VARIANT_TYPE(types[kind]), bytes, FALSE));

        if (kind == 0) {
                g_autoptr(FzClientStatus) status = fz_client_status_new_from_variant(v);
                g_autoptr(FzctlNode) node = fzctl_status_node(status);
                render(node);
        } else if (kind == 1) {
                g_autoptr(GPtrArray) list = fz_resource_list_new_from_variant(v);
                g_autoptr(FzctlNode) node = fzctl_resources_node(list);
                render(node);
        } else {
                g_autoptr(FzClient) client = g_object_new(FZ_TYPE_CLIENT, NULL);
                g_autoptr(GPtrArray) list = NULL;
                g_autoptr(FzctlNode) node = NULL;

                fz_client_handle_signal(client, members[kind][0], members[kind][1], v);
                list = fz_client_get_resources(client);
                node = fzctl_resources_node(list);
                render(node);
        }
        return 0;
}
