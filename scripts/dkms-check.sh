#!/bin/sh
# Builds the kernel modules as DKMS does on a user's machine, for every
# kernel with headers here, from a copy of what the package ships (dkms.conf
# and kernel/, as scripts/dkms-src.sh stages them), and counts what it built
# against dkms.conf.  DKMS works in trees of its own here (--dkmstree,
# --sourcetree), so that an nf-prefrag the machine has registered already
# is neither skipped nor touched; nothing stays installed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ver=$(sh "$top/scripts/version.sh")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sh "$top/scripts/dkms-src.sh" "$work/src/nf-prefrag-$ver" "$ver"
mkdir -p "$work/dkms"
dkms_here() {
	dkms "$@" --sourcetree "$work/src" --dkmstree "$work/dkms"
}
want=$(grep -c '^BUILT_MODULE_NAME\[' "$top/dkms.conf")
dkms_here add -m nf-prefrag -v "$ver" >/dev/null
built=0
# Installed headers, and those set-up unpacked into its kernel cache.
for k in /lib/modules/*/build /var/tmp/nf-prefrag/kernels/lib/modules/*/build; do
	[ -e "$k" ] || continue
	kver=$(basename "$(dirname "$k")")
	case $k in /lib/*) ;; *) [ ! -e "/lib/modules/$kver/build" ] || continue ;; esac
	if ! dkms_here build -m nf-prefrag -v "$ver" -k "$kver" --kernelsourcedir "$(readlink -f "$k")" \
		>/dev/null 2>&1; then
		echo "dkms-check: build for $kver failed:" >&2
		cat "$work/dkms/nf-prefrag/$ver/build/make.log" >&2 || true
		exit 1
	fi
	n=$(ls "$work/dkms/nf-prefrag/$ver/$kver"/*/module/ 2>/dev/null | wc -l)
	echo "dkms-check: $kver: $n of $want modules"
	[ "$n" = "$want" ] || { echo "dkms-check: $kver: expected $want modules" >&2; exit 1; }
	built=$((built + 1))
done
[ "$built" -gt 0 ] || { echo "dkms-check: no kernel with headers to build for" >&2; exit 1; }
