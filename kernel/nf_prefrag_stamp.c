// SPDX-License-Identifier: GPL-2.0
/*
 * nf_prefrag core: the stamp a rule leaves on a packet for the POSTROUTING
 * hook of its family (nf_prefrag_internal.h says where it lives).
 */
#include <linux/random.h>
#include "nf_prefrag_internal.h"

static u64 nf_prefrag_stamp_key __read_mostly;

void nf_prefrag_stamp_init(void)
{
	nf_prefrag_stamp_key = get_random_u64();
}

static struct nf_prefrag_stamp *nf_prefrag_stamp_of(struct sk_buff *skb)
{
	return (struct nf_prefrag_stamp *)&skb->cb[NF_PREFRAG_STAMP_OFFSET];
}

/* Valid for this skb in this netns only, and unguessable. */
static u64 nf_prefrag_stamp_check(const struct sk_buff *skb,
				  const struct net *net)
{
	return nf_prefrag_stamp_key ^ (u64)(uintptr_t)skb ^
	       ((u64)(uintptr_t)net << 1);
}

void nf_prefrag_stamp_set(struct sk_buff *skb, struct net *net,
			  const struct nf_prefrag_stamp *stamp)
{
	struct nf_prefrag_stamp *s = nf_prefrag_stamp_of(skb);
	u64 check = nf_prefrag_stamp_check(skb, net);
	u8 lifted = 0;

	/* The last rule's decision wins, but the DF lift must still be undone. */
	if (s->check == check)
		lifted = s->flags & NF_PREFRAG_STAMP_LIFTED_DF;
	*s = *stamp;
	s->flags |= lifted;
	s->check = check;
}

bool nf_prefrag_stamp_take(struct sk_buff *skb, struct net *net,
			   struct nf_prefrag_stamp *stamp)
{
	struct nf_prefrag_stamp *s = nf_prefrag_stamp_of(skb);

	if (s->check != nf_prefrag_stamp_check(skb, net))
		return false;
	*stamp = *s;
	s->check = 0;	/* acts once: not again on the encrypted packet */
	return true;
}
