// SPDX-License-Identifier: GPL-2.0
/*
 * nf_prefrag core: per-netns POSTROUTING hooks (registered only while a rule
 * needs them), the stamp that carries a rule's decision to them, the output
 * of what they cut, and counters.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/netns/generic.h>
#include <net/xfrm.h>
#include "compat.h"
#include "nf_prefrag_internal.h"

struct nf_prefrag_stats {
	unsigned long	count[NF_PREFRAG_NUM_FAMILIES][__NF_PREFRAG_COUNTER_MAX];
};

struct nf_prefrag_net {
	unsigned int			hook_users[NF_PREFRAG_NUM_FAMILIES];
	u64				stamp_key;
	struct nf_prefrag_stats __percpu *stats;
	struct nf_prefrag_icmp_limit	icmp_limit;
};

static unsigned int nf_prefrag_net_id __read_mostly;
static DEFINE_MUTEX(nf_prefrag_hook_mutex);

/*
 * Last in POSTROUTING, after NAT (100), helpers (300) and SELinux, just
 * before conntrack confirmation, which we perform ourselves for the packets
 * we steal.
 */
static const struct nf_hook_ops nf_prefrag_ops[NF_PREFRAG_NUM_FAMILIES] = {
	{
		.hook		= nf_prefrag_ipv4_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= NF_IP_PRI_CONNTRACK_CONFIRM - 1,
	},
	{
		.hook		= nf_prefrag_ipv6_out,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= NF_IP6_PRI_LAST - 1,
	},
};

static const char *const nf_prefrag_family_names[NF_PREFRAG_NUM_FAMILIES] = {
	"ipv4", "ipv6",
};

static const char *const nf_prefrag_counter_names[__NF_PREFRAG_COUNTER_MAX] = {
	[NF_PREFRAG_PACKETS_FRAGMENTED]	= "packets_fragmented",
	[NF_PREFRAG_FRAGMENTS_SENT]	= "fragments_sent",
	[NF_PREFRAG_DF_REJECTED]	= "df_rejected",
	[NF_PREFRAG_DF_CLEARED]		= "df_cleared",
	[NF_PREFRAG_IDS_RENEWED]	= "ids_renewed",
	[NF_PREFRAG_TRANSPORT_SKIPPED]	= "transport_mode_skipped",
	[NF_PREFRAG_ENCRYPTED_SKIPPED]	= "encrypted_skipped",
	[NF_PREFRAG_GSO_SEGMENTED]	= "gso_segmented",
	[NF_PREFRAG_ERRORS]		= "errors",
	[NF_PREFRAG_TOO_BIG_SENT]	= "icmp_too_big_sent",
	[NF_PREFRAG_TOO_BIG_LIMITED]	= "icmp_too_big_ratelimited",
};

static struct nf_prefrag_net *nf_prefrag_pernet(struct net *net)
{
	return net_generic(net, nf_prefrag_net_id);
}

static int nf_prefrag_family_index(u8 family)
{
	switch (family) {
	case NFPROTO_IPV4:
		return 0;
	case NFPROTO_IPV6:
		return 1;
	default:
		return -1;
	}
}

