#!/bin/sh
# Install everything nf-prefrag needs to build and test, from Debian packages.
# Idempotent: safe to run again; it only adds what is missing.
set -eu

KERNELS_BACKPORTS="${KERNELS_BACKPORTS:-6.12}"

[ "$(id -u)" = 0 ] || { echo "install-deps: run as root (apt-get)" >&2; exit 1; }

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
src=/etc/apt/sources.list.d/debian.sources
bp=/etc/apt/sources.list.d/nf-prefrag-backports.sources

stamp=/var/lib/apt/periodic/nf-prefrag-updated

# derive_source OUT FIELD VALUE: write OUT as a copy of the first stanza of
# the machine's own sources file with FIELD set to VALUE, so that no mirror
# name is ever written here.  A new entry forces an apt-get update.
derive_source() {
	[ ! -e "$1" ] && [ -r "$src" ] || return 0
	awk -v field="$2" -v value="$3" '
		/^[[:space:]]*$/ { if (seen) exit; next }
		index($0, field ":") == 1 { print field ": " value; seen = 1; next }
		{ print; seen = 1 }
	' "$src" > "$1.tmp"
	mv "$1.tmp" "$1"
	rm -f "$stamp"
}

# The backports suite (newer kernels for the matrix).
[ -z "$KERNELS_BACKPORTS" ] || derive_source "$bp" Suites "$codename-backports"
# Source packages: iptables' own test harnesses come from its source.
derive_source /etc/apt/sources.list.d/nf-prefrag-src.sources Types deb-src

if [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
	apt-get update -qq
	mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi

export DEBIAN_FRONTEND=noninteractive
pkgs="build-essential pkg-config kmod bc flex bison libelf-dev libssl-dev
	linux-image-amd64 linux-headers-amd64 linux-source-6.1
	qemu-system-x86 busybox-static cpio xz-utils zstd
	iptables nftables libxtables-dev libnftnl-dev libmnl-dev libnftables-dev
	iproute2 ethtool tcpdump iputils-ping netcat-openbsd socat
	python3 python3-pytest
	dkms dh-dkms debhelper devscripts fakeroot dpkg-dev conntrack"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] || apt-get install -y -qq --no-install-recommends $missing

for v in $KERNELS_BACKPORTS; do
	for p in "linux-image-$v-amd64" "linux-headers-$v-amd64"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			apt-get install -y -qq --no-install-recommends -t "$codename-backports" "$p"
	done
done
# iptables' source, for its iptables-test.py and xlate-test.py harnesses and
# its own REJECT .t files.
ipt_src=/var/cache/nf-prefrag/iptables-src
if [ ! -e "$ipt_src/iptables-test.py" ]; then
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get source -qq iptables >/dev/null)
	mkdir -p "$(dirname "$ipt_src")"
	rm -rf "$ipt_src"
	mv "$tmp"/iptables-*/ "$ipt_src"
	rm -rf "$tmp"
fi
echo "install-deps: all dependencies present"
