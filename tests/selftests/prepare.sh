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
# ip_defrag.sh gives a fragment queue one second to complete.  Under
# emulation, with a second guest on the other core, sending a thousand
# 8-byte fragments through hooks full of rules can take longer: both runs,
# stock and ours, give it five.  (The receive timeout stays at one second:
# the overlap cases wait it out by design.)
sed -i 's/\(ipfrag_time\|ip6frag_time\|nf_conntrack_frag6_timeout\)=1 /\1=5 /' "$out/ip_defrag.sh"
[ "$(grep -c 'frag6\?_time=5 \|frag6_timeout=5 ' "$out/ip_defrag.sh")" = 3 ] ||
	{ echo "prepare.sh: ip_defrag.sh no longer sets its fragment timeouts as expected" >&2; exit 1; }
# ip_defrag.sh deletes its namespace at once, while fragments of its last
# datagrams may still wait in the IPv6 reassembly queue.  With its
# conntrack rule, they carry a conntrack entry: reassembled on output by
# conntrack and cut again to their sizes (frag_max_size), each fragment
# holds a reference (seen: one entry, use=1100, four queues).  6.1 frees
# those queues only with the namespace's IPv6 state, after conntrack's
# teardown, which waits for the entry forever; every later module load
# that registers per-namespace state (ip_tables, ours) hangs behind it.
# Stock kernel, none of our modules (half the stock passes under
# emulation): both runs let the queues expire (ip6frag_time, 5 s) first.
sed -i '/^\tip netns del "\${NETNS}"$/i\
	nf_prefrag_frags_expire' "$out/ip_defrag.sh"
sed -i '/^cleanup() {$/i\
nf_prefrag_frags_expire() {\
	for _ in $(seq 60); do\
		ip netns exec "${NETNS}" grep -q "^FRAG6: inuse 0 " /proc/net/sockstat6 \&\& return 0\
		sleep 1\
	done\
	echo "IPv6 fragments still queued after 60 s" >\&2\
}\
' "$out/ip_defrag.sh"
[ "$(grep -c 'nf_prefrag_frags_expire' "$out/ip_defrag.sh")" = 2 ] ||
	{ echo "prepare.sh: ip_defrag.sh no longer deletes its namespace as expected" >&2; exit 1; }
for prog in ip_defrag nettest; do
	gcc -O2 -Wall -o "$out/$prog" "$out/$prog.c"
done
echo "$key" >"$out/.prepared"
