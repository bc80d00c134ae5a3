#!/bin/sh
# bench-before.sh REV KVER: the kernel modules of commit REV, built for
# kernel KVER into build/bench/before-REV/KVER, for make bench's "(before)"
# peers.  Prints the directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
rev=$(git -C "$top" rev-parse --short "$1")
kver=$2
dir=$top/build/bench/before-$rev/$kver
if [ ! -e "$dir/xt_PREFRAG.ko" ]; then
	rm -rf "$dir"
	mkdir -p "$dir"
	git -C "$top" archive "$rev" kernel | tar -x -C "$dir" --strip-components=1
	k=/lib/modules/$kver/build
	[ -e "$k" ] || k=/var/tmp/nf-prefrag/kernels/lib/modules/$kver/build
	make -s -C "$k" M="$dir" \
		NF_PREFRAG_VERSION="$rev" modules >&2
fi
echo "$dir"
