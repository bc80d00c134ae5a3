// SPDX-License-Identifier: GPL-2.0
/* Does xfrm_decode_session() take the network namespace (6.8 on)? */
#include <net/xfrm.h>

int (*nf_prefrag_probe)(struct net *net, struct sk_buff *skb, struct flowi *fl,
			unsigned int family) = xfrm_decode_session;
