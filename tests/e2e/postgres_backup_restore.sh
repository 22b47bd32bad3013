#!/usr/bin/env bash
# End-to-end test of scnfs against a real PostgreSQL 15 cluster.
#
#   bash tests/e2e/postgres_backup_restore.sh /path/to/scnfs
#
# Builds a small pgbench cluster with data checksums, takes a full backup, runs a workload, takes an
# incremental backup, restores both points (and latest) and checks that every restore is byte-identical to a
# copy of the data directory taken at backup time (content, owners, modes, sizes, mtimes), passes
# pg_checksums, starts, and holds the expected rows. Then verify and list --json are checked.
#
# Needs root (scnfs restores owners; PostgreSQL's tools run as the postgres user via runuser).
# Prints one line per check and ends with "e2e: N passed, M failed"; exit 0 only when all passed.
# Environment: PGBIN (default /usr/lib/postgresql/15/bin), E2E_KEEP=1 keeps the work directory.

source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

echo "e2e: scnfs=$SCNFS work=$WORK port=$PORT"

# 1. A small pgbench cluster with data checksums, then stopped.
t=$(date +%s.%N)
mkdir -p "$PGDATA" && chown postgres: "$PGDATA" && chmod 700 "$PGDATA" || fail "cannot create $PGDATA"
run initdb as_pg "$PGBIN/initdb" --data-checksums -A trust -U postgres -D "$PGDATA" || fail "initdb: $LAST_ERR"
pg_start "$PGDATA" start1 || fail "start of the new cluster: $LAST_ERR"
run pgbench-init as_pg "$PGBIN/pgbench" -i -s 5 -h "$SOCK" -p "$PORT" postgres || fail "pgbench -i: $LAST_ERR"
pg_stop "$PGDATA" stop1 || fail "stop #1: $LAST_ERR"
cp -a "$PGDATA" "$SNAP1" || fail "snapshot copy 1"
T_CLUSTER=$(elapsed "$t")
pass "cluster created with checksums, pgbench -i -s 5, stopped (${T_CLUSTER}s)"

# 2. Full backup.
t=$(date +%s.%N)
run init "$SCNFS" init --store "$STORE" || fail "scnfs init: $LAST_ERR"
run backup1 "$SCNFS" backup --store "$STORE" --db pg --json "$PGDATA" || fail "scnfs backup 1: $LAST_ERR"
T_BACKUP1=$(elapsed "$t")
B1="$LOGS/backup1.log"
json_eval "$B1" 'j["id"]' >/dev/null || fail "backup 1 --json output is not JSON: $(head -c 200 "$B1")"
kind1=$(json_eval "$B1" 'j["kind"]')
[[ "$kind1" == full ]] || fail "backup 1 kind is '$kind1', expected full"
B1_FIG=$(json_eval "$B1" '"id=%s blocks_read=%s blocks_changed=%s new_bytes_stored=%s" % (j["id"], j["blocks_read"], j["blocks_changed"], j["new_bytes_stored"])')
pass "backup 1 is full: $B1_FIG (${T_BACKUP1}s)"

# 3. Workload, stop, incremental backup.
t=$(date +%s.%N)
pg_start "$PGDATA" start2 || fail "start for the workload: $LAST_ERR"
run pgbench-run as_pg "$PGBIN/pgbench" -n -c 2 -t 500 -h "$SOCK" -p "$PORT" postgres || fail "pgbench workload: $LAST_ERR"
TPS=$(grep -m1 -o 'tps = [0-9.]*' "$LOGS/pgbench-run.log" | cut -d' ' -f3)
pg_stop "$PGDATA" stop2 || fail "stop #2: $LAST_ERR"
cp -a "$PGDATA" "$SNAP2" || fail "snapshot copy 2"
T_WORKLOAD=$(elapsed "$t")
t=$(date +%s.%N)
run backup2 "$SCNFS" backup --store "$STORE" --db pg --json "$PGDATA" || fail "scnfs backup 2: $LAST_ERR"
T_BACKUP2=$(elapsed "$t")
B2="$LOGS/backup2.log"
kind2=$(json_eval "$B2" 'j["kind"]') || fail "backup 2 --json output is not JSON: $(head -c 200 "$B2")"
[[ "$kind2" == incremental ]] || fail "backup 2 kind is '$kind2', expected incremental"
read -r read2 changed2 < <(json_eval "$B2" '"%d %d" % (j["blocks_read"], j["blocks_changed"])') ||
  fail "backup 2 JSON lacks blocks_read/blocks_changed"
