// SQLite's page cache with commits that do not scan it whole: see include/page_cache.h.
#include "page_cache.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>

/// The default page cache's methods, as SQLite had them before the install.
static sqlite3_pcache_methods2 inner;
static _Atomic sqlite3_int64 passed, skipped;

/// One pager's cache: pcache1's, and what this knows of the page numbers in it. Used by one
/// connection at a time, like the pager it belongs to.
typedef struct {
    sqlite3_pcache *cache;
    /// The page number of the lock-byte page (PENDING_BYTE 0x40000000 / page size + 1).
    unsigned lockPage;
    /// The highest page number a page was created at or moved to, the lock-byte page aside.
    unsigned maxKey;
    /// Pages moved to the lock-byte page and not yet away from it.
    unsigned parked;
} Cache;

static int pcInit(void *arg) {
    (void)arg;
    return inner.xInit(inner.pArg);
}

static void pcShutdown(void *arg) {
    (void)arg;
    inner.xShutdown(inner.pArg);
}

static sqlite3_pcache *pcCreate(int pageSize, int extraSize, int purgeable) {
    Cache *c = sqlite3_malloc(sizeof(Cache));
    if (c == NULL) return NULL;
    c->cache = inner.xCreate(pageSize, extraSize, purgeable);
    if (c->cache == NULL) {
        sqlite3_free(c);
        return NULL;
    }
    c->lockPage = (unsigned)(0x40000000 / pageSize) + 1;
    c->maxKey = 0;
    c->parked = 0;
    return (sqlite3_pcache *)c;
}

static void pcCachesize(sqlite3_pcache *p, int n) { inner.xCachesize(((Cache *)p)->cache, n); }

static int pcPagecount(sqlite3_pcache *p) { return inner.xPagecount(((Cache *)p)->cache); }

static sqlite3_pcache_page *pcFetch(sqlite3_pcache *p, unsigned key, int create) {
    Cache *c = (Cache *)p;
    if (create && key > c->maxKey) c->maxKey = key;  // whether or not it is made: an upper bound
    return inner.xFetch(c->cache, key, create);
}

static void pcUnpin(sqlite3_pcache *p, sqlite3_pcache_page *page, int discard) {
    inner.xUnpin(((Cache *)p)->cache, page, discard);
}

static void pcRekey(sqlite3_pcache *p, sqlite3_pcache_page *page, unsigned from, unsigned to) {
    Cache *c = (Cache *)p;
    if (from == c->lockPage && c->parked > 0) c->parked--;
    if (to == c->lockPage) {
        c->parked++;
    } else if (to > c->maxKey) {
        c->maxKey = to;
    }
    inner.xRekey(c->cache, page, from, to);
}

static void pcTruncate(sqlite3_pcache *p, unsigned limit) {
    Cache *c = (Cache *)p;
    if (c->parked == 0 && c->maxKey < limit) {
        atomic_fetch_add_explicit(&skipped, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&passed, 1, memory_order_relaxed);
    inner.xTruncate(c->cache, limit);
    if (limit > 0 && c->maxKey >= limit) c->maxKey = limit - 1;
    if (limit <= c->lockPage) c->parked = 0;
}

static void pcDestroy(sqlite3_pcache *p) {
    Cache *c = (Cache *)p;
    inner.xDestroy(c->cache);
    sqlite3_free(c);
}

static void pcShrink(sqlite3_pcache *p) { inner.xShrink(((Cache *)p)->cache); }

int mesgate_page_cache_install(void) {
    static const sqlite3_pcache_methods2 wrapper = {
        1, NULL, pcInit, pcShutdown, pcCreate, pcCachesize, pcPagecount, pcFetch,
        pcUnpin, pcRekey, pcTruncate, pcDestroy, pcShrink,
    };
    sqlite3_pcache_methods2 current;
    int rc = sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &current);
    if (rc != SQLITE_OK) return rc;
    if (current.xCreate == pcCreate) return SQLITE_OK;  // installed already
    inner = current;
    return sqlite3_config(SQLITE_CONFIG_PCACHE2, &wrapper);
}

void mesgate_page_cache_truncations(sqlite3_int64 *passedOut, sqlite3_int64 *skippedOut) {
    *passedOut = atomic_load_explicit(&passed, memory_order_relaxed);
    *skippedOut = atomic_load_explicit(&skipped, memory_order_relaxed);
}
