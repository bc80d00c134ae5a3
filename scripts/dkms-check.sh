#!/bin/sh
# Builds the kernel modules as DKMS does on a user's machine, for every
# kernel with headers here, from a copy of what the package ships (dkms.conf
# and kernel/, as scripts/dkms-src.sh stages them).  Nothing stays installed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ver=$(sh "$top/scripts/version.sh")
if dkms status nf-prefrag 2>/dev/null | grep -q .; then
	echo "dkms-check: nf-prefrag is registered with DKMS here already; not touching it"
	exit 0
fi
src=$(mktemp -d)
cleanup() {
	dkms remove "nf-prefrag/$ver" --all >/dev/null 2>&1 || true
	rm -rf "$src" "/usr/src/nf-prefrag-$ver"
}
trap cleanup EXIT
sh "$top/scripts/dkms-src.sh" "$src" "$ver"
dkms add "$src" >/dev/null
for k in /lib/modules/*/build; do
	[ -e "$k" ] || continue
	kver=$(basename "$(dirname "$k")")
	if ! dkms build "nf-prefrag/$ver" -k "$kver" >/dev/null 2>&1; then
		echo "dkms-check: build for $kver failed:" >&2
		cat "/var/lib/dkms/nf-prefrag/$ver/build/make.log" >&2 || true
		exit 1
	fi
	n=$(ls /var/lib/dkms/nf-prefrag/"$ver"/"$kver"/*/module/ 2>/dev/null | wc -l)
	echo "dkms-check: $kver: $n modules"
done
