# Shared helpers of scripts/demo, scripts/test and scripts/bench. Sourced, not run.
# shellcheck shell=bash
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ROOT
cd "$ROOT"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run as root, or through sudo when we are not.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root to run: $* (install it yourself or run as root)"; fi
}

APT_UPDATED=0
# Install the Debian packages named, only those missing; `apt-get update` at
# most once per run.
ensure_apt() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
    log "installing ${missing[*]}"
    if [ "$APT_UPDATED" -eq 0 ]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# PostgreSQL 15 with PostGIS 3: the database every command needs.
ensure_postgis() {
    ensure_apt postgresql-15 postgresql-15-postgis-3 postgresql-contrib
}

ensure_rust() {
    command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
}

# Node.js and npm for the web app (Debian's packages when missing).
ensure_node() {
    command -v node >/dev/null && command -v npm >/dev/null && return 0
    ensure_apt nodejs npm
}

# Generate the small demo dataset (real municipalities and households,
# synthetic sites, measures and coverage) into $2 once (cached by the
# generator's source, the seeds it reads and the shipped data), then ingest it and compute
# coverage with the funkplan binary $1 against the database in use
# (DATABASE_URL or the embedded cluster). Re-ingesting the same files is a
# no-op. When the cached dataset is replaced by a different one, the
# embedded cluster's database is made afresh first: the new sites cannot be
# applied over the old ones (a site on air does not go back to planned).
# The release date of the demo's coverage.csv, the newest of its releases
# (a fixed date, so a reload is a no-op): the quarter after the last
# completion in the generator's story (crates/ingest/src/demo/releases.rs).
DEMO_COVERAGE_AS_OF=2026-10-01

load_demo_data() {
    local F=$1 DEMO=$2 kind file key old=""
    key=$(cat "$ROOT/crates/ingest/src/demo.rs" "$ROOT"/crates/ingest/src/demo/*.rs "$ROOT"/seeds/*.json \
              "$ROOT"/data/*.geojson "$ROOT"/data/*.csv | sha256sum | cut -c1-16)
    # A marker without a key is from before the demo ran on the real data.
    [ -f "$DEMO/.complete" ] && old=$(cat "$DEMO/.complete") && old=${old:-synthetic}
    if [ "$old" != "$key" ]; then
        log "generating the demo dataset in $DEMO"
        rm -rf "$DEMO"
        "$F" demo-data --scale small "$DEMO"
        echo "$key" >"$DEMO/.complete"
        if [ -n "$old" ] && [ -z "${DATABASE_URL:-}" ]; then
            local url admin db
            url=$("$F" db url)
            db=$(printf '%s' "$url" | sed -E 's#^[^/]*//[^/]*/([^?]*).*#\1#')
            admin=$(printf '%s' "$url" | sed -E 's#(//[^/]*)/[^?]*#\1/postgres#')
            log "the demo dataset changed: making database $db afresh"
            psql -q "$admin" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\""
            "$F" migrate >/dev/null
            "$F" seed >/dev/null
        fi
    fi
    log "loading the demo dataset"
    for kind in municipalities households sites measures coverage; do
        case $kind in municipalities) file=municipalities.geojson ;; *) file=$kind.csv ;; esac
        # The demo's coverage is a series of quarterly releases (issue 16):
        # the first whole, each later one its changes, merged into a copy of
        # the release before (--partial), all in one transaction. The newest
        # equals coverage.csv (the release of DEMO_COVERAGE_AS_OF).
        if [ "$kind" = coverage ]; then
            "$F" ingest coverage "$DEMO"/releases/*_coverage.csv --partial
        else
            "$F" ingest "$kind" "$DEMO/$file"
        fi
    done
    log "computing coverage"
    "$F" recompute
}

# A free TCP port on loopback.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Wait until GET $1 answers 200 (at most $2 seconds, default 120).
wait_http() {
    python3 - "$1" "${2:-120}" <<'PY'
import sys, time, urllib.request
url, limit = sys.argv[1], float(sys.argv[2])
end = time.time() + limit
while time.time() < end:
    try:
        if urllib.request.urlopen(url, timeout=5).status == 200:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.25)
sys.exit(f"{url} did not answer within {limit:.0f} s")
PY
}
