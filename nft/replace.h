/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Second step of a load: the rules nft has just added carry placeholders;
 * replace them, in one netlink transaction, by the same rules with our
 * xtables targets in the placeholders' places.
 */
#ifndef NFT_PREFRAG_REPLACE_H
#define NFT_PREFRAG_REPLACE_H

#include <stdint.h>
#include "statements.h"

struct rule_ref {
	int		family;		/* NFPROTO_* */
	char		table[256];
	char		chain[256];
	uint64_t	handle;
	size_t		first, count;	/* its statements, in order */
};

/* 0, or -1 with a message on stderr; nothing changed then. */
int replace_rules(const struct rule_ref *refs, size_t n,
		  const struct statement *stmts);

#endif
