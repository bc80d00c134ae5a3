// SPDX-License-Identifier: GPL-2.0
/*
 * iptables plugin for the PREFRAG target: fragment IP packets before IPsec
 * encrypts them.
 */
#include <stdio.h>
#include <string.h>
/* As iptables' own plugins: libxtables' current family (afinfo). */
#define XTABLES_INTERNAL
#include <xtables.h>
#include <linux/netfilter/xt_PREFRAG.h>
#include "nft_syntax.h"
#include "option_layout.h"
#include "xt_module_check.h"

enum {
	O_MTU = 0,
	O_DF,
	O_TCP,
};

/* The --df words are nft's "df" words (nft_syntax.h). */
#define prefrag_df_names nft_prefrag_df_names

static const struct xt_option_entry prefrag_tg_opts[] = {
	{.name = "mtu", .id = O_MTU, .type = XTTYPE_STRING},
	{.name = "df", .id = O_DF, .type = XTTYPE_STRING},
	{.name = "tcp", .id = O_TCP, .type = XTTYPE_STRING},
	XTOPT_TABLEEND,
};

/*
 * One registration serves both families (nft prints rules of every family
 * from one process, where the plugin is loaded only once): what differs is
 * decided by libxtables' current family.
 */
static bool prefrag_ipv6(void)
{
	return afinfo->family == NFPROTO_IPV6;
}

static void prefrag_tg4_help(void)
{
	printf(
"PREFRAG target options:\n"
"  --mtu auto|N         fragment packets larger than N bytes (68-65535), or\n"
"                       than the MTU of the route they leave by (auto, the\n"
"                       default: for IPsec, the tunnel's MTU after ESP)\n"
"  --df reject|keep|clear\n"
"                       a too large packet with DF set: answer ICMP\n"
"                       \"fragmentation needed\" with the MTU (reject, the\n"
"                       default), leave it to the kernel (keep), or clear DF,\n"
"                       give it a fresh IP ID and fragment it (clear)\n"
"  --tcp fragment|segment\n"
"                       too large TCP: fragment it as any packet (fragment,\n"
"                       the default), or cut it into TCP segments that fit,\n"
"                       DF or not, with no IP fragments (segment)\n");
}

/* IPv6 has no DF: what may not be cut is refused with "packet too big". */
static void prefrag_tg6_help(void)
{
	printf(
"PREFRAG target options:\n"
"  --mtu auto|N         cut packets this host sends that are larger than N\n"
"                       bytes (1280-65535), or than the MTU of the route\n"
"                       they leave by (auto, the default), with a Fragment\n"
"                       header; forwarded ones get \"packet too big\"\n"
"  --tcp fragment|segment\n"
"                       too large TCP, sent or forwarded: as any packet\n"
"                       (fragment, the default), or cut into TCP segments\n"
"                       that fit (segment)\n");
}

static void prefrag_tg_help(void)
{
	if (prefrag_ipv6())
		prefrag_tg6_help();
	else
		prefrag_tg4_help();
}

static void prefrag_tg_init(struct xt_entry_target *t)
{
	struct xt_prefrag_info *info = (void *)t->data;

	info->mtu = XT_PREFRAG_MTU_AUTO;
	info->df_policy = XT_PREFRAG_DF_REJECT;
}

static unsigned int prefrag_parse_mtu(const char *arg, unsigned int min)
{
	unsigned int mtu;

	if (strcmp(arg, "auto") == 0)
		return XT_PREFRAG_MTU_AUTO;
	if (!xtables_strtoui(arg, NULL, &mtu, min, XT_PREFRAG_MTU_MAX))
		xtables_error(PARAMETER_PROBLEM,
			      "PREFRAG: --mtu takes \"auto\" or a number from %u to %u, not \"%s\"",
			      min, XT_PREFRAG_MTU_MAX, arg);
	return mtu;
}

static unsigned int prefrag_parse_df(const char *arg)
{
	unsigned int i;

	for (i = 0; i < __XT_PREFRAG_DF_MAX; i++)
		if (strcmp(arg, prefrag_df_names[i]) == 0)
			return i;
	xtables_error(PARAMETER_PROBLEM,
		      "PREFRAG: --df takes reject, keep or clear, not \"%s\"",
		      arg);
	return 0;
}

