#!/bin/sh
# debug-kernel.sh: the debug kernel of `make check-debug` (KASAN, kmemleak,
# lockdep, debug objects), built once from Debian's linux-source-6.1 with
# tests/guest/debug.config and installed into a kernel tree that
# `vm.py --kernel-tree` boots:
#   <tree>/boot/vmlinuz-<release>, <tree>/lib/modules/<release>/{modules.*,build}
# Built again only when the config or the source package's version changes
# (cached under /var/tmp/nf-prefrag/debug-kernel).  Prints "<tree> <release>".
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
config=$top/tests/guest/debug.config
cache=/var/tmp/nf-prefrag/debug-kernel
src_ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( { echo "$src_ver"; cat "$config"; } | sha256sum | cut -c1-12)
dir=$cache/$key
if [ -e "$dir/done" ]; then
	cat "$dir/done"
	exit 0
fi

echo "debug-kernel: building linux-source-6.1 $src_ver with $config (once; about half an hour on two cores)" >&2
rm -rf "$dir"
mkdir -p "$dir"
tar xf /usr/src/linux-source-6.1.tar.xz -C "$dir"
src=$dir/linux-source-6.1
make -C "$src" -s x86_64_defconfig
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$config" >/dev/null
make -C "$src" -s olddefconfig
# A misspelt or unavailable option vanishes without a word: check them all.
grep -v '^#' "$config" | grep . | while IFS= read -r want; do
	name=${want%%=*}
	case "$want" in
	*=n) ! grep -q "^$name=[ym]" "$src/.config" ;;
	*) grep -qx "$want" "$src/.config" ;;
	esac || { echo "debug-kernel: $want did not take (dependencies?)" >&2; exit 1; }
done
make -C "$src" -s -j"$(nproc)" bzImage modules
release=$(make -C "$src" -s kernelrelease)
tree=$dir/tree
mkdir -p "$tree/boot"
cp "$src/arch/x86/boot/bzImage" "$tree/boot/vmlinuz-$release"
make -C "$src" -s modules_install INSTALL_MOD_PATH="$tree"
ln -sfn "$src" "$tree/lib/modules/$release/build"
echo "$tree $release" >"$dir/done"
# Older builds are of no further use.
find "$cache" -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
cat "$dir/done"
