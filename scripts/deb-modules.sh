#!/bin/sh
# deb-modules.sh RELEASE OUTDIR: our kernel modules, built for the kernel
# RELEASE (make modules KVERS=RELEASE), as a binary package for gateways
# without a compiler or kernel headers: nf-prefrag-modules-RELEASE, which
# installs them in /lib/modules/RELEASE/updates/nf-prefrag with the
# modprobe.d file, depends on that kernel's image, and takes the place of
# nf-prefrag-dkms.  A fleet with identical kernels builds it once.
# Secure Boot: set SIGN_KEY and SIGN_CERT (the fleet's enrolled MOK) to sign
# the modules with the kernel's sign-file.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# = 2 ] || { echo "usage: deb-modules.sh RELEASE OUTDIR" >&2; exit 2; }
rel=$1 out=$2
mods=$top/build/kernel/$rel
for m in nf_prefrag xt_PREFRAG xt_CLEARDF xt_REJECT_MTU; do
	[ -e "$mods/$m.ko" ] || { echo "deb-modules: no $mods/$m.ko: run make modules KVERS=$rel" >&2; exit 1; }
done
# The package's version is the source's, Debian revision included.
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$top/debian/changelog")
arch=$(dpkg --print-architecture)
pkg=nf-prefrag-modules-$rel
stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT
dir=$stage/lib/modules/$rel/updates/nf-prefrag
mkdir -p "$dir" "$stage/DEBIAN"
for m in nf_prefrag xt_PREFRAG xt_CLEARDF xt_REJECT_MTU; do
	# As DKMS installs them: without debug information.
	strip --strip-debug -o "$dir/$m.ko" "$mods/$m.ko"
	if [ -n "${SIGN_KEY:-}" ]; then
		"/usr/lib/linux-kbuild-${rel%%-*}/scripts/sign-file" sha256 "$SIGN_KEY" "$SIGN_CERT" "$dir/$m.ko"
	fi
	chmod 0644 "$dir/$m.ko"
done
install -D -m 0644 "$top/kernel/nf-prefrag.modprobe.conf" "$stage/etc/modprobe.d/nf-prefrag.conf"
echo /etc/modprobe.d/nf-prefrag.conf > "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: $pkg
Source: nf-prefrag
Version: $version
Architecture: $arch
Maintainer: $(sed -n 's/^Maintainer: //p' "$top/debian/control")
Installed-Size: $(du -sk "$stage/lib" | cut -f1)
Depends: linux-image-$rel
Provides: nf-prefrag-modules
Conflicts: nf-prefrag-dkms, nf-prefrag-modules
Replaces: nf-prefrag-dkms
Section: kernel
Priority: optional
Description: fragment before IPsec encrypts - kernel modules for $rel
 nf-prefrag's kernel modules (nf_prefrag, xt_PREFRAG, xt_CLEARDF,
 xt_REJECT_MTU), built for the Linux kernel $rel, for machines without a
 compiler: what nf-prefrag-dkms would build there.
CONTROL
for script in postinst postrm; do
	cat > "$stage/DEBIAN/$script" <<SCRIPT
#!/bin/sh
set -e
# The kernel's module index, with or without ours.
if [ -e /lib/modules/$rel/modules.order ]; then
	depmod -a $rel
fi
SCRIPT
	chmod 0755 "$stage/DEBIAN/$script"
done
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out/${pkg}_${version}_$arch.deb" >/dev/null
echo "$out/${pkg}_${version}_$arch.deb"
