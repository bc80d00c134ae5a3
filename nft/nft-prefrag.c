// SPDX-License-Identifier: GPL-2.0
/*
 * nft-prefrag: nft with nf-prefrag's statements.
 *
 *   nft-prefrag [options] -f FILE     load a ruleset file (like nft -f)
 *   nft-prefrag [options] COMMAND...  one command (like nft), e.g.
 *       nft-prefrag add rule inet vpn out oifname wan0 prefrag mtu auto
 *       nft-prefrag -j list ruleset
 *   nft-prefrag [options] -i          commands from standard input
 *
 * Every nft option means what it means to nft.  Everything but our
 * statements is nft's: libnftables parses and evaluates it, so every nft
 * construct works (sets, maps, concatenations, define, command files,
 * JSON).  Each of our statements is replaced by a placeholder that nft
 * accepts (statements.c, json.c), and becomes its xtables target in the
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
#include <unistd.h>
#include <nftables/libnftables.h>
#include "batch.h"
#include "json.h"
#include "module_hint.h"
#include "sources.h"
#include "statements.h"

/* Exit statuses, the same in nf-prefrag's tools (nft-prefrag(8)). */
enum {
	EXIT_REFUSED	= 1,	/* nft or the kernel refused the input (nft's) */
	EXIT_USAGE	= 2,	/* bad options, or our statements are wrong */
	EXIT_MODULE	= 4,	/* a kernel module of ours cannot be loaded */
};

/* Our targets' modules (the kernel autoloads them for ip/ip6 tables only). */
static const struct {
	const char *target, *module;
} target_modules[] = {
	{ "PREFRAG",	"xt_PREFRAG" },
	{ "CLEARDF",	"xt_CLEARDF" },
	{ "REJECT",	"xt_REJECT_MTU" },
};

#define NUM_TARGET_MODULES	(sizeof(target_modules) / sizeof(target_modules[0]))

struct options {
	bool		check, interactive;
	const char	*file;		/* -f, unless standard input */
	char		**includes;	/* -I */
	size_t		nincludes;
};

/*
 * What our statements need in the kernel: EXIT_MODULE after saying what is
 * missing and what fixes it, or 0.  *loaded: all of it is loaded already.
 * Modules are loaded here unless the input is only checked.
 */
static int need_modules(const struct statement *stmts, size_t n, bool check,
			bool *loaded)
{
	enum nf_prefrag_module_state state;
	char hint[512], err[256];
	size_t i, m;
	int ret = 0;

	*loaded = true;
	for (m = 0; m < NUM_TARGET_MODULES; m++) {
		for (i = 0; i < n; i++)
			if (!strcmp(stmts[i].target, target_modules[m].target))
				break;
		if (i == n)
			continue;
		state = nf_prefrag_module_state(target_modules[m].module, hint,
						sizeof(hint), !check);
		if (nf_prefrag_module_missing(state)) {
			fprintf(stderr, "nft-prefrag: %s\n", hint);
			ret = EXIT_MODULE;
		} else if (state != NF_PREFRAG_MODULE_LOADED &&
			   (check || nf_prefrag_modprobe(target_modules[m].module,
							 err, sizeof(err)))) {
			*loaded = false;	/* left to the kernel's autoload */
		}
	}
	return ret;
}

/* Run the rewritten input with @stmts as its targets. */
static int run_rewritten(struct nft_ctx *nft, const struct options *o,
			 const struct statement *stmts, size_t n,
			 const char *path, const char *buffer)
{
	bool loaded, rewrite;
	int ret;

	ret = need_modules(stmts, n, o->check, &loaded);
	if (ret)
		return ret;
	/*
	 * A check sends the batch without its end: the kernel would load a
	 * module a target needs.  Unless they are loaded, the placeholders
	 * go as they are, and our statements are checked here only.
	 */
	rewrite = !o->check || loaded;
	if (rewrite && batch_rewrite_arm(stmts, n))
		return EXIT_REFUSED;
	ret = (path ? nft_run_cmd_from_filename(nft, path) :
		      nft_run_cmd_from_buffer(nft, buffer)) ? EXIT_REFUSED : 0;
	if (rewrite && batch_rewrite_disarm() && !ret) {
		fprintf(stderr, "nft-prefrag: nft did not load each of our statements once; nothing was changed\n");
		ret = EXIT_REFUSED;
	}
	return ret;
}

