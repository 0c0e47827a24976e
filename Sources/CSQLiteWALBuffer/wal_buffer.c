// The "mesgate-walbuffer" VFS: see include/wal_buffer.h.
//
// Every method but xOpen is the wrapped VFS's own ("unix", or the one a test names); every file
// method but those below is the real file's. A file of this VFS is a `BufferedFile` followed in
// memory by the real file it wraps.
// The log of a connection is paired with the connection's database file when it opens
// (`sqlite3_filename_database` gives the database's name pointer, the same one its xOpen got), so
// the database file's barrier finds the buffer to write. A connection is used by one thread at a
// time, and a log and its database belong to one connection: only the list of open databases,
// which every connection of this VFS shares, needs the lock.
#include "wal_buffer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// The buffer, and the largest write made of it at once (31 pages: see `writeThrough`).
enum { BUFFER_BYTES = 1 << 20, WRITE_PIECE_BYTES = 31 * 4096 };

/// A private file-control opcode: the log's counts, asked of the database file.
enum { FCNTL_WAL_BUFFER_STATS = 0x6d657301 };

typedef struct BufferedFile BufferedFile;
struct BufferedFile {
    sqlite3_file base;
    sqlite3_file *real;
    /// A database: the name its xOpen got; a log: its database's name.
    const char *databaseName;
    /// A database: its connection's log while open. A log: its database while open.
    BufferedFile *partner;
    /// A database: the next open database of this VFS.
    BufferedFile *next;
    /// A log: the gathered writes, starting at file offset `start`.
    unsigned char *buffer;
    int used;
    sqlite3_int64 start;
    /// A log: the result of a write of the buffer that failed in this write transaction, or 0.
    /// Frames SQLite believes written are lost, so everything on the log fails until the write
    /// lock changes hands (`bufferedShmLock`): the transaction cannot commit.
    int failure;
    mesgate_wal_buffer_stats stats;
};

static BufferedFile *openDatabases;
static pthread_mutex_t openDatabasesLock = PTHREAD_MUTEX_INITIALIZER;

static int isLog(const BufferedFile *f) { return f->buffer != NULL; }

/// Writes `amount` bytes at `offset` in pieces the unix VFS takes whole: its write masks the length
/// to 17 bits (`seekAndWriteFd`), so a longer write would come back short, as from a full disk.
static int writeThrough(BufferedFile *f, const unsigned char *data, int amount, sqlite3_int64 offset) {
    while (amount > 0) {
        int piece = amount < WRITE_PIECE_BYTES ? amount : WRITE_PIECE_BYTES;
        f->stats.made++;
        int rc = f->real->pMethods->xWrite(f->real, data, piece, offset);
        if (rc != SQLITE_OK) return rc;
        data += piece;
        amount -= piece;
        offset += piece;
    }
    return SQLITE_OK;
}

/// Writes the buffer to the file; empty afterwards, whatever the result. A failure stays (`failure`).
/// A database file's buffer is always empty: nothing to do.
static int flush(BufferedFile *f) {
    if (f->failure) return f->failure;
    if (f->used == 0) return SQLITE_OK;
    int used = f->used;
    f->used = 0;
    int rc = writeThrough(f, f->buffer, used, f->start);
    if (rc != SQLITE_OK) f->failure = rc;
    return rc;
}

/// `flush` before a call that is not a write or a sync, on any file: its error is an I/O error,
/// which makes SQLite roll back the whole transaction (a full disk reported from a read would roll
/// back only the statement, and the transaction could go on to commit without the lost frames).
static int flushBefore(BufferedFile *f) {
    int rc = flush(f);
    return rc == SQLITE_OK ? SQLITE_OK : SQLITE_IOERR_WRITE;
}

// MARK: file methods

static int bufferedClose(sqlite3_file *file) {
    BufferedFile *f = (BufferedFile *)file;
    int rc = SQLITE_OK;
    if (isLog(f)) {
        rc = flush(f);
        if (f->partner) f->partner->partner = NULL;
        free(f->buffer);
        f->buffer = NULL;
    } else if (f->databaseName) {
        pthread_mutex_lock(&openDatabasesLock);
        for (BufferedFile **p = &openDatabases; *p; p = &(*p)->next) {
            if (*p == f) {
                *p = f->next;
                break;
            }
        }
        pthread_mutex_unlock(&openDatabasesLock);
        if (f->partner) f->partner->partner = NULL;
    }
    int closed = f->real->pMethods->xClose(f->real);
    return rc != SQLITE_OK ? rc : closed;
}

