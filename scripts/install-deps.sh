#!/bin/sh
# Install everything nf-prefrag needs to build and test, from Debian packages.
# Idempotent: safe to run again; it only adds what is missing.
set -eu

[ "$(id -u)" = 0 ] || { echo "install-deps: run as root (apt-get)" >&2; exit 1; }

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
# The kernels of the matrix: the release's own, and a newer one from its
# backports (Debian 12: 6.12; later releases: the newest backports has).
# The kernel source: for checkpatch, the debug kernel and the selftests.
# systemd's pkg-config file (where units go) left systemd for systemd-dev in
# Debian 13.
case $codename in
bookworm)
	KERNELS_BACKPORTS="${KERNELS_BACKPORTS-6.12}"
	kernel_source=linux-source-6.1
	systemd_pc=systemd ;;
*)
	KERNELS_BACKPORTS="${KERNELS_BACKPORTS-newest}"
	kernel_source=linux-source
	systemd_pc=systemd-dev ;;
esac
src=/etc/apt/sources.list.d/debian.sources
list=/etc/apt/sources.list
stamp=/var/lib/apt/periodic/nf-prefrag-updated

# derive_source NAME FIELD VALUE: add the apt entry NAME as a copy of the
# machine's own Debian entry with FIELD (Suites or Types) set to VALUE, so
# that no mirror name is ever written here.  Machines have it either in
# deb822 form (debian.sources: cloud images) or one-line form (sources.list:
# the installer, debootstrap).  A new entry forces an apt-get update.
derive_source() {
	[ ! -e "/etc/apt/sources.list.d/$1.sources" ] &&
		[ ! -e "/etc/apt/sources.list.d/$1.list" ] || return 0
	if [ -r "$src" ]; then
		out=/etc/apt/sources.list.d/$1.sources
		awk -v field="$2" -v value="$3" '
			/^[[:space:]]*$/ { if (seen) exit; next }
			index($0, field ":") == 1 { print field ": " value; seen = 1; next }
			{ print; seen = 1 }
		' "$src" > "$out.tmp"
	elif [ -r "$list" ]; then
		out=/etc/apt/sources.list.d/$1.list
		# The first "deb [options] URI suite components" line for this release.
		awk -v field="$2" -v value="$3" -v codename="$codename" '
			$1 != "deb" { next }
			{ i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++ }
			$(i + 1) != codename { next }
			{
				if (field == "Types") $1 = value; else $(i + 1) = value
				print; exit
			}
		' "$list" > "$out.tmp"
	else
		echo "install-deps: no apt sources file to derive $1 from" >&2
		return 1
	fi
	[ -s "$out.tmp" ] || { rm -f "$out.tmp"; echo "install-deps: no $codename entry in the apt sources" >&2; return 1; }
	mv "$out.tmp" "$out"
	rm -f "$stamp"
}

# The backports suite (newer kernels for the matrix).
[ -z "$KERNELS_BACKPORTS" ] || derive_source nf-prefrag-backports Suites "$codename-backports"
# Source packages: iptables' own test harnesses come from its source.
derive_source nf-prefrag-src Types deb-src

if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
	apt-get update -qq
	mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi

export DEBIAN_FRONTEND=noninteractive
pkgs="build-essential pkg-config $systemd_pc kmod bc flex bison libelf-dev libssl-dev
	$kernel_source
	qemu-system-x86 busybox-static cpio xz-utils zstd
	iptables nftables libxtables-dev libnftnl-dev libmnl-dev libnftables-dev libjansson-dev
	iproute2 ethtool tcpdump iputils-ping netcat-openbsd socat
	python3 python3-pytest
	dkms dh-dkms debhelper devscripts fakeroot dpkg-dev lintian conntrack
	debootstrap git libnetfilter-queue-dev libip4tc-dev libip6tc-dev
	python3-scapy strongswan-charon strongswan-swanctl"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] || apt-get install -y -qq --no-install-recommends $missing

# The guest's kernels.  Their images are only unpacked, with their modules,
# into a cache (dpkg-deb) that tests/guest/vm.py boots: set-up installs no
# kernel image.  The release's own kernel's headers are installed (DKMS
# builds against them, as on a gateway; on Debian 13 they bring the
# release's own image); a newer kernel's are unpacked into the cache too
# (the Makefile and scripts/dkms-check.sh build against them there), since
# they depend on their image (6.12's on Debian 12), which apt would install
# as a bootable kernel.
KERNELS=/var/tmp/nf-prefrag/kernels

