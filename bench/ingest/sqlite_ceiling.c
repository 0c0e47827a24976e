// The storage ceiling for ingest: how many events per second SQLite commits on this machine when
// each event writes exactly the rows mesgate writes for it, with nothing else in the way (no
// network, no HTTP/2, no protobuf, no Swift). Compile: cc -O2 -o sqlite_ceiling sqlite_ceiling.c -lsqlite3 -lcrypto
//
// Usage: sqlite_ceiling DB_PATH SCHEMA_SQL [EVENTS=200000] [PER_TXN=1000] [SYNC=FULL] [STREAMS=1]
// SCHEMA_SQL is mesgate's genealogy/migrations/*.sql concatenated, so the tables and indexes are
// mesgate's own; the connection settings are the store writer's (WAL, synchronous, 64 MiB cache,
// temp_store memory, foreign keys on, memory statistics off).
//
// The events are bench/load's (mesgate-load): event n receives lot L-(n/100) when n % 100 == 0,
// otherwise consumes it into serial S-n for work order WH/MO/(n/500). With STREAMS > 1 the events
// are split into that many contiguous ranges (as mesgate-load splits them over its streams; the
// first event of each range is a receipt) and written interleaved, one from each range in turn, as
// they reach the server from concurrent streams: then each event's index entries land beside its
// own range's, not beside the previous event's, and a small transaction dirties far more pages.
// Per event, the statements
// mesgate's EventRecorder runs for it (Sources/GenealogyStore/EventRecorder.swift, GenealogyRows.swift):
//   both:        duplicate check; events row (~150-byte raw blob); order node look-up (insert once; the
//                writer's NodeCache finds a recent order without a probe, so does this) + event link;
//                audit trail (AuditChain.swift): SHA-256 of the event row's canonical bytes, kept for
//                the transaction's run; before COMMIT, and at 1,000 events, one audit_log row for the
//                run (`events:F-L`, its digests as record digest, 32 bytes per event), its SHA-256
//                chained to the previous entry (kept in memory). SHA-256 from OpenSSL's libcrypto (mesgate uses swift-crypto,
//                which on Linux is BoringSSL's code).
//   receipt:     lot look-up + insert + event link; receipts row
//   consumption: lot look-up (cached like the order); serial insert; direct edge (which links the lot
//                and the serial to the event: no event link for either, migration 20); order_output edge (looked up in edges_forward, inserted when missing: the
//                writer keeps the pair unique, migration 17); outbox row, counted in status_counts once per
//                transaction (migration 15; since migration 19 no trigger runs on an outbox or node insert)
// Prints one line: "sqlite ceiling: N events in S s = R events/s (per_txn=P, synchronous=SYNC, streams=K)".
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static sqlite3 *db;

/// The most events one audit entry describes, as mesgate's EventRun.limit.
#define RUN_LIMIT 1000

static void die(const char *what) {
    fprintf(stderr, "sqlite_ceiling: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static void exec(const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite_ceiling: %.80s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) die(sql);
    return s;
}

/// Steps once; returns 1 with a row, 0 when done. The statement is reset by the caller.
static int step(sqlite3_stmt *s) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return 1;
    if (rc != SQLITE_DONE) die(sqlite3_sql(s));
    return 0;
}

static void run(sqlite3_stmt *s) {
    step(s);
    sqlite3_reset(s);
}

static void text(sqlite3_stmt *s, int i, const char *v) { sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT); }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/// The canonical encoding of AuditCanonical.swift: a type byte, then 8 bytes big-endian (integer)
/// or a 4-byte big-endian length and the bytes (text 0x03, blob 0x04).
typedef struct { unsigned char b[1024]; size_t n; } canon;

static void c_int(canon *c, long long v) {
    c->b[c->n++] = 1;
    for (int s = 56; s >= 0; s -= 8) c->b[c->n++] = (unsigned char)((unsigned long long)v >> s);
}

static void c_bytes(canon *c, unsigned char tag, const void *p, size_t len) {
    c->b[c->n++] = tag;
    for (int s = 24; s >= 0; s -= 8) c->b[c->n++] = (unsigned char)(len >> s);
    memcpy(c->b + c->n, p, len);
    c->n += len;
}