int nf_prefrag_hook_get(struct net *net, u8 family)
{
	struct nf_prefrag_net *pn = nf_prefrag_pernet(net);
	int i = nf_prefrag_family_index(family);
	int err = 0;

	if (family == NFPROTO_INET) {	/* nft inet tables: both */
		err = nf_prefrag_hook_get(net, NFPROTO_IPV4);
		if (err)
			return err;
		err = nf_prefrag_hook_get(net, NFPROTO_IPV6);
		if (err)
			nf_prefrag_hook_put(net, NFPROTO_IPV4);
		return err;
	}

	if (i < 0)
		return -EAFNOSUPPORT;

	mutex_lock(&nf_prefrag_hook_mutex);
	if (pn->hook_users[i] == 0)
		err = nf_register_net_hook(net, &nf_prefrag_ops[i]);
	if (!err)
		pn->hook_users[i]++;
	mutex_unlock(&nf_prefrag_hook_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(nf_prefrag_hook_get);

void nf_prefrag_hook_put(struct net *net, u8 family)
{
	struct nf_prefrag_net *pn = nf_prefrag_pernet(net);
	int i = nf_prefrag_family_index(family);

	if (family == NFPROTO_INET) {
		nf_prefrag_hook_put(net, NFPROTO_IPV4);
		nf_prefrag_hook_put(net, NFPROTO_IPV6);
		return;
	}

	if (i < 0)
		return;

	mutex_lock(&nf_prefrag_hook_mutex);
	/* Zero when the netns went away before the tables holding the rules. */
	if (pn->hook_users[i] && --pn->hook_users[i] == 0)
		nf_unregister_net_hook(net, &nf_prefrag_ops[i]);
	mutex_unlock(&nf_prefrag_hook_mutex);
}
EXPORT_SYMBOL_GPL(nf_prefrag_hook_put);

void nf_prefrag_count(struct net *net, u8 family, enum nf_prefrag_counter c,
		      unsigned int n)
{
	int i = nf_prefrag_family_index(family);

	if (i >= 0)
		this_cpu_add(nf_prefrag_pernet(net)->stats->count[i][c], n);
}
EXPORT_SYMBOL_GPL(nf_prefrag_count);

struct nf_prefrag_icmp_limit *nf_prefrag_icmp_limit_of(struct net *net)
{
	return &nf_prefrag_pernet(net)->icmp_limit;
}

/*
 * The fragmenters call back without context: the output function to use is
 * found in a per-CPU slot, saved and restored around each use, because
 * sending one fragment may lead back into our hook (a packet leaving a
 * nested tunnel).
 */
struct nf_prefrag_emit_ctx {
	nf_prefrag_okfn_t	okfn;
	unsigned int		fragments;
};

static DEFINE_PER_CPU(struct nf_prefrag_emit_ctx *, nf_prefrag_emit_ctx);

/* For the family's @emit callback: send one piece on to the real output. */
int nf_prefrag_emit_next(struct net *net, struct sock *sk, struct sk_buff *skb)
{
	struct nf_prefrag_emit_ctx *ctx = __this_cpu_read(nf_prefrag_emit_ctx);

	ctx->fragments++;
	return ctx->okfn(net, sk, skb);
}

/* Cut @skb with @fragmenter; @emit (which calls nf_prefrag_emit_next())
 * gets each piece, and the pieces go to @okfn.
 */
void nf_prefrag_cut(struct net *net, u8 family, struct sock *sk,
		    struct sk_buff *skb, nf_prefrag_okfn_t okfn,
		    nf_prefrag_fragmenter_t fragmenter, nf_prefrag_okfn_t emit)
{
	struct nf_prefrag_emit_ctx ctx = { .okfn = okfn }, *outer;
	int err;

	local_bh_disable();
	outer = __this_cpu_read(nf_prefrag_emit_ctx);
	__this_cpu_write(nf_prefrag_emit_ctx, &ctx);
	err = fragmenter(net, sk, skb, emit);
	__this_cpu_write(nf_prefrag_emit_ctx, outer);
	local_bh_enable();

	if (ctx.fragments) {
		nf_prefrag_count(net, family, NF_PREFRAG_PACKETS_FRAGMENTED, 1);
		nf_prefrag_count(net, family, NF_PREFRAG_FRAGMENTS_SENT,
				 ctx.fragments);
	}
	if (err)
		nf_prefrag_count(net, family, NF_PREFRAG_ERRORS, 1);
}

bool nf_prefrag_left_whole(struct net *net, u8 family, struct sk_buff *skb,
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

/*
 * GSO aggregates are segmented first, as ip_finish_output_gso() does
 * (fragmenting an aggregate is a bad offload); only segments that still do
 * not fit are cut.
 */
void nf_prefrag_output(struct net *net, u8 family, struct sock *sk,
		       struct sk_buff *skb, unsigned int mtu,
		       nf_prefrag_okfn_t okfn, nf_prefrag_fragment_t fragment)
{
	struct sk_buff *segs, *seg, *next;

	if (!skb_is_gso(skb)) {
		fragment(net, sk, skb, mtu, okfn);
		return;
	}

	/* No offload features: segments may be headed into IPsec, which
	 * needs complete checksums anyway (as xfrm_output_gso()).
	 */
	segs = skb_gso_segment(skb, 0);
	if (IS_ERR_OR_NULL(segs)) {
		kfree_skb(skb);
		nf_prefrag_count(net, family, NF_PREFRAG_ERRORS, 1);
		return;
	}
	consume_skb(skb);
	nf_prefrag_count(net, family, NF_PREFRAG_GSO_SEGMENTED, 1);

	skb_list_walk_safe(segs, seg, next) {
		skb_mark_not_on_list(seg);
		if (seg->len <= mtu)
			okfn(net, sk, seg);
		else
			fragment(net, sk, seg, mtu, okfn);
	}
}

static struct nf_prefrag_stamp *nf_prefrag_stamp_of(struct sk_buff *skb)
{
	return (struct nf_prefrag_stamp *)&skb->cb[NF_PREFRAG_STAMP_OFFSET];
}

static u64 nf_prefrag_stamp_check(const struct sk_buff *skb, struct net *net)
{
	return nf_prefrag_pernet(net)->stamp_key ^ (u64)(uintptr_t)skb;
}

void nf_prefrag_stamp_set(struct sk_buff *skb, struct net *net,
			  const struct nf_prefrag_stamp *stamp)
{
	struct nf_prefrag_stamp *s = nf_prefrag_stamp_of(skb);
	u64 check = nf_prefrag_stamp_check(skb, net);
	u8 lifted = 0;

	/* The last rule's decision wins, but the DF lift must still be undone. */
	if (s->check == check)
		lifted = s->flags & NF_PREFRAG_STAMP_LIFTED_DF;
	*s = *stamp;
	s->flags |= lifted;
	s->check = check;
}

bool nf_prefrag_stamp_take(struct sk_buff *skb, struct net *net,
			   struct nf_prefrag_stamp *stamp)
{
	struct nf_prefrag_stamp *s = nf_prefrag_stamp_of(skb);

	if (s->check != nf_prefrag_stamp_check(skb, net))
		return false;
	*stamp = *s;
	s->check = 0;	/* acts once: not again on the encrypted packet */
	return true;
}

static int nf_prefrag_stats_show(struct seq_file *seq, void *v)
{
	struct nf_prefrag_net *pn = nf_prefrag_pernet(seq_file_single_net(seq));
	int f, c, cpu;

	for (f = 0; f < NF_PREFRAG_NUM_FAMILIES; f++) {
		for (c = 0; c < __NF_PREFRAG_COUNTER_MAX; c++) {
			unsigned long sum = 0;

			for_each_possible_cpu(cpu)
				sum += per_cpu_ptr(pn->stats, cpu)->count[f][c];
			seq_printf(seq, "%s_%s %lu\n", nf_prefrag_family_names[f],
				   nf_prefrag_counter_names[c], sum);
		}
	}
	return 0;
}

static int __net_init nf_prefrag_net_init(struct net *net)
{
	struct nf_prefrag_net *pn = nf_prefrag_pernet(net);
	int err;

	pn->stamp_key = get_random_u64();
	pn->stats = alloc_percpu(struct nf_prefrag_stats);
	if (!pn->stats)
		return -ENOMEM;
	err = nf_prefrag_icmp_net_init(net, &pn->icmp_limit);
	if (err)
		goto err_icmp;
	if (!proc_create_net_single("nf_prefrag", 0444, net->proc_net,
				    nf_prefrag_stats_show, NULL)) {
		err = -ENOMEM;
		goto err_proc;
	}
	return 0;

err_proc:
	nf_prefrag_icmp_net_exit(&pn->icmp_limit);
err_icmp:
	free_percpu(pn->stats);
	return err;
}

static void __net_exit nf_prefrag_net_exit(struct net *net)
{
	struct nf_prefrag_net *pn = nf_prefrag_pernet(net);
	int i;

	remove_proc_entry("nf_prefrag", net->proc_net);
	mutex_lock(&nf_prefrag_hook_mutex);
	for (i = 0; i < NF_PREFRAG_NUM_FAMILIES; i++) {
		if (pn->hook_users[i]) {
			nf_unregister_net_hook(net, &nf_prefrag_ops[i]);
			pn->hook_users[i] = 0;
		}
	}
	mutex_unlock(&nf_prefrag_hook_mutex);
	nf_prefrag_icmp_net_exit(&pn->icmp_limit);
	free_percpu(pn->stats);
}

static struct pernet_operations nf_prefrag_net_ops = {
	.init	= nf_prefrag_net_init,
	.exit	= nf_prefrag_net_exit,
	.id	= &nf_prefrag_net_id,
	.size	= sizeof(struct nf_prefrag_net),
};

static int __init nf_prefrag_init(void)
{
	BUILD_BUG_ON(sizeof(struct inet_skb_parm) > NF_PREFRAG_STAMP_OFFSET);
	BUILD_BUG_ON(sizeof(struct inet6_skb_parm) > NF_PREFRAG_STAMP_OFFSET);
	return register_pernet_subsys(&nf_prefrag_net_ops);
}

static void __exit nf_prefrag_exit(void)
{
	unregister_pernet_subsys(&nf_prefrag_net_ops);
}

module_init(nf_prefrag_init);
module_exit(nf_prefrag_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(NF_PREFRAG_VERSION);
MODULE_DESCRIPTION("Fragment IP packets before IPsec encrypts them (core)");
