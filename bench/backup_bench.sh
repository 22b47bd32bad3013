#!/usr/bin/env bash
# scnfs backup benchmark: throughput, incremental speed-up, restore speed and store size, against cp -r and
# (for PostgreSQL) restic and borg, all measured in the same run.
#
# Usage: bench/backup_bench.sh [--quick] [--only oracle|postgres]
#
#   --quick   small sizes for a smoke run (Oracle set 256 MiB, pgbench -s 10) - about a minute
#   --only    run one data set
#
# Data sets
#   A. Oracle format: scnfs-oragen datafiles (full: 4 x 512 MiB = 2 GiB), full backup, a 3% change written by
#      `scnfs-oragen change --fraction 0.03 --changed-blocks-out`, an incremental WITH --changed-blocks and, on a
#      copy of the same store, one WITHOUT it (full scan), restore of the latest point.
#   B. PostgreSQL 15: initdb --data-checksums, pgbench -i -s 100, VACUUM FREEZE, stop -> state 1; start,
#      pgbench -t 2300 -c 2, stop -> state 2. scnfs, restic and borg each back up state 1 then state 2 of the
#      same stopped data directory; restore of the latest scnfs point. Then, while pgbench -c 2 runs: a hot full
#      backup with --pg-connect into a new store beside pg_basebackup -X fetch of the same running cluster.
#
# Page-cache policy (printed in the header): when /proc/sys/vm/drop_caches is writable (root), every timed
# step starts cold: `sync; echo 3 > /proc/sys/vm/drop_caches` right before it. Rows marked "(warm)" repeat a
# step right after its cold run, source (or store) still cached. Every timed step ends with `sync`, so the
# written data is on disk for every tool alike. MB = 10^6 bytes; MB/s of backups and restores is of the
# logical (source) bytes, also for incrementals. Seconds are wall clock, process start to end of sync.
#
# Needs: the built binaries (cd REPO && cmake -S . -B build -G Ninja && ninja -C build scnfs scnfs-oragen;
# or SCNFS_BIN_DIR=dir), jq, restic, borg, PostgreSQL 15 server tools (PG_BIN, default
# /usr/lib/postgresql/15/bin; run as the postgres user when started as root).
# Writes only under /var/tmp/scnfs-bench-XXXX (removed at exit). Exit status is non-zero when a step fails
# (or a restore differs from its source), not when a target is missed.
set -euo pipefail

QUICK=0
ONLY=all
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY="${2:?--only needs oracle or postgres}"; shift ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$ONLY" in all|oracle|postgres) ;; *) echo "--only: oracle or postgres" >&2; exit 2 ;; esac

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${SCNFS_BIN_DIR:-$REPO/build}"
SCNFS="$BIN/scnfs"
ORAGEN="$BIN/scnfs-oragen"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

if ((QUICK)); then
  ORA_FILES=4; ORA_BLOCKS=8191        # 4 x 64 MiB = 256 MiB (file size = (blocks + 1) x 8 KiB)
  PG_SCALE=10; PG_TX=230              # ~160 MB cluster, ~3% of its pages changed
else
  ORA_FILES=4; ORA_BLOCKS=65535       # 4 x 512 MiB = 2 GiB
  PG_SCALE=100; PG_TX=2300            # ~1.5 GB in base/, 2 x 2300 = 4600 transactions, ~3% of pages changed
fi
ORA_FRACTION=0.03

