// The storage ceiling for ingest: how many events per second SQLite commits on this machine
// when each event writes what mesgate writes per event, with nothing else in the way (no
// network, no protobuf, no Swift). Compile: cc -O2 -o sqlite_ceiling sqlite_ceiling.c -lsqlite3
//
// Usage: sqlite_ceiling DB_PATH [EVENTS=200000] [PER_TXN=1000] [SYNC=FULL]
// Per event, in one transaction of PER_TXN events (WAL, synchronous=SYNC):
//   - one events row: sequence, unique event_id (36 chars), kind, occurred_at_ms, ~200-byte raw blob
//   - one node upsert (a lot: product + lot, unique), returning its id
//   - one edge row (component node -> output node, with the event's sequence and qty)
//   - one outbox row (the event's sequence, a document key, a ~100-byte payload, state)
// Prints one line: "sqlite ceiling: N events in S s = R events/s (per_txn=P, synchronous=SYNC)".
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(sqlite3 *db, const char *what) {
    fprintf(stderr, "sqlite_ceiling: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite_ceiling: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) die(db, sql);
    return s;
}

static void step_done(sqlite3 *db, sqlite3_stmt *s, const char *what) {
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) die(db, what);
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
    const char *path = argv[1];
    long events = argc > 2 ? atol(argv[2]) : 200000;
    long per_txn = argc > 3 ? atol(argv[3]) : 1000;
    const char *sync = argc > 4 ? argv[4] : "FULL";
    if (events <= 0 || per_txn <= 0) return 2;

    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) die(db, "open");
    sqlite3_stmt *wal = prepare(db, "PRAGMA journal_mode=WAL");
    if (sqlite3_step(wal) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(wal, 0), "wal") != 0)
        die(db, "journal_mode=WAL");
    sqlite3_finalize(wal);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", sync);
    exec(db, pragma);
    exec(db,
         "CREATE TABLE IF NOT EXISTS events(sequence INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE,"
         " kind TEXT NOT NULL, occurred_at_ms INTEGER NOT NULL, tz_offset TEXT, work_order TEXT, raw BLOB NOT NULL);"
         "CREATE TABLE IF NOT EXISTS nodes(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, product TEXT NOT NULL,"
         " lot TEXT NOT NULL, serial TEXT NOT NULL, container TEXT NOT NULL, first_sequence INTEGER,"
         " last_sequence INTEGER, UNIQUE(product, lot, serial, container));"
         "CREATE TABLE IF NOT EXISTS edges(id INTEGER PRIMARY KEY, from_node INTEGER NOT NULL,"
         " to_node INTEGER NOT NULL, sequence INTEGER NOT NULL, qty REAL, uom TEXT);"
         "CREATE INDEX IF NOT EXISTS edges_from ON edges(from_node);"
         "CREATE INDEX IF NOT EXISTS edges_to ON edges(to_node);"
         "CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY, sequence INTEGER NOT NULL,"
         " document TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending');"
         "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(state, id);");

    sqlite3_stmt *ins_event = prepare(
        db, "INSERT INTO events(event_id, kind, occurred_at_ms, tz_offset, work_order, raw) VALUES(?,?,?,?,?,?)");
    sqlite3_stmt *upsert_node = prepare(
        db,
        "INSERT INTO nodes(kind, product, lot, serial, container, first_sequence, last_sequence)"
        " VALUES('lot', ?, ?, '', '', ?1, ?1) ON CONFLICT(product, lot, serial, container)"
        " DO UPDATE SET last_sequence = excluded.last_sequence RETURNING id");
    sqlite3_stmt *ins_edge = prepare(db, "INSERT INTO edges(from_node, to_node, sequence, qty, uom) VALUES(?,?,?,?,?)");
    sqlite3_stmt *ins_outbox = prepare(db, "INSERT INTO outbox(sequence, document, payload) VALUES(?,?,?)");
    sqlite3_stmt *begin = prepare(db, "BEGIN IMMEDIATE");
    sqlite3_stmt *commit = prepare(db, "COMMIT");

    unsigned char raw[200];
    for (int i = 0; i < (int)sizeof raw; i++) raw[i] = (unsigned char)(i * 37 + 11);
    char event_id[64], lot[32], payload[128];
    const long lots = events / 10 > 0 ? events / 10 : 1;  // each lot seen ~10 times: inserts and updates
    const sqlite3_int64 output_node = 1;
    srand(42);

    double t0 = now_s();
    for (long i = 0; i < events; i++) {
        if (i % per_txn == 0) {
            step_done(db, begin, "BEGIN");
            sqlite3_reset(begin);
        }
        snprintf(event_id, sizeof event_id, "bench-%08lx-%04x-%04x-%012ld", (long)t0, rand() & 0xffff,
                 rand() & 0xffff, i);
        memcpy(raw, event_id, 36 < sizeof raw ? 36 : sizeof raw);
        sqlite3_bind_text(ins_event, 1, event_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_event, 2, "consumed", -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins_event, 3, 1764000000000LL + i);
        sqlite3_bind_text(ins_event, 4, "+02:00", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_event, 5, "WH/MO/00042", -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins_event, 6, raw, sizeof raw, SQLITE_STATIC);
        step_done(db, ins_event, "insert event");
        sqlite3_reset(ins_event);
        sqlite3_int64 sequence = sqlite3_last_insert_rowid(db);

        snprintf(lot, sizeof lot, "LOT-%06ld", (long)(rand() % lots));
        sqlite3_bind_text(upsert_node, 1, "STEEL-S235", -1, SQLITE_STATIC);
        sqlite3_bind_text(upsert_node, 2, lot, -1, SQLITE_STATIC);
        sqlite3_bind_int64(upsert_node, 3, sequence);
        if (sqlite3_step(upsert_node) != SQLITE_ROW) die(db, "upsert node");
        sqlite3_int64 node = sqlite3_column_int64(upsert_node, 0);
        sqlite3_reset(upsert_node);

        sqlite3_bind_int64(ins_edge, 1, node);
        sqlite3_bind_int64(ins_edge, 2, output_node);
        sqlite3_bind_int64(ins_edge, 3, sequence);
        sqlite3_bind_double(ins_edge, 4, 12.5);
        sqlite3_bind_text(ins_edge, 5, "kg", -1, SQLITE_STATIC);
        step_done(db, ins_edge, "insert edge");
        sqlite3_reset(ins_edge);

        snprintf(payload, sizeof payload,
                 "{\"model\":\"stock.move.line\",\"lot\":\"%s\",\"qty\":12.5,\"uom\":\"kg\",\"sequence\":%lld}", lot,
                 (long long)sequence);
        sqlite3_bind_int64(ins_outbox, 1, sequence);
        sqlite3_bind_text(ins_outbox, 2, "mrp.production:WH/MO/00042", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins_outbox, 3, payload, -1, SQLITE_STATIC);
        step_done(db, ins_outbox, "insert outbox");
        sqlite3_reset(ins_outbox);

        if (i % per_txn == per_txn - 1 || i == events - 1) {
            step_done(db, commit, "COMMIT");
            sqlite3_reset(commit);
        }
    }
    double elapsed = now_s() - t0;
    printf("sqlite ceiling: %ld events in %.3f s = %.0f events/s (per_txn=%ld, synchronous=%s)\n", events, elapsed,
           events / elapsed, per_txn, sync);

    sqlite3_finalize(ins_event);
    sqlite3_finalize(upsert_node);
    sqlite3_finalize(ins_edge);
    sqlite3_finalize(ins_outbox);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    if (sqlite3_close(db) != SQLITE_OK) die(db, "close");
    return 0;
}
