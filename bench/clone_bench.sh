#!/usr/bin/env bash
# scnfs writable-clone benchmark (issue 4): instant restore (clone + PostgreSQL start) against a full restore +
# start, pgbench TPS on a clone against the same cluster on local disk, and clone creation time and space
# against database size, all measured in the same run.
#
# Usage: bench/clone_bench.sh [--quick] [--perf]
#
#   --quick   pgbench -s 10 (and -s 2 for the small database), pgbench -T 10: a smoke run of about 1-2 minutes
#   --perf    after the measured rows, one more read-write pgbench on the clone with `perf record -g` attached to
#             the scnfs mount process; prints its top libraries and symbols (needs perf). Not a row: perf slows
#             the process it samples.
#   SCNFS_MOUNT_OPTS="--threads 16 ..."   extra options for `scnfs mount` (printed in the header)
#
# Set-up (untimed): two clusters, initdb --data-checksums, `pgbench -i -s 100` ("pg") and `pgbench -i -s 10`
# ("small"), CHECKPOINT, clean stop; `scnfs init`, `scnfs backup --db pg`, `scnfs backup --db small` into one
# store; the source data directories are then deleted (everything later comes from the store).
#
# Rows
#   scnfs mount             `scnfs mount --allow-other` of the store (returns when the mount is ready), cold.
#   instant restore         cold; from starting `scnfs clone create --db pg --at latest X` to the first successful
#                           `psql -c 'select 1'` on a server started with `pg_ctl start -w` on MOUNTPOINT/pg/clones/X
#                           (the store is already mounted: a clone created while mounted appears by name).
#   full restore + start    cold; `scnfs restore --db pg --at latest DIR` + `pg_ctl start -w` on DIR + first
#                           `select 1`. No sync between restore and start (in favour of the full restore).
#   pgbench TPS             `pgbench -n -c 4 -j 2 -T 30` (TPC-B-like, read-write) on the clone and on the restored
#                           copy on local disk, same server options, one after the other, page cache dropped
#                           before each; then the same pair with -S (select only), cold, and once more warm (nothing
#                           dropped, new connections). Both servers run throughout.
#   clone create vs size    3 clones of each database (scale 10 and scale 100, alternating), each cold, while
#                           mounted; median `scnfs clone create` seconds and `du -sb STORE/clones/NAME` right
#                           after create. The ratio large/small should be ~1 while the database is ~10x larger.
#   clone delta             `scnfs clone list --json` delta_bytes of the clone pgbench wrote on, after its server
#                           stopped.
# Targets (issue 4): instant restore < 5 s and >= 10x faster than full restore + start; clone TPS >= 50% of
# local disk; clone creation time and space independent of database size ("~1x": met when under 2x while the
# database is ~10x larger).
#
# Page cache: `sync; echo 3 > /proc/sys/vm/drop_caches` before every cold step (needs root). The mount process's
# own block cache (--cache-mb) is not dropped: the instant restore runs on a freshly started mount, the pgbench
# runs on the same mount. MB = 10^6 bytes. Seconds are wall clock (date +%s%N in this shell).
#
# Needs: root (FUSE --allow-other, drop_caches, PostgreSQL as the postgres user via runuser), the built binary
# (cd REPO && cmake -S . -B build -G Ninja && ninja -C build scnfs; or SCNFS_BIN_DIR=dir), jq, PostgreSQL 15
# server tools (PG_BIN, default /usr/lib/postgresql/15/bin), perf for --perf.
# Writes only under /var/tmp/scnfs-cbench-XXXX. At exit (also on failure or Ctrl-C): PostgreSQL servers are
# stopped first, then the mount is detached with `scnfs umount --lazy`, then the directory is removed with
# `rm -rf --one-file-system` (never through a mount). Exit status is non-zero when a step fails or a clone
# returns wrong data, not when a target is missed.
set -euo pipefail

ARGS="$*"
QUICK=0
PERF=0
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --perf) PERF=1 ;;
    -h|--help) sed -n '2,48p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${SCNFS_BIN_DIR:-$REPO/build}"
SCNFS="$BIN/scnfs"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
read -r -a MOUNT_OPTS <<<"${SCNFS_MOUNT_OPTS:-}"

