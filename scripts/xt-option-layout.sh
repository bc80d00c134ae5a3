#!/bin/sh
# xt-option-layout.sh [CC]: 1 if the xtables.h at hand has
# struct xt_option_entry's "base" member (iptables 1.8.11 and later), else
# 0.  libxt/option_layout.c compares it with the running library.
cc=${1:-${CC:-cc}}
printf '#include <xtables.h>\nunsigned int b = sizeof(((struct xt_option_entry *)0)->base);\n' |
	$cc $(pkg-config --cflags xtables) -x c -c -o /dev/null - 2>/dev/null && echo 1 || echo 0
