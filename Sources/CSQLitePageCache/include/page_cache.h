// SQLite's default page cache (pcache1), with commits no longer scanning it whole.
//
// When a B-tree page splits, SQLite may swap the numbers of two new pages, and it parks one of
// them on the number of the "lock-byte page" (1 GiB / page size + 1) for a moment
// (`balance_nonroot`: pgnoTemp). pcache1 remembers the highest page number it has ever held
// (`iMaxKey`), so from then on it believes a page beyond the database's end may be cached, and at
// the end of every write transaction (`pager_end_transaction` → `sqlite3PcacheTruncate`) it looks
// for pages past the end: while the database is smaller than about 1 GiB, the gap is wider than
// its hash table and it walks every bucket and every page of the cache (16,384 buckets and some
// 15,800 pages with the writer's 64 MiB). Its own truncation resets the mark, and the next split
// raises it again: mesgate's writer paid the walk at nearly every commit, 8-10 % of its time at
// half rate on a 230 MB store. A store past 1 GiB does not pay it (the parked number then lies
// inside the database).
//
// This wraps pcache1's methods (taken with SQLITE_CONFIG_GETPCACHE2) and keeps, per cache, the
// highest page number it was asked to create or move a page to, apart from moves to the
// lock-byte page, which it counts instead (a page parked there is moved away again within the same
// split). A truncation at `iLimit` above every such number, with no page parked, cannot find a page
// to drop: it is not passed on. Every other call is pcache1's.
#pragma once
#include <sqlite3.h>

/// Installs the wrapper as SQLite's page cache. Must run before SQLite is initialized (before the
/// first connection opens); returns SQLite's result (SQLITE_MISUSE if it is too late).
int mesgate_page_cache_install(void);

/// Truncations passed on to pcache1 and skipped, in the whole process, since the install.
void mesgate_page_cache_truncations(sqlite3_int64 *passed, sqlite3_int64 *skipped);
