// SPDX-License-Identifier: GPL-2.0
/*
 * nf-prefrag: the admin's command.
 *
 *   nf-prefrag doctor [--json] [--netns NAME]
 *
 * doctor shows our modules and their versions, the DKMS build for the
 * running kernel, the counters and every rule using our actions (iptables
 * and nft) in this network namespace and each named one (ip netns), and
 * says what is wrong.  It only reads: nothing is loaded or changed.
 * Exit status: 0, or 1 when it found a problem; 2 for bad usage.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "doctor.h"

#define NETNS_RUN_DIR	"/run/netns"

void *doctor_grow(void *array, size_t *n, size_t size)
{
	char *grown = realloc(array, (*n + 1) * size);

	if (!grown) {
		fprintf(stderr, "nf-prefrag: out of memory\n");
		exit(2);
	}
	memset(grown + *n * size, 0, size);
	(*n)++;
	return grown;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: nf-prefrag doctor [--json] [--netns NAME]\n"
		   "       nf-prefrag --version\n"
		   "doctor: nf-prefrag's modules, counters and rules, and what is wrong with them\n"
		   "  --json         the same, as JSON\n"
		   "  --netns NAME   only the named network namespace (default: this one and\n"
		   "                 every one ip netns lists)\n");
}

static void add_netns(struct doctor_report *r, const char *name)
{
	struct netns_report *ns;

	r->netns = doctor_grow(r->netns, &r->n_netns, sizeof(*ns));
	ns = &r->netns[r->n_netns - 1];
	snprintf(ns->name, sizeof(ns->name), "%s", name);
}

/* This namespace, then each named one that is not this one again. */
static void find_namespaces(struct doctor_report *r)
{
	struct stat self, other;
	char path[512];
	struct dirent *d;
	DIR *dir;

	add_netns(r, "");
	if (stat("/proc/self/ns/net", &self))
		return;
	dir = opendir(NETNS_RUN_DIR);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.' || strlen(d->d_name) >= DOCTOR_NAME_LEN)
			continue;
		snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, d->d_name);
		if (stat(path, &other) || (other.st_dev == self.st_dev && other.st_ino == self.st_ino))
			continue;
		add_netns(r, d->d_name);
	}
	closedir(dir);
}

static int doctor(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json",	no_argument,		NULL, 'j' },
		{ "netns",	required_argument,	NULL, 'n' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct doctor_report r = { .n_netns = 0 };
	const char *only = NULL;
	char path[512];
	bool json = false;
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "jn:h", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'n':
			only = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "nf-prefrag doctor: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (only) {
		snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, only);
		if (strchr(only, '/') || strlen(only) >= DOCTOR_NAME_LEN || access(path, F_OK)) {
			fprintf(stderr, "nf-prefrag doctor: no network namespace \"%s\" (ip netns list shows them)\n",
				only);
			return 2;
		}
		add_netns(&r, only);
	} else {
		find_namespaces(&r);
	}
	if (geteuid() != 0)
		fprintf(stderr, "nf-prefrag doctor: not root: rules and IPsec state cannot be read\n");

	modules_inspect(&r.modules);
	for (i = 0; i < r.n_netns; i++) {
		counters_inspect(&r.netns[i]);
		rules_inspect(&r.netns[i]);
		xfrm_inspect(&r.netns[i]);
	}
	findings_judge(&r);
	if (json)
		report_json(&r);
	else
		report_text(&r);

	c = 0;
	for (i = 0; i < r.n_findings; i++)
		c |= !strcmp(r.findings[i].severity, "problem");
	for (i = 0; i < r.n_netns; i++) {
		free(r.netns[i].counters);
		free(r.netns[i].rules);
		free(r.netns[i].tunnels);
	}
	free(r.netns);
	free(r.findings);
	return c;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "doctor"))
		return doctor(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("nf-prefrag %s\n", NF_PREFRAG_VERSION);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc >= 2)
		fprintf(stderr, "nf-prefrag: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
