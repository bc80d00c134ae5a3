#!/bin/sh
# Runs in the guest after switch_root: finish the root file system, offer our
# modules to modprobe, run the command and report its exit status.
R=/run/nf-prefrag-results
set -a; . "$R/env"; set +a
mount -t proc proc /proc
mount -t sysfs sys /sys
# The whole kernel log, every level, recorded as it goes (vm.py judges it):
# the console shows warnings and below only when they panic, and a guest
# that hangs or panics never gets to save its log at the end.  util-linux's
# dmesg --follow carries on past records the ring buffer overwrote.
dmesg --follow --raw >"$R/kernel.log" 2>&1 &
kernel_log_pid=$!
# No tmpfs on /tmp: the overlay root is writable already, and the work tree
# may live under the host's /tmp (CI clones).
mkdir -p /dev/pts /dev/shm /run/netns
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
hostname guest
ip link set lo up
# The kernel's modules and ours (or, vm.py --installed, those the root's
# packages installed: DKMS's build), resolved by the host's depmod; none
# when the root's own installed kernel has them all already.
if [ -n "${NF_PREFRAG_MODTREE:-}" ]; then
	# (absent from the root for a kernel it does not have installed)
	mkdir -p /run/nf-prefrag-kmods "/lib/modules/$(uname -r)"
	mount --bind "/lib/modules/$(uname -r)" /run/nf-prefrag-kmods
	mount --bind "$NF_PREFRAG_MODTREE" "/lib/modules/$(uname -r)"
fi
# As the packages install it: REJECT revision 1 loads with ipt_REJECT.
[ -n "${NF_PREFRAG_INSTALLED:-}" ] ||
	cp "$NF_PREFRAG_TOP/kernel/nf-prefrag.modprobe.conf" /etc/modprobe.d/nf-prefrag.conf
# Loaded on first use they cost seconds under TCG; load them up front.
modprobe -a veth xfrm_user esp4 esp6 aesni_intel gcm ctr ghash_clmulni_intel \
	seqiv nf_conntrack 2>/dev/null
export HOME=/tmp PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PYTHONDONTWRITEBYTECODE=1
# A kmemleak kernel (the debug kernel): only what leaks from here on counts.
kmemleak=/sys/kernel/debug/kmemleak
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
[ -e $kmemleak ] && echo clear >$kmemleak
# A task stuck in the kernel (hung_task names it, without its stack at the
# console's log level), or a run about to time out: the console gets every
# task's stack, once, while the guest still runs.
(while sleep 10; do
	dmesg | grep -q "blocked for more than" && break
	[ "$(cut -d. -f1 /proc/uptime)" -gt $((NF_PREFRAG_GUEST_TIMEOUT - 60)) ] && break
 done
 dmesg -n 7
 echo t >/proc/sysrq-trigger
 dmesg -n 4) &
sh "$R/cmd.sh" </dev/null >/dev/console 2>&1
echo $? >"$R/status"
# Leaks are only found by a scan (twice: an object must look lost in two
# scans in a row); vm.py fails the run on any report in this file.
if [ -e $kmemleak ]; then
	echo scan >$kmemleak
	sleep 5
	echo scan >$kmemleak
	cat $kmemleak >"$R/kmemleak"
fi
# Let the recorder catch up, then stop it.
sleep 1
kill "$kernel_log_pid"
sync
# busybox's: a minimal root (debootstrap --variant=minbase) has no poweroff.
/bin/busybox poweroff -f
