// SPDX-License-Identifier: GPL-2.0
/*
 * nft-prefrag: nft with nf-prefrag's statements.
 *
 *   nft-prefrag -f FILE          load a ruleset file (like nft -f)
 *   nft-prefrag COMMAND...       one command (like nft), e.g.
 *       nft-prefrag add rule inet vpn out oifname wan0 prefrag mtu auto
 *       nft-prefrag list ruleset
 *
 * Everything but our statements is nft's: libnftables parses it, so every
 * nft match works.  A load is two transactions:
 *   1. libnftables loads the input with each of our statements replaced by
 *      a placeholder ("meta nftrace set 0"), echoing the rules it added;
 *   2. one libnftnl batch replaces those rules (by handle) with the same
 *      rules holding our targets.
 * Between the two, for the time one netlink round trip takes, packets meet
 * the rules without our statements.  If step 1 fails nothing changed; if
 * step 2 fails, what step 1 added is taken back: its rules that held
 * placeholders, and the chains and tables that were new.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nftables/libnftables.h>
#include <linux/netfilter.h>
#include "replace.h"
#include "statements.h"

static char *read_all(FILE *f)
{
	size_t len = 0, cap = 4096, got;
	char *buf = malloc(cap);

	while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (cap - len - 1 == 0) {
			char *bigger = realloc(buf, cap *= 2);

			if (!bigger) {
				free(buf);
				return NULL;
			}
			buf = bigger;
		}
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

static int family_of(const char *name)
{
	static const struct { const char *name; int family; } families[] = {
		{ "ip", NFPROTO_IPV4 }, { "ip6", NFPROTO_IPV6 }, { "inet", NFPROTO_INET },
		{ "arp", NFPROTO_ARP }, { "bridge", NFPROTO_BRIDGE }, { "netdev", NFPROTO_NETDEV },
	};
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strcmp(name, families[i].name) == 0)
			return families[i].family;
	return -1;
}

static size_t count_placeholders(const char *line)
{
	size_t n = 0;

	while ((line = strstr(line, PLACEHOLDER))) {
		n++;
		line += strlen(PLACEHOLDER);
	}
	return n;
}

/*
 * The echo of step 1, "add rule FAMILY TABLE CHAIN ... # handle N" per
 * rule, in input order: the rules holding placeholders, and which of our
 * statements each one holds.
 */
static int rules_from_echo(const char *echo, size_t stmts, struct rule_ref **out,
			   size_t *n)
{
	struct rule_ref *refs = NULL;
	size_t assigned = 0, cap = 0;
	const char *line, *next;

	*n = 0;
	for (line = echo; *line; line = next) {
		struct rule_ref ref = {};
		char verb[16], family[16];
		const char *h, *end = strchrnul(line, '\n');
		char *copy;
		size_t count;

		next = *end ? end + 1 : end;
		copy = strndup(line, end - line);
		count = copy ? count_placeholders(copy) : 0;
		h = copy ? strstr(copy, "# handle ") : NULL;
		if (count && (!h ||
		    sscanf(copy, "%15s rule %15s %255s %255s", verb, family, ref.table,
			   ref.chain) != 4 || (ref.family = family_of(family)) < 0)) {
			fprintf(stderr, "nft-prefrag: cannot follow nft's echo: %s\n", copy);
			free(copy);
			free(refs);
			return -1;
		}
		if (count) {
			ref.handle = strtoull(h + strlen("# handle "), NULL, 10);
			ref.first = assigned;
			ref.count = count;
			assigned += count;
			if (*n == cap) {
				struct rule_ref *r = realloc(refs, (cap = cap ? 2 * cap : 8) * sizeof(*r));

				if (!r) {
					free(copy);
					free(refs);
					return -1;
				}
				refs = r;
			}
			refs[(*n)++] = ref;
		}
		free(copy);
	}
	*out = refs;
	if (assigned != stmts) {
		fprintf(stderr, "nft-prefrag: nft added %zu of our %zu statements\n",
			assigned, stmts);
		return -1;
	}
	return 0;
}

/*
 * nft's errors name "<cmdline>" and columns of the rewritten text: give
 * them the input's name and columns, and show the input's line.
 */
