#!/usr/bin/env bash
# End-to-end test of hot backups: a real PostgreSQL 15 cluster backed up WHILE pgbench writes to it and checkpoints
# run every half second (docs/backup.md, "Hot PostgreSQL backups").
#
#   bash tests/e2e/postgres_hot_backup.sh /path/to/scnfs
#
# Two backups with --pg-connect (pg_backup_start / pg_backup_stop) and one without. Each backup that completed is
# restored, and one is cloned; PostgreSQL recovers on each by itself and must come up consistent: pgbench keeps the
# balances of accounts, tellers, branches and the history's deltas equal in every committed transaction, so equal
# sums, pg_amcheck and pg_checksums say the recovered cluster is a consistent one. (Before, a backup without the
# server's help stored the pg_control of a checkpoint made while it read, and the restore came up with rows and
# index entries missing, without an error.) Bad --pg-connect uses are refused before anything is stored.
#
# Needs root. Prints one line per check and ends with "e2e: N passed, M failed"; exit 0 only when all passed.

source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PORT2=$((PORT + 1))
CONN="host=$SOCK port=$PORT user=postgres"
echo "e2e hot backups: scnfs=$SCNFS work=$WORK ports=$PORT,$PORT2"
trap 'stop_load; cleanup' EXIT

# 1. A cluster with data checksums, pgbench scale 10, and a load: 4 pgbench clients and a CHECKPOINT every 0.5 s.
t=$(date +%s.%N)
mkdir -p "$PGDATA" "$MNT" && chown postgres: "$PGDATA" && chmod 700 "$PGDATA" || fail "cannot create $PGDATA"
run initdb as_pg "$PGBIN/initdb" --data-checksums -A trust -U postgres -D "$PGDATA" || fail "initdb: $LAST_ERR"
pg_start "$PGDATA" start1 || fail "start: $LAST_ERR"
run pgbench-init as_pg "$PGBIN/pgbench" -i -s 10 -h "$SOCK" -p "$PORT" postgres || fail "pgbench -i: $LAST_ERR"
# A tablespace outside the data directory: a backup holds it as a directory in pg_tblspc, which PostgreSQL refuses
# after recovery from a backup_label unless allow_in_place_tablespaces is on (the backup's postgresql.auto.conf).
mkdir -p "$WORK/ts" && chown postgres: "$WORK/ts" || fail "cannot create $WORK/ts"
psql_q "CREATE TABLESPACE ts LOCATION '$WORK/ts'" >/dev/null || fail "create tablespace"
psql_q "CREATE TABLE in_ts TABLESPACE ts AS SELECT g AS i FROM generate_series(1, 100000) g" >/dev/null ||
  fail "create a table in the tablespace"
# A slot of a standby elsewhere: a restore must not own it (it would hold the restore's WAL for ever).
psql_q "select pg_create_physical_replication_slot('prod_standby', true)" >/dev/null || fail "create a replication slot"
run init "$SCNFS" init --store "$STORE" || fail "scnfs init: $LAST_ERR"
as_pg "$PGBIN/pgbench" -n -c 4 -T 600 -h "$SOCK" -p "$PORT" postgres >"$LOGS/pgbench-load.log" 2>&1 &
LOAD_PIDS+=($!)
(while sleep 0.5; do psql_q "CHECKPOINT" >/dev/null || true; done) &
LOAD_PIDS+=($!)
sleep 2
pass "cluster of pgbench scale 10 under load: 4 clients and a checkpoint every 0.5 s ($(elapsed "$t")s)"

# 2. Hot backups with the server's help: full, then incremental.
t=$(date +%s.%N)
for n in 1 2; do
  hot_backup "$n" "$CONN" "$PGDATA" "backup_label and the WAL from"
  sleep 1
done
# The source has one slot (prod_standby); the session's own temporary slot, in pg_replslot while the backup runs,
# is not counted as the source's (every --pg-connect backup said "1 replication slot(s)" of a cluster without one).
slots=$(json_eval "$LOGS/backup1.log" '[n.split(" ")[0] for n in j["notes"] if "replication slot(s) of the source" in n]')
[[ "$slots" == "['1']" ]] || fail "backup 1: expected a note of 1 replication slot of the source left out, got $slots"
pass "two hot backups with --pg-connect under load, each with its backup_label and WAL range ($(elapsed "$t")s)"

# 3. A hot backup without the server's help: it completes and recovers consistently, or fails for a WAL segment
#    that a checkpoint recycled while it read (no slot held it); it never completes on WAL it lacks.
t=$(date +%s.%N)
UNLABELLED=""
if run backup3 "$SCNFS" backup --store "$STORE" --db pg --json "$PGDATA"; then
  UNLABELLED=3
  [[ "$(json_eval "$LOGS/backup3.log" 'j["hot"] and j["wal_start_lsn"] == 0 and j["min_recovery_lsn"] > 0')" == True ]] ||
    fail "backup 3 (no --pg-connect): expected hot, no label, a WAL end: $(json_eval "$LOGS/backup3.log" '(j["hot"], j["wal_start_lsn"], j["min_recovery_lsn"])')"
  what="completed"
else
  grep -q "WAL segment .* which this hot backup needs" "$LOGS/backup3.log" ||
    fail "backup 3 (no --pg-connect) failed for another reason: $LAST_ERR"
  what="failed cleanly: $(grep -o 'WAL segment [0-9A-F]*' "$LOGS/backup3.log") was recycled"
fi
pass "a hot backup without --pg-connect $what ($(elapsed "$t")s)"

