// SPDX-License-Identifier: GPL-2.0
/* nf-prefrag doctor's output: for people, and --json for programs. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "doctor.h"

static const char *netns_label(const char *name)
{
	static char label[DOCTOR_NAME_LEN + 32];

	if (!name[0])
		return "this network namespace";
	snprintf(label, sizeof(label), "network namespace %s", name);
	return label;
}

static void text_modules(const struct modules_report *m)
{
	int i;

	printf("Kernel modules (kernel %s):\n", m->kernel);
	for (i = 0; i < DOCTOR_NUM_MODULES; i++) {
		const struct module_state *mod = &m->mod[i];

		printf("  %-14s %s%s", mod->name, mod->loaded ? "loaded, version " : "not loaded",
		       mod->loaded ? mod->version : "");
		if (mod->file[0])
			printf("; installed: %s (%s)\n", mod->file_version, mod->file);
		else
			printf("; none installed for this kernel\n");
	}
	if (!m->dkms_known)
		printf("  DKMS: not installed\n");
	else
		printf("  DKMS: %s\n", m->dkms_status[0] ? m->dkms_status :
		       m->dkms_added ? "no nf-prefrag build for this kernel" :
		       "nf-prefrag is not a DKMS module here");
	printf("  (xt_* modules load with the first rule that uses their action.)\n");
}

static void text_netns(const struct netns_report *ns)
{
	size_t i, zero = 0;

	printf("\nIn %s:\n", netns_label(ns->name));
	if (!ns->proc_file) {
		printf("  Counters: none (nf_prefrag is not loaded)\n");
	} else {
		printf("  Counters (/proc/net/nf_prefrag):\n");
		for (i = 0; i < ns->n_counters; i++) {
			const struct counter *c = &ns->counters[i];

			if (!c->value) {
				zero++;
				continue;
			}
			printf("    %-31s %10lu  %s\n", c->name, c->value, counter_meaning(c->name));
		}
		if (zero == ns->n_counters)
			printf("    all %zu are zero: no packet has needed nf-prefrag here yet\n", zero);
		else if (zero)
			printf("    (%zu more, all zero)\n", zero);
	}
	printf("  Rules using nf-prefrag's actions:%s\n", ns->n_rules ? "" : " none");
	for (i = 0; i < ns->n_rules; i++) {
		const struct rule *r = &ns->rules[i];

		printf("    %s, table %s, chain %s:\n      %s\n", r->source, r->table, r->chain,
		       r->text);
	}
	if (ns->xfrm_known)
		printf("  IPsec: %u outbound polic%s, %u tunnel-mode and %u transport-mode SAs\n",
		       ns->xfrm_out_policies, ns->xfrm_out_policies == 1 ? "y" : "ies",
		       ns->xfrm_tunnel_states, ns->xfrm_transport_states);
}

void report_text(const struct doctor_report *r)
{
	size_t i, problems = 0;

	printf("nf-prefrag doctor %s\n\n", NF_PREFRAG_VERSION);
	text_modules(&r->modules);
	for (i = 0; i < r->n_netns; i++)
		text_netns(&r->netns[i]);
	printf("\n");
	for (i = 0; i < r->n_findings; i++) {
		const struct finding *f = &r->findings[i];

		problems += !strcmp(f->severity, "problem");
		printf("%s [%s]%s%s:\n  %s\n", !strcmp(f->severity, "problem") ? "PROBLEM" : "Note",
		       f->id, f->netns[0] || f->rule[0] ? " in " : "",
		       f->netns[0] || f->rule[0] ? netns_label(f->netns) : "", f->message);
		if (f->rule[0])
			printf("  The rule: %s\n", f->rule);
	}
	if (problems)
		printf("%zu problem%s found.\n", problems, problems == 1 ? "" : "s");
	else
		printf("No problems found.\n");
}

/* S as a JSON string. */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			printf("\\n");
		else if (c == '\t')
			printf("\\t");
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_member(const char *name, const char *value, bool last)
{
	json_string(name);
	putchar(':');
	json_string(value);
	if (!last)
		putchar(',');
}

static void json_modules(const struct modules_report *m)
{
	int i;

	printf("\"kernel\":");
	json_string(m->kernel);
	printf(",\"modules\":[");
	for (i = 0; i < DOCTOR_NUM_MODULES; i++) {
		const struct module_state *mod = &m->mod[i];

		printf("%s{", i ? "," : "");
		json_member("name", mod->name, false);
		printf("\"loaded\":%s,", mod->loaded ? "true" : "false");
		json_member("version", mod->version, false);
		json_member("installed_version", mod->file_version, false);
		json_member("installed_file", mod->file, true);
		putchar('}');
	}
	printf("],\"dkms\":{\"installed\":%s,\"has_nf_prefrag\":%s,\"built_for_kernel\":%s,",
	       m->dkms_known ? "true" : "false", m->dkms_added ? "true" : "false",
	       m->dkms_built ? "true" : "false");
	json_member("status", m->dkms_status, true);
	printf("},");
}

static void json_netns(const struct netns_report *ns)
{
	size_t i;

	putchar('{');
	json_member("name", ns->name, false);
	printf("\"counters\":");
	if (!ns->proc_file)
		printf("null");
	for (i = 0; ns->proc_file && i < ns->n_counters; i++) {
		printf("%s", i ? "," : "{");
		json_string(ns->counters[i].name);
		printf(":{\"value\":%lu,", ns->counters[i].value);
		json_member("meaning", counter_meaning(ns->counters[i].name), true);
		putchar('}');
	}
	if (ns->proc_file)
		printf("%s", ns->n_counters ? "}" : "{}");
	printf(",\"rules\":[");
	for (i = 0; i < ns->n_rules; i++) {
		const struct rule *r = &ns->rules[i];

		printf("%s{", i ? "," : "");
		json_member("source", r->source, false);
		json_member("table", r->table, false);
		json_member("chain", r->chain, false);
		json_member("hook", r->hook, false);
		json_member("rule", r->text, true);
		putchar('}');
	}
	printf("],\"ipsec\":{\"known\":%s,\"outbound_policies\":%u,\"tunnel_mode_sas\":%u,"
	       "\"transport_mode_sas\":%u}}",
	       ns->xfrm_known ? "true" : "false", ns->xfrm_out_policies,
	       ns->xfrm_tunnel_states, ns->xfrm_transport_states);
}

void report_json(const struct doctor_report *r)
{
	size_t i;

	putchar('{');
	json_member("version", NF_PREFRAG_VERSION, false);
	json_modules(&r->modules);
	printf("\"namespaces\":[");
	for (i = 0; i < r->n_netns; i++) {
		if (i)
			putchar(',');
		json_netns(&r->netns[i]);
	}
	printf("],\"findings\":[");
	for (i = 0; i < r->n_findings; i++) {
		const struct finding *f = &r->findings[i];

		printf("%s{", i ? "," : "");
		json_member("id", f->id, false);
		json_member("severity", f->severity, false);
		json_member("netns", f->netns, false);
		json_member("rule", f->rule, false);
		json_member("message", f->message, true);
		putchar('}');
	}
	printf("]}\n");
}
