// SPDX-License-Identifier: GPL-2.0
/*
 * REJECT revision 1, IPv4 and IPv6: every revision-0 reject type, plus ICMP
 * "fragmentation needed" (ICMPv6 "packet too big") that carries the MTU.
 * Saying "too big" about a packet that fits would be a lie, and would stall
 * TCP for good (its GSO aggregates are big, their segments need not be):
 * a packet that fits the MTU, segment by segment, goes on to the next rule.
 * Revision 0 stays with ipt_REJECT/ip6t_REJECT: the kernel's autoload
 * only ever asks for those, so our module is loaded next to them (see
 * nf-prefrag.modprobe.conf), and stock rulesets never depend on it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>
#include <linux/netfilter/xt_REJECT_MTU.h>
#include <net/netfilter/ipv4/nf_reject.h>
#include <net/netfilter/ipv6/nf_reject.h>
#include "nf_prefrag.h"

/* As ipt_REJECT and ip6t_REJECT. */
#define REJECT_HOOKS	((1 << NF_INET_LOCAL_IN) | (1 << NF_INET_FORWARD) | \
			 (1 << NF_INET_LOCAL_OUT))

/* The ICMP code each revision-0 "unreachable" type sends; 0xff: not one. */
static const u8 reject4_unreach_code[XT_REJECT_IPV4_FRAG_NEEDED] = {
	[IPT_ICMP_NET_UNREACHABLE]	= ICMP_NET_UNREACH,
	[IPT_ICMP_HOST_UNREACHABLE]	= ICMP_HOST_UNREACH,
	[IPT_ICMP_PROT_UNREACHABLE]	= ICMP_PROT_UNREACH,
	[IPT_ICMP_PORT_UNREACHABLE]	= ICMP_PORT_UNREACH,
	[IPT_ICMP_ECHOREPLY]		= 0xff,
	[IPT_ICMP_NET_PROHIBITED]	= ICMP_NET_ANO,
	[IPT_ICMP_HOST_PROHIBITED]	= ICMP_HOST_ANO,
	[IPT_TCP_RESET]			= 0xff,
	[IPT_ICMP_ADMIN_PROHIBITED]	= ICMP_PKT_FILTERED,
};

static unsigned int reject_mtu_tg4(struct sk_buff *skb,
				   const struct xt_action_param *par)
{
	const struct xt_reject_info_v1 *info = par->targinfo;
	int hook = xt_hooknum(par);
	unsigned int mtu;

	switch (XT_REJECT_TYPE(info->with)) {
	case XT_REJECT_IPV4_FRAG_NEEDED:
		mtu = info->mtu ?: nf_prefrag_ipv4_mtu(skb, NF_PREFRAG_MTU_AUTO);
		if (nf_prefrag_fits(skb, mtu))
			return XT_CONTINUE;
		nf_prefrag_ipv4_send_too_big(skb, xt_net(par), mtu);
		break;
	case IPT_TCP_RESET:
		nf_send_reset(xt_net(par), par->state->sk, skb, hook);
		break;
	default:
		nf_send_unreach(skb, reject4_unreach_code[XT_REJECT_TYPE(info->with)],
				hook);
		break;
	}
	return NF_DROP;
}

