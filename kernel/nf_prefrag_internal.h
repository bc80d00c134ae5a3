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
	/* As __tcp_v4_send_check() or __tcp_v6_send_check(): the
	 * pseudo-header sum of @len bytes of TCP in its checksum field.
	 */
	void	(*tcp_send_check)(struct sk_buff *skb, unsigned int len);
};

/*
 * nf_prefrag_output.c: packets that are too big but must leave whole
 * (@encrypted: IPsec output; or headed into a transport-mode or BEET SA),
 * counted; and the output path of the packets our hook steals.
 */
bool nf_prefrag_left_whole(u8 family, struct sk_buff *skb, struct net *net,
			   bool encrypted);
/* The GSO aggregate @skb in segments, or NULL (dropped and counted). */
struct sk_buff *nf_prefrag_gso_segment(const struct nf_prefrag_family *family,
				       struct sk_buff *skb,
				       const struct nf_hook_state *state);
/*
 * Every packet of the list @segs sent; those too big for @mtu through
 * @cut, which cuts and sends them.
 */
void nf_prefrag_send(const struct nf_prefrag_family *family,
		     struct sk_buff *segs, unsigned int mtu,
		     const struct nf_hook_state *state,
		     void (*cut)(const struct nf_prefrag_family *family,
				 struct sk_buff *skb, unsigned int mtu,
				 const struct nf_hook_state *state));
void nf_prefrag_output(const struct nf_prefrag_family *family,
		       struct sk_buff *skb, unsigned int mtu,
		       const struct nf_hook_state *state);

/*
 * nf_prefrag_tcp.c: "tcp segment" for a TCP packet too big for @mtu, its
 * TCP header at @thoff.  Whether it can be re-segmented (else it is left to
 * the rule's DF policy and the fragmenter); then doing it, which gives the
 * hook's verdict.
 */
bool nf_prefrag_tcp_can_segment(const struct nf_prefrag_family *family,
				struct sk_buff *skb, unsigned int thoff,
				unsigned int mtu);
unsigned int nf_prefrag_tcp_segment(const struct nf_prefrag_family *family,
				    struct sk_buff *skb, unsigned int mtu,
				    const struct nf_hook_state *state);

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