/* Text input: statements found, errors mapped back to the user's lines. */
static int run_text(struct nft_ctx *nft, const struct options *o,
		    const char *name, const char *in)
{
	struct sources src = {};
	const char *err;
	size_t i;
	int ret;

	for (i = 0; i < o->nincludes; i++)
		if (sources_add_include_dir(&src, o->includes[i]))
			break;
	if (i < o->nincludes) {
		ret = EXIT_REFUSED;
	} else if (sources_prepare(&src, name, in)) {
		ret = src.input_error ? EXIT_USAGE : EXIT_REFUSED;
	} else if (src.nstmts == 0) {	/* plain nft: nft's own messages */
		ret = (o->file ? nft_run_cmd_from_filename(nft, o->file) :
				 nft_run_cmd_from_buffer(nft, in)) ? EXIT_REFUSED : 0;
	} else {
		nft_ctx_buffer_error(nft);
		ret = run_rewritten(nft, o, src.stmts, src.nstmts, src.v[0].path, NULL);
		err = nft_ctx_get_error_buffer(nft);
		if (ret == EXIT_REFUSED)
			sources_print_errors(&src, err);
		nft_ctx_unbuffer_error(nft);
	}
	sources_free(&src);
	return ret;
}

/* JSON input (-j): nft's messages are its own, about the whole document. */
static int run_json(struct nft_ctx *nft, const struct options *o,
		    const char *name, const char *in)
{
	struct rewrite rw;
	char *doc = NULL;
	int ret;

	ret = json_rewrite(name, in, &doc, &rw);
	if (ret < 0)
		return EXIT_USAGE;
	if (ret > 0)
		return (o->file ? nft_run_cmd_from_filename(nft, o->file) :
				  nft_run_cmd_from_buffer(nft, in)) ? EXIT_REFUSED : 0;
	ret = run_rewritten(nft, o, rw.stmts, rw.n, NULL, doc);
	free(doc);
	rewrite_free(&rw);
	return ret;
}

/* One input; JSON listings and echoes get our statements written out. */
static int run(struct nft_ctx *nft, const struct options *o, const char *name,
	       const char *in)
{
	bool json = nft_ctx_output_get_flags(nft) & NFT_CTX_OUTPUT_JSON;
	const char *out;
	char *annotated;
	int ret;

	if (!json)
		return run_text(nft, o, name, in);
	nft_ctx_buffer_output(nft);
	ret = run_json(nft, o, name, in);
	out = nft_ctx_get_output_buffer(nft);
	annotated = json_annotate(out);
	fputs(annotated ? annotated : out, stdout);
	free(annotated);
	nft_ctx_unbuffer_output(nft);
	return ret;
}

