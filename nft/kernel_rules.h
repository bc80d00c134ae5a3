/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Our targets as the kernel holds them, rule by rule: what a JSON listing
 * says of them.  libnftables' JSON names an xtables target and nothing
 * more ({"xt": {"type": "target", "name": "PREFRAG"}}); its info, which
 * says what the statement does, comes from a dump of the rules.
 */
#ifndef NFT_PREFRAG_KERNEL_RULES_H
#define NFT_PREFRAG_KERNEL_RULES_H

#include <stddef.h>
#include <stdint.h>
#include "statements.h"

struct rule_targets {
	int		family;
	char		*table, *chain;
	uint64_t	handle;
	/* Every target of the rule, in order; ours decoded, others NULL. */
	const char	**names;
	struct statement *stmts;
	size_t		n;
};

/* The rules with a target, in the running network namespace. */
int kernel_rules_dump(struct rule_targets **rules, size_t *n);
void kernel_rules_free(struct rule_targets *rules, size_t n);

const struct rule_targets *kernel_rules_find(const struct rule_targets *rules,
					     size_t n, int family,
					     const char *table, const char *chain,
					     uint64_t handle);

#endif
