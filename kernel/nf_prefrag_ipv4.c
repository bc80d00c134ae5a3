// SPDX-License-Identifier: GPL-2.0
/*
 * nf_prefrag, IPv4: a rule marks the packet; at the end of POSTROUTING the
 * hook decides, with the real MTU, whether it fits, may be cut, or is
 * refused (DF), and hands what must be cut to the output path.
 */
#include <linux/ip.h>
#include <net/checksum.h>
#include <net/ip.h>
#include <net/route.h>
#include <net/tcp.h>
#include "nf_prefrag_internal.h"

static bool nf_prefrag_ipv4_df(const struct sk_buff *skb)
{
	return ip_hdr(skb)->frag_off & htons(IP_DF);
}

/* The TCP header's offset, or 0: not TCP, or a fragment of it. */
static unsigned int nf_prefrag_ipv4_tcp_offset(const struct sk_buff *skb)
{
	const struct iphdr *iph = ip_hdr(skb);

	if (iph->protocol != IPPROTO_TCP || ip_is_fragment(iph))
		return 0;
	return skb_network_offset(skb) + ip_hdrlen(skb);
}

void nf_prefrag_ipv4_mark(struct sk_buff *skb, struct net *net,
			  unsigned int hook, unsigned int mtu,
			  enum nf_prefrag_df_policy df_policy,
			  enum nf_prefrag_tcp_mode tcp_mode)
{
	struct nf_prefrag_stamp stamp = {
		.mtu		= mtu,
		.df_policy	= df_policy,
	};
	bool segment = tcp_mode == NF_PREFRAG_TCP_SEGMENT &&
		       nf_prefrag_ipv4_tcp_offset(skb);

	if (tcp_mode == NF_PREFRAG_TCP_SEGMENT)
		stamp.flags |= NF_PREFRAG_STAMP_TCP_SEGMENT;
	/*
	 * ip_forward() refuses a DF packet too big for its route (the tunnel)
	 * before FORWARD, so our DF policy would never get to act on it.  In
	 * PREROUTING, let such packets through ip_forward() with ignore_df;
	 * the POSTROUTING hook undoes that and decides with the real MTU.
	 */
	if (hook == NF_INET_PRE_ROUTING &&
	    (df_policy != NF_PREFRAG_DF_KEEP || segment) &&
	    !skb->ignore_df && nf_prefrag_ipv4_df(skb) &&
	    (mtu == NF_PREFRAG_MTU_AUTO || skb->len > mtu)) {
		skb->ignore_df = 1;
		stamp.flags |= NF_PREFRAG_STAMP_LIFTED_DF;
	}
	nf_prefrag_stamp_set(skb, net, &stamp);
}
EXPORT_SYMBOL_GPL(nf_prefrag_ipv4_mark);

int nf_prefrag_ipv4_renew_id(struct sk_buff *skb, struct net *net,
			     bool clear_df)
{
	struct iphdr *iph;
	__be16 old_id;
	int segs = 1;

	/* A clone (the sending socket's) shares the gso_type we change. */
	if ((skb_is_gso(skb) && skb_unclone(skb, GFP_ATOMIC)) ||
	    skb_ensure_writable(skb, skb_network_offset(skb) + sizeof(*iph)))
		return -ENOMEM;
	iph = ip_hdr(skb);

	if (skb_is_gso(skb)) {
		/*
		 * A fixed-ID aggregate without DF cannot be segmented
		 * (inet_gso_segment); let its segments count up from a
		 * fresh ID instead, reserving one per segment.
		 */
		skb_shinfo(skb)->gso_type &= ~SKB_GSO_TCP_FIXEDID;
		segs = skb_shinfo(skb)->gso_segs ?: 1;
	}

	if (clear_df) {
		csum_replace2(&iph->check, iph->frag_off,
			      iph->frag_off & ~htons(IP_DF));
		iph->frag_off &= ~htons(IP_DF);
	}
	/* Senders put ID 0 on DF packets: without a fresh one, fragments of
	 * different datagrams would be reassembled together.
	 */
	old_id = iph->id;
	__ip_select_ident(net, iph, segs);
	csum_replace2(&iph->check, old_id, iph->id);
	return 0;
}
EXPORT_SYMBOL_GPL(nf_prefrag_ipv4_renew_id);

/*
 * The fragments to send: a reassembled packet is never sent in larger
 * pieces than it came in (as ip_fragment() does).  TCP re-segmented makes
 * new packets, not fragments: it is not bound by this.
 */
