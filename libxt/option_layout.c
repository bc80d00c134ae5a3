// SPDX-License-Identifier: GPL-2.0
/*
 * See option_layout.h.  XT_OPTION_ENTRY_HAS_BASE comes from the build (the
 * Makefile compiles a probe against the xtables.h at hand).
 */
#include <dlfcn.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <xtables.h>
#include "option_layout.h"

#ifndef XT_OPTION_ENTRY_HAS_BASE
#error "the Makefile's probe defines XT_OPTION_ENTRY_HAS_BASE (0 or 1)"
#endif

#define BUILT_FOR (XT_OPTION_ENTRY_HAS_BASE ? "1.8.11 or later" : "1.8.10 or earlier")
#define RUNNING (XT_OPTION_ENTRY_HAS_BASE ? "1.8.10 or earlier" : "1.8.11 or later")

static const char *guarded_target;

static bool library_has_base(void)
{
	return dlsym(RTLD_DEFAULT, "xtables_strtoul_base") != NULL;
}

static void refuse(void)
{
	xtables_error(PARAMETER_PROBLEM,
		      "%s: xtables-nf-prefrag's plugin was built for iptables %s and cannot read options with this iptables (%s): install xtables-nf-prefrag built for this release (make deb)",
		      guarded_target, BUILT_FOR, RUNNING);
}

static int refuse_parse(int c, char **argv, int invert, unsigned int *flags,
			const void *entry, struct xt_entry_target **target)
{
	refuse();
	return 0;
}

static void refuse_final_check(unsigned int flags)
{
	refuse();
}

/*
 * The same option names as plain getopt options (whose layout is libc's),
 * so that using any of them reaches refuse() rather than "unknown option".
 */
static struct option *getopt_options(const struct xt_option_entry *entry)
{
	struct option *opts;
	size_t n = 0, i;

	while (entry[n].name)
		n++;
	opts = calloc(n + 1, sizeof(*opts));
	if (!opts)
		return NULL;
	for (i = 0; i < n; i++) {
		opts[i].name = entry[i].name;
		opts[i].has_arg = entry[i].type == XTTYPE_NONE ?
				  no_argument : required_argument;
		opts[i].val = entry[i].id;
	}
	return opts;
}

void xt_option_layout_guard(struct xtables_target *targets, size_t n)
{
	size_t i;

	if (library_has_base() == XT_OPTION_ENTRY_HAS_BASE)
		return;
	for (i = 0; i < n; i++) {
		struct xtables_target *t = &targets[i];

		guarded_target = t->name;
		t->extra_opts = t->x6_options ? getopt_options(t->x6_options) : NULL;
		t->x6_options = NULL;
		t->x6_parse = NULL;
		t->x6_fcheck = NULL;
		t->init = NULL;
		t->parse = refuse_parse;
		t->final_check = refuse_final_check;
	}
}
