#!/bin/sh
# The project's source files, NUL-separated, relative to the top: what git
# tracks, or outside a git checkout the tree less build products.
set -eu
cd "$(dirname "$0")/.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
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
