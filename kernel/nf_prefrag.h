/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nf_prefrag core: what its front ends (xt_PREFRAG, xt_CLEARDF,
 * xt_REJECT_MTU) use.  The core has its own vocabulary (DF policy, MTU
 * auto); each front end translates its ABI to it.
 *
 * Where a packet is decided: a rule calls nf_prefrag_ipv4_mark() or
 * nf_prefrag_ipv6_mark(), which only record the decision on the packet.
 * Where it is cut: a hook at the very end of POSTROUTING (nf_prefrag_ipv4.c,
 * nf_prefrag_ipv6.c) hands it to the output path (nf_prefrag_output.c),
 * which cuts it and sends the pieces straight on, so that no fragment ever
 * re-enters a netfilter hook.
 */
#ifndef _NF_PREFRAG_H
#define _NF_PREFRAG_H

#include <linux/netfilter.h>
#include <linux/skbuff.h>
#include <net/dst.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include "compat.h"

/* What becomes of a packet that is too big and has DF set (IPv4). */
enum nf_prefrag_df_policy {
	NF_PREFRAG_DF_REJECT,	/* drop it, "fragmentation needed" with the MTU */
	NF_PREFRAG_DF_KEEP,	/* leave it to the kernel */
	NF_PREFRAG_DF_CLEAR,	/* clear DF, a fresh IP ID, cut it */
};

/* What becomes of TCP that is too big. */
enum nf_prefrag_tcp_mode {
	NF_PREFRAG_TCP_FRAGMENT,	/* as any other packet */
	NF_PREFRAG_TCP_SEGMENT,		/* re-segmented to fit: no fragments, DF kept */
};

/* A rule's MTU: a number, or this for the MTU of the packet's route. */
#define NF_PREFRAG_MTU_AUTO	0

enum nf_prefrag_counter {
	NF_PREFRAG_PACKETS_FRAGMENTED,	/* packets cut into fragments */
	NF_PREFRAG_FRAGMENTS_SENT,	/* fragments handed to the output path */
	NF_PREFRAG_REFUSED,		/* too big, may not be cut: dropped */
	NF_PREFRAG_DF_CLEARED,		/* DF cleared (PREFRAG --df clear, CLEARDF) */
	NF_PREFRAG_IDS_RENEWED,		/* CLEARDF: fresh IP ID without DF to clear */
	NF_PREFRAG_TRANSPORT_SKIPPED,	/* left whole: next hop is a transport-mode SA */
	NF_PREFRAG_ENCRYPTED_SKIPPED,	/* left whole: IPsec output, already encrypted */
	NF_PREFRAG_GSO_SEGMENTED,	/* GSO packets segmented before cutting */
	NF_PREFRAG_TCP_SEGMENTED,	/* TCP packets re-segmented to fit */
	NF_PREFRAG_ERRORS,		/* dropped: no memory, bad packet, output full */
	NF_PREFRAG_TOO_BIG_SENT,	/* ICMP frag-needed / ICMPv6 too big sent */
	NF_PREFRAG_TOO_BIG_LIMITED,	/* ... not sent: over the rate limit */
	__NF_PREFRAG_COUNTER_MAX
};

void nf_prefrag_count(struct net *net, u8 family, enum nf_prefrag_counter c,
		      unsigned int n);

/*
 * Each rule that needs the POSTROUTING hook of @family (NFPROTO_INET: both)
 * in @net holds one use of it, from its checkentry to its destroy.
 */
int nf_prefrag_hook_get(struct net *net, u8 family);
void nf_prefrag_hook_put(struct net *net, u8 family);

/* Called by a rule: cut this packet at the end of POSTROUTING. */
void nf_prefrag_ipv4_mark(struct sk_buff *skb, struct net *net,
			  unsigned int hook, unsigned int mtu,
			  enum nf_prefrag_df_policy df_policy,
			  enum nf_prefrag_tcp_mode tcp_mode);

/* A fresh IP ID (one per GSO segment), and DF cleared if asked. */
int nf_prefrag_ipv4_renew_id(struct sk_buff *skb, struct net *net,
			     bool clear_df);

/*
 * ICMP "fragmentation needed" (ICMPv6 "packet too big") with @mtu, to the
 * sender of @skb.  The kernel exempts these from its ICMP rate limit;
 * ours is per netns (sysctl net.netfilter.nf_prefrag_icmp_{rate,burst}).
 */
void nf_prefrag_ipv4_send_too_big(struct sk_buff *skb, struct net *net,
				  unsigned int mtu);

#if IS_ENABLED(CONFIG_IPV6)
void nf_prefrag_ipv6_mark(struct sk_buff *skb, struct net *net,
			  unsigned int hook, unsigned int mtu,
			  enum nf_prefrag_tcp_mode tcp_mode);
void nf_prefrag_ipv6_send_too_big(struct sk_buff *skb, struct net *net,
				  unsigned int mtu);
#else
static inline void nf_prefrag_ipv6_mark(struct sk_buff *skb, struct net *net,
					unsigned int hook, unsigned int mtu,
					enum nf_prefrag_tcp_mode tcp_mode)
{
}

static inline void nf_prefrag_ipv6_send_too_big(struct sk_buff *skb,
						struct net *net,
						unsigned int mtu)
{
}
#endif

/*
 * The MTU to act on for a rule's MTU (never more than the route's), or for
 * NF_PREFRAG_MTU_AUTO the route's (for IPsec, the SA path's, after ESP
 * overhead, also through xfrm interfaces and VTIs), whatever the sending
 * socket's PMTU mode (nf_prefrag_route.c).
 */
unsigned int nf_prefrag_ipv4_mtu(struct sk_buff *skb, unsigned int rule_mtu);
unsigned int nf_prefrag_ipv6_mtu(struct sk_buff *skb, unsigned int rule_mtu);

/* Does @skb (all its segments, for GSO) fit in @mtu? */
static inline bool nf_prefrag_fits(const struct sk_buff *skb, unsigned int mtu)
{
	if (skb->len <= mtu)
		return true;
	return skb_is_gso(skb) && skb_gso_validate_network_len(skb, mtu);
}

#endif /* _NF_PREFRAG_H */
