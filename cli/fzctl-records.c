/* SPDX-License-Identifier: Apache-2.0 */
#include "fzctl-records.h"

void fzctl_status_fill(FzctlNode *o, FzClientStatus *s) {
        fzctl_object_add_string(o, "state", "State",
                                fz_client_state_to_string(fz_client_status_get_state(s)));
        fzctl_object_add_string(o, "mode", "Mode", fz_client_mode_to_string(fz_client_status_get_mode(s)));
        fzctl_object_add_string(o, "account-slug", "Account", fz_client_status_get_account_slug(s));
        fzctl_object_add_string(o, "actor-name", "Signed in as", fz_client_status_get_actor_name(s));
        fzctl_object_add_string(o, "interface", "Interface", fz_client_status_get_interface_name(s));
        fzctl_object_add_string(o, "ipv4", "IPv4", fz_client_status_get_ipv4(s));
        fzctl_object_add_string(o, "ipv6", "IPv6", fz_client_status_get_ipv6(s));
        fzctl_object_add_string(o, "dns-control", "DNS control", fz_client_status_get_dns_control(s));
        fzctl_object_add_time_usec(o, "connected-since", "Connected since",
                                   fz_client_status_get_connected_since(s));
        fzctl_object_add_uint(o, "resource-count", "Resources", fz_client_status_get_resource_count(s));
        fzctl_internet_resource_fill(o, fz_client_status_get_internet_resource_enabled(s));
        fzctl_object_add_uint(o, "gateways", "Gateways", fz_client_status_get_gateways(s));
        fzctl_object_add_uint(o, "rx-bytes", "Received", fz_client_status_get_rx_bytes(s));
        fzctl_object_add_uint(o, "tx-bytes", "Sent", fz_client_status_get_tx_bytes(s));
        fzctl_object_add_bool(o, "requires-sign-in", "Needs sign-in",
                              fz_client_status_get_requires_sign_in(s));
        fzctl_object_add_string(o, "last-error", "Last error", fz_client_status_get_last_error(s));
        fzctl_object_add_string(o, "version", "Service version", fz_client_status_get_version(s));
}

void fzctl_internet_resource_fill(FzctlNode *o, gboolean enabled) {
        fzctl_object_add_bool(o, "internet-resource-enabled", "Internet resource", enabled);
}

FzctlNode *fzctl_status_node(FzClientStatus *status) {
        FzctlNode *o = fzctl_object_new();
        fzctl_status_fill(o, status);
        return o;
}

FzctlNode *fzctl_resource_node(FzResource *r) {
        FzctlNode *o = fzctl_object_new();
        FzctlNode *sites = fzctl_list_new();
        GPtrArray *rs = fz_resource_get_sites(r);

        for (guint i = 0; i < rs->len; i++) {
                FzResourceSite *site = g_ptr_array_index(rs, i);
                FzctlNode *so = fzctl_object_new();
                fzctl_object_add_string(so, "name", "Name", fz_resource_site_get_name(site));
                fzctl_object_add_string(so, "id", "ID", fz_resource_site_get_id(site));
                fzctl_array_add(sites, so);
        }
        fzctl_object_add_string(o, "name", "Name", fz_resource_get_name(r));
        fzctl_object_add_string(o, "id", "ID", fz_resource_get_id(r));
        fzctl_object_add_string(o, "type", "Type",
                                fz_resource_type_to_string(fz_resource_get_resource_type(r)));
        fzctl_object_add_string(o, "address", "Address", fz_resource_get_address(r));
        fzctl_object_add_string(o, "status", "Status",
                                fz_resource_status_to_string(fz_resource_get_status(r)));
        fzctl_object_add_string(o, "description", "Description", fz_resource_get_description(r));
        fzctl_object_add_node(o, "sites", "Sites", sites);
        return o;
}

FzctlNode *fzctl_resources_node(GPtrArray *resources) {
        FzctlNode *a = fzctl_array_new("No resources.");

        for (guint i = 0; i < resources->len; i++)
                fzctl_array_add(a, fzctl_resource_node(g_ptr_array_index(resources, i)));
        return a;
}

FzctlNode *fzctl_event_node(const char *event) {
        FzctlNode *o = fzctl_object_new();
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        g_autofree char *time = g_date_time_format_iso8601(now);

        fzctl_object_add_string(o, "time", "Time", time);
        fzctl_object_add_string(o, "event", "Event", event);
        return o;
}