stop_load
pg_stop "$PGDATA" stop1 || fail "stop: $LAST_ERR"

# 4. Each backup restored: a backup_label where one was taken, and a consistent cluster after recovery.
t=$(date +%s.%N)
for n in 1 2 $UNLABELLED; do
  r="$WORK/restore$n"
  run "restore$n" "$SCNFS" restore --store "$STORE" --db pg --at "backup:$n" "$r" || fail "restore $n: $LAST_ERR"
  if [[ $n != 3 ]]; then
    grep -q "^START WAL LOCATION: " "$r/backup_label" 2>/dev/null || fail "restore $n holds no backup_label"
    grep -q "warning" "$LOGS/restore$n.log" && fail "restore $n warned: $(grep warning "$LOGS/restore$n.log")"
  fi
  [[ -d "$r/pg_replslot" && -z "$(ls -A "$r/pg_replslot")" ]] || fail "restore $n holds the source's replication slots: $(ls "$r/pg_replslot")"
  recovered_ok "$r" "restore$n-pg" "$PORT2" 1000000 100000
  [[ $n == 3 || -f "$r/backup_label.old" ]] || fail "restore $n: PostgreSQL did not take its backup_label"
  rm -rf "$r"
  echo "  backup $n: consistent, balance sum $RECOVERED_SUM"
done
pass "backups ${UNLABELLED:+3 and }1, 2 restored; PostgreSQL recovered each to a consistent cluster ($(elapsed "$t")s)"

# 5. A clone of backup 2 recovers the same way, and is destroyed while the store stays mounted.
t=$(date +%s.%N)
run clone "$SCNFS" clone create --store "$STORE" --db pg --at backup:2 hot2 || fail "clone create: $LAST_ERR"
run mount "$SCNFS" mount --store "$STORE" --allow-other "$MNT" || fail "scnfs mount: $LAST_ERR"
want=$(json_eval "$LOGS/backup2.log" '(True, j["wal_start_lsn"], j["min_recovery_lsn"])')
got=$(json_eval "$MNT/pg/backups/2/.scnfs-backup.json" '(j["backup"]["hot"], j["backup"]["wal_start_lsn"], j["backup"]["min_recovery_lsn"])')
[[ "$got" == "$want" ]] || fail "the mount's .scnfs-backup.json of backup 2 says (hot, start, stop) $got, backup 2 said $want"
recovered_ok "$MNT/pg/clones/hot2" clone2-pg "$PORT2" 1000000 100000
run clone-destroy "$SCNFS" clone destroy --store "$STORE" hot2 || fail "clone destroy: $LAST_ERR"
run umount "$SCNFS" umount "$MNT" || fail "umount: $LAST_ERR"
pass "a clone of hot backup 2 recovered to a consistent cluster, then was destroyed ($(elapsed "$t")s)"

# 6. Bad uses of --pg-connect are refused before anything is stored.
t=$(date +%s.%N)
pg_start "$PGDATA" start2 || fail "start: $LAST_ERR"
before=$("$SCNFS" list --store "$STORE" --db pg --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["backup_count"])')
run restore-other "$SCNFS" restore --store "$STORE" --db pg --at backup:1 "$WORK/other" || fail "restore for a second directory: $LAST_ERR"
run bad-dir "$SCNFS" backup --store "$STORE" --db pg --pg-connect "$CONN" "$WORK/other" &&
  fail "a backup of another directory than the server's was taken"
grep -q "runs the data directory .*, not $WORK/other" "$LOGS/bad-dir.log" || fail "wrong data directory: $(cat "$LOGS/bad-dir.log")"
run env-conn env PGHOST="$SOCK" PGPORT="$PORT" PGUSER=postgres "$SCNFS" backup --store "$STORE" --db pg --pg-connect '' \
  "$WORK/other" && fail "a backup of another directory than the server's was taken (--pg-connect '')"
grep -q "runs the data directory .*, not $WORK/other" "$LOGS/env-conn.log" ||
  fail "--pg-connect '' did not connect with PGHOST, PGPORT and PGUSER: $(cat "$LOGS/env-conn.log")"
run bad-host "$SCNFS" backup --store "$STORE" --db pg --pg-connect "host=$SOCK port=1" "$PGDATA" &&
  fail "a backup through an unreachable server was taken"
grep -q "cannot connect to PostgreSQL" "$LOGS/bad-host.log" || fail "unreachable server: $(cat "$LOGS/bad-host.log")"
mkdir -p "$WORK/rawsrc" && echo x >"$WORK/rawsrc/f"
run bad-format "$SCNFS" backup --store "$STORE" --db raw --format raw --pg-connect "$CONN" "$WORK/rawsrc" &&
  fail "--pg-connect was taken for a raw database"
grep -q "backs up a running PostgreSQL cluster" "$LOGS/bad-format.log" || fail "raw database: $(cat "$LOGS/bad-format.log")"
after=$("$SCNFS" list --store "$STORE" --db pg --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[0]["backup_count"])')
[[ "$before" == "$after" ]] || fail "refused backups left records: $before backups before, $after after"
active=$(psql_q "select count(*) from pg_replication_slots where slot_name <> 'prod_standby'") || fail "query on the source"
[[ "$active" == 0 ]] || fail "$active replication slot(s) left on the server"
pg_stop "$PGDATA" stop2 || fail "stop: $LAST_ERR"
pass "another directory (also through PG* variables), an unreachable server and a raw database refused; no record and no slot left ($(elapsed "$t")s)"

summary_line
[[ $FAILED -eq 0 ]]
