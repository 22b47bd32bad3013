#!/usr/bin/env bash
# End-to-end test of a PostgreSQL 15 cluster whose WAL and a tablespace live outside the data directory.
#
#   bash tests/e2e/postgres_tablespaces.sh /path/to/scnfs
#
# initdb --waldir and CREATE TABLESPACE leave links in the data directory (pg_wal, pg_tblspc/<oid>). A backup takes
# what they point to with the cluster, and restores, mounts and clones hold it as directories in place: the
# restore has the tablespace's table, PostgreSQL starts and writes on it, and the production tablespace and WAL
# directories are untouched by that server. Then an incremental backup, the mount and a clone of it.
#
# Needs root. Prints one line per check and ends with "e2e: N passed, M failed"; exit 0 only when all passed.

source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

echo "e2e tablespaces: scnfs=$SCNFS work=$WORK port=$PORT"
TS="$WORK/ts"     # the tablespace, outside the data directory
WAL="$WORK/wal"   # the WAL directory (initdb --waldir)

# copy_cluster DEST: the data directory as a backup must hold it: the two links replaced by what they point to.
copy_cluster() {
  cp -a "$PGDATA" "$1" && rm "$1/pg_wal" "$1/pg_tblspc/$OID" && cp -a "$WAL" "$1/pg_wal" && cp -a "$TS" "$1/pg_tblspc/$OID" &&
    touch -h -r "$PGDATA/pg_tblspc" "$1/pg_tblspc" && touch -h -r "$PGDATA" "$1"  # the swap changed their mtimes
}

# 1. The cluster: WAL and a tablespace elsewhere, a table in the tablespace.
t=$(date +%s.%N)
mkdir -p "$PGDATA" "$TS" "$WAL" "$MNT" && chown postgres: "$PGDATA" "$TS" "$WAL" && chmod 700 "$PGDATA" "$TS" "$WAL" ||
  fail "cannot create $PGDATA"
run initdb as_pg "$PGBIN/initdb" --data-checksums -A trust -U postgres -D "$PGDATA" --waldir "$WAL" || fail "initdb: $LAST_ERR"
pg_start "$PGDATA" start1 || fail "start: $LAST_ERR"
psql_q "create tablespace ts1 location '$TS'" >/dev/null || fail "create tablespace: $(tail -n 1 "$LOGS/psql.log")"
psql_q "create table t tablespace ts1 as select g from generate_series(1, 50000) g" >/dev/null ||
  fail "create table: $(tail -n 1 "$LOGS/psql.log")"
OID=$(psql_q "select oid from pg_tablespace where spcname = 'ts1'") || fail "tablespace oid"
pg_stop "$PGDATA" stop1 || fail "stop: $LAST_ERR"
[[ -L "$PGDATA/pg_wal" && -L "$PGDATA/pg_tblspc/$OID" ]] || fail "initdb --waldir and CREATE TABLESPACE left no links"
copy_cluster "$SNAP1" || fail "copy 1"
pass "cluster with pg_wal -> $WAL and pg_tblspc/$OID -> $TS, 50000 rows in the tablespace ($(elapsed "$t")s)"

# 2. Backup: both links named in the report, the tablespace's relation files checked as pages.
run init "$SCNFS" init --store "$STORE" || fail "scnfs init: $LAST_ERR"
run backup1 "$SCNFS" backup --store "$STORE" --db pg --json "$PGDATA" || fail "backup 1: $LAST_ERR"
notes=$(json_eval "$LOGS/backup1.log" '" | ".join(j["notes"])')
[[ "$notes" == *"pg_wal is a link to $WAL"* && "$notes" == *"pg_tblspc/$OID is a link to $TS"* ]] ||
  fail "backup 1 does not name the two links: notes '$notes'"
pass "backup 1 takes the WAL and the tablespace with the cluster and says so"

# 3. The restore holds them as directories, byte for byte; PostgreSQL starts and writes on it, and the live
# tablespace and WAL directories do not change.
t=$(date +%s.%N)
cp -a "$TS" "$WORK/ts.before" && cp -a "$WAL" "$WORK/wal.before" || fail "copies of the live directories"
run restore1 "$SCNFS" restore --store "$STORE" --db pg --at backup:1 "$R1" || fail "restore 1: $LAST_ERR"
[[ -d "$R1/pg_wal" && ! -L "$R1/pg_wal" && -d "$R1/pg_tblspc/$OID" && ! -L "$R1/pg_tblspc/$OID" ]] ||
  fail "the restore holds links, not directories: $(ls -l "$R1/pg_wal" "$R1/pg_tblspc" 2>&1 | tr '\n' ' ')"
