// SPDX-License-Identifier: GPL-2.0
/*
 * nf_prefrag core: the output path of a packet the POSTROUTING hook stole.
 * GSO aggregates are segmented first, as ip_finish_output_gso() does
 * (fragmenting an aggregate is a bad offload); what still does not fit is
 * cut by the family's fragmenter, and every piece goes straight to the
 * hook's okfn (IPsec, or the interface), never through netfilter again: at
 * OUTPUT or PREROUTING defragmentation would glue the pieces together, and
 * IPv4 NAT rewrites the first bytes of non-first fragments as ports.
 */
#include <linux/percpu.h>
#include <net/xfrm.h>
#include "nf_prefrag_internal.h"

/*
 * The fragmenters call back without context: what the pieces need is found
 * in a per-CPU slot, saved and restored around each use, because sending
 * one piece may lead back into our hook (a packet leaving a nested tunnel).
 */
struct nf_prefrag_emit_ctx {
	const struct nf_prefrag_family	*family;
	int				(*okfn)(struct net *net, struct sock *sk,
						struct sk_buff *skb);
	unsigned int			fragments;
};

static DEFINE_PER_CPU(struct nf_prefrag_emit_ctx *, nf_prefrag_emit_ctx);

static int nf_prefrag_emit(struct net *net, struct sock *sk, struct sk_buff *skb)
{
	struct nf_prefrag_emit_ctx *ctx = __this_cpu_read(nf_prefrag_emit_ctx);

	/* Our MTU must not stay on a piece: ip_finish_output() would cut the
	 * encrypted packet to it.
	 */
	ctx->family->set_frag_max_size(skb, 0);
	ctx->fragments++;
	return ctx->okfn(net, sk, skb);
}

static void nf_prefrag_cut(const struct nf_prefrag_family *family,
			   struct sk_buff *skb, unsigned int mtu,
			   const struct nf_hook_state *state)
{
	struct nf_prefrag_emit_ctx ctx = {
		.family	= family,
		.okfn	= state->okfn,
	}, *outer;
	struct net *net = state->net;
	int err;

	/* The fragmenters cut to min(route MTU, frag_max_size). */
	family->set_frag_max_size(skb, mtu);

	local_bh_disable();
	outer = __this_cpu_read(nf_prefrag_emit_ctx);
	__this_cpu_write(nf_prefrag_emit_ctx, &ctx);
	err = family->fragment(net, state->sk, skb, nf_prefrag_emit);
	__this_cpu_write(nf_prefrag_emit_ctx, outer);
	local_bh_enable();

	if (ctx.fragments) {
		nf_prefrag_count(net, family->nfproto, NF_PREFRAG_PACKETS_FRAGMENTED, 1);
		nf_prefrag_count(net, family->nfproto, NF_PREFRAG_FRAGMENTS_SENT,
				 ctx.fragments);
	}
	if (err)
		nf_prefrag_count(net, family->nfproto, NF_PREFRAG_ERRORS, 1);
}

/*
 * Software segmentation as ip_finish_output_gso() does it for a device with
 * scatter-gather and checksum offload: segments share the aggregate's
 * pages, and their checksums stay partial, for xfrm_output(), the device or
 * the fragmenter to complete (all three do): one copy of the data less.
 */
struct sk_buff *nf_prefrag_gso_segment(const struct nf_prefrag_family *family,
				       struct sk_buff *skb,
				       const struct nf_hook_state *state)
{
	struct sk_buff *segs = skb_gso_segment(skb, NETIF_F_SG | NETIF_F_HW_CSUM);

	if (IS_ERR_OR_NULL(segs)) {
		kfree_skb(skb);
		nf_prefrag_count(state->net, family->nfproto, NF_PREFRAG_ERRORS, 1);
		return NULL;
	}
	consume_skb(skb);
	return segs;
}

void nf_prefrag_send(const struct nf_prefrag_family *family,
		     struct sk_buff *segs, unsigned int mtu,
		     const struct nf_hook_state *state,
		     void (*cut)(const struct nf_prefrag_family *family,
				 struct sk_buff *skb, unsigned int mtu,
				 const struct nf_hook_state *state))
{
	struct sk_buff *seg, *next;

	skb_list_walk_safe(segs, seg, next) {
		skb_mark_not_on_list(seg);
		if (seg->len > mtu && cut) {
			cut(family, seg, mtu, state);
			continue;
		}
		/* Our MTU must not stay on it: ip_finish_output() would cut
		 * the encrypted packet to it.
		 */
		family->set_frag_max_size(seg, 0);
		state->okfn(state->net, state->sk, seg);
	}
}

void nf_prefrag_output(const struct nf_prefrag_family *family,
		       struct sk_buff *skb, unsigned int mtu,
		       const struct nf_hook_state *state)
{
	struct sk_buff *segs;

	if (!skb_is_gso(skb)) {
		nf_prefrag_cut(family, skb, mtu, state);
		return;
	}
	/* Segmented first: fragmenting an aggregate is a bad offload. */
	segs = nf_prefrag_gso_segment(family, skb, state);
	if (!segs)
		return;
	nf_prefrag_count(state->net, family->nfproto, NF_PREFRAG_GSO_SEGMENTED, 1);
	nf_prefrag_send(family, segs, mtu, state, nf_prefrag_cut);
}

/*
 * Cutting the ESP packet of a rule that matched both it and its inner
 * packet is what PREFRAG exists to avoid; and packets headed into a
 * transport-mode or BEET SA reuse their own IP header, fragment bits
 * included: the peer could not put such ESP packets together.
 */
bool nf_prefrag_left_whole(u8 family, struct sk_buff *skb, struct net *net,
			   bool encrypted)
{
	if (encrypted) {
		nf_prefrag_count(net, family, NF_PREFRAG_ENCRYPTED_SKIPPED, 1);
		return true;
	}
#ifdef CONFIG_XFRM
	if (skb_dst(skb)->xfrm &&
	    skb_dst(skb)->xfrm->props.mode != XFRM_MODE_TUNNEL) {
		nf_prefrag_count(net, family, NF_PREFRAG_TRANSPORT_SKIPPED, 1);
		return true;
	}
#endif
	return false;
}
