// SPDX-License-Identifier: GPL-2.0
/*
 * nf_prefrag, IPv6: cut an oversized packet that this node sends itself at
 * the end of POSTROUTING, with a Fragment header, before IPsec encrypts it.
 *
 * Only the source may fragment an IPv6 packet (RFC 8200, 4.5): a forwarded
 * packet that does not fit gets "packet too big" with the MTU instead, as
 * does one whose socket forbids fragmentation (IPV6_DONTFRAG, PMTUDISC_DO).
 */
#include <linux/ipv6.h>
#include <linux/netfilter_ipv6.h>
#include <net/ip6_checksum.h>
#include <net/ipv6.h>
#include "nf_prefrag_internal.h"

#if IS_ENABLED(CONFIG_IPV6)
/*
 * The TCP header's offset, or 0: not TCP, or with a Fragment header, with
 * AH (its digest covers the payload), or with a routing header that has
 * segments left.  Forwarded TCP may be re-segmented too: that makes no
 * fragment.  PREROUTING's mark and POSTROUTING's hook ask the same.
 */
static unsigned int nf_prefrag_ipv6_tcp_offset(struct sk_buff *skb)
{
	unsigned int thoff = 0, rhoff = 0;
	int flags = 0, rh_flags = IP6_FH_F_SKIP_RH;

	if (ipv6_find_hdr(skb, &thoff, IPPROTO_TCP, NULL, &flags) != IPPROTO_TCP ||
	    (flags & (IP6_FH_F_FRAG | IP6_FH_F_AUTH)))
		return 0;
	/* With segments left, daddr is not the final destination that the
	 * segments' checksums must cover.
	 */
	if (ipv6_find_hdr(skb, &rhoff, NEXTHDR_ROUTING, NULL, &rh_flags) ==
	    NEXTHDR_ROUTING)
		return 0;
	return thoff;
}

void nf_prefrag_ipv6_mark(struct sk_buff *skb, struct net *net,
			  unsigned int hook, unsigned int mtu,
			  enum nf_prefrag_tcp_mode tcp_mode)
{
	struct nf_prefrag_stamp stamp = { .mtu = mtu };

	if (tcp_mode == NF_PREFRAG_TCP_SEGMENT)
		stamp.flags |= NF_PREFRAG_STAMP_TCP_SEGMENT;
	/*
	 * ip6_forward() answers "packet too big" before FORWARD; TCP that
	 * can be re-segmented is let through with ignore_df, which the
	 * POSTROUTING hook undoes.
	 */
	if (hook == NF_INET_PRE_ROUTING &&
	    tcp_mode == NF_PREFRAG_TCP_SEGMENT && !skb->ignore_df &&
	    nf_prefrag_ipv6_tcp_offset(skb) &&
	    (mtu == NF_PREFRAG_MTU_AUTO || skb->len > mtu)) {
		skb->ignore_df = 1;
		stamp.flags |= NF_PREFRAG_STAMP_LIFTED_DF;
	}
	nf_prefrag_stamp_set(skb, net, &stamp);
}
EXPORT_SYMBOL_GPL(nf_prefrag_ipv6_mark);

static void nf_prefrag_ipv6_set_frag_max_size(struct sk_buff *skb,
					      unsigned int mtu)
{
	IP6CB(skb)->frag_max_size = mtu;
}

/* ip6_fragment() cuts to frag_max_size when set (never above the route's MTU). */
static int nf_prefrag_ipv6_fragment(struct net *net, struct sock *sk,
				    struct sk_buff *skb,
				    int (*output)(struct net *, struct sock *,
						  struct sk_buff *))
{
	return nf_prefrag_ip6_fragment(net, sk, skb, output);
}

static void nf_prefrag_ipv6_tcp_send_check(struct sk_buff *skb,
					   unsigned int len)
{
	tcp_hdr(skb)->check = ~tcp_v6_check(len, &ipv6_hdr(skb)->saddr,
					    &ipv6_hdr(skb)->daddr, 0);
}

static const struct nf_prefrag_family nf_prefrag_ipv6_family = {
	.nfproto		= NFPROTO_IPV6,
	.fragment		= nf_prefrag_ipv6_fragment,
	.set_frag_max_size	= nf_prefrag_ipv6_set_frag_max_size,
	.gso_tcp_type		= SKB_GSO_TCPV6,
	.tcp_send_check		= nf_prefrag_ipv6_tcp_send_check,
};

unsigned int nf_prefrag_ipv6_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct nf_prefrag_stamp stamp;
	struct net *net = state->net;
	unsigned int mtu, verdict, thoff;
	__be16 frag_off;
	u8 nexthdr;
	int protoff;

	if (!nf_prefrag_stamp_take(skb, net, &stamp))
		return NF_ACCEPT;
	if (stamp.flags & NF_PREFRAG_STAMP_LIFTED_DF)
		skb->ignore_df = 0;

	mtu = nf_prefrag_ipv6_mtu(skb, stamp.mtu);
	if (nf_prefrag_fits(skb, mtu))
		return NF_ACCEPT;

	if (nf_prefrag_left_whole(NFPROTO_IPV6, skb, net,
				  IP6CB(skb)->flags & IP6SKB_XFRM_TRANSFORMED))
		return NF_ACCEPT;

	if (stamp.flags & NF_PREFRAG_STAMP_TCP_SEGMENT) {
		thoff = nf_prefrag_ipv6_tcp_offset(skb);
		if (thoff && nf_prefrag_tcp_can_segment(&nf_prefrag_ipv6_family,
							skb, thoff, mtu))
			return nf_prefrag_tcp_segment(&nf_prefrag_ipv6_family,
						      skb, mtu, state);
	}

	/* Only the source may fragment: ignore_df is set on packets of local
	 * sockets that allow it, and on packets conntrack reassembled, which
	 * ip6_fragment() cuts again (IP6SKB_FORWARDED is multicast routing's).
	 */
	if ((IP6CB(skb)->flags & IP6SKB_FORWARDED) || !skb->ignore_df) {
		nf_prefrag_ipv6_send_too_big(skb, net, mtu);
		nf_prefrag_count(net, NFPROTO_IPV6, NF_PREFRAG_REFUSED, 1);
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

	/* A reassembled packet is never sent in larger pieces than it came in
	 * (as ip6_fragment() does), nor in pieces below the minimum MTU.
	 */
	if (IP6CB(skb)->frag_max_size && IP6CB(skb)->frag_max_size < mtu)
		mtu = max_t(unsigned int, IP6CB(skb)->frag_max_size, IPV6_MIN_MTU);
	nf_prefrag_output(&nf_prefrag_ipv6_family, skb, mtu, state);
	return NF_STOLEN;
}
#endif /* IS_ENABLED(CONFIG_IPV6) */
