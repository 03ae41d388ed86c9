/*
 * store_cache.c - the response cache: a model's answer to a request,
 * kept by the request's digest so a rerun (an interrupted rollout done
 * again with the same seed) does not pay for calls already made.
 *
 * Only bodies the provider could read are kept, so a fault never comes
 * back from the cache. Each entry is written in one statement, which
 * joins the batch when one is open (pp_store_begin): a crash loses at
 * most the answers of that batch. Both statements are prepared once, at
 * open (store.c), as a run reads and writes the cache on every call.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <peerpres/status.h>

#include "store/store_int.h"

static bool key_ok(const char *key)
{
	size_t n = key ? strlen(key) : 0;

	return n > 0 && n <= 128 && strspn(key, "0123456789abcdef") == n;
}

int pp_store_cache_get(struct pp_store *s, const char *key, struct pp_buf *body, bool *hit)
{
	sqlite3_stmt *st;
	int rc = PP_OK, src;

	if (!s || !body || !hit || !key_ok(key))
		return PP_EINVAL;
	pp_store_clear_error(s);
	*hit = false;
	st = s->st[PP_ST_CACHE_GET];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		pp_buf_reset(body);
		rc = pp_buf_add(body, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		*hit = !rc;
	} else if (src != SQLITE_DONE) {
		rc = pp_store_sqlfail(s, "reading the response cache");
	}
	pp_store_reset(st);
	return rc;
}

int pp_store_cache_put(struct pp_store *s, const char *key, const char *body, size_t len)
{
	sqlite3_stmt *st;
	char now[32];
	struct tm tm;
	time_t t = time(NULL);
	int rc = PP_OK;

	if (!s || !body || !key_ok(key) || len > (size_t)0x7fffffff)
		return PP_EINVAL;
	pp_store_clear_error(s);
	gmtime_r(&t, &tm);
	if (!strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm))
		now[0] = '\0';
	st = s->st[PP_ST_CACHE_PUT];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, body, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "writing the response cache");
	pp_store_reset(st);
	return rc;
}

/* One row read at most, so a large cache costs no scan. Not a prepared
 * statement of the store's: a run asks once, at its start. */
int pp_store_cache_any(struct pp_store *s, bool *any)
{
	sqlite3_stmt *st = NULL;
	int rc = PP_OK, src;

	if (!s || !any)
		return PP_EINVAL;
	pp_store_clear_error(s);
	*any = true;
	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM response_cache LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		rc = pp_store_sqlfail(s, "reading the response cache");
	if (!rc && (src = sqlite3_step(st)) != SQLITE_ROW && src != SQLITE_DONE)
		rc = pp_store_sqlfail(s, "reading the response cache");
	else if (!rc)
		*any = src == SQLITE_ROW;
	sqlite3_finalize(st);
	return rc;
}
