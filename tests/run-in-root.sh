#!/bin/sh
# The suite on another Debian release: `NF_PREFRAG_ROOT=trixie make check`
# (tests/run-tests.sh hands over to this).  In a debootstrap'ed root of that
# release, set up with the README's own `make setup` (tests/distro/
# matrix_root.py, cached): the modules for the root's kernels (W=1), the
# plugins and nft-prefrag against its libraries, its packages (lintian) and
# the host tests (with its iptables' own test harnesses); then the kernel
# suite in the guest with that root as its root file system, on the
# release's own kernel or NF_PREFRAG_KERNEL, and churn on two vCPUs.
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
suite=$1
started=$(date +%s)
echo "== Debian root: $suite (make setup in it, cached)"
root=$($PY tests/distro/matrix_root.py "$suite")
in_root() {
	chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		sh -c "cd /src && $1"
}
mount_root() {
	$PY tests/distro/matrix_root.py mount "$suite"
}
unmount_root() {
	$PY tests/distro/matrix_root.py unmount "$suite"
}
trap unmount_root EXIT

echo "== build ($suite)"
in_root "make -s all test-tools 2>&1 | grep -v 'Skipping BTF generation' || true"
# The root's kernels with headers: installed, or unpacked by its set-up
# (their build links name paths inside the root: -L, not -e).
root_kernels() {
	for k in "$root"/lib/modules/*/build "$root"/var/tmp/nf-prefrag/kernels/lib/modules/*/build; do
		[ -L "$k" ] && basename "$(dirname "$k")"
	done | sort -uV
}
for v in $(root_kernels); do
	[ -e "$root/src/build/kernel/$v/xt_PREFRAG.ko" ] ||
		{ echo "modules for $v did not build in $suite" >&2; exit 1; }
done
echo "== packages ($suite)"
in_root "make -s lint"
ipt_src=/var/cache/nf-prefrag/iptables-src
if [ ! -e "$root$ipt_src/iptables-test.py" ]; then
	echo "note: $suite's iptables source is not on this machine's mirror: its .t and" \
		".txlate files go through this machine's iptables-test.py and xlate-test.py"
	mkdir -p "$root$ipt_src"
	cp -a "$ipt_src/." "$root$ipt_src/"
fi
echo "== userspace tests ($suite)"
in_root "python3 -m pytest -q -p no:cacheprovider --no-skips tests/userspace"
# This machine's release's plugins (as they stay on a gateway upgraded to
# $suite until ours are rebuilt) with $suite's iptables and libnftables:
# as $suite's own.
echo "== $(. /etc/os-release && echo "$VERSION_CODENAME")'s plugins with $suite's iptables"
make -s plugins nft BUILD="$root/tmp/host-release"
in_root "NF_PREFRAG_OTHER_RELEASE=/tmp/host-release python3 -m pytest -q \
	-p no:cacheprovider --no-skips tests/upgrade"
rm -rf "$root/tmp/host-release"
in_root "sh tests/fuzz/make-packets.sh check 3000 && sh tests/selftests/prepare.sh"

# The release's own kernel (the oldest the root has) unless told; "newest":
# the newest (from its backports).
case ${NF_PREFRAG_KERNEL:-} in
"") kver=$(root_kernels | head -1) ;;
newest) kver=$(root_kernels | tail -1) ;;
*) kver=$NF_PREFRAG_KERNEL ;;
esac
# The guest boots the root itself: without this machine's /proc, /sys, /dev.
unmount_root
echo "== kernel tests (guest: $suite root, $kver)"
guest() {
	$PY tests/guest/vm.py --root "$root" --top /src --cwd /src --kernel "$kver" "$@"
}
# CI measured up to 1980 s for this guest (Debian 13, beside Debian 12's).
pytest="python3 -m pytest -v --color=no --tb=short -p no:cacheprovider --no-skips"
guest --timeout 3000 -- $pytest \
	--ignore=tests/kernel/test_churn.py --ignore=tests/kernel/test_ike_libreswan.py tests/kernel
# NF_PREFRAG_CHURN=0 leaves churn out (CI: Debian 12's churn runs beside
# this, and two two-vCPU guests on two cores would crowd each other).
if [ "${NF_PREFRAG_CHURN:-1}" != 0 ]; then
	echo "== churn under load (guest: $suite root, $kver, two vCPUs)"
	guest --cpus 2 --timeout 2400 -- \
		$pytest tests/kernel/test_churn.py
fi

# Our packages as a user of this release meets them (as first contact does
# on Debian 12): installed with the README's command, used in the guest
# with plain iptables, ip6tables and nft-prefrag, `dpkg -r` there; then
# purged here, leaving iptables and the cached root as they were.
echo "== our packages ($suite): install, a tunnel in the guest, purge"
ours="nf-prefrag-dkms xtables-nf-prefrag"
purge="dpkg --purge $ours >/dev/null"
install=$(sed -n '/^## Installing/,/^## /s/^    \(apt install .*\)/\1/p' README.md)
mount_root
in_root "$purge && make -s deb >/dev/null && DEBIAN_FRONTEND=noninteractive $install -y -qq >/dev/null"
in_root "dkms status nf-prefrag | grep -q '$kver.*installed' || dkms autoinstall -k $kver"
unmount_root
guest --installed --quiet --timeout 900 -- python3 tests/distro/installed_scenario.py works
mount_root
in_root "$purge && test -z \"\$(dpkg --verify iptables)\" && test -z \"\$(dpkg-divert --list '*REJECT*')\" &&
	test -z \"\$(dkms status nf-prefrag)\"" ||
	{ echo "purging our packages left traces in $suite" >&2; exit 1; }
unmount_root
echo "run-in-root: $suite with $kver passed in $(( ($(date +%s) - started) / 60 )) min"
