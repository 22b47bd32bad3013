#!/usr/bin/env bash
# End-to-end test of writable clones with a real PostgreSQL 15 server.
#
#   bash tests/e2e/postgres_clone.sh /path/to/scnfs
#
# Two backups of a pgbench cluster; a clone of each, both running at once on their own ports, each with the data
# of its own backup; pgbench writes on a clone, pg_amcheck passes on it; the mount is killed with SIGKILL while
# pgbench writes, remounted, and PostgreSQL recovers on the clone (pg_amcheck passes again). Afterwards every
# backup still restores byte-identically, scnfs verify is clean, and a clone's space is returned on destroy.
#
# Needs root. Prints one line per check and ends with "e2e: N passed, M failed"; exit 0 only when all passed.

source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PORT2=$((PORT + 1))
echo "e2e clones: scnfs=$SCNFS work=$WORK ports=$PORT,$PORT2"
mount_store() { run "mount$1" "$SCNFS" mount --store "$STORE" --allow-other "$MNT"; }
mount_pid() { awk -F'pid ' '/\(pid/{print $2+0}' "$LOGS/mount$1.log"; }

# 1. Cluster, backup 1; pgbench; backup 2. Copies of the data directory at each backup to compare with later.
t=$(date +%s.%N)
mkdir -p "$PGDATA" "$MNT" && chown postgres: "$PGDATA" && chmod 700 "$PGDATA" || fail "cannot create $PGDATA"
run initdb as_pg "$PGBIN/initdb" --data-checksums -A trust -U postgres -D "$PGDATA" || fail "initdb: $LAST_ERR"
pg_start "$PGDATA" start1 || fail "start: $LAST_ERR"
run pgbench-init as_pg "$PGBIN/pgbench" -i -s 5 -h "$SOCK" -p "$PORT" postgres || fail "pgbench -i: $LAST_ERR"
pg_stop "$PGDATA" stop1 || fail "stop: $LAST_ERR"
cp -a "$PGDATA" "$SNAP1" || fail "copy 1"
run init "$SCNFS" init --store "$STORE" || fail "scnfs init: $LAST_ERR"
run backup1 "$SCNFS" backup --store "$STORE" --db pg "$PGDATA" || fail "backup 1: $LAST_ERR"
pg_start "$PGDATA" start2 || fail "start: $LAST_ERR"
run pgbench-run as_pg "$PGBIN/pgbench" -n -c 2 -t 300 -h "$SOCK" -p "$PORT" postgres || fail "pgbench: $LAST_ERR"
pg_stop "$PGDATA" stop2 || fail "stop: $LAST_ERR"
cp -a "$PGDATA" "$SNAP2" || fail "copy 2"
run backup2 "$SCNFS" backup --store "$STORE" --db pg "$PGDATA" || fail "backup 2: $LAST_ERR"
pass "cluster, backup 1, 600 pgbench transactions, backup 2 ($(elapsed "$t")s)"

# 2. Two clones of two backups, created in well under a second each.
t=$(date +%s.%N)
run clone1 "$SCNFS" clone create --store "$STORE" --db pg --at backup:1 c1 || fail "clone create c1: $LAST_ERR"
run clone2 "$SCNFS" clone create --store "$STORE" --db pg --at backup:2 c2 || fail "clone create c2: $LAST_ERR"
run clone-dup "$SCNFS" clone create --store "$STORE" --db pg --at backup:2 c2 && fail "a second clone named c2 was created"
grep -q "already exists" "$LOGS/clone-dup.log" || fail "duplicate clone name: unexpected message: $(cat "$LOGS/clone-dup.log")"
run clone-bad "$SCNFS" clone create --store "$STORE" --db nope --at latest c3 && fail "a clone of an unknown database was created"
pass "clones c1 (backup 1) and c2 (backup 2) created; a taken name and an unknown database are refused ($(elapsed "$t")s)"

# 3. Both clones run at once, each with its own backup's data; pgbench writes on c2; pg_amcheck passes.
t=$(date +%s.%N)
mount_store 1 || fail "scnfs mount: $LAST_ERR"
C1="$MNT/pg/clones/c1"
C2="$MNT/pg/clones/c2"
[[ "$(stat -c '%U %a' "$C1")" == "postgres 700" ]] || fail "clone root is $(stat -c '%U %a' "$C1"), expected postgres 700"
pg_start "$C1" c1-start "$PORT" || fail "PostgreSQL on clone c1: $LAST_ERR"
pg_start "$C2" c2-start "$PORT2" || fail "PostgreSQL on clone c2: $LAST_ERR"
h1=$(psql_q "select count(*) from pgbench_history" "$PORT") || fail "query on c1"
h2=$(psql_q "select count(*) from pgbench_history" "$PORT2") || fail "query on c2"
[[ "$h1" == 0 && "$h2" == 600 ]] || fail "history rows: c1 $h1 (expected 0), c2 $h2 (expected 600)"
run c2-pgbench as_pg "$PGBIN/pgbench" -n -c 2 -t 200 -h "$SOCK" -p "$PORT2" postgres || fail "pgbench on c2: $LAST_ERR"
h2=$(psql_q "select count(*) from pgbench_history" "$PORT2")
[[ "$h2" == 1000 ]] || fail "c2 after pgbench: $h2 history rows, expected 1000"
run c2-amcheck as_pg "$PGBIN/pg_amcheck" -h "$SOCK" -p "$PORT2" --install-missing --heapallindexed postgres || fail "pg_amcheck on c2: $LAST_ERR"
run destroy-busy "$SCNFS" clone destroy --store "$STORE" c2 && fail "a clone in use was destroyed"
grep -q "in use" "$LOGS/destroy-busy.log" || fail "destroy of a busy clone: unexpected message: $(cat "$LOGS/destroy-busy.log")"
pg_stop "$C1" c1-stop || fail "stop c1: $LAST_ERR"
pg_stop "$C2" c2-stop || fail "stop c2: $LAST_ERR"
pass "c1 and c2 ran at once: 0 and 600 history rows; pgbench on c2 -> 1000; pg_amcheck passes; destroy of a busy clone refused ($(elapsed "$t")s)"

