#!/bin/sh
# prepare.sh: the kernel's own network selftests that
# tests/kernel/test_kernel_selftests.py runs in the guest (pmtu.sh and
# ip_defrag.sh, with the helpers they build), taken from Debian's kernel
# source package (linux-source-6.1 on Debian 12) into build/selftests/net.
# Taken again only when the source package changes.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/selftests/net
tarball=$(ls /usr/src/linux-source-*.tar.xz | tail -1)
src_ver=$(dpkg -S "$tarball" | cut -d: -f1 | xargs dpkg-query -W -f='${Package} ${Version}')
[ "$(cat "$out/.source-version" 2>/dev/null)" = "$src_ver" ] && exit 0

rm -rf "$out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dir=$(basename "$tarball" .tar.xz)/tools/testing/selftests/net
tar xf "$tarball" -C "$tmp" \
	"$dir/pmtu.sh" "$dir/ip_defrag.sh" "$dir/ip_defrag.c" "$dir/nettest.c"
cp "$tmp/$dir/pmtu.sh" "$tmp/$dir/ip_defrag.sh" "$out/"
for prog in ip_defrag nettest; do
	gcc -O2 -Wall -o "$out/$prog" "$tmp/$dir/$prog.c"
done
echo "$src_ver" >"$out/.source-version"
