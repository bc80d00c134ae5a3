#!/bin/sh
# prepare.sh: the kernel's own network selftests that
# tests/kernel/test_kernel_selftests.py runs in the guest (pmtu.sh and
# ip_defrag.sh, with the helpers they build), taken from Debian's kernel
# source package (linux-source-6.1 on Debian 12) into build/selftests/net.
# Taken again only when the source package or this script changes.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/selftests/net
# The oldest kernel source there is: the release's own kernel's.
tarball=$(ls /usr/src/linux-source-*.tar.xz | sort -V | head -1)
key="$(dpkg -S "$tarball" | cut -d: -f1 | xargs dpkg-query -W -f='${Package} ${Version}')"
key="$key, $(sha256sum <"$0" | cut -c1-12)"
[ "$(cat "$out/.prepared" 2>/dev/null)" = "$key" ] && exit 0

rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The whole directory: newer pmtu.sh sources lib.sh and its helpers.
dir=$(basename "$tarball" .tar.xz)/tools/testing/selftests
tar xf "$tarball" -C "$tmp" --wildcards "$dir/net/*" "$dir/kselftest*"
cp -a "$tmp/$dir/." "$out/.."
for prog in ip_defrag nettest; do
	gcc -O2 -Wall -o "$out/$prog" "$out/$prog.c"
done
echo "$key" >"$out/.prepared"