if ((QUICK)); then
  PG_SCALE=10; SMALL_SCALE=2; PGB_T=10; PERF_T=5
else
  PG_SCALE=100; SMALL_SCALE=10; PGB_T=30; PERF_T=15
fi
PGB_C=4; PGB_J=2
CREATE_REPS=3

# Targets.
T_INSTANT_S=5        # instant restore < 5 s
T_SPEEDUP=10         # >= 10x faster than full restore + start
T_TPS_PCT=50         # clone TPS >= 50% of local disk
T_SIZE_X=2           # clone create seconds / bytes, large / small database: "~1x", met when < 2x

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing tool: $1" >&2; exit 1; }; }
for t in jq awk du sync column runuser mountpoint; do need "$t"; done
((PERF)) && need perf
[[ $(id -u) -eq 0 ]] || { echo "run as root: --allow-other mounts, drop_caches and runuser need it" >&2; exit 1; }
id postgres >/dev/null 2>&1 || { echo "no postgres user" >&2; exit 1; }
[[ -x "$SCNFS" ]] || { echo "scnfs not found in $BIN: cd $REPO && cmake -S . -B build -G Ninja && ninja -C build scnfs" >&2; exit 1; }
for t in initdb pg_ctl psql pgbench; do
  [[ -x "$PG_BIN/$t" ]] || { echo "PostgreSQL tool not found: $PG_BIN/$t" >&2; exit 1; }
done

# ---------------------------------------------------------------------------------------------------------
W="$(mktemp -d /var/tmp/scnfs-cbench-XXXX)"
chmod 755 "$W"                       # the postgres user must traverse it to reach the mountpoint
LOG="$W/log"; mkdir -p "$LOG"
PGLOG="$W/pglog"; SOCK="$W/sock"; mkdir -p "$PGLOG" "$SOCK"
chown postgres: "$PGLOG" "$SOCK"; chmod 700 "$SOCK"
# Private copy of the binary: a rebuild of $BIN during the run must not change what is measured.
mkdir -p "$W/bin"; cp "$SCNFS" "$W/bin/"; chmod 755 "$W/bin"
SCNFS="$W/bin/scnfs"
STORE="$W/store"
MNT="$W/mnt"; mkdir -p "$MNT"
MPID=""
RUNNING=()                           # data directories with a server this run started
AS_PG=(runuser -u postgres --)
PORT_CLONE=$((30000 + $$ % 10000)); PORT_LOCAL=$((PORT_CLONE + 1))

cleanup() {
  local rc=$? d
  trap - EXIT INT TERM
  # 1. PostgreSQL servers first: one of them runs on the mount.
  for d in ${RUNNING[@]+"${RUNNING[@]}"}; do
    if [[ -f "$d/postmaster.pid" ]]; then
      "${AS_PG[@]}" "$PG_BIN/pg_ctl" stop -D "$d" -m immediate -w -t 60 >/dev/null 2>&1 || true
    fi
  done
  # 2. Then the mount.
  if grep -q " $MNT " /proc/self/mountinfo 2>/dev/null; then
    "$SCNFS" umount --lazy "$MNT" >/dev/null 2>&1 || umount -l "$MNT" 2>/dev/null || true
  fi
  # 3. Then the files, never through a mount: rm -rf of a mounted clone would delete the clone's files.
  if grep -q " $W/" /proc/self/mountinfo 2>/dev/null; then
    echo "WARNING: still mounted under $W, not removing it: $(grep " $W/" /proc/self/mountinfo | awk '{ print $5 }' | tr '\n' ' ')" >&2
  else
    rm -rf --one-file-system -- "$W"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

progress() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { echo "FAILED: $*" >&2; exit 1; }

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now_ns() { date +%s%N; }

# Arithmetic helpers (awk; no bc needed).
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
mb() { calc "%.1f MB" "$1 / 1e6"; }
kb() { calc "%.1f kB" "$1 / 1e3"; }
secs_of() { calc "%.3f" "$1 / 1e9"; }                  # ns -> s
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }  # a >= b
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
yesno() { if "$@"; then echo yes; else echo NO; fi; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
size_of() { du -sb "$1" | awk '{ print $1 }'; }
CLK_TCK=$(getconf CLK_TCK)
# cpu_ticks PID: user + system CPU of a process (all its threads) so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# io_bytes PID: "read_bytes write_bytes" of a process: storage I/O it caused (reads that missed the page cache;
# bytes it dirtied in files: the clone's deltas and RocksDB files), not its /dev/fuse traffic.
io_bytes() { awk '/^read_bytes/ { r = $2 } /^write_bytes/ { w = $2 } END { printf "%.0f %.0f\n", r, w }' "/proc/$1/io" 2>/dev/null || echo "0 0"; }
# cpu_stat: "busy total" jiffies of all CPUs from /proc/stat (busy = all but idle and iowait).
cpu_stat() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; printf "%.0f %.0f\n", t - $5 - $6, t }' /proc/stat; }