/* -i: one command per line, as nft's own prompt takes them. */
static int interactive(struct nft_ctx *nft, const struct options *o)
{
	bool tty = isatty(STDIN_FILENO);
	size_t len = 0;
	char *line = NULL;
	int ret = 0;

	for (;;) {
		if (tty) {
			fputs("nft-prefrag> ", stdout);
			fflush(stdout);
		}
		if (getline(&line, &len, stdin) < 0)
			break;
		line[strcspn(line, "\n")] = '\0';
		if (!strcmp(line, "quit") || !strcmp(line, "exit"))
			break;
		if (line[strspn(line, " \t")])
			ret = run(nft, o, "<cli>", line);
	}
	free(line);
	return ret;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nft-prefrag [ options ] [ cmds... ]\n"
		"\n"
		"nft, with nf-prefrag's statements; every option means what it means to nft.\n"
		"\n"
		"Options (general):\n"
		"  -h, --help                      Show this help\n"
		"  -v, --version                   Show version information\n"
		"  -V                              Show extended version information\n"
		"\n"
		"Options (ruleset input handling):\n"
		"  -f, --file <filename>           Read input from <filename> (- for standard input)\n"
		"  -D, --define <name=value>       Define variable, e.g. --define foo=1.2.3.4\n"
		"  -i, --interactive               Read commands from standard input, one per line\n"
		"  -I, --includepath <directory>   Add <directory> to the paths searched for include files\n"
		"  -c, --check                     Check commands validity without actually applying the changes\n"
		"                                  (loads no module: our statements are then checked here only)\n"
		"  -o, --optimize                  Optimize ruleset\n"
		"\n"
		"Options (ruleset list formatting):\n"
		"  -a, --handle                    Output rule handle.\n"
		"  -s, --stateless                 Omit stateful information of ruleset.\n"
		"  -t, --terse                     Omit contents of sets.\n"
		"  -S, --service                   Translate ports to service names as described in /etc/services.\n"
		"  -N, --reversedns                Translate IP addresses to names.\n"
		"  -u, --guid                      Print UID/GID as defined in /etc/passwd and /etc/group.\n"
		"  -n, --numeric                   Print fully numerical output.\n"
		"  -y, --numeric-priority          Print chain priority numerically.\n"
		"  -p, --numeric-protocol          Print layer 4 protocols numerically.\n"
		"  -T, --numeric-time              Print time values numerically.\n"
		"\n"
		"Options (command output formatting):\n"
		"  -e, --echo                      Echo what has been added, inserted or replaced.\n"
		"  -j, --json                      Format output in JSON (and read JSON input)\n"
		"  -d, --debug <level [,level...]> Specify debugging level (scanner, parser, eval, netlink, mnl, proto-ctx, segtree, all)\n"
		"\n"
		"Statements, besides nft's:\n"
		"  prefrag mtu auto|N [df reject|keep|clear] [tcp fragment|segment]\n"
		"  cleardf [min-len N] [random-id]\n"
		"  reject with icmp frag-needed mtu auto|N\n"
		"  reject with icmpv6 too-big mtu auto|N\n"
		"In JSON: {\"prefrag\": {\"mtu\": \"auto\", \"df\": \"keep\", \"tcp\": \"segment\"}} ...\n"
		"See nft-prefrag(8).\n");
}

/* -d's words, as nft takes them. */
static int debug_flags(const char *arg, unsigned int *flags)
{
	static const struct {
		const char *name;
		unsigned int flag;
	} levels[] = {
		{ "scanner",	NFT_DEBUG_SCANNER },
		{ "parser",	NFT_DEBUG_PARSER },
		{ "eval",	NFT_DEBUG_EVALUATION },
		{ "netlink",	NFT_DEBUG_NETLINK },
		{ "mnl",	NFT_DEBUG_MNL },
		{ "proto-ctx",	NFT_DEBUG_PROTO_CTX },
		{ "segtree",	NFT_DEBUG_SEGTREE },
		{ "all",	~0U },
	};
	char *copy = strdup(arg), *word, *save = NULL;
	size_t i;
	int ret = 0;

	for (word = copy ? strtok_r(copy, ",", &save) : NULL; word && !ret;
	     word = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (!strcmp(word, levels[i].name))
				break;
		if (i == sizeof(levels) / sizeof(levels[0])) {
			fprintf(stderr, "nft-prefrag: invalid debug level \"%s\"\n", word);
			ret = -1;
		} else {
			*flags |= levels[i].flag;
		}
	}
	free(copy);
	return copy ? ret : -1;
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

/* The input the options name; NULL after saying why. */
static char *read_input(struct options *o, int argc, char **argv, const char **name)
{
	FILE *f;
	char *text;

	if (!o->file) {
		*name = "<cmdline>";
		return join(argv, argc);
	}
	f = strcmp(o->file, "-") ? fopen(o->file, "r") : stdin;
	if (!f) {
		fprintf(stderr, "nft-prefrag: %s: %s\n", o->file, strerror(errno));
		return NULL;
	}
	text = sources_read(f);
	if (f != stdin)
		fclose(f);
	*name = strcmp(o->file, "-") ? o->file : "/dev/stdin";
	if (!strcmp(o->file, "-"))
		o->file = NULL;	/* read already: run it from the text */
	return text;
}

static const struct option long_opts[] = {
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'v' },
	{ "file",		required_argument,	NULL, 'f' },
	{ "define",		required_argument,	NULL, 'D' },
	{ "interactive",	no_argument,		NULL, 'i' },
	{ "includepath",	required_argument,	NULL, 'I' },
	{ "check",		no_argument,		NULL, 'c' },
	{ "optimize",		no_argument,		NULL, 'o' },
	{ "handle",		no_argument,		NULL, 'a' },
	{ "stateless",		no_argument,		NULL, 's' },
	{ "terse",		no_argument,		NULL, 't' },
	{ "service",		no_argument,		NULL, 'S' },
	{ "reversedns",		no_argument,		NULL, 'N' },
	{ "guid",		no_argument,		NULL, 'u' },
	{ "numeric",		no_argument,		NULL, 'n' },
	{ "numeric-priority",	no_argument,		NULL, 'y' },
	{ "numeric-protocol",	no_argument,		NULL, 'p' },
	{ "numeric-time",	no_argument,		NULL, 'T' },
	{ "echo",		no_argument,		NULL, 'e' },
	{ "json",		no_argument,		NULL, 'j' },
	{ "debug",		required_argument,	NULL, 'd' },
	{ }
};

