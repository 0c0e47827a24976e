// SQLite 3 (Debian 12: 3.40), plus what Swift cannot import from it.
#pragma once
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro casting -1 to a function pointer; Swift cannot import it.
static inline sqlite3_destructor_type CSQLite_SQLITE_TRANSIENT(void) { return SQLITE_TRANSIENT; }

/// Turns off SQLite's memory statistics, which take a global mutex on every allocation. Must run
/// before the first connection opens (sqlite3_config is variadic, hence this shim).
static inline int CSQLite_sqlite3_config_memstatus_off(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/// Sets SQLITE_DBCONFIG_DEFENSIVE on `db` to `on` (0 or 1; -1 leaves it) and returns what it is
/// then, or -1 when SQLite refused (sqlite3_db_config is variadic, hence this shim).
static inline int CSQLite_defensive(sqlite3 *db, int on) {
    int now = -1;
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, on, &now) != SQLITE_OK) return -1;
    return now;
}
