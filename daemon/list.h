/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The daemon's one list: intrusive and doubly linked. An item embeds
 * `LIST_FIELDS(Type, name)`; the head is a plain `Type *`. Prepend, remove and iterate in
 * O(1) per step, no allocation. Written on its own, in the shape systemd's list.h has. */

#define LIST_FIELDS(t, name) t *name##_next, *name##_prev

#define LIST_PREPEND(name, head, item)                          \
        do {                                                    \
                __typeof__(*(head)) **_head = &(head), *_item = (item); \
                _item->name##_prev = NULL;                      \
                _item->name##_next = *_head;                    \
                if (*_head)                                     \
                        (*_head)->name##_prev = _item;          \
                *_head = _item;                                 \
        } while (0)

/* Removing an item that is not in the list (both links NULL, not the head) is a no-op. */
#define LIST_REMOVE(name, head, item)                                           \
        do {                                                                    \
                __typeof__(*(head)) **_head = &(head), *_item = (item);         \
                if (_item->name##_prev)                                         \
                        _item->name##_prev->name##_next = _item->name##_next;   \
                else if (*_head == _item)                                       \
                        *_head = _item->name##_next;                            \
                if (_item->name##_next)                                         \
                        _item->name##_next->name##_prev = _item->name##_prev;   \
                _item->name##_next = _item->name##_prev = NULL;                 \
        } while (0)

/* Safe against removing i inside the loop. */
#define LIST_FOREACH(name, i, head)                                                            \
        for (__typeof__(*(head)) *i = (head), *_next_##i = i ? i->name##_next : NULL; i;       \
             i = _next_##i, _next_##i = i ? i->name##_next : NULL)
