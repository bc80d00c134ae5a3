#!/bin/sh
# install.sh install|uninstall: what "make install" and "make uninstall" do.
#
# Installs the plugins, nft-prefrag, nf-prefrag (doctor), the man pages,
# the modprobe.d file and a drop-in that makes nftables.service load
# /etc/nftables.conf with nft-prefrag.
# Our REJECT plugin replaces iptables' own; on Debian theirs is diverted
# (dpkg-divert), so iptables upgrades leave ours in place.
#
# Without DESTDIR every file and diversion is recorded in $MANIFEST, and
# uninstall removes exactly those (run twice, the second does nothing).
# Both refuse while our Debian packages are installed: the files are theirs.
# With DESTDIR (staging for a package) nothing is recorded or diverted.
#
# Environment: DESTDIR BUILD XTLIBDIR SBINDIR MANDIR UNITDIR (from the Makefile).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
MANIFEST=/var/lib/nf-prefrag/make-install.list
: "${DESTDIR:=}" "${BUILD:=$top/build}" "${SBINDIR:=/usr/sbin}"
: "${MANDIR:=/usr/share/man/man8}"
: "${XTLIBDIR:=$(pkg-config --variable=xtlibdir xtables)}"
# Debian 12: /lib/systemd/system; Debian 13: /usr/lib/systemd/system.
: "${UNITDIR:=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)}"

die() { echo "nf-prefrag: $*" >&2; exit 1; }

[ -n "$XTLIBDIR" ] || die "cannot find iptables' plugin directory (pkg-config xtables): run make setup"

packages_installed() {
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' \
		xtables-nf-prefrag nf-prefrag-dkms 2>/dev/null | awk '$1 ~ /^.i/ { print $2 }'
}

refuse_if_packaged() {
	[ -z "$DESTDIR" ] || return 0
	pkgs=$(packages_installed | tr '\n' ' ')
	[ -z "$pkgs" ] || die "the Debian package(s) ${pkgs}own these files; make $1 would break them. Use apt (apt remove ${pkgs}) instead."
}

# The diversion of FILE, if any: "LOCAL", a package name, or nothing.
diverted_by() {
	command -v dpkg-divert >/dev/null || return 0
	dpkg-divert --listpackage "$1" 2>/dev/null || true
}

record() {
	[ -z "$DESTDIR" ] || return 0
	grep -qxF "$1" "$MANIFEST" 2>/dev/null || echo "$1" >> "$MANIFEST"
}

put() {	# put MODE SRC DST
	install -D -m "$1" "$2" "$DESTDIR$3"
	record "file $3"
}

# systemd reads the nftables.service drop-in again (a package: its scripts).
systemd_reload() {
	[ -z "$DESTDIR" ] && [ -d /run/systemd/system ] || return 0
	systemctl daemon-reload || true
}

do_install() {
	refuse_if_packaged install
	[ -n "$DESTDIR" ] || mkdir -p "$(dirname "$MANIFEST")"
	put 0755 "$BUILD/nft/nft-prefrag" "$SBINDIR/nft-prefrag"
	put 0755 "$BUILD/doctor/nf-prefrag" "$SBINDIR/nf-prefrag"
	put 0755 "$BUILD/updown/nf-prefrag-updown" /usr/libexec/nf-prefrag/updown
	put 0644 "$BUILD/libxt/libxt_PREFRAG.so" "$XTLIBDIR/libxt_PREFRAG.so"
	put 0644 "$BUILD/libxt/libxt_CLEARDF.so" "$XTLIBDIR/libxt_CLEARDF.so"
	for f in libipt_REJECT.so libip6t_REJECT.so; do
		dst=$XTLIBDIR/$f
		if [ -z "$DESTDIR" ] && command -v dpkg-divert >/dev/null; then
			case $(diverted_by "$dst") in
			"")	dpkg-divert --local --rename --divert "$dst.iptables" --add "$dst"
				record "divert $dst" ;;
			LOCAL)	;;
			*)	die "$dst is diverted by package $(diverted_by "$dst"); not touching it" ;;
			esac
		fi
		put 0644 "$BUILD/libxt/libxt_REJECT.so" "$dst"
	done
	put 0644 "$top/kernel/nf-prefrag.modprobe.conf" /etc/modprobe.d/nf-prefrag.conf
	put 0644 "$BUILD/nf-prefrag.8" "$MANDIR/nf-prefrag.8"
	put 0644 "$top/nft/nft-prefrag.8" "$MANDIR/nft-prefrag.8"
	put 0644 "$top/nft/nftables.service.conf" "$UNITDIR/nftables.service.d/nf-prefrag.conf"
	systemd_reload
	[ -n "$DESTDIR" ] || echo "nf-prefrag: installed; make uninstall removes exactly what is listed in $MANIFEST"
}

do_uninstall() {
	refuse_if_packaged uninstall
	[ -z "$DESTDIR" ] || die "uninstall takes no DESTDIR"
	if [ ! -s "$MANIFEST" ]; then
		echo "nf-prefrag: nothing was installed with make install here; nothing to do"
		return 0
	fi
	# Files first, then the diversions that give iptables its plugins back.
	grep '^file ' "$MANIFEST" | cut -d' ' -f2- | while IFS= read -r f; do
		rm -f "$f"
	done
	grep '^divert ' "$MANIFEST" | cut -d' ' -f2- | while IFS= read -r f; do
		[ "$(diverted_by "$f")" = LOCAL ] || continue
		dpkg-divert --local --rename --divert "$f.iptables" --remove "$f"
	done
	rm -f "$MANIFEST"
	rmdir "$(dirname "$MANIFEST")" 2>/dev/null || true
	rmdir "$UNITDIR/nftables.service.d" /usr/libexec/nf-prefrag 2>/dev/null || true
	systemd_reload
	echo "nf-prefrag: uninstalled"
}

case "${1:-}" in
install)	do_install ;;
uninstall)	do_uninstall ;;
*)		die "usage: install.sh install|uninstall" ;;
esac
