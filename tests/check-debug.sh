#!/bin/sh
# make check-debug: the guest suite, and churn on two vCPUs, on the debug
# kernel (scripts/debug-kernel.sh: KASAN, kmemleak, lockdep, RCU and debug
# objects).  Any report fails the run (tests/guest/vm.py reads the kernel
# log; guest-main.sh forces a kmemleak scan at the end of each run).  Under
# KASAN and lockdep the suite is several times slower: it is split over
# two guests side by side, one per core.
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
# The tests' timeouts and pacing stretch by this factor (tests/lib/nettest.py).
export NF_PREFRAG_TIME_SCALE=${NF_PREFRAG_TIME_SCALE:-4}
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

guest() {
	$PY tests/guest/vm.py --kernel-tree "$tree" --kernel "$release" --mem 3072 "$@"
}
logs=build/check-debug
mkdir -p "$logs"
# Every other test file to each guest (the runs_last ones keep their order
# within their guest).
files=$(ls tests/kernel/test_*.py | grep -v test_churn.py)
half1=$(echo "$files" | awk 'NR % 2 == 1')
half2=$(echo "$files" | awk 'NR % 2 == 0')
echo "== kernel tests (two guests, debug kernel; logs in $logs)"
pids=""
for half in 1 2; do
	eval "set -- \$half$half"
	guest --timeout 10800 -- $PY -m pytest -v --color=no --tb=short -p no:cacheprovider "$@" \
		>"$logs/suite$half.log" 2>&1 &
	pids="$pids $!"
done
failed=0
for pid in $pids; do
	wait "$pid" || failed=1
done
for half in 1 2; do
	echo "-- guest $half:"
	grep -a -E '^(FAILED|ERROR)|passed|failed|^vm:' "$logs/suite$half.log" || true
done
[ "$failed" = 0 ] || { echo "check-debug: failed; see $logs/suite[12].log" >&2; exit 1; }

echo "== churn under load (debug kernel, two vCPUs)"
guest --cpus 2 --timeout 5400 -- \
	$PY -m pytest -v --color=no --tb=short -p no:cacheprovider tests/kernel/test_churn.py
echo "check-debug: passed in $(( ($(date +%s) - started) / 60 )) min"
