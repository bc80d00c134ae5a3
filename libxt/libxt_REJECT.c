// SPDX-License-Identifier: GPL-2.0
/*
 * iptables/ip6tables plugin for REJECT, a strict superset of iptables' own:
 * every reject type and spelling it knows, saved the same way, plus
 * "packet too big" with the MTU (icmp-frag-needed, icmp6-pkt-too-big and
 * --reject-mtu), which needs REJECT revision 1 from nf-prefrag's kernel
 * module xt_REJECT_MTU.  Installed as libipt_REJECT.so and
 * libip6t_REJECT.so, ahead of iptables' own.
 */
#include <stdio.h>
#include <string.h>
/* As iptables' own plugins: libxtables' current family (afinfo). */
#define XTABLES_INTERNAL
#include <xtables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>
#include <linux/netfilter/xt_REJECT_MTU.h>
#include <unistd.h>
#include "option_layout.h"
#include "module_hint.h"
#include "nft_syntax.h"
#include "xt_translate.h"

enum {
	O_REJECT_WITH = 0,
	O_REJECT_MTU,
};

struct reject_type {
	const char *name;
	const char *alias;
	const char *desc;
	const char *nft;	/* nft's name for it */
};

struct reject_family {
	const struct reject_type *types;
	unsigned int		ntypes;		/* the last one is too_big */
	unsigned int		too_big;
	unsigned int		tcp_reset;
	unsigned int		fallback;	/* the default type */
	unsigned int		mtu_min;
	const char		*nft_icmp;	/* "icmp" or "icmpv6" */
	const char		*nft_too_big;	/* our reject statement's type */
};

/* Order and spellings are iptables': prefixes must resolve the same way. */
static const struct reject_type reject4_types[] = {
	[IPT_ICMP_NET_UNREACHABLE] = {"icmp-net-unreachable", "net-unreach",
		"ICMP network unreachable", "net-unreachable"},
	[IPT_ICMP_HOST_UNREACHABLE] = {"icmp-host-unreachable", "host-unreach",
		"ICMP host unreachable", "host-unreachable"},
	[IPT_ICMP_PROT_UNREACHABLE] = {"icmp-proto-unreachable", "proto-unreach",
		"ICMP protocol unreachable", "prot-unreachable"},
	[IPT_ICMP_PORT_UNREACHABLE] = {"icmp-port-unreachable", "port-unreach",
		"ICMP port unreachable (default)", "port-unreachable"},
	[IPT_ICMP_NET_PROHIBITED] = {"icmp-net-prohibited", "net-prohib",
		"ICMP network prohibited", "net-prohibited"},
	[IPT_ICMP_HOST_PROHIBITED] = {"icmp-host-prohibited", "host-prohib",
		"ICMP host prohibited", "host-prohibited"},
	[IPT_TCP_RESET] = {"tcp-reset", "tcp-rst",
		"TCP RST packet", "tcp reset"},
	[IPT_ICMP_ADMIN_PROHIBITED] = {"icmp-admin-prohibited", "admin-prohib",
		"ICMP administratively prohibited (*)", "admin-prohibited"},
	[XT_REJECT_IPV4_FRAG_NEEDED] = {"icmp-frag-needed", "frag-needed",
		"ICMP fragmentation needed, with --reject-mtu", "frag-needed"},
};

static const struct reject_type reject6_types[] = {
	[IP6T_ICMP6_NO_ROUTE] = {"icmp6-no-route", "no-route",
		"ICMPv6 no route", "no-route"},
	[IP6T_ICMP6_ADM_PROHIBITED] = {"icmp6-adm-prohibited", "adm-prohibited",
		"ICMPv6 administratively prohibited", "admin-prohibited"},
	[IP6T_ICMP6_ADDR_UNREACH] = {"icmp6-addr-unreachable", "addr-unreach",
		"ICMPv6 address unreachable", "addr-unreachable"},
	[IP6T_ICMP6_PORT_UNREACH] = {"icmp6-port-unreachable", "port-unreach",
		"ICMPv6 port unreachable", "port-unreachable"},
	[IP6T_TCP_RESET] = {"tcp-reset", "tcp-reset",
		"TCP RST packet", "tcp reset"},
	[IP6T_ICMP6_POLICY_FAIL] = {"icmp6-policy-fail", "policy-fail",
		"ICMPv6 policy fail", "policy-fail"},
	[IP6T_ICMP6_REJECT_ROUTE] = {"icmp6-reject-route", "reject-route",
		"ICMPv6 reject route", "reject-route"},
	[XT_REJECT_IPV6_PKT_TOO_BIG] = {"icmp6-pkt-too-big", "pkt-too-big",
		"ICMPv6 packet too big, with --reject-mtu", "too-big"},
};

