/* SPDX-License-Identifier: GPL-2.0 */
/* nf_prefrag core: what its own files share, and nothing else. */
#ifndef _NF_PREFRAG_INTERNAL_H
#define _NF_PREFRAG_INTERNAL_H

#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include "nf_prefrag.h"

/*
 * The rule's decision, carried in the tail of skb->cb from the rule to the
 * POSTROUTING hook.  IPCB/IP6CB end before it (checked at build time);
 * GSO's cb starts before it too, but only our hook segments, after it took
 * the stamp.
 *
 * The stamp is only valid for the skb it was written on, in the netns that
 * wrote it: @check binds it to both, so stale cb bytes (a socket layer's
 * leftovers, a clone, a packet that moved to another netns) never act.
 */
struct nf_prefrag_stamp {
	u64	check;
	u16	mtu;		/* NF_PREFRAG_MTU_AUTO: the route's */
	u8	df_policy;	/* enum nf_prefrag_df_policy */
	u8	flags;
#define NF_PREFRAG_STAMP_LIFTED_DF	0x01	/* we set skb->ignore_df: undo it */
#define NF_PREFRAG_STAMP_TCP_SEGMENT	0x02	/* NF_PREFRAG_TCP_SEGMENT */
};

#define NF_PREFRAG_STAMP_OFFSET	(sizeof_field(struct sk_buff, cb) - \
				 sizeof(struct nf_prefrag_stamp))

/* nf_prefrag_stamp.c */
void nf_prefrag_stamp_init(void);
void nf_prefrag_stamp_set(struct sk_buff *skb, struct net *net,
			  const struct nf_prefrag_stamp *stamp);
bool nf_prefrag_stamp_take(struct sk_buff *skb, struct net *net,
			   struct nf_prefrag_stamp *stamp);

/* One family's part of the output path. */
struct nf_prefrag_family {
	u8	nfproto;
	/* ip_do_fragment() or ip6_fragment(): cut @skb to its frag_max_size. */
	int	(*fragment)(struct net *net, struct sock *sk, struct sk_buff *skb,
			    int (*output)(struct net *net, struct sock *sk,
					  struct sk_buff *skb));
	/* The MTU the fragmenter cuts to; 0 on what leaves. */
	void	(*set_frag_max_size)(struct sk_buff *skb, unsigned int mtu);
	/* SKB_GSO_TCPV4 or SKB_GSO_TCPV6 */
	unsigned int	gso_tcp_type;
	/* TCP given more segments than its sender numbered: IDs for them
	 * where the family needs them (IPv4 without DF).  0 or -ENOMEM.
	 */
	int	(*tcp_resegmented)(struct sk_buff *skb, struct net *net);
};

/*
 * nf_prefrag_output.c: packets that are too big but must leave whole
 * (@encrypted: IPsec output; or headed into a transport-mode or BEET SA),
 * counted; and the output path of the packets our hook steals.
 */
bool nf_prefrag_left_whole(u8 family, struct sk_buff *skb, struct net *net,
			   bool encrypted);
void nf_prefrag_output(const struct nf_prefrag_family *family,
		       struct sk_buff *skb, unsigned int mtu,
		       const struct nf_hook_state *state);

/*
 * nf_prefrag_tcp.c: "tcp segment" for a TCP packet too big for @mtu, its
 * TCP header at @thoff.  False when it cannot be re-segmented (it is left
 * to the rule's DF policy and the fragmenter), else true with the hook's
 * *verdict.
 */
bool nf_prefrag_tcp_segment(const struct nf_prefrag_family *family,
			    struct sk_buff *skb, unsigned int thoff,
			    unsigned int mtu, const struct nf_hook_state *state,
			    unsigned int *verdict);

/* The POSTROUTING hook functions, one per family. */
unsigned int nf_prefrag_ipv4_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state);
unsigned int nf_prefrag_ipv6_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state);

/* Each part registers its own per-netns state. */
int nf_prefrag_stats_init(void);
void nf_prefrag_stats_exit(void);
int nf_prefrag_icmp_init(void);
void nf_prefrag_icmp_exit(void);
int nf_prefrag_hooks_init(void);
void nf_prefrag_hooks_exit(void);

#endif /* _NF_PREFRAG_INTERNAL_H */
