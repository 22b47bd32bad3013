#!/usr/bin/env bash
# Installs what scnfs needs from Debian's archive (only what is missing) and builds it into build/.
#   tools/setup.sh            build and test dependencies, then build
#   tools/setup.sh --bench    also the peers the benchmark compares against (restic, borg, fio)
set -euo pipefail
cd "$(dirname "$0")/.."

# postgresql-15 also provides the contrib modules and pg_checksums. A virtual package listed here (such as
# postgresql-contrib-15) never shows as installed, and would make every run call apt-get, network and all.
packages=(build-essential cmake ninja-build pkg-config git
          librocksdb-dev libzstd-dev libxxhash-dev libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev
          libfuse3-dev libpq-dev fuse3 postgresql-15 python3 util-linux strace tzdata)
# borg mount needs a FUSE binding, which is only a Recommends of borgbackup (and recommends are not installed).
if [[ "${1:-}" == "--bench" ]]; then packages+=(restic borgbackup python3-pyfuse3 fio zstd jq); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's postgresql package creates and starts a default cluster; the tests run their own servers.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters -h 2>/dev/null | awk '$4=="online"{print $1, $2}' | while read -r v c; do pg_ctlcluster "$v" "$c" stop || true; done
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build
