// SPDX-License-Identifier: GPL-2.0
/* Our statements in nft's JSON (see json.h). */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <linux/netfilter.h>
#include <linux/netfilter/xt_CLEARDF.h>
#include <linux/netfilter/xt_PREFRAG.h>
#include <linux/netfilter/xt_REJECT_MTU.h>
#include "json.h"
#include "kernel_rules.h"
#include "nft_syntax.h"

/* nft writes its JSON so (src/libnftables.c: json_dumpf). */
#define NFT_JSON_FLAGS	JSON_PRESERVE_ORDER

struct walk {
	struct rewrite	*rw;
	size_t		cap, rule;	/* rules seen, for messages */
	char		msg[256];
};

static int refuse(struct walk *w, const char *fmt, const char *arg)
{
	snprintf(w->msg, sizeof(w->msg), fmt, arg);
	return -1;
}

/* "auto" (0) or a number in @min..65535. */
static int mtu_of(struct walk *w, json_t *v, const char *what, unsigned int min,
		  unsigned int *mtu)
{
	json_int_t n;

	if (json_is_string(v) && !strcmp(json_string_value(v), NFT_MTU_AUTO)) {
		*mtu = 0;
		return 0;
	}
	n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (n < min || n > 65535) {
		snprintf(w->msg, sizeof(w->msg),
			 "%s takes \"auto\" or a number from %u to 65535", what, min);
		return -1;
	}
	*mtu = n;
	return 0;
}

/* @obj has no key but those in @keys (NULL-terminated). */
static int only_keys(struct walk *w, json_t *obj, const char *stmt,
		     const char *const *keys)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(obj, key, v) {
		for (i = 0; keys[i] && strcmp(keys[i], key); i++)
			;
		if (!keys[i]) {
			snprintf(w->msg, sizeof(w->msg), "%s: unknown property \"%s\"",
				 stmt, key);
			return -1;
		}
	}
	return 0;
}

static int word_index(const char *const *words, size_t n, json_t *v)
{
	size_t i;

	for (i = 0; json_is_string(v) && i < n; i++)
		if (!strcmp(words[i], json_string_value(v)))
			return i;
	return -1;
}

static int parse_prefrag(struct walk *w, json_t *o, struct statement *st)
{
	static const char *const keys[] = { NFT_PREFRAG_MTU, NFT_PREFRAG_DF,
					    NFT_PREFRAG_TCP, NULL };
	static const char *const tcp[] = { NFT_PREFRAG_TCP_FRAGMENT,
					   NFT_PREFRAG_TCP_SEGMENT };
	struct xt_prefrag_info info = { .df_policy = XT_PREFRAG_DF_REJECT };
	json_t *df, *mode;
	unsigned int mtu;
	int i;

	if (!json_is_object(o))
		return refuse(w, "%s: expected an object with \"mtu\"", "prefrag");
	if (only_keys(w, o, "prefrag", keys) ||
	    mtu_of(w, json_object_get(o, NFT_PREFRAG_MTU), "prefrag: mtu",
		   XT_PREFRAG_MTU_MIN, &mtu))
		return -1;
	info.mtu = mtu;
	df = json_object_get(o, NFT_PREFRAG_DF);
	if (df) {
		i = word_index(nft_prefrag_df_names, __XT_PREFRAG_DF_MAX, df);
		if (i < 0)
			return refuse(w, "%s: df takes reject, keep or clear", "prefrag");
		info.df_policy = i;
	}
	mode = json_object_get(o, NFT_PREFRAG_TCP);
	if (mode) {
		i = word_index(tcp, 2, mode);
		if (i < 0)
			return refuse(w, "%s: tcp takes fragment or segment", "prefrag");
		if (i)
			info.flags |= XT_PREFRAG_TCP_SEGMENT;
	}
	st->target = "PREFRAG";
	memcpy(st->info, &info, sizeof(info));
	st->info_len = sizeof(info);
	return 0;
}

