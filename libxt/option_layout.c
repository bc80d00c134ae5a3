// SPDX-License-Identifier: GPL-2.0
/*
 * See option_layout.h.  XT_OPTION_ENTRY_HAS_BASE comes from the build
 * (scripts/xt-option-layout.sh probes the xtables.h at hand).
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <xtables.h>
#include "option_layout.h"

#ifndef XT_OPTION_ENTRY_HAS_BASE
#error "the build defines XT_OPTION_ENTRY_HAS_BASE (scripts/xt-option-layout.sh)"
#endif

/* struct xt_option_entry of iptables up to 1.8.10... */
struct option_entry_without_base {
	const char *name;
	enum xt_option_type type;
	unsigned int id, excl, also, flags;
	unsigned int ptroff;
	size_t size;
	unsigned int min, max;
};

/* ...and from 1.8.11 on. */
struct option_entry_with_base {
	const char *name;
	enum xt_option_type type;
	unsigned int id, excl, also, flags;
	unsigned int ptroff;
	size_t size;
	unsigned int min, max, base;
};

#if XT_OPTION_ENTRY_HAS_BASE
typedef struct option_entry_without_base other_entry;
_Static_assert(sizeof(struct xt_option_entry) == sizeof(struct option_entry_with_base),
	       "struct xt_option_entry is neither layout known here");
#else
typedef struct option_entry_with_base other_entry;
_Static_assert(sizeof(struct xt_option_entry) ==
	       sizeof(struct option_entry_without_base),
	       "struct xt_option_entry is neither layout known here");
#endif

static bool library_has_base(void)
{
	return dlsym(RTLD_DEFAULT, "xtables_strtoul_base") != NULL;
}

/* @table in the other layout (base, where it has one, 0: any base). */
static const struct xt_option_entry *
other_layout(const struct xt_option_entry *table, const char *target)
{
	other_entry *copy;
	size_t n = 0, i;

	while (table[n].name)
		n++;
	copy = calloc(n + 1, sizeof(*copy));	/* ends with an empty entry */
	if (!copy)
		xtables_error(OTHER_PROBLEM, "%s: out of memory", target);
	for (i = 0; i < n; i++) {
		copy[i].name = table[i].name;
		copy[i].type = table[i].type;
		copy[i].id = table[i].id;
		copy[i].excl = table[i].excl;
		copy[i].also = table[i].also;
		copy[i].flags = table[i].flags;
		copy[i].ptroff = table[i].ptroff;
		copy[i].size = table[i].size;
		copy[i].min = table[i].min;
		copy[i].max = table[i].max;
	}
	return (const struct xt_option_entry *)copy;
}

void xt_option_layout_adapt(struct xtables_target *targets, size_t n)
{
	size_t i;

	if (library_has_base() == XT_OPTION_ENTRY_HAS_BASE)
		return;
	for (i = 0; i < n; i++)
		if (targets[i].x6_options)
			targets[i].x6_options = other_layout(targets[i].x6_options,
							     targets[i].name);
}
