/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iptables-translate and iptables-restore-translate: the plugins' words
 * when what they print is a command for the user to run.
 */
#ifndef NF_PREFRAG_XT_TRANSLATE_H
#define NF_PREFRAG_XT_TRANSLATE_H

#include <stdbool.h>
#include <string.h>
#include <xtables.h>

/* Printing for iptables-translate, not listing for nft or iptables-nft. */
static inline bool xt_translating(void)
{
	return xt_params && xt_params->program_name &&
	       strstr(xt_params->program_name, "translate");
}

/*
 * iptables-translate prints "nft '...'", which stock nft cannot run with
 * our statements: the line says what loads it, as a comment nft skips.
 * Listings (nft list ruleset, iptables-nft) never carry it.
 */
static inline void xt_xlate_add_loader(struct xt_xlate *xl)
{
	if (xt_translating())
		xt_xlate_add(xl, " # load with nft-prefrag");
}

#endif /* NF_PREFRAG_XT_TRANSLATE_H */
