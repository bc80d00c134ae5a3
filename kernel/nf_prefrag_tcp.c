// SPDX-License-Identifier: GPL-2.0
/*
 * nf_prefrag core: "tcp segment", TCP too big for the MTU re-segmented to
 * fit instead of fragmented: no IP fragment for the path to drop or for the
 * peer to reassemble, and DF stays as the sender set it.
 *
 * Most packets are only relabelled: an aggregate gets a smaller gso_size, a
 * single segment becomes a GSO packet, and the GSO engine cuts them later
 * (xfrm_output_gso() before encryption, or the device) as it cuts a local
 * socket's packets, keeping sequence numbers, PSH/FIN/CWR on the right
 * segment, options, ECN and checksums.  Two kinds are cut here instead:
 *  - aggregates with a frag_list: skb_segment() relies on the list's
 *    members ending on gso_size boundaries (a changed gso_size there has
 *    crashed it in mainline), so they are cut at their own gso_size first;
 *  - URG: the GSO engine copies the urgent pointer into every segment,
 *    where it must point at the same byte, or be cleared past it.
 */
#include <linux/netfilter.h>
#include <linux/tcp.h>
#include <net/tcp.h>
#include "nf_prefrag_internal.h"

/*
 * Bytes every segment repeats: the network header up to the end of the TCP
 * options, pulled into the linear part by nf_prefrag_tcp_can_segment().
 */
static unsigned int nf_prefrag_tcp_mss(const struct sk_buff *skb,
				       unsigned int mtu)
{
	return mtu - skb_network_header_len(skb) - tcp_hdrlen(skb);
}

/*
 * Options that must not be copied into smaller segments: signatures
 * (TCP-MD5: BGP sessions; TCP-AO) the receiver would find wrong; malformed
 * options are left alone too.
 */
static bool nf_prefrag_tcp_options_forbid(const struct sk_buff *skb)
{
	unsigned int i, len = tcp_optlen(skb);
	const u8 *opt = (const u8 *)(tcp_hdr(skb) + 1);

	for (i = 0; i < len;) {
		switch (opt[i]) {
		case TCPOPT_EOL:
			return false;
		case TCPOPT_NOP:
			i++;
			continue;
		case TCPOPT_MD5SIG:
		case TCPOPT_AO:
			return true;
		}
		if (i + 1 >= len || opt[i + 1] < 2)
			return true;
		i += opt[i + 1];
	}
	return false;
}

/*
 * The GSO engine writes each segment's checksum from the pseudo-header sum;
 * a packet whose checksum nobody checked must not come out with good ones.
 * A partial checksum must be TCP's own, not an outer header's.
 */
static bool nf_prefrag_tcp_csum_ok(const struct nf_prefrag_family *family,
				   struct sk_buff *skb)
{
	if (skb->ip_summed == CHECKSUM_PARTIAL)
		return skb_checksum_start_offset(skb) == skb_transport_offset(skb);
	return !nf_checksum(skb, NF_INET_POST_ROUTING, skb_transport_offset(skb),
			    IPPROTO_TCP, family->nfproto);
}

bool nf_prefrag_tcp_can_segment(const struct nf_prefrag_family *family,
				struct sk_buff *skb, unsigned int thoff,
				unsigned int mtu)
{
	const struct tcphdr *th;
	unsigned int thlen;

	if (skb_is_gso(skb) &&
	    (skb->encapsulation ||
	     !(skb_shinfo(skb)->gso_type & family->gso_tcp_type)))
		return false;

	/* Pulled once here: every later step reads the header in place. */
	if (!pskb_may_pull(skb, thoff + sizeof(*th)))
		return false;
	thlen = ((struct tcphdr *)(skb->data + thoff))->doff * 4;
	if (thlen < sizeof(*th) || !pskb_may_pull(skb, thoff + thlen))
		return false;
	skb_set_transport_header(skb, thoff);
	th = tcp_hdr(skb);

	/* SYN and RST belong on one segment only.  No segment is made
	 * smaller than the kernel's own floor for an MSS: one packet in never
	 * becomes more than a segment per TCP_MIN_MSS bytes, whatever MTU a
	 * sender's tiny fragments or a small route suggest; below it the
	 * packet is fragmented, as without the rule.
	 */
	if (th->syn || th->rst || skb->len <= thoff + thlen ||
	    mtu < skb_network_header_len(skb) + thlen + TCP_MIN_MSS ||
	    nf_prefrag_tcp_options_forbid(skb))
		return false;
	if (skb_is_gso(skb))
		return nf_prefrag_tcp_mss(skb, mtu) < skb_shinfo(skb)->gso_size;
	return nf_prefrag_tcp_csum_ok(family, skb);
}

/* Relabel @skb as a GSO packet of @mss-byte segments. */
static int nf_prefrag_tcp_resize(const struct nf_prefrag_family *family,
				 struct sk_buff *skb, unsigned int mss)
{
	unsigned int len = skb->len - skb_transport_offset(skb);
	struct skb_shared_info *shinfo;

	/* A clone shares skb_shared_info: a local socket's (TCP counts its
	 * segments from gso_size), or a packet tap's.  Devices that segment
	 * want every header in the linear part.
	 */
	if (skb_unclone(skb, GFP_ATOMIC) ||
	    skb_ensure_writable(skb, skb_transport_offset(skb) + tcp_hdrlen(skb)))
		return -ENOMEM;
	shinfo = skb_shinfo(skb);