static const struct reject_family reject4 = {
	.types		= reject4_types,
	.ntypes		= ARRAY_SIZE(reject4_types),
	.too_big	= XT_REJECT_IPV4_FRAG_NEEDED,
	.tcp_reset	= IPT_TCP_RESET,
	.fallback	= IPT_ICMP_PORT_UNREACHABLE,
	.mtu_min	= XT_REJECT_MTU_MIN_IPV4,
	.nft_icmp	= "icmp",
	.nft_too_big	= NFT_REJECT_FRAG_NEEDED,
};

static const struct reject_family reject6 = {
	.types		= reject6_types,
	.ntypes		= ARRAY_SIZE(reject6_types),
	.too_big	= XT_REJECT_IPV6_PKT_TOO_BIG,
	.tcp_reset	= IP6T_TCP_RESET,
	.fallback	= IP6T_ICMP6_PORT_UNREACH,
	.mtu_min	= XT_REJECT_MTU_MIN_IPV6,
	.nft_icmp	= "icmpv6",
	.nft_too_big	= NFT_REJECT_TOO_BIG,
};

static const struct xt_option_entry reject_opts[] = {
	{.name = "reject-with", .id = O_REJECT_WITH, .type = XTTYPE_STRING},
	{.name = "reject-mtu", .id = O_REJECT_MTU, .type = XTTYPE_STRING},
	XTOPT_TABLEEND,
};

/* Both revisions start with the type; only revision 1 has the MTU. */
static unsigned int reject_with(const void *data)
{
	return XT_REJECT_TYPE(*(const __u32 *)data);
}

static void reject_help(const struct reject_family *f)
{
	unsigned int i;

	printf(
"REJECT target options:\n"
"--reject-with type              drop input packet and send back\n"
"                                a reply packet according to type:\n"
"--reject-mtu auto|N             the MTU sent with %s\n"
"                                (%u-65535; auto, the default: the MTU of\n"
"                                the packet's route)\n"
"Valid reject types:\n", f->types[f->too_big].name, f->mtu_min);
	for (i = 0; i < f->ntypes; i++) {
		if (!f->types[i].name)
			continue;
		printf("    %-25s\t%s\n", f->types[i].name, f->types[i].desc);
		printf("    %-25s\talias\n", f->types[i].alias);
	}
	printf("\n(*) See man page or read the INCOMPATIBILITES file for compatibility issues.\n");
}

static void reject_init(const struct reject_family *f, struct xt_entry_target *t)
{
	*(__u32 *)t->data = f->fallback;
}

static unsigned int reject_parse_type(const struct reject_family *f,
				      const char *arg)
{
	size_t len = strlen(arg);
	unsigned int i;

	/* Abbreviations are accepted, as by iptables' own REJECT. */
	for (i = 0; i < f->ntypes; i++) {
		if (!f->types[i].name)
			continue;
		if (strncasecmp(f->types[i].name, arg, len) == 0 ||
		    strncasecmp(f->types[i].alias, arg, len) == 0)
			return i;
	}
	if (strncasecmp("echo-reply", arg, len) == 0 ||
	    strncasecmp("echoreply", arg, len) == 0)
		fprintf(stderr, "--reject-with echo-reply no longer supported\n");
	xtables_error(PARAMETER_PROBLEM, "unknown reject type \"%s\"", arg);
	return 0;
}

static unsigned int reject_parse_mtu(const struct reject_family *f,
				     const char *arg)
{
	unsigned int mtu;

	if (strcmp(arg, "auto") == 0)
		return XT_REJECT_MTU_AUTO;
	if (!xtables_strtoui(arg, NULL, &mtu, f->mtu_min, XT_REJECT_MTU_MAX))
		xtables_error(PARAMETER_PROBLEM,
			      "REJECT: --reject-mtu takes \"auto\" or a number from %u to %u, not \"%s\"",
			      f->mtu_min, XT_REJECT_MTU_MAX, arg);
	return mtu;
}

