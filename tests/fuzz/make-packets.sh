#!/bin/sh
# make-packets.sh NAME COUNT: build/fuzz/NAME.bin, COUNT fuzz packets, and
# NAME.seed, the seed that makes them: NF_PREFRAG_FUZZ_SEED, else for the
# test suite's set (NAME check) a fixed one, so that a run is repeatable,
# else a random one (make fuzz, which looks for new trouble).
set -eu
cd "$(dirname "$0")/../.."
mkdir -p build/fuzz
case $1 in
check) fixed=20261207 ;;
*) fixed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ') ;;
esac
seed=${NF_PREFRAG_FUZZ_SEED:-$fixed}
/usr/bin/python3 tests/fuzz/gen_packets.py --seed "$seed" --count "$2" --out "build/fuzz/$1.bin"
echo "$seed" > "build/fuzz/$1.seed"
