/*
 * store_batch.h - how a rollout write joins a batch (store_batch.c):
 * store_rollout.c asks these instead of opening a transaction itself.
 */
#ifndef PP_STORE_BATCH_H
#define PP_STORE_BATCH_H

#include <stdbool.h>

#include "store/store_int.h"

/* Opens what one rollout is written in: a transaction of its own, or a
 * savepoint inside the batch that pp_store_begin opened (*nested true).
 * PP_OK or PP_ESTORE / PP_ENOMEM with the store's message set. */
int pp_store_txn_enter(struct pp_store *s, bool *nested);

/* Ends it: committed (or released) when rc is PP_OK, otherwise rolled
 * back, leaving the rest of a batch alone. Returns rc, or the commit's
 * own failure. */
int pp_store_txn_leave(struct pp_store *s, bool nested, int rc);

#endif
