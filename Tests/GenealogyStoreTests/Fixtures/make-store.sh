#!/usr/bin/env bash
# Makes store-vNN.sqlite.gz: a genealogy store written by the mesgate of schema version NN, for
# MigrationTests' upgrade tests. It must be run with binaries built from that version's commit, not
# from the current code:
#   version 14: commit 605a20b, the last before migration 15 (outbox rows counted per transaction);
#   version 20: commit 7d80dd9, the last before migration 21 (an audit entry per stored event).
#   git worktree add --detach /tmp/v20 7d80dd9 && (cd /tmp/v20 && swift build -c release)
#   Tests/GenealogyStoreTests/Fixtures/make-store.sh 20 /tmp/v20/.build/release
# What the store holds: 300 mesgate-load events (receipts of STEEL lots, consumptions into FRAME
# serials for WH/MO/0), a hold on STEEL lot L-vNN-2 (with what was made from it), one voided
# consumption (vNN-5) and the audit trail of all of it.
set -euo pipefail
version=${1:?usage: make-store.sh VERSION DIR_OF_MESGATE_AND_MESGATE_LOAD}
bin=${2:?usage: make-store.sh VERSION DIR_OF_MESGATE_AND_MESGATE_LOAD}
v="v$version"
here=$(cd "$(dirname "$0")" && pwd)
data=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
port=$((40000 + RANDOM % 10000))
"$bin/mesgate" serve --listen "127.0.0.1:$port" --data "$data" --admin-listen "127.0.0.1:$((port + 1))" \
  >"$data/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
"$bin/mesgate-load" --target "127.0.0.1:$port" --events 300 --connections 1 --streams 3 --run-id "$v" >/dev/null
"$bin/mesgate" hold --server "127.0.0.1:$port" --product STEEL --lot "L-$v-2" \
  --reason "fixture: a hold made by version $version" >/dev/null
"$bin/mesgate" event void --server "127.0.0.1:$port" "$v-5" --reason "fixture: a void made by version $version" >/dev/null
kill -TERM "$server"
wait "$server" || true
sqlite3 "$data/genealogy.sqlite" "PRAGMA user_version" | grep -qx "$version"
gzip -9 -n -c "$data/genealogy.sqlite" >"$here/store-$v.sqlite.gz"
echo "wrote $here/store-$v.sqlite.gz"
