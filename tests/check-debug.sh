#!/bin/sh
# make check-debug: the guest suite, and churn on two vCPUs, on the debug
# kernel (scripts/debug-kernel.sh: KASAN, kmemleak, lockdep, RCU and debug
# objects).  Any report fails the run (tests/guest/vm.py reads the kernel
# log; guest-main.sh forces a kmemleak scan at the end of each run).
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
started=$(date +%s)
set -- $(sh scripts/debug-kernel.sh)
tree=$1 release=$2
echo "== modules for $release (W=1)"
d=$PWD/build/kernel/$release
mkdir -p "$d"
cp -rsf "$PWD/kernel/." "$d/"
make -s -C "$tree/lib/modules/$release/build" M="$d" W=1 NF_PREFRAG_WERROR=y \
	NF_PREFRAG_VERSION="$(sh scripts/version.sh)" modules
sh tests/fuzz/make-packets.sh check 3000
sh tests/selftests/prepare.sh
echo "== kernel tests (guest, debug kernel)"
$PY tests/guest/vm.py --kernel-tree "$tree" --kernel "$release" --mem 3072 --timeout 7200 -- \
	$PY -m pytest -v --color=no --tb=short -p no:cacheprovider tests/kernel
echo "== churn under load (debug kernel, two vCPUs)"
$PY tests/guest/vm.py --kernel-tree "$tree" --kernel "$release" --mem 3072 --cpus 2 --timeout 3600 -- \
	$PY -m pytest -v --color=no --tb=short -p no:cacheprovider tests/kernel/test_churn.py
echo "check-debug: passed in $(( ($(date +%s) - started) / 60 )) min"