# Targets.
T_FULL_MBPS=400
T_CB_SPEEDUP=10
T_RESTORE_MBPS=500
T_PG_STORE_PCT=7

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing tool: $1" >&2; exit 1; }; }
for t in jq awk cp du sync column; do need "$t"; done
[[ -x "$SCNFS" && -x "$ORAGEN" ]] || {
  echo "scnfs binaries not found in $BIN: cd $REPO && cmake -S . -B build -G Ninja && ninja -C build scnfs scnfs-oragen" >&2
  exit 1
}
if [[ "$ONLY" != oracle ]]; then
  need restic; need borg
  [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || { echo "PostgreSQL server tools not found in $PG_BIN" >&2; exit 1; }
fi
PGBENCH="$PG_BIN/pgbench"; [[ -x "$PGBENCH" ]] || PGBENCH="$(command -v pgbench || echo pgbench)"

# ---------------------------------------------------------------------------------------------------------
W="$(mktemp -d /var/tmp/scnfs-bench-XXXX)"
chmod 755 "$W"
LOG="$W/log"; mkdir -p "$LOG"
# Private copies of the binaries: a rebuild of $BIN during the run must not change what is measured.
mkdir -p "$W/bin"; cp "$SCNFS" "$ORAGEN" "$W/bin/"; chmod 755 "$W/bin"
SCNFS="$W/bin/scnfs"; ORAGEN="$W/bin/scnfs-oragen"
PGDATA=""; PG_RUNNING=0
AS_PG=()
if [[ $(id -u) -eq 0 ]]; then AS_PG=(runuser -u postgres --); fi

cleanup() {
  local rc=$?
  if ((PG_RUNNING)); then "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$W"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

progress() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { echo "FAILED: $*" >&2; exit 1; }

COLD=0
if [[ -w /proc/sys/vm/drop_caches ]] && (sync; echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then COLD=1; fi
drop_caches() { if ((COLD)); then sync; echo 3 >/proc/sys/vm/drop_caches; fi; }

# timed NAME [--warm] CMD... : runs CMD (stdout -> $LOG/NAME.out, stderr -> $LOG/NAME.err), cold unless
# --warm, then sync; sets SECS. A failing command ends the benchmark.
SECS=0
timed() {
  local name="$1"; shift
  local warm=0
  if [[ "${1:-}" == --warm ]]; then warm=1; shift; fi
  ((warm)) || drop_caches
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  "$@" >"$LOG/$name.out" 2>"$LOG/$name.err" || rc=$?
  sync
  t1=$(date +%s.%N)
  if ((rc != 0)); then
    echo "step '$name' failed (exit $rc): $*" >&2
    tail -n 20 "$LOG/$name.err" >&2
    exit 1
  fi
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

# Arithmetic helpers (awk; no bc needed).
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
mbps() { calc "%.1f" "$1 / 1e6 / $2"; }                # bytes seconds
mb() { calc "%.1f MB" "$1 / 1e6"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }  # a >= b
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
size_of() { du -sb "$1" | awk '{ print $1 }'; }
# Bytes of RocksDB write-ahead logs (*.log) in a store: data the last backup left unflushed, counted in du.
wal_of() { find "$1" -name '*.log' -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
json() { jq -r "$2" "$LOG/$1.out"; }

ROWS=()
row() { ROWS+=("$(printf '%s|' "$@")"); }   # step bytes seconds MB/s baseline ratio target met?
NOTES=()
note() { NOTES+=("$*"); }
VERIFY_FAILED=0
print_table() {
  local title="$1"
  echo
  echo "== $title"
  { echo "step|bytes|seconds|MB/s|baseline MB/s|ratio|target|met?|"; printf '%s\n' "${ROWS[@]}"; } | column -t -s'|'
  if ((${#NOTES[@]})); then printf '  - %s\n' "${NOTES[@]}"; fi
  ROWS=(); NOTES=()
}

# verify_same A B NAME: byte-for-byte comparison of two trees (untimed); a difference fails the run at the end.
verify_same() {
  if diff -r -q --no-dereference "$1" "$2" >"$LOG/diff-$3.txt" 2>&1; then
    note "restore $3: identical to its source (diff -r)"
  else
    note "restore $3: DIFFERS from its source: $(head -c 400 "$LOG/diff-$3.txt" | tr '\n' ';')"
    VERIFY_FAILED=1
  fi
}

echo "scnfs backup benchmark $( ((QUICK)) && echo '(--quick)' )"
echo "date: $(date -Is)   host: $(uname -n)   kernel: $(uname -r)"
echo "cpu: $(nproc) x $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)   memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "work dir: $W on $(df -P "$W" | awk 'NR == 2 { print $1 }')"
echo "scnfs: $("$SCNFS" --version 2>/dev/null | head -1)  git $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
echo "scnfs binary: $BIN/scnfs, built $(date -r "$BIN/scnfs" -Is)"
if ((COLD)); then
  echo "page cache: cold - 'sync; echo 3 > /proc/sys/vm/drop_caches' before every timed step; (warm) rows repeat a step with its input cached"
else
  echo "page cache: WARM for all steps (cannot write /proc/sys/vm/drop_caches; run as root for cold runs)"
fi
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "every timed step ends with sync; MB = 10^6 bytes; MB/s of logical source bytes; 2 cores shared with other work: compare ratios, not absolute numbers"

# ---------------------------------------------------------------------------------------------------------
bench_oracle() {
  local D="$W/ora" src="$W/ora/src" cb="$W/ora/changed-blocks.txt"
  mkdir -p "$D"
  progress "A: creating Oracle-format set: $ORA_FILES files x $ORA_BLOCKS blocks"
  "$ORAGEN" create --dir "$src" --db BENCH --dbid 4242 --files "$ORA_FILES" --blocks "$ORA_BLOCKS" --seed 1 \
    >"$LOG/oragen-create.out" 2>&1 || die "scnfs-oragen create: $(tail -3 "$LOG/oragen-create.out")"
  local SRC_BYTES; SRC_BYTES=$(size_of "$src")
  # A yardstick of this machine's CPU that does not depend on scnfs: per-block zstd level 1 is most of a full
  # backup's CPU, and the vCPUs of these machines differ between runs by up to 1.5x.
  if command -v zstd >/dev/null; then
    head -c $((64 << 20)) "$(ls "$src"/*.dbf | head -1)" >"$W/yardstick.bin"
    local Z; Z=$(zstd -b1 -B8K "$W/yardstick.bin" 2>&1 | tr '\r' '\n' | grep 'MB/s' | tail -1 | grep -o '[0-9.]* MB/s' | tr '\n' ' ')
    note "cpu yardstick: zstd CLI level 1 per 8 KiB block on 64 MiB of this set, one core: ${Z:-?}(compress, decompress)"
    rm -f "$W/yardstick.bin"
  fi

  progress "A: cp -r (cold, warm)"
  timed ora-cp cp -r "$src" "$D/cp1"; local CP=$SECS; rm -rf "$D/cp1"
  timed ora-cp-warm --warm cp -r "$src" "$D/cp2"; local CPW=$SECS; rm -rf "$D/cp2"; sync
  local CP_MBPS CPW_MBPS; CP_MBPS=$(mbps "$SRC_BYTES" "$CP"); CPW_MBPS=$(mbps "$SRC_BYTES" "$CPW")
  row "cp -r" "$(mb "$SRC_BYTES")" "$CP" "$CP_MBPS" "-" "-" "-" "-"
  row "cp -r (warm)" "$(mb "$SRC_BYTES")" "$CPW" "$CPW_MBPS" "-" "-" "-" "-"

  progress "A: scnfs full backup (cold)"
  "$SCNFS" init --store "$D/store" >/dev/null
  timed ora-full "$SCNFS" backup --store "$D/store" --db BENCH --json "$src"
  local FULL=$SECS FULL_MBPS; FULL_MBPS=$(mbps "$SRC_BYTES" "$FULL")
  [[ "$(json ora-full .kind)" == full ]] || die "first backup is not full: $(json ora-full .kind)"
  row "scnfs full backup" "$(mb "$SRC_BYTES")" "$FULL" "$FULL_MBPS" "$CP_MBPS (cp)" "$(calc %.2f "$FULL_MBPS / $CP_MBPS")" \
    ">= $T_FULL_MBPS MB/s" "$(ge "$FULL_MBPS" $T_FULL_MBPS && echo yes || echo NO)"
  note "full: scnfs's own seconds $(json ora-full .seconds | xargs printf %.2f), blocks read $(json ora-full .blocks_read), stored $(mb "$(json ora-full .new_bytes_stored)") of $(mb "$(json ora-full .bytes_read)") read"

  progress "A: scnfs full backup (warm, fresh store)"
  "$SCNFS" init --store "$D/store-warm" >/dev/null
  timed ora-full-warm --warm "$SCNFS" backup --store "$D/store-warm" --db BENCH --json "$src"
  local FULLW=$SECS FULLW_MBPS; FULLW_MBPS=$(mbps "$SRC_BYTES" "$FULLW")
  row "scnfs full backup (warm)" "$(mb "$SRC_BYTES")" "$FULLW" "$FULLW_MBPS" "$CPW_MBPS (cp warm)" \
    "$(calc %.2f "$FULLW_MBPS / $CPW_MBPS")" ">= $T_FULL_MBPS MB/s" "$(ge "$FULLW_MBPS" $T_FULL_MBPS && echo yes || echo NO)"
  rm -rf "$D/store-warm"

  # The full-scan incremental runs on a copy of the store as it was after the full backup, so both
  # incrementals see the same change.
  cp -a "$D/store" "$D/store-scan"

  progress "A: ${ORA_FRACTION} change with scnfs-oragen change"
  local i f
  for ((i = 1; i <= ORA_FILES; i++)); do
    f="$src/bench_$i.dbf"
    [[ -f "$f" ]] || die "expected datafile $f (scnfs-oragen naming changed?)"
    "$ORAGEN" change --file "$f" --scn 2000 --fraction "$ORA_FRACTION" --seed "$((100 + i))" \
      --changed-blocks-out "$cb" --relative-to "$src" >>"$LOG/oragen-change.out" 2>&1 ||
      die "scnfs-oragen change: $(tail -3 "$LOG/oragen-change.out")"
  done

  progress "A: scnfs incremental with --changed-blocks (cold)"
  timed ora-incr-cb "$SCNFS" backup --store "$D/store" --db BENCH --json --changed-blocks "$cb" "$src"
  local CB=$SECS CB_MBPS; CB_MBPS=$(mbps "$SRC_BYTES" "$CB")
  [[ "$(json ora-incr-cb .changed_blocks)" == true ]] || die "incremental did not use --changed-blocks"
  local SPEED; SPEED=$(calc %.1f "$FULL / $CB")
  row "scnfs incr --changed-blocks" "$(mb "$SRC_BYTES")" "$CB" "$CB_MBPS" "$FULL_MBPS (full)" "${SPEED}x" \
    ">= ${T_CB_SPEEDUP}x full" "$(ge "$SPEED" $T_CB_SPEEDUP && echo yes || echo NO)"
  local CB_READ CB_CHG
  CB_READ=$(json ora-incr-cb .blocks_read); CB_CHG=$(json ora-incr-cb .blocks_changed)
  note "incr --changed-blocks: scnfs's own seconds $(json ora-incr-cb .seconds | xargs printf %.3f), blocks read $CB_READ, changed $CB_CHG ($(calc %.2f "100 * $CB_CHG / ($SRC_BYTES / 8192)")% of all blocks), stored $(mb "$(json ora-incr-cb .new_bytes_stored)")"

  progress "A: scnfs incremental without --changed-blocks, full scan (cold)"
  timed ora-incr-scan "$SCNFS" backup --store "$D/store-scan" --db BENCH --json "$src"
  local SCAN=$SECS SCAN_MBPS; SCAN_MBPS=$(mbps "$SRC_BYTES" "$SCAN")
  row "scnfs incr full scan" "$(mb "$SRC_BYTES")" "$SCAN" "$SCAN_MBPS" "$FULL_MBPS (full)" "$(calc %.1f "$FULL / $SCAN")x" "-" "-"
  note "incr full scan: blocks read $(json ora-incr-scan .blocks_read), changed $(json ora-incr-scan .blocks_changed) (with --changed-blocks: $CB_CHG), stored $(mb "$(json ora-incr-scan .new_bytes_stored)")"
  [[ "$(json ora-incr-scan .blocks_changed)" == "$CB_CHG" ]] ||
    note "WARNING: the two incrementals found different numbers of changed blocks"
  rm -rf "$D/store-scan"

  progress "A: scnfs restore latest (cold, warm)"
  timed ora-restore "$SCNFS" restore --store "$D/store" --db BENCH --at latest "$D/restore"
  local RS=$SECS RS_MBPS; RS_MBPS=$(mbps "$SRC_BYTES" "$RS")
  row "scnfs restore latest" "$(mb "$SRC_BYTES")" "$RS" "$RS_MBPS" "$CP_MBPS (cp)" "$(calc %.2f "$RS_MBPS / $CP_MBPS")" \
    ">= $T_RESTORE_MBPS MB/s" "$(ge "$RS_MBPS" $T_RESTORE_MBPS && echo yes || echo NO)"
  verify_same "$src" "$D/restore" "oracle"
  rm -rf "$D/restore"; sync
  # warm: the store is cached from the cold restore
  timed ora-restore-warm --warm "$SCNFS" restore --store "$D/store" --db BENCH --at latest "$D/restore2"
  local RSW=$SECS RSW_MBPS; RSW_MBPS=$(mbps "$SRC_BYTES" "$RSW")
  row "scnfs restore latest (warm)" "$(mb "$SRC_BYTES")" "$RSW" "$RSW_MBPS" "$CPW_MBPS (cp warm)" \
    "$(calc %.2f "$RSW_MBPS / $CPW_MBPS")" ">= $T_RESTORE_MBPS MB/s" "$(ge "$RSW_MBPS" $T_RESTORE_MBPS && echo yes || echo NO)"
  rm -rf "$D/restore2"

  local ST; ST=$(size_of "$D/store")
  row "scnfs store (full + incr)" "$(mb "$ST")" "-" "-" "-" "$(calc %.1f "100 * $ST / $SRC_BYTES")% of src" "-" "-"
  note "store: $(mb "$(wal_of "$D/store")") of it are RocksDB WAL files (*.log) the last backup left unflushed"
  print_table "A. Oracle format: $ORA_FILES x $(calc %.0f "($ORA_BLOCKS + 1) * 8192 / 1048576") MiB datafiles ($(mb "$SRC_BYTES")), ${ORA_FRACTION} change"
  rm -rf "$D"
}

# ---------------------------------------------------------------------------------------------------------
pg_start() {
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$W/pg/server.log" -w -t 120 \
    -o "-c listen_addresses='' -k $PGSOCK -p $PGPORT" start >"$LOG/pg_ctl-start.out" 2>&1 ||
    die "pg_ctl start: $(tail -5 "$W/pg/server.log" 2>/dev/null)"
  PG_RUNNING=1
}
pg_stop() {
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 300 stop >"$LOG/pg_ctl-stop.out" 2>&1 || die "pg_ctl stop"
  PG_RUNNING=0
}
psql_c() { "${AS_PG[@]}" "$PG_BIN/psql" -X -q -h "$PGSOCK" -p "$PGPORT" -d postgres -v ON_ERROR_STOP=1 -c "$1"; }

bench_postgres() {
  local D="$W/pg"
  mkdir -p "$D"
  PGDATA="$D/data"; PGSOCK="$D/sock"; PGPORT=$((20000 + $$ % 20000))
  mkdir -p "$PGDATA" "$PGSOCK"
  if ((${#AS_PG[@]})); then chown postgres "$D" "$PGDATA" "$PGSOCK"; fi
  chmod 700 "$PGDATA"

  progress "B: initdb --data-checksums, pgbench -i -s $PG_SCALE"
  local t0; t0=$(date +%s)
  "${AS_PG[@]}" "$PG_BIN/initdb" -D "$PGDATA" --data-checksums -U postgres -A trust >"$LOG/initdb.out" 2>&1 ||
    die "initdb: $(tail -5 "$LOG/initdb.out")"
  pg_start
  "${AS_PG[@]}" "$PGBENCH" -h "$PGSOCK" -p "$PGPORT" -i -s "$PG_SCALE" postgres >"$LOG/pgbench-init.out" 2>&1 ||
    die "pgbench -i: $(tail -5 "$LOG/pgbench-init.out")"
  psql_c "VACUUM FREEZE" >/dev/null || die "VACUUM FREEZE"
  psql_c "CHECKPOINT" >/dev/null
  pg_stop
  note "setup (initdb, pgbench -i -s $PG_SCALE, VACUUM FREEZE): $(($(date +%s) - t0)) s, untimed"

  local S1 S1_BASE S1_WAL
  S1=$(size_of "$PGDATA"); S1_BASE=$(size_of "$PGDATA/base"); S1_WAL=$(size_of "$PGDATA/pg_wal")
  note "state 1: data dir $(mb "$S1") (base $(mb "$S1_BASE"), pg_wal $(mb "$S1_WAL"))"

  export RESTIC_PASSWORD=scnfs-bench RESTIC_CACHE_DIR="$D/restic-cache"
  export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_BASE_DIR="$D/borg-base" BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
  restic -r "$D/restic" init >"$LOG/restic-init.out" 2>&1 || die "restic init: $(tail -3 "$LOG/restic-init.out")"
  borg init -e none "$D/borg" >"$LOG/borg-init.out" 2>&1 || die "borg init: $(tail -3 "$LOG/borg-init.out")"
  "$SCNFS" init --store "$D/store" >/dev/null

  # ---- state 1
  progress "B: state 1: cp -r (cold, warm)"
  timed pg-cp1 cp -r "$PGDATA" "$D/cp1"; local CP1=$SECS; rm -rf "$D/cp1"
  timed pg-cp1-warm --warm cp -r "$PGDATA" "$D/cp2"; local CP1W=$SECS; rm -rf "$D/cp2"; sync
  local CP1_MBPS CP1W_MBPS; CP1_MBPS=$(mbps "$S1" "$CP1"); CP1W_MBPS=$(mbps "$S1" "$CP1W")
  row "cp -r (state 1)" "$(mb "$S1")" "$CP1" "$CP1_MBPS" "-" "-" "-" "-"
  row "cp -r (state 1, warm)" "$(mb "$S1")" "$CP1W" "$CP1W_MBPS" "-" "-" "-" "-"

  progress "B: state 1: scnfs full backup (cold)"
  timed pg-full "$SCNFS" backup --store "$D/store" --db PGB --json "$PGDATA"
  local FULL=$SECS FULL_MBPS; FULL_MBPS=$(mbps "$S1" "$FULL")
  [[ "$(json pg-full .kind)" == full ]] || die "first backup is not full"
  row "scnfs full backup" "$(mb "$S1")" "$FULL" "$FULL_MBPS" "$CP1_MBPS (cp)" "$(calc %.2f "$FULL_MBPS / $CP1_MBPS")" \
    ">= $T_FULL_MBPS MB/s" "$(ge "$FULL_MBPS" $T_FULL_MBPS && echo yes || echo NO)"
  note "scnfs full: own seconds $(json pg-full .seconds | xargs printf %.2f), files $(json pg-full .files), stored $(mb "$(json pg-full .new_bytes_stored)") of $(mb "$(json pg-full .bytes_read)") read"

  progress "B: state 1: scnfs full backup (warm, fresh store)"
  "$SCNFS" init --store "$D/store-warm" >/dev/null
  timed pg-full-warm --warm "$SCNFS" backup --store "$D/store-warm" --db PGB --json "$PGDATA"
  local FULLW=$SECS FULLW_MBPS; FULLW_MBPS=$(mbps "$S1" "$FULLW")
  row "scnfs full backup (warm)" "$(mb "$S1")" "$FULLW" "$FULLW_MBPS" "$CP1W_MBPS (cp warm)" \
    "$(calc %.2f "$FULLW_MBPS / $CP1W_MBPS")" ">= $T_FULL_MBPS MB/s" "$(ge "$FULLW_MBPS" $T_FULL_MBPS && echo yes || echo NO)"
  rm -rf "$D/store-warm"

  progress "B: state 1: restic backup (cold)"
  timed pg-restic1 restic -r "$D/restic" backup -q "$PGDATA"
  local R1=$SECS
  row "restic backup 1" "$(mb "$S1")" "$R1" "$(mbps "$S1" "$R1")" "$FULL_MBPS (scnfs)" "$(calc %.2f "$R1 / $FULL")x scnfs time" "-" "-"
  progress "B: state 1: borg create (cold)"
  timed pg-borg1 borg create "$D/borg::state1" "$PGDATA"
  local B1=$SECS
  row "borg create 1" "$(mb "$S1")" "$B1" "$(mbps "$S1" "$B1")" "$FULL_MBPS (scnfs)" "$(calc %.2f "$B1 / $FULL")x scnfs time" "-" "-"

  # ---- workload
  progress "B: pgbench -t $PG_TX -c 2"
  pg_start
  "${AS_PG[@]}" "$PGBENCH" -h "$PGSOCK" -p "$PGPORT" -t "$PG_TX" -c 2 postgres >"$LOG/pgbench-run.out" 2>&1 ||
    die "pgbench: $(tail -5 "$LOG/pgbench-run.out")"
  pg_stop
  note "workload: pgbench -t $PG_TX -c 2: $(grep -E 'processed' "$LOG/pgbench-run.out" | sed 's/^ *//'), $(grep -E '^tps' "$LOG/pgbench-run.out" | head -1 | awk '{ printf "%.0f tps", $3 }')"

  local S2 S2_BASE S2_WAL
  S2=$(size_of "$PGDATA"); S2_BASE=$(size_of "$PGDATA/base"); S2_WAL=$(size_of "$PGDATA/pg_wal")
  note "state 2: data dir $(mb "$S2") (base $(mb "$S2_BASE"), pg_wal $(mb "$S2_WAL"))"

  # ---- state 2
  progress "B: state 2: cp -r (cold)"
  timed pg-cp2 cp -r "$PGDATA" "$D/cp3"; local CP2=$SECS; rm -rf "$D/cp3"; sync
  local CP2_MBPS; CP2_MBPS=$(mbps "$S2" "$CP2")
  row "cp -r (state 2)" "$(mb "$S2")" "$CP2" "$CP2_MBPS" "-" "-" "-" "-"

  progress "B: state 2: scnfs incremental backup (cold)"
  timed pg-incr "$SCNFS" backup --store "$D/store" --db PGB --json "$PGDATA"
  local INC=$SECS INC_MBPS; INC_MBPS=$(mbps "$S2" "$INC")
  [[ "$(json pg-incr .kind)" == incremental ]] || die "second backup is not incremental: $(json pg-incr .kind)"
  row "scnfs incr backup (full scan)" "$(mb "$S2")" "$INC" "$INC_MBPS" "$CP2_MBPS (cp)" "$(calc %.2f "$INC_MBPS / $CP2_MBPS")" \
    "-" "-"
  local BR BC
  BR=$(json pg-incr .blocks_read); BC=$(json pg-incr .blocks_changed)
  note "scnfs incr: own seconds $(json pg-incr .seconds | xargs printf %.2f), blocks read $BR, changed $BC ($(calc %.2f "100 * $BC / ($BR > 0 ? $BR : 1)")%), stored $(mb "$(json pg-incr .new_bytes_stored)"); $(calc %.1f "$FULL / $INC")x faster than the full"

  progress "B: state 2: restic backup (cold)"
  timed pg-restic2 restic -r "$D/restic" backup -q "$PGDATA"
  local R2=$SECS
  row "restic backup 2" "$(mb "$S2")" "$R2" "$(mbps "$S2" "$R2")" "$INC_MBPS (scnfs)" "$(calc %.2f "$R2 / $INC")x scnfs time" "-" "-"
  progress "B: state 2: borg create (cold)"
  timed pg-borg2 borg create "$D/borg::state2" "$PGDATA"
  local B2=$SECS
  row "borg create 2" "$(mb "$S2")" "$B2" "$(mbps "$S2" "$B2")" "$INC_MBPS (scnfs)" "$(calc %.2f "$B2 / $INC")x scnfs time" "-" "-"

  # ---- restore
  progress "B: scnfs restore latest (cold, warm)"
  timed pg-restore "$SCNFS" restore --store "$D/store" --db PGB --at latest "$D/restore"
  local RS=$SECS RS_MBPS; RS_MBPS=$(mbps "$S2" "$RS")
  row "scnfs restore latest" "$(mb "$S2")" "$RS" "$RS_MBPS" "$CP2_MBPS (cp)" "$(calc %.2f "$RS_MBPS / $CP2_MBPS")" \
    ">= $T_RESTORE_MBPS MB/s" "$(ge "$RS_MBPS" $T_RESTORE_MBPS && echo yes || echo NO)"
  verify_same "$PGDATA" "$D/restore" "postgres"
  rm -rf "$D/restore"; sync
  timed pg-restore-warm --warm "$SCNFS" restore --store "$D/store" --db PGB --at latest "$D/restore2"
  local RSW=$SECS RSW_MBPS; RSW_MBPS=$(mbps "$S2" "$RSW")
  row "scnfs restore latest (warm)" "$(mb "$S2")" "$RSW" "$RSW_MBPS" "$CP1W_MBPS (cp warm)" \
    "$(calc %.2f "$RSW_MBPS / $CP1W_MBPS")" ">= $T_RESTORE_MBPS MB/s" "$(ge "$RSW_MBPS" $T_RESTORE_MBPS && echo yes || echo NO)"
  rm -rf "$D/restore2"

  # ---- sizes (of the repositories after both backups; % of the state-2 data dir)
  local ST RR BB
  ST=$(size_of "$D/store"); RR=$(size_of "$D/restic"); BB=$(size_of "$D/borg")
  row "scnfs store (2 backups)" "$(mb "$ST")" "-" "-" "-" "$(calc %.2f "100 * $ST / $S2")% of src" "<= ${T_PG_STORE_PCT}% of src" \
    "$(lt "$(calc %.4f "100 * $ST / $S2")" "$T_PG_STORE_PCT.0001" && echo yes || echo NO)"
  row "restic repo (2 backups)" "$(mb "$RR")" "-" "-" "-" "$(calc %.2f "100 * $RR / $S2")% of src" "-" "-"
  row "borg repo (2 backups)" "$(mb "$BB")" "-" "-" "-" "$(calc %.2f "100 * $BB / $S2")% of src" "-" "-"
  note "scnfs store: $(mb "$(wal_of "$D/store")") of it are RocksDB WAL files (*.log) the last backup left unflushed"
  note "scnfs store = $(calc %.2f "100 * $ST / $S2_BASE")% of base/ alone ($(mb "$S2_BASE")); src in the size rows = the whole state-2 data dir"
  row "scnfs store / restic repo" "-" "-" "-" "-" "$(calc %.2f "$ST / $RR")" "< 1" "$(lt "$ST" "$RR" && echo yes || echo NO)"
  row "scnfs store / borg repo" "-" "-" "-" "-" "$(calc %.2f "$ST / $BB")" "-" "-"

  # ---- hot: the running cluster, backed up with the server's help, beside pg_basebackup (same load, same run)
  progress "B: hot: scnfs backup --pg-connect and pg_basebackup -X fetch while pgbench -c 2 runs"
  pg_start
  "${AS_PG[@]}" "$PGBENCH" -h "$PGSOCK" -p "$PGPORT" -n -T 600 -c 2 postgres >"$LOG/pgbench-hot.out" 2>&1 &
  local LOAD=$!
  sleep 3
  "$SCNFS" init --store "$D/store-hot" >/dev/null
  timed pg-hot "$SCNFS" backup --store "$D/store-hot" --db pgbench --json --pg-connect "host=$PGSOCK port=$PGPORT user=postgres" \
    --pg-checkpoint fast "$PGDATA"
  local HOT=$SECS HOT_BYTES; HOT_BYTES=$(json pg-hot .bytes_read)
  mkdir -p "$D/basebackup"; if ((${#AS_PG[@]})); then chown postgres "$D/basebackup"; fi
  timed pg-basebackup "${AS_PG[@]}" "$PG_BIN/pg_basebackup" -h "$PGSOCK" -p "$PGPORT" -U postgres -D "$D/basebackup" \
    -X fetch -c fast
  local BB_HOT=$SECS BB_BYTES; BB_BYTES=$(size_of "$D/basebackup")
  kill "$LOAD" 2>/dev/null || true; wait "$LOAD" 2>/dev/null || true  # its exit status is the signal's
  pg_stop
  row "scnfs hot full (--pg-connect)" "$(mb "$HOT_BYTES")" "$HOT" "$(mbps "$HOT_BYTES" "$HOT")" \
    "$(mbps "$BB_BYTES" "$BB_HOT") (pg_basebackup)" "$(calc %.2f "$HOT / $BB_HOT")x pg_basebackup time" "-" "-"
  row "pg_basebackup -X fetch" "$(mb "$BB_BYTES")" "$BB_HOT" "$(mbps "$BB_BYTES" "$BB_HOT")" "-" "-" "-" "-"
  note "hot: scnfs stored $(mb "$(size_of "$D/store-hot")") for the running cluster; wal from $(json pg-hot .wal_start_lsn) to $(json pg-hot .min_recovery_lsn) (bytes as LSN numbers)"
  print_table "B. PostgreSQL 15 pgbench -s $PG_SCALE (checksums), 2 x pgbench -t $PG_TX -c 2 between backups"
  rm -rf "$D"
}

START=$(date +%s)
[[ "$ONLY" == postgres ]] || bench_oracle
[[ "$ONLY" == oracle ]] || bench_postgres
echo
echo "total run time: $(($(date +%s) - START)) s; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((VERIFY_FAILED)); then
  echo "FAILED: a restore differs from its source (see the notes above)" >&2
  exit 1
fi
