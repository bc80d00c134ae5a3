// SPDX-License-Identifier: GPL-2.0
/*
 * nft-prefrag: nft with nf-prefrag's statements.
 *
 *   nft-prefrag [-c] [-e] [-a] -f FILE     load a ruleset file (like nft -f)
 *   nft-prefrag [-c] [-e] [-a] COMMAND...  one command (like nft), e.g.
 *       nft-prefrag add rule inet vpn out oifname wan0 prefrag mtu auto
 *       nft-prefrag list ruleset
 *
 * Everything but our statements is nft's: libnftables parses and evaluates
 * it, so every nft construct works (sets, maps, concatenations, define,
 * command files).  Each of our statements is replaced by a placeholder
 * that nft accepts (statements.c), and becomes its xtables target in the
 * batch libnftables sends (batch.c): a load is one transaction, all or
 * nothing, exactly as with nft.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nftables/libnftables.h>
#include <linux/netfilter.h>
#include "batch.h"
#include "module_hint.h"
#include "sources.h"
#include "statements.h"

/* Our targets' modules (the kernel autoloads them for ip/ip6 tables only). */
static const struct {
	const char *target, *module;
} target_modules[] = {
	{ "PREFRAG",	"xt_PREFRAG" },
	{ "CLEARDF",	"xt_CLEARDF" },
	{ "REJECT",	"xt_REJECT_MTU" },
};

#define NUM_TARGET_MODULES	(sizeof(target_modules) / sizeof(target_modules[0]))

/* What our targets need in the kernel, loaded before nft asks for them. */
static void load_modules(const struct statement *stmts, size_t n_stmts)
{
	const char *argv[3 + NUM_TARGET_MODULES + 1] = { "modprobe", "-q", "-a" };
	size_t i, m, n = 3;
	pid_t pid;

	for (m = 0; m < NUM_TARGET_MODULES; m++)
		for (i = 0; i < n_stmts; i++)
			if (strcmp(stmts[i].target, target_modules[m].target) == 0) {
				argv[n++] = target_modules[m].module;
				break;
			}
	pid = fork();
	if (pid == 0) {
		execvp("modprobe", (char **)argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Which of our modules the running kernel can't load, and what fixes it. */
static void explain_missing_modules(void)
{
	char hint[512];
	size_t m;

	for (m = 0; m < NUM_TARGET_MODULES; m++)
		if (nf_prefrag_module_state(target_modules[m].module, hint, sizeof(hint)) !=
		    NF_PREFRAG_MODULE_LOADED && hint[0])
			fprintf(stderr, "nft-prefrag: %s\n", hint);
}

struct options {
	bool		check, echo, handle;
	const char	*file;		/* -f, unless standard input */
	struct sources	sources;	/* -I directories go here */
};

static int load(struct nft_ctx *nft, struct options *o, const char *name,
		const char *in)
{
	struct sources *src = &o->sources;
	const char *err;
	int ret;

	if (sources_prepare(src, name, in))
		return 1;
	if (src->nstmts == 0) {	/* plain nft: nft's own messages, unchanged */
		if (o->file)
			return nft_run_cmd_from_filename(nft, o->file) ? 1 : 0;
		return nft_run_cmd_from_buffer(nft, in) ? 1 : 0;
	}
	load_modules(src->stmts, src->nstmts);
	if (batch_rewrite_arm(src->stmts, src->nstmts))
		return 1;
	nft_ctx_buffer_error(nft);
	ret = nft_run_cmd_from_filename(nft, src->v[0].path) ? 1 : 0;
	err = nft_ctx_get_error_buffer(nft);
	if (batch_rewrite_disarm() && !ret) {
		fprintf(stderr, "nft-prefrag: nft did not load each of our statements once; nothing was changed\n");
		ret = 1;
	}
	if (ret) {
		sources_print_errors(src, err);
		if (strstr(err, strerror(ENOENT)))
			explain_missing_modules();
	}
	nft_ctx_unbuffer_error(nft);
	return ret;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nft-prefrag [options] -f FILE    load FILE (- for standard input)\n"
		"       nft-prefrag [options] COMMAND... as nft; e.g. add rule ..., list ruleset\n"
		"options: -c, --check     check the input, change nothing\n"
		"         -e, --echo      print what was added\n"
		"         -a, --handle    show rule handles\n"
		"         -I, --includepath DIR  look for relative includes in DIR too\n"
		"         -h, --help      this text\n"
		"         -V, --version   nft-prefrag's version\n"
		"nft syntax plus: prefrag mtu auto|N [df reject|keep|clear],\n"
		"  cleardf [min-len N] [random-id],\n"
		"  reject with icmp frag-needed mtu auto|N, reject with icmpv6 too-big mtu auto|N\n"
		"See nft-prefrag(8).\n");
}

/* The words after the options, as one command line. */
static char *join(char **argv, int argc)
{
	size_t len = 1;
	char *text;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	text = calloc(1, len);
	for (i = 0; text && i < argc; i++) {
		strcat(text, argv[i]);
		strcat(text, i + 1 < argc ? " " : "");
	}
	return text;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "file",	required_argument,	NULL, 'f' },
		{ "check",	no_argument,		NULL, 'c' },
		{ "echo",	no_argument,		NULL, 'e' },
		{ "handle",	no_argument,		NULL, 'a' },
		{ "includepath", required_argument,	NULL, 'I' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ }
	};
	struct options o = {};
	struct nft_ctx *nft;
	unsigned int flags = 0;
	const char *name;
	char *text;
	int opt, ret;
	size_t i;

	/* "+": stop at the first word, as nft does ("add rule ... -- -1"). */
	while ((opt = getopt_long(argc, argv, "+f:ceaI:hV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			o.file = optarg;
			break;
		case 'c':
			o.check = true;
			break;
		case 'e':
			o.echo = true;
			break;
		case 'a':
			o.handle = true;
			break;
		case 'I':
			if (sources_add_include_dir(&o.sources, optarg))
				return 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("nft-prefrag %s\n", NF_PREFRAG_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o.file == (optind == argc)) {	/* a file or words, not both */
		usage(stderr);
		return 2;
	}
	if (o.file) {
		FILE *f = strcmp(o.file, "-") ? fopen(o.file, "r") : stdin;

		if (!f) {
			fprintf(stderr, "nft-prefrag: %s: %s\n", o.file, strerror(errno));
			return 1;
		}
		text = sources_read(f);
		if (f != stdin)
			fclose(f);
		name = strcmp(o.file, "-") ? o.file : "/dev/stdin";
		if (!strcmp(o.file, "-"))
			o.file = NULL;	/* read already: run it from the text */
	} else {
		text = join(argv + optind, argc - optind);
		name = "<cmdline>";
	}
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!text || !nft) {
		free(text);
		return 1;
	}
	if (o.echo)
		flags |= NFT_CTX_OUTPUT_ECHO;
	if (o.handle)
		flags |= NFT_CTX_OUTPUT_HANDLE;
	nft_ctx_output_set_flags(nft, flags);
	nft_ctx_set_dry_run(nft, o.check);
	for (i = 0; i < o.sources.ninclude; i++)
		nft_ctx_add_include_path(nft, o.sources.include_dirs[i]);
	ret = load(nft, &o, name, text);
	sources_free(&o.sources);
	nft_ctx_free(nft);
	free(text);
	return ret;
}
