/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-client-private.h"
#include "fz-client-enum-types.h"

/**
 * FzResource:
 *
 * Something the portal lets this device reach: a DNS name, an address range or the
 * Internet. Immutable: a change in the daemon's list arrives as a new list of new
 * objects (#FzClient::resources-changed).
 *
 * Since: 0.1
 */
struct _FzResource {
        GObject parent_instance;
        GVariant *source; /* the a{sv} it was made from, for fz_resource_equal() */
        gchar *id;
        FzResourceType type;
        gchar *name;
        gchar *address;
        gchar *description;
        FzResourceStatus status;
        GPtrArray *sites;
};

struct _FzResourceSite {
        gchar *id;
        gchar *name;
};

enum {
        PROP_0,
        PROP_ID,
        PROP_RESOURCE_TYPE,
        PROP_NAME,
        PROP_ADDRESS,
        PROP_DESCRIPTION,
        PROP_STATUS,
        N_PROPS,
};
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE(FzResource, fz_resource, G_TYPE_OBJECT)
G_DEFINE_BOXED_TYPE(FzResourceSite, fz_resource_site, fz_resource_site_copy, fz_resource_site_free)

static const gchar *const type_names[] = {
        [FZ_RESOURCE_TYPE_UNKNOWN] = "unknown",
        [FZ_RESOURCE_TYPE_DNS] = "dns",
        [FZ_RESOURCE_TYPE_CIDR] = "cidr",
        [FZ_RESOURCE_TYPE_INTERNET] = "internet",
};

static const gchar *const status_names[] = {
        [FZ_RESOURCE_STATUS_UNKNOWN] = "unknown",
        [FZ_RESOURCE_STATUS_ONLINE] = "online",
        [FZ_RESOURCE_STATUS_OFFLINE] = "offline",
};

/**
 * fz_resource_type_to_string:
 * @type: a resource type
 *
 * Returns: (transfer none): the daemon's name for @type, e.g. "cidr"; "unknown" for an invalid value
 *
 * Since: 0.1
 */
const gchar *fz_resource_type_to_string(FzResourceType type) {
        return fz_enum_to_name(type_names, G_N_ELEMENTS(type_names), type);
}

/**
 * fz_resource_type_from_string:
 * @type: (nullable): a type name from the daemon
 *
 * Returns: the type, or %FZ_RESOURCE_TYPE_UNKNOWN if @type is %NULL or not known
 *
 * Since: 0.1
 */
FzResourceType fz_resource_type_from_string(const gchar *type) {
        return fz_enum_from_name(type_names, G_N_ELEMENTS(type_names), type);
}

/**
 * fz_resource_status_to_string:
 * @status: a resource status
 *
 * Returns: (transfer none): the daemon's name for @status, e.g. "online"; "unknown" for an invalid value
 *
 * Since: 0.1
 */
const gchar *fz_resource_status_to_string(FzResourceStatus status) {
        return fz_enum_to_name(status_names, G_N_ELEMENTS(status_names), status);
}

/**
 * fz_resource_status_from_string:
 * @status: (nullable): a status name from the daemon
 *
 * Returns: the status, or %FZ_RESOURCE_STATUS_UNKNOWN if @status is %NULL or not known
 *
 * Since: 0.1
 */
FzResourceStatus fz_resource_status_from_string(const gchar *status) {
        return fz_enum_from_name(status_names, G_N_ELEMENTS(status_names), status);
}

/**
 * fz_resource_site_copy:
 * @site: a site
 *
 * Returns: (transfer full): a copy of @site
 *
 * Since: 0.1
 */
FzResourceSite *fz_resource_site_copy(const FzResourceSite *site) {
        FzResourceSite *copy;

        g_return_val_if_fail(site != NULL, NULL);
        copy = g_new0(FzResourceSite, 1);
        copy->id = g_strdup(site->id);
        copy->name = g_strdup(site->name);
        return copy;
}

/**
 * fz_resource_site_free:
 * @site: (nullable): a site
 *
 * Frees @site.
 *
 * Since: 0.1
 */
void fz_resource_site_free(FzResourceSite *site) {
        if (site == NULL)
                return;
        g_free(site->id);
        g_free(site->name);
        g_free(site);
}

/**
 * fz_resource_site_get_id:
 * @site: a site
 *
 * Returns: (transfer none): the site's id
 *
 * Since: 0.1
 */
const gchar *fz_resource_site_get_id(const FzResourceSite *site) {
        g_return_val_if_fail(site != NULL, NULL);
        return site->id;
}

/**
 * fz_resource_site_get_name:
 * @site: a site
 *
 * Returns: (transfer none): the site's name, for display
 *
 * Since: 0.1
 */
