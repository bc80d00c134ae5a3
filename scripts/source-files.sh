#!/bin/sh
# The project's source files, NUL-separated, relative to the top: what git
# tracks, or outside a git checkout the tree less build products.
set -eu
cd "$(dirname "$0")/.."
# Only a checkout of this project itself: a copy inside one (build/deb/src)
# is not tracked there.
if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
	# Tracked files that still exist (a deletion not yet committed).
	git ls-files | while IFS= read -r f; do
		[ ! -e "$f" ] || printf '%s\0' "$f"
	done
else
	find . -path ./build -prune -o -path ./.git -prune -o -type f \
		! -name '*.o' ! -name '*.ko' ! -name '*.mod' ! -name '*.mod.c' \
		! -name '.*.cmd' ! -name '*.o.d' ! -name Module.symvers \
		! -name modules.order ! -name compat-probed.h -print0 | sed -z 's|^\./||'
fi
