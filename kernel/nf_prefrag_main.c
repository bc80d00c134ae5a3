// SPDX-License-Identifier: GPL-2.0
/*
 * nf_prefrag core module: its parts, each with its own per-netns state,
 * brought up in the order they use each other (counters first, the hooks
 * that cut last).
 *
 *   nf_prefrag_stamp.c   the decision a rule leaves on a packet
 *   nf_prefrag_hooks.c   the POSTROUTING hooks, registered while rules need them
 *   nf_prefrag_ipv4.c    IPv4: marking, DF and ID, the POSTROUTING decision
 *   nf_prefrag_ipv6.c    IPv6: the same, for the packets this host sends
 *   nf_prefrag_output.c  segmenting, cutting and sending on what was stolen
 *   nf_prefrag_icmp.c    "too big" with the MTU, rate limited
 *   nf_prefrag_stats.c   counters, /proc/net/nf_prefrag
 */
#include <linux/module.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include "nf_prefrag_internal.h"

static int __init nf_prefrag_init(void)
{
	int err;

	/* The stamp lives in what the IP layers leave of skb->cb ... */
	BUILD_BUG_ON(sizeof(struct inet_skb_parm) > NF_PREFRAG_STAMP_OFFSET);
	BUILD_BUG_ON(sizeof(struct inet6_skb_parm) > NF_PREFRAG_STAMP_OFFSET);
	/* ... where segmentation writes its own: take it before segmenting. */
	BUILD_BUG_ON(SKB_GSO_CB_OFFSET > NF_PREFRAG_STAMP_OFFSET);

	nf_prefrag_stamp_init();
	err = nf_prefrag_stats_init();
	if (err)
		return err;
	err = nf_prefrag_icmp_init();
	if (err)
		goto err_icmp;
	err = nf_prefrag_hooks_init();
	if (err)
		goto err_hooks;
	return 0;

err_hooks:
	nf_prefrag_icmp_exit();
err_icmp:
	nf_prefrag_stats_exit();
	return err;
}

static void __exit nf_prefrag_exit(void)
{
	nf_prefrag_hooks_exit();
	nf_prefrag_icmp_exit();
	nf_prefrag_stats_exit();
}

module_init(nf_prefrag_init);
module_exit(nf_prefrag_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(NF_PREFRAG_VERSION);
MODULE_DESCRIPTION("Fragment IP packets before IPsec encrypts them (core)");
