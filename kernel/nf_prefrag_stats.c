// SPDX-License-Identifier: GPL-2.0
/* nf_prefrag core: per-netns counters, and /proc/net/nf_prefrag. */
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/netns/generic.h>
#include "nf_prefrag_internal.h"

enum { NF_PREFRAG_STATS_IPV4, NF_PREFRAG_STATS_IPV6, NF_PREFRAG_STATS_FAMILIES };

struct nf_prefrag_stats {
	unsigned long	count[NF_PREFRAG_STATS_FAMILIES][__NF_PREFRAG_COUNTER_MAX];
};

struct nf_prefrag_stats_net {
	struct nf_prefrag_stats __percpu	*stats;
};

static unsigned int nf_prefrag_stats_net_id __read_mostly;

static const char *const nf_prefrag_counter_names[__NF_PREFRAG_COUNTER_MAX] = {
	[NF_PREFRAG_PACKETS_FRAGMENTED]	= "packets_fragmented",
	[NF_PREFRAG_FRAGMENTS_SENT]	= "fragments_sent",
	[NF_PREFRAG_DF_CLEARED]		= "df_cleared",
	[NF_PREFRAG_IDS_RENEWED]	= "ids_renewed",
	[NF_PREFRAG_TRANSPORT_SKIPPED]	= "transport_mode_skipped",
	[NF_PREFRAG_ENCRYPTED_SKIPPED]	= "encrypted_skipped",
	[NF_PREFRAG_GSO_SEGMENTED]	= "gso_segmented",
	[NF_PREFRAG_TCP_SEGMENTED]	= "tcp_segmented",
	[NF_PREFRAG_ERRORS]		= "errors",
	[NF_PREFRAG_TOO_BIG_SENT]	= "icmp_too_big_sent",
	[NF_PREFRAG_TOO_BIG_LIMITED]	= "icmp_too_big_ratelimited",
};

/* NF_PREFRAG_REFUSED says why, per family. */
static const char *const nf_prefrag_refused_names[NF_PREFRAG_STATS_FAMILIES] = {
	[NF_PREFRAG_STATS_IPV4] = "df_rejected",	/* DF set */
	[NF_PREFRAG_STATS_IPV6] = "too_big_rejected",	/* only the source may cut */
};

static const char *const nf_prefrag_family_names[NF_PREFRAG_STATS_FAMILIES] = {
	[NF_PREFRAG_STATS_IPV4] = "ipv4",
	[NF_PREFRAG_STATS_IPV6] = "ipv6",
};

static struct nf_prefrag_stats_net *nf_prefrag_stats_pernet(struct net *net)
{
	return net_generic(net, nf_prefrag_stats_net_id);
}

void nf_prefrag_count(struct net *net, u8 family, enum nf_prefrag_counter c,
		      unsigned int n)
{
	struct nf_prefrag_stats __percpu *stats = nf_prefrag_stats_pernet(net)->stats;

	switch (family) {
	case NFPROTO_IPV4:
		this_cpu_add(stats->count[NF_PREFRAG_STATS_IPV4][c], n);
		break;
	case NFPROTO_IPV6:
		this_cpu_add(stats->count[NF_PREFRAG_STATS_IPV6][c], n);
		break;
	}
}
EXPORT_SYMBOL_GPL(nf_prefrag_count);

static int nf_prefrag_stats_show(struct seq_file *seq, void *v)
{
	struct nf_prefrag_stats_net *sn;
	int f, c, cpu;

	sn = nf_prefrag_stats_pernet(seq_file_single_net(seq));
	for (f = 0; f < NF_PREFRAG_STATS_FAMILIES; f++) {
		for (c = 0; c < __NF_PREFRAG_COUNTER_MAX; c++) {
			unsigned long sum = 0;

			for_each_possible_cpu(cpu)
				sum += per_cpu_ptr(sn->stats, cpu)->count[f][c];
			seq_printf(seq, "%s_%s %lu\n", nf_prefrag_family_names[f],
				   c == NF_PREFRAG_REFUSED ? nf_prefrag_refused_names[f] :
				   nf_prefrag_counter_names[c], sum);
		}
	}
	return 0;
}

static int __net_init nf_prefrag_stats_net_init(struct net *net)
{
	struct nf_prefrag_stats_net *sn = nf_prefrag_stats_pernet(net);

	sn->stats = alloc_percpu(struct nf_prefrag_stats);
	if (!sn->stats)
		return -ENOMEM;
	if (!proc_create_net_single("nf_prefrag", 0444, net->proc_net,
				    nf_prefrag_stats_show, NULL)) {
		free_percpu(sn->stats);
		return -ENOMEM;
	}
	return 0;
}

static void __net_exit nf_prefrag_stats_net_exit(struct net *net)
{
	remove_proc_entry("nf_prefrag", net->proc_net);
	free_percpu(nf_prefrag_stats_pernet(net)->stats);
}

static struct pernet_operations nf_prefrag_stats_net_ops = {
	.init	= nf_prefrag_stats_net_init,
	.exit	= nf_prefrag_stats_net_exit,
	.id	= &nf_prefrag_stats_net_id,
	.size	= sizeof(struct nf_prefrag_stats_net),
};

int nf_prefrag_stats_init(void)
{
	return register_pernet_subsys(&nf_prefrag_stats_net_ops);
}

void nf_prefrag_stats_exit(void)
{
	unregister_pernet_subsys(&nf_prefrag_stats_net_ops);
}
