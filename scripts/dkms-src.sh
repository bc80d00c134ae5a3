#!/bin/sh
# dkms-src.sh DIR [VERSION]: put in DIR what DKMS needs to build the modules,
# and nothing else: kernel/ (sources, Kbuild, probes) and, given VERSION,
# dkms.conf with it.  The Debian package leaves VERSION out: dh_dkms fills
# in dkms.conf itself.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$1
rm -rf "$out"
mkdir -p "$out"
(cd "$top" && sh scripts/source-files.sh) | tr '\0' '\n' |
	grep -E '^kernel/(.*\.[ch]|Kbuild|Makefile|probes/run\.sh)$' |
	(cd "$top" && tar -cf - -T -) | tar -C "$out" -xf -
if [ $# -ge 2 ]; then
	sed "s/#MODULE_VERSION#/$2/" "$top/dkms.conf" > "$out/dkms.conf"
fi