((changed2 > 0)) || fail "backup 2 stored no changed block (blocks_changed=$changed2) after a workload"
((changed2 * 2 < read2)) || fail "backup 2 is not incremental: blocks_changed=$changed2 >= blocks_read/2 ($read2/2)"
B2_FIG=$(json_eval "$B2" '"id=%s blocks_read=%s blocks_changed=%s new_bytes_stored=%s" % (j["id"], j["blocks_read"], j["blocks_changed"], j["new_bytes_stored"])')
pass "backup 2 is incremental after 1000 pgbench transactions: $B2_FIG (${T_BACKUP2}s)"

# 4. Restores. backup:1 and backup:2 go into empty directories prepared as a DBA would (postgres, 0700);
# latest goes into a new directory, whose owner, mode and mtime scnfs must then set itself (last check).
t=$(date +%s.%N)
mkdir "$R1" "$R2" && chown postgres: "$R1" "$R2" && chmod 700 "$R1" "$R2" || fail "cannot prepare $R1 and $R2"
run restore1 "$SCNFS" restore --store "$STORE" --db pg --at backup:1 "$R1" || fail "restore backup:1: $LAST_ERR"
run restore2 "$SCNFS" restore --store "$STORE" --db pg --at backup:2 "$R2" || fail "restore backup:2: $LAST_ERR"
run restore3 "$SCNFS" restore --store "$STORE" --db pg --at latest "$R3" || fail "restore latest: $LAST_ERR"
T_RESTORE=$(elapsed "$t")
pass "restored backup:1, backup:2 (into prepared empty directories) and latest (into a new one) (${T_RESTORE}s for three)"

# 5-6. Byte-identical to the snapshots, with owners, modes, sizes and mtimes.
t=$(date +%s.%N)
same_tree "$SNAP1" "$R1" "restore of backup 1 vs snapshot 1" || fail "$LAST_ERR"
pass "restore of backup 1 is identical to the data directory at backup 1 (content, owners, modes, mtimes)"
same_tree "$SNAP2" "$R2" "restore of backup 2 vs snapshot 2" || fail "$LAST_ERR"
same_tree "$R2" "$R3" "restore of latest vs restore of backup 2" || fail "$LAST_ERR"
T_COMPARE=$(elapsed "$t")
pass "restores of backup 2 and latest are identical to the data directory at backup 2 (${T_COMPARE}s for all compares)"

# 7. pg_checksums on the stopped restores.
for d in "$R1" "$R2"; do
  run "checksums-$(basename "$d")" as_pg "$PGBIN/pg_checksums" --check -D "$d" ||
    fail "pg_checksums --check on $(basename "$d"): $LAST_ERR"
done
pass "pg_checksums --check passes on both restores"

# 8-9. Start each restore and count rows.
t=$(date +%s.%N)
pg_start "$R1" start-r1 || fail "start of restore 1: $LAST_ERR"
acc=$(psql_q 'select count(*) from pgbench_accounts') || fail "query on restore 1 failed: $(tail -n 1 "$LOGS/psql.log")"
hist=$(psql_q 'select count(*) from pgbench_history') || fail "query on restore 1 failed: $(tail -n 1 "$LOGS/psql.log")"
pg_stop "$R1" stop-r1 || fail "stop of restore 1: $LAST_ERR"
[[ "$acc" == 500000 ]] || fail "restore 1: pgbench_accounts has $acc rows, expected 500000"
[[ "$hist" == 0 ]] || fail "restore 1: pgbench_history has $hist rows, expected 0 (before the workload)"
pass "restore 1 starts: 500000 accounts, 0 history rows"

pg_start "$R2" start-r2 || fail "start of restore 2: $LAST_ERR"
acc=$(psql_q 'select count(*) from pgbench_accounts') || fail "query on restore 2 failed: $(tail -n 1 "$LOGS/psql.log")"
hist=$(psql_q 'select count(*) from pgbench_history') || fail "query on restore 2 failed: $(tail -n 1 "$LOGS/psql.log")"
pg_stop "$R2" stop-r2 || fail "stop of restore 2: $LAST_ERR"
[[ "$acc" == 500000 ]] || fail "restore 2: pgbench_accounts has $acc rows, expected 500000"
[[ "$hist" =~ ^[0-9]+$ ]] && ((hist > 0)) || fail "restore 2: pgbench_history has '$hist' rows, expected > 0"
T_START_RESTORES=$(elapsed "$t")
pass "restore 2 starts: 500000 accounts, $hist history rows (${T_START_RESTORES}s for both starts)"

