#!/bin/sh
# The libreswan tests (tests/kernel/test_ike_libreswan.py).  Debian's
# libreswan cannot be installed beside the strongSwan that `make setup`
# installs (they conflict), so they run in a Debian 12 root of their own:
# the README's set-up, then libreswan (tests/distro/matrix_root.py
# bookworm+libreswan, cached), booted as the guest's root file system, on
# Debian 12's 6.1 and on 6.12 from bookworm-backports.
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
name=bookworm+libreswan
started=$(date +%s)
echo "== Debian root: $name (make setup and libreswan in it, cached)"
root=$($PY tests/distro/matrix_root.py "$name")
trap '$PY tests/distro/matrix_root.py unmount "$name"' EXIT
chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
	sh -c "cd /src && make -s all 2>&1 | grep -v 'Skipping BTF generation'" || true
# The guest boots the root itself: without this machine's /proc, /sys, /dev.
$PY tests/distro/matrix_root.py unmount "$name"
# The root's kernels with headers: installed, or unpacked by its set-up
# (their build links name paths inside the root: -L, not -e).
for kver in $(for k in "$root"/lib/modules/*/build "$root"/var/tmp/nf-prefrag/kernels/lib/modules/*/build; do
		[ -L "$k" ] && basename "$(dirname "$k")"; done | sort -uV); do
	[ -e "$root/src/build/kernel/$kver/xt_PREFRAG.ko" ] ||
		{ echo "modules for $kver did not build in $name" >&2; exit 1; }
	echo "== libreswan tests (guest: $name root, $kver)"
	$PY tests/guest/vm.py --root "$root" --top /src --cwd /src --kernel "$kver" --timeout 1200 -- \
		python3 -m pytest -v --color=no --tb=short -p no:cacheprovider --no-skips \
		tests/kernel/test_ike_libreswan.py
done
echo "run-libreswan: passed in $(( ($(date +%s) - started) / 60 )) min"