	if (skb_is_gso(skb)) {
		skb_decrease_gso_size(shinfo, shinfo->gso_size - mss);
	} else {
		if (skb->ip_summed != CHECKSUM_PARTIAL) {
			family->tcp_send_check(skb, len);
			if (!skb_partial_csum_set(skb, skb_transport_offset(skb),
						  offsetof(struct tcphdr, check)))
				return -EINVAL;
		}
		shinfo->gso_type = family->gso_tcp_type;
		if (tcp_hdr(skb)->cwr)
			shinfo->gso_type |= NF_PREFRAG_GSO_TCP_CWR;
		shinfo->gso_size = mss;
	}
	shinfo->gso_segs = DIV_ROUND_UP(len - tcp_hdrlen(skb), mss);
	/* Our MTU must not stay on it: the ESP packets would be cut to it. */
	family->set_frag_max_size(skb, 0);
	return 0;
}

/*
 * Relabelled for segments of @mtu, with IDs of their own where the family
 * needs them: the segments are new packets, the IDs that count up from the
 * sender's belong to its next packets.
 */
static int nf_prefrag_tcp_resegment(const struct nf_prefrag_family *family,
				    struct sk_buff *skb, unsigned int mtu,
				    struct net *net)
{
	int err = nf_prefrag_tcp_resize(family, skb, nf_prefrag_tcp_mss(skb, mtu));

	if (!err && family->tcp_resegmented)
		err = family->tcp_resegmented(skb, net);
	return err;
}

/* Each segment's urgent pointer at the first one's byte, or none past it. */
static void nf_prefrag_tcp_fix_urg(struct sk_buff *segs)
{
	struct tcphdr *th = tcp_hdr(segs);
	u32 urg_end = ntohl(th->seq) + ntohs(th->urg_ptr);
	struct sk_buff *seg;

	for (seg = segs->next; seg; seg = seg->next) {
		s32 left;
		__be32 old_flags;
		__be16 old_ptr;

		th = tcp_hdr(seg);
		left = urg_end - ntohl(th->seq);
		old_flags = tcp_flag_word(th);
		old_ptr = th->urg_ptr;
		if (left > 0) {
			th->urg_ptr = htons(left);
		} else {
			th->urg = 0;
			th->urg_ptr = 0;
		}
		inet_proto_csum_replace4(&th->check, seg, old_flags,
					 tcp_flag_word(th), false);
		inet_proto_csum_replace2(&th->check, seg, old_ptr, th->urg_ptr,
					 false);
	}
}

/* A segment too big for @mtu, without a frag_list: cut here and sent. */
static void nf_prefrag_tcp_cut(const struct nf_prefrag_family *family,
			       struct sk_buff *skb, unsigned int mtu,
			       const struct nf_hook_state *state)
{
	struct sk_buff *segs;

	if (nf_prefrag_tcp_resegment(family, skb, mtu, state->net)) {
		kfree_skb(skb);
		nf_prefrag_count(state->net, family->nfproto,
				 NF_PREFRAG_ERRORS, 1);
		return;
	}
	segs = nf_prefrag_gso_segment(family, skb, state);
	if (!segs)
		return;
	if (tcp_hdr(segs)->urg)
		nf_prefrag_tcp_fix_urg(segs);
	nf_prefrag_send(family, segs, mtu, state, NULL);
}

unsigned int nf_prefrag_tcp_segment(const struct nf_prefrag_family *family,
				    struct sk_buff *skb, unsigned int mtu,
				    const struct nf_hook_state *state)
{
	struct net *net = state->net;
	struct sk_buff *segs;
	unsigned int verdict;

	/* Reassembled by defrag: its pieces have no common size. */
	if (skb_has_frag_list(skb) && !skb_is_gso(skb) && skb_linearize(skb))
		goto drop;

	if (!skb_has_frag_list(skb) && !tcp_hdr(skb)->urg) {
		if (nf_prefrag_tcp_resegment(family, skb, mtu, net))
			goto drop;
		nf_prefrag_count(net, family->nfproto, NF_PREFRAG_TCP_SEGMENTED, 1);
		return NF_ACCEPT;
	}

	/* Cut here.  The confirm hook will not see the packet we steal. */
	verdict = nf_prefrag_ct_confirm(skb, skb_transport_offset(skb), state);
	if (verdict != NF_ACCEPT)
		return verdict;
	nf_prefrag_count(net, family->nfproto, NF_PREFRAG_TCP_SEGMENTED, 1);
	if (!skb_has_frag_list(skb)) {
		nf_prefrag_tcp_cut(family, skb, mtu, state);
		return NF_STOLEN;
	}
	/* At its own gso_size first: the boundaries its frag_list has. */
	segs = nf_prefrag_gso_segment(family, skb, state);
	if (segs)
		nf_prefrag_send(family, segs, mtu, state, nf_prefrag_tcp_cut);
	return NF_STOLEN;

drop:
	nf_prefrag_count(net, family->nfproto, NF_PREFRAG_ERRORS, 1);
	return NF_DROP;
}