static void c_text(canon *c, const char *v) { c_bytes(c, 3, v, strlen(v)); }

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n + 1);
    if (fread(buf, 1, n, f) != (size_t)n) { perror(path); exit(1); }
    buf[n] = 0;
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s DB_PATH SCHEMA_SQL [EVENTS] [PER_TXN] [SYNC] [STREAMS]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    long events = argc > 3 ? atol(argv[3]) : 200000;
    long per_txn = argc > 4 ? atol(argv[4]) : 1000;
    const char *sync = argc > 5 ? argv[5] : "FULL";
    long streams = argc > 6 ? atol(argv[6]) : 1;
    if (events <= 0 || per_txn <= 0 || streams <= 0 || streams > events) return 2;
    long per_stream = events / streams;

    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        die("open");
    exec("PRAGMA journal_mode=WAL");
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", sync);
    exec(pragma);
    exec("PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=67108864; PRAGMA cache_size=-65536;"
         "PRAGMA temp_store=MEMORY");
    exec("BEGIN");
    exec(slurp(argv[2]));
    exec("COMMIT");

    sqlite3_stmt *dup = prepare("SELECT sequence FROM events WHERE event_id = ?1");
    sqlite3_stmt *ins_event = prepare(
        "INSERT INTO events (event_id, kind, occurred_at_ms, tz_offset, plant, work_center, operator_id,"
        " work_order, client, recorded_at_ms, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    sqlite3_stmt *find_order = prepare("SELECT id FROM nodes WHERE kind = 'order' AND name = ?1");
    sqlite3_stmt *ins_order = prepare(
        "INSERT INTO nodes (kind, name, origin, first_sequence) VALUES ('order', ?1, 'order', ?2)");
    sqlite3_stmt *find_lot = prepare(
        "SELECT id, origin, lot FROM nodes WHERE kind = 'lot' AND product = ?1 AND lot = ?2");
    sqlite3_stmt *find_serial = prepare(
        "SELECT id, origin, lot FROM nodes WHERE kind = 'serial' AND product = ?1 AND serial = ?2");
    sqlite3_stmt *ins_node = prepare(
        "INSERT INTO nodes (kind, product, lot, serial, container, origin, first_sequence)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    sqlite3_stmt *link = prepare("INSERT OR IGNORE INTO event_nodes (node_id, sequence, role) VALUES (?1, ?2, ?3)");
    sqlite3_stmt *receipt = prepare(
        "INSERT INTO receipts (node_id, supplier, supplier_lot, purchase_order, qty, uom, location, sequence)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    sqlite3_stmt *edge = prepare(
        "INSERT INTO edges (kind, from_node, to_node, qty, uom, work_order, sequence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    sqlite3_stmt *find_order_output =
        prepare("SELECT 1 FROM edges WHERE from_node = ?1 AND to_node = ?2 AND kind = 'order_output'");
    sqlite3_stmt *order_output = prepare(
        "INSERT INTO edges (kind, from_node, to_node, qty, uom, work_order, sequence)"
        " VALUES ('order_output', ?1, ?2, ?3, ?4, ?5, ?6)");
    sqlite3_stmt *outbox = prepare(
        "INSERT INTO outbox (sequence, kind, document_key, latency_class, next_attempt_at_ms, created_at_ms,"
        " updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)");

    sqlite3_stmt *count_outbox = prepare(
        "INSERT INTO status_counts (name, key, n) VALUES ('outbox', 'pending', ?1)"
        " ON CONFLICT (name, key) DO UPDATE SET n = n + excluded.n");
    long long outbox_rows = 0;
    // The writer's NodeCache, as far as these events use it: the last order and lot met.
    char cached_order[64] = "", cached_lot[64] = "";
    long long cached_order_id = 0, cached_lot_id = 0;

    sqlite3_stmt *audit = prepare(
        "INSERT INTO audit_log (id, at_ms, actor, action, subject, reason, detail, record_digest, prev_hash, hash)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    unsigned char prev_hash[32] = {0}, digest[32], hash[32];
    long long audit_id = 0;
    char subject[96], detail[96];
    canon c;
    // The transaction's run: its events' digests, first sequence, and kinds counted in the order met.
    unsigned char *run_digests = malloc(32 * (size_t)RUN_LIMIT);
    if (!run_digests) die("malloc");
    long run_len = 0, run_received = 0;
    long long run_first = 0;
    int run_first_received = 0;
    EVP_MD_CTX *sha = EVP_MD_CTX_new();

    unsigned char raw[150];
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (unsigned char)(i * 31 + 7);
    char event_id[64], order[64], lot[64], serial[64], key[80];
    long long now_ms = (long long)time(NULL) * 1000;

    double start = now_s();
    for (long k = 0; k < events; k++) {
        // The k-th event written is event n of range k % streams (with one stream, n = k).
        long n = k < per_stream * streams ? (k % streams) * per_stream + k / streams : k;
        if (k % per_txn == 0) exec("BEGIN IMMEDIATE");
        int receiving = n % 100 == 0 || n % per_stream == 0;
        snprintf(event_id, sizeof event_id, "ceiling-%ld", n);
        snprintf(order, sizeof order, "WH/MO/%ld", n / 500);
        snprintf(lot, sizeof lot, "L-ceiling-%ld", n / 100);
        snprintf(serial, sizeof serial, "S-ceiling-%ld", n);

        text(dup, 1, event_id);
        if (step(dup)) die("duplicate event id");
        sqlite3_reset(dup);
        text(ins_event, 1, event_id);
        text(ins_event, 2, receiving ? "received" : "consumed");
        sqlite3_bind_int64(ins_event, 3, now_ms);
        text(ins_event, 4, "+02:00");
        text(ins_event, 5, "plant-1");
        text(ins_event, 6, "wc-1");
        text(ins_event, 7, "");
        text(ins_event, 8, order);
        text(ins_event, 9, "127.0.0.1");
        sqlite3_bind_int64(ins_event, 10, now_ms);
        sqlite3_bind_blob(ins_event, 11, raw, sizeof raw, SQLITE_TRANSIENT);
        run(ins_event);
        long long seq = sqlite3_last_insert_rowid(db);

        const char *kind = receiving ? "received" : "consumed";
        c.n = 0;
        c_text(&c, "events");
        c_int(&c, seq);
        c_text(&c, event_id);
        c_text(&c, kind);
        c_int(&c, now_ms);
        c_text(&c, "+02:00");
        c_text(&c, "plant-1");
        c_text(&c, "wc-1");
        c_text(&c, "");
        c_text(&c, order);
        c_text(&c, "127.0.0.1");
        c_int(&c, now_ms);
        c_bytes(&c, 4, raw, sizeof raw);
        SHA256(c.b, c.n, digest);
        if (run_len == 0) {
            run_first = seq;
            run_first_received = receiving;
        }
        memcpy(run_digests + 32 * run_len, digest, 32);
        run_len++;
        run_received += receiving;

        text(find_order, 1, order);
        long long order_id;
        if (strcmp(order, cached_order) == 0) {
            order_id = cached_order_id;
        } else if (step(find_order)) {
            order_id = sqlite3_column_int64(find_order, 0);
            sqlite3_reset(find_order);
        } else {
            sqlite3_reset(find_order);
            text(ins_order, 1, order);
            sqlite3_bind_int64(ins_order, 2, seq);
            run(ins_order);
            order_id = sqlite3_last_insert_rowid(db);
        }
        sqlite3_reset(find_order);
        strcpy(cached_order, order);
        cached_order_id = order_id;
        sqlite3_bind_int64(link, 1, order_id);
        sqlite3_bind_int64(link, 2, seq);
        text(link, 3, "order");
        run(link);

        text(find_lot, 1, "STEEL");
        text(find_lot, 2, lot);
        long long lot_id;
        if (strcmp(lot, cached_lot) == 0) {
            lot_id = cached_lot_id;
        } else if (step(find_lot)) {
            lot_id = sqlite3_column_int64(find_lot, 0);
            sqlite3_reset(find_lot);
        } else {
            sqlite3_reset(find_lot);
            text(ins_node, 1, "lot");
            text(ins_node, 2, "STEEL");
            text(ins_node, 3, lot);
            text(ins_node, 4, "");
            text(ins_node, 5, "");
            text(ins_node, 6, receiving ? "received" : "unknown");
            sqlite3_bind_int64(ins_node, 7, seq);
            run(ins_node);
            lot_id = sqlite3_last_insert_rowid(db);
        }
        sqlite3_reset(find_lot);
        strcpy(cached_lot, lot);
        cached_lot_id = lot_id;
        if (receiving) { // a consumption's component is linked by its direct edge (migration 20)
            sqlite3_bind_int64(link, 1, lot_id);
            sqlite3_bind_int64(link, 2, seq);
            text(link, 3, "lot");
            run(link);
            sqlite3_bind_int64(receipt, 1, lot_id);
            text(receipt, 2, "ACME");
            text(receipt, 3, lot);
            text(receipt, 4, "PO-1");
            sqlite3_bind_double(receipt, 5, 1000);
            text(receipt, 6, "kg");
            text(receipt, 7, "");
            sqlite3_bind_int64(receipt, 8, seq);
            run(receipt);
        } else {
            text(find_serial, 1, "FRAME");
            text(find_serial, 2, serial);
            if (step(find_serial)) die("serial exists");
            sqlite3_reset(find_serial);
            text(ins_node, 1, "serial");
            text(ins_node, 2, "FRAME");
            text(ins_node, 3, "");
            text(ins_node, 4, serial);
            text(ins_node, 5, "");
            text(ins_node, 6, "produced");
            sqlite3_bind_int64(ins_node, 7, seq);
            run(ins_node);
            long long serial_id = sqlite3_last_insert_rowid(db); // linked by the direct edge too

            text(edge, 1, "direct");
            sqlite3_bind_int64(edge, 2, lot_id);
            sqlite3_bind_int64(edge, 3, serial_id);
            sqlite3_bind_double(edge, 4, 1.5);
            text(edge, 5, "kg");
            text(edge, 6, order);
            sqlite3_bind_int64(edge, 7, seq);
            run(edge);
            sqlite3_bind_int64(find_order_output, 1, order_id);
            sqlite3_bind_int64(find_order_output, 2, serial_id);
            if (step(find_order_output)) die("order output exists");
            sqlite3_reset(find_order_output);
            sqlite3_bind_int64(order_output, 1, order_id);
            sqlite3_bind_int64(order_output, 2, serial_id);
            sqlite3_bind_null(order_output, 3);
            text(order_output, 4, "");
            text(order_output, 5, order);
            sqlite3_bind_int64(order_output, 6, seq);
            run(order_output);

            snprintf(key, sizeof key, "work_order:%s", order);
            sqlite3_bind_int64(outbox, 1, seq);
            text(outbox, 2, "consumed");
            text(outbox, 3, key);
            text(outbox, 4, "batch");
            sqlite3_bind_int64(outbox, 5, now_ms);
            run(outbox);
            outbox_rows++;
        }
        int commit_now = k % per_txn == per_txn - 1 || k == events - 1;
        // The run's audit entry before COMMIT, or when it holds RUN_LIMIT events (AuditChain).
        if (run_len == RUN_LIMIT || (commit_now && run_len > 0)) {
            // Its hash over the canonical columns with the digests last.
            long consumed = run_len - run_received;
            snprintf(subject, sizeof subject, "events:%lld-%lld", run_first, run_first + run_len - 1);
            if (run_received && consumed)
                snprintf(detail, sizeof detail, "%ld events: %s %ld, %s %ld", run_len,
                         run_first_received ? "received" : "consumed", run_first_received ? run_received : consumed,
                         run_first_received ? "consumed" : "received", run_first_received ? consumed : run_received);
            else
                snprintf(detail, sizeof detail, "%ld event%s: %s %ld", run_len, run_len == 1 ? "" : "s",
                         run_received ? "received" : "consumed", run_len);
            audit_id++;
            c.n = 0;
            memcpy(c.b, prev_hash, 32);
            c.n = 32;
            c_int(&c, audit_id);
            c_int(&c, now_ms);
            c_text(&c, "127.0.0.1");
            c_text(&c, "event_stored");
            c_text(&c, subject);
            c_text(&c, "");
            c_text(&c, detail);
            size_t blob = 32 * (size_t)run_len;
            c.b[c.n++] = 4;
            for (int s = 24; s >= 0; s -= 8) c.b[c.n++] = (unsigned char)(blob >> s);
            if (!EVP_DigestInit_ex(sha, EVP_sha256(), NULL) || !EVP_DigestUpdate(sha, c.b, c.n) ||
                !EVP_DigestUpdate(sha, run_digests, blob) || !EVP_DigestFinal_ex(sha, hash, NULL))
                die("sha256");
            sqlite3_bind_int64(audit, 1, audit_id);
            sqlite3_bind_int64(audit, 2, now_ms);
            text(audit, 3, "127.0.0.1");
            text(audit, 4, "event_stored");
            text(audit, 5, subject);
            text(audit, 6, "");
            text(audit, 7, detail);
            sqlite3_bind_blob(audit, 8, run_digests, (int)blob, SQLITE_TRANSIENT);
            sqlite3_bind_blob(audit, 9, prev_hash, 32, SQLITE_TRANSIENT);
            sqlite3_bind_blob(audit, 10, hash, 32, SQLITE_TRANSIENT);
            run(audit);
            memcpy(prev_hash, hash, 32);
            run_len = run_received = 0;
        }
        if (commit_now) {
            sqlite3_bind_int64(count_outbox, 1, outbox_rows);
            run(count_outbox);
            outbox_rows = 0;
            exec("COMMIT");
        }
    }
    double elapsed = now_s() - start;
    printf("sqlite ceiling: %ld events in %.3f s = %.0f events/s (per_txn=%ld, synchronous=%s, streams=%ld)\n", events,
           elapsed, events / elapsed, per_txn, sync, streams);
    EVP_MD_CTX_free(sha);
    free(run_digests);
    sqlite3_close(db);
    return 0;
}
