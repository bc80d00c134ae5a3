#!/bin/sh
# The test suite: `make check` or `sh tests/run-tests.sh`.
#  1. build modules (every installed kernel, W=1, warnings are errors) and plugins
#  2. checkpatch on the kernel sources; a DKMS build for every kernel; the
#     Debian packages
#  3. userspace tests on this machine (plugins: options, errors, translation);
#     the harness's canaries: each kind of kernel report fails a guest run
#  4. the kernel suite in a QEMU guest booting Debian's 6.1 kernel: real
#     modules, real packets through namespaced IPsec gateways (fuzz packets
#     built here first); then churn under load in a guest with two vCPUs
#  5. libreswan: its tests in a Debian 12 root of its own (Debian's
#     libreswan conflicts with strongSwan), on 6.1 and 6.12
#     (tests/run-libreswan.sh)
#  6. first contact: a fresh debootstrap'ed Debian 12 where the README's
#     commands run as written, and our packages are installed, upgraded,
#     removed, and booted in the guest on 6.1 and 6.12 (tests/distro/)
# Set NF_PREFRAG_KERNEL=<release> to boot another installed kernel,
# NF_PREFRAG_ROOT=trixie to run it all on Debian 13 (tests/run-in-root.sh);
# NF_PREFRAG_LIBRESWAN=0 skips step 5, NF_PREFRAG_FIRST_CONTACT=0 step 6 (it
# takes a quarter of an hour).
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
# Another Debian release: its own root, its own packages (tests/run-in-root.sh).
root=${NF_PREFRAG_ROOT:-}
if [ -n "$root" ] && [ "$root" != "$(. /etc/os-release && echo "$VERSION_CODENAME")" ]; then
	exec sh tests/run-in-root.sh "$root"
fi

echo "== build"
make -s all test-tools canary 2>&1 | grep -v 'Skipping BTF generation' || true
[ -e build/libxt/libxt_PREFRAG.so ] && [ -x build/nft/nft-prefrag ] && [ -x build/doctor/nf-prefrag ] &&
	[ -x build/tests/xt-bad-blob ] ||
	{ echo "build failed" >&2; exit 1; }
# Every kernel with headers, installed or unpacked by set-up into its cache.
for k in /lib/modules/*/build /var/tmp/nf-prefrag/kernels/lib/modules/*/build; do
	[ -e "$k" ] || continue
	v=$(basename "$(dirname "$k")")
	[ -e "build/kernel/$v/xt_PREFRAG.ko" ] || { echo "modules for $v did not build" >&2; exit 1; }
done

echo "== checkpatch"
sh scripts/checkpatch.sh

echo "== dkms"
sh scripts/dkms-check.sh

echo "== packages"
make -s lint

echo "== userspace tests (host)"
$PY -m pytest -q -p no:cacheprovider --no-skips tests/userspace

echo "== fuzz packets (scapy, on this machine: tests/kernel/test_fuzz.py replays them)"
sh tests/fuzz/make-packets.sh check 3000

echo "== the kernel's own selftests (from the kernel source package, for tests/kernel/test_kernel_selftests.py)"
sh tests/selftests/prepare.sh

echo "== the harness sees kernel reports (canary faults, each in a guest of its own)"
$PY -m pytest -v --color=no --tb=short -p no:cacheprovider --no-skips tests/canary

echo "== kernel tests (guest)"
kver=${NF_PREFRAG_KERNEL:-}
pytest="$PY -m pytest -v --color=no --tb=short -p no:cacheprovider --no-skips"
# Timeouts catch hangs (the guest prints every task's stack a minute
# before): CI and its rehearsals took 1350 to 1620 s here, 680 to 1450 s
# for churn.  Churn has a guest of its own; libreswan a root of its own.
$PY tests/guest/vm.py ${kver:+--kernel "$kver"} --timeout 2400 -- \
	$pytest --ignore=tests/kernel/test_churn.py --ignore=tests/kernel/test_ike_libreswan.py \
	tests/kernel

echo "== churn under load (guest with two vCPUs)"
$PY tests/guest/vm.py ${kver:+--kernel "$kver"} --cpus 2 --timeout 2400 -- \
	$pytest tests/kernel/test_churn.py

if [ "${NF_PREFRAG_LIBRESWAN:-1}" != 0 ]; then
	echo "== libreswan (its own Debian 12 root)"
	sh tests/run-libreswan.sh
fi

if [ "${NF_PREFRAG_FIRST_CONTACT:-1}" != 0 ]; then
	echo "== first contact (fresh Debian root)"
	$PY -m pytest -v --color=no --tb=short -p no:cacheprovider --no-skips tests/distro
fi
