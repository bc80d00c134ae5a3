#!/bin/sh
# make check-debug: the guest suite, and churn on two vCPUs, on the debug
# kernel (scripts/debug-kernel.sh: KASAN, kmemleak, lockdep, RCU and debug
# objects).  Any report fails the run (tests/guest/vm.py reads the kernel
# log; guest-main.sh forces a kmemleak scan at the end of each run).  Under
# KASAN and lockdep the suite is several times slower: it is split over
# two chains of guests side by side, one per core.
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
make -s canary KVERS="$release" KDIR="$tree/lib/modules/$release/build"
sh tests/fuzz/make-packets.sh check 3000
sh tests/selftests/prepare.sh

# no5lvl: QEMU's "-cpu max" offers 5-level paging, and 6.1's identify_cpu()
# clears the CPU's feature bits, LA57 among them, before it reads them
# again.  An interrupt in that window made KASAN take the lock of its irq
# descriptor (a 5-level address) for a wild access and panic the guest at
# boot (measured once, arch/x86/kernel/cpu/common.c and mm/kasan/kasan.h's
# addr_has_metadata()).  With 4-level paging every address stays valid.
guest() {
	$PY tests/guest/vm.py --kernel-tree "$tree" --kernel "$release" --mem 3072 \
		--append no5lvl "$@"
}
logs=build/check-debug
mkdir -p "$logs"
# First, that the harness sees what this kernel reports: every canary
# fault (lockdep, PROVE_RCU and kmemleak among them) must fail its run.
echo "== the harness sees kernel reports (canary faults on $release)"
NF_PREFRAG_CANARY_KERNEL_TREE=$tree NF_PREFRAG_CANARY_KERNEL=$release \
	$PY -m pytest -v --color=no --tb=short -p no:cacheprovider --no-skips tests/canary
export NF_PREFRAG_SELFTESTS=with-ours-only
# Churn: 25 cycles, not 100 (each kind of churn still happens): with three
# TCP flows on two vCPUs under KASAN, 100 cycles had not finished after
# 48 minutes.
export NF_PREFRAG_CHURN_CYCLES=25
# ...and its flows paced to 16 KiB/s each: unpaced, they kept both vCPUs in
# softirq under KASAN, and a rules flush waited past its 480 s for RCU
# grace periods (stacks in the guest's dmesg; no report, no code of ours).
export NF_PREFRAG_CHURN_RATE=16384
# Two chains side by side, one per core, of about the same length: the IKE,
# nft, TCP and route-based files and IPv6, then churn on two vCPUs (112
# tests in 85 min under KASAN, churn 8 min); and every other file (a new
# one lands here), the iptables harness (21 min) and the selftests (10 min)
# among them (97 tests in 79 min).  With the canaries (20 min) the whole
# run took 119 min on 2 cores.  runs_last files keep their order within
# their guest.
chain2_files=" test_ike_strongswan test_nft_shapes test_prefrag_tcp_segment"
chain2_files="$chain2_files test_reject test_route_based test_ipv6_underlay"
chain2_files="$chain2_files test_prefrag_ipv6 test_updown test_doctor "
files1="" files2=""
for f in tests/kernel/test_*.py; do
	name=$(basename "$f" .py)
	# churn: its own guest; libreswan: make check's root of its own.
	case $name in test_churn | test_ike_libreswan) continue ;; esac
	case "$chain2_files" in
	*" $name "*) files2="$files2 $f" ;;
	*) files1="$files1 $f" ;;
	esac
done
pytest="$PY -m pytest -v --color=no --tb=short -p no:cacheprovider --durations=0 --no-skips"
echo "== kernel tests and churn (two chains of debug guests; logs in $logs)"
guest --timeout 10800 -- $pytest $files1 >"$logs/suite1.log" 2>&1 &
chain1_pid=$!
# Churn runs whatever suite 2 gave: one run shows every failure.
{
	status=0
	guest --timeout 10800 -- $pytest $files2 >"$logs/suite2.log" 2>&1 || status=1
	guest --cpus 2 --timeout 10800 -- $pytest tests/kernel/test_churn.py \
		>"$logs/churn.log" 2>&1 || status=1
	exit $status
} &
chain2_pid=$!
failed=0
wait "$chain1_pid" || failed=1
wait "$chain2_pid" || failed=1
for log in suite1 suite2 churn; do
	echo "-- $log:"
	# pytest's verdicts and vm.py's, not any line that says "failed": the
	# debug guests' boot logs two "ACPI Error: ... _PRT ... failed" lines
	# (QEMU's PCI interrupt routing method, interpreted under KASAN, runs
	# past ACPI's 30 s loop limit; virtio uses MSI-X and does not need it).
	grep -a -E '^(FAILED|ERROR)|^=+ .*(passed|failed|error|no tests ran)|^vm:' \
		"$logs/$log.log" 2>/dev/null || true
done
[ "$failed" = 0 ] || { echo "check-debug: failed; see $logs/*.log" >&2; exit 1; }
echo "check-debug: passed in $(( ($(date +%s) - started) / 60 )) min"
