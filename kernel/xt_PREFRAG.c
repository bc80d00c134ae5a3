// SPDX-License-Identifier: GPL-2.0
/*
 * PREFRAG target: fragment IP packets before IPsec encrypts them.
 *
 * The rule only decides; the cutting happens at the end of POSTROUTING
 * (nf_prefrag core), so the whole packet still traverses every later rule,
 * NAT and conntrack once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_PREFRAG.h>
#include "nf_prefrag.h"

#define PREFRAG_HOOKS	((1 << NF_INET_PRE_ROUTING) | (1 << NF_INET_FORWARD) | \
			 (1 << NF_INET_LOCAL_OUT) | (1 << NF_INET_POST_ROUTING))

/* Our ABI's words for the core's (checkentry keeps them in range). */
static const enum nf_prefrag_df_policy prefrag_df_policy[__XT_PREFRAG_DF_MAX] = {
	[XT_PREFRAG_DF_REJECT]	= NF_PREFRAG_DF_REJECT,
	[XT_PREFRAG_DF_KEEP]	= NF_PREFRAG_DF_KEEP,
	[XT_PREFRAG_DF_CLEAR]	= NF_PREFRAG_DF_CLEAR,
};

static unsigned int prefrag_mtu(const struct xt_prefrag_info *info)
{
	return info->mtu == XT_PREFRAG_MTU_AUTO ? NF_PREFRAG_MTU_AUTO : info->mtu;
}

static enum nf_prefrag_tcp_mode prefrag_tcp_mode(const struct xt_prefrag_info *info)
{
	return info->flags & XT_PREFRAG_TCP_SEGMENT ? NF_PREFRAG_TCP_SEGMENT :
						      NF_PREFRAG_TCP_FRAGMENT;
}

static unsigned int prefrag_tg4(struct sk_buff *skb,
				const struct xt_action_param *par)
{
	const struct xt_prefrag_info *info = par->targinfo;

	nf_prefrag_ipv4_mark(skb, xt_net(par), xt_hooknum(par), prefrag_mtu(info),
			     prefrag_df_policy[info->df_policy],
			     prefrag_tcp_mode(info));
	return XT_CONTINUE;
}

static unsigned int prefrag_tg6(struct sk_buff *skb,
				const struct xt_action_param *par)
{
	const struct xt_prefrag_info *info = par->targinfo;

	nf_prefrag_ipv6_mark(skb, xt_net(par), xt_hooknum(par), prefrag_mtu(info),
			     prefrag_tcp_mode(info));
	return XT_CONTINUE;
}

/* nft inet tables: one rule for both families; the packet says which. */
static unsigned int prefrag_tg_inet(struct sk_buff *skb,
				    const struct xt_action_param *par)
{
	switch (xt_family(par)) {
	case NFPROTO_IPV4:
		return prefrag_tg4(skb, par);
	case NFPROTO_IPV6:
		return prefrag_tg6(skb, par);
	}
	return XT_CONTINUE;
}

static int prefrag_tg_check(const struct xt_tgchk_param *par)
{
	const struct xt_prefrag_info *info = par->targinfo;
	bool ipv6 = par->family == NFPROTO_IPV6;
	unsigned int min = ipv6 ? XT_PREFRAG_MTU_MIN_IPV6 : XT_PREFRAG_MTU_MIN;

	if (par->family != NFPROTO_IPV4 && !ipv6 && par->family != NFPROTO_INET) {
		pr_info_ratelimited("only for ip, ip6 and inet tables\n");
		return -EINVAL;
	}

	if (info->mtu != XT_PREFRAG_MTU_AUTO && info->mtu < min) {
		pr_info_ratelimited("mtu %u is below the IPv%d minimum of %u\n",
				    info->mtu, ipv6 ? 6 : 4, min);
		return -EINVAL;
	}
	if (info->df_policy >= __XT_PREFRAG_DF_MAX) {
		pr_info_ratelimited("unknown DF policy %u\n", info->df_policy);
		return -EINVAL;
	}
	/* IPv6 has no DF: what does not fit is refused, or cut at the source. */
	if (ipv6 && info->df_policy != XT_PREFRAG_DF_REJECT) {
		pr_info_ratelimited("--df is for IPv4 only\n");
		return -EINVAL;
	}
	if (info->flags & ~XT_PREFRAG_FLAGS_ALL) {
		pr_info_ratelimited("unknown flags 0x%x\n", info->flags);
		return -EINVAL;
	}
	/* nat sees only a connection's first packet; security is for labels.
	 * nft tables have names of their users' choosing.
	 */
	if (!par->nft_compat && strcmp(par->table, "raw") &&
	    strcmp(par->table, "mangle") && strcmp(par->table, "filter")) {
		pr_info_ratelimited("only valid in the raw, mangle and filter tables, not in %s\n",
				    par->table);
		return -EINVAL;
	}
	return nf_prefrag_hook_get(par->net, par->family);
}

static void prefrag_tg_destroy(const struct xt_tgdtor_param *par)
{
	nf_prefrag_hook_put(par->net, par->family);
}

static struct xt_target prefrag_tg_reg[] __read_mostly = {
	{
		.name		= "PREFRAG",
		.revision	= 0,
		.family		= NFPROTO_IPV4,
		.target		= prefrag_tg4,
		.targetsize	= sizeof(struct xt_prefrag_info),
		.checkentry	= prefrag_tg_check,
		.destroy	= prefrag_tg_destroy,
		.hooks		= PREFRAG_HOOKS,
		.me		= THIS_MODULE,
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.name		= "PREFRAG",
		.revision	= 0,
		.family		= NFPROTO_IPV6,
		.target		= prefrag_tg6,
		.targetsize	= sizeof(struct xt_prefrag_info),
		.checkentry	= prefrag_tg_check,
		.destroy	= prefrag_tg_destroy,
		.hooks		= PREFRAG_HOOKS,
		.me		= THIS_MODULE,
	},
#endif
	{	/* nft_compat falls back to this for inet tables */
		.name		= "PREFRAG",
		.revision	= 0,
		.family		= NFPROTO_UNSPEC,
		.target		= prefrag_tg_inet,
		.targetsize	= sizeof(struct xt_prefrag_info),
		.checkentry	= prefrag_tg_check,
		.destroy	= prefrag_tg_destroy,
		.hooks		= PREFRAG_HOOKS,
		.me		= THIS_MODULE,
	},
};

static int __init prefrag_tg_init(void)
{
	return xt_register_targets(prefrag_tg_reg, ARRAY_SIZE(prefrag_tg_reg));
}

static void __exit prefrag_tg_exit(void)
{
	xt_unregister_targets(prefrag_tg_reg, ARRAY_SIZE(prefrag_tg_reg));
}

module_init(prefrag_tg_init);
module_exit(prefrag_tg_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(NF_PREFRAG_VERSION);
MODULE_DESCRIPTION("Xtables: fragment IP packets before IPsec encrypts them");
MODULE_ALIAS("ipt_PREFRAG");
MODULE_ALIAS("ip6t_PREFRAG");
