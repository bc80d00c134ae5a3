#!/bin/sh
# nf-prefrag's version: the upstream part of debian/changelog's newest entry
# (no epoch, no Debian revision), the one place it is written.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$top/debian/changelog" |
	sed -e 's/^[0-9]*://' -e 's/-[^-]*$//'
