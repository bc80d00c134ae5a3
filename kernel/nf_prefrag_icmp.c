// SPDX-License-Identifier: GPL-2.0
/*
 * nf_prefrag core: "fragmentation needed" / "packet too big" with the MTU,
 * behind a per-netns token bucket.  The kernel exempts these errors from
 * its own ICMP rate limit (they are normally rare and vital), but a rule
 * that answers every oversized packet would turn a flood of them into a
 * flood of ICMP.
 *
 * Tunables, per netns: net.netfilter.nf_prefrag_icmp_rate (errors per
 * second, 0: no limit) and net.netfilter.nf_prefrag_icmp_burst.
 */
#include <linux/icmpv6.h>
#include <linux/jiffies.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/sysctl.h>
#include <net/icmp.h>
#include <net/ipv6.h>
#include <net/netns/generic.h>
#include "nf_prefrag_internal.h"

/* Per-netns token bucket for the ICMP errors we send. */
struct nf_prefrag_icmp_limit {
	spinlock_t		lock;		/* guards last and credit */
	unsigned long		last;		/* jiffies of the last refill */
	u64			credit;		/* tokens * HZ */
	int			rate;		/* sysctl: per second, 0: none */
	int			burst;		/* sysctl */
	struct ctl_table_header	*sysctl;
};

static unsigned int nf_prefrag_icmp_net_id __read_mostly;

static struct nf_prefrag_icmp_limit *nf_prefrag_icmp_limit_of(struct net *net)
{
	return net_generic(net, nf_prefrag_icmp_net_id);
}

/* As the kernel's own defaults for ICMP (icmp_msgs_per_sec, _burst). */
#define NF_PREFRAG_ICMP_RATE	1000
#define NF_PREFRAG_ICMP_BURST	50

static bool nf_prefrag_icmp_allow(struct net *net)
{
	struct nf_prefrag_icmp_limit *l = nf_prefrag_icmp_limit_of(net);
	int rate = READ_ONCE(l->rate);
	unsigned long now, elapsed;
	bool allow = false;
	u64 cap;

	if (rate <= 0)
		return true;
	cap = (u64)max(READ_ONCE(l->burst), 1) * HZ;

	spin_lock_bh(&l->lock);
	now = jiffies;
	/* Bounded first, by the time an empty bucket takes to fill: elapsed *
	 * rate then stays below cap + rate, whatever the sysctls hold.
	 */
	elapsed = min_t(u64, now - l->last, div_u64(cap, rate) + 1);
	l->credit = min_t(u64, cap, l->credit + (u64)elapsed * rate);
	l->last = now;
	if (l->credit >= HZ) {
		l->credit -= HZ;
		allow = true;
	}
	spin_unlock_bh(&l->lock);
	return allow;
}

static bool nf_prefrag_icmp_take(struct net *net, u8 family)
{
	if (nf_prefrag_icmp_allow(net)) {
		nf_prefrag_count(net, family, NF_PREFRAG_TOO_BIG_SENT, 1);
		return true;
	}
	nf_prefrag_count(net, family, NF_PREFRAG_TOO_BIG_LIMITED, 1);
	return false;
}

void nf_prefrag_ipv4_send_too_big(struct sk_buff *skb, struct net *net,
				  unsigned int mtu)
{
	/* icmp_send() would not answer these: spend no token on them. */
	if (ip_hdr(skb)->frag_off & htons(IP_OFFSET) || !skb_rtable(skb))
		return;
	if (nf_prefrag_icmp_take(net, NFPROTO_IPV4))
		icmp_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, htonl(mtu));
}
EXPORT_SYMBOL_GPL(nf_prefrag_ipv4_send_too_big);

#if IS_ENABLED(CONFIG_IPV6)
void nf_prefrag_ipv6_send_too_big(struct sk_buff *skb, struct net *net,
				  unsigned int mtu)
{
	/* Local packets have no device before POSTROUTING, and icmp6_send()
	 * would not answer them (as nf_send_unreach6() does).
	 */
	if (!skb->dev)
		skb->dev = net->loopback_dev;
	if (nf_prefrag_icmp_take(net, NFPROTO_IPV6))
		icmpv6_send(skb, ICMPV6_PKT_TOOBIG, 0,
			    max_t(unsigned int, mtu, IPV6_MIN_MTU));
}
EXPORT_SYMBOL_GPL(nf_prefrag_ipv6_send_too_big);
#endif

static const struct ctl_table nf_prefrag_icmp_sysctl_template[] = {
	{
		.procname	= "nf_prefrag_icmp_rate",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
	},
	{
		.procname	= "nf_prefrag_icmp_burst",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ONE,
	},
	{ }
};

static int __net_init nf_prefrag_icmp_net_init(struct net *net)
{
	struct nf_prefrag_icmp_limit *l = nf_prefrag_icmp_limit_of(net);
	struct ctl_table *table;
	size_t entries;

	spin_lock_init(&l->lock);
	l->rate = NF_PREFRAG_ICMP_RATE;
	l->burst = NF_PREFRAG_ICMP_BURST;
	l->credit = (u64)l->burst * HZ;
	l->last = jiffies;

	table = kmemdup(nf_prefrag_icmp_sysctl_template,
			sizeof(nf_prefrag_icmp_sysctl_template), GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	table[0].data = &l->rate;
	table[1].data = &l->burst;
	/* The template's sentinel is not an entry. */
	entries = ARRAY_SIZE(nf_prefrag_icmp_sysctl_template) - 1;
	l->sysctl = nf_prefrag_register_net_sysctl(net, "net/netfilter", table,
						   entries);
	if (!l->sysctl) {
		kfree(table);
		return -ENOMEM;
	}
	return 0;
}

static void __net_exit nf_prefrag_icmp_net_exit(struct net *net)
{
	struct nf_prefrag_icmp_limit *l = nf_prefrag_icmp_limit_of(net);
	const struct ctl_table *table = l->sysctl->ctl_table_arg;

	unregister_net_sysctl_table(l->sysctl);
	kfree(table);
}

static struct pernet_operations nf_prefrag_icmp_net_ops = {
	.init	= nf_prefrag_icmp_net_init,
	.exit	= nf_prefrag_icmp_net_exit,
	.id	= &nf_prefrag_icmp_net_id,
	.size	= sizeof(struct nf_prefrag_icmp_limit),
};

int nf_prefrag_icmp_init(void)
{
	return register_pernet_subsys(&nf_prefrag_icmp_net_ops);
}

void nf_prefrag_icmp_exit(void)
{
	unregister_pernet_subsys(&nf_prefrag_icmp_net_ops);
}
