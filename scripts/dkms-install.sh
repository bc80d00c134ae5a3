#!/bin/sh
# dkms-install.sh install SRC VERSION | uninstall - VERSION
#
# install: register SRC (made by dkms-src.sh: dkms.conf and kernel/ only)
# with DKMS as nf-prefrag/VERSION, and build and install the modules for
# every kernel that has headers here (DKMS then builds for new kernels as
# they are installed).  uninstall: take nf-prefrag/VERSION out of DKMS.
# Both refuse while the nf-prefrag-dkms package is installed: DKMS's copy
# is the package's then.
set -eu
die() { echo "nf-prefrag: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: dkms-install.sh install SRC VERSION | uninstall - VERSION"
action=$1 src=$2 ver=$3
command -v dkms >/dev/null || die "dkms is not installed (apt install dkms)"
if dpkg-query -W -f='${db:Status-Abbrev}' nf-prefrag-dkms 2>/dev/null | grep -q '^.i'; then
	die "the nf-prefrag-dkms package is installed and owns nf-prefrag in DKMS; use apt instead"
fi

registered() { dkms status "nf-prefrag/$ver" 2>/dev/null | grep -q .; }

case $action in
install)
	if registered; then
		dkms remove "nf-prefrag/$ver" --all >/dev/null
	fi
	[ ! -e "/usr/src/nf-prefrag-$ver" ] ||
		[ -e "/usr/src/nf-prefrag-$ver/.made-by-make-dkms-install" ] ||
		die "/usr/src/nf-prefrag-$ver exists and is not ours; remove it first"
	rm -rf "/usr/src/nf-prefrag-$ver"
	cp -r "$src" "/usr/src/nf-prefrag-$ver"
	touch "/usr/src/nf-prefrag-$ver/.made-by-make-dkms-install"
	dkms add "nf-prefrag/$ver"
	built=0
	for k in /lib/modules/*/build; do
		[ -e "$k" ] || continue
		kver=$(basename "$(dirname "$k")")
		dkms install "nf-prefrag/$ver" -k "$kver"
		built=$((built + 1))
	done
	[ "$built" -gt 0 ] || die "no kernel headers here (apt install linux-headers-$(uname -r))"
	;;
uninstall)
	if registered; then
		dkms remove "nf-prefrag/$ver" --all
	else
		echo "nf-prefrag: nf-prefrag/$ver is not registered with DKMS; nothing to do"
	fi
	# Only a copy this script made: never one a user or package put there.
	[ ! -e "/usr/src/nf-prefrag-$ver/.made-by-make-dkms-install" ] ||
		rm -rf "/usr/src/nf-prefrag-$ver"
	;;
*)
	die "unknown action $action"
	;;
esac