static int bufferedRead(sqlite3_file *file, void *out, int amount, sqlite3_int64 offset) {
    BufferedFile *f = (BufferedFile *)file;
    int rc = flushBefore(f);
    if (rc != SQLITE_OK) return rc;
    return f->real->pMethods->xRead(f->real, out, amount, offset);
}

static int bufferedWrite(sqlite3_file *file, const void *data, int amount, sqlite3_int64 offset) {
    BufferedFile *f = (BufferedFile *)file;
    if (!isLog(f)) return f->real->pMethods->xWrite(f->real, data, amount, offset);
    f->stats.asked++;
    if (f->failure) return f->failure;
    int follows = f->used > 0 && offset == f->start + f->used && f->used + amount <= BUFFER_BYTES;
    if (!follows) {
        int rc = flush(f);
        if (rc != SQLITE_OK) return rc;
        if (amount > BUFFER_BYTES) return writeThrough(f, data, amount, offset);
        f->start = offset;
    }
    memcpy(f->buffer + f->used, data, (size_t)amount);
    f->used += amount;
    return SQLITE_OK;
}

static int bufferedTruncate(sqlite3_file *file, sqlite3_int64 size) {
    BufferedFile *f = (BufferedFile *)file;
    int rc = flushBefore(f);
    if (rc != SQLITE_OK) return rc;
    return f->real->pMethods->xTruncate(f->real, size);
}

/// A log's sync with SQLITE_SYNC_NORMAL is a commit's (see the header): it writes the buffer and
/// leaves the sync to whoever opened the log. Any other sync is made.
static int bufferedSync(sqlite3_file *file, int flags) {
    BufferedFile *f = (BufferedFile *)file;
    if (isLog(f)) {
        int rc = flush(f);
        if (rc != SQLITE_OK) return rc;
        if ((flags & 0x0F) == SQLITE_SYNC_NORMAL) {
            f->stats.commits++;
            return SQLITE_OK;
        }
    }
    return f->real->pMethods->xSync(f->real, flags);
}

static int bufferedFileSize(sqlite3_file *file, sqlite3_int64 *size) {
    BufferedFile *f = (BufferedFile *)file;
    int rc = flushBefore(f);
    if (rc != SQLITE_OK) return rc;
    return f->real->pMethods->xFileSize(f->real, size);
}

static int bufferedLock(sqlite3_file *file, int lock) {
    BufferedFile *f = (BufferedFile *)file;
    return f->real->pMethods->xLock(f->real, lock);
}

static int bufferedUnlock(sqlite3_file *file, int lock) {
    BufferedFile *f = (BufferedFile *)file;
    return f->real->pMethods->xUnlock(f->real, lock);
}

