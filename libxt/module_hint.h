/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which of nf-prefrag's kernel modules the running kernel lacks, and the
 * command that fixes it: what the plugins and nft-prefrag say instead of
 * "No chain/target/match by that name".
 */
#ifndef NF_PREFRAG_MODULE_HINT_H
#define NF_PREFRAG_MODULE_HINT_H

#include <stdbool.h>
#include <stddef.h>

enum nf_prefrag_module_state {
	NF_PREFRAG_MODULE_LOADED,
	NF_PREFRAG_MODULE_UNKNOWN,	/* no loadable modules here: can't tell */
	NF_PREFRAG_MODULE_INSTALLED,	/* not loaded, but modprobe finds it */
	NF_PREFRAG_MODULE_NOT_BUILT,	/* DKMS knows us, not this kernel */
	NF_PREFRAG_MODULE_NOT_INSTALLED,
	NF_PREFRAG_MODULE_REFUSED,	/* the kernel wants a signature we lack */
};

/*
 * The state of @module on the running kernel; @hint (if not NULL) gets a
 * sentence saying what is wrong and what to run, or "" when nothing is.
 * On a kernel that loads signed modules only (module.sig_enforce, lockdown),
 * an installed module is loaded with modprobe, if @may_load, to learn
 * whether the kernel takes its signature (adding a rule would load it all
 * the same); otherwise it counts as installed.
 */
enum nf_prefrag_module_state
nf_prefrag_module_state(const char *module, char *hint, size_t len, bool may_load);

/* modprobe @module: 0 when loaded, else what modprobe said in @err. */
int nf_prefrag_modprobe(const char *module, char *err, size_t len);

/* Our modules can't be loaded as they are: loading a rule would fail. */
static inline int nf_prefrag_module_missing(enum nf_prefrag_module_state s)
{
	return s == NF_PREFRAG_MODULE_NOT_BUILT ||
	       s == NF_PREFRAG_MODULE_NOT_INSTALLED ||
	       s == NF_PREFRAG_MODULE_REFUSED;
}

#endif /* NF_PREFRAG_MODULE_HINT_H */
