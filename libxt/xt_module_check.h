/* SPDX-License-Identifier: GPL-2.0 */
/* The plugins' check that the kernel half of a target is there. */
#ifndef NF_PREFRAG_XT_MODULE_CHECK_H
#define NF_PREFRAG_XT_MODULE_CHECK_H

#include <xtables.h>
#include "module_hint.h"
#include "xt_translate.h"

/*
 * Refuse a rule for @target whose @module the running kernel can't load,
 * saying which and how to fix it: exit status 4, as nft-prefrag's for a
 * missing module (RESOURCE_PROBLEM).  Translation needs no kernel.
 */
static inline void xt_require_module(const char *target, const char *module)
{
	char hint[512];

	if (xt_translating())
		return;
	if (nf_prefrag_module_missing(nf_prefrag_module_state(module, hint,
							      sizeof(hint), true)))
		xtables_error(RESOURCE_PROBLEM, "%s: %s", target, hint);
}

#endif /* NF_PREFRAG_XT_MODULE_CHECK_H */
