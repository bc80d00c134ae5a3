// SPDX-License-Identifier: GPL-2.0
/*
 * The counters of /proc/net/nf_prefrag (one file per network namespace,
 * "<family>_<name> <value>" per line), and what each one means.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include "capture.h"
#include "doctor.h"

static const struct {
	const char *name, *meaning;
} meanings[] = {
	{ "packets_fragmented", "packets cut into fragments before IPsec" },
	{ "fragments_sent", "fragments those packets became" },
	{ "df_rejected", "too big with DF set: refused with \"fragmentation needed\"" },
	{ "too_big_rejected", "too big and not ours to cut: refused with \"packet too big\"" },
	{ "df_cleared", "packets whose DF bit was cleared" },
	{ "ids_renewed", "packets given a fresh IP ID" },
	{ "transport_mode_skipped",
	  "left whole: their IPsec SA is transport mode (cutting them would not help)" },
	{ "encrypted_skipped", "left whole: already encrypted (ESP or AH)" },
	{ "gso_segmented", "GSO/GRO aggregates split into segments before cutting" },
	{ "tcp_segmented", "TCP packets re-segmented to fit (--tcp segment)" },
	{ "errors", "dropped: out of memory, malformed, or a piece the next step refused (a full queue, as for any packet)" },
	{ "icmp_too_big_sent", "ICMP errors telling a sender the MTU" },
	{ "icmp_too_big_ratelimited",
	  "ICMP errors not sent: over net.netfilter.nf_prefrag_icmp_rate" },
};

/* NAME without its family prefix ("ipv4_", "ipv6_"). */
static const char *unprefixed(const char *name)
{
	if (!strncmp(name, "ipv4_", 5) || !strncmp(name, "ipv6_", 5))
		return name + 5;
	return name;
}

const char *counter_meaning(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(meanings) / sizeof(meanings[0]); i++)
		if (!strcmp(unprefixed(name), meanings[i].name))
			return meanings[i].meaning;
	return "";
}

/* NAME summed over the families ("transport_mode_skipped"). */
unsigned long counter_value(const struct netns_report *ns, const char *name)
{
	unsigned long sum = 0;
	size_t i;

	for (i = 0; i < ns->n_counters; i++)
		if (!strcmp(unprefixed(ns->counters[i].name), name))
			sum += ns->counters[i].value;
	return sum;
}

void counters_inspect(struct netns_report *ns)
{
	const char *netns = ns->name[0] ? ns->name : NULL;
	struct counter *c;
	struct text out;
	unsigned long value;
	char name[DOCTOR_NAME_LEN];
	size_t pos = 0;
	char *line;

	ns->proc_file = capture_file(netns, "/proc/self/net/nf_prefrag", &out);
	while ((line = text_next_line(&out, &pos))) {
		if (sscanf(line, "%63s %lu", name, &value) != 2)
			continue;
		ns->counters = doctor_grow(ns->counters, &ns->n_counters, sizeof(*c));
		c = &ns->counters[ns->n_counters - 1];
		snprintf(c->name, sizeof(c->name), "%s", name);
		c->value = value;
	}
	text_free(&out);
}
