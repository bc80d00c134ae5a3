#!/bin/sh
# Run the kernel's checkpatch.pl (from Debian's linux-source-6.1) on our
# kernel sources; fails on any error or warning.
set -eu
cd "$(dirname "$0")/.."
cp=build/checkpatch/scripts/checkpatch.pl
if [ ! -e "$cp" ]; then
	tb=$(ls /usr/src/linux-source-*.tar.xz | tail -1)
	top=$(basename "$tb" .tar.xz)
	mkdir -p build/checkpatch
	tar -xJf "$tb" -C build/checkpatch --strip-components=1 \
		"$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" \
		"$top/scripts/const_structs.checkpatch"
fi
files=$(find kernel -name '*.[ch]' | sort)
perl "$cp" --no-tree --terse --show-types --strict -f $files