/* What both families check alike, given that family's numbering. */
static int reject_mtu_check_common(const struct xt_tgchk_param *par,
				   u32 too_big, u32 tcp_reset,
				   unsigned int mtu_min, const u8 *unreach_code)
{
	const struct xt_reject_info_v1 *info = par->targinfo;
	u32 with = XT_REJECT_TYPE(info->with);

	/* As ipt_REJECT, but nft tables have names of their users' choosing. */
	if (!par->nft_compat && strcmp(par->table, "filter")) {
		pr_info_ratelimited("only valid in the filter table, not in %s\n",
				    par->table);
		return -EINVAL;
	}
	if (info->with != with && par->family != NFPROTO_INET) {
		pr_info_ratelimited("family bits are for inet tables\n");
		return -EINVAL;
	}
	/* nft has its own "reject with tcp reset"; an inet rule's entry has no
	 * protocol to check.
	 */
	if (par->family == NFPROTO_INET && with == tcp_reset) {
		pr_info_ratelimited("tcp-reset: use nft's own reject in inet tables\n");
		return -EINVAL;
	}
	if (with > too_big) {
		pr_info_ratelimited("unknown reject type %u\n", with);
		return -EINVAL;
	}
	if (with != too_big) {
		if (unreach_code[with] == 0xff && with != tcp_reset) {
			pr_info_ratelimited("echo-reply is not supported\n");
			return -EINVAL;
		}
		if (info->mtu) {
			pr_info_ratelimited("an MTU only goes with the too-big type\n");
			return -EINVAL;
		}
		return 0;
	}

	if (info->mtu == XT_REJECT_MTU_AUTO) {
		/* A packet for this host has no route whose MTU means anything. */
		if (par->hook_mask & (1 << NF_INET_LOCAL_IN)) {
			pr_info_ratelimited("mtu auto needs a route: not in INPUT, give the MTU\n");
			return -EINVAL;
		}
		return 0;
	}
	if (info->mtu < mtu_min || info->mtu > XT_REJECT_MTU_MAX) {
		pr_info_ratelimited("mtu %u is outside %u..%u\n", info->mtu,
				    mtu_min, XT_REJECT_MTU_MAX);
		return -EINVAL;
	}
	if (info->mtu < XT_REJECT_MTU_LINUX_FLOOR)
		pr_info_ratelimited("mtu %u: Linux senders use %u instead, and lock it\n",
				    info->mtu, XT_REJECT_MTU_LINUX_FLOOR);
	return 0;
}

static int reject_mtu_tg4_check(const struct xt_tgchk_param *par)
{
	const struct xt_reject_info_v1 *info = par->targinfo;
	const struct ipt_entry *e = par->entryinfo;

	if (par->family != NFPROTO_INET && info->with == IPT_TCP_RESET &&
	    (e->ip.proto != IPPROTO_TCP || (e->ip.invflags & XT_INV_PROTO))) {
		pr_info_ratelimited("tcp-reset needs -p tcp\n");
		return -EINVAL;
	}
	return reject_mtu_check_common(par, XT_REJECT_IPV4_FRAG_NEEDED,
				       IPT_TCP_RESET, XT_REJECT_MTU_MIN_IPV4,
				       reject4_unreach_code);
}

#if IS_ENABLED(CONFIG_IPV6)
static const u8 reject6_unreach_code[XT_REJECT_IPV6_PKT_TOO_BIG] = {
	[IP6T_ICMP6_NO_ROUTE]		= ICMPV6_NOROUTE,
	[IP6T_ICMP6_ADM_PROHIBITED]	= ICMPV6_ADM_PROHIBITED,
	[IP6T_ICMP6_NOT_NEIGHBOUR]	= ICMPV6_NOT_NEIGHBOUR,
	[IP6T_ICMP6_ADDR_UNREACH]	= ICMPV6_ADDR_UNREACH,
	[IP6T_ICMP6_PORT_UNREACH]	= ICMPV6_PORT_UNREACH,
	[IP6T_ICMP6_ECHOREPLY]		= 0xff,
	[IP6T_TCP_RESET]		= 0xff,
	[IP6T_ICMP6_POLICY_FAIL]	= ICMPV6_POLICY_FAIL,
	[IP6T_ICMP6_REJECT_ROUTE]	= ICMPV6_REJECT_ROUTE,
};

static unsigned int reject_mtu_tg6(struct sk_buff *skb,
				   const struct xt_action_param *par)
{
	const struct xt_reject_info_v1 *info = par->targinfo;
	int hook = xt_hooknum(par);
	unsigned int mtu;

	switch (XT_REJECT_TYPE(info->with)) {
	case XT_REJECT_IPV6_PKT_TOO_BIG:
		mtu = info->mtu ?: nf_prefrag_ipv6_mtu(skb, NF_PREFRAG_MTU_AUTO);
		if (nf_prefrag_fits(skb, mtu))
			return XT_CONTINUE;
		nf_prefrag_ipv6_send_too_big(skb, xt_net(par), mtu);
		break;
	case IP6T_TCP_RESET:
		nf_send_reset6(xt_net(par), par->state->sk, skb, hook);
		break;
	default:
		nf_send_unreach6(xt_net(par), skb,
				 reject6_unreach_code[XT_REJECT_TYPE(info->with)],
				 hook);
		break;
	}
	return NF_DROP;
}

