// SPDX-License-Identifier: GPL-2.0
/*
 * The mistakes nf-prefrag doctor knows, judged from what the other files
 * gathered.  Each finding has a stable id (for --json users), a severity
 * ("problem": something does not work as the rule's author meant; "note":
 * worth knowing) and a message that says what to do.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "doctor.h"
#include "module_hint.h"

static void find(struct doctor_report *r, const char *id, const char *severity,
		 const struct netns_report *ns, const struct rule *rule, const char *fmt, ...)
{
	struct finding *f;
	va_list ap;

	r->findings = doctor_grow(r->findings, &r->n_findings, sizeof(*f));
	f = &r->findings[r->n_findings - 1];
	f->id = id;
	f->severity = severity;
	snprintf(f->netns, sizeof(f->netns), "%s", ns ? ns->name : "");
	snprintf(f->rule, sizeof(f->rule), "%s", rule ? rule->text : "");
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

static bool is_prefrag(const struct rule *rule)
{
	return strstr(rule->text, "PREFRAG") || strstr(rule->text, "prefrag");
}

static bool clears_df(const struct rule *rule)
{
	return strstr(rule->text, "CLEARDF") || strstr(rule->text, "cleardf") ||
	       strstr(rule->text, "df clear");
}

static void judge_modules(struct doctor_report *r)
{
	const struct modules_report *m = &r->modules;
	bool any_file = false, any_loaded = false;
	int i;

	for (i = 0; i < DOCTOR_NUM_MODULES; i++) {
		const struct module_state *mod = &m->mod[i];

		any_file |= mod->file[0] != '\0';
		any_loaded |= mod->loaded;
	}
	if (m->dkms_added && !m->dkms_built)
		find(r, "dkms-not-built", "problem", NULL, NULL,
		     "DKMS has no nf-prefrag build installed for the running kernel %s (dkms status: %s): install its headers (apt install linux-headers-%s), then run dkms autoinstall -k %s.",
		     m->kernel, m->dkms_status[0] ? m->dkms_status : "nothing for this kernel",
		     m->kernel, m->kernel);
	for (i = 0; i < DOCTOR_NUM_MODULES; i++) {
		const struct module_state *mod = &m->mod[i];
		char hint[512];

		if (!mod->loaded && mod->file[0] &&
		    nf_prefrag_module_state(mod->name, hint, sizeof(hint), true) ==
		    NF_PREFRAG_MODULE_REFUSED)
			find(r, "module-signature-refused", "problem", NULL, NULL,
			     "%c%s.", toupper((unsigned char)hint[0]), hint + 1);
	}
	if (!any_file && !any_loaded)
		find(r, "modules-missing", "problem", NULL, NULL,
		     "No nf-prefrag kernel modules for the running kernel %s: install nf-prefrag-dkms (and linux-headers-%s) so that DKMS builds them.",
		     m->kernel, m->kernel);
}

static void judge_rule(struct doctor_report *r, const struct netns_report *ns,
		       const struct rule *rule)
{
	if (strstr(rule->text, "[unsupported revision]"))
		find(r, "reject-unsupported-revision", "problem", ns, rule,
		     "%s lists this REJECT rule without its options: it was added as REJECT revision 0 before xt_REJECT_MTU was loaded. The rule works, but this listing does not restore. Reload the ruleset from its source (or use iptables-nft), and keep the modprobe.d file of nf-prefrag so that xt_REJECT_MTU loads with ipt_REJECT.",
		     rule->source);
	if (!strcmp(rule->hook, "forward") && clears_df(rule))
		find(r, "forward-df-clear", "problem", ns, rule,
		     "Clearing DF in a FORWARD chain comes too late: a forwarded DF packet too big for its route is refused by the kernel while routing, before FORWARD (\"fragmentation needed\" goes back to the sender). Put the rule in PREROUTING (mangle or raw; nft: a chain with hook prerouting).");
	/* Output and postrouting chains refuse it outright (EOPNOTSUPP). */
	if (strstr(rule->text, "meta ipsec exists"))
		find(r, "meta-ipsec-exists", "problem", ns, rule,
		     "\"meta ipsec exists\" matches packets that were decrypted (they arrived through IPsec), not packets about to be encrypted. For traffic into a tunnel use \"rt ipsec exists\" or \"ipsec out ...\" in an output or postrouting chain.");
	if (is_prefrag(rule) && strstr(rule->text, "--dir in"))
		find(r, "policy-dir-in", "problem", ns, rule,
		     "\"-m policy --dir in\" matches packets that arrived through IPsec, not packets about to be encrypted: use \"-m policy --dir out --pol ipsec\" in POSTROUTING or OUTPUT.");
}

