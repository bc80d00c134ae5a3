// SPDX-License-Identifier: GPL-2.0
/* nf-prefrag's nft statements: find, check, replace (see statements.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netfilter.h>
#include <linux/netfilter/xt_CLEARDF.h>
#include <linux/netfilter/xt_PREFRAG.h>
#include <linux/netfilter/xt_REJECT_MTU.h>
#include "nft_syntax.h"
#include "statements.h"

#define TOKEN_MAX	32

/* A cursor over the input that knows its line and column. */
struct cursor {
	const char	*s;
	size_t		pos;
	unsigned int	line, col;
};

struct token {
	char		text[TOKEN_MAX];
	size_t		pos;
	unsigned int	line, col, len;
};

static bool is_separator(char c)
{
	return c == '\0' || isspace((unsigned char)c) || strchr(";{}#\"", c);
}

static void advance(struct cursor *c)
{
	if (c->s[c->pos] == '\n') {
		c->line++;
		c->col = 1;
	} else {
		c->col++;
	}
	c->pos++;
}

/* The next word of the same statement: no newline, ';', '{', '}' or '#'. */
static bool next_token(struct cursor *c, struct token *t)
{
	while (c->s[c->pos] == ' ' || c->s[c->pos] == '\t')
		advance(c);
	t->pos = c->pos;
	t->line = c->line;
	t->col = c->col;
	t->len = 0;
	while (!is_separator(c->s[c->pos])) {
		if (t->len < TOKEN_MAX - 1)
			t->text[t->len] = c->s[c->pos];
		t->len++;
		advance(c);
	}
	t->text[t->len < TOKEN_MAX ? t->len : TOKEN_MAX - 1] = '\0';
	return t->len > 0;
}

static bool token_is(const struct token *t, const char *word)
{
	return strcmp(t->text, word) == 0;
}

/* @a @b spell @words ("icmp frag-needed"). */
static bool is_pair(const struct token *a, const struct token *b, const char *words)
{
	size_t n = strlen(a->text);

	return strncmp(words, a->text, n) == 0 && words[n] == ' ' &&
	       strcmp(words + n + 1, b->text) == 0;
}

struct scan {
	const char	*name, *in;
	struct cursor	c;
	int		depth;		/* of { } blocks */
	int		family;		/* of the table the rules are in */
	bool		input_hook;	/* in a chain block on the input hook */
};

static int fail(struct scan *sc, const struct token *t, const char *fmt,
		const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg);
	statements_error(sc->name, sc->in, t->line, t->col, t->len ? t->len : 1, msg);
	return -1;
}

/* A number in min..65535, or with @auto_ok "auto" (0); @what names it. */
static int parse_value(struct scan *sc, const char *what, unsigned int min,
		       bool auto_ok, unsigned int *value)
{
	struct token t;
	char msg[128];
	unsigned long v;
	char *end;

	if (next_token(&sc->c, &t) && auto_ok && token_is(&t, NFT_MTU_AUTO)) {
		*value = 0;
		return 0;
	}
	v = strtoul(t.text, &end, 10);
	if (!t.len || *end || !isdigit((unsigned char)t.text[0]) || v < min || v > 65535) {
		snprintf(msg, sizeof(msg), "%%s takes %sa number from %u to 65535",
			 auto_ok ? "\"auto\" or " : "", min);
		return fail(sc, &t, msg, what);
	}
	*value = v;
	return 0;
}

/* "df reject|keep|clear": the policy's number, or -1. */
static int parse_prefrag_df(struct scan *sc)
{
	struct token t;
	int i;

	if (!next_token(&sc->c, &t))
		return fail(sc, &t, "%s: df takes reject, keep or clear", "prefrag");
	for (i = 0; i < __XT_PREFRAG_DF_MAX; i++)
		if (token_is(&t, nft_prefrag_df_names[i]))
			return i;
	return fail(sc, &t, "prefrag: df takes reject, keep or clear, not \"%s\"",
		    t.text);
}

/* The words nft takes after "tcp" in a match ("tcp dport 22"). */
static bool is_tcp_field(const struct token *t)
{
	static const char *const fields[] = {
		"sport", "dport", "sequence", "ackseq", "doff", "reserved",
		"flags", "window", "checksum", "urgptr", "option",
	};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (token_is(t, fields[i]))
			return true;
	return false;
}

/* An option given twice: refused, as iptables refuses it. */
static int twice(struct scan *sc, const struct token *t, const char *stmt)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s: %%s given twice", stmt);
	return fail(sc, t, msg, t->text);
}

