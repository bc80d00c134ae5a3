// SPDX-License-Identifier: GPL-2.0
/*
 * Is one of nf-prefrag's kernel modules usable on the running kernel?
 * Loaded, or listed in the kernel's modules.dep (then the kernel autoloads
 * it when a rule needs it); otherwise, say why and what fixes it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "module_hint.h"

/* DKMS's record of us: present once nf-prefrag-dkms (or make dkms-install)
 * registered the sources, whatever kernels it built for.
 */
#define DKMS_STATE	"/var/lib/dkms/nf-prefrag"

static int module_loaded(const char *module)
{
	char path[512];

	snprintf(path, sizeof(path), "/sys/module/%s", module);
	return access(path, F_OK) == 0;
}

/* modules.dep lines start "path/NAME.ko[.xz|.zst|.gz]:" */
static int listed_in_modules_dep(const char *release, const char *module)
{
	size_t n = strlen(module);
	char path[512], line[4096];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", release);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *base;

		if (!colon)
			continue;
		*colon = '\0';
		base = strrchr(line, '/');
		base = base ? base + 1 : line;
		found = strncmp(base, module, n) == 0 &&
			strncmp(base + n, ".ko", 3) == 0;
	}
	fclose(f);
	return found;
}

enum nf_prefrag_module_state
nf_prefrag_module_state(const char *module, char *hint, size_t len)
{
	enum nf_prefrag_module_state s;
	struct utsname u;

	if (hint && len)
		hint[0] = '\0';
	if (module_loaded(module))
		return NF_PREFRAG_MODULE_LOADED;
	if (access("/proc/modules", F_OK) != 0 || uname(&u) != 0)
		return NF_PREFRAG_MODULE_UNKNOWN;

	if (listed_in_modules_dep(u.release, module))
		s = NF_PREFRAG_MODULE_INSTALLED;
	else if (access(DKMS_STATE, F_OK) == 0)
		s = NF_PREFRAG_MODULE_NOT_BUILT;
	else
		s = NF_PREFRAG_MODULE_NOT_INSTALLED;

	if (!hint || !len)
		return s;
	switch (s) {
	case NF_PREFRAG_MODULE_INSTALLED:
		snprintf(hint, len,
			 "nf-prefrag's kernel module %s is installed but not loaded: run \"modprobe %s\"",
			 module, module);
		break;
	case NF_PREFRAG_MODULE_NOT_BUILT:
		snprintf(hint, len,
			 "nf-prefrag's kernel module %s is not built for the running kernel %s: "
			 "DKMS has no build for it; run \"dkms autoinstall -k %s\" "
			 "(needs linux-headers-%s)",
			 module, u.release, u.release, u.release);
		break;
	default:
		snprintf(hint, len,
			 "nf-prefrag's kernel module %s is not installed for the running kernel %s: "
			 "install the nf-prefrag-dkms package (or run \"make dkms-install\" in nf-prefrag's sources)",
			 module, u.release);
		break;
	}
	return s;
}
