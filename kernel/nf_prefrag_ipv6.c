// SPDX-License-Identifier: GPL-2.0
/*
 * nf_prefrag, IPv6: cut an oversized packet that this node sends itself at
 * the end of POSTROUTING, with a Fragment header, before IPsec encrypts it.
 *
 * Only the source may fragment an IPv6 packet (RFC 8200, 4.5): a forwarded
 * packet that does not fit gets "packet too big" with the MTU instead, as
 * does one whose socket forbids fragmentation (IPV6_DONTFRAG, PMTUDISC_DO).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ipv6.h>
#include <linux/netfilter_ipv6.h>
#include <net/ipv6.h>
#include <net/ip6_route.h>
#include <linux/netfilter/xt_PREFRAG.h>
#include "compat.h"
#include "nf_prefrag_internal.h"

static void nf_prefrag_ipv6_count(struct net *net, enum nf_prefrag_counter c,
				  unsigned int n)
{
	nf_prefrag_count(net, NFPROTO_IPV6, c, n);
}

void nf_prefrag_ipv6_mark(struct sk_buff *skb, struct net *net,
			  unsigned int mtu)
{
	struct nf_prefrag_stamp stamp = { .mtu = mtu };

	nf_prefrag_stamp_set(skb, net, &stamp);
}
EXPORT_SYMBOL_GPL(nf_prefrag_ipv6_mark);

/* Fragments go to the output path; our MTU must not stay on them. */
static int nf_prefrag_ipv6_emit(struct net *net, struct sock *sk,
				struct sk_buff *skb)
{
	IP6CB(skb)->frag_max_size = 0;
	return nf_prefrag_emit_next(net, sk, skb);
}

static void nf_prefrag_ipv6_fragment(struct net *net, struct sock *sk,
				     struct sk_buff *skb, unsigned int mtu,
				     nf_prefrag_okfn_t okfn)
{
	const struct nf_ipv6_ops *v6ops;

	/* ip6_fragment() cuts to frag_max_size when set (never above the
	 * route's MTU); it is not exported, but reachable through nf_ipv6_ops.
	 */
	IP6CB(skb)->frag_max_size = mtu;

	rcu_read_lock();
	v6ops = nf_get_ipv6_ops();
	if (v6ops && v6ops->fragment) {
		nf_prefrag_cut(net, NFPROTO_IPV6, sk, skb, okfn,
			       v6ops->fragment, nf_prefrag_ipv6_emit);
	} else {
		kfree_skb(skb);
		nf_prefrag_ipv6_count(net, NF_PREFRAG_ERRORS, 1);
	}
	rcu_read_unlock();
}

unsigned int nf_prefrag_ipv6_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct nf_prefrag_stamp stamp;
	struct net *net = state->net;
	unsigned int mtu, verdict;
	__be16 frag_off;
	u8 nexthdr;
	int protoff;

	if (!nf_prefrag_stamp_take(skb, net, &stamp))
		return NF_ACCEPT;

	mtu = nf_prefrag_ipv6_route_mtu(skb);
	if (stamp.mtu != XT_PREFRAG_MTU_AUTO && stamp.mtu < mtu)
		mtu = max_t(unsigned int, stamp.mtu, IPV6_MIN_MTU);
	if (nf_prefrag_fits(skb, mtu))
		return NF_ACCEPT;

	if (nf_prefrag_left_whole(net, NFPROTO_IPV6, skb,
				  IP6CB(skb)->flags & IP6SKB_XFRM_TRANSFORMED))
		return NF_ACCEPT;

	/* ignore_df: set on local packets whose socket allows fragments. */
	if ((IP6CB(skb)->flags & IP6SKB_FORWARDED) || !skb->ignore_df) {
		nf_prefrag_ipv6_send_too_big(skb, net, mtu);
		nf_prefrag_ipv6_count(net, NF_PREFRAG_DF_REJECTED, 1);
		return NF_DROP;
	}

	protoff = ipv6_skip_exthdr(skb, skb_network_offset(skb) +
				   sizeof(struct ipv6hdr), &nexthdr, &frag_off);
	if (protoff < 0)
		return NF_ACCEPT;	/* malformed: leave it to the kernel */

	/* The confirm hook will not see the packet we steal. */
	verdict = nf_prefrag_ct_confirm(skb, protoff, state);
	if (verdict != NF_ACCEPT)
		return verdict;

	nf_prefrag_output(net, NFPROTO_IPV6, state->sk, skb, mtu, state->okfn,
			  nf_prefrag_ipv6_fragment);
	return NF_STOLEN;
}