/*
 * The MTU waits in udata until the final check: revision 0's data has no
 * room for it, and there it is refused anyway.
 */
static void reject_parse(const struct reject_family *f,
			 struct xt_option_call *cb)
{
	xtables_option_parse(cb);
	switch (cb->entry->id) {
	case O_REJECT_WITH:
		*(__u32 *)cb->data = reject_parse_type(f, cb->arg);
		break;
	case O_REJECT_MTU:
		*(unsigned int *)cb->udata = reject_parse_mtu(f, cb->arg);
		break;
	}
}

/* The kernel has only REJECT revision 0: say why, and what to run. */
static void reject_needs_revision1(const struct reject_family *f)
{
	char hint[512];

	nf_prefrag_module_state("xt_REJECT_MTU", hint, sizeof(hint), true);
	xtables_error(RESOURCE_PROBLEM,
		      "REJECT: %s needs REJECT revision 1 from nf-prefrag's kernel module xt_REJECT_MTU%s%s",
		      f->types[f->too_big].name, hint[0] ? ": " : ", which the kernel does not have",
		      hint);
}

static void reject_check(const struct reject_family *f,
			 struct xt_fcheck_call *cb, unsigned int revision)
{
	bool too_big = reject_with(cb->data) == f->too_big;
	unsigned int mtu = *(unsigned int *)cb->udata;

	if ((cb->xflags & (1 << O_REJECT_MTU)) && !too_big)
		xtables_error(PARAMETER_PROBLEM,
			      "REJECT: --reject-mtu goes with --reject-with %s",
			      f->types[f->too_big].name);
	if (!too_big)
		return;
	if (revision == 0)
		reject_needs_revision1(f);
	((struct xt_reject_info_v1 *)cb->data)->mtu = mtu;
	if (mtu != XT_REJECT_MTU_AUTO && mtu < XT_REJECT_MTU_LINUX_FLOOR)
		fprintf(stderr,
			"REJECT: warning: Linux senders take an MTU below %u as %u, and lock it\n",
			XT_REJECT_MTU_LINUX_FLOOR, XT_REJECT_MTU_LINUX_FLOOR);
}

static void reject_print_mtu(const struct xt_entry_target *t, const char *prefix)
{
	const struct xt_reject_info_v1 *info = (const void *)t->data;

	if (t->u.user.revision >= 1 && info->mtu != XT_REJECT_MTU_AUTO)
		printf(" %s%u", prefix, info->mtu);
}

static const char *reject_name(const struct reject_family *f, unsigned int with)
{
	if (with < f->ntypes && f->types[with].name)
		return f->types[with].name;
	return "?";
}

static void reject_print(const struct reject_family *f,
			 const struct xt_entry_target *t)
{
	printf(" reject-with %s", reject_name(f, reject_with(t->data)));
	reject_print_mtu(t, "mtu ");
}

static void reject_save(const struct reject_family *f,
			const struct xt_entry_target *t)
{
	printf(" --reject-with %s", reject_name(f, reject_with(t->data)));
	reject_print_mtu(t, "--reject-mtu ");
}

/*
 * The too-big types always carry "mtu": stock nft refuses that word there,
 * so our rules can never load into stock nft as its own frag-needed, which
 * sends MTU 0.
 */
static void reject_xlate_too_big(const struct reject_family *f,
				 struct xt_xlate *xl,
				 const struct xt_entry_target *t)
{
	const struct xt_reject_info_v1 *info = (const void *)t->data;

	xt_xlate_add(xl, "reject with %s " NFT_PREFRAG_MTU " ", f->nft_too_big);
	if (t->u.user.revision >= 1 && info->mtu != XT_REJECT_MTU_AUTO)
		xt_xlate_add(xl, "%u", info->mtu);
	else
		xt_xlate_add(xl, NFT_MTU_AUTO);
	xt_xlate_add_loader(xl);
}