static unsigned int prefrag_parse_tcp(const char *arg)
{
	if (strcmp(arg, NFT_PREFRAG_TCP_SEGMENT) == 0)
		return XT_PREFRAG_TCP_SEGMENT;
	if (strcmp(arg, NFT_PREFRAG_TCP_FRAGMENT) == 0)
		return 0;
	xtables_error(PARAMETER_PROBLEM,
		      "PREFRAG: --tcp takes fragment or segment, not \"%s\"",
		      arg);
	return 0;
}

static void prefrag_tg_parse(struct xt_option_call *cb)
{
	struct xt_prefrag_info *info = cb->data;

	xtables_option_parse(cb);
	switch (cb->entry->id) {
	case O_MTU:
		info->mtu = prefrag_parse_mtu(cb->arg, prefrag_ipv6() ?
					      XT_PREFRAG_MTU_MIN_IPV6 :
					      XT_PREFRAG_MTU_MIN);
		break;
	case O_DF:
		if (prefrag_ipv6())
			xtables_error(PARAMETER_PROBLEM,
				      "PREFRAG: --df is for IPv4 only: IPv6 packets have no DF bit");
		info->df_policy = prefrag_parse_df(cb->arg);
		break;
	case O_TCP:
		info->flags &= ~XT_PREFRAG_TCP_SEGMENT;
		info->flags |= prefrag_parse_tcp(cb->arg);
		break;
	}
}

static void prefrag_tg_check(struct xt_fcheck_call *cb)
{
	xt_require_module("PREFRAG", "xt_PREFRAG");
}

static const char *prefrag_df_name(const struct xt_prefrag_info *info)
{
	if (info->df_policy < __XT_PREFRAG_DF_MAX)
		return prefrag_df_names[info->df_policy];
	return "?";
}

/* " --mtu auto --df clear", or with @prefix "", " mtu auto df clear" */
static void prefrag_print_options(const struct xt_prefrag_info *info,
				  const char *prefix)
{
	if (info->mtu == XT_PREFRAG_MTU_AUTO)
		printf(" %smtu auto", prefix);
	else
		printf(" %smtu %u", prefix, info->mtu);
	if (info->df_policy != XT_PREFRAG_DF_REJECT)
		printf(" %sdf %s", prefix, prefrag_df_name(info));
	if (info->flags & XT_PREFRAG_TCP_SEGMENT)
		printf(" %stcp " NFT_PREFRAG_TCP_SEGMENT, prefix);
}

static void prefrag_tg_print(const void *ip, const struct xt_entry_target *t,
			     int numeric)
{
	printf(" PREFRAG");
	prefrag_print_options((const void *)t->data, "");
}

static void prefrag_tg_save(const void *ip, const struct xt_entry_target *t)
{
	prefrag_print_options((const void *)t->data, "--");
}

static int prefrag_tg_xlate(struct xt_xlate *xl,
			    const struct xt_xlate_tg_params *params)
{
	const struct xt_prefrag_info *info = (const void *)params->target->data;

	if (info->mtu == XT_PREFRAG_MTU_AUTO)
		xt_xlate_add(xl, NFT_PREFRAG " " NFT_PREFRAG_MTU " " NFT_MTU_AUTO);
	else
		xt_xlate_add(xl, NFT_PREFRAG " " NFT_PREFRAG_MTU " %u", info->mtu);
	if (info->df_policy != XT_PREFRAG_DF_REJECT)
		xt_xlate_add(xl, " " NFT_PREFRAG_DF " %s", prefrag_df_name(info));
	if (info->flags & XT_PREFRAG_TCP_SEGMENT)
		xt_xlate_add(xl, " " NFT_PREFRAG_TCP " " NFT_PREFRAG_TCP_SEGMENT);
	xt_xlate_add_loader(xl);
	return 1;
}

static struct xtables_target prefrag_tg_reg = {
	.family		= NFPROTO_UNSPEC,
	.name		= "PREFRAG",
	.revision	= 0,
	.version	= XTABLES_VERSION,
	.size		= XT_ALIGN(sizeof(struct xt_prefrag_info)),
	.userspacesize	= XT_ALIGN(sizeof(struct xt_prefrag_info)),
	.help		= prefrag_tg_help,
	.init		= prefrag_tg_init,
	.print		= prefrag_tg_print,
	.save		= prefrag_tg_save,
	.xlate		= prefrag_tg_xlate,
	.x6_parse	= prefrag_tg_parse,
	.x6_fcheck	= prefrag_tg_check,
	.x6_options	= prefrag_tg_opts,
};

static void __attribute__((constructor)) prefrag_tg_ldr(void)
{
	xt_option_layout_adapt(&prefrag_tg_reg, 1);
	xtables_register_target(&prefrag_tg_reg);
}
