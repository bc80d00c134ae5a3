/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel API difference nf-prefrag has to bridge, and nowhere else.
 *
 * Decided at compile time by probing the target kernel's headers
 * (the files in probes/, compiled by Kbuild into compat-probed.h), never
 * by version numbers: stable series change netfilter APIs mid-series.
 */
#ifndef _NF_PREFRAG_COMPAT_H
#define _NF_PREFRAG_COMPAT_H

#include <linux/netfilter.h>
#include <linux/netfilter_ipv6.h>
#include <linux/netdevice.h>
#include <linux/sysctl.h>
#include <net/ip6_route.h>
#include <net/net_namespace.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_core.h>
#include <net/tcp.h>
#include <net/xfrm.h>
#include "compat-probed.h"

/* skb_gso_segment() moved out of netdevice.h (6.4). */
#ifdef NF_PREFRAG_HAVE_NET_GSO_H
#include <net/gso.h>
#endif

/*
 * Confirm the conntrack entry of a packet we are about to steal, as the
 * confirm hook would have done: helpers, sequence adjustment, confirmation.
 * nf_confirm() became a hook function itself in 6.5.
 */
static inline unsigned int
nf_prefrag_ct_confirm(struct sk_buff *skb, unsigned int protoff,
		      const struct nf_hook_state *state)
{
#ifdef NF_PREFRAG_HAVE_NF_CONFIRM_AS_HOOK
	return nf_confirm(NULL, skb, state);
#else
	enum ip_conntrack_info ctinfo;
	struct nf_conn *ct = nf_ct_get(skb, &ctinfo);

	if (!ct || ctinfo == IP_CT_RELATED_REPLY)
		return nf_conntrack_confirm(skb);
	/* As ipv4_confirm(): a VRF's first pass leaves it to the second. */
#if IS_ENABLED(CONFIG_NET_L3_MASTER_DEV)
	if (state->hook == NF_INET_POST_ROUTING && netif_is_l3_master(state->out))
		return NF_ACCEPT;
#endif
	return nf_confirm(skb, protoff, ct, ctinfo);
#endif
}

/*
 * Netns sysctl tables: registered with their size (without the sentinel)
 * since 6.6, terminated by an empty entry before.  @table has both.
 */
static inline struct ctl_table_header *
nf_prefrag_register_net_sysctl(struct net *net, const char *path,
			       struct ctl_table *table, size_t entries)
{
#ifdef NF_PREFRAG_HAVE_REGISTER_NET_SYSCTL_SZ
	return register_net_sysctl_sz(net, path, table, entries);
#else
	return register_net_sysctl(net, path, table);
#endif
}

/*
 * ip6_fragment() (it cuts to IP6CB(skb)->frag_max_size when set): reached
 * through nf_ipv6_ops while IPv6 could be a module, exported directly
 * since nf_ipv6_ops was removed.
 */
static inline int
nf_prefrag_ip6_fragment(struct net *net, struct sock *sk, struct sk_buff *skb,
			int (*output)(struct net *, struct sock *, struct sk_buff *))
{
#ifdef NF_PREFRAG_HAVE_NF_IPV6_OPS
	const struct nf_ipv6_ops *v6ops;
	int err = -EAFNOSUPPORT;

	rcu_read_lock();
	v6ops = nf_get_ipv6_ops();
	if (v6ops && v6ops->fragment)
		err = v6ops->fragment(net, sk, skb, output);
	else
		kfree_skb(skb);
	rcu_read_unlock();
	return err;
#else
	return ip6_fragment(net, sk, skb, output);
#endif
}

/*
 * The GSO type of a re-segmented TCP packet whose first segment has CWR.
 * Since AccECN (6.18), SKB_GSO_TCP_ACCECN keeps CWR on every segment, as
 * GRO does for what it receives: CWR is part of AccECN's ACE counter.
 * Before, tcp_gso_segment() clears it on all but the first, whatever the
 * type says.
 */
#ifdef NF_PREFRAG_HAVE_SKB_GSO_TCP_ACCECN
#define NF_PREFRAG_GSO_TCP_CWR	SKB_GSO_TCP_ACCECN
#else
#define NF_PREFRAG_GSO_TCP_CWR	SKB_GSO_TCP_ECN
#endif

/* xfrm_decode_session() takes the network namespace since 6.8. */
static inline int nf_prefrag_xfrm_decode_session(struct net *net,
						 struct sk_buff *skb,
						 struct flowi *fl,
						 unsigned int family)
{
#ifdef NF_PREFRAG_HAVE_XFRM_DECODE_SESSION_NET
	return xfrm_decode_session(net, skb, fl, family);
#else
	return xfrm_decode_session(skb, fl, family);
#endif
}

/*
 * An xfrm interface in collect_md mode (6.2, and some 6.1.y) takes its
 * if_id from each packet's metadata, not from its parameters.
 */
static inline bool nf_prefrag_xfrm_if_collect_md(const struct xfrm_if *xi)
{
#ifdef NF_PREFRAG_HAVE_XFRM_IF_COLLECT_MD
	return xi->p.collect_md;
#else
	return false;
#endif
}

/* RFC 5925's TCP-AO option: named by the kernel since TCP-AO (6.7). */
#ifndef TCPOPT_AO
#define TCPOPT_AO	29
#endif

#endif /* _NF_PREFRAG_COMPAT_H */
