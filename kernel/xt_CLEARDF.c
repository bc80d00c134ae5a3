// SPDX-License-Identifier: GPL-2.0
/*
 * CLEARDF target: clear the Don't Fragment bit so a packet can be
 * fragmented, and give it a fresh IP ID from the kernel's own generator:
 * senders put ID 0 on DF packets, and once DF is gone, fragments of
 * different packets with the same ID would be reassembled together.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ip.h>
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_CLEARDF.h>
#include <net/ip.h>
#include "nf_prefrag.h"

/* Shorter than @len on the wire (for a GSO aggregate: all its segments)? */
static bool cleardf_shorter_than(const struct sk_buff *skb, unsigned int len)
{
	if (!len)
		return false;
	if (skb_is_gso(skb))
		return skb_gso_validate_network_len(skb, len - 1);
	return skb->len < len;
}

static unsigned int cleardf_tg4(struct sk_buff *skb,
				const struct xt_action_param *par)
{
	const struct xt_cleardf_info *info = par->targinfo;
	bool df = ip_hdr(skb)->frag_off & htons(IP_DF);
	struct net *net = xt_net(par);

	/* A fragment's ID is what joins it to its siblings: never renew it. */
	if (ip_is_fragment(ip_hdr(skb)))
		return XT_CONTINUE;
	if (cleardf_shorter_than(skb, info->min_len))
		return XT_CONTINUE;
	if (!df && !(info->flags & XT_CLEARDF_RANDOM_ID))
		return XT_CONTINUE;

	if (nf_prefrag_ipv4_renew_id(skb, net, df)) {
		nf_prefrag_count(net, NFPROTO_IPV4, NF_PREFRAG_ERRORS, 1);
		return NF_DROP;
	}
	nf_prefrag_count(net, NFPROTO_IPV4,
			 df ? NF_PREFRAG_DF_CLEARED : NF_PREFRAG_IDS_RENEWED, 1);
	return XT_CONTINUE;
}

/* nft inet tables: IPv6 packets have no DF to clear. */
static unsigned int cleardf_tg_inet(struct sk_buff *skb,
				    const struct xt_action_param *par)
{
	if (xt_family(par) != NFPROTO_IPV4)
		return XT_CONTINUE;
	return cleardf_tg4(skb, par);
}

static int cleardf_tg_check(const struct xt_tgchk_param *par)
{
	const struct xt_cleardf_info *info = par->targinfo;

	if (par->family != NFPROTO_IPV4 && par->family != NFPROTO_INET) {
		pr_info_ratelimited("only for ip and inet tables\n");
		return -EINVAL;
	}

	if (info->flags & ~XT_CLEARDF_FLAGS) {
		pr_info_ratelimited("unknown flags 0x%x\n", info->flags);
		return -EINVAL;
	}
	if (info->reserved) {
		pr_info_ratelimited("reserved byte %u: must be 0\n", info->reserved);
		return -EINVAL;
	}
	/* nft tables have names of their users' choosing. */
	if (!par->nft_compat && strcmp(par->table, "raw") &&
	    strcmp(par->table, "mangle")) {
		pr_info_ratelimited("only valid in the raw and mangle tables, not in %s\n",
				    par->table);
		return -EINVAL;
	}
	return 0;
}

static struct xt_target cleardf_tg_reg[] __read_mostly = {
	{
		.name		= "CLEARDF",
		.revision	= 0,
		.family		= NFPROTO_IPV4,
		.target		= cleardf_tg4,
		.targetsize	= sizeof(struct xt_cleardf_info),
		.checkentry	= cleardf_tg_check,
		.me		= THIS_MODULE,
	},
	{	/* nft_compat falls back to this for inet tables */
		.name		= "CLEARDF",
		.revision	= 0,
		.family		= NFPROTO_UNSPEC,
		.target		= cleardf_tg_inet,
		.targetsize	= sizeof(struct xt_cleardf_info),
		.checkentry	= cleardf_tg_check,
		.me		= THIS_MODULE,
	},
};

static int __init cleardf_tg_init(void)
{
	return xt_register_targets(cleardf_tg_reg, ARRAY_SIZE(cleardf_tg_reg));
}

static void __exit cleardf_tg_exit(void)
{
	xt_unregister_targets(cleardf_tg_reg, ARRAY_SIZE(cleardf_tg_reg));
}

module_init(cleardf_tg_init);
module_exit(cleardf_tg_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(NF_PREFRAG_VERSION);
MODULE_DESCRIPTION("Xtables: clear DF and give the packet a fresh IP ID");
MODULE_ALIAS("ipt_CLEARDF");
