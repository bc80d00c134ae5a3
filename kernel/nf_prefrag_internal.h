/* SPDX-License-Identifier: GPL-2.0 */
/* nf_prefrag core: what its own files share, and nothing else. */
#ifndef _NF_PREFRAG_INTERNAL_H
#define _NF_PREFRAG_INTERNAL_H

#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include "nf_prefrag.h"

#define NF_PREFRAG_NUM_FAMILIES	1	/* ipv4; ipv6 comes later */

/*
 * The rule's decision, carried in the tail of skb->cb from the rule to the
 * POSTROUTING hook.  IPCB/IP6CB end well before it; GSO's own cb use starts
 * at the same offset, but only inside our hook, after the stamp is taken.
 *
 * The stamp is only valid for the skb it was written on, in the netns that
 * wrote it: @check binds it to both, so stale cb bytes (a socket layer's
 * leftovers, a clone, a packet that moved to another netns) never act.
 */
struct nf_prefrag_stamp {
	u64	check;
	u16	mtu;		/* 0: the route's */
	u8	df_policy;
	u8	flags;
#define NF_PREFRAG_STAMP_LIFTED_DF	0x01	/* we set skb->ignore_df: undo it */
};

#define NF_PREFRAG_STAMP_OFFSET	(sizeof_field(struct sk_buff, cb) - \
				 sizeof(struct nf_prefrag_stamp))

void nf_prefrag_stamp_set(struct sk_buff *skb, struct net *net,
			  const struct nf_prefrag_stamp *stamp);
bool nf_prefrag_stamp_take(struct sk_buff *skb, struct net *net,
			   struct nf_prefrag_stamp *stamp);

unsigned int nf_prefrag_ipv4_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state);

#endif /* _NF_PREFRAG_INTERNAL_H */