same_tree "$SNAP1" "$R1" "restore of backup 1" || fail "$LAST_ERR"
run checksums-r1 as_pg "$PGBIN/pg_checksums" --check -D "$R1" || fail "pg_checksums on restore 1: $LAST_ERR"
pg_start "$R1" start-r1 || fail "start on restore 1: $LAST_ERR"
n=$(psql_q "select count(*) from t") || fail "query on restore 1: $(tail -n 1 "$LOGS/psql.log")"
[[ "$n" == 50000 ]] || fail "restore 1: t has $n rows, expected 50000"
psql_q "insert into t select g from generate_series(1, 20000) g; checkpoint" >/dev/null || fail "insert on restore 1"
pg_stop "$R1" stop-r1 || fail "stop restore 1: $LAST_ERR"
same_tree "$WORK/ts.before" "$TS" "the live tablespace after a server ran on the restore" || fail "$LAST_ERR"
same_tree "$WORK/wal.before" "$WAL" "the live WAL directory after a server ran on the restore" || fail "$LAST_ERR"
pass "restore 1 has both as directories, identical; PostgreSQL ran and wrote on it, the live ones unchanged ($(elapsed "$t")s)"

# 4. An incremental backup after writes into the tablespace restores exactly too.
t=$(date +%s.%N)
pg_start "$PGDATA" start2 || fail "start: $LAST_ERR"
psql_q "update t set g = -g where g % 10 = 0" >/dev/null || fail "update: $(tail -n 1 "$LOGS/psql.log")"
pg_stop "$PGDATA" stop2 || fail "stop: $LAST_ERR"
copy_cluster "$SNAP2" || fail "copy 2"
run backup2 "$SCNFS" backup --store "$STORE" --db pg --json "$PGDATA" || fail "backup 2: $LAST_ERR"
[[ "$(json_eval "$LOGS/backup2.log" 'j["kind"]')" == incremental ]] || fail "backup 2 is not incremental"
run restore2 "$SCNFS" restore --store "$STORE" --db pg --at backup:2 "$R2" || fail "restore 2: $LAST_ERR"
same_tree "$SNAP2" "$R2" "restore of backup 2" || fail "$LAST_ERR"
run verify2 "$SCNFS" verify --store "$STORE" --db pg --at backup:2 || fail "verify backup 2: $LAST_ERR"
pass "incremental backup 2 after an update in the tablespace restores identically and verifies clean ($(elapsed "$t")s)"

# 5. The mount shows the same directories, and a clone of backup 2 runs PostgreSQL with the tablespace's rows.
t=$(date +%s.%N)
run mount "$SCNFS" mount --store "$STORE" --allow-other "$MNT" || fail "scnfs mount: $LAST_ERR"
out=$(diff -r --no-dereference -x .scnfs-backup.json "$SNAP2" "$MNT/pg/backups/2" 2>&1) ||
  fail "mounted backup 2 differs from its data directory: $(printf '%s' "$out" | head -n 1)"
run mount-checksums as_pg "$PGBIN/pg_checksums" --check -D "$MNT/pg/backups/2" || fail "pg_checksums on the mount: $LAST_ERR"
run clone "$SCNFS" clone create --store "$STORE" --db pg --at backup:2 c1 || fail "clone create: $LAST_ERR"
C1="$MNT/pg/clones/c1"
pg_start "$C1" start-c1 || fail "PostgreSQL on the clone: $LAST_ERR"
n=$(psql_q "select count(*) from t where g < 0") || fail "query on the clone: $(tail -n 1 "$LOGS/psql.log")"
[[ "$n" == 5000 ]] || fail "clone: $n updated rows, expected 5000"
pg_stop "$C1" stop-c1 || fail "stop on the clone: $LAST_ERR"
run umount "$SCNFS" umount "$MNT" || fail "umount: $LAST_ERR"
run destroy "$SCNFS" clone destroy --store "$STORE" c1 || fail "clone destroy: $LAST_ERR"
same_tree "$SNAP2/pg_tblspc/$OID" "$TS" "the live tablespace after a server ran on the clone" || fail "$LAST_ERR"
pass "mounted backup 2 is identical and passes pg_checksums; PostgreSQL runs on a clone of it with the tablespace ($(elapsed "$t")s)"

summary_line
exit 0