# install_headers PACKAGE [SUITE]
install_headers() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed' ||
		apt-get install -y -qq --no-install-recommends "$1${2:+/$2}"
}

# The versioned headers package a metapackage (linux-headers-amd64) names.
named_by() {
	dpkg-query -W -f='${Depends}' "$1" | sed -n 's/^\(linux-headers-[^ ,]*\).*/\1/p'
}

# point_headers_at_cache REL: the headers' Makefile names the common headers
# (include) under /usr/src, and newer kernels' (7.3) name themselves there
# too (KBUILD_OUTPUT): point both into the cache.  Idempotent, so that it
# also repairs a cache unpacked before it knew KBUILD_OUTPUT.
point_headers_at_cache() {
	sed -i "s#^\(include \|KBUILD_OUTPUT *:\{0,1\}= *\)/usr/src/#\1$KERNELS/usr/src/#" \
		"$KERNELS/usr/src/linux-headers-$1/Makefile"
}

# unpack_headers HEADERS [SUITE]: a kernel's headers, and the headers and
# kbuild tools they use, unpacked into the cache with their absolute links
# and include pointed there: $KERNELS/lib/modules/REL/build builds modules.
unpack_headers() {
	rel=${1#linux-headers-}
	if [ -e "$KERNELS/lib/modules/$rel/build/Makefile" ]; then
		point_headers_at_cache "$rel"
		return 0
	fi
	# The cache holds no stale build link for unpack_image to trip on.
	rm -f "$KERNELS/lib/modules/$rel/build"
	tmp=$(mktemp -d)
	chown _apt "$tmp" 2>/dev/null || true
	(cd "$tmp" && apt-get download -qq "$1${2:+/$2}" >&2) ||
		{ rm -rf "$tmp"; echo "install-deps: cannot download $1" >&2; exit 1; }
	ver=$(dpkg-deb -f "$tmp"/*.deb Version)
	parts=$(dpkg-deb -f "$tmp"/*.deb Depends | tr ',' '\n' |
		sed -n 's/^ *\(linux-\(headers-[^ ]*-common[^ ]*\|kbuild-[^ ]*\)\).*/\1/p')
	(cd "$tmp" && apt-get download -qq $(for p in $parts; do echo "$p${2:+/$2}"; done) >&2) ||
		{ rm -rf "$tmp"; echo "install-deps: cannot download the parts of $1 $ver" >&2; exit 1; }
	# What they need besides the kernel (the compiler, pahole...), from apt.
	needs=$(for deb in "$tmp"/*.deb; do dpkg-deb -f "$deb" Depends; done | tr ',' '\n' |
		sed 's/|.*//; s/(.*//; s/ //g' | grep -v -e '^linux-image-' -e '^linux-headers-' \
			-e '^linux-kbuild-' -e '^$' | sort -u)
	for p in $needs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			apt-get install -y -qq --no-install-recommends "$p" >&2
	done
	for deb in "$tmp"/*.deb; do
		dpkg-deb -x "$deb" "$tmp/h"
	done
	mkdir -p "$KERNELS/usr/src" "$KERNELS/usr/lib" "$KERNELS/lib/modules/$rel"
	cp -a "$tmp/h/usr/src/." "$KERNELS/usr/src/"
	cp -a "$tmp/h/usr/lib/." "$KERNELS/usr/lib/"
	rm -rf "$KERNELS/usr/lib/modules"
	point_headers_at_cache "$rel"
	echo "$ver" >"$KERNELS/lib/modules/$rel/.headers-version"
	# Made last: it marks the headers as complete in the cache.
	ln -sfn "$KERNELS/usr/src/linux-headers-$rel" "$KERNELS/lib/modules/$rel/build"
	rm -rf "$tmp"
}

# unpack_image HEADERS VERSION: the image of that kernel and version, in the
# cache.
unpack_image() {
	rel=${1#linux-headers-}
	[ -e "$KERNELS/boot/vmlinuz-$rel" ] && return 0
	ver=$2
	tmp=$(mktemp -d)
	chown _apt "$tmp" 2>/dev/null || true
	# Newer kernels come in parts that linux-image-REL depends on: the image
	# in linux-binary-REL, the modules in linux-modules-REL, their lists
	# (modules.builtin, modules.order) in linux-base-REL.
	parts=$(apt-cache show "linux-image-$rel=$ver" | sed -n 's/^Depends: //p' | head -1 |
		tr ',' '\n' | sed -n "s/^ *\(linux-\(base\|binary\|modules\)-$rel\) .*/\1=$ver/p")
	(cd "$tmp" && apt-get download -qq "linux-image-$rel=$ver" $parts) ||
		{ rm -rf "$tmp"; echo "install-deps: cannot download linux-image-$rel $ver" >&2; exit 1; }
	mkdir -p "$KERNELS/lib/modules"
	for deb in "$tmp"/*.deb; do
		dpkg-deb -x "$deb" "$tmp/image"
	done
	# Debian 13's kernels ship their modules under /usr.
	for d in "$tmp/image/lib/modules/$rel" "$tmp/image/usr/lib/modules/$rel"; do
		[ -d "$d" ] && { mkdir -p "$KERNELS/lib/modules/$rel"; cp -a "$d/." "$KERNELS/lib/modules/$rel/"; }
	done
	# The image itself: in /boot, or (newer kernels) beside the modules,
	# from where the package's scripts put it in /boot.  Moved last: it
	# marks the kernel as complete in the cache.
	mkdir -p "$KERNELS/boot"
	for k in "$tmp/image/boot/vmlinuz-$rel" "$KERNELS/lib/modules/$rel/vmlinuz"; do
		[ -e "$k" ] && mv "$k" "$KERNELS/boot/vmlinuz-$rel" && break
	done
	rm -rf "$tmp"
	[ -e "$KERNELS/boot/vmlinuz-$rel" ] ||
		{ echo "install-deps: no kernel image in linux-image-$rel $ver" >&2; exit 1; }
}

# The release's own kernel.
install_headers linux-headers-amd64
pkg=$(named_by linux-headers-amd64)
unpack_image "$pkg" "$(dpkg-query -W -f='${Version}' "$pkg")"
# Newer kernels: from backports, or wherever the release carries them now
# (bookworm's security suite has 6.12 as well): apt takes the one there is.
for v in $KERNELS_BACKPORTS; do
	if [ "$v" = newest ]; then
		# The versioned package the backports metapackage names, taken
		# (with what it needs) from backports alone: the release's own
		# headers and metapackages stay as they are.
		pkg=$(apt-cache -t "$codename-backports" depends linux-headers-amd64 2>/dev/null |
			sed -n "s/^  Depends: \(linux-headers-[0-9][^ ]*-amd64\)$/\1/p" | head -1)
		[ -n "$pkg" ] || { echo "install-deps: no linux-headers-amd64 in $codename-backports" >&2; exit 1; }
		suite=$codename-backports
	else
		# The versioned package linux-headers-V-amd64 names, wherever
		# the release carries it.
		pkg=$(apt-cache depends "linux-headers-$v-amd64" 2>/dev/null |
			sed -n "s/^  Depends: \(linux-headers-[0-9][^ ]*-amd64\)$/\1/p" | head -1)
		[ -n "$pkg" ] || { echo "install-deps: no linux-headers-$v-amd64" >&2; exit 1; }
		suite=""
	fi
	unpack_headers "$pkg" $suite
	unpack_image "$pkg" "$(cat "$KERNELS/lib/modules/${pkg#linux-headers-}/.headers-version")"
done
# iptables' source, for its iptables-test.py and xlate-test.py harnesses and
# its own REJECT .t files.
ipt_src=/var/cache/nf-prefrag/iptables-src
if [ ! -e "$ipt_src/iptables-test.py" ]; then
	tmp=$(mktemp -d)
	if (cd "$tmp" && apt-get source -qq iptables >/dev/null 2>&1); then
		mkdir -p "$(dirname "$ipt_src")"
		rm -rf "$ipt_src"
		mv "$tmp"/iptables-*/ "$ipt_src"
	else
		# Only the tests need it; building and installing do not.
		echo "install-deps: warning: iptables' source package is not available from the apt sources;" \
			"the tests that run its harnesses will say so" >&2
	fi
	rm -rf "$tmp"
fi
echo "install-deps: all dependencies present"