static int parse_prefrag(struct scan *sc, struct statement *st)
{
	struct xt_prefrag_info info = { .df_policy = XT_PREFRAG_DF_REJECT };
	bool have_df = false, have_tcp = false;
	struct token t, mode;
	struct cursor save;
	unsigned int mtu;
	int df;

	if (!next_token(&sc->c, &t) || !token_is(&t, NFT_PREFRAG_MTU))
		return fail(sc, &t, "%s: expected \"mtu auto\" or \"mtu N\"", "prefrag");
	if (parse_value(sc, "prefrag: mtu", XT_PREFRAG_MTU_MIN, true, &mtu))
		return -1;
	info.mtu = mtu;
	/* "df ..." and "tcp ...", in either order; what else follows is the
	 * rule's ("tcp dport 22" is a match, not our option).
	 */
	for (;;) {
		save = sc->c;
		if (!next_token(&sc->c, &t))
			break;
		if (token_is(&t, NFT_PREFRAG_DF)) {
			if (have_df)
				return twice(sc, &t, "prefrag");
			df = parse_prefrag_df(sc);
			if (df < 0)
				return -1;
			info.df_policy = df;
			have_df = true;
			continue;
		}
		if (!token_is(&t, NFT_PREFRAG_TCP))
			break;
		if (!next_token(&sc->c, &mode) || is_tcp_field(&mode))
			break;
		if (!token_is(&mode, NFT_PREFRAG_TCP_SEGMENT) &&
		    !token_is(&mode, NFT_PREFRAG_TCP_FRAGMENT))
			return fail(sc, &mode, "prefrag: tcp takes fragment or segment, not \"%s\"",
				    mode.text);
		if (have_tcp)
			return twice(sc, &t, "prefrag");
		if (token_is(&mode, NFT_PREFRAG_TCP_SEGMENT))
			info.flags |= XT_PREFRAG_TCP_SEGMENT;
		have_tcp = true;
	}
	sc->c = save;	/* not ours: the rule goes on */
	st->target = "PREFRAG";
	memcpy(st->info, &info, sizeof(info));
	st->info_len = sizeof(info);
	return 0;
}

static int parse_cleardf(struct scan *sc, struct statement *st)
{
	bool have_len = false, have_id = false;
	struct xt_cleardf_info info = {};
	struct cursor save;
	unsigned int len;
	struct token t;

	for (;;) {
		save = sc->c;
		if (!next_token(&sc->c, &t))
			break;
		if (token_is(&t, NFT_CLEARDF_RANDOM_ID)) {
			if (have_id)
				return twice(sc, &t, "cleardf");
			info.flags |= XT_CLEARDF_RANDOM_ID;
			have_id = true;
		} else if (token_is(&t, NFT_CLEARDF_MIN_LEN)) {
			if (have_len)
				return twice(sc, &t, "cleardf");
			if (parse_value(sc, "cleardf: min-len", 1, false, &len))
				return -1;
			info.min_len = len;
			have_len = true;
		} else {
			break;
		}
	}
	sc->c = save;
	st->target = "CLEARDF";
	memcpy(st->info, &info, sizeof(info));
	st->info_len = sizeof(info);
	return 0;
}

/*
 * "reject with icmp frag-needed mtu ..." or "... icmpv6 too-big mtu ...".
 * Returns 1 if the words are not ours (nft's own reject), 0 or -1.
 */
static int parse_reject(struct scan *sc, struct statement *st)
{
	struct xt_reject_info_v1 info = {};
	struct token with, fam, type, mtu;
	unsigned int min;

	if (!next_token(&sc->c, &with) || !token_is(&with, "with") ||
	    !next_token(&sc->c, &fam) || !next_token(&sc->c, &type) ||
	    !next_token(&sc->c, &mtu) || !token_is(&mtu, NFT_PREFRAG_MTU))
		return 1;
	if (is_pair(&fam, &type, NFT_REJECT_FRAG_NEEDED)) {
		info.with = XT_REJECT_IPV4_FRAG_NEEDED;
		min = XT_REJECT_MTU_MIN_IPV4;
		st->family = NFPROTO_IPV4;
	} else if (is_pair(&fam, &type, NFT_REJECT_TOO_BIG)) {
		info.with = XT_REJECT_IPV6_PKT_TOO_BIG;
		min = XT_REJECT_MTU_MIN_IPV6;
		st->family = NFPROTO_IPV6;
	} else {
		return fail(sc, &type, "reject: an mtu goes with \"icmp frag-needed\" or \"icmpv6 too-big\", not \"%s\"",
			    type.text);
	}
	if (parse_value(sc, "reject: mtu", min, true, &info.mtu))
		return -1;
	st->target = "REJECT";
	st->revision = 1;
	memcpy(st->info, &info, sizeof(info));
	st->info_len = sizeof(info);
	return 0;
}

/* Try our statements at @t (a word just read); 1: not ours. */
static int parse_statement(struct scan *sc, const struct token *t,
			   struct statement *st)
{
	struct cursor save = sc->c;
	const char *why;
	int ret = 1;