static void print_nft_errors(const char *name, const char *in,
			     const struct rewrite *rw, const char *err)
{
	const char *line, *next;

	for (line = err; *line; line = next) {
		const char *end = strchrnul(line, '\n'), *msg = strstr(line, ": Error: ");
		unsigned int l, c1, c2;
		char *text;
		int shift = 0;
		size_t i;

		next = *end ? end + 1 : end;
		if (!msg || msg > end || sscanf(line, "%*[^:]:%u:%u-%u:", &l, &c1, &c2) != 3) {
			if (!msg || msg > end)
				continue;	/* nft's copy of the line and its carets */
			fprintf(stderr, "%.*s\n", (int)(end - line), line);
			continue;
		}
		/* Statements before the error on its line moved it by the
		 * difference of their length and the placeholder's.
		 */
		for (i = 0; i < rw->n; i++) {
			const struct statement *st = &rw->stmts[i];

			if (st->line == l && (int)st->col - shift < (int)c1)
				shift += (int)st->len - (int)strlen(PLACEHOLDER);
		}
		msg += strlen(": Error: ");
		text = strndup(msg, end - msg);
		statements_error(name, in, l, c1 + shift, c2 >= c1 ? c2 - c1 + 1 : 1,
				 text ? text : "");
		free(text);
	}
}

/*
 * libnftables names the line and column of an error only for input read
 * from a file: hand it the rewritten text as one.
 */
