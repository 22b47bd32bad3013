# Shared by the PostgreSQL end-to-end scripts: the pass/fail tally, argument and environment checks, a work
# directory removed on exit (servers stopped, mounts cleared), and helpers to run PostgreSQL as its own user.
#
# Source it from a script called as `script /path/to/scnfs`. It defines SCNFS, PGBIN, WORK, PORT, SOCK, PGDATA,
# STORE, SNAP1, SNAP2, R1..R3, LOGS, MNT and the functions below.
set -u -o pipefail

PASSED=0
FAILED=0
T_START=$(date +%s.%N)

summary_line() { echo "e2e: ${PASSED} passed, ${FAILED} failed"; }

# fail REASON: one-line reason, the tally, exit 1 (the EXIT trap cleans up).
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL: $*" >&2
  summary_line
  exit 1
}

pass() {
  PASSED=$((PASSED + 1))
  printf 'ok %2d  %s\n' "$PASSED" "$*"
}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

if [[ $# -ne 1 ]]; then
  echo "usage: $0 /path/to/scnfs" >&2
  exit 1
fi
SCNFS=$(readlink -f -- "$1") || true
[[ -n "$SCNFS" && -x "$SCNFS" ]] || fail "scnfs binary not found or not executable: $1"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[[ -x "$PGBIN/initdb" ]] || fail "PostgreSQL not found: $PGBIN/initdb is missing"
[[ $(id -u) -eq 0 ]] || fail "must run as root (restores owners; PostgreSQL runs as postgres via runuser)"
id postgres >/dev/null 2>&1 || fail "no postgres user"
PYTHON=$(command -v python3 || echo /usr/bin/python3)
[[ -x "$PYTHON" ]] || fail "python3 not found"

WORK=$(mktemp -d /tmp/scnfs-e2e.XXXXXX) || fail "mktemp failed"
chmod 755 "$WORK"
PORT=$((54000 + $$ % 1000))
SOCK="$WORK/sock"
PGDATA="$WORK/pgdata"
STORE="$WORK/store"
SNAP1="$WORK/snap1"
SNAP2="$WORK/snap2"
R1="$WORK/r1"
R2="$WORK/r2"
R3="$WORK/r3"
LOGS="$WORK/logs"
mkdir -p "$SOCK" "$LOGS" || fail "cannot create work directories"
chown postgres: "$SOCK" "$LOGS"
chmod 700 "$SOCK"

RUNNING=()  # data directories with a server we started

MNT="$WORK/mnt"
cleanup() {
  local d
  # Servers first (they may run on the mount), then the mount; and never delete through a mount.
  for d in "${RUNNING[@]}"; do
    if [[ -f "$d/postmaster.pid" ]]; then
      runuser -u postgres -- "$PGBIN/pg_ctl" stop -D "$d" -m immediate -w >/dev/null 2>&1 || true
    fi
  done
  if grep -q " $MNT " /proc/self/mountinfo 2>/dev/null; then
    "$SCNFS" umount --lazy "$MNT" >/dev/null 2>&1 || umount -l "$MNT" 2>/dev/null || true
  fi
  if [[ "${E2E_KEEP:-0}" == 1 ]]; then
    echo "kept $WORK" >&2
  else
    rm -rf --one-file-system -- "$WORK"
  fi
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

# run LOGNAME CMD...: run with stdout+stderr to $LOGS/LOGNAME.log; on failure return non-zero and leave the
# last line of the log in $LAST_ERR.
LAST_ERR=""
run() {
  local log="$LOGS/$1.log"
  shift
  "$@" >"$log" 2>&1 && return 0
  local rc=$?
  LAST_ERR="exit $rc: $(tail -n 1 "$log")"
  return 1
}
as_pg() { runuser -u postgres -- "$@"; }

pg_start() {  # pg_start DATADIR LOGNAME [PORT]
  local d=$1 name=$2 port=${3:-$PORT}
  RUNNING+=("$d")
  run "$name" as_pg "$PGBIN/pg_ctl" start -D "$d" -w -t 60 -l "$LOGS/$name.server.log" \
    -o "-p $port -c listen_addresses='' -k $SOCK" ||
    { LAST_ERR="$LAST_ERR; server log: $(tail -n 1 "$LOGS/$name.server.log" 2>/dev/null)"; return 1; }
}
pg_stop() {  # pg_stop DATADIR LOGNAME
  run "$2" as_pg "$PGBIN/pg_ctl" stop -D "$1" -m fast -w -t 60
}
psql_q() {  # psql_q SQL [PORT]: one value on stdout
  as_pg "$PGBIN/psql" -X -h "$SOCK" -p "${2:-$PORT}" -d postgres -v ON_ERROR_STOP=1 -Atc "$1" 2>>"$LOGS/psql.log"
}

# Owners, modes, types, sizes (files) and mtimes of everything below a tree's root, one sorted line per entry.
# Directory sizes are left out: they depend on the directory's history, not on its content.
listing() {
  (cd "$1" && find . -mindepth 1 \( -type d -printf '%P|d|%m|%u|%g|%T@\n' \) -o -printf '%P|%y|%m|%u|%g|%s|%T@|%l\n') |
    LC_ALL=C sort
}
# The same for the root directory itself.
root_meta() { find "$1" -maxdepth 0 -printf '%m %u:%g mtime %T@\n'; }

# same_tree A B WHAT: byte-identical content and identical metadata of every entry below the root.
same_tree() {
  local a=$1 b=$2 what=$3 out
  if ! out=$(diff -r --no-dereference "$a" "$b" 2>&1); then
    LAST_ERR="$what: content differs ($(printf '%s' "$out" | wc -l) diff lines): $(printf '%s' "$out" | head -n 1)"
    return 1
  fi
  if ! out=$(diff <(listing "$a") <(listing "$b")); then
    LAST_ERR="$what: owners/modes/sizes/mtimes differ ($(printf '%s\n' "$out" | grep -c '^[<>]') entries), first: $(printf '%s\n' "$out" | grep -m 2 '^[<>]' | tr '\n' ' ')"
    return 1
  fi
  return 0
}

# json_eval FILE EXPR: evaluate a python expression on the parsed JSON document j.
json_eval() {
  "$PYTHON" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>>"$LOGS/json.log"
}

# recovered_ok DIR NAME PORT ACCOUNTS [TABLESPACE_ROWS]: PostgreSQL starts on DIR, recovers a hot backup by itself
# (replays WAL), and the pgbench cluster is consistent: pgbench keeps the balances of accounts, tellers, branches and
# the history's deltas equal in every committed transaction, so equal sums, pg_amcheck and pg_checksums say the
# recovered cluster is a consistent one. With TABLESPACE_ROWS, table in_ts must hold that many rows. Leaves the
# server stopped and the balance sum in RECOVERED_SUM.
recovered_ok() {
  local d=$1 name=$2 port=$3 accounts=$4 ts_rows=${5:-} ts_count=0 sums a b c h rows ts
  [[ -n "$ts_rows" ]] && ts_count="(select count(*) from in_ts)"
  pg_start "$d" "$name" "$port" || fail "PostgreSQL on $name: $LAST_ERR"
  grep -q "redo done at" "$LOGS/$name.server.log" || fail "$name: PostgreSQL did not replay WAL (no 'redo done' in its log)"
  sums=$(psql_q "select (select sum(abalance) from pgbench_accounts) || ' ' || (select sum(tbalance) from pgbench_tellers)
                 || ' ' || (select sum(bbalance) from pgbench_branches) || ' ' || (select coalesce(sum(delta), 0) from pgbench_history)
                 || ' ' || (select count(*) from pgbench_accounts) || ' ' || $ts_count" "$port") ||
    fail "$name: query failed"
  read -r a b c h rows ts <<<"$sums"
  [[ "$a" == "$b" && "$b" == "$c" && "$c" == "$h" && "$rows" == "$accounts" && "$ts" == "${ts_rows:-0}" ]] ||
    fail "$name: inconsistent after recovery: sums accounts $a tellers $b branches $c history $h, $rows accounts ($accounts expected)${ts_rows:+, $ts rows in the tablespace ($ts_rows)}"
  run "$name-amcheck" as_pg "$PGBIN/pg_amcheck" -h "$SOCK" -p "$port" --install-missing --heapallindexed postgres ||
    fail "pg_amcheck on $name: $LAST_ERR"
  pg_stop "$d" "$name-stop" || fail "stop on $name: $LAST_ERR"
  run "$name-checksums" "$PGBIN/pg_checksums" --check -D "$d" || fail "pg_checksums on $name: $LAST_ERR"
  RECOVERED_SUM=$a
}

# Background load (pgbench clients, checkpoint loops) that stop_load ends: add each job's pid to LOAD_PIDS.
LOAD_PIDS=()
stop_load() {
  local p
  for p in "${LOAD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${LOAD_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  LOAD_PIDS=()
}

# hot_backup N CONNINFO DATADIR NOTE: backup N of DATADIR with --pg-connect CONNINFO (a fast checkpoint) into database
# pg of STORE, which must be hot with a WAL range (start < stop) and carry a note containing NOTE.
hot_backup() {
  local n=$1 conn=$2 dir=$3 note=$4 j="$LOGS/backup$1.log"
  run "backup$n" "$SCNFS" backup --store "$STORE" --db pg --json --pg-connect "$conn" --pg-checkpoint fast "$dir" ||
    fail "backup $n of $dir with --pg-connect: $LAST_ERR"
  [[ "$(json_eval "$j" 'j["hot"] and j["wal_start_lsn"] > 0 and j["min_recovery_lsn"] > j["wal_start_lsn"]')" == True ]] ||
    fail "backup $n: expected hot with a WAL range, got $(json_eval "$j" '(j["hot"], j["wal_start_lsn"], j["min_recovery_lsn"])')"
  [[ "$(NOTE=$note json_eval "$j" 'any(__import__("os").environ["NOTE"] in n for n in j["notes"])')" == True ]] ||
    fail "backup $n: no note saying '$note': $(json_eval "$j" 'j["notes"]')"
}