# 4. Crash: SIGKILL the mount while pgbench writes on c1, remount, PostgreSQL recovers on the clone.
t=$(date +%s.%N)
pg_start "$C1" c1-start2 "$PORT" || fail "restart on c1: $LAST_ERR"
as_pg "$PGBIN/pgbench" -n -c 2 -T 30 -h "$SOCK" -p "$PORT" postgres >"$LOGS/c1-crash-pgbench.log" 2>&1 &
PGB=$!
PM=$(head -n 1 "$C1/postmaster.pid")
sleep 4
kill -9 "$(mount_pid 1)" || fail "cannot kill the mount"
wait "$PGB" 2>/dev/null
# The server lost its files: kill what is left of it (as a crash of the host would), then clear the dead mount.
pkill -9 -P "$PM" 2>/dev/null
kill -9 "$PM" 2>/dev/null
for _ in $(seq 100); do kill -0 "$PM" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PM" 2>/dev/null && fail "the server on the killed mount (pid $PM) did not exit"
run umount-dead "$SCNFS" umount "$MNT" || fail "scnfs umount of the killed mount: $LAST_ERR"
mount_store 2 || fail "remount: $LAST_ERR"
rm -f "$C1/postmaster.pid"
pg_start "$C1" c1-recover "$PORT" || fail "PostgreSQL did not recover on c1: $LAST_ERR"
grep -q "database system was interrupted\|redo done\|crash recovery" "$LOGS/c1-recover.server.log" ||
  fail "no crash recovery in the server log: $(tail -n 2 "$LOGS/c1-recover.server.log" | tr '\n' ' ')"
run c1-amcheck as_pg "$PGBIN/pg_amcheck" -h "$SOCK" -p "$PORT" --install-missing --heapallindexed postgres || fail "pg_amcheck on c1 after recovery: $LAST_ERR"
n=$(psql_q "select count(*) from pgbench_accounts" "$PORT")
[[ "$n" == 500000 ]] || fail "c1 after recovery: $n accounts, expected 500000"
pg_stop "$C1" c1-stop2 || fail "stop c1: $LAST_ERR"
pass "mount killed during pgbench on c1; after remount PostgreSQL recovered and pg_amcheck passes ($(elapsed "$t")s)"

# 5. The backups never changed: both restore byte-identically and verify is clean; destroy returns the space.
t=$(date +%s.%N)
run umount2 "$SCNFS" umount "$MNT" || fail "umount: $LAST_ERR"
run restore1 "$SCNFS" restore --store "$STORE" --db pg --at backup:1 "$R1" || fail "restore 1: $LAST_ERR"
run restore2 "$SCNFS" restore --store "$STORE" --db pg --at backup:2 "$R2" || fail "restore 2: $LAST_ERR"
same_tree "$SNAP1" "$R1" "restore of backup 1" || fail "$LAST_ERR"
same_tree "$SNAP2" "$R2" "restore of backup 2" || fail "$LAST_ERR"
run verify "$SCNFS" verify --store "$STORE" --db pg --at backup:1 || fail "verify backup 1: $LAST_ERR"
run verify2 "$SCNFS" verify --store "$STORE" --db pg --at backup:2 || fail "verify backup 2: $LAST_ERR"
before=$(du -sb "$STORE/clones" | cut -f1)
run destroy1 "$SCNFS" clone destroy --store "$STORE" c1 || fail "destroy c1: $LAST_ERR"
run destroy2 "$SCNFS" clone destroy --store "$STORE" c2 || fail "destroy c2: $LAST_ERR"
after=$(du -sb "$STORE/clones" | cut -f1)
[[ $after -lt 8192 ]] || fail "clones directory still holds $after bytes after both clones were destroyed"
run list "$SCNFS" clone list --store "$STORE" || fail "clone list: $LAST_ERR"
grep -q "no clones" "$LOGS/list.log" || fail "clone list after destroy: $(cat "$LOGS/list.log")"
pass "backups 1 and 2 restore byte-identically and verify clean; destroy returned $before bytes ($(elapsed "$t")s)"

summary_line
exit 0