static int reject_mtu_tg6_check(const struct xt_tgchk_param *par)
{
	const struct xt_reject_info_v1 *info = par->targinfo;
	const struct ip6t_entry *e = par->entryinfo;

	if (par->family != NFPROTO_INET && info->with == IP6T_TCP_RESET &&
	    (!(e->ipv6.flags & IP6T_F_PROTO) || e->ipv6.proto != IPPROTO_TCP ||
	     (e->ipv6.invflags & XT_INV_PROTO))) {
		pr_info_ratelimited("tcp-reset needs -p tcp\n");
		return -EINVAL;
	}
	return reject_mtu_check_common(par, XT_REJECT_IPV6_PKT_TOO_BIG,
				       IP6T_TCP_RESET, XT_REJECT_MTU_MIN_IPV6,
				       reject6_unreach_code);
}
#endif /* IS_ENABLED(CONFIG_IPV6) */

/* nft inet tables: the rule's type says which family's packets it is for. */
static unsigned int reject_mtu_tg_inet(struct sk_buff *skb,
				       const struct xt_action_param *par)
{
	const struct xt_reject_info_v1 *info = par->targinfo;

	if (xt_family(par) == NFPROTO_IPV4 && info->with & XT_REJECT_INET_IPV4)
		return reject_mtu_tg4(skb, par);
#if IS_ENABLED(CONFIG_IPV6)
	if (xt_family(par) == NFPROTO_IPV6 && info->with & XT_REJECT_INET_IPV6)
		return reject_mtu_tg6(skb, par);
#endif
	return XT_CONTINUE;
}

static int reject_mtu_tg_inet_check(const struct xt_tgchk_param *par)
{
	const struct xt_reject_info_v1 *info = par->targinfo;
	u32 family = info->with & ~XT_REJECT_TYPE(~0U);

	if (par->family != NFPROTO_INET) {
		pr_info_ratelimited("only for ip, ip6 and inet tables\n");
		return -EINVAL;
	}
	if (family == XT_REJECT_INET_IPV4)
		return reject_mtu_tg4_check(par);
#if IS_ENABLED(CONFIG_IPV6)
	if (family == XT_REJECT_INET_IPV6)
		return reject_mtu_tg6_check(par);
#endif
	pr_info_ratelimited("in inet tables the type must name its family\n");
	return -EINVAL;
}

static struct xt_target reject_mtu_tg_reg[] __read_mostly = {
	{
		.name		= "REJECT",
		.revision	= 1,
		.family		= NFPROTO_IPV4,
		.target		= reject_mtu_tg4,
		.targetsize	= sizeof(struct xt_reject_info_v1),
		.hooks		= REJECT_HOOKS,
		.checkentry	= reject_mtu_tg4_check,
		.me		= THIS_MODULE,
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.name		= "REJECT",
		.revision	= 1,
		.family		= NFPROTO_IPV6,
		.target		= reject_mtu_tg6,
		.targetsize	= sizeof(struct xt_reject_info_v1),
		.hooks		= REJECT_HOOKS,
		.checkentry	= reject_mtu_tg6_check,
		.me		= THIS_MODULE,
	},
#endif
	{	/* nft_compat falls back to this for inet tables */
		.name		= "REJECT",
		.revision	= 1,
		.family		= NFPROTO_UNSPEC,
		.target		= reject_mtu_tg_inet,
		.targetsize	= sizeof(struct xt_reject_info_v1),
		.hooks		= REJECT_HOOKS,
		.checkentry	= reject_mtu_tg_inet_check,
		.me		= THIS_MODULE,
	},
};

static int __init reject_mtu_tg_init(void)
{
	return xt_register_targets(reject_mtu_tg_reg,
				   ARRAY_SIZE(reject_mtu_tg_reg));
}

static void __exit reject_mtu_tg_exit(void)
{
	xt_unregister_targets(reject_mtu_tg_reg, ARRAY_SIZE(reject_mtu_tg_reg));
}

module_init(reject_mtu_tg_init);
module_exit(reject_mtu_tg_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(NF_PREFRAG_VERSION);
MODULE_DESCRIPTION("Xtables: REJECT revision 1, with \"packet too big\" carrying the MTU");
