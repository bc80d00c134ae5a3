// SPDX-License-Identifier: GPL-2.0
/*
 * Our kernel modules: which are loaded, their versions, which versions the
 * next modprobe would load, and whether DKMS built them for this kernel.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include "capture.h"
#include "doctor.h"

static const char *const our_modules[DOCTOR_NUM_MODULES] = {
	"nf_prefrag", "xt_PREFRAG", "xt_CLEARDF", "xt_REJECT_MTU",
};

/* The first line of FILE into BUF; false if it cannot be read. */
static bool read_line(const char *file, char *buf, size_t size)
{
	FILE *f = fopen(file, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, size, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/* The first line a command printed into BUF ("" if none). */
static void first_line(const char *const argv[], char *buf, size_t size)
{
	struct text out;

	buf[0] = '\0';
	if (capture(NULL, argv, &out))
		snprintf(buf, size, "%.*s", (int)strcspn(out.data, "\n"), out.data);
	text_free(&out);
}

static void module_inspect(struct module_state *mod, const char *kernel)
{
	const char *version_argv[] = { "modinfo", "-k", kernel, "-F", "version", mod->name, NULL };
	const char *file_argv[] = { "modinfo", "-k", kernel, "-n", mod->name, NULL };
	char path[DOCTOR_TEXT_LEN];

	snprintf(path, sizeof(path), "/sys/module/%s/version", mod->name);
	mod->loaded = read_line(path, mod->version, sizeof(mod->version));
	first_line(version_argv, mod->file_version, sizeof(mod->file_version));
	first_line(file_argv, mod->file, sizeof(mod->file));
}

/* "nf-prefrag/0.2.0, 6.1.0-57-amd64, x86_64: installed", one line per kernel. */
static void dkms_inspect(struct modules_report *m)
{
	const char *argv[] = { "dkms", "status", "-m", "nf-prefrag", NULL };
	struct text out;
	size_t pos = 0;
	char *line;

	m->dkms_known = capture(NULL, argv, &out);
	while ((line = text_next_line(&out, &pos))) {
		if (!strstr(line, "nf-prefrag"))
			continue;
		m->dkms_added = true;
		if (!strstr(line, m->kernel))
			continue;
		snprintf(m->dkms_status, sizeof(m->dkms_status), "%s", line);
		m->dkms_built = strstr(line, ": installed") != NULL;
	}
	text_free(&out);
}

void modules_inspect(struct modules_report *m)
{
	struct utsname u;
	int i;

	uname(&u);
	snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
	for (i = 0; i < DOCTOR_NUM_MODULES; i++) {
		m->mod[i].name = our_modules[i];
		module_inspect(&m->mod[i], m->kernel);
	}
	dkms_inspect(m);
}
