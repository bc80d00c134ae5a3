#!/bin/sh
# make-packets.sh NAME COUNT: build/fuzz/NAME.bin, COUNT fuzz packets, and
# NAME.seed, the seed (NF_PREFRAG_FUZZ_SEED, or a random one) that makes them.
set -eu
cd "$(dirname "$0")/../.."
mkdir -p build/fuzz
seed=${NF_PREFRAG_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
/usr/bin/python3 tests/fuzz/gen_packets.py --seed "$seed" --count "$2" --out "build/fuzz/$1.bin"
echo "$seed" > "build/fuzz/$1.seed"
