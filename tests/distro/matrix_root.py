#!/usr/bin/env python3
"""The Debian roots of the test matrix (NF_PREFRAG_ROOT=trixie ...).

One debootstrap'ed root per suite, kept under /var/tmp/nf-prefrag/roots, in
which the README's set-up has run as a user runs it (`make setup`, in a
clone of the tree).  SUITE+PACKAGE names a root of that suite with one
more package installed after the set-up: bookworm+libreswan, since
Debian's libreswan cannot be installed beside the strongSwan the set-up
installs (tests/run-libreswan.sh).  `make setup` runs again when
scripts/install-deps.sh changes; the tree in it (/src) is refreshed from the
work tree on every use.

    matrix_root.py SUITE            set up (or refresh) the root, print its path
    matrix_root.py mount SUITE      mount /proc, /sys and /dev in it again
    matrix_root.py unmount SUITE    unmount them (the guest boots the root
                                    without this machine's)
"""
import hashlib
import os
import sys

from debian_root import CACHE, DebianRoot, unmount_root

ROOTS = os.path.join(CACHE, "roots")
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = "/src"  # the tree, inside the root


def setup_key(package):
    with open(os.path.join(TOP, "scripts", "install-deps.sh"), "rb") as f:
        return hashlib.sha256(f.read() + package.encode()).hexdigest()[:16]


def matrix_root(name):
    suite, _, package = name.partition("+")
    path = os.path.join(ROOTS, name)
    stamp = os.path.join(path, "var/lib/nf-prefrag-matrix-setup")
    ready = os.path.exists(stamp) and open(stamp).read().strip() == setup_key(package)
    # A root whose set-up failed or is outdated gets `make setup` again
    # (it is idempotent), not a new debootstrap.
    exists = os.path.exists(os.path.join(path, "etc/debian_version"))
    root = DebianRoot.attach(path) if exists else DebianRoot(path, suite)
    src = os.path.join(path, SRC.lstrip("/"))
    if os.path.exists(src):
        root.run(f"rm -rf {SRC}")
    root.clone(TOP, SRC)
    if not ready:
        root.run("apt-get update -qq && apt-get install -y -qq --no-install-recommends "
                 "git make ca-certificates", env={"DEBIAN_FRONTEND": "noninteractive"})
        root.run(f"cd {SRC} && make setup", env={"DEBIAN_FRONTEND": "noninteractive"})
        if package:  # apt removes what conflicts with it
            root.run(f"apt-get install -y -qq {package}", env={"DEBIAN_FRONTEND": "noninteractive"})
        with open(stamp, "w") as f:
            f.write(setup_key(package) + "\n")
    return root


def main(args):
    if len(args) == 1:
        print(matrix_root(args[0]).path)
    elif len(args) == 2 and args[0] == "mount":
        DebianRoot.attach(os.path.join(ROOTS, args[1]))
    elif len(args) == 2 and args[0] == "unmount":
        unmount_root(os.path.join(ROOTS, args[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