static int reject_xlate(const struct reject_family *f, struct xt_xlate *xl,
			const struct xt_xlate_tg_params *params)
{
	unsigned int with = reject_with(params->target->data);

	if (with >= f->ntypes || !f->types[with].nft)
		return 0;
	if (with == f->too_big)
		reject_xlate_too_big(f, xl, params->target);
	else if (with == f->fallback)
		xt_xlate_add(xl, "reject");
	else if (with == f->tcp_reset)
		xt_xlate_add(xl, "reject with %s", f->types[with].nft);
	else
		xt_xlate_add(xl, "reject with %s type %s", f->nft_icmp,
			     f->types[with].nft);
	return 1;
}

/*
 * One registration serves both families: nft prints rules of every family
 * from one process, where the plugin is loaded only once.  The family is
 * libxtables' current one.
 */
static const struct reject_family *reject_family(void)
{
	return afinfo->family == NFPROTO_IPV6 ? &reject6 : &reject4;
}

/* A rule of an nft inet table says its family itself. */
static const struct reject_family *reject_family_of(const void *data)
{
	__u32 with = *(const __u32 *)data;

	if (with & XT_REJECT_INET_IPV6)
		return &reject6;
	if (with & XT_REJECT_INET_IPV4)
		return &reject4;
	return reject_family();
}

static void reject_tg_help(void)
{
	reject_help(reject_family());
}

static void reject_tg_init(struct xt_entry_target *t)
{
	reject_init(reject_family(), t);
}

static void reject_tg_parse(struct xt_option_call *cb)
{
	reject_parse(reject_family(), cb);
}

static void reject_tg_check_v0(struct xt_fcheck_call *cb)
{
	reject_check(reject_family(), cb, 0);
}

static void reject_tg_check_v1(struct xt_fcheck_call *cb)
{
	reject_check(reject_family(), cb, 1);
}

static void reject_tg_print(const void *ip, const struct xt_entry_target *t,
			    int numeric)
{
	reject_print(reject_family_of(t->data), t);
}

static void reject_tg_save(const void *ip, const struct xt_entry_target *t)
{
	reject_save(reject_family_of(t->data), t);
}

static int reject_tg_xlate(struct xt_xlate *xl,
			   const struct xt_xlate_tg_params *params)
{
	return reject_xlate(reject_family_of(params->target->data), xl, params);
}

/* Both families' infos are a __u32 type (revision 0), plus an MTU (1). */
#define REJECT_TARGET(rev, infosize)					\
	{								\
		.family		= NFPROTO_UNSPEC,			\
		.name		= "REJECT",				\
		.revision	= rev,					\
		.version	= XTABLES_VERSION,			\
		.size		= XT_ALIGN(infosize),			\
		.userspacesize	= XT_ALIGN(infosize),			\
		.udata_size	= sizeof(unsigned int),			\
		.help		= reject_tg_help,			\
		.init		= reject_tg_init,			\
		.print		= reject_tg_print,			\
		.save		= reject_tg_save,			\
		.xlate		= reject_tg_xlate,			\
		.x6_parse	= reject_tg_parse,			\
		.x6_fcheck	= reject_tg_check_v##rev,		\
		.x6_options	= reject_opts,				\
	}

/*
 * Revision 1 where the kernel has it; revision 0 otherwise, which refuses
 * only the new options, with a message naming the module to load.
 */
static struct xtables_target reject_tg_reg[] = {
	REJECT_TARGET(1, sizeof(struct xt_reject_info_v1)),
	REJECT_TARGET(0, sizeof(struct ipt_reject_info)),
};

/*
 * libxtables keeps a registered revision the kernel lacks pending, and warns
 * "Extension REJECT is not supported" on every later lookup of REJECT: so
 * when the kernel has no revision 1, register revision 0 alone.  (Only root
 * can ask; libxtables assumes everything is supported otherwise.)
 */
static bool reject_kernel_has_revision1(void)
{
	if (geteuid() != 0 || !xt_params || !xt_params->compat_rev || !afinfo)
		return true;
	return xt_params->compat_rev("REJECT", 1, afinfo->so_rev_target);
}

static void __attribute__((constructor)) reject_tg_ldr(void)
{
	xt_option_layout_adapt(reject_tg_reg, ARRAY_SIZE(reject_tg_reg));
	if (reject_kernel_has_revision1())
		xtables_register_targets(reject_tg_reg, ARRAY_SIZE(reject_tg_reg));
	else
		xtables_register_target(&reject_tg_reg[1]);
}
