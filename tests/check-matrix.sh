#!/bin/sh
# make check-matrix: the whole suite on every combination the README's
# table lists.  Debian 12 with 6.1 (and first contact), Debian 12 with
# 6.12, Debian 13 with its 6.12, Debian 13 with the newest kernel of its
# backports.  Each line's result and time is printed at the end.
set -u
cd "$(dirname "$0")/.."
summary=""
run() {
	label=$1
	shift
	started=$(date +%s)
	if env "$@"; then result=passed; else result=FAILED; fi
	summary="$summary
$label: $result in $(( ($(date +%s) - started) / 60 )) min"
}
# The kernels set-up installed (the release's own) or unpacked into its
# cache (the newer ones).
kernels() {
	ls /lib/modules /var/tmp/nf-prefrag/kernels/lib/modules 2>/dev/null | grep "^$1"'\.' | sort -V | tail -1
}
bpo=$(kernels 6.12)
run "Debian 12 + $(kernels 6.1)" NF_PREFRAG_FIRST_CONTACT=1 sh tests/run-tests.sh
run "Debian 12 + $bpo" NF_PREFRAG_FIRST_CONTACT=0 NF_PREFRAG_LIBRESWAN=0 NF_PREFRAG_KERNEL="$bpo" sh tests/run-tests.sh
run "Debian 13 + its own kernel" NF_PREFRAG_ROOT=trixie sh tests/run-tests.sh
run "Debian 13 + newest backports kernel" NF_PREFRAG_ROOT=trixie NF_PREFRAG_KERNEL=newest sh tests/run-tests.sh
# Gateways booting with systemd (tests/boot/): Debian 12 with our packages
# built here, upgraded to Debian 13 with those the Debian 13 root built
# (run-in-root.sh's lint); Debian 13 with those.
debian13_debs=/var/tmp/nf-prefrag/roots/trixie/src/build/deb
run "Debian 12 gateway booted with systemd" NF_PREFRAG_UPGRADE_DEBS="$debian13_debs" \
	sh tests/check-boot.sh bookworm
# (The prebuilt-module test builds for the gateway's kernel with this
# machine's headers: Debian 12's.)
run "Debian 13 gateway booted with systemd" NF_PREFRAG_BOOT_SELECT="not prebuilt and not dist_upgrade" \
	sh tests/check-boot.sh trixie "$debian13_debs"
echo "== matrix$summary"
! echo "$summary" | grep -q FAILED
