/*
 * store_vfs.c - the system's VFS with one addition: a store's database
 * file has its page writes gathered into large writes.
 *
 * SQLite writes each page of a commit with a pwrite() of its own. The
 * kernel takes several times longer over 587 MB in 4 KB writes than in
 * 256 KB ones (0.5 to 1.0 s against 0.1 to 0.4 here), and those writes
 * were half of the storing thread's time in an import of the study's
 * transcripts. Once a connection turns gathering on (PP_FCNTL_GATHER;
 * every store does at open, why it is safe is said there: store.c,
 * gather_writes), the main file's writes that follow one another wait
 * in a buffer and reach the file as one write when it fills, or before
 * anything that could look at the file or rely on what is in it: a
 * read, its size, a sync, a truncate, a lock, a file control, the close.
 * Journals, logs and every other file go straight through.
 */
#include <pthread.h>
#include <string.h>

#include "store/store_int.h"

/* Large enough that the kernel's cost per write mostly stops mattering,
 * and below 128 KB: the unix VFS writes at most 0x1ffff bytes a call
 * (it masks the count), and a longer write fails as a full disk. */
#define GATHER_BYTES (124 * 1024)

struct gather_file {
	sqlite3_file base;     /* our methods: must come first */
	sqlite3_file *real;    /* the system VFS's file, allocated just after */
	int main_db;           /* only a main database file may gather */
	char *buf;             /* non-NULL while gathering */
	size_t len;
	sqlite3_int64 at;      /* the file offset of buf[0] */
};

static sqlite3_vfs gather_vfs;
static sqlite3_vfs *system_vfs;

static int flush(struct gather_file *g)
{
	int rc;

	if (!g->len)
		return SQLITE_OK;
	rc = g->real->pMethods->xWrite(g->real, g->buf, (int)g->len, g->at);
	g->len = 0;
	return rc;
}

static int x_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 off)
{
	struct gather_file *g = (struct gather_file *)f;
	int rc;

	if (!g->buf)
		return g->real->pMethods->xWrite(g->real, data, amt, off);
	if (g->len && off == g->at + (sqlite3_int64)g->len &&
	    g->len + (size_t)amt <= GATHER_BYTES) {
		memcpy(g->buf + g->len, data, (size_t)amt);
		g->len += (size_t)amt;
		return SQLITE_OK;
	}
	/* Not the next bytes, or no room: what waits goes first, so the
	 * file sees the writes in the order they came. */
	if ((rc = flush(g)) != SQLITE_OK)
		return rc;
	if ((size_t)amt >= GATHER_BYTES)
		return g->real->pMethods->xWrite(g->real, data, amt, off);
	memcpy(g->buf, data, (size_t)amt);
	g->len = (size_t)amt;
	g->at = off;
	return SQLITE_OK;
}

static int x_close(sqlite3_file *f)
{
	struct gather_file *g = (struct gather_file *)f;
	int rc = flush(g), crc;

	sqlite3_free(g->buf);
	g->buf = NULL;
	crc = g->real->pMethods->xClose(g->real);
	return rc != SQLITE_OK ? rc : crc;
}

/* REAL(f) is the system's file under ours; FLUSHED defines a method that
 * writes what waits before it passes the call on (anything that may
 * read the file or rely on what is in it), PASSED one that passes it on
 * as it is. */
#define REAL(f) (((struct gather_file *)(f))->real)
#define FLUSHED(name, method, params, args)                                     \
	static int name params                                                  \
	{                                                                       \
		int rc = flush((struct gather_file *)f);                        \
		return rc != SQLITE_OK ? rc : REAL(f)->pMethods->method args;   \
	}
#define PASSED(name, method, params, args)                                      \
	static int name params                                                  \
	{                                                                       \
		return REAL(f)->pMethods->method args;                          \
	}

FLUSHED(x_read, xRead, (sqlite3_file *f, void *data, int amt, sqlite3_int64 off),
	(REAL(f), data, amt, off))
FLUSHED(x_truncate, xTruncate, (sqlite3_file *f, sqlite3_int64 size), (REAL(f), size))
FLUSHED(x_sync, xSync, (sqlite3_file *f, int flags), (REAL(f), flags))
FLUSHED(x_file_size, xFileSize, (sqlite3_file *f, sqlite3_int64 *size), (REAL(f), size))
FLUSHED(x_lock, xLock, (sqlite3_file *f, int level), (REAL(f), level))
FLUSHED(x_unlock, xUnlock, (sqlite3_file *f, int level), (REAL(f), level))
FLUSHED(x_fetch, xFetch, (sqlite3_file *f, sqlite3_int64 off, int amt, void **out),
	(REAL(f), off, amt, out))