# 10. verify both backups in the store.
t=$(date +%s.%N)
for b in 1 2; do
  run "verify$b" "$SCNFS" verify --store "$STORE" --db pg --at "backup:$b" || fail "scnfs verify backup:$b: $LAST_ERR"
done
T_VERIFY=$(elapsed "$t")
pass "scnfs verify is clean for backup:1 and backup:2 (${T_VERIFY}s)"

# 11. list --json: two complete backups, full then incremental.
run list "$SCNFS" list --store "$STORE" --json || fail "scnfs list --json: $LAST_ERR"
L="$LOGS/list.log"
json_eval "$L" '0' >/dev/null || fail "scnfs list --json output does not parse: $(head -c 200 "$L")"
# An array of databases, each with its backups: expect database "pg" with [full, incremental], both complete.
got=$(json_eval "$L" '[[(b["id"], b["kind"], b["state"]) for b in d["backups"]] for d in j if d["name"] == "pg"]') ||
  fail "scnfs list --json: unexpected structure: $(head -c 300 "$L" | tr '\n' ' ')"
[[ "$got" == "[[(1, 'full', 'complete'), (2, 'incremental', 'complete')]]" ]] ||
  fail "scnfs list --json: backups of 'pg' are $got, expected 1 full and 2 incremental, both complete"
pass "scnfs list --json parses and shows 2 complete backups"

# 11b. Change numbers in PostgreSQL's own notation: `list` prints backup 1's range from pg_control's checkpoint
# location as pg_controldata writes it, and that LSN pasted into --at lsn: restores exactly the cold backup 1
# (docs/points-in-time.md: scn:C of a cold backup whose checkpoint is C; visibility-map pages that changed without
# their LSN in backup 2 must not leak into it).
CKPT1=$(as_pg "$PGBIN/pg_controldata" "$SNAP1" | sed -n 's/^Latest checkpoint location: *//p')
[[ "$CKPT1" =~ ^[0-9A-F]+/[0-9A-F]+$ ]] || fail "pg_controldata gave no checkpoint location for snapshot 1: '$CKPT1'"
run list-text "$SCNFS" list --store "$STORE" --db pg || fail "scnfs list --db pg: $LAST_ERR"
grep -q 'LSN RANGE' "$LOGS/list-text.log" || fail "scnfs list of a PostgreSQL database has no LSN RANGE column: $(head -n 2 "$LOGS/list-text.log" | tail -n 1)"
# A cold backup: every page's LSN is below the shutdown checkpoint, so the range is the checkpoint alone.
grep -Eq "^ +1 full .* $CKPT1 " "$LOGS/list-text.log" ||
  fail "scnfs list: backup 1's LSN range is not pg_control's checkpoint $CKPT1 alone: $(grep -E '^ +1 ' "$LOGS/list-text.log")"
R4="$WORK/r4"
run restore-lsn "$SCNFS" restore --store "$STORE" --db pg --at "lsn:$CKPT1" "$R4" || fail "restore --at lsn:$CKPT1: $LAST_ERR"
same_tree "$SNAP1" "$R4" "restore of lsn:$CKPT1 vs snapshot 1" || fail "$LAST_ERR"
rm -rf "$R4"
pass "list shows LSNs as PostgreSQL writes them; --at lsn:$CKPT1 (backup 1's checkpoint) restores exactly backup 1"

# 12. A restore into a new directory gives it the data directory's own owner, mode and mtime (PostgreSQL refuses
# to start on a data directory that is not owned by its user with mode 0700 or 0750).
want=$(root_meta "$SNAP2")
have=$(root_meta "$R3")
[[ "$want" == "$have" ]] ||
  fail "restore into a new directory: its root is '$have', the backed-up data directory's was '$want'"
pass "restore into a new directory sets the root directory's owner, mode and mtime ($have)"

