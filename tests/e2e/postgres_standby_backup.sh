#!/usr/bin/env bash
# End-to-end test of hot backups taken from a streaming standby, where DBAs offload backups from the primary
# (docs/backup.md, "Hot PostgreSQL backups"): a real PostgreSQL 15 primary under pgbench and checkpoints, a standby
# made by pg_basebackup -R and streaming from it, and `scnfs backup --pg-connect` of the standby's data directory
# while it replays (restartpoints every half second). Each backup restored must recover by itself to a consistent
# cluster that is a primary of its own (no standby.signal: it must not follow production), and accept writes.
#
#   bash tests/e2e/postgres_standby_backup.sh /path/to/scnfs
#
# Needs root. Prints one line per check and ends with "e2e: N passed, M failed"; exit 0 only when all passed.

source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PORT2=$((PORT + 1))
PORT3=$((PORT + 2))
STANDBY="$WORK/standby"
CONN="host=$SOCK port=$PORT2 user=postgres"
echo "e2e standby backups: scnfs=$SCNFS work=$WORK ports=$PORT,$PORT2,$PORT3"
trap 'stop_load; cleanup' EXIT

# 1. A primary (pgbench scale 5) and a standby streaming from it, both running; load on the primary.
t=$(date +%s.%N)
mkdir -p "$PGDATA" && chown postgres: "$PGDATA" && chmod 700 "$PGDATA" || fail "cannot create $PGDATA"
run initdb as_pg "$PGBIN/initdb" --data-checksums -A trust -U postgres -D "$PGDATA" || fail "initdb: $LAST_ERR"
pg_start "$PGDATA" primary || fail "start the primary: $LAST_ERR"
run pgbench-init as_pg "$PGBIN/pgbench" -i -s 5 -h "$SOCK" -p "$PORT" postgres || fail "pgbench -i: $LAST_ERR"
mkdir -p "$STANDBY" && chown postgres: "$STANDBY" && chmod 700 "$STANDBY" || fail "cannot create $STANDBY"
run basebackup as_pg "$PGBIN/pg_basebackup" -D "$STANDBY" -R -X stream -c fast -h "$SOCK" -p "$PORT" ||
  fail "pg_basebackup of the primary: $LAST_ERR"
[[ -f "$STANDBY/standby.signal" ]] || fail "pg_basebackup -R left no standby.signal"
[[ -f "$STANDBY/backup_manifest" ]] || fail "pg_basebackup left no backup_manifest"
pg_start "$STANDBY" standby "$PORT2" || fail "start the standby: $LAST_ERR"
[[ "$(psql_q "select pg_is_in_recovery()" "$PORT2")" == t ]] || fail "the standby is not in recovery"
run init "$SCNFS" init --store "$STORE" || fail "scnfs init: $LAST_ERR"
as_pg "$PGBIN/pgbench" -n -c 2 -T 600 -h "$SOCK" -p "$PORT" postgres >"$LOGS/pgbench-load.log" 2>&1 &
LOAD_PIDS+=($!)
# Checkpoints on the primary make the standby's restartpoints possible; CHECKPOINT on the standby makes one.
(while sleep 0.5; do psql_q "CHECKPOINT" >/dev/null || true; psql_q "CHECKPOINT" "$PORT2" >/dev/null || true; done) &
LOAD_PIDS+=($!)
sleep 2
pass "a primary under pgbench and a standby streaming from it, restartpoints every 0.5 s ($(elapsed "$t")s)"

# 2. Hot backups of the standby through its own server: full, then incremental.
t=$(date +%s.%N)
for n in 1 2; do
  hot_backup "$n" "$CONN" "$STANDBY" "standby.signal"
  sleep 1
done
[[ "$(psql_q "select count(*) from pg_replication_slots" "$PORT2")" == 0 ]] || fail "a replication slot was left on the standby"
pass "two hot backups of the running standby with --pg-connect, no slot left ($(elapsed "$t")s)"

stop_load
pg_stop "$STANDBY" standby-stop || fail "stop the standby: $LAST_ERR"
pg_stop "$PGDATA" primary-stop || fail "stop the primary: $LAST_ERR"

# 3. Each backup restored recovers to a consistent cluster, out of recovery, that takes writes; the primary is
#    stopped, so a restore that still followed it would never leave recovery.
t=$(date +%s.%N)
for n in 1 2; do
  r="$WORK/restore$n"
  run "restore$n" "$SCNFS" restore --store "$STORE" --db pg --at "backup:$n" "$r" || fail "restore $n: $LAST_ERR"
  [[ -f "$r/standby.signal" || -f "$r/recovery.signal" ]] && fail "restore $n holds a signal file: it would start as a standby"
  [[ -e "$r/backup_manifest" ]] && fail "restore $n holds the manifest of the base backup the standby was made from"
  grep -q "^START WAL LOCATION: " "$r/backup_label" 2>/dev/null || fail "restore $n holds no backup_label"
  grep -q "^BACKUP FROM: standby" "$r/backup_label" || fail "restore $n: backup_label does not say it came from a standby"
  recovered_ok "$r" "restore$n-pg" "$PORT3" 500000
  pg_start "$r" "restore$n-writes" "$PORT3" || fail "PostgreSQL on restore $n: $LAST_ERR"
  [[ "$(psql_q "select pg_is_in_recovery()" "$PORT3")" == f ]] || fail "restore $n is still in recovery"
  psql_q "create table written_after_restore(i int); insert into written_after_restore values (1)" "$PORT3" >/dev/null ||
    fail "restore $n does not take writes"
  pg_stop "$r" "restore$n-writes-stop" || fail "stop on restore $n: $LAST_ERR"
  rm -rf "$r"
  echo "  backup $n: consistent, balance sum $RECOVERED_SUM"
done
pass "backups 1 and 2 of the standby restored; each recovered to a consistent primary of its own ($(elapsed "$t")s)"

summary_line
[[ $FAILED -eq 0 ]]