/* The output flag each list and output option sets, as nft's. */
static unsigned int output_flag(int opt)
{
	switch (opt) {
	case 'a': return NFT_CTX_OUTPUT_HANDLE;
	case 's': return NFT_CTX_OUTPUT_STATELESS;
	case 't': return NFT_CTX_OUTPUT_TERSE;
	case 'S': return NFT_CTX_OUTPUT_SERVICE;
	case 'N': return NFT_CTX_OUTPUT_REVERSEDNS;
	case 'u': return NFT_CTX_OUTPUT_GUID;
	case 'n': return NFT_CTX_OUTPUT_NUMERIC_ALL;
	case 'y': return NFT_CTX_OUTPUT_NUMERIC_PRIO;
	case 'p': return NFT_CTX_OUTPUT_NUMERIC_PROTO;
	case 'T': return NFT_CTX_OUTPUT_NUMERIC_TIME;
	case 'e': return NFT_CTX_OUTPUT_ECHO;
	case 'j': return NFT_CTX_OUTPUT_JSON;
	default: return 0;
	}
}

int main(int argc, char **argv)
{
	unsigned int flags = 0, debug = 0;
	struct options o = {};
	struct nft_ctx *nft;
	const char *name;
	char *text = NULL;
	int opt, ret = EXIT_USAGE;

	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft)
		return EXIT_REFUSED;
	/* "+": stop at the first word, as nft does ("add rule ... -- -1"). */
	while ((opt = getopt_long(argc, argv, "+hvVf:D:iI:coastSNunypTejd:",
				  long_opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		case 'v':
		case 'V':
			printf("nft-prefrag %s\n", NF_PREFRAG_VERSION);
			if (opt == 'V')
				printf("  json:\t\tyes\n  statements:\tprefrag cleardf reject-mtu\n");
			ret = 0;
			goto out;
		case 'f':
			o.file = optarg;
			break;
		case 'D':
			if (nft_ctx_add_var(nft, optarg)) {
				fprintf(stderr, "nft-prefrag: invalid define: %s\n", optarg);
				goto out;
			}
			break;
		case 'i':
			o.interactive = true;
			break;
		case 'I': {
			char **v = realloc(o.includes, (o.nincludes + 1) * sizeof(*v));

			if (!v)
				goto out;
			o.includes = v;
			o.includes[o.nincludes++] = optarg;
			nft_ctx_add_include_path(nft, optarg);
			break;
		}
		case 'c':
			o.check = true;
			break;
		case 'o':
			nft_ctx_set_optimize(nft, NFT_OPTIMIZE_ENABLED);
			break;
		case 'd':
			if (debug_flags(optarg, &debug))
				goto out;
			break;
		default:
			if (!output_flag(opt)) {
				usage(stderr);
				goto out;
			}
			flags |= output_flag(opt);
			break;
		}
	}
	/* A file, words or -i: one of them. */
	if (!!o.file + (optind < argc) + o.interactive != 1) {
		usage(stderr);
		goto out;
	}
	nft_ctx_output_set_flags(nft, flags);
	nft_ctx_output_set_debug(nft, debug);
	nft_ctx_set_dry_run(nft, o.check);
	if (o.interactive) {
		ret = interactive(nft, &o);
		goto out;
	}
	text = read_input(&o, argc - optind, argv + optind, &name);
	ret = text ? run(nft, &o, name, text) : EXIT_REFUSED;
out:
	free(o.includes);	/* its strings are argv's */
	free(text);
	nft_ctx_free(nft);
	return ret;
}