# 13. The mount: each backup read through FUSE is the data directory as it was backed up (content, owners, modes,
# times), and pg_checksums, run as the postgres user, passes on the mounted cold backups.
mkdir -p "$MNT"
t=$(date +%s.%N)
run mount "$SCNFS" mount --store "$STORE" --allow-other "$MNT" || fail "scnfs mount: $LAST_ERR"
for b in 1 2; do
  snap=$SNAP1
  [[ $b == 2 ]] && snap=$SNAP2
  m="$MNT/pg/backups/$b"
  out=$(diff -r --no-dereference -x .scnfs-backup.json "$snap" "$m" 2>&1) ||
    fail "mounted backup $b differs from its data directory: $(printf '%s' "$out" | head -n 1)"
  out=$(diff <(listing "$snap") <(listing "$m" | grep -v '^\.scnfs-backup\.json|')) ||
    fail "mounted backup $b: owners/modes/sizes/mtimes differ: $(printf '%s\n' "$out" | grep -m 2 '^[<>]' | tr '\n' ' ')"
  [[ "$(root_meta "$snap")" == "$(root_meta "$m")" ]] ||
    fail "mounted backup $b: root is '$(root_meta "$m")', the data directory's was '$(root_meta "$snap")'"
  run "mount-checksums$b" as_pg "$PGBIN/pg_checksums" --check -D "$m" ||
    fail "pg_checksums --check on the mounted backup $b: $LAST_ERR"
done
[[ "$(readlink "$MNT/pg/latest")" == "backups/2" ]] || fail "mount: latest is '$(readlink "$MNT/pg/latest")', expected backups/2"
run umount "$SCNFS" umount "$MNT" || fail "scnfs umount: $LAST_ERR"
pass "mounted backups 1 and 2 equal their data directories, pg_checksums --check passes on them as postgres ($(elapsed "$t")s)"

# 14. A new timeline (what a point-in-time recovery leaves): started as a standby with no source and promoted, the
# cluster switches to timeline 2 with LSNs still rising, so no page goes back. Backup 3 records the new
# incarnation, and scn:/lsn: points below it, which would mix both timelines' pages, are refused.
t=$(date +%s.%N)
as_pg touch "$PGDATA/standby.signal" || fail "cannot create standby.signal"
pg_start "$PGDATA" start-standby || fail "start as a standby: $LAST_ERR"
run promote as_pg "$PGBIN/pg_ctl" promote -D "$PGDATA" -w -t 60 || fail "pg_ctl promote: $LAST_ERR"
run pgbench-tl2 as_pg "$PGBIN/pgbench" -n -c 1 -t 50 -h "$SOCK" -p "$PORT" postgres || fail "pgbench on timeline 2: $LAST_ERR"
pg_stop "$PGDATA" stop-tl2 || fail "stop on timeline 2: $LAST_ERR"
tl=$(as_pg "$PGBIN/pg_controldata" "$PGDATA" | sed -n "s/^Latest checkpoint's TimeLineID: *//p")
[[ "$tl" == 2 ]] || fail "after promote, pg_control's timeline is '$tl', expected 2"
run backup3 "$SCNFS" backup --store "$STORE" --db pg --json "$PGDATA" || fail "scnfs backup 3: $LAST_ERR"
inc=$(json_eval "$LOGS/backup3.log" '"%s|%s" % (j["new_incarnation"], j["went_back_blocks"])')
[[ "$inc" == "timeline 1 -> 2|0" ]] || fail "backup 3 after a timeline switch: new_incarnation|went_back_blocks is '$inc'"
if "$SCNFS" restore --store "$STORE" --db pg --at "lsn:$CKPT1" "$WORK/r5" >"$LOGS/restore-tl.log" 2>&1; then
  fail "restore --at lsn:$CKPT1 after the timeline switch succeeded; it mixes two timelines and must be refused"
fi
grep -q "new incarnation (timeline 1 -> 2)" "$LOGS/restore-tl.log" ||
  fail "restore --at lsn:$CKPT1 after the timeline switch: $(head -n 1 "$LOGS/restore-tl.log")"
run restore-b1-tl "$SCNFS" restore --store "$STORE" --db pg --at backup:1 "$WORK/r6" || fail "restore backup:1 after the switch: $LAST_ERR"
same_tree "$SNAP1" "$WORK/r6" "restore of backup 1 after the timeline switch" || fail "$LAST_ERR"
rm -rf "$WORK/r6"
pass "a timeline switch is recorded (timeline 1 -> 2); lsn: points before it are refused, backup:1 still restores exactly ($(elapsed "$t")s)"

