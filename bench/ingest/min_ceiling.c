// The minimum-work ceiling for ingest (b0): how many events per second SQLite commits on this
// machine when each event writes only what a durable ack cannot do without: the event row with its
// raw bytes under a unique id, one genealogy edge and one outbox row; WAL, the given synchronous,
// PER_TXN events per transaction. No lookups, no audit, no other index. mesgate's own schema and
// rows are (b), sqlite_ceiling.c; issue "Store economy" measures mesgate against this one.
// Compile: cc -O2 -o min_ceiling min_ceiling.c -lsqlite3
//
// Usage: min_ceiling DB_PATH [EVENTS=200000] [PER_TXN=1000] [SYNC=FULL] [STREAMS=32]
// The events and their order are mesgate-load's at its defaults (bench/load: 4 connections x 8
// streams): event ids `<run>-<n>`, n split into STREAMS contiguous ranges written interleaved, one
// from each range in turn, as they reach a server from concurrent streams; each edge links event n
// to its lot (n / 100) as mesgate-load's consumptions do.
// Prints one line: "min ceiling: N events in S s = R events/s (per_txn=P, synchronous=SYNC, streams=K)".
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static sqlite3 *db;

static void die(const char *what) {
    fprintf(stderr, "min_ceiling: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static void exec(const char *sql) {
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) die(sql);
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) die(sql);
    return s;
}

static void run(sqlite3_stmt *s) {
    if (sqlite3_step(s) != SQLITE_DONE) die(sqlite3_sql(s));
    sqlite3_reset(s);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DB_PATH [EVENTS] [PER_TXN] [SYNC]\n", argv[0]);
        return 2;
    }
    long events = argc > 2 ? atol(argv[2]) : 200000;
    long per_txn = argc > 3 ? atol(argv[3]) : 1000;
    const char *sync = argc > 4 ? argv[4] : "FULL";
    long streams = argc > 5 ? atol(argv[5]) : 32;
    if (events <= 0 || per_txn <= 0 || streams <= 0 || streams > events) return 2;
    long per_stream = events / streams;

    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        die("open");
    exec("PRAGMA journal_mode=WAL");
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", sync);
    exec(pragma);
    exec("PRAGMA journal_size_limit=67108864; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY");
    exec("CREATE TABLE events (sequence INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, raw BLOB NOT NULL);"
         "CREATE TABLE edges (id INTEGER PRIMARY KEY, from_node INTEGER NOT NULL, to_node INTEGER NOT NULL,"
         " sequence INTEGER NOT NULL);"
         "CREATE TABLE outbox (id INTEGER PRIMARY KEY, sequence INTEGER NOT NULL);");

    sqlite3_stmt *ins_event = prepare("INSERT INTO events (event_id, raw) VALUES (?1, ?2)");
    sqlite3_stmt *ins_edge = prepare("INSERT INTO edges (from_node, to_node, sequence) VALUES (?1, ?2, ?3)");
    sqlite3_stmt *ins_outbox = prepare("INSERT INTO outbox (sequence) VALUES (?1)");
    unsigned char raw[150];  // the size of mesgate-load's events
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (unsigned char)(i * 31 + 7);
    char event_id[64];

    double start = now_s();
    for (long k = 0; k < events; k++) {
        // The k-th event written is event n of range k % streams (with one stream, n = k).
        long n = k < per_stream * streams ? (k % streams) * per_stream + k / streams : k;
        if (k % per_txn == 0) exec("BEGIN IMMEDIATE");
        snprintf(event_id, sizeof event_id, "b0run-%ld", n);
        sqlite3_bind_text(ins_event, 1, event_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(ins_event, 2, raw, sizeof raw, SQLITE_STATIC);
        run(ins_event);
        long long sequence = sqlite3_last_insert_rowid(db);
        sqlite3_bind_int64(ins_edge, 1, n / 100);
        sqlite3_bind_int64(ins_edge, 2, n);
        sqlite3_bind_int64(ins_edge, 3, sequence);
        run(ins_edge);
        sqlite3_bind_int64(ins_outbox, 1, sequence);
        run(ins_outbox);
        if (k % per_txn == per_txn - 1 || k == events - 1) exec("COMMIT");
    }
    double seconds = now_s() - start;
    printf("min ceiling: %ld events in %.2f s = %.0f events/s (per_txn=%ld, synchronous=%s, streams=%ld)\n", events,
           seconds, events / seconds, per_txn, sync, streams);
    sqlite3_close(db);
    return 0;
}