static int parse_cleardf(struct walk *w, json_t *o, struct statement *st)
{
	static const char *const keys[] = { NFT_CLEARDF_MIN_LEN,
					    NFT_CLEARDF_RANDOM_ID, NULL };
	struct xt_cleardf_info info = {};
	json_t *len, *id;

	if (!json_is_null(o) && !json_is_object(o))
		return refuse(w, "%s: expected null or an object", "cleardf");
	if (json_is_object(o)) {
		if (only_keys(w, o, "cleardf", keys))
			return -1;
		len = json_object_get(o, NFT_CLEARDF_MIN_LEN);
		if (len && (!json_is_integer(len) || json_integer_value(len) < 1 ||
			    json_integer_value(len) > 65535))
			return refuse(w, "%s: min-len takes a number from 1 to 65535", "cleardf");
		if (len)
			info.min_len = json_integer_value(len);
		id = json_object_get(o, NFT_CLEARDF_RANDOM_ID);
		if (id && !json_is_boolean(id))
			return refuse(w, "%s: random-id takes true or false", "cleardf");
		if (json_is_true(id))
			info.flags |= XT_CLEARDF_RANDOM_ID;
	}
	st->target = "CLEARDF";
	memcpy(st->info, &info, sizeof(info));
	st->info_len = sizeof(info);
	return 0;
}

/* {"type": "icmp", "expr": "frag-needed", "mtu": ...}; 1: nft's own reject. */
static int parse_reject(struct walk *w, json_t *o, struct statement *st)
{
	static const char *const keys[] = { "type", "expr", NFT_PREFRAG_MTU, NULL };
	struct xt_reject_info_v1 info = {};
	char words[64];
	unsigned int min;

	if (!json_is_object(o) || !json_object_get(o, NFT_PREFRAG_MTU))
		return 1;
	if (only_keys(w, o, "reject", keys))
		return -1;
	snprintf(words, sizeof(words), "%s %s",
		 json_string_value(json_object_get(o, "type")) ?: "",
		 json_string_value(json_object_get(o, "expr")) ?: "");
	if (!strcmp(words, NFT_REJECT_FRAG_NEEDED)) {
		st->family = NFPROTO_IPV4;
		min = XT_REJECT_MTU_MIN_IPV4;
	} else if (!strcmp(words, NFT_REJECT_TOO_BIG)) {
		st->family = NFPROTO_IPV6;
		min = XT_REJECT_MTU_MIN_IPV6;
	} else {
		return refuse(w, "reject: an mtu goes with type \"icmp\" and expr \"frag-needed\", or \"icmpv6\" and \"too-big\", not \"%s\"",
			      words);
	}
	if (mtu_of(w, json_object_get(o, NFT_PREFRAG_MTU), "reject: mtu", min, &info.mtu))
		return -1;
	info.with = XT_REJECT_IPV4_FRAG_NEEDED;	/* = XT_REJECT_IPV6_PKT_TOO_BIG */
	st->target = "REJECT";
	st->revision = 1;
	memcpy(st->info, &info, sizeof(info));
	st->info_len = sizeof(info);
	return 0;
}

/* Our statement in @e (one element of "expr"), if it is one; 1: not ours. */
static int parse_statement(struct walk *w, json_t *e, struct statement *st)
{
	const char *key;
	json_t *v;

	memset(st, 0, sizeof(*st));
	if (!json_is_object(e) || json_object_size(e) != 1)
		return 1;
	key = json_object_iter_key(json_object_iter(e));
	v = json_object_iter_value(json_object_iter(e));
	if (!strcmp(key, NFT_PREFRAG))
		return parse_prefrag(w, v, st);
	if (!strcmp(key, NFT_CLEARDF))
		return parse_cleardf(w, v, st);
	if (!strcmp(key, "reject"))
		return parse_reject(w, v, st);
	return 1;
}

static json_t *placeholder(size_t index)
{
	return json_pack("{s:{s:I, s:I}}", "counter", "packets",
			 (json_int_t)PLACEHOLDER_MAGIC, "bytes", (json_int_t)index);
}

