// SPDX-License-Identifier: GPL-2.0
/*
 * iptables plugin for the CLEARDF target: clear DF and give the packet a
 * fresh IP ID.
 */
#include <stdio.h>
/* As iptables' own plugins: libxtables' current family (afinfo). */
#define XTABLES_INTERNAL
#include <xtables.h>
#include <linux/netfilter/xt_CLEARDF.h>
#include "nft_syntax.h"
#include "option_layout.h"
#include "xt_module_check.h"

enum {
	O_MIN_LEN = 0,
	O_RANDOM_ID,
};

#define s struct xt_cleardf_info
static const struct xt_option_entry cleardf_tg_opts[] = {
	{.name = "min-len", .id = O_MIN_LEN, .type = XTTYPE_UINT16,
	 .flags = XTOPT_PUT, XTOPT_POINTER(s, min_len)},
	{.name = "random-id", .id = O_RANDOM_ID, .type = XTTYPE_NONE},
	XTOPT_TABLEEND,
};
#undef s

static void cleardf_tg_help(void)
{
	printf(
"CLEARDF target options:\n"
"  --min-len N          only packets of at least N bytes (smaller packets\n"
"                       keep DF, and so path MTU discovery)\n"
"  --random-id          a fresh IP ID for every packet touched, DF or not;\n"
"                       without it, only packets whose DF is cleared get one\n");
}

static void cleardf_tg_parse(struct xt_option_call *cb)
{
	struct xt_cleardf_info *info = cb->data;

	xtables_option_parse(cb);
	if (cb->entry->id == O_RANDOM_ID)
		info->flags |= XT_CLEARDF_RANDOM_ID;
}

/*
 * Registered for every family so that ip6tables explains itself instead of
 * saying the chain does not exist.
 */
static void cleardf_tg_check(struct xt_fcheck_call *cb)
{
	if (afinfo->family == NFPROTO_IPV6)
		xtables_error(PARAMETER_PROBLEM,
			      "CLEARDF is for IPv4 only: IPv6 packets have no DF bit (use PREFRAG to cut IPv6 packets this host sends)");
	xt_require_module("CLEARDF", "xt_CLEARDF");
}

static void cleardf_print_options(const struct xt_cleardf_info *info,
				  const char *prefix)
{
	if (info->min_len)
		printf(" %smin-len %u", prefix, info->min_len);
	if (info->flags & XT_CLEARDF_RANDOM_ID)
		printf(" %srandom-id", prefix);
}

static void cleardf_tg_print(const void *ip, const struct xt_entry_target *t,
			     int numeric)
{
	printf(" CLEARDF");
	cleardf_print_options((const void *)t->data, "");
}

static void cleardf_tg_save(const void *ip, const struct xt_entry_target *t)
{
	cleardf_print_options((const void *)t->data, "--");
}

static int cleardf_tg_xlate(struct xt_xlate *xl,
			    const struct xt_xlate_tg_params *params)
{
	const struct xt_cleardf_info *info = (const void *)params->target->data;

	xt_xlate_add(xl, NFT_CLEARDF);
	if (info->min_len)
		xt_xlate_add(xl, " " NFT_CLEARDF_MIN_LEN " %u", info->min_len);
	if (info->flags & XT_CLEARDF_RANDOM_ID)
		xt_xlate_add(xl, " " NFT_CLEARDF_RANDOM_ID);
	xt_xlate_add_loader(xl);
	return 1;
}

static struct xtables_target cleardf_tg_reg = {
	.family		= NFPROTO_UNSPEC,
	.name		= "CLEARDF",
	.revision	= 0,
	.version	= XTABLES_VERSION,
	.size		= XT_ALIGN(sizeof(struct xt_cleardf_info)),
	.userspacesize	= XT_ALIGN(sizeof(struct xt_cleardf_info)),
	.help		= cleardf_tg_help,
	.print		= cleardf_tg_print,
	.save		= cleardf_tg_save,
	.xlate		= cleardf_tg_xlate,
	.x6_parse	= cleardf_tg_parse,
	.x6_fcheck	= cleardf_tg_check,
	.x6_options	= cleardf_tg_opts,
};

static void __attribute__((constructor)) cleardf_tg_ldr(void)
{
	xt_option_layout_adapt(&cleardf_tg_reg, 1);
	xtables_register_target(&cleardf_tg_reg);
}
