/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The nft syntax of nf-prefrag's statements, in one place: the iptables
 * plugins print it (xlate: iptables-translate, nft list ruleset) and
 * nft-prefrag parses it, so the two cannot drift apart.
 *
 *   prefrag mtu auto|N [df reject|keep|clear] [tcp fragment|segment]
 *   cleardf [min-len N] [random-id]
 *   reject with icmp frag-needed mtu auto|N
 *   reject with icmpv6 too-big mtu auto|N
 */
#ifndef NF_PREFRAG_NFT_SYNTAX_H
#define NF_PREFRAG_NFT_SYNTAX_H

#include <linux/netfilter/xt_PREFRAG.h>

#define NFT_PREFRAG		"prefrag"
#define NFT_PREFRAG_MTU		"mtu"
#define NFT_PREFRAG_DF		"df"
#define NFT_PREFRAG_TCP		"tcp"
#define NFT_PREFRAG_TCP_FRAGMENT	"fragment"
#define NFT_PREFRAG_TCP_SEGMENT	"segment"
#define NFT_MTU_AUTO		"auto"
#define NFT_CLEARDF		"cleardf"
#define NFT_CLEARDF_MIN_LEN	"min-len"
#define NFT_CLEARDF_RANDOM_ID	"random-id"
#define NFT_REJECT_FRAG_NEEDED	"icmp frag-needed"
#define NFT_REJECT_TOO_BIG	"icmpv6 too-big"

/* --df and "df": the same words in both syntaxes. */
static const char *const nft_prefrag_df_names[__XT_PREFRAG_DF_MAX] = {
	[XT_PREFRAG_DF_REJECT]	= "reject",
	[XT_PREFRAG_DF_KEEP]	= "keep",
	[XT_PREFRAG_DF_CLEAR]	= "clear",
};

#endif /* NF_PREFRAG_NFT_SYNTAX_H */