/* The statements in one rule's "expr" array, in a table of @family. */
static int rewrite_rule(struct walk *w, json_t *expr, int family)
{
	struct statement st;
	const char *why;
	json_t *e;
	size_t i;
	int ret;

	w->rule++;
	json_array_foreach(expr, i, e) {
		ret = parse_statement(w, e, &st);
		if (ret > 0)
			continue;
		why = ret ? w->msg : statement_refusal(&st, family, false);
		if (why) {
			if (why != w->msg)
				snprintf(w->msg, sizeof(w->msg), "%s", why);
			return -1;
		}
		if (w->rw->n == w->cap) {
			struct statement *v;

			w->cap = w->cap ? 2 * w->cap : 8;
			v = realloc(w->rw->stmts, w->cap * sizeof(*v));
			if (!v)
				return refuse(w, "%s", "out of memory");
			w->rw->stmts = v;
		}
		if (json_array_set_new(expr, i, placeholder(w->rw->n)))
			return refuse(w, "%s", "out of memory");
		w->rw->stmts[w->rw->n++] = st;
	}
	return 0;
}

/* Every rule in @v, wherever the commands put it. */
static int rewrite_rules(struct walk *w, json_t *v)
{
	json_t *expr, *family, *e;
	const char *key;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (rewrite_rules(w, e))
				return -1;
		return 0;
	}
	if (!json_is_object(v))
		return 0;
	expr = json_object_get(v, "expr");
	family = json_object_get(v, "family");
	if (json_is_array(expr) && json_is_string(family) &&
	    json_object_get(v, "table") && json_object_get(v, "chain"))
		return rewrite_rule(w, expr,
				    statement_family_of(json_string_value(family)));
	json_object_foreach(v, key, e)
		if (rewrite_rules(w, e))
			return -1;
	return 0;
}

int json_rewrite(const char *name, const char *in, char **out,
		 struct rewrite *rw)
{
	struct walk w = { .rw = rw };
	json_t *root = json_loads(in, 0, NULL);
	int ret = 1;

	memset(rw, 0, sizeof(*rw));
	if (!root)
		return 1;
	if (rewrite_rules(&w, root)) {
		fprintf(stderr, "%s: Error: %s (rule %zu of the input)\n", name,
			w.msg, w.rule);
		ret = -1;
	} else if (rw->n) {
		*out = json_dumps(root, NFT_JSON_FLAGS);
		ret = *out ? 0 : -1;
	}
	json_decref(root);
	if (ret)
		rewrite_free(rw);
	return ret;
}

static json_t *mtu_json(unsigned int mtu)
{
	return mtu ? json_integer(mtu) : json_string(NFT_MTU_AUTO);
}

/* @st as json.h writes it. */
static json_t *statement_json(const struct statement *st)
{
	json_t *o = json_object();

	if (!strcmp(st->target, "PREFRAG")) {
		const struct xt_prefrag_info *info = (const void *)st->info;

		json_object_set_new(o, NFT_PREFRAG_MTU, mtu_json(info->mtu));
		if (info->df_policy != XT_PREFRAG_DF_REJECT &&
		    info->df_policy < __XT_PREFRAG_DF_MAX)
			json_object_set_new(o, NFT_PREFRAG_DF,
					    json_string(nft_prefrag_df_names[info->df_policy]));
		if (info->flags & XT_PREFRAG_TCP_SEGMENT)
			json_object_set_new(o, NFT_PREFRAG_TCP,
					    json_string(NFT_PREFRAG_TCP_SEGMENT));
		return json_pack("{s:o}", NFT_PREFRAG, o);
	}
	if (!strcmp(st->target, "CLEARDF")) {
		const struct xt_cleardf_info *info = (const void *)st->info;

		if (info->min_len)
			json_object_set_new(o, NFT_CLEARDF_MIN_LEN, json_integer(info->min_len));
		if (info->flags & XT_CLEARDF_RANDOM_ID)
			json_object_set_new(o, NFT_CLEARDF_RANDOM_ID, json_true());
		if (!json_object_size(o)) {
			json_decref(o);
			o = json_null();
		}
		return json_pack("{s:o}", NFT_CLEARDF, o);
	}
	json_decref(o);
	return json_pack("{s:{s:s, s:s, s:o}}", "reject",
			 "type", st->family == NFPROTO_IPV4 ? "icmp" : "icmpv6",
			 "expr", st->family == NFPROTO_IPV4 ? "frag-needed" : "too-big",
			 NFT_PREFRAG_MTU,
			 mtu_json(((const struct xt_reject_info_v1 *)st->info)->mtu));
}

