// SPDX-License-Identifier: GPL-2.0
/*
 * Rules, as their users list them: iptables-save of both back ends and
 * families, and the nft ruleset (through nft-prefrag, which shows our
 * statements in nft syntax, or plain nft): every rule that uses one of our
 * actions.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "capture.h"
#include "doctor.h"

static const char *const iptables_saves[] = {
	"iptables-legacy-save", "ip6tables-legacy-save",
	"iptables-nft-save", "ip6tables-nft-save",
};

/* The xtables tables iptables-nft made, as nft lists them ("ip mangle"). */
struct xt_tables {
	char	names[32][DOCTOR_NAME_LEN];
	size_t	n;
};

static bool has_word(const char *text, const char *word)
{
	size_t len = strlen(word);
	const char *p;

	for (p = strstr(text, word); p; p = strstr(p + 1, word))
		if ((p == text || isspace((unsigned char)p[-1]) || p[-1] == '"') &&
		    (!p[len] || isspace((unsigned char)p[len]) || p[len] == '"'))
			return true;
	return false;
}

static bool iptables_rule_is_ours(const char *rule)
{
	return strstr(rule, "-j PREFRAG") || strstr(rule, "-j CLEARDF") ||
	       (strstr(rule, "-j REJECT") &&
		(strstr(rule, "--reject-mtu") || strstr(rule, "icmp-frag-needed") ||
		 strstr(rule, "icmp6-pkt-too-big") || strstr(rule, "[unsupported revision]")));
}

static bool nft_rule_is_ours(const char *rule)
{
	return has_word(rule, "prefrag") || has_word(rule, "cleardf") ||
	       has_word(rule, "PREFRAG") || has_word(rule, "CLEARDF") ||
	       has_word(rule, "xt_PREFRAG") || has_word(rule, "xt_CLEARDF") ||
	       (strstr(rule, "reject with") && strstr(rule, " mtu "));
}

static void add_rule(struct netns_report *ns, const char *source, const char *table,
		     const char *chain, const char *hook, const char *text)
{
	struct rule *r;

	ns->rules = doctor_grow(ns->rules, &ns->n_rules, sizeof(*r));
	r = &ns->rules[ns->n_rules - 1];
	snprintf(r->source, sizeof(r->source), "%s", source);
	snprintf(r->table, sizeof(r->table), "%s", table);
	snprintf(r->chain, sizeof(r->chain), "%s", chain);
	snprintf(r->hook, sizeof(r->hook), "%s", hook);
	snprintf(r->text, sizeof(r->text), "%s", text);
}

/* The hook of a built-in chain ("FORWARD": "forward"); "" for users' chains. */
static void builtin_hook(const char *chain, char *hook, size_t size)
{
	static const char *const builtins[] = {
		"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING",
	};
	size_t i, j;

	hook[0] = '\0';
	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		if (strcmp(chain, builtins[i]))
			continue;
		for (j = 0; chain[j] && j + 1 < size; j++)
			hook[j] = tolower((unsigned char)chain[j]);
		hook[j] = '\0';
	}
}

static void iptables_inspect(struct netns_report *ns, const char *save, struct xt_tables *xt)
{
	const char *argv[] = { save, NULL };
	const char *netns = ns->name[0] ? ns->name : NULL;
	char table[DOCTOR_NAME_LEN] = "", chain[DOCTOR_NAME_LEN], hook[DOCTOR_NAME_LEN];
	bool nft_backend = strstr(save, "-nft-") != NULL;
	char source[DOCTOR_NAME_LEN];
	struct text out;
	size_t pos = 0;
	char *line;

	/* "iptables-legacy-save" lists as "iptables-legacy". */
	snprintf(source, sizeof(source), "%.*s", (int)(strlen(save) - strlen("-save")), save);
	capture(netns, argv, &out);
	while ((line = text_next_line(&out, &pos))) {
		if (line[0] == '*') {
			snprintf(table, sizeof(table), "%s", line + 1);
			if (nft_backend && xt->n < sizeof(xt->names) / sizeof(xt->names[0]))
				snprintf(xt->names[xt->n++], DOCTOR_NAME_LEN, "%s %s",
					 save[2] == '6' ? "ip6" : "ip", table);
			continue;
		}
		if (strncmp(line, "-A ", 3) || !iptables_rule_is_ours(line))
			continue;
		if (sscanf(line + 3, "%63s", chain) != 1)
			continue;
		builtin_hook(chain, hook, sizeof(hook));
		add_rule(ns, source, table, chain, hook, line);
	}
	text_free(&out);
}

static bool made_by_iptables_nft(const struct xt_tables *xt, const char *table)
{
	size_t i;

	for (i = 0; i < xt->n; i++)
		if (!strcmp(xt->names[i], table))
			return true;
	return false;
}

static char *trimmed(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* nft list ruleset: "table inet vpn {", "chain out {", "type filter hook output ...". */
static void nft_inspect(struct netns_report *ns, const struct xt_tables *xt)
{
	const char *prefrag_argv[] = { "nft-prefrag", "list", "ruleset", NULL };
	const char *nft_argv[] = { "nft", "list", "ruleset", NULL };
	const char *netns = ns->name[0] ? ns->name : NULL;
	char table[DOCTOR_NAME_LEN] = "", chain[DOCTOR_NAME_LEN] = "", hook[DOCTOR_NAME_LEN] = "";
	char family[16], name[48];
	const char *source = "nft-prefrag";
	bool skip_table = false;
	struct text out;
	size_t pos = 0;
	char *line, *p;

	if (!capture(netns, prefrag_argv, &out)) {
		text_free(&out);
		source = "nft";
		capture(netns, nft_argv, &out);
	}
	while ((line = text_next_line(&out, &pos))) {
		line = trimmed(line);
		if (sscanf(line, "table %15s %47s {", family, name) == 2) {
			snprintf(table, sizeof(table), "%s %s", family, name);
			/* Listed already, in iptables syntax. */
			skip_table = made_by_iptables_nft(xt, table);
			continue;
		}
		if (sscanf(line, "chain %47s {", name) == 1) {
			snprintf(chain, sizeof(chain), "%s", name);
			hook[0] = '\0';
			continue;
		}
		/* Sets, maps, flowtables and other objects hold no rules. */
		if (line[0] && line[strlen(line) - 1] == '{') {
			chain[0] = '\0';
			continue;
		}
		p = strstr(line, " hook ");
		if (!strncmp(line, "type ", 5) && p) {
			sscanf(p, " hook %47s", name);
			snprintf(hook, sizeof(hook), "%s", name);
			continue;
		}
		if (skip_table || !chain[0] || !line[0] || line[0] == '}' ||
		    !strncmp(line, "policy ", 7))
			continue;
		if (nft_rule_is_ours(line))
			add_rule(ns, source, table, chain, hook, line);
	}
	text_free(&out);
}

void rules_inspect(struct netns_report *ns)
{
	struct xt_tables xt = { .n = 0 };
	size_t i;

	for (i = 0; i < sizeof(iptables_saves) / sizeof(iptables_saves[0]); i++)
		iptables_inspect(ns, iptables_saves[i], &xt);
	nft_inspect(ns, &xt);
}
