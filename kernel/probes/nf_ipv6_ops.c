// SPDX-License-Identifier: GPL-2.0
/* Is ip6_fragment() reached through nf_ipv6_ops (removed in 7.x)? */
#include <linux/netfilter_ipv6.h>

const struct nf_ipv6_ops *(*nf_prefrag_probe)(void) = nf_get_ipv6_ops;