# 15. A backup of the running cluster is marked hot: the backup's NOTE, `list` and the restore's warning say it is
# not consistent without its WAL (PostgreSQL would start on it without complaint).
t=$(date +%s.%N)
pg_start "$PGDATA" start-hot || fail "start for a hot backup: $LAST_ERR"
psql_q "create table hot_t as select g from generate_series(1, 1000) g" >/dev/null || fail "write before the hot backup"
WAL_BEFORE=$(psql_q "select pg_current_wal_lsn()") || fail "pg_current_wal_lsn before the hot backup"
run backup-hot "$SCNFS" backup --store "$STORE" --db pg --json "$PGDATA" || fail "scnfs backup of the running cluster: $LAST_ERR"
WAL_AFTER=$(psql_q "select pg_current_wal_lsn()") || fail "pg_current_wal_lsn after the hot backup"
pg_stop "$PGDATA" stop-hot || fail "stop after the hot backup: $LAST_ERR"
hot=$(json_eval "$LOGS/backup-hot.log" '"%s|%s" % (j["hot"], any("taken while the cluster ran" in n for n in j["notes"]))')
[[ "$hot" == "True|True" ]] || fail "backup of a running cluster: hot|noted is '$hot'"
# It stands where the WAL was once it was read: between the WAL's place before it and after it (an lsn: between two
# hot backups served the later one, with changes made after the point, when only the checkpoint placed them).
lsn_int() { local hi=${1%/*} lo=${1#*/}; echo $(( (16#$hi << 32) | 16#$lo )); }
MIN_RECOVERY=$(json_eval "$LOGS/backup-hot.log" 'j["min_recovery_lsn"]')
(( MIN_RECOVERY >= $(lsn_int "$WAL_BEFORE") && MIN_RECOVERY <= $(lsn_int "$WAL_AFTER") )) ||
  fail "hot backup's min_recovery_lsn $MIN_RECOVERY is not between pg_current_wal_lsn() before ($WAL_BEFORE) and after ($WAL_AFTER) it"
HOT_ID=$(json_eval "$LOGS/backup-hot.log" 'j["id"]')
run list-hot "$SCNFS" list --store "$STORE" --db pg || fail "list: $LAST_ERR"
grep -q "hot: taken while the cluster ran" "$LOGS/list-hot.log" || fail "list does not mark backup $HOT_ID hot"
run restore-hot "$SCNFS" restore --store "$STORE" --db pg --at "backup:$HOT_ID" "$WORK/r7" || fail "restore of the hot backup: $LAST_ERR"
grep -q "warning: backup $HOT_ID was taken while the cluster ran" "$LOGS/restore-hot.log" ||
  fail "the restore of a hot backup gave no warning: $(cat "$LOGS/restore-hot.log")"
# Without the running postmaster's lock file: with it, PostgreSQL refused to start beside its source.
[[ ! -e "$WORK/r7/postmaster.pid" ]] || fail "the restore of a hot backup holds postmaster.pid"
rm -rf "$WORK/r7"
run list-cold "$SCNFS" list --store "$STORE" --db pg --json || fail "list --json: $LAST_ERR"
cold=$(json_eval "$LOGS/list-cold.log" '[b["hot"] for b in j[0]["backups"]]')
[[ "$cold" == "[False, False, False, True]" ]] || fail "hot flags of backups 1-4: $cold"
pass "a backup of the running cluster is marked hot in its NOTE, in list and in its restore's warning, stands at its WAL end and leaves postmaster.pid out ($(elapsed "$t")s)"

# 16. Another cluster backed up under the same name (or one made anew by initdb or pg_upgrade) is a new line of
# changes: its pages must never mix with this one's at an scn:/lsn: point.
t=$(date +%s.%N)
OTHER="$WORK/other"
mkdir -p "$OTHER" && chown postgres: "$OTHER" && chmod 700 "$OTHER" || fail "cannot create $OTHER"
run initdb-other as_pg "$PGBIN/initdb" -A trust -U postgres -D "$OTHER" || fail "initdb of another cluster: $LAST_ERR"
run backup-other "$SCNFS" backup --store "$STORE" --db pg --json "$OTHER" || fail "backup of another cluster: $LAST_ERR"
inc=$(json_eval "$LOGS/backup-other.log" 'j["new_incarnation"]')
[[ "$inc" == "system identifier "*" -> "*"(another cluster"* ]] || fail "another cluster under the same name: new_incarnation '$inc'"
pass "another cluster under the same database name is a new incarnation: $inc ($(elapsed "$t")s)"

echo "--- summary"
echo "cluster (initdb, pgbench -i -s 5): ${T_CLUSTER}s; workload (1000 txns, ${TPS:-?} tps) + stop + copy: ${T_WORKLOAD}s"
echo "backup 1 (full):        ${T_BACKUP1}s  $B1_FIG"
echo "backup 2 (incremental): ${T_BACKUP2}s  $B2_FIG"
echo "restores: ${T_RESTORE}s  compares: ${T_COMPARE}s  starts: ${T_START_RESTORES}s  verify: ${T_VERIFY}s  total: $(elapsed "$T_START")s"
summary_line
exit 0
