/* SPDX-License-Identifier: GPL-2.0 */
/* nf_prefrag core: what its own files share, and nothing else. */
#ifndef _NF_PREFRAG_INTERNAL_H
#define _NF_PREFRAG_INTERNAL_H

#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include "nf_prefrag.h"

#define NF_PREFRAG_NUM_FAMILIES	2	/* ipv4, ipv6 */

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

typedef int (*nf_prefrag_okfn_t)(struct net *net, struct sock *sk,
				 struct sk_buff *skb);

/* ip_do_fragment() or ip6_fragment(): cut @skb, hand each piece to @output. */
typedef int (*nf_prefrag_fragmenter_t)(struct net *net, struct sock *sk,
				       struct sk_buff *skb,
				       nf_prefrag_okfn_t output);

void nf_prefrag_cut(struct net *net, u8 family, struct sock *sk,
		    struct sk_buff *skb, nf_prefrag_okfn_t okfn,
		    nf_prefrag_fragmenter_t fragmenter, nf_prefrag_okfn_t emit);
int nf_prefrag_emit_next(struct net *net, struct sock *sk, struct sk_buff *skb);

/* Cuts one packet (not GSO) to @mtu and sends the pieces to @okfn. */
typedef void (*nf_prefrag_fragment_t)(struct net *net, struct sock *sk,
				      struct sk_buff *skb, unsigned int mtu,
				      nf_prefrag_okfn_t okfn);

void nf_prefrag_output(struct net *net, u8 family, struct sock *sk,
		       struct sk_buff *skb, unsigned int mtu,
		       nf_prefrag_okfn_t okfn, nf_prefrag_fragment_t fragment);

/*
 * Packets that are too big but must still leave whole, counted: @encrypted
 * (the ESP packet of a rule that matched both; cutting it now is what
 * PREFRAG exists to avoid), and packets headed into a transport-mode or BEET
 * SA, which reuse the packet's own IP header, fragment bits included: the
 * peer could not put such ESP packets together.
 */
bool nf_prefrag_left_whole(struct net *net, u8 family, struct sk_buff *skb,
			   bool encrypted);

/* Per-netns token bucket for the ICMP errors we send. */
struct nf_prefrag_icmp_limit {
	spinlock_t		lock;		/* guards last and credit */
	unsigned long		last;		/* jiffies of the last refill */
	u64			credit;		/* tokens * HZ */
	int			rate;		/* sysctl: per second, 0: none */
	int			burst;		/* sysctl */
	struct ctl_table_header	*sysctl;
};

int nf_prefrag_icmp_net_init(struct net *net, struct nf_prefrag_icmp_limit *l);
void nf_prefrag_icmp_net_exit(struct nf_prefrag_icmp_limit *l);
struct nf_prefrag_icmp_limit *nf_prefrag_icmp_limit_of(struct net *net);

unsigned int nf_prefrag_ipv4_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state);
unsigned int nf_prefrag_ipv6_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state);

#endif /* _NF_PREFRAG_INTERNAL_H */
