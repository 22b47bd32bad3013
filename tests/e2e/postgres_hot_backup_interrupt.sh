#!/usr/bin/env bash
# End-to-end test of one SIGTERM to a hot backup (--pg-connect) while it waits for the server (docs/cli.md,
# "Interrupts"): `timeout` and schedulers send one signal only.
#
#   bash tests/e2e/postgres_hot_backup_interrupt.sh /path/to/scnfs
#
# 1. In pg_backup_start's spread checkpoint (a checkpoint_timeout of an hour, dirty buffers from pgbench): before
#    2026-12-02 the query was a blocking libpq call, and the backup lived on for minutes after SIGTERM.
# 2. In pg_backup_stop, with the session's backend stopped (SIGSTOP), as a hung server or network would leave it:
#    before, the backup waited for ever.
# Each must end within seconds with exit 1 and its reason, with no session or temporary slot left on the server; the
# second is recorded as failed (the first began before the store was touched: no record, as for any failure
# there). A backup afterwards completes.
#
# Needs root. Prints one line per check and ends with "e2e: N passed, M failed"; exit 0 only when all passed.

source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

CONN="host=$SOCK port=$PORT user=postgres"
echo "e2e interrupted hot backups: scnfs=$SCNFS work=$WORK port=$PORT"
BACKUP_PID=""   # a backup running in the background
STOPPED_PID=""  # a backend this script stopped
resume_all() {
  [[ -n "$STOPPED_PID" ]] && kill -CONT "$STOPPED_PID" 2>/dev/null
  [[ -n "$BACKUP_PID" ]] && kill -KILL "$BACKUP_PID" 2>/dev/null && kill -CONT "$BACKUP_PID" 2>/dev/null
  return 0
}
trap 'resume_all; stop_load; cleanup' EXIT

# wait_for SECONDS CMD...: true once CMD succeeds, polled every 0.1 s.
wait_for() {
  local until=$(($(date +%s%N) + $1 * 1000000000))
  shift
  while ! "$@"; do
    (($(date +%s%N) > until)) && return 1
    sleep 0.1
  done
}
# The backend of scnfs's session while it runs pg_backup_start (its pid), or the state of that backend.
start_backend() { psql_q "select pid from pg_stat_activity where application_name = 'scnfs backup' and state = 'active' and query like '%pg_backup_start%'"; }
in_backup_start() { [[ -n "$(start_backend)" ]]; }
backend_idle() { [[ "$(psql_q "select state from pg_stat_activity where pid = $1")" == idle ]]; }
# What scnfs left on the server: sessions and temporary slots.
left_on_server() {
  psql_q "select (select count(*) from pg_stat_activity where application_name = 'scnfs backup') + (select count(*) from pg_replication_slots where slot_name like 'scnfs_backup_%')"
}
nothing_left() { [[ "$(left_on_server)" == 0 ]]; }
# Whether the backup's main thread waits in poll() (syscall 7 on x86_64, 271 ppoll): libpq's wait and scnfs's.
in_poll() { local nr _; read -r nr _ <"/proc/$BACKUP_PID/task/$BACKUP_PID/syscall" 2>/dev/null && [[ $nr == 7 || $nr == 271 ]]; }
# Backup 2 is recorded as running and its main thread waits in poll(), twice 0.5 s apart: every file is read.
waits_in_stop() { [[ "$(backup_field 2 'b["state"]')" == "['running']" ]] && in_poll && sleep 0.5 && in_poll; }
gone() { ! kill -0 "$BACKUP_PID" 2>/dev/null; }
# start_backup LOGNAME: a backup with a spread checkpoint in the background, as BACKUP_PID.
start_backup() {
  "$SCNFS" backup --store "$STORE" --db pg --pg-connect "$CONN" --pg-checkpoint spread "$PGDATA" >"$LOGS/$1.log" 2>&1 &
  BACKUP_PID=$!
}
# term_backup LOGNAME: one SIGTERM; the backup must be gone within 5 s. Sets RC and SECS.
term_backup() {
  local t
  t=$(date +%s.%N)
  kill -TERM "$BACKUP_PID"
  wait_for 5 gone || fail "$1: scnfs still ran 5 s after one SIGTERM: $(tail -n 1 "$LOGS/$1.log")"
  SECS=$(elapsed "$t")
  wait "$BACKUP_PID"
  RC=$?
  BACKUP_PID=""
}
backup_field() {  # backup_field ID EXPR: EXPR of backup ID in `list --json` (b is the backup)
  "$SCNFS" list --store "$STORE" --db pg --json >"$LOGS/list.json" 2>>"$LOGS/list.err" || return 1
  json_eval "$LOGS/list.json" "[$2 for b in j[0]['backups'] if b['id'] == $1]"
}

# 1. A cluster whose spread checkpoints take most of an hour, and a first backup (fast) so that the database exists.
t=$(date +%s.%N)
mkdir -p "$PGDATA" && chown postgres: "$PGDATA" && chmod 700 "$PGDATA" || fail "cannot create $PGDATA"
run initdb as_pg "$PGBIN/initdb" --data-checksums -A trust -U postgres -D "$PGDATA" || fail "initdb: $LAST_ERR"
printf '%s\n' "checkpoint_timeout = '1h'" "checkpoint_completion_target = 0.9" "max_wal_size = '4GB'" >>"$PGDATA/postgresql.conf"
pg_start "$PGDATA" start || fail "start: $LAST_ERR"
run pgbench-init as_pg "$PGBIN/pgbench" -i -s 2 -h "$SOCK" -p "$PORT" postgres || fail "pgbench -i: $LAST_ERR"
run init "$SCNFS" init --store "$STORE" || fail "scnfs init: $LAST_ERR"
run backup1 "$SCNFS" backup --store "$STORE" --db pg --pg-connect "$CONN" --pg-checkpoint fast "$PGDATA" ||
  fail "first backup: $LAST_ERR"