static int bufferedCheckReservedLock(sqlite3_file *file, int *out) {
    BufferedFile *f = (BufferedFile *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int bufferedFileControl(sqlite3_file *file, int op, void *arg) {
    BufferedFile *f = (BufferedFile *)file;
    if (op == FCNTL_WAL_BUFFER_STATS) {
        if (isLog(f) || f->partner == NULL) return SQLITE_NOTFOUND;
        *(mesgate_wal_buffer_stats *)arg = f->partner->stats;
        return SQLITE_OK;
    }
    int rc = flushBefore(f);
    if (rc != SQLITE_OK) return rc;
    rc = f->real->pMethods->xFileControl(f->real, op, arg);
    if (rc == SQLITE_OK && op == SQLITE_FCNTL_VFSNAME) {
        // The real file named its VFS ("unix"); name this kind in front of it.
        char **name = (char **)arg;
        char *both = sqlite3_mprintf("%s/%z", MESGATE_WAL_BUFFER_VFS, *name);
        if (both == NULL) return SQLITE_NOMEM;
        *name = both;
    }
    return rc;
}

static int bufferedSectorSize(sqlite3_file *file) {
    BufferedFile *f = (BufferedFile *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int bufferedDeviceCharacteristics(sqlite3_file *file) {
    BufferedFile *f = (BufferedFile *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int bufferedShmMap(sqlite3_file *file, int region, int size, int extend, void volatile **out) {
    BufferedFile *f = (BufferedFile *)file;
    return f->real->pMethods->xShmMap(f->real, region, size, extend, out);
}

/// The wal-index's lock slot of the one writer (wal.c's WAL_WRITE_LOCK).
enum { WAL_WRITE_LOCK_SLOT = 0 };

/// When the connection takes or gives up the log's write lock, nothing it buffered may stay, and a
/// failed write of the buffer is forgotten (the transaction it failed has rolled back): a
/// commit's sync wrote its frames already, so what could be left is frames of a transaction that
/// did not commit (a cache spill, then a rollback; SQLite 3.40's rollback reads the log and so
/// writes them first). They are dropped, not written: once the lock is given up another connection
/// may write its own frames at those offsets.
static int bufferedShmLock(sqlite3_file *file, int offset, int n, int flags) {
    BufferedFile *f = (BufferedFile *)file;
    BufferedFile *log = isLog(f) ? NULL : f->partner;
    if (log && offset <= WAL_WRITE_LOCK_SLOT && WAL_WRITE_LOCK_SLOT < offset + n) {
        log->used = 0;
        log->failure = 0;
    }
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

/// Where SQLite is about to publish a commit. The commit's sync wrote its frames already; frames
/// still buffered here mean a connection without the settings the header asks for, whose commit
/// would be visible before its frames: they are written now, and if they cannot be, the process
/// stops rather than let a reader see a commit that is not in the log.
static void bufferedShmBarrier(sqlite3_file *file) {
    BufferedFile *f = (BufferedFile *)file;
    BufferedFile *log = isLog(f) ? NULL : f->partner;
    if (log && log->used > 0) {
        int rc = flush(log);
        if (rc != SQLITE_OK) {
            fprintf(stderr, "%s: a commit's log frames could not be written before it became visible (%s)\n",
                    MESGATE_WAL_BUFFER_VFS, sqlite3_errstr(rc));
            abort();
        }
    }
    f->real->pMethods->xShmBarrier(f->real);
}

static int bufferedShmUnmap(sqlite3_file *file, int deleteFlag) {
    BufferedFile *f = (BufferedFile *)file;
    return f->real->pMethods->xShmUnmap(f->real, deleteFlag);
}

static int bufferedFetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    BufferedFile *f = (BufferedFile *)file;
    int rc = flushBefore(f);
    if (rc != SQLITE_OK) return rc;
    return f->real->pMethods->xFetch(f->real, offset, amount, out);
}

static int bufferedUnfetch(sqlite3_file *file, sqlite3_int64 offset, void *page) {
    BufferedFile *f = (BufferedFile *)file;
    return f->real->pMethods->xUnfetch(f->real, offset, page);
}

static const sqlite3_io_methods bufferedMethods = {
    3,
    bufferedClose,
    bufferedRead,
    bufferedWrite,
    bufferedTruncate,
    bufferedSync,
    bufferedFileSize,
    bufferedLock,
    bufferedUnlock,
    bufferedCheckReservedLock,
    bufferedFileControl,
    bufferedSectorSize,
    bufferedDeviceCharacteristics,
    bufferedShmMap,
    bufferedShmLock,
    bufferedShmBarrier,
    bufferedShmUnmap,
    bufferedFetch,
    bufferedUnfetch,
};

// MARK: the VFS

/// The VFS a VFS of this file wraps.
static sqlite3_vfs *wrapped(sqlite3_vfs *v) { return (sqlite3_vfs *)v->pAppData; }

static int bufferedOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *outFlags) {
    BufferedFile *f = (BufferedFile *)file;
    memset(f, 0, sizeof(*f));
    f->real = (sqlite3_file *)&f[1];
    sqlite3_vfs *real = wrapped(vfs);
    int rc = real->xOpen(real, name, f->real, flags, outFlags);
    if (rc != SQLITE_OK) return rc;  // base.pMethods stays NULL: SQLite will not call xClose
    if (f->real->pMethods == NULL || f->real->pMethods->iVersion < 3) {
        // A file without the methods this needs (shared memory, memory mapping): leave it be.
        if (f->real->pMethods) f->real->pMethods->xClose(f->real);
        return SQLITE_CANTOPEN;
    }
    f->base.pMethods = &bufferedMethods;
    if ((flags & SQLITE_OPEN_MAIN_DB) && name) {
        f->databaseName = name;
        pthread_mutex_lock(&openDatabasesLock);
        f->next = openDatabases;
        openDatabases = f;
        pthread_mutex_unlock(&openDatabasesLock);
    } else if ((flags & SQLITE_OPEN_WAL) && name) {
        const char *database = sqlite3_filename_database(name);
        pthread_mutex_lock(&openDatabasesLock);
        BufferedFile *d = openDatabases;
        while (d && d->databaseName != database) d = d->next;
        pthread_mutex_unlock(&openDatabasesLock);
        // Without its database among ours (or with a log already) the log stays unbuffered.
        if (d == NULL || d->partner != NULL) return SQLITE_OK;
        f->buffer = malloc(BUFFER_BYTES);
        if (f->buffer == NULL) return SQLITE_OK;
        f->databaseName = database;
        f->partner = d;
        d->partner = f;
    }
    return SQLITE_OK;
}

static int forwardDelete(sqlite3_vfs *v, const char *name, int syncDir) {
    return wrapped(v)->xDelete(wrapped(v), name, syncDir);
}
static int forwardAccess(sqlite3_vfs *v, const char *name, int flags, int *out) {
    return wrapped(v)->xAccess(wrapped(v), name, flags, out);
}
static int forwardFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) {
    return wrapped(v)->xFullPathname(wrapped(v), name, n, out);
}
static void *forwardDlOpen(sqlite3_vfs *v, const char *name) {
    return wrapped(v)->xDlOpen(wrapped(v), name);
}
static void forwardDlError(sqlite3_vfs *v, int n, char *out) {
    wrapped(v)->xDlError(wrapped(v), n, out);
}
static void (*forwardDlSym(sqlite3_vfs *v, void *handle, const char *symbol))(void) {
    return wrapped(v)->xDlSym(wrapped(v), handle, symbol);
}
static void forwardDlClose(sqlite3_vfs *v, void *handle) {
    wrapped(v)->xDlClose(wrapped(v), handle);
}
static int forwardRandomness(sqlite3_vfs *v, int n, char *out) {
    return wrapped(v)->xRandomness(wrapped(v), n, out);
}
static int forwardSleep(sqlite3_vfs *v, int microseconds) {
    return wrapped(v)->xSleep(wrapped(v), microseconds);
}
static int forwardCurrentTime(sqlite3_vfs *v, double *out) {
    return wrapped(v)->xCurrentTime(wrapped(v), out);
}
static int forwardGetLastError(sqlite3_vfs *v, int n, char *out) {
    return wrapped(v)->xGetLastError(wrapped(v), n, out);
}
static int forwardCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) {
    return wrapped(v)->xCurrentTimeInt64(wrapped(v), out);
}

/// A VFS of this file named `name` over `real` (both live as long as the process), or NULL.
static sqlite3_vfs *makeVFS(const char *name, sqlite3_vfs *real) {
    if (real == NULL || real->iVersion < 2 || real->xCurrentTimeInt64 == NULL) return NULL;
    sqlite3_vfs *vfs = calloc(1, sizeof(sqlite3_vfs));
    if (vfs == NULL) return NULL;
    vfs->iVersion = 2;
    vfs->szOsFile = (int)sizeof(BufferedFile) + real->szOsFile;
    vfs->mxPathname = real->mxPathname;
    vfs->zName = name;
    vfs->pAppData = real;
    vfs->xOpen = bufferedOpen;
    vfs->xDelete = forwardDelete;
    vfs->xAccess = forwardAccess;
    vfs->xFullPathname = forwardFullPathname;
    vfs->xDlOpen = forwardDlOpen;
    vfs->xDlError = forwardDlError;
    vfs->xDlSym = forwardDlSym;
    vfs->xDlClose = forwardDlClose;
    vfs->xRandomness = forwardRandomness;
    vfs->xSleep = forwardSleep;
    vfs->xCurrentTime = forwardCurrentTime;
    vfs->xGetLastError = forwardGetLastError;
    vfs->xCurrentTimeInt64 = forwardCurrentTimeInt64;
    return vfs;
}

static int registered = SQLITE_ERROR;
static pthread_once_t registerOnce = PTHREAD_ONCE_INIT;

static void registerVFS(void) {
    sqlite3_vfs *vfs = makeVFS(MESGATE_WAL_BUFFER_VFS, sqlite3_vfs_find("unix"));
    if (vfs != NULL) registered = sqlite3_vfs_register(vfs, 0);
}

int mesgate_wal_buffer_register(void) {
    pthread_once(&registerOnce, registerVFS);
    return registered;
}

int mesgate_wal_buffer_register_over(const char *name, const char *underlying) {
    sqlite3_vfs *vfs = makeVFS(name, sqlite3_vfs_find(underlying));
    if (vfs == NULL) return SQLITE_ERROR;
    int rc = sqlite3_vfs_register(vfs, 0);
    if (rc != SQLITE_OK) free(vfs);
    return rc;
}

int mesgate_wal_buffer_stats_of(sqlite3 *db, mesgate_wal_buffer_stats *stats) {
    memset(stats, 0, sizeof(*stats));
    return sqlite3_file_control(db, "main", FCNTL_WAL_BUFFER_STATS, stats);
}
