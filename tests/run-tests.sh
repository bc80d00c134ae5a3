#!/bin/sh
# The test suite: `make check` or `sh tests/run-tests.sh`.
#  1. build modules (every installed kernel, W=1, warnings are errors) and plugins
#  2. checkpatch on the kernel sources; a DKMS build for every kernel; the
#     Debian packages
#  3. userspace tests on this machine (plugins: options, errors, translation)
#  4. the kernel suite in a QEMU guest booting Debian's 6.1 kernel: real
#     modules, real packets through namespaced IPsec gateways
# Set NF_PREFRAG_KERNEL=<release> to boot another installed kernel.
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3

echo "== build"
make -s all 2>&1 | grep -v 'Skipping BTF generation' || true
[ -e build/libxt/libxt_PREFRAG.so ] && [ -x build/nft/nft-prefrag ] || { echo "build failed" >&2; exit 1; }
for v in $(ls /lib/modules); do
	[ -e "/lib/modules/$v/build" ] || continue
	[ -e "build/kernel/$v/xt_PREFRAG.ko" ] || { echo "modules for $v did not build" >&2; exit 1; }
done

echo "== checkpatch"
sh scripts/checkpatch.sh

echo "== dkms"
sh scripts/dkms-check.sh

echo "== packages"
make -s deb

echo "== userspace tests (host)"
$PY -m pytest -q -p no:cacheprovider tests/userspace

echo "== kernel tests (guest)"
kver=${NF_PREFRAG_KERNEL:-}
$PY tests/guest/vm.py ${kver:+--kernel "$kver"} --timeout 1800 -- \
	$PY -m pytest -v --color=no --tb=short -p no:cacheprovider tests/kernel
