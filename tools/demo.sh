#!/usr/bin/env bash
# A guided tour of scnfs for a DBA:
#
#   bash tools/demo.sh [build/scnfs] [--keep] [--oracle]
#
# With PostgreSQL 15 installed (/usr/lib/postgresql/15/bin/initdb, or $PGBIN/initdb) it builds a pgbench cluster
# with data checksums, takes a full backup, runs a workload, takes an incremental backup, lists the store,
# restores both points, verifies them, and starts PostgreSQL on the older restore. Without PostgreSQL (or with
# --oracle) it does the same with Oracle-format datafiles made by scnfs-oragen (found next to scnfs).
#
# Everything lives in one temporary directory under /tmp, removed at the end (kept with --keep); servers are
# always stopped. Exits non-zero on any failure. PostgreSQL runs as the postgres user when started as root.

set -Eeuo pipefail

SCNFS=""
KEEP=0
FORCE_ORACLE=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    --oracle) FORCE_ORACLE=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "demo: unknown option $arg (try --help)" >&2; exit 1 ;;
    *) [[ -z "$SCNFS" ]] || { echo "demo: more than one scnfs path given" >&2; exit 1; }; SCNFS=$arg ;;
  esac
done
SCNFS=${SCNFS:-$(dirname "$0")/../build/scnfs}
[[ -x "$SCNFS" ]] || { echo "demo: $SCNFS is not an executable; build first or pass the scnfs binary" >&2; exit 1; }
SCNFS=$(readlink -f -- "$SCNFS")
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# ---- presentation ----------------------------------------------------------------------------------------------
if [[ -t 1 ]]; then B=$'\e[1m'; D=$'\e[2m'; N=$'\e[0m'; else B=""; D=""; N=""; fi
STEP=0
STEP_TITLE="setup"
LAST_CMD=""
T0=$(date +%s)
heading() {  # heading TITLE WHY...
  STEP=$((STEP + 1))
  STEP_TITLE=$1
  printf '\n%s== %d. %s%s\n' "$B" "$STEP" "$1" "$N"
  shift
  local line
  for line in "$@"; do printf '   %s\n' "$line"; done
}
# show CMD...: print the command (scnfs shown by name), then run it with its output as is.
show() {
  print_cmd "$@"
  "$@"
}
# show_some REGEX CMD...: like show, but print only the output lines (stdout and stderr) matching REGEX.
show_some() {
  local re=$1
  shift
  print_cmd "$@"
  "$@" 2>&1 | grep -E "$re"
}
print_cmd() {
  local shown=() a
  for a in "$@"; do
    case "$a" in
      as_pg) ;;
      "$SCNFS") shown+=(scnfs) ;;
      "$ORAGEN") shown+=(scnfs-oragen) ;;
      "$PGBIN"/*) shown+=("${a#"$PGBIN"/}") ;;
      *[[:space:]]*) shown+=("\"$a\"") ;;
      *) shown+=("$a") ;;
    esac
  done
  LAST_CMD="${shown[*]}"
  printf '%s$ %s%s\n' "$D" "$LAST_CMD" "$N"
}
# show_long NAME CMD...: like show, but a report longer than 40 lines (verify lists every file) is printed as
# its first lines and its totals; the whole report is kept in $WORK/logs/NAME.txt.
show_long() {
  local name=$1 out rc=0 n
  shift
  out="$WORK/logs/$name.txt"
  print_cmd "$@"
  "$@" >"$out" || rc=$?
  n=$(wc -l <"$out")
  if ((n <= 40)); then
    cat "$out"
  else
    # The first two files' reports, then from the totals of all files to the end.
    local total_at
    total_at=$(grep -n '^  total of ' "$out" | head -1 | cut -d: -f1)
    head -n 12 "$out"
    printf '%s  ... %d more lines: the same report for each of the other %d files ...%s\n' \
      "$D" $((total_at - 13)) $(($(grep -c '^  [^ ]' "$out") - 3)) "$N"
    tail -n +"$total_at" "$out"
  fi
  return $rc
}

# ---- work area and cleanup -------------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/scnfs-demo.XXXXXX)
chmod 755 "$WORK"
mkdir "$WORK/logs"
STORE="$WORK/store"
RUNNING=()
ORAGEN=""

cleanup() {
  local rc=$? d
  trap - EXIT
  for d in "${RUNNING[@]}"; do
    [[ -f "$d/postmaster.pid" ]] && as_pg "$PGBIN/pg_ctl" stop -D "$d" -m fast -w >/dev/null 2>&1 || true
  done
  # Servers first (one may run on the mount), then the mount; nothing is ever deleted through a mount.
  if grep -q " $WORK/mnt " /proc/self/mountinfo 2>/dev/null; then "$SCNFS" umount --lazy "$WORK/mnt" >/dev/null 2>&1 || true; fi
  if [[ $rc -ne 0 ]]; then
    echo "demo: FAILED (exit $rc) in step $STEP ($STEP_TITLE)${LAST_CMD:+; last command shown: $LAST_CMD}" >&2
  fi
  if [[ $KEEP -eq 1 ]]; then
    echo "demo: kept $WORK (store in $WORK/store)"
  else
    rm -rf --one-file-system -- "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- PostgreSQL helpers ----------------------------------------------------------------------------------------
PG_USER=$(id -un)
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[[ $(id -u) -eq 0 ]] && PG_USER=postgres
PORT=$((54000 + $$ % 1000))
SOCK="$WORK/sock"
mk_pgdir() {  # an empty directory PostgreSQL accepts as a data directory: its user's, mode 0700
  mkdir -p "$1"
  chown "$PG_USER:" "$1"
  chmod 700 "$1"
}
pg_start() {  # pg_start DATADIR
  RUNNING+=("$1")
  show as_pg "$PGBIN/pg_ctl" start -D "$1" -w -l "$WORK/logs/$(basename "$1").log" \
    -o "-p $PORT -c listen_addresses='' -k $SOCK"
}
pg_stop() { show as_pg "$PGBIN/pg_ctl" stop -D "$1" -m fast -w; }
sql() { as_pg "$PGBIN/psql" -X -q -h "$SOCK" -p "$PORT" -d postgres -v ON_ERROR_STOP=1 "$@"; }

pg_demo() {
  local PGDATA="$WORK/pgdata" R1="$WORK/restore-backup1" R2="$WORK/restore-backup2"
  mk_pgdir "$SOCK"
  mk_pgdir "$WORK/logs"

  heading "Create a PostgreSQL 15 cluster with data checksums and load pgbench (scale 10, 1M accounts)" \
    "Checksums let scnfs check every page it reads exactly like PostgreSQL would, so a corrupt page is" \
    "reported at backup time instead of being silently copied into your only backup."
  mk_pgdir "$PGDATA"
  print_cmd as_pg "$PGBIN/initdb" --data-checksums -A trust -U postgres -D "$PGDATA"
  as_pg "$PGBIN/initdb" --data-checksums -A trust -U postgres -D "$PGDATA" >"$WORK/logs/initdb.log"
  grep 'Data page checksums' "$WORK/logs/initdb.log"
  pg_start "$PGDATA"
  show_some '^done in' as_pg "$PGBIN/pgbench" -i -s 10 -q -h "$SOCK" -p "$PORT" postgres
  sql -Atc "select 'database size: ' || pg_size_pretty(pg_database_size('postgres'))"

  heading "Stop the cluster and take the first backup: it is full" \
    "Stopped means a consistent data directory. Every 8 KiB page is checked, compressed and stored once," \
    "keyed by its LSN; identical content (zero pages, repeated blocks) is stored only once."
  pg_stop "$PGDATA"
  show "$SCNFS" init --store "$STORE"
  show "$SCNFS" backup --store "$STORE" --db pgbench "$PGDATA"

  heading "Run a workload: 2 clients x 1000 pgbench transactions" \
    "Updates touch a few thousand pages of the accounts table and add rows to pgbench_history."
  pg_start "$PGDATA"
  show_some '^(number of transactions actually|tps)' as_pg "$PGBIN/pgbench" -n -c 2 -t 1000 -h "$SOCK" -p "$PORT" postgres
  sql -Atc "select 'pgbench_history rows now: ' || count(*) from pgbench_history"
  pg_stop "$PGDATA"

  heading "Incremental backup: only changed blocks are stored" \
    "scnfs compares each page's LSN with what the store already holds, so unchanged pages cost nothing." \
    "Yet this backup is a complete restore point on its own: no chain of incrementals to apply later."
  show "$SCNFS" backup --store "$STORE" --db pgbench "$PGDATA"

  heading "List the store: two restore points, and what each one really cost on disk" \
    "LOGICAL is the size of the data directory; STORED is what that backup added to the store."
  show "$SCNFS" list --store "$STORE"

  heading "Restore both points into new directories" \
    "Any backup (or an LSN, or a time) restores directly, each file with its owner, mode and times." \
    "The targets are empty directories owned by $PG_USER with mode 0700, as PostgreSQL requires."
  mk_pgdir "$R1"
  mk_pgdir "$R2"
  show "$SCNFS" restore --store "$STORE" --db pgbench --at backup:1 "$R1"
  show "$SCNFS" restore --store "$STORE" --db pgbench --at backup:2 "$R2"

  heading "Verify both backups inside the store (a DBVERIFY for backups)" \
    "Re-reads every page of the restore point from the store, checks PostgreSQL's page checksums and the" \
    "store's own hashes. A backup you have never verified is a hope, not a backup."
  show_long verify-backup1 "$SCNFS" verify --store "$STORE" --db pgbench --at backup:1
  show_long verify-backup2 "$SCNFS" verify --store "$STORE" --db pgbench --at backup:2

  heading "Start PostgreSQL on the restore of backup 1 and query it" \
    "The proof that matters: the old point opens as a normal cluster. It is the state before the workload," \
    "so pgbench_history is empty there."
  show as_pg "$PGBIN/pg_checksums" --check -D "$R1"
  pg_start "$R1"
  local q="select (select count(*) from pgbench_accounts) as accounts, (select count(*) from pgbench_history) as history"
  printf '%s$ psql -c "%s"%s\n' "$D" "$q" "$N"
  sql -c "$q"
  local relpath
  relpath=$(sql -Atc "select pg_relation_filepath('pgbench_accounts')")
  pg_stop "$R1"
  echo "The same page checks on one file on disk, e.g. the accounts table of the restored cluster:"
  show "$SCNFS" verify --format postgres --file "$R1/$relpath"

  local MNT="$WORK/mnt"
  mkdir -p "$MNT"
  heading "Mount the store: every backup and any LSN or time as ordinary files, no restore needed" \
    "The mount is ready at once and reads at disk speed; backups keep running while it is mounted."
  show "$SCNFS" mount --store "$STORE" --allow-other "$MNT"
  show ls "$MNT/pgbench" "$MNT/pgbench/backups"
  show as_pg "$PGBIN/pg_checksums" --check -D "$MNT/pgbench/backups/1"

  heading "Instant restore: a writable clone of backup 2, and PostgreSQL running on it straight from the store" \
    "Writes go to the clone's own copy-on-write delta; the backup underneath never changes."
  show "$SCNFS" clone create --store "$STORE" --db pgbench --at backup:2 tryout
  pg_start "$MNT/pgbench/clones/tryout"
  printf '%s$ psql -c "%s"%s\n' "$D" "$q" "$N"
  sql -c "$q"
  show_long pgbench-on-clone as_pg "$PGBIN/pgbench" -n -c 2 -t 200 -h "$SOCK" -p "$PORT" postgres
  pg_stop "$MNT/pgbench/clones/tryout"
  show "$SCNFS" clone list --store "$STORE"
  show "$SCNFS" umount "$MNT"
  show "$SCNFS" clone destroy --store "$STORE" tryout

  local R3="$WORK/restore-backup3"
  heading "Back up the cluster while it runs: pgbench keeps writing during the backup" \
    "--pg-connect brackets the copy with pg_backup_start and pg_backup_stop, and the backup keeps its" \
    "backup_label and the WAL to the stop: a restore or clone recovers to a consistent state by itself."
  pg_start "$PGDATA"
  as_pg "$PGBIN/pgbench" -n -c 2 -T 15 -h "$SOCK" -p "$PORT" postgres >"$WORK/logs/pgbench-hot.log" 2>&1 &
  local load=$!
  sleep 2
  show "$SCNFS" backup --store "$STORE" --db pgbench --pg-connect "host=$SOCK port=$PORT user=postgres" \
    --pg-checkpoint fast "$PGDATA"
  wait "$load"
  pg_stop "$PGDATA"
  mk_pgdir "$R3"
  show "$SCNFS" restore --store "$STORE" --db pgbench --at backup:3 "$R3"
  pg_start "$R3"
  echo "PostgreSQL replayed the backup's WAL and opened; pgbench keeps these four sums equal in every transaction:"
  q="select (select sum(abalance) from pgbench_accounts) as accounts, (select sum(tbalance) from pgbench_tellers) as tellers,
            (select sum(bbalance) from pgbench_branches) as branches, (select sum(delta) from pgbench_history) as history"
  sql -c "$q"
  pg_stop "$R3"
}

oracle_demo() {
  ORAGEN="$(dirname "$SCNFS")/scnfs-oragen"
  [[ -x "$ORAGEN" ]] || { echo "demo: no PostgreSQL ($PGBIN/initdb) and no $ORAGEN to make Oracle datafiles" >&2; return 1; }
  local DATA="$WORK/oradata" R1="$WORK/restore-backup1" R2="$WORK/restore-backup2" COPY1="$WORK/copy-at-backup1"

  heading "Create an Oracle-format database: 4 datafiles of 4000 blocks (8 KiB) at SCN 1000" \
    "(Synthetic files from scnfs-oragen: the real block and file-header layout, without an Oracle install.)"
  show "$ORAGEN" create --dir "$DATA" --db DEMO --dbid 4242 --files 4 --blocks 4000 --scn 1000
  cp -a "$DATA" "$COPY1"

  heading "First backup: it is full" \
    "Every block is checked like DBVERIFY would (checksum, block address, fractured block), compressed" \
    "and stored once, keyed by its SCN."
  show "$SCNFS" init --store "$STORE"
  show "$SCNFS" backup --store "$STORE" --db demo "$DATA"

  heading "Change 3% of the blocks of two datafiles at SCN 2000 (what DML and a checkpoint would do)"
  show "$ORAGEN" change --file "$DATA/demo_1.dbf" --scn 2000 --fraction 0.03 --seed 1
  show "$ORAGEN" change --file "$DATA/demo_3.dbf" --scn 2000 --fraction 0.03 --seed 2

  heading "Incremental backup: only changed blocks are stored" \
    "scnfs compares each block's SCN with what the store already holds, so unchanged blocks cost nothing." \
    "Yet this backup is a complete restore point on its own: no chain of incrementals to apply later."
  show "$SCNFS" backup --store "$STORE" --db demo "$DATA"

  heading "List the store: two restore points, and what each one really cost on disk"
  show "$SCNFS" list --store "$STORE"

  heading "Restore both points: backup 1 by its SCN, backup 2 as latest" \
    "Any SCN, time or backup restores directly, with owners, modes and times."
  show "$SCNFS" restore --store "$STORE" --db demo --at scn:1000 "$R1"
  show "$SCNFS" restore --store "$STORE" --db demo --at latest "$R2"
  show cmp "$R1/demo_1.dbf" "$COPY1/demo_1.dbf"
  echo "restore of backup 1 is byte-identical to the file at backup 1"
  show cmp "$R2/demo_1.dbf" "$DATA/demo_1.dbf"
  echo "restore of backup 2 is byte-identical to the file now"

  heading "Verify both backups inside the store, and a restored file on disk (a DBVERIFY for backups)" \
    "A backup you have never verified is a hope, not a backup."
  show "$SCNFS" verify --store "$STORE" --db demo --at backup:1
  show "$SCNFS" verify --store "$STORE" --db demo --at backup:2
  show "$SCNFS" verify --file "$R2/demo_3.dbf"
}

echo "${B}scnfs demo${N}: incremental-forever, block-level backups of database files ($("$SCNFS" --version 2>/dev/null || echo scnfs))"
echo "work directory: $WORK"
if [[ $FORCE_ORACLE -eq 0 && -x "$PGBIN/initdb" ]]; then
  pg_demo
else
  oracle_demo
fi
printf '\n%sDone in %ds.%s Servers stopped; %s.\n' "$B" "$(($(date +%s) - T0))" "$N" \
  "$([[ $KEEP -eq 1 ]] && echo "everything kept in $WORK" || echo "temporary files removed")"