	memset(st, 0, sizeof(*st));
	if (token_is(t, NFT_PREFRAG))
		ret = parse_prefrag(sc, st);
	else if (token_is(t, NFT_CLEARDF))
		ret = parse_cleardf(sc, st);
	else if (token_is(t, "reject"))
		ret = parse_reject(sc, st);
	if (ret == 1)
		sc->c = save;
	if (ret)
		return ret;
	why = statement_refusal(st, sc->family, sc->input_hook);
	if (why) {
		statements_error(sc->name, sc->in, t->line, t->col,
				 sc->c.pos - t->pos, why);
		return -1;
	}
	return 0;
}

int statement_family_of(const char *word)
{
	static const struct {
		const char *word;
		int family;
	} families[] = {
		{ "ip", NFPROTO_IPV4 }, { "ip6", NFPROTO_IPV6 },
		{ "inet", NFPROTO_INET }, { "arp", NFPROTO_ARP },
		{ "bridge", NFPROTO_BRIDGE }, { "netdev", NFPROTO_NETDEV },
	};
	size_t i;

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strcmp(word, families[i].word) == 0)
			return families[i].family;
	return NFPROTO_UNSPEC;
}

const char *statement_refusal(const struct statement *st, int family,
			      bool input_hook)
{
	const struct xt_prefrag_info *prefrag = (const void *)st->info;
	const struct xt_reject_info_v1 *reject = (const void *)st->info;

	switch (family) {
	case NFPROTO_UNSPEC:	/* a table named by a variable: the kernel checks */
	case NFPROTO_INET:
		break;
	case NFPROTO_IPV4:
		if (st->family == NFPROTO_IPV6)
			return "reject: icmpv6 too-big is for IPv6: in an ip table, use \"icmp frag-needed\"";
		break;
	case NFPROTO_IPV6:
		if (st->family == NFPROTO_IPV4)
			return "reject: icmp frag-needed is for IPv4: in an ip6 table, use \"icmpv6 too-big\"";
		if (!strcmp(st->target, "CLEARDF"))
			return "cleardf: IPv4 only: not in ip6 tables";
		if (!strcmp(st->target, "PREFRAG") && prefrag->df_policy != XT_PREFRAG_DF_REJECT)
			return "prefrag: df is for IPv4 (IPv6 has no DF): not in ip6 tables";
		if (!strcmp(st->target, "PREFRAG") && prefrag->mtu != XT_PREFRAG_MTU_AUTO &&
		    prefrag->mtu < XT_PREFRAG_MTU_MIN_IPV6)
			return "prefrag: mtu in an ip6 table takes \"auto\" or a number from 1280 to 65535";
		break;
	default:
		return strcmp(st->target, "CLEARDF") ?
		       "only in ip, ip6 and inet tables" : "cleardf: only in ip and inet tables";
	}
	if (st->revision && input_hook && reject->mtu == XT_REJECT_MTU_AUTO)
		return "reject: mtu auto needs a route, which packets for this host do not have: give the MTU";
	return NULL;
}

int statement_from_target(const char *name, uint32_t revision, const void *info,
			  size_t len, int family, struct statement *st)
{
	struct xt_reject_info_v1 reject;
	size_t size;

	memset(st, 0, sizeof(*st));
	if (!strcmp(name, "PREFRAG") && revision == 0) {
		st->target = "PREFRAG";
		size = sizeof(struct xt_prefrag_info);
	} else if (!strcmp(name, "CLEARDF") && revision == 0) {
		st->target = "CLEARDF";
		size = sizeof(struct xt_cleardf_info);
	} else if (!strcmp(name, "REJECT") && revision == 1) {
		st->target = "REJECT";
		size = sizeof(reject);
	} else {
		return -1;
	}
	/* The kernel gives the info padded to 8 bytes (XT_ALIGN). */
	if (len < size || len > sizeof(st->info))
		return -1;
	st->revision = revision;
	st->info_len = size;
	memcpy(st->info, info, size);
	if (st->revision) {
		memcpy(&reject, info, size);
		if (XT_REJECT_TYPE(reject.with) != XT_REJECT_IPV4_FRAG_NEEDED)
			return -1;	/* another type: the plugin prints it */
		if (family == NFPROTO_INET)
			family = reject.with & XT_REJECT_INET_IPV4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
		if (family != NFPROTO_IPV4 && family != NFPROTO_IPV6)
			return -1;
		reject.with = XT_REJECT_TYPE(reject.with);
		st->family = family;
		memcpy(st->info, &reject, size);
	}
	return 0;
}

