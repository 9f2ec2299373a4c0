/* SPDX-License-Identifier: Apache-2.0 */
#include "fz-keyring.h"

#include <libsecret/secret.h>
#include <string.h>

#include "fz-sign-in.h"

#define PURPOSE "interactive-token"

/* "purpose" finds the item; the account and the actor ride along, so that a sign-in at
 * start-up can show who is signed in. They are not secret. */
static const SecretSchema *token_schema(void) {
        static const SecretSchema schema = {
                FZ_KEYRING_SCHEMA_NAME,
                SECRET_SCHEMA_NONE,
                {
                        {"purpose", SECRET_SCHEMA_ATTRIBUTE_STRING},
                        {"account-slug", SECRET_SCHEMA_ATTRIBUTE_STRING},
                        {"actor-name", SECRET_SCHEMA_ATTRIBUTE_STRING},
                        {NULL, 0},
                },
        };
        return &schema;
}

void fz_stored_token_free(FzStoredToken *stored) {
        if (stored == NULL)
                return;
        fz_sign_in_token_free(stored->token);
        g_free(stored->account_slug);
        g_free(stored->actor_name);
        g_free(stored);
}

/* ---- store: clear, then create (items with other attributes would otherwise linger) ---- */

typedef struct {
        gchar *token;
        gchar *account_slug;
        gchar *actor_name;
} StoreData;

static void store_data_free(StoreData *d) {
        fz_sign_in_token_free(d->token);
        g_free(d->account_slug);
        g_free(d->actor_name);
        g_free(d);
}

static void store_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(GTask) task = user_data;
        GError *error = NULL;

        if (!secret_password_store_finish(res, &error))
                g_task_return_error(task, error);
        else
                g_task_return_boolean(task, TRUE);
}

static void store_cleared(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(GTask) task = user_data;
        StoreData *d = g_task_get_task_data(task);
        GError *error = NULL;

        secret_password_clear_finish(res, &error);
        if (error != NULL) {
                g_task_return_error(task, error);
                return;
        }
        secret_password_store(token_schema(), SECRET_COLLECTION_DEFAULT, "Firezone sign-in token", d->token,
                              g_task_get_cancellable(task), store_done, g_object_ref(task), "purpose",
                              PURPOSE, "account-slug", d->account_slug, "actor-name", d->actor_name, NULL);
        /* libsecret copied it into its own (non-pageable) memory. */
        g_clear_pointer(&d->token, fz_sign_in_token_free);
}

void fz_keyring_store_async(const gchar *token, const gchar *account_slug, const gchar *actor_name,
                            GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data) {
        GTask *task = g_task_new(NULL, cancellable, callback, user_data);
        StoreData *d = g_new0(StoreData, 1);

        g_task_set_source_tag(task, fz_keyring_store_async);
        d->token = g_strdup(token);
        d->account_slug = g_strdup(account_slug ? account_slug : "");
        d->actor_name = g_strdup(actor_name ? actor_name : "");
        g_task_set_task_data(task, d, (GDestroyNotify)store_data_free);
        secret_password_clear(token_schema(), cancellable, store_cleared, task, "purpose", PURPOSE, NULL);
}

gboolean fz_keyring_store_finish(GAsyncResult *result, GError **error) {
        return g_task_propagate_boolean(G_TASK(result), error);
}

/* ---- lookup: search (for the attributes), then retrieve the secret ---------------------- */

static void lookup_retrieved(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(GTask) task = user_data;
        FzStoredToken *stored = g_task_get_task_data(task);
        GError *error = NULL;
        SecretValue *value =
                secret_retrievable_retrieve_secret_finish(SECRET_RETRIEVABLE(source), res, &error);
        FzStoredToken *result;
        const gchar *text;

        if (value == NULL) {
                if (error == NULL)
                        error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED,
                                                    "The keyring returned no secret for the stored token");
                g_task_return_error(task, error);
                return;
        }
        text = secret_value_get_text(value);
        if (text == NULL || *text == '\0') {
                secret_value_unref(value);
                g_task_return_pointer(task, NULL, NULL);
                return;
        }
        /* Moved out: the task data (with its destroy function) stays behind, empty. */
        result = g_new0(FzStoredToken, 1);
        result->token = g_strdup(text);
        result->account_slug = g_steal_pointer(&stored->account_slug);
        result->actor_name = g_steal_pointer(&stored->actor_name);
        secret_value_unref(value);
        g_task_return_pointer(task, result, (GDestroyNotify)fz_stored_token_free);
}

static void lookup_found(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(GTask) task = user_data;
        GError *error = NULL;
        GList *items = secret_password_search_finish(res, &error);
        g_autoptr(GHashTable) attributes = NULL;
        FzStoredToken *stored;

        if (error != NULL) {
                g_task_return_error(task, error);
                return;
        }
        if (items == NULL) {
                g_task_return_pointer(task, NULL, NULL);
                return;
        }
        stored = g_new0(FzStoredToken, 1);
        attributes = secret_retrievable_get_attributes(items->data);
        stored->account_slug = g_strdup(attributes ? g_hash_table_lookup(attributes, "account-slug") : NULL);
        stored->actor_name = g_strdup(attributes ? g_hash_table_lookup(attributes, "actor-name") : NULL);
        g_task_set_task_data(task, stored, (GDestroyNotify)fz_stored_token_free);
        secret_retrievable_retrieve_secret(items->data, g_task_get_cancellable(task), lookup_retrieved,
                                           g_object_ref(task));
        g_list_free_full(items, g_object_unref);
}

void fz_keyring_lookup_async(GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data) {
        GTask *task = g_task_new(NULL, cancellable, callback, user_data);

        g_task_set_source_tag(task, fz_keyring_lookup_async);
        secret_password_search(token_schema(), SECRET_SEARCH_UNLOCK, cancellable, lookup_found, task,
                               "purpose", PURPOSE, NULL);
}

FzStoredToken *fz_keyring_lookup_finish(GAsyncResult *result, GError **error) {
        return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- clear ------------------------------------------------------------------------------ */

static void clear_done(GObject *source, GAsyncResult *res, gpointer user_data) {
        g_autoptr(GTask) task = user_data;
        GError *error = NULL;

        /* FALSE without an error means "nothing matched": fine. */
        secret_password_clear_finish(res, &error);
        if (error != NULL)
                g_task_return_error(task, error);
        else
                g_task_return_boolean(task, TRUE);
}

void fz_keyring_clear_async(GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data) {
        GTask *task = g_task_new(NULL, cancellable, callback, user_data);

        g_task_set_source_tag(task, fz_keyring_clear_async);
        secret_password_clear(token_schema(), cancellable, clear_done, task, "purpose", PURPOSE, NULL);
}

gboolean fz_keyring_clear_finish(GAsyncResult *result, GError **error) {
        return g_task_propagate_boolean(G_TASK(result), error);
}
