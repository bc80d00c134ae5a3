// SPDX-License-Identifier: GPL-2.0
/*
 * Is one of nf-prefrag's kernel modules usable on the running kernel?
 * Loaded, or listed in the kernel's modules.dep (then the kernel autoloads
 * it when a rule needs it); otherwise, say why and what fixes it.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "module_hint.h"

/* DKMS's record of us: present once nf-prefrag-dkms (or make dkms-install)
 * registered the sources, whatever kernels it built for.
 */
#define DKMS_STATE	"/var/lib/dkms/nf-prefrag"
/* The certificate of the key DKMS signs its builds with (Debian's dkms). */
#define DKMS_MOK_CERT	"/var/lib/dkms/mok.pub"

extern char **environ;

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

/* The first line of @file contains @what. */
static int file_says(const char *file, const char *what)
{
	char line[256] = "";
	FILE *f = fopen(file, "r");

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	return strstr(line, what) != NULL;
}

/* Why the running kernel loads signed modules only, or NULL if it does not. */
static const char *signature_policy(void)
{
	if (file_says("/sys/module/module/parameters/sig_enforce", "Y"))
		return "module.sig_enforce=1";
	if (file_says("/sys/kernel/security/lockdown", "[integrity]"))
		return "lockdown=integrity (Secure Boot)";
	if (file_says("/sys/kernel/security/lockdown", "[confidentiality]"))
		return "lockdown=confidentiality";
	return NULL;
}

int nf_prefrag_modprobe(const char *module, char *err, size_t len)
{
	char *argv[] = { "modprobe", (char *)module, NULL };
	posix_spawn_file_actions_t actions;
	int fds[2], status = -1;
	ssize_t n, got = 0;
	pid_t pid;

	err[0] = '\0';
	if (pipe(fds))
		return -1;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
	posix_spawn_file_actions_addclose(&actions, fds[0]);
	if (posix_spawnp(&pid, "modprobe", &actions, NULL, argv, environ))
		pid = -1;
	posix_spawn_file_actions_destroy(&actions);
	close(fds[1]);
	while (pid > 0 && (n = read(fds[0], err + got, len - 1 - got)) > 0)
		got += n;
	close(fds[0]);
	err[got] = '\0';
	err[strcspn(err, "\n")] = '\0';
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

enum nf_prefrag_module_state
nf_prefrag_module_state(const char *module, char *hint, size_t len, bool may_load)
{
	enum nf_prefrag_module_state s;
	struct utsname u;

	if (hint && len)
		hint[0] = '\0';
	if (module_loaded(module))
		return NF_PREFRAG_MODULE_LOADED;
	if (access("/proc/modules", F_OK) != 0 || uname(&u) != 0)
		return NF_PREFRAG_MODULE_UNKNOWN;

	if (listed_in_modules_dep(u.release, module)) {
		const char *policy = signature_policy();
		char err[256];

		s = NF_PREFRAG_MODULE_INSTALLED;
		if (policy && may_load) {
			if (nf_prefrag_modprobe(module, err, sizeof(err)) == 0)
				return NF_PREFRAG_MODULE_LOADED;
			/* EKEYREJECTED, ENOKEY; lockdown: EPERM */
			if (!strstr(err, "Key was rejected") &&
			    !strstr(err, "Required key not available") &&
			    !strstr(err, "Operation not permitted"))
				return s;
			s = NF_PREFRAG_MODULE_REFUSED;
			if (hint && len)
				snprintf(hint, len,
					 "the running kernel %s loads signed modules only (%s) and refused nf-prefrag's %s (%s): "
					 "DKMS signs the modules it builds with its own key; enroll it with "
					 "\"mokutil --import %s\", reboot and confirm it in the MOK manager, "
					 "then run \"modprobe %s\"",
					 u.release, policy, module, err[0] ? err : "modprobe failed",
					 DKMS_MOK_CERT, module);
			return s;
		}
	}
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