/* The rule @r as nft wrote it, its targets as @rt holds them; 1: changed. */
static int annotate_rule(json_t *r, const struct rule_targets *rules, size_t n)
{
	const struct rule_targets *rt;
	size_t i, k = 0;
	int changed = 0;
	json_t *e, *xt;

	rt = kernel_rules_find(rules, n,
			       statement_family_of(json_string_value(json_object_get(r, "family")) ?: ""),
			       json_string_value(json_object_get(r, "table")) ?: "",
			       json_string_value(json_object_get(r, "chain")) ?: "",
			       json_integer_value(json_object_get(r, "handle")));
	if (!rt)
		return 0;
	json_array_foreach(json_object_get(r, "expr"), i, e) {
		const char *type, *name;

		xt = json_object_get(e, "xt");
		type = json_string_value(json_object_get(xt, "type"));
		name = json_string_value(json_object_get(xt, "name"));
		if (!name || (type && strcmp(type, "target")))
			continue;
		/* The kernel's rule is not the one listed: leave it be. */
		if (k >= rt->n)
			return changed;
		if (rt->names[k] && !strcmp(rt->names[k], name)) {
			json_array_set_new(json_object_get(r, "expr"), i,
					   statement_json(&rt->stmts[k]));
			changed = 1;
		}
		k++;
	}
	return changed;
}

/* Every rule in @v; 1: one was changed. */
static int annotate(json_t *v, const struct rule_targets *rules, size_t n)
{
	const char *key;
	int changed = 0;
	json_t *e;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			changed |= annotate(e, rules, n);
		return changed;
	}
	if (!json_is_object(v))
		return 0;
	if (json_is_array(json_object_get(v, "expr")) && json_object_get(v, "handle"))
		return annotate_rule(v, rules, n);
	json_object_foreach(v, key, e)
		changed |= annotate(e, rules, n);
	return changed;
}

/* Could @out name one of our targets?  Most listings do not. */
static bool names_ours(const char *out)
{
	return strstr(out, "\"xt\"") &&
	       (strstr(out, "\"PREFRAG\"") || strstr(out, "\"CLEARDF\"") ||
		strstr(out, "\"REJECT\""));
}

char *json_annotate(const char *out)
{
	struct rule_targets *rules = NULL;
	const char *line, *end;
	bool changed = false;
	char *text = NULL;
	size_t n = 0, len;
	FILE *f;

	if (!names_ours(out) || kernel_rules_dump(&rules, &n))
		return NULL;
	f = open_memstream(&text, &len);
	/* nft writes a document per line (one per command with --echo). */
	for (line = out; f && *line; line = end) {
		json_t *root;
		char *copy;

		end = strchrnul(line, '\n');
		end += *end == '\n';
		copy = strndup(line, end - line);
		root = copy ? json_loads(copy, 0, NULL) : NULL;
		if (root && annotate(root, rules, n)) {
			changed = true;
			json_dumpf(root, f, NFT_JSON_FLAGS);
			fputc('\n', f);
		} else {
			fwrite(line, 1, end - line, f);
		}
		json_decref(root);
		free(copy);
	}
	kernel_rules_free(rules, n);
	if (!f || fclose(f) || !changed) {
		free(text);
		return NULL;
	}
	return text;
}
