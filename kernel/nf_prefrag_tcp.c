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
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <net/checksum.h>
#include <net/ip6_checksum.h>
#include <net/tcp.h>
#include "nf_prefrag_internal.h"

/*
 * The smallest segments we make: the kernel's own floor for an MSS.  One
 * packet in can then never become more than a segment per TCP_MIN_MSS
 * bytes out, whatever MTU a sender's tiny fragments or a small route
 * suggest; below it the packet is fragmented instead, as without the rule.
 */
#define NF_PREFRAG_TCP_MIN_MSS	TCP_MIN_MSS

/* RFC 5925: TCP-AO; its signature, as TCP-MD5's, covers the segment. */
#define NF_PREFRAG_TCPOPT_AO	29

/*
 * Options that must not be copied into smaller segments: signatures
 * (TCP-MD5: BGP sessions) the receiver would find wrong; malformed options
 * are left alone.
 */
static bool nf_prefrag_tcp_options_forbid(const struct sk_buff *skb,
					  unsigned int thoff, unsigned int thlen)
{
	unsigned int i, len = thlen - sizeof(struct tcphdr);
	u8 buf[MAX_TCP_OPTION_SPACE];
	const u8 *opt;

	if (!len)
		return false;
	opt = skb_header_pointer(skb, thoff + sizeof(struct tcphdr), len, buf);
	if (!opt)
		return true;
	for (i = 0; i < len;) {
		switch (opt[i]) {
		case TCPOPT_EOL:
			return false;
		case TCPOPT_NOP:
			i++;
			continue;
		case TCPOPT_MD5SIG:
		case NF_PREFRAG_TCPOPT_AO:
			return true;
		}
		if (i + 1 >= len || opt[i + 1] < 2)
			return true;
		i += opt[i + 1];
	}
	return false;
}

/* The sum of the pseudo-header for @len bytes of TCP. */
static __wsum nf_prefrag_tcp_pseudo_sum(const struct nf_prefrag_family *family,
					const struct sk_buff *skb,
					unsigned int len)
{
	const struct ipv6hdr *ip6h;
	const struct iphdr *iph;

	if (family->nfproto == NFPROTO_IPV6) {
		ip6h = ipv6_hdr(skb);
		return ~csum_unfold(csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr,
						    len, IPPROTO_TCP, 0));
	}
	iph = ip_hdr(skb);
	return csum_tcpudp_nofold(iph->saddr, iph->daddr, len, IPPROTO_TCP, 0);
}

/*
 * The GSO engine writes each segment's checksum from the pseudo-header sum;
 * a packet whose checksum nobody checked must not come out with good ones.
 */
static bool nf_prefrag_tcp_csum_ok(const struct nf_prefrag_family *family,
				   struct sk_buff *skb, unsigned int thoff)
{
	unsigned int len = skb->len - thoff;

	switch (skb->ip_summed) {
	case CHECKSUM_PARTIAL:
		return skb_checksum_start_offset(skb) == thoff;
	case CHECKSUM_UNNECESSARY:
		return true;
	}
	return !csum_fold(csum_add(skb_checksum(skb, thoff, len, 0),
				   nf_prefrag_tcp_pseudo_sum(family, skb, len)));
}

/* Relabel @skb as a GSO packet of @mss-byte segments. */
static int nf_prefrag_tcp_resize(const struct nf_prefrag_family *family,
				 struct sk_buff *skb, unsigned int thoff,
				 unsigned int thlen, unsigned int mss)
{
	unsigned int len = skb->len - thoff;
	struct skb_shared_info *shinfo;
	struct tcphdr *th;

	/* A clone shares skb_shared_info: a local socket's (TCP counts its
	 * segments from gso_size), or a packet tap's.  Devices that segment
	 * want every header in the linear part.
	 */
	if (skb_unclone(skb, GFP_ATOMIC) ||
	    skb_ensure_writable(skb, thoff + thlen))
		return -ENOMEM;
	shinfo = skb_shinfo(skb);
	th = (struct tcphdr *)(skb->data + thoff);

	if (!skb_is_gso(skb)) {
		skb_set_transport_header(skb, thoff);
		if (skb->ip_summed != CHECKSUM_PARTIAL) {
			th->check = ~csum_fold(nf_prefrag_tcp_pseudo_sum(family, skb, len));
			skb->ip_summed = CHECKSUM_PARTIAL;
			skb->csum_start = skb_transport_header(skb) - skb->head;
			skb->csum_offset = offsetof(struct tcphdr, check);
		}
		shinfo->gso_type = family->gso_tcp_type;
		if (th->cwr)
			shinfo->gso_type |= NF_PREFRAG_GSO_TCP_CWR;
	}
	shinfo->gso_size = mss;
	shinfo->gso_segs = DIV_ROUND_UP(len - thlen, mss);
	/* Our MTU must not stay on it: the ESP packets would be cut to it. */
	family->set_frag_max_size(skb, 0);
	return 0;
}