pass "cluster with a 1 h checkpoint_timeout, and backup 1 ($(elapsed "$t")s)"

# 2. One SIGTERM while pg_backup_start waits for the spread checkpoint of the buffers pgbench dirtied.
t=$(date +%s.%N)
run pgbench as_pg "$PGBIN/pgbench" -n -T 3 -c 2 -h "$SOCK" -p "$PORT" postgres || fail "pgbench: $LAST_ERR"
start_backup term-start
wait_for 30 in_backup_start || fail "no session of the backup in pg_backup_start: $(tail -n 1 "$LOGS/term-start.log")"
sleep 1
in_backup_start || fail "pg_backup_start did not wait for a spread checkpoint (the test needs it to)"
term_backup term-start
[[ $RC == 1 ]] || fail "interrupted in pg_backup_start: exit $RC, not 1: $(tail -n 1 "$LOGS/term-start.log")"
grep -q "interrupted while waiting for PostgreSQL's checkpoint (pg_backup_start)" "$LOGS/term-start.log" ||
  fail "interrupted in pg_backup_start: no reason: $(cat "$LOGS/term-start.log")"
wait_for 5 nothing_left || fail "after the interrupt in pg_backup_start, sessions + slots left on the server: $(left_on_server)"
# The query was cancelled on the server (PQcancel), not only left to client_connection_check_interval (14 and later),
# which a server of 12 or 13, or one where the setting failed, does not have: it kept waiting for its checkpoint.
grep -q "canceling statement due to user request" "$LOGS/start.server.log" ||
  fail "interrupted in pg_backup_start: the query was not cancelled on the server: $(grep -E 'ERROR|FATAL' "$LOGS/start.server.log" | tail -n 3)"
[[ "$(backup_field 2 'b["state"]')" == "[]" ]] || fail "an interrupt before the store was touched left a record: $(backup_field 2 'b')"
pass "one SIGTERM in pg_backup_start's checkpoint: exit 1 after ${SECS}s, no session, slot or record left ($(elapsed "$t")s)"

# 3. One SIGTERM while pg_backup_stop waits for a backend that does not answer: scnfs is held (SIGSTOP) once its
#    pg_backup_start was sent, CHECKPOINT hurries the spread checkpoint, and the backend is stopped once it is idle,
#    so that every file is read and then pg_backup_stop waits.
t=$(date +%s.%N)
run pgbench2 as_pg "$PGBIN/pgbench" -n -T 2 -c 2 -h "$SOCK" -p "$PORT" postgres || fail "pgbench: $LAST_ERR"
start_backup term-stop
wait_for 30 in_backup_start || fail "no session of the backup in pg_backup_start: $(tail -n 1 "$LOGS/term-stop.log")"
backend=$(start_backend)
kill -STOP "$BACKUP_PID"
psql_q "CHECKPOINT" >/dev/null || fail "CHECKPOINT"
wait_for 30 backend_idle "$backend" || fail "pg_backup_start of the backup did not end after CHECKPOINT"
kill -STOP "$backend" && STOPPED_PID=$backend
kill -CONT "$BACKUP_PID"
wait_for 60 waits_in_stop ||
  fail "the backup did not come to wait for pg_backup_stop: $(tail -n 1 "$LOGS/term-stop.log")"
term_backup term-stop
[[ $RC == 1 ]] || fail "interrupted in pg_backup_stop: exit $RC, not 1: $(tail -n 1 "$LOGS/term-stop.log")"
grep -q "interrupted while waiting for pg_backup_stop" "$LOGS/term-stop.log" ||
  fail "interrupted in pg_backup_stop: no reason: $(cat "$LOGS/term-stop.log")"
state=$(backup_field 2 '(b["state"], "interrupted while waiting for pg_backup_stop" in b["error"])')
[[ "$state" == "[('failed', True)]" ]] || fail "backup 2 interrupted in pg_backup_stop is listed as $state"
kill -CONT "$backend" && STOPPED_PID=""
wait_for 5 nothing_left || fail "after the interrupt in pg_backup_stop, sessions + slots left on the server: $(left_on_server)"
pass "one SIGTERM in pg_backup_stop: exit 1 after ${SECS}s, backup 2 failed with the reason, no session or slot left ($(elapsed "$t")s)"

# 4. The next backup completes.
t=$(date +%s.%N)
run backup3 "$SCNFS" backup --store "$STORE" --db pg --pg-connect "$CONN" --pg-checkpoint fast "$PGDATA" ||
  fail "backup after the interrupts: $LAST_ERR"
[[ "$(backup_field 3 '(b["state"], b["hot"])')" == "[('complete', True)]" ]] || fail "backup 3: $(backup_field 3 'b')"
nothing_left || fail "after backup 3, sessions + slots left on the server: $(left_on_server)"
pg_stop "$PGDATA" stop || fail "stop: $LAST_ERR"
pass "the next backup completed hot ($(elapsed "$t")s)"

summary_line
[[ $FAILED -eq 0 ]]