PASSED(x_check_reserved_lock, xCheckReservedLock, (sqlite3_file *f, int *out),
       (REAL(f), out))
PASSED(x_sector_size, xSectorSize, (sqlite3_file *f), (REAL(f)))
PASSED(x_device_characteristics, xDeviceCharacteristics, (sqlite3_file *f), (REAL(f)))
PASSED(x_unfetch, xUnfetch, (sqlite3_file *f, sqlite3_int64 off, void *p),
       (REAL(f), off, p))
/* The log's shared memory is only used by a store in WAL mode, which
 * never gathers. */
PASSED(x_shm_map, xShmMap,
       (sqlite3_file *f, int page, int size, int extend, void volatile **out),
       (REAL(f), page, size, extend, out))
PASSED(x_shm_lock, xShmLock, (sqlite3_file *f, int offset, int n, int flags),
       (REAL(f), offset, n, flags))
PASSED(x_shm_unmap, xShmUnmap, (sqlite3_file *f, int delete_flag), (REAL(f), delete_flag))

static void x_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

/* Gathering on (*on >= 0: it stays on until the close), or asked
 * (*on < 0: it answers 1 or 0 in *on). */
static int set_gathering(struct gather_file *g, int *on)
{
	if (!g->main_db)
		return SQLITE_NOTFOUND;
	if (*on < 0)
		*on = g->buf != NULL;
	else if (!g->buf && !(g->buf = sqlite3_malloc(GATHER_BYTES)))
		return SQLITE_NOMEM;
	return SQLITE_OK;
}

static int x_file_control(sqlite3_file *f, int op, void *arg)
{
	struct gather_file *g = (struct gather_file *)f;
	int rc;

	if (op == PP_FCNTL_GATHER)
		return set_gathering(g, arg);
	if ((rc = flush(g)) != SQLITE_OK)
		return rc;
	return g->real->pMethods->xFileControl(g->real, op, arg);
}

/* The same version as the system file's methods: SQLite asks a file's
 * version, not its functions, whether it may use a log or memory maps. */
#define GATHER_METHODS(version, shm_map, shm_lock, shm_barrier, shm_unmap, fetch, unfetch) \
	{ version, x_close, x_read, x_write, x_truncate, x_sync, x_file_size, \
	  x_lock, x_unlock, x_check_reserved_lock, x_file_control, \
	  x_sector_size, x_device_characteristics, \
	  shm_map, shm_lock, shm_barrier, shm_unmap, fetch, unfetch }

static const sqlite3_io_methods gather_methods[3] = {
	GATHER_METHODS(1, NULL, NULL, NULL, NULL, NULL, NULL),
	GATHER_METHODS(2, x_shm_map, x_shm_lock, x_shm_barrier, x_shm_unmap, NULL, NULL),
	GATHER_METHODS(3, x_shm_map, x_shm_lock, x_shm_barrier, x_shm_unmap, x_fetch, x_unfetch),
};

static int x_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f,
		  int flags, int *out_flags)
{
	struct gather_file *g = (struct gather_file *)f;
	int rc;

	(void)vfs;
	memset(g, 0, sizeof(*g));
	g->real = (sqlite3_file *)(g + 1);
	g->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
	rc = system_vfs->xOpen(system_vfs, name, g->real, flags, out_flags);
	/* SQLite closes a file whose methods are set, even after a failed
	 * open: ours are set exactly when the system's file has its own. */
	if (g->real->pMethods) {
		int v = g->real->pMethods->iVersion;

		g->base.pMethods = &gather_methods[v < 1 ? 0 : v > 3 ? 2 : v - 1];
	}
	return rc;
}

/* The system VFS's own functions for everything but opening: they take
 * the VFS only for its mxPathname and pAppData, which the copy keeps. */
static void register_once(void)
{
	sqlite3_vfs *sys = sqlite3_vfs_find(NULL);

	if (!sys)
		return;
	system_vfs = sys;
	gather_vfs = *sys;
	gather_vfs.zName = "peerpres-gather";
	gather_vfs.szOsFile = (int)sizeof(struct gather_file) + sys->szOsFile;
	gather_vfs.pNext = NULL;
	gather_vfs.xOpen = x_open;
	if (sqlite3_vfs_register(&gather_vfs, 0) != SQLITE_OK)
		system_vfs = NULL;
}

const char *pp_store_vfs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, register_once);
	return system_vfs ? gather_vfs.zName : NULL;
}