/* Words after which the next one is a name (of a chain, table, set...). */
static bool names_follow(const struct token *t)
{
	static const char *const words[] = {
		"table", "chain", "jump", "goto", "set", "map", "flowtable",
		"element", "define", "include",
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (token_is(t, words[i]))
			return true;
	return false;
}

static int append(struct rewrite *rw, size_t *cap, const struct statement *st)
{
	if (rw->n == *cap) {
		struct statement *s;

		*cap = *cap ? 2 * *cap : 8;
		s = realloc(rw->stmts, *cap * sizeof(*s));
		if (!s)
			return -1;
		rw->stmts = s;
	}
	rw->stmts[rw->n++] = *st;
	return 0;
}

/* The word after @t, left to be read again. */
static void peek(const struct scan *sc, struct token *t)
{
	struct cursor c = sc->c;

	next_token(&c, t);
}

/*
 * What the rules that follow @t are in: the family of the table ("table
 * ip6 t {", "add rule inet t c ..."; nft's default is ip), and whether
 * their chain block is on the input hook.
 */
static void follow_context(struct scan *sc, const struct token *t)
{
	struct token next;

	if (sc->depth == 0 && (token_is(t, "table") || token_is(t, "chain") ||
			       token_is(t, "rule"))) {
		peek(sc, &next);
		sc->family = statement_family_of(next.text);
		if (sc->family == NFPROTO_UNSPEC && next.text[0] != '$')
			sc->family = NFPROTO_IPV4;	/* a table name */
		sc->input_hook = false;
	} else if (token_is(t, "hook") && sc->depth >= 2) {
		peek(sc, &next);
		sc->input_hook = token_is(&next, "input");
	}
}

int statements_rewrite(const char *name, const char *in, size_t first,
		       struct rewrite *rw)
{
	struct scan sc = { .name = name, .in = in, .c = { in, 0, 1, 1 } };
	size_t cap = 0, out_len = 0, in_len = strlen(in), copied = 0;
	struct token t = {}, prev;
	struct statement st;
	int ret;

	memset(rw, 0, sizeof(*rw));
	/* Each statement is at least 7 bytes and becomes a placeholder. */
	rw->text = malloc(in_len / 7 * PLACEHOLDER_MAX + in_len + 1);
	if (!rw->text)
		return -1;

	while (in[sc.c.pos]) {
		char ch = in[sc.c.pos];

		if (ch == '"') {		/* strings are never ours */
			do
				advance(&sc.c);
			while (in[sc.c.pos] && in[sc.c.pos] != '"' && in[sc.c.pos] != '\n');
			if (in[sc.c.pos] == '"')
				advance(&sc.c);
			continue;
		}
		if (ch == '#') {		/* comments neither */
			while (in[sc.c.pos] && in[sc.c.pos] != '\n')
				advance(&sc.c);
			continue;
		}
		if (is_separator(ch)) {
			if (ch == '{')
				sc.depth++;
			else if (ch == '}' && sc.depth > 0 && --sc.depth < 2)
				sc.input_hook = false;	/* a chain block ends */
			advance(&sc.c);
			continue;
		}
		prev = t;
		next_token(&sc.c, &t);
		follow_context(&sc, &t);
		/* "jump cleardf", "chain prefrag": names, not statements. */
		ret = names_follow(&prev) ? 1 : parse_statement(&sc, &t, &st);
		if (ret < 0)
			goto err;
		if (ret > 0)
			continue;
		st.line = t.line;
		st.col = t.col;
		st.len = sc.c.pos - t.pos;
		memcpy(rw->text + out_len, in + copied, t.pos - copied);
		out_len += t.pos - copied;
		st.placeholder_len = sprintf(rw->text + out_len, PLACEHOLDER_FMT,
					     PLACEHOLDER_MAGIC, first + rw->n);
		out_len += st.placeholder_len;
		copied = sc.c.pos;
		if (append(rw, &cap, &st))
			goto err;
	}
	memcpy(rw->text + out_len, in + copied, in_len - copied);
	rw->text[out_len + in_len - copied] = '\0';
	return 0;
err:
	rewrite_free(rw);
	return -1;
}

void rewrite_free(struct rewrite *rw)
{
	free(rw->text);
	free(rw->stmts);
	memset(rw, 0, sizeof(*rw));
}

void statements_error(const char *name, const char *in, unsigned int line,
		      unsigned int col, unsigned int len, const char *msg)
{
	const char *p = in, *end;
	unsigned int i;

	for (i = 1; i < line && (p = strchr(p, '\n')); i++)
		p++;
	if (!p)
		p = in + strlen(in);
	end = strchrnul(p, '\n');
	fprintf(stderr, "%s:%u:%u-%u: Error: %s\n%.*s\n", name, line, col,
		col + len - 1, msg, (int)(end - p), p);
	for (i = 1; i < col; i++)
		fputc(p[i - 1] == '\t' ? '\t' : ' ', stderr);
	for (i = 0; i < len; i++)
		fputc('^', stderr);
	fputc('\n', stderr);
}
