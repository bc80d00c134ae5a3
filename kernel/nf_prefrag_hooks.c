// SPDX-License-Identifier: GPL-2.0
/*
 * nf_prefrag core: the per-netns POSTROUTING hooks that cut what rules
 * marked, registered only while rules need them (counted as nf_defrag
 * counts its users).
 */
#include <linux/mutex.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/netns/generic.h>
#include "nf_prefrag_internal.h"

#define NF_PREFRAG_NUM_FAMILIES	2	/* ipv4, ipv6 */

struct nf_prefrag_hooks_net {
	unsigned int	users[NF_PREFRAG_NUM_FAMILIES];
};

static unsigned int nf_prefrag_hooks_net_id __read_mostly;
static DEFINE_MUTEX(nf_prefrag_hooks_mutex);

/*
 * Last in POSTROUTING, after NAT (100), helpers (300) and SELinux, just
 * before conntrack confirmation, which the hooks perform themselves for the
 * packets they steal.
 */
static const struct nf_hook_ops nf_prefrag_hook_ops[NF_PREFRAG_NUM_FAMILIES] = {
	{
		.hook		= nf_prefrag_ipv4_out,
		.pf		= NFPROTO_IPV4,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= NF_IP_PRI_CONNTRACK_CONFIRM - 1,
	},
#if IS_ENABLED(CONFIG_IPV6)
	{
		.hook		= nf_prefrag_ipv6_out,
		.pf		= NFPROTO_IPV6,
		.hooknum	= NF_INET_POST_ROUTING,
		.priority	= NF_IP6_PRI_LAST - 1,
	},
#endif
};

static struct nf_prefrag_hooks_net *nf_prefrag_hooks_pernet(struct net *net)
{
	return net_generic(net, nf_prefrag_hooks_net_id);
}

/* The hook's index, or -1 for a family without one here. */
static int nf_prefrag_hook_index(u8 family)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(nf_prefrag_hook_ops); i++)
		if (nf_prefrag_hook_ops[i].pf == family)
			return i;
	return -1;
}

int nf_prefrag_hook_get(struct net *net, u8 family)
{
	struct nf_prefrag_hooks_net *hn = nf_prefrag_hooks_pernet(net);
	int i = nf_prefrag_hook_index(family);
	int err = 0;

	if (family == NFPROTO_INET) {	/* nft inet tables: both */
		err = nf_prefrag_hook_get(net, NFPROTO_IPV4);
		if (err || !IS_ENABLED(CONFIG_IPV6))
			return err;
		err = nf_prefrag_hook_get(net, NFPROTO_IPV6);
		if (err)
			nf_prefrag_hook_put(net, NFPROTO_IPV4);
		return err;
	}
	if (i < 0)
		return -EAFNOSUPPORT;

	mutex_lock(&nf_prefrag_hooks_mutex);
	if (hn->users[i] == UINT_MAX) {
		err = -EOVERFLOW;
		goto out_unlock;
	}
	if (hn->users[i] == 0) {
		err = nf_register_net_hook(net, &nf_prefrag_hook_ops[i]);
		if (err)
			goto out_unlock;
	}
	hn->users[i]++;
out_unlock:
	mutex_unlock(&nf_prefrag_hooks_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(nf_prefrag_hook_get);

void nf_prefrag_hook_put(struct net *net, u8 family)
{
	struct nf_prefrag_hooks_net *hn = nf_prefrag_hooks_pernet(net);
	int i = nf_prefrag_hook_index(family);

	if (family == NFPROTO_INET) {
		nf_prefrag_hook_put(net, NFPROTO_IPV4);
		if (IS_ENABLED(CONFIG_IPV6))
			nf_prefrag_hook_put(net, NFPROTO_IPV6);
		return;
	}
	if (i < 0)
		return;

	mutex_lock(&nf_prefrag_hooks_mutex);
	/* Zero when the netns went away before the tables holding the rules. */
	if (hn->users[i] && --hn->users[i] == 0)
		nf_unregister_net_hook(net, &nf_prefrag_hook_ops[i]);
	mutex_unlock(&nf_prefrag_hooks_mutex);
}
EXPORT_SYMBOL_GPL(nf_prefrag_hook_put);

static void __net_exit nf_prefrag_hooks_net_exit(struct net *net)
{
	struct nf_prefrag_hooks_net *hn = nf_prefrag_hooks_pernet(net);
	int i;

	mutex_lock(&nf_prefrag_hooks_mutex);
	for (i = 0; i < ARRAY_SIZE(nf_prefrag_hook_ops); i++) {
		if (hn->users[i]) {
			nf_unregister_net_hook(net, &nf_prefrag_hook_ops[i]);
			hn->users[i] = 0;
		}
	}
	mutex_unlock(&nf_prefrag_hooks_mutex);
}

static struct pernet_operations nf_prefrag_hooks_net_ops = {
	.exit	= nf_prefrag_hooks_net_exit,
	.id	= &nf_prefrag_hooks_net_id,
	.size	= sizeof(struct nf_prefrag_hooks_net),
};

int nf_prefrag_hooks_init(void)
{
	return register_pernet_subsys(&nf_prefrag_hooks_net_ops);
}

void nf_prefrag_hooks_exit(void)
{
	unregister_pernet_subsys(&nf_prefrag_hooks_net_ops);
}