static void judge_ipsec(struct doctor_report *r, const struct netns_report *ns)
{
	unsigned long skipped = counter_value(ns, "transport_mode_skipped");
	bool prefrag = false;
	size_t i;

	for (i = 0; i < ns->n_rules; i++)
		prefrag |= is_prefrag(&ns->rules[i]);
	if (prefrag && (skipped || ns->xfrm_transport_states))
		find(r, "transport-mode", skipped ? "problem" : "note", ns, NULL,
		     "PREFRAG leaves packets into transport-mode SAs whole (transport_mode_skipped: %lu; transport-mode SAs here: %u): their ESP packets reuse the inner IP header, fragment bits included, so pre-cut packets would still be fragments on the wire. Use a tunnel-mode SA (for GRE or gretap: one whose traffic selectors are the two GRE endpoints, protocol gre).",
		     skipped, ns->xfrm_transport_states);
	if (!ns->xfrm_out_policies)
		return;
	if (prefrag)
		find(r, "check-the-peer", "note", ns, NULL,
		     "This gateway cuts only what it sends into its %u outbound IPsec polic%s. The return direction is the peer's: run nf-prefrag doctor there too, or make sure the peer has its own PREFRAG rule (Linux answers even a DF ping with a reply without DF).",
		     ns->xfrm_out_policies, ns->xfrm_out_policies == 1 ? "y" : "ies");
	else
		find(r, "no-prefrag-rule", "note", ns, NULL,
		     "%u outbound IPsec polic%s but no PREFRAG rule: packets larger than the tunnel's MTU are encrypted whole and the ESP packets fragmented on the wire. Add one, e.g. iptables -t mangle -A POSTROUTING -m policy --dir out --pol ipsec -j PREFRAG --mtu auto.",
		     ns->xfrm_out_policies, ns->xfrm_out_policies == 1 ? "y" : "ies");
}

/* Does a rule of ours send packets out of @dev? */
static bool prefrag_on(const struct netns_report *ns, const char *dev)
{
	char out_opt[DOCTOR_NAME_LEN + 8], oifname[DOCTOR_NAME_LEN + 16];
	size_t i;

	snprintf(out_opt, sizeof(out_opt), "-o %s ", dev);
	snprintf(oifname, sizeof(oifname), "oifname \"%s\"", dev);
	for (i = 0; i < ns->n_rules; i++)
		if (is_prefrag(&ns->rules[i]) && (strstr(ns->rules[i].text, out_opt) ||
						  strstr(ns->rules[i].text, oifname)))
			return true;
	return false;
}

static void judge_tunnels(struct doctor_report *r, const struct netns_report *ns)
{
	size_t i;

	for (i = 0; i < ns->n_tunnels; i++) {
		const struct tunnel_if *t = &ns->tunnels[i];

		if (!t->sa_mtu || t->mtu <= t->sa_mtu || prefrag_on(ns, t->name))
			continue;
		find(r, "tunnel-interface-mtu", "problem", ns, NULL,
		     "%s (%s, %s %u) has MTU %u, but the SA it sends into (to %s, over %s with MTU %u) carries %u bytes: packets without DF of %u to %u bytes are encrypted whole and their ESP packets fragmented on the wire. Add iptables -t mangle -A POSTROUTING -o %s -j PREFRAG --mtu auto (auto follows the SA), or set ip link set %s mtu %u.",
		     t->name, t->kind, strcmp(t->kind, "xfrm") ? "key" : "if_id", t->key, t->mtu,
		     t->peer, t->underlay, t->underlay_mtu, t->sa_mtu, t->sa_mtu + 1, t->mtu,
		     t->name, t->name, t->sa_mtu);
	}
}

void findings_judge(struct doctor_report *r)
{
	size_t i, j;

	judge_modules(r);
	for (i = 0; i < r->n_netns; i++) {
		const struct netns_report *ns = &r->netns[i];

		for (j = 0; j < ns->n_rules; j++)
			judge_rule(r, ns, &ns->rules[j]);
		judge_ipsec(r, ns);
		judge_tunnels(r, ns);
	}
}
