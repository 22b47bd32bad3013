#!/usr/bin/env bash
# scnfs mount: time to the first byte of a file against the number of files in the backup, and against the number
# of backups of the database (issue 3: "the first byte of any file in under 10 ms, whatever the store holds").
#
# Usage: bench/file_count_bench.sh [--quick] [--backups]
#
#   --quick     backups of 1, 2,000 and 20,000 files only (about 1 minute); default adds 100,000 (about 4 minutes)
#   --backups   instead: a database of 1, 1,000 and 3,000 backups of one 1 KiB file (--quick: 1 and 1,000), each
#               backup a separate `scnfs backup` process (about 6 minutes; 2 with --quick)
#
# Files: each backup is a raw-format backup of a directory tree of 1 KiB files, 100 per directory (two levels:
# d<i>/f<j>), the shape of a PostgreSQL data directory's base/<oid>/ at its largest. For each: a fresh `scnfs mount`
# of a store holding only that backup, page cache dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`, needs root),
# then in one Python process: stat of the backup's directory, then open + read of the first byte of a file in the
# middle of the tree (path lookups included), each timed; then the same for a second file in another directory
# (warm mount, cold page). Three rounds per size, median printed. The baseline, measured in the same run, is the
# 1-file backup: the ratio column says how much slower a backup of N files is to serve its first byte.
#
# Backups: the same measures on the newest backup of one database as it grows (the backups before it are of the
# same file, changed each time), the first lookup in the database included: a mount reads the database's backup
# records before it answers it. The baseline is the database of one backup.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
SCNFS=${SCNFS:-$here/build/scnfs}
quick=0 by_backups=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    --backups) by_backups=1 ;;
    *) echo "file_count_bench: unknown option $arg (see the head of $0)" >&2; exit 2 ;;
  esac
done
[[ $(id -u) == 0 ]] || { echo "file_count_bench: needs root (drop_caches)" >&2; exit 1; }
[[ -x $SCNFS ]] || { echo "file_count_bench: no $SCNFS; build first (tools/setup.sh)" >&2; exit 1; }
sizes=(1 2000 20000)
((quick)) || sizes+=(100000)

work=$(mktemp -d /var/tmp/scnfs-file-count.XXXXXX)
cleanup() {
  for m in "$work"/mnt*; do [[ -d $m ]] && grep -q " $m " /proc/mounts && "$SCNFS" umount "$m" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

make_tree() {  # DIR FILES
  python3 - "$1" "$2" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
blob = os.urandom(1024)
for i in range(n):
    d = os.path.join(root, f"d{i // 100:04}")
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i % 100:03}.dat"), "wb") as f:
        f.write(blob)
PY
}

measure() {  # MOUNTPOINT FILES BACKUP -> "dir_ms first_ms second_ms"
  python3 - "$1" "$2" "$3" <<'PY'
import os, sys, time
mnt, n, backup = sys.argv[1], int(sys.argv[2]), sys.argv[3]
base = os.path.join(mnt, "db", "backups", backup)
mid, other = n // 2, max(0, n // 2 - 150)
path = lambda i: os.path.join(base, f"d{i // 100:04}", f"f{i % 100:03}.dat")
t0 = time.perf_counter(); os.stat(base); t1 = time.perf_counter()
fd = os.open(path(mid), os.O_RDONLY); assert os.read(fd, 1); os.close(fd); t2 = time.perf_counter()
fd = os.open(path(other), os.O_RDONLY); assert os.read(fd, 1); os.close(fd); t3 = time.perf_counter()
print(f"{(t1 - t0) * 1e3:.2f} {(t2 - t1) * 1e3:.2f} {(t3 - t2) * 1e3:.2f}")
PY
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

backup() {  # STORE SRC -> seconds taken
  local t0=$EPOCHREALTIME
  "$SCNFS" backup --store "$1" --db db --format raw "$2" >/dev/null
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f s", b - a}'
}

base_first=""
row() {  # LABEL BACKUP_TIME STORE FILES BACKUP_ID: three fresh mounts, a row of medians
  local mnt=$work/mnt dirs=() firsts=() seconds=() d f s
  mkdir -p "$mnt"
  for round in 1 2 3; do
    "$SCNFS" mount --store "$3" "$mnt" >/dev/null
    sync; echo 3 >/proc/sys/vm/drop_caches
    read -r d f s < <(measure "$mnt" "$4" "$5")
    "$SCNFS" umount "$mnt" >/dev/null
    dirs+=("$d") firsts+=("$f") seconds+=("$s")
  done
  d=$(median "${dirs[@]}") f=$(median "${firsts[@]}") s=$(median "${seconds[@]}")
  [[ -n $base_first ]] || base_first=$f
  local ratio target
  ratio=$(awk -v a="$f" -v b="$base_first" 'BEGIN {printf "%.2fx", a / b}')
  target=$(awk -v a="$f" 'BEGIN {print (a < 10) ? "< 10 ms: yes" : "< 10 ms: NO"}')
  printf '%-10s %-10s %-16s %-16s %-16s %-10s %s\n' "$1" "$2" "$d" "$f" "$target" "$ratio" "$s"
  last_rounds="${dirs[*]} / ${firsts[*]} / ${seconds[*]}"
}

echo "scnfs file-count bench: $(date -Is), $(nproc) cores, $("$SCNFS" --version 2>/dev/null || echo scnfs)"
echo "page cache dropped before each round; fresh mount each round; median of 3 rounds; ms"
echo "first byte = lookups of the path + open + read of 1 byte; another file = the same, then, in another directory"
if ((by_backups)); then
  # 200 files (two directories), one of them changed before each backup; the newest backup is measured.
  counts=(1 1000)
  ((quick)) || counts+=(3000)
  src=$work/src store=$work/store
  make_tree "$src" 200
  "$SCNFS" init --store "$store" >/dev/null
  printf '%-10s %-10s %-16s %-16s %-16s %-10s %s\n' backups "last one" "stat newest" "first byte" "target" "vs 1" "another file"
  made=0
  for n in "${counts[@]}"; do
    while ((made < n)); do
      printf '%08d' "$made" | dd of="$src/d0000/f000.dat" conv=notrunc status=none
      took=$(backup "$store" "$src")
      made=$((made + 1))
    done
    row "$n" "$took" "$store" 200 "$n"
  done
else
  printf '%-10s %-10s %-16s %-16s %-16s %-10s %s\n' files backup "stat backup dir" "first byte" "target" "vs 1 file" "another file"
  for n in "${sizes[@]}"; do
    src=$work/src-$n store=$work/store-$n
    make_tree "$src" "$n"
    "$SCNFS" init --store "$store" >/dev/null
    took=$(backup "$store" "$src")
    row "$n" "$took" "$store" "$n" 1
    rm -rf "$src" "$store"
  done
fi
echo "rounds (stat / first byte / another file), last row: $last_rounds"