enum nf_prefrag_tcp_fit {
	NF_PREFRAG_TCP_UNFIT,		/* may not be re-segmented: cut it */
	NF_PREFRAG_TCP_RESIZED,		/* a GSO packet whose segments fit now */
	NF_PREFRAG_TCP_CUT_HERE,	/* steal it, nf_prefrag_tcp_output() */
	NF_PREFRAG_TCP_NO_MEMORY,	/* drop it */
};

static enum nf_prefrag_tcp_fit
nf_prefrag_tcp_fit(const struct nf_prefrag_family *family, struct sk_buff *skb,
		   struct net *net, unsigned int thoff, unsigned int mtu)
{
	unsigned int thlen, hlen;
	const struct tcphdr *th;
	bool urg;

	if (skb_is_gso(skb) &&
	    (skb->encapsulation ||
	     !(skb_shinfo(skb)->gso_type & family->gso_tcp_type)))
		return NF_PREFRAG_TCP_UNFIT;

	/* Pulled once here: every later step reads the header in place. */
	if (!pskb_may_pull(skb, thoff + sizeof(*th)))
		return NF_PREFRAG_TCP_UNFIT;
	thlen = ((struct tcphdr *)(skb->data + thoff))->doff * 4;
	if (thlen < sizeof(*th) || !pskb_may_pull(skb, thoff + thlen))
		return NF_PREFRAG_TCP_UNFIT;
	th = (const struct tcphdr *)(skb->data + thoff);
	hlen = thoff - skb_network_offset(skb) + thlen;
	urg = th->urg;	/* th may point into a head that is about to move */
	/* SYN and RST belong on one segment only. */
	if (th->syn || th->rst || skb->len <= thoff + thlen ||
	    mtu < hlen + NF_PREFRAG_TCP_MIN_MSS ||
	    nf_prefrag_tcp_options_forbid(skb, thoff, thlen))
		return NF_PREFRAG_TCP_UNFIT;
	if (!skb_is_gso(skb) && !nf_prefrag_tcp_csum_ok(family, skb, thoff))
		return NF_PREFRAG_TCP_UNFIT;

	if (skb_has_frag_list(skb)) {
		if (skb_is_gso(skb))
			return NF_PREFRAG_TCP_CUT_HERE;
		/* Reassembled by defrag: its pieces have no common size. */
		if (skb_linearize(skb))
			return NF_PREFRAG_TCP_NO_MEMORY;
	}
	if (urg)
		return NF_PREFRAG_TCP_CUT_HERE;

	if (nf_prefrag_tcp_resize(family, skb, thoff, thlen, mtu - hlen))
		return NF_PREFRAG_TCP_NO_MEMORY;
	nf_prefrag_count(net, family->nfproto, NF_PREFRAG_TCP_SEGMENTED, 1);
	return NF_PREFRAG_TCP_RESIZED;
}

