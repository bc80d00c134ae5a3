// SPDX-License-Identifier: GPL-2.0
/* Does nf_confirm() have the nf_hookfn signature? */
#include <net/netfilter/nf_conntrack_core.h>

unsigned int (*nf_prefrag_probe)(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state) = nf_confirm;