ROWS=()
row() { ROWS+=("$(printf '%s|' "$@")"); }   # step result baseline ratio target met?
NOTES=()
note() { NOTES+=("$*"); }
EXTRA=()
print_table() {
  echo
  echo "== $1"
  { echo "step|result|baseline|ratio|target|met?|"; printf '%s\n' "${ROWS[@]}"; } | column -t -s'|'
  if ((${#NOTES[@]})); then printf '  - %s\n' "${NOTES[@]}"; fi
  if ((${#EXTRA[@]})); then printf '%s\n' "${EXTRA[@]}"; fi
  ROWS=(); NOTES=(); EXTRA=()
}

# run NAME CMD...: stdout+stderr to $LOG/NAME.log; a failure ends the benchmark with the log's tail.
run() {
  local name="$1"; shift
  local rc=0
  "$@" >"$LOG/$name.log" 2>&1 || rc=$?
  if ((rc != 0)); then tail -n 15 "$LOG/$name.log" >&2; die "step '$name' (exit $rc): $*"; fi
}

# ---- PostgreSQL (as the postgres user; every server gets the same options, its own port, sockets in $SOCK)
pg_start() {  # pg_start DATADIR PORT NAME
  RUNNING+=("$1")
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" start -D "$1" -w -t 300 -l "$PGLOG/$3.log" \
    -o "-p $2 -c listen_addresses='' -k $SOCK" >"$LOG/$3-pg_ctl.log" 2>&1 ||
    die "pg_ctl start $1: $(tail -n 5 "$PGLOG/$3.log" 2>/dev/null | tr '\n' ' ')"
}
pg_stop() {  # pg_stop DATADIR NAME
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" stop -D "$1" -m fast -w -t 300 >"$LOG/$2-stop.log" 2>&1 ||
    die "pg_ctl stop $1: $(tail -n 3 "$LOG/$2-stop.log")"
}
psql_q() {  # psql_q PORT SQL: one value on stdout
  "${AS_PG[@]}" "$PG_BIN/psql" -X -h "$SOCK" -p "$1" -d postgres -v ON_ERROR_STOP=1 -Atc "$2"
}
# first_query PORT: polls `select 1` every 10 ms until it succeeds (at most 120 s); sets TRIES.
TRIES=0
first_query() {
  TRIES=0
  until [[ "$(psql_q "$1" 'select 1' 2>>"$LOG/first-query.log")" == 1 ]]; do
    TRIES=$((TRIES + 1))
    ((TRIES < 12000)) || die "no successful 'select 1' on port $1 within 120 s"
    sleep 0.01
  done
  TRIES=$((TRIES + 1))
}

# new_cluster DIR SCALE NAME: initdb --data-checksums, pgbench -i -s SCALE, CHECKPOINT, clean stop.
new_cluster() {
  local d="$1" scale="$2" name="$3"
  mkdir -p "$d"; chown postgres: "$d"; chmod 700 "$d"
  run "$name-initdb" "${AS_PG[@]}" "$PG_BIN/initdb" --data-checksums -A trust -U postgres -D "$d"
  pg_start "$d" "$PORT_LOCAL" "$name-setup"
  run "$name-pgbench-init" "${AS_PG[@]}" "$PG_BIN/pgbench" -i -s "$scale" -h "$SOCK" -p "$PORT_LOCAL" postgres
  psql_q "$PORT_LOCAL" CHECKPOINT >/dev/null || die "CHECKPOINT on $name"
  pg_stop "$d" "$name-setup"
}

# pgbench_run NAME PORT CPUPID ARGS...: cold (drop_caches first, unless PGB_WARM=1); sets TPS and PGB_NOTE (transactions, latency,
# CPU busy of the machine, and CPU seconds of CPUPID - the scnfs mount process - if given).
TPS=0; PGB_NOTE=""; PGB_WARM=0
pgbench_run() {
  local name="$1" port="$2" cpid="$3"; shift 3
  local c0=0 c1=0 s0 s1 io0="0 0" io1="0 0"
  ((PGB_WARM)) || drop_caches
  if [[ -n "$cpid" ]]; then c0=$(cpu_ticks "$cpid"); io0=$(io_bytes "$cpid"); fi
  s0=$(cpu_stat)
  "${AS_PG[@]}" "$PG_BIN/pgbench" -h "$SOCK" -p "$port" "$@" postgres >"$LOG/$name.log" 2>&1 ||
    { tail -n 10 "$LOG/$name.log" >&2; die "step '$name': pgbench $*"; }
  s1=$(cpu_stat)
  if [[ -n "$cpid" ]]; then c1=$(cpu_ticks "$cpid"); io1=$(io_bytes "$cpid"); fi
  TPS=$(awk '/^tps = / { printf "%.0f", $3; exit }' "$LOG/$name.log")
  [[ -n "$TPS" ]] || die "step '$name': no tps in the pgbench output"
  local tx lat busy
  tx=$(awk -F': ' '/number of transactions actually processed/ { print $2 }' "$LOG/$name.log")
  lat=$(awk '/^latency average/ { print $4, $5 }' "$LOG/$name.log")
  busy=$(awk -v a="$s0" -v b="$s1" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }')
  PGB_NOTE="$tx transactions, latency $lat, CPUs ${busy}% busy"
  if [[ -n "$cpid" ]]; then
    PGB_NOTE+=", scnfs mount process $(calc %.1f "($c1 - $c0) / $CLK_TCK") CPU s, storage I/O read $(mb "$(( ${io1% *} - ${io0% *} ))") / written $(mb "$(( ${io1#* } - ${io0#* } ))")"
  fi
}

# ---------------------------------------------------------------------------------------------------------
echo "scnfs clone benchmark $( ((QUICK)) && echo '(--quick)' )$( ((PERF)) && echo ' (--perf)' )"
echo "command: $0${ARGS:+ $ARGS}  (SCNFS_MOUNT_OPTS='${SCNFS_MOUNT_OPTS:-}')"
echo "date: $(date -Is)   host: $(uname -n)   kernel: $(uname -r)"
echo "cpu: $(nproc) x $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)   memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "work dir: $W on $(df -P "$W" | awk 'NR == 2 { print $1 }') ($(findmnt -n -o FSTYPE -T "$W" 2>/dev/null || echo '?'))"
echo "scnfs: $("$SCNFS" --version 2>/dev/null | head -1)  git $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
echo "scnfs binary: $BIN/scnfs, built $(date -r "$BIN/scnfs" -Is); scnfs mount options: --allow-other ${SCNFS_MOUNT_OPTS:-(defaults)}"
echo "PostgreSQL: $("$PG_BIN/postgres" --version)   pgbench: -c $PGB_C -j $PGB_J -T $PGB_T, scale $PG_SCALE (small database: scale $SMALL_SCALE)"
echo "page cache: cold - 'sync; echo 3 > /proc/sys/vm/drop_caches' before every timed step and every pgbench run"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "MB = 10^6 bytes; 2 cores shared with other work: compare ratios within one run, not absolute numbers across runs"

START=$(date +%s)

# ---- set-up (untimed)
progress "set-up: initdb + pgbench -i -s $PG_SCALE (pg) and -s $SMALL_SCALE (small), scnfs backups"
t0=$(date +%s)
new_cluster "$W/src-pg" "$PG_SCALE" pg
new_cluster "$W/src-small" "$SMALL_SCALE" small
DB_BYTES=$(size_of "$W/src-pg"); DB_BASE=$(size_of "$W/src-pg/base")
SMALL_BYTES=$(size_of "$W/src-small"); SMALL_BASE=$(size_of "$W/src-small/base")
run store-init "$SCNFS" init --store "$STORE"
run backup-pg "$SCNFS" backup --store "$STORE" --db pg "$W/src-pg"
run backup-small "$SCNFS" backup --store "$STORE" --db small "$W/src-small"
rm -rf --one-file-system -- "$W/src-pg" "$W/src-small"
STORE_BYTES=$(size_of "$STORE")
note "set-up (untimed): $(($(date +%s) - t0)) s; pg (scale $PG_SCALE): data dir $(mb "$DB_BYTES") (base $(mb "$DB_BASE")); small (scale $SMALL_SCALE): $(mb "$SMALL_BYTES") (base $(mb "$SMALL_BASE")); store after both backups $(mb "$STORE_BYTES")"

# ---- mount (cold, fresh process)
progress "scnfs mount --allow-other (cold)"
drop_caches
t0=$(now_ns)
"$SCNFS" mount --store "$STORE" --allow-other ${MOUNT_OPTS[@]+"${MOUNT_OPTS[@]}"} "$MNT" >"$LOG/mount.log" 2>&1 ||
  die "scnfs mount: $(tail -n 3 "$LOG/mount.log")"
t1=$(now_ns)
MOUNT_NS=$((t1 - t0))
MPID=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$LOG/mount.log")
[[ -n "$MPID" ]] || die "scnfs mount did not print its pid: $(cat "$LOG/mount.log")"
row "scnfs mount (cold)" "$(secs_of "$MOUNT_NS") s" "-" "-" "-" "-"

# ---- instant restore: clone create + start + first query (cold)
progress "instant restore: clone create + pg_ctl start + select 1 (cold)"
CLONE=bench
CDIR="$MNT/pg/clones/$CLONE"
drop_caches
t0=$(now_ns)
run clone-create "$SCNFS" clone create --store "$STORE" --db pg --at latest "$CLONE"
t1=$(now_ns)
pg_start "$CDIR" "$PORT_CLONE" clone
t2=$(now_ns)
first_query "$PORT_CLONE"
t3=$(now_ns)
INSTANT_NS=$((t3 - t0)); INSTANT_TRIES=$TRIES
note "instant restore: clone create $(secs_of $((t1 - t0))) s, pg_ctl start -w $(secs_of $((t2 - t1))) s, first select 1 $(secs_of $((t3 - t2))) s ($INSTANT_TRIES attempt(s)); clone root $(stat -c '%U %a' "$CDIR")"
note "instant restore including the mount: $(secs_of $((INSTANT_NS + MOUNT_NS))) s"

# ---- full restore + start + first query (cold)
progress "full restore + pg_ctl start + select 1 (cold)"
LOCAL="$W/restored"
drop_caches
t0=$(now_ns)
run restore "$SCNFS" restore --store "$STORE" --db pg --at latest "$LOCAL"
t1=$(now_ns)
pg_start "$LOCAL" "$PORT_LOCAL" local
t2=$(now_ns)
first_query "$PORT_LOCAL"
t3=$(now_ns)
FULL_NS=$((t3 - t0))
t4=$(now_ns); sync; t5=$(now_ns)
note "full restore + start: scnfs restore $(secs_of $((t1 - t0))) s ($(calc %.0f "$DB_BYTES / 1e6 / (($t1 - $t0) / 1e9)") MB/s of the data dir, no sync), pg_ctl start -w $(secs_of $((t2 - t1))) s, first select 1 $(secs_of $((t3 - t2))) s ($TRIES attempt(s)); a sync right after (untimed) took $(secs_of $((t5 - t4))) s"
note "pg_ctl start -w polls the server every 0.1 s, so both start times are rounded up to the next poll"

SPEEDUP=$(calc %.1f "$FULL_NS / $INSTANT_NS")
row "full restore + start" "$(secs_of "$FULL_NS") s" "-" "-" "-" "-"
row "instant restore (clone + start)" "$(secs_of "$INSTANT_NS") s" "-" "-" "< $T_INSTANT_S s" \
  "$(yesno lt "$(secs_of "$INSTANT_NS")" "$T_INSTANT_S")"
row "instant restore speed-up" "$(secs_of "$INSTANT_NS") s" "$(secs_of "$FULL_NS") s (full)" "${SPEEDUP}x faster" \
  ">= ${T_SPEEDUP}x faster" "$(yesno ge "$SPEEDUP" "$T_SPEEDUP")"

# ---- clone creation time and space against database size (while mounted, each create cold)
progress "clone create: $CREATE_REPS clones each of scale $SMALL_SCALE and scale $PG_SCALE (cold)"
S_SECS=(); B_SECS=(); S_BYTES=(); B_BYTES=()
for ((i = 1; i <= CREATE_REPS; i++)); do
  for which in small pg; do
    name="size-$which-$i"
    drop_caches
    t0=$(now_ns)
    run "create-$name" "$SCNFS" clone create --store "$STORE" --db "$which" --at latest "$name"
    t1=$(now_ns)
    bytes=$(size_of "$STORE/clones/$name")
    if [[ "$which" == small ]]; then S_SECS+=("$(secs_of $((t1 - t0)))"); S_BYTES+=("$bytes")
    else B_SECS+=("$(secs_of $((t1 - t0)))"); B_BYTES+=("$bytes"); fi
  done
done
S_SEC=$(median "${S_SECS[@]}"); B_SEC=$(median "${B_SECS[@]}")
S_B=$(median "${S_BYTES[@]}"); B_B=$(median "${B_BYTES[@]}")
DBX=$(calc %.1f "$DB_BYTES / $SMALL_BYTES")
row "clone create, scale $SMALL_SCALE" "$S_SEC s" "-" "-" "-" "-"
row "clone create, scale $PG_SCALE" "$B_SEC s" "$S_SEC s (scale $SMALL_SCALE)" "$(calc %.2f "$B_SEC / $S_SEC")x" \
  "~1x (< ${T_SIZE_X}x; db ${DBX}x)" "$(yesno lt "$(calc %.4f "$B_SEC / $S_SEC")" "$T_SIZE_X")"
row "clone space, scale $SMALL_SCALE" "$(kb "$S_B")" "-" "-" "-" "-"
row "clone space, scale $PG_SCALE" "$(kb "$B_B")" "$(kb "$S_B") (scale $SMALL_SCALE)" "$(calc %.2f "$B_B / $S_B")x" \
  "~1x (< ${T_SIZE_X}x; db ${DBX}x)" "$(yesno lt "$(calc %.4f "$B_B / $S_B")" "$T_SIZE_X")"
note "clone create seconds (each run): scale $SMALL_SCALE ${S_SECS[*]}; scale $PG_SCALE ${B_SECS[*]}; du -sb right after create: scale $SMALL_SCALE ${S_BYTES[*]}; scale $PG_SCALE ${B_BYTES[*]} (databases: $(mb "$SMALL_BYTES") and $(mb "$DB_BYTES"))"
note "clone space, scale $PG_SCALE: $(calc %.4f "100 * $B_B / $DB_BYTES")% of the database"

# ---- pgbench on the clone and on local disk (the restored copy), same options, one after the other
progress "pgbench -n -c $PGB_C -j $PGB_J -T $PGB_T (read-write): local disk, then clone"
wal_lsn() { psql_q "$1" "select pg_current_wal_lsn()" || die "pg_current_wal_lsn on port $1"; }
wal_since() { psql_q "$1" "select pg_wal_lsn_diff(pg_current_wal_lsn(), '$2')" || die "pg_wal_lsn_diff on port $1"; }
lsn=$(wal_lsn "$PORT_LOCAL")
pgbench_run pgbench-rw-local "$PORT_LOCAL" "" -n -c "$PGB_C" -j "$PGB_J" -T "$PGB_T"
RW_LOCAL=$TPS; note "read-write, local: $PGB_NOTE; WAL written $(mb "$(wal_since "$PORT_LOCAL" "$lsn")")"
lsn=$(wal_lsn "$PORT_CLONE")
pgbench_run pgbench-rw-clone "$PORT_CLONE" "$MPID" -n -c "$PGB_C" -j "$PGB_J" -T "$PGB_T"
RW_CLONE=$TPS; note "read-write, clone: $PGB_NOTE; WAL written $(mb "$(wal_since "$PORT_CLONE" "$lsn")")"
progress "pgbench -n -S -c $PGB_C -j $PGB_J -T $PGB_T (select only): local disk, then clone"
pgbench_run pgbench-ro-local "$PORT_LOCAL" "" -n -S -c "$PGB_C" -j "$PGB_J" -T "$PGB_T"
RO_LOCAL=$TPS; note "select only, local: $PGB_NOTE"
pgbench_run pgbench-ro-clone "$PORT_CLONE" "$MPID" -n -S -c "$PGB_C" -j "$PGB_J" -T "$PGB_T"
RO_CLONE=$TPS; note "select only, clone: $PGB_NOTE"
# Warm repeat of the select-only pair (no cache drop, new connections): shows how much of the page cache a clone
# keeps between runs (each pgbench run opens the relation files again in new backends).
progress "pgbench -n -S again, warm (nothing dropped, new connections): local disk, then clone"
PGB_WARM=1
pgbench_run pgbench-ro-local-warm "$PORT_LOCAL" "" -n -S -c "$PGB_C" -j "$PGB_J" -T "$PGB_T"
ROW_LOCAL=$TPS; note "select only, warm repeat, local: $PGB_NOTE"
pgbench_run pgbench-ro-clone-warm "$PORT_CLONE" "$MPID" -n -S -c "$PGB_C" -j "$PGB_J" -T "$PGB_T"
PGB_WARM=0
ROW_CLONE=$TPS; note "select only, warm repeat, clone: $PGB_NOTE"
RW_PCT=$(calc %.1f "100 * $RW_CLONE / $RW_LOCAL"); RO_PCT=$(calc %.1f "100 * $RO_CLONE / $RO_LOCAL")
ROW_PCT=$(calc %.1f "100 * $ROW_CLONE / $ROW_LOCAL")
row "pgbench TPC-B, local disk" "$RW_LOCAL tps" "-" "-" "-" "-"
row "pgbench TPC-B, clone" "$RW_CLONE tps" "$RW_LOCAL tps (local)" "${RW_PCT}%" ">= ${T_TPS_PCT}%" "$(yesno ge "$RW_PCT" "$T_TPS_PCT")"
row "pgbench -S, local disk" "$RO_LOCAL tps" "-" "-" "-" "-"
row "pgbench -S, clone" "$RO_CLONE tps" "$RO_LOCAL tps (local)" "${RO_PCT}%" "-" "-"
row "pgbench -S warm, local disk" "$ROW_LOCAL tps" "-" "-" "-" "-"
row "pgbench -S warm, clone" "$ROW_CLONE tps" "$ROW_LOCAL tps (local)" "${ROW_PCT}%" "-" "-"

# The clone holds the backup's data plus its own writes: as many accounts as the local copy, history as written.
progress "checks: row counts on the clone and on local disk"
ACC_C=$(psql_q "$PORT_CLONE" "select count(*) from pgbench_accounts") || die "count on the clone"
ACC_L=$(psql_q "$PORT_LOCAL" "select count(*) from pgbench_accounts") || die "count on local disk"
[[ "$ACC_C" == $((PG_SCALE * 100000)) && "$ACC_L" == "$ACC_C" ]] ||
  die "pgbench_accounts: clone $ACC_C rows, local $ACC_L, expected $((PG_SCALE * 100000))"
HIST_C=$(psql_q "$PORT_CLONE" "select count(*) from pgbench_history") || die "history count on the clone"
note "check: pgbench_accounts has $ACC_C rows on the clone and on local disk; the clone's pgbench_history has $HIST_C rows (its read-write run processed $(awk -F': ' '/actually processed/ { print $2 }' "$LOG/pgbench-rw-clone.log"))"

# ---- optional profile of the mount process during one more read-write run on the clone
if ((PERF)); then
  progress "perf: pgbench read-write on the clone, -T $PERF_T, perf record -g on the mount process $MPID"
  drop_caches
  perf record -q -F 999 -g -p "$MPID" -o "$LOG/perf.data" >"$LOG/perf.out" 2>&1 &
  PP=$!
  sleep 0.5
  pgbench_run pgbench-rw-clone-perf "$PORT_CLONE" "$MPID" -n -c "$PGB_C" -j "$PGB_J" -T "$PERF_T"
  kill -INT "$PP" 2>/dev/null || true
  wait "$PP" 2>/dev/null || true
  EXTRA+=("  perf (read-write pgbench on the clone, -T $PERF_T, under perf: $TPS tps; $PGB_NOTE):")
  EXTRA+=("    by library: $(perf report -i "$LOG/perf.data" --no-children --stdio --sort dso -g none 2>/dev/null |
    awk '/^ +[0-9.]+%/ { printf "%s %s, ", $1, $2 }' | sed 's/, $//')")
  EXTRA+=("    top symbols by self time (>= 1%):")
  EXTRA+=("$(perf report -i "$LOG/perf.data" --no-children --stdio --sort dso,sym -g none --percent-limit 1 2>/dev/null |
    grep -E '^ +[0-9]' | head -20 | sed 's/^ */      /')")
  EXTRA+=("    where the time goes, including callees (scnfs functions, fdatasync, RocksDB write/sync/read entry points, >= 3%):")
  EXTRA+=("$(perf report -i "$LOG/perf.data" --children --stdio --sort sym -g none --percent-limit 3 2>/dev/null |
    grep -E '^ +[0-9]' | grep -E 'scnfs::|fdatasync|fsync|rocksdb::DBImpl::(WriteImpl|SyncWAL|FlushWAL|MultiGet)$|__libc_pwrite|__libc_pread' |
    head -14 | sed 's/^ */      /')")
  EXTRA+=("    by thread (comm):")
  EXTRA+=("$(perf report -i "$LOG/perf.data" --no-children --stdio --sort comm -g none 2>/dev/null |
    grep -E '^ +[0-9]' | head -6 | sed 's/^ */      /')")
fi

# ---- the clone's delta after its server stopped
progress "stop servers, clone list"
LOCAL_AFTER_RUN=$(size_of "$LOCAL")
run clone-list-running "$SCNFS" clone list --store "$STORE" --json
DELTA_RUNNING=$(jq -r --arg n "$CLONE" '.[] | select(.name == $n) | .delta_bytes' "$LOG/clone-list-running.log")
pg_stop "$CDIR" clone
pg_stop "$LOCAL" local
RUNNING=()
run clone-list "$SCNFS" clone list --store "$STORE" --json
DELTA=$(jq -r --arg n "$CLONE" '.[] | select(.name == $n) | .delta_bytes' "$LOG/clone-list.log")
[[ -n "$DELTA" && "$DELTA" != null ]] || die "clone $CLONE not in scnfs clone list --json: $(head -c 300 "$LOG/clone-list.log")"
CLONE_DU=$(du -s -B1 "$STORE/clones/$CLONE" | awk '{ print $1 }')
row "clone delta after the runs" "$(mb "$DELTA")" "$(mb "$DB_BYTES") (database)" "$(calc %.1f "100 * $DELTA / $DB_BYTES")%" "-" "-"
note "clone $CLONE: delta_bytes $DELTA after its server stopped (all runs on it$( ((PERF)) && echo ', the perf run included')) ($DELTA_RUNNING while it ran, before the shutdown checkpoint); allocated on disk (du -s -B1, delta files are sparse) STORE/clones/$CLONE $(mb "$CLONE_DU"); the local copy grew from $(mb "$DB_BYTES") to $(mb "$LOCAL_AFTER_RUN") during the same runs"
note "scnfs mount process: $(calc %.1f "$(cpu_ticks "$MPID") / $CLK_TCK") CPU s in total, RSS $(awk '/^VmRSS/ { printf "%.0f MB", $2 * 1024 / 1e6 }' "/proc/$MPID/status" 2>/dev/null || echo '?')"

run umount "$SCNFS" umount "$MNT"
for ((i = 0; i < 1000; i++)); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.01; done
if kill -0 "$MPID" 2>/dev/null; then note "WARNING: the scnfs mount process $MPID was still running 10 s after scnfs umount"; fi

print_table "PostgreSQL 15 pgbench -s $PG_SCALE on a writable clone (issue 4)"
echo
echo "total run time: $(($(date +%s) - START)) s; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
