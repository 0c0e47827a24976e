/*
 * bench/trace/sqlite_floor.c: the least a Trace backed by SQLite can cost on a store, for the same
 * starts as `mesgate trace-bench`, so bench/trace/run can print how far any SQLite walk could get
 * ahead of the naive baseline on this machine.
 *
 * For each start it walks breadth-first with exactly the reads mesgate's TraceWalker cannot do
 * without: one range scan of the node's edges (forward on the covering index edges_forward,
 * backward on edges_by_to) reading every column a TraceEdge needs, and one primary-key read of each
 * node reached for the first time with every column a TraceNode needs. It builds nothing, keeps no
 * edge, looks up no shipment or receipt and encodes nothing: a lower bound, not a competitor.
 * Same connection settings as mesgate's readers (read-only, SQLite's defaults, one read transaction
 * per walk).
 *
 *   sqlite_floor STORE_DIR STARTS_FILE REPEATS
 *
 * STARTS_FILE: kind<TAB>product<TAB>lot<TAB>serial<TAB>container<TAB>direction per line.
 * Prints per start found: start<TAB>direction<TAB>nodes<TAB>cpu_us(list), CPU time of each walk in µs;
 * start is the line's number among the file's non-comment lines, from 0 (as trace-bench prints it).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long cpu_micros(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

static void die(sqlite3 *db, const char *what) {
    fprintf(stderr, "sqlite_floor: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
    exit(1);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) die(db, sql);
    return s;
}

/* Touches every column of the current row as its type (what a row decoder has to read). */
static size_t touch(sqlite3_stmt *s) {
    size_t bytes = 0;
    for (int c = 0; c < sqlite3_column_count(s); c++) {
        switch (sqlite3_column_type(s, c)) {
        case SQLITE_INTEGER: bytes += (size_t)(sqlite3_column_int64(s, c) & 1); break;
        case SQLITE_FLOAT: bytes += sqlite3_column_double(s, c) > 0; break;
        case SQLITE_TEXT: sqlite3_column_text(s, c); bytes += (size_t)sqlite3_column_bytes(s, c); break;
        default: break;
        }
    }
    return bytes;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: sqlite_floor STORE_DIR STARTS_FILE REPEATS\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/genealogy.sqlite", argv[1]);
    int repeats = atoi(argv[3]);
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) die(db, path);

    sqlite3_stmt *find[3] = {
        prepare(db, "SELECT id FROM nodes WHERE kind = 'lot' AND product = ?1 AND lot = ?2"),
        prepare(db, "SELECT id FROM nodes WHERE kind = 'serial' AND product = ?1 AND serial = ?2"),
        prepare(db, "SELECT id FROM nodes WHERE kind = 'container' AND container = ?1"),
    };
    sqlite3_stmt *edges[2] = {
        prepare(db, "SELECT kind, from_node, to_node, qty, uom, work_order, sequence, ended_sequence, from_node "
                    "FROM edges WHERE to_node = ?1"),
        prepare(db, "SELECT kind, from_node, to_node, qty, uom, work_order, sequence, ended_sequence, to_node "
                    "FROM edges WHERE from_node = ?1"),
    };
    sqlite3_stmt *node =
        prepare(db, "SELECT id, kind, product, lot, serial, container, name, status FROM nodes WHERE id = ?1");
    sqlite3_stmt *top = prepare(db, "SELECT max(id) FROM nodes");
    if (sqlite3_step(top) != SQLITE_ROW) die(db, "max(id)");
    int64_t max_id = sqlite3_column_int64(top, 0);
    sqlite3_finalize(top);

    /* Visited marks by node id, stamped with the walk's number: nothing to clear between walks. */
    uint32_t *mark = calloc((size_t)max_id + 1, sizeof *mark);
    int64_t *queue = malloc(((size_t)max_id + 1) * sizeof *queue);
    uint32_t walk_no = 0;
    volatile size_t sink = 0;

    FILE *in = fopen(argv[2], "r");
    if (!in) die(NULL, argv[2]);
    char line[4096];
    long number = -1;
    while (fgets(line, sizeof line, in)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        number++;
        line[strcspn(line, "\n")] = 0;
        char *f[6] = {0};
        char *p = line;
        for (int i = 0; i < 6; i++) {
            f[i] = p;
            p = strchr(p, '\t');
            if (!p) break;
            *p++ = 0;
        }
        if (!f[5]) continue;
        int forward = strcmp(f[5], "backward") != 0;
        sqlite3_stmt *q = strcmp(f[0], "serial") == 0 ? find[1] : strcmp(f[0], "container") == 0 ? find[2] : find[0];
        if (q == find[2]) {
            sqlite3_bind_text(q, 1, f[4], -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_text(q, 1, f[1], -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, q == find[1] ? f[3] : f[2], -1, SQLITE_STATIC);
        }
        int64_t start = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
        sqlite3_reset(q);
        if (start < 0) continue;

        printf("%ld\t%s\t", number, f[5]);
        long nodes = 0;
        for (int r = 0; r <= repeats; r++) { /* run 0 warms the page cache and is not printed */
            long c0 = cpu_micros();
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
            walk_no++;
            size_t head = 0, tail = 0;
            queue[tail++] = start;
            mark[start] = walk_no;
            sqlite3_stmt *e = edges[forward];
            while (head < tail) {
                int64_t id = queue[head++];
                sqlite3_bind_int64(node, 1, id);
                if (sqlite3_step(node) == SQLITE_ROW) sink += touch(node);
                sqlite3_reset(node);
                sqlite3_bind_int64(e, 1, id);
                while (sqlite3_step(e) == SQLITE_ROW) {
                    sink += touch(e);
                    int64_t other = sqlite3_column_int64(e, 8);
                    if (other >= 0 && other <= max_id && mark[other] != walk_no) {
                        mark[other] = walk_no;
                        queue[tail++] = other;
                    }
                }
                sqlite3_reset(e);
            }
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
            long cpu = cpu_micros() - c0;
            nodes = (long)tail;
            if (r == 1) printf("%ld\t%ld", nodes, cpu);
            else if (r > 1) printf(",%ld", cpu);
        }
        printf("\n");
    }
    fclose(in);
    (void)sink;
    return 0;
}
