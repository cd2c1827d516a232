#!/usr/bin/env bash
# A reader's longest wait during an ingest (issue 20): one psql session runs
# QUERY every 10 ms (default: `SELECT 1 FROM TABLE LIMIT 1`, which needs the
# same lock as any reader of TABLE and costs nothing itself) while
# `FUNKPLAN ingest KIND FILE` runs, and the longest statement time is
# reported. Behind a TRUNCATE that is about the whole load; with the swap,
# one short lock attempt.
#
#   scripts/bench.d/ingest_readers.sh FUNKPLAN KIND FILE TABLE [QUERY]
#
# The database is the one FUNKPLAN uses (DATABASE_URL, else the embedded
# cluster of FUNKPLAN_HOME, which must be running). The last line of stdout
# is machine-readable:
#   longest_reader_wait_ms=… reader_queries=… ingest_s=… ingest_status=…
# The ingest's own output goes to stderr. INGEST_READERS_LOG=FILE keeps
# the reader's output (each result and its time). Needs psql.
set -euo pipefail

[ $# -ge 4 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
F=$1 KIND=$2 FILE=$3 TABLE=$4
QUERY=${5:-"SELECT 1 FROM $TABLE LIMIT 1"}
URL=${DATABASE_URL:-$("$F" db url)}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The reader: statements fed every 10 ms to one session (no connection cost
# in the figures); psql's \timing gives each one's time from send to answer.
# A blocked statement is the one that shows the wait; those queued behind it
# in the pipe run at once afterwards.
(
    echo '\timing on'
    while [ ! -e "$TMP/stop" ]; do
        echo "$QUERY;"
        sleep 0.01
    done
) | psql "$URL" -X -q -A -t -v ON_ERROR_STOP=1 >"$TMP/reader.out" 2>"$TMP/reader.err" &
READER=$!

sleep 1 # the reader's steady state first
start=$(date +%s.%N)
status=0
# Coverage files are dated releases (issue 16): the demo's one (scripts/lib.sh).
AS_OF=()
[ "$KIND" = coverage ] && AS_OF=(--as-of "${DEMO_COVERAGE_AS_OF:-2026-10-01}")
"$F" ingest "$KIND" "$FILE" "${AS_OF[@]}" >&2 || status=$?
end=$(date +%s.%N)
sleep 0.5
touch "$TMP/stop"
wait "$READER" || { cat "$TMP/reader.err" >&2; echo "error: the reader failed" >&2; exit 1; }
# Each statement's result and time, e.g. with QUERY `SELECT statement_timestamp() FROM …`
# to place the slow ones against the ingest's log.
[ -z "${INGEST_READERS_LOG:-}" ] || cp "$TMP/reader.out" "$INGEST_READERS_LOG"

awk -v start="$start" -v end="$end" -v status="$status" '
    /^Time: / { n++; if ($2 + 0 > max) max = $2 + 0 }
    END {
        if (n == 0) { print "error: the reader recorded nothing" > "/dev/stderr"; exit 1 }
        printf "longest_reader_wait_ms=%.1f reader_queries=%d ingest_s=%.2f ingest_status=%d\n", max, n, end - start, status
    }' "$TMP/reader.out"