const gchar *fz_resource_site_get_name(const FzResourceSite *site) {
        g_return_val_if_fail(site != NULL, NULL);
        return site->name;
}

static void fz_resource_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec) {
        FzResource *self = FZ_RESOURCE(object);

        switch (prop_id) {
        case PROP_ID:
                g_value_set_string(value, self->id);
                break;
        case PROP_RESOURCE_TYPE:
                g_value_set_enum(value, self->type);
                break;
        case PROP_NAME:
                g_value_set_string(value, self->name);
                break;
        case PROP_ADDRESS:
                g_value_set_string(value, self->address);
                break;
        case PROP_DESCRIPTION:
                g_value_set_string(value, self->description);
                break;
        case PROP_STATUS:
                g_value_set_enum(value, self->status);
                break;
        default:
                G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        }
}

static void fz_resource_finalize(GObject *object) {
        FzResource *self = FZ_RESOURCE(object);

        g_clear_pointer(&self->source, g_variant_unref);
        g_free(self->id);
        g_free(self->name);
        g_free(self->address);
        g_free(self->description);
        g_clear_pointer(&self->sites, g_ptr_array_unref);
        G_OBJECT_CLASS(fz_resource_parent_class)->finalize(object);
}

static void fz_resource_class_init(FzResourceClass *klass) {
        GObjectClass *object_class = G_OBJECT_CLASS(klass);
        const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

        object_class->get_property = fz_resource_get_property;
        object_class->finalize = fz_resource_finalize;

        /**
         * FzResource:id:
         *
         * The portal's id of the resource; unique within a list.
         *
         * Since: 0.1
         */
        props[PROP_ID] = g_param_spec_string("id", NULL, NULL, "", flags);
        /**
         * FzResource:resource-type:
         *
         * What kind of address the resource has.
         *
         * Since: 0.1
         */
        props[PROP_RESOURCE_TYPE] = g_param_spec_enum("resource-type", NULL, NULL, FZ_TYPE_RESOURCE_TYPE,
                                                      FZ_RESOURCE_TYPE_UNKNOWN, flags);
        /**
         * FzResource:name:
         *
         * The name to show.
         *
         * Since: 0.1
         */
        props[PROP_NAME] = g_param_spec_string("name", NULL, NULL, "", flags);
        /**
         * FzResource:address:
         *
         * The DNS name or address range; empty for the Internet resource.
         *
         * Since: 0.1
         */
        props[PROP_ADDRESS] = g_param_spec_string("address", NULL, NULL, "", flags);
        /**
         * FzResource:description:
         *
         * The administrator's description; may be empty.
         *
         * Since: 0.1
         */
        props[PROP_DESCRIPTION] = g_param_spec_string("description", NULL, NULL, "", flags);
        /**
         * FzResource:status:
         *
         * Whether the resource can be reached.
         *
         * Since: 0.1
         */
        props[PROP_STATUS] = g_param_spec_enum("status", NULL, NULL, FZ_TYPE_RESOURCE_STATUS,
                                               FZ_RESOURCE_STATUS_UNKNOWN, flags);
        g_object_class_install_properties(object_class, N_PROPS, props);
}

static void fz_resource_init(FzResource *self) {
        self->sites = g_ptr_array_new_with_free_func((GDestroyNotify)fz_resource_site_free);
}