static unsigned int nf_prefrag_ipv4_fragment_mtu(struct sk_buff *skb,
						 unsigned int mtu)
{
	if (IPCB(skb)->frag_max_size && IPCB(skb)->frag_max_size < mtu)
		return IPCB(skb)->frag_max_size;
	return mtu;
}

static void nf_prefrag_ipv4_set_frag_max_size(struct sk_buff *skb,
					      unsigned int mtu)
{
	IPCB(skb)->frag_max_size = mtu;
}

/* Without DF, segments may still be cut further on: one ID each. */
static int nf_prefrag_ipv4_tcp_resegmented(struct sk_buff *skb, struct net *net)
{
	if (nf_prefrag_ipv4_df(skb))
		return 0;
	return nf_prefrag_ipv4_renew_id(skb, net, false);
}

static void nf_prefrag_ipv4_tcp_send_check(struct sk_buff *skb,
					   unsigned int len)
{
	tcp_hdr(skb)->check = ~tcp_v4_check(len, ip_hdr(skb)->saddr,
					    ip_hdr(skb)->daddr, 0);
}

/* ip_do_fragment() cuts to min(route MTU, frag_max_size), DF or not. */
static const struct nf_prefrag_family nf_prefrag_ipv4_family = {
	.nfproto		= NFPROTO_IPV4,
	.fragment		= ip_do_fragment,
	.set_frag_max_size	= nf_prefrag_ipv4_set_frag_max_size,
	.gso_tcp_type		= SKB_GSO_TCPV4,
	.tcp_send_check		= nf_prefrag_ipv4_tcp_send_check,
	.tcp_resegmented	= nf_prefrag_ipv4_tcp_resegmented,
};

unsigned int nf_prefrag_ipv4_out(void *priv, struct sk_buff *skb,
				 const struct nf_hook_state *state)
{
	struct nf_prefrag_stamp stamp;
	struct net *net = state->net;
	unsigned int mtu, verdict, thoff;

	if (!nf_prefrag_stamp_take(skb, net, &stamp))
		return NF_ACCEPT;
	if (stamp.flags & NF_PREFRAG_STAMP_LIFTED_DF)
		skb->ignore_df = 0;

	mtu = nf_prefrag_ipv4_mtu(skb, stamp.mtu);
	if (nf_prefrag_fits(skb, nf_prefrag_ipv4_fragment_mtu(skb, mtu)))
		return NF_ACCEPT;

	if (nf_prefrag_left_whole(NFPROTO_IPV4, skb, net,
				  IPCB(skb)->flags & IPSKB_XFRM_TRANSFORMED))
		return NF_ACCEPT;

	if (stamp.flags & NF_PREFRAG_STAMP_TCP_SEGMENT) {
		thoff = nf_prefrag_ipv4_tcp_offset(skb);
		if (thoff && nf_prefrag_tcp_can_segment(&nf_prefrag_ipv4_family,
							skb, thoff, mtu))
			return nf_prefrag_tcp_segment(&nf_prefrag_ipv4_family,
						      skb, mtu, state);
	}

	mtu = nf_prefrag_ipv4_fragment_mtu(skb, mtu);
	/* ignore_df: the sender allows fragmentation despite DF (as
	 * ip_fragment() does).
	 */
	if (nf_prefrag_ipv4_df(skb) && !skb->ignore_df) {
		switch (stamp.df_policy) {
		case NF_PREFRAG_DF_KEEP:
			return NF_ACCEPT;
		case NF_PREFRAG_DF_CLEAR:
			if (nf_prefrag_ipv4_renew_id(skb, net, true)) {
				nf_prefrag_count(net, NFPROTO_IPV4, NF_PREFRAG_ERRORS, 1);
				return NF_DROP;
			}
			nf_prefrag_count(net, NFPROTO_IPV4, NF_PREFRAG_DF_CLEARED, 1);
			break;
		default:
			nf_prefrag_ipv4_send_too_big(skb, net, mtu);
			nf_prefrag_count(net, NFPROTO_IPV4, NF_PREFRAG_REFUSED, 1);
			return NF_DROP;
		}
	}

	/* The confirm hook will not see the packet we steal. */
	verdict = nf_prefrag_ct_confirm(skb, skb_network_offset(skb) +
					ip_hdrlen(skb), state);
	if (verdict != NF_ACCEPT)
		return verdict;

	nf_prefrag_output(&nf_prefrag_ipv4_family, skb, mtu, state);
	return NF_STOLEN;
}