static int run_as_file(struct nft_ctx *nft, const char *text)
{
	int fd = memfd_create("nft-prefrag", MFD_CLOEXEC), ret = -1;
	size_t len = strlen(text);
	char path[32];

	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		perror("nft-prefrag: memfd");
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ret = nft_run_cmd_from_filename(nft, path);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

/* What our targets need in the kernel; the kernel only autoloads for ip/ip6. */
static void load_modules(const struct rewrite *rw)
{
	const char *argv[8] = { "modprobe", "-q", "-a" };
	size_t i, n = 3;
	pid_t pid;

	for (i = 0; i < rw->n && n < 7; i++) {
		const char *mod = strcmp(rw->stmts[i].target, "PREFRAG") == 0 ? "xt_PREFRAG" :
				  strcmp(rw->stmts[i].target, "CLEARDF") == 0 ? "xt_CLEARDF" :
				  "xt_REJECT_MTU";
		size_t j;

		for (j = 3; j < n && strcmp(argv[j], mod); j++)
			;
		if (j == n)
			argv[n++] = mod;
	}
	pid = fork();
	if (pid == 0) {
		execvp("modprobe", (char **)argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Object names, "FAMILY TABLE" or "FAMILY TABLE CHAIN", as a list. */
struct names {
	char	**v;
	size_t	n;
};

static void names_add(struct names *ns, const char *name)
{
	char **v = realloc(ns->v, (ns->n + 1) * sizeof(*v));

	if (v && (v[ns->n] = strdup(name))) {
		ns->v = v;
		ns->n++;
	} else if (v) {
		ns->v = v;
	}
}

static bool names_has(const struct names *ns, const char *name)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return true;
	return false;
}

static void names_free(struct names *ns)
{
	while (ns->n)
		free(ns->v[--ns->n]);
	free(ns->v);
}

/* The tables and chains there are now ("list chains" shows both). */
static void existing_objects(struct nft_ctx *nft, struct names *ns)
{
	char family[16], table[256], chain[256], name[600];
	const char *line, *next, *out;

	nft_ctx_buffer_output(nft);
	if (nft_run_cmd_from_buffer(nft, "list chains"))
		return;
	out = nft_ctx_get_output_buffer(nft);
	for (line = out; *line; line = next) {
		next = strchrnul(line, '\n');
		next += *next ? 1 : 0;
		if (sscanf(line, "table %15s %255s {", family, table) == 2) {
			snprintf(name, sizeof(name), "%s %s", family, table);
			names_add(ns, name);
		} else if (sscanf(line, " chain %255s {", chain) == 1) {
			snprintf(name, sizeof(name), "%s %s %s", family, table, chain);
			names_add(ns, name);
		}
	}
}

/*
 * Step 2 failed: take back what step 1 added, as far as it matters: the
 * rules that held placeholders, then the chains and tables that were new.
 */
static void undo(struct nft_ctx *nft, const struct rule_ref *refs, size_t n,
		 const char *echo, const struct names *before)
{
	static const char *const names[] = {
		[NFPROTO_INET] = "inet", [NFPROTO_IPV4] = "ip", [NFPROTO_ARP] = "arp",
		[NFPROTO_NETDEV] = "netdev", [NFPROTO_BRIDGE] = "bridge",
		[NFPROTO_IPV6] = "ip6",
	};
	char family[16], table[256], chain[256], name[600], cmd[700];
	const char *line, *next;
	int pass;
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "delete rule %s %s %s handle %llu",
			 names[refs[i].family], refs[i].table, refs[i].chain,
			 (unsigned long long)refs[i].handle);
		nft_run_cmd_from_buffer(nft, cmd);
	}
	for (pass = 0; pass < 2 && echo; pass++) {	/* chains, then tables */
		for (line = echo; *line; line = next) {
			next = strchrnul(line, '\n');
			next += *next ? 1 : 0;
			if (pass == 0 &&
			    sscanf(line, "add chain %15s %255s %255s", family, table, chain) == 3)
				snprintf(name, sizeof(name), "%s %s %s", family, table, chain);
			else if (pass == 1 &&
				 sscanf(line, "add table %15s %255s", family, table) == 2)
				snprintf(name, sizeof(name), "%s %s", family, table);
			else
				continue;
			if (names_has(before, name))
				continue;
			snprintf(cmd, sizeof(cmd), "delete %s %s", pass ? "table" : "chain", name);
			nft_run_cmd_from_buffer(nft, cmd);
		}
	}
}

static int load(const char *name, const char *in)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	struct names before = {};
	struct rule_ref *refs = NULL;
	struct rewrite rw;
	size_t nrefs = 0;
	char *echo = NULL;
	int ret = 1;

	if (!nft || statements_rewrite(name, in, &rw))
		goto out_ctx;
	if (rw.n == 0) {	/* plain nft */
		ret = nft_run_cmd_from_buffer(nft, in) ? 1 : 0;
		goto out;
	}
	load_modules(&rw);
	existing_objects(nft, &before);

	nft_ctx_output_set_flags(nft, NFT_CTX_OUTPUT_ECHO | NFT_CTX_OUTPUT_HANDLE);
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (run_as_file(nft, rw.text)) {
		print_nft_errors(name, in, &rw, nft_ctx_get_error_buffer(nft));
		goto out;
	}
	echo = strdup(nft_ctx_get_output_buffer(nft));
	if (!echo || rules_from_echo(echo, rw.n, &refs, &nrefs) ||
	    replace_rules(refs, nrefs, rw.stmts)) {
		nft_ctx_output_set_flags(nft, 0);
		undo(nft, refs, nrefs, echo, &before);
		goto out;
	}
	ret = 0;
out:
	free(echo);
	free(refs);
	names_free(&before);
	rewrite_free(&rw);
out_ctx:
	if (nft)
		nft_ctx_free(nft);
	return ret;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: nft-prefrag -f FILE       load FILE (- for standard input)\n"
		"       nft-prefrag COMMAND...    as nft; e.g. add rule ..., list ruleset\n"
		"       nft-prefrag --help | --version\n"
		"nft syntax plus: prefrag mtu auto|N [df reject|keep|clear],\n"
		"  cleardf [min-len N] [random-id],\n"
		"  reject with icmp frag-needed mtu auto|N, reject with icmpv6 too-big mtu auto|N\n"
		"See nft-prefrag(8).\n");
}

int main(int argc, char **argv)
{
	char *text;
	size_t len = 0;
	int i, ret;

	if (argc == 3 && strcmp(argv[1], "-f") == 0) {
		FILE *f = strcmp(argv[2], "-") ? fopen(argv[2], "r") : stdin;

		if (!f) {
			fprintf(stderr, "nft-prefrag: %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		text = read_all(f);
		if (f != stdin)
			fclose(f);
		if (!text)
			return 1;
		ret = load(argv[2], text);
		free(text);
		return ret;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("nft-prefrag %s\n", NF_PREFRAG_VERSION);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-') {
		usage(stderr);
		return 2;
	}

	for (i = 1; i < argc; i++)
		len += strlen(argv[i]) + 1;
	text = calloc(1, len + 1);
	if (!text)
		return 1;
	for (i = 1; i < argc; i++) {
		strcat(text, argv[i]);
		strcat(text, i + 1 < argc ? " " : "");
	}
	ret = load("<cmdline>", text);
	free(text);
	return ret;
}