/* A string field: a value of another type leaves it as it was. */
static void take_string(gchar **field, GVariant *value) {
        if (!g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
                return;
        g_free(*field);
        *field = g_variant_dup_string(value, NULL);
}

static void take_sites(GPtrArray *sites, GVariant *value) {
        GVariantIter iter;
        const gchar *id, *name;

        if (!g_variant_is_of_type(value, G_VARIANT_TYPE("a(ss)")))
                return;
        g_ptr_array_set_size(sites, 0);
        g_variant_iter_init(&iter, value);
        while (g_variant_iter_next(&iter, "(&s&s)", &id, &name)) {
                FzResourceSite *site = g_new0(FzResourceSite, 1);
                site->id = g_strdup(id);
                site->name = g_strdup(name);
                g_ptr_array_add(sites, site);
        }
}

FzResource *fz_resource_new_from_variant(GVariant *dict) {
        g_autoptr(FzResource) self = NULL;
        GVariantIter iter;
        const gchar *key;
        GVariant *value;

        if (dict == NULL || !g_variant_is_of_type(dict, G_VARIANT_TYPE_VARDICT))
                return NULL;

        self = g_object_new(FZ_TYPE_RESOURCE, NULL);
        self->id = g_strdup("");
        self->name = g_strdup("");
        self->address = g_strdup("");
        self->description = g_strdup("");
        /* One pass over the dictionary: lists can hold thousands of resources. */
        g_variant_iter_init(&iter, dict);
        while (g_variant_iter_loop(&iter, "{&sv}", &key, &value)) {
                if (g_str_equal(key, FZ_RESOURCE_KEY_ID))
                        take_string(&self->id, value);
                else if (g_str_equal(key, FZ_RESOURCE_KEY_TYPE)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
                                self->type = fz_resource_type_from_string(g_variant_get_string(value, NULL));
                } else if (g_str_equal(key, FZ_RESOURCE_KEY_NAME))
                        take_string(&self->name, value);
                else if (g_str_equal(key, FZ_RESOURCE_KEY_ADDRESS))
                        take_string(&self->address, value);
                else if (g_str_equal(key, FZ_RESOURCE_KEY_DESCRIPTION))
                        take_string(&self->description, value);
                else if (g_str_equal(key, FZ_RESOURCE_KEY_STATUS)) {
                        if (g_variant_is_of_type(value, G_VARIANT_TYPE_STRING))
                                self->status =
                                        fz_resource_status_from_string(g_variant_get_string(value, NULL));
                } else if (g_str_equal(key, FZ_RESOURCE_KEY_SITES))
                        take_sites(self->sites, value);
        }
        /* A resource without an identity cannot be shown or compared. */
        if (*self->id == '\0')
                return NULL;
        self->source = g_variant_ref_sink(dict);
        return g_steal_pointer(&self);
}

GPtrArray *fz_resource_list_new_from_variant(GVariant *list) {
        GPtrArray *resources = g_ptr_array_new_with_free_func(g_object_unref);
        GVariantIter iter;
        GVariant *child;

        if (list == NULL || !g_variant_is_of_type(list, G_VARIANT_TYPE("aa{sv}")))
                return resources;
        g_variant_iter_init(&iter, list);
        while ((child = g_variant_iter_next_value(&iter)) != NULL) {
                FzResource *r = fz_resource_new_from_variant(child);
                if (r != NULL)
                        g_ptr_array_add(resources, r);
                g_variant_unref(child);
        }
        return resources;
}

gboolean fz_resource_equal(FzResource *a, FzResource *b) {
        g_return_val_if_fail(FZ_IS_RESOURCE(a) && FZ_IS_RESOURCE(b), FALSE);
        return g_variant_equal(a->source, b->source);
}

/**
 * fz_resource_get_id:
 * @self: a resource
 *
 * Returns: (transfer none): the value of #FzResource:id
 *
 * Since: 0.1
 */
const gchar *fz_resource_get_id(FzResource *self) {
        g_return_val_if_fail(FZ_IS_RESOURCE(self), NULL);
        return self->id;
}

/**
 * fz_resource_get_resource_type:
 * @self: a resource
 *
 * Returns: the value of #FzResource:resource-type
 *
 * Since: 0.1
 */
FzResourceType fz_resource_get_resource_type(FzResource *self) {
        g_return_val_if_fail(FZ_IS_RESOURCE(self), FZ_RESOURCE_TYPE_UNKNOWN);
        return self->type;
}

/**
 * fz_resource_get_name:
 * @self: a resource
 *
 * Returns: (transfer none): the value of #FzResource:name
 *
 * Since: 0.1
 */
const gchar *fz_resource_get_name(FzResource *self) {
        g_return_val_if_fail(FZ_IS_RESOURCE(self), NULL);
        return self->name;
}

/**
 * fz_resource_get_address:
 * @self: a resource
 *
 * Returns: (transfer none): the value of #FzResource:address
 *
 * Since: 0.1
 */
const gchar *fz_resource_get_address(FzResource *self) {
        g_return_val_if_fail(FZ_IS_RESOURCE(self), NULL);
        return self->address;
}

/**
 * fz_resource_get_description:
 * @self: a resource
 *
 * Returns: (transfer none): the value of #FzResource:description
 *
 * Since: 0.1
 */
const gchar *fz_resource_get_description(FzResource *self) {
        g_return_val_if_fail(FZ_IS_RESOURCE(self), NULL);
        return self->description;
}

/**
 * fz_resource_get_status:
 * @self: a resource
 *
 * Returns: the value of #FzResource:status
 *
 * Since: 0.1
 */
FzResourceStatus fz_resource_get_status(FzResource *self) {
        g_return_val_if_fail(FZ_IS_RESOURCE(self), FZ_RESOURCE_STATUS_UNKNOWN);
        return self->status;
}

/**
 * fz_resource_get_sites:
 * @self: a resource
 *
 * The sites (groups of gateways) that serve the resource.
 *
 * Returns: (transfer none) (element-type FzResourceSite): the sites, possibly empty
 *
 * Since: 0.1
 */
GPtrArray *fz_resource_get_sites(FzResource *self) {
        g_return_val_if_fail(FZ_IS_RESOURCE(self), NULL);
        return self->sites;
}
