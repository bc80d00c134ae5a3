#!/bin/sh
# make check-boot: gateways that boot Debian with systemd and keep their
# rules across reboots, reloads and restarts (tests/boot/test_boot.py).
#     check-boot.sh [SUITE [DEBS]]
# SUITE: bookworm (default) or trixie; DEBS: a directory holding our .debs
# built for that release (default: make deb here, which builds for this
# machine's release).  The root is made afresh under /var/tmp/nf-prefrag/boot.
# NF_PREFRAG_BOOT_SELECT: a pytest -k expression (CI leaves out the kernel
# upgrade, the prebuilt modules, firewalld and the Debian 12 -> 13 upgrade,
# which download a second kernel or a release, or set up a root of their
# own: make check-matrix).  NF_PREFRAG_UPGRADE_DEBS: our Debian 13 packages, for the
# upgrade (tests/boot/test_dist_upgrade.py).
set -eu
cd "$(dirname "$0")/.."
suite=${1:-bookworm}
export NF_PREFRAG_BOOT_SUITE=$suite
[ -z "${2:-}" ] || export NF_PREFRAG_BOOT_DEBS="$2"
started=$(date +%s)
/usr/bin/python3 -m pytest -v --color=no --tb=short -p no:cacheprovider --no-skips \
	--durations=0 ${NF_PREFRAG_BOOT_SELECT:+-k "$NF_PREFRAG_BOOT_SELECT"} tests/boot
echo "check-boot: $suite in $(( $(date +%s) - started )) s"
