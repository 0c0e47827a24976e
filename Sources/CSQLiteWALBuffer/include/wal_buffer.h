// A SQLite VFS that writes a commit's frames to the write-ahead log in a few large writes.
//
// SQLite writes every frame of a commit to the log with two writes of its own (the frame's 24-byte
// header, then the page), so a commit of 255 pages is 510 pwrite calls, each touching two pages of
// the kernel's cache. This VFS, "mesgate-walbuffer", wraps the default "unix" VFS and gathers the
// log writes of a connection that opens a database with it in a buffer (1 MiB, written whenever
// the next write would not follow on or not fit), and writes the buffer at the commit's sync,
// 124 KiB per write (the unix VFS takes no more at once): before SQLite makes the commit visible,
// and where a failed write still fails the commit (a full disk answers SQLITE_FULL as without this
// VFS). A read, a truncation, a size query or a file control on the log writes the buffer first
// too, so SQLite never reads back anything but what it wrote. What is still buffered when the
// connection takes or gives up the log's write lock belongs to no commit (frames of a transaction
// that spilled pages to the log and rolled back): it is dropped, never written over the frames
// another connection may write there next. A write of the buffer that fails loses frames SQLite
// believes written: it is remembered, and every later call on the log fails (a read, size query or
// file control with SQLITE_IOERR_WRITE, which makes SQLite roll back the whole transaction, where a
// full disk reported from a read would roll back only the statement), so that transaction cannot
// commit; the failure is forgotten when the write lock changes hands.
//
// The commit's sync is not made. A connection opened with this VFS must set
//     PRAGMA synchronous = FULL; PRAGMA checkpoint_fullfsync = ON;
// so that SQLite syncs the log at each commit with SQLITE_SYNC_NORMAL and everywhere its recovery
// depends on a sync (the log's header when it starts over, the log before a checkpoint copies it,
// the database after) with SQLITE_SYNC_FULL (on Linux the same fdatasync). A log's sync with
// SQLITE_SYNC_NORMAL writes the buffer and returns: its owner syncs the log itself before it tells
// anyone of the commit (mesgate's CommitSyncer), as with synchronous = NORMAL. Every other sync is
// made.
//
// Should a commit be published with frames still buffered (a connection without those settings
// makes no sync at commit), the database file's xShmBarrier, which SQLite calls between the two
// copies of the wal-index header it writes to publish a commit, writes them first; if that write
// fails the process aborts rather than let readers see a commit whose frames are not in the log.
#pragma once
#include <sqlite3.h>

/// The VFS's name, for sqlite3_open_v2.
#define MESGATE_WAL_BUFFER_VFS "mesgate-walbuffer"

/// Registers the VFS (not as the default) once per process; later calls return the first's result.
int mesgate_wal_buffer_register(void);

/// Registers another VFS of this kind, named `name` (kept, not copied), over the registered VFS
/// `underlying` instead of "unix": for tests that put a VFS of their own beneath (one that fails
/// writes, say). SQLITE_ERROR when there is no such VFS.
int mesgate_wal_buffer_register_over(const char *name, const char *underlying);

/// What the log of a connection's main database went through since it was opened.
typedef struct {
    /// Writes SQLite asked of the log, and writes made to the file.
    sqlite3_int64 asked;
    sqlite3_int64 made;
    /// Syncs of commits, written and left to the log's owner.
    sqlite3_int64 commits;
} mesgate_wal_buffer_stats;

/// Fills `stats` for `db`'s main database; SQLITE_NOTFOUND when it was not opened with this VFS or
/// has no buffered log open.
int mesgate_wal_buffer_stats_of(sqlite3 *db, mesgate_wal_buffer_stats *stats);