/* Each segment's urgent pointer at the first one's byte, or none past it. */
static void nf_prefrag_tcp_fix_urg(struct sk_buff *segs, unsigned int thoff)
{
	struct tcphdr *th = (struct tcphdr *)(segs->data + thoff);
	u32 urg_end = ntohl(th->seq) + ntohs(th->urg_ptr);
	struct sk_buff *seg;

	for (seg = segs->next; seg; seg = seg->next) {
		s32 left;
		__be32 old_flags;
		__be16 old_ptr;

		th = (struct tcphdr *)(seg->data + thoff);
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

static void nf_prefrag_tcp_send(const struct nf_prefrag_family *family,
				struct sk_buff *segs,
				const struct nf_hook_state *state)
{
	struct sk_buff *seg, *next;

	skb_list_walk_safe(segs, seg, next) {
		skb_mark_not_on_list(seg);
		family->set_frag_max_size(seg, 0);
		state->okfn(state->net, state->sk, seg);
	}
}

/* Software segmentation, checksums complete (they may be headed into IPsec). */
static struct sk_buff *nf_prefrag_tcp_gso_segment(struct sk_buff *skb,
						  const struct nf_hook_state *state,
						  u8 nfproto)
{
	struct sk_buff *segs = skb_gso_segment(skb, 0);

	if (IS_ERR_OR_NULL(segs)) {
		kfree_skb(skb);
		nf_prefrag_count(state->net, nfproto, NF_PREFRAG_ERRORS, 1);
		return NULL;
	}
	consume_skb(skb);
	return segs;
}

/* A segment that does not fit, without a frag_list: cut to fit and send. */
static void nf_prefrag_tcp_cut(const struct nf_prefrag_family *family,
			       struct sk_buff *skb, unsigned int thoff,
			       unsigned int mtu,
			       const struct nf_hook_state *state)
{
	unsigned int thlen = tcp_hdrlen(skb);
	unsigned int hlen = thoff - skb_network_offset(skb) + thlen;
	struct sk_buff *segs;

	/* Its segments are new packets: IDs of their own, not the ones that
	 * count up from the sender's (its next packets have those).
	 */
	if (nf_prefrag_tcp_resize(family, skb, thoff, thlen, mtu - hlen) ||
	    (family->tcp_resegmented &&
	     family->tcp_resegmented(skb, state->net))) {
		kfree_skb(skb);
		nf_prefrag_count(state->net, family->nfproto,
				 NF_PREFRAG_ERRORS, 1);
		return;
	}
	segs = nf_prefrag_tcp_gso_segment(skb, state, family->nfproto);
	if (!segs)
		return;
	if (tcp_hdr(segs)->urg)
		nf_prefrag_tcp_fix_urg(segs, thoff);
	nf_prefrag_tcp_send(family, segs, state);
}

static void nf_prefrag_tcp_output(const struct nf_prefrag_family *family,
				  struct sk_buff *skb, unsigned int thoff,
				  unsigned int mtu,
				  const struct nf_hook_state *state)
{
	struct sk_buff *segs, *seg, *next;

	nf_prefrag_count(state->net, family->nfproto, NF_PREFRAG_TCP_SEGMENTED, 1);
	skb_set_transport_header(skb, thoff);
	if (!skb_has_frag_list(skb)) {
		nf_prefrag_tcp_cut(family, skb, thoff, mtu, state);
		return;
	}

	/* At its own gso_size first: the boundaries its frag_list has. */
	segs = nf_prefrag_tcp_gso_segment(skb, state, family->nfproto);
	if (!segs)
		return;
	skb_list_walk_safe(segs, seg, next) {
		skb_mark_not_on_list(seg);
		if (seg->len <= mtu) {
			family->set_frag_max_size(seg, 0);
			state->okfn(state->net, state->sk, seg);
		} else {
			nf_prefrag_tcp_cut(family, seg, thoff, mtu, state);
		}
	}
}

bool nf_prefrag_tcp_segment(const struct nf_prefrag_family *family,
			    struct sk_buff *skb, unsigned int thoff,
			    unsigned int mtu, const struct nf_hook_state *state,
			    unsigned int *verdict)
{
	struct net *net = state->net;

	switch (nf_prefrag_tcp_fit(family, skb, net, thoff, mtu)) {
	case NF_PREFRAG_TCP_UNFIT:
		return false;
	case NF_PREFRAG_TCP_RESIZED:
		*verdict = NF_ACCEPT;
		if (!family->tcp_resegmented ||
		    !family->tcp_resegmented(skb, net))
			return true;
		break;
	case NF_PREFRAG_TCP_CUT_HERE:
		/* The confirm hook will not see the packet we steal. */
		*verdict = nf_prefrag_ct_confirm(skb, thoff, state);
		if (*verdict != NF_ACCEPT)
			return true;
		nf_prefrag_tcp_output(family, skb, thoff, mtu, state);
		*verdict = NF_STOLEN;
		return true;
	case NF_PREFRAG_TCP_NO_MEMORY:
		break;
	}
	nf_prefrag_count(net, family->nfproto, NF_PREFRAG_ERRORS, 1);
	*verdict = NF_DROP;
	return true;
}
