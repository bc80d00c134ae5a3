// SPDX-License-Identifier: GPL-2.0
/*
 * "mtu auto": the MTU of the packet's route.  For policy-based IPsec the
 * route is the bundle, whose MTU is the SA path's after ESP overhead.  A
 * route-based VPN routes to an xfrm interface or a VTI instead: the SA is
 * chosen only when that device transmits (xfrmi_xmit2(), vti_xmit()), by
 * the interface's if_id or the VTI's key as the mark, and both let an IPv4
 * packet without DF through even when it is larger than that SA's path,
 * whose ESP packet is then fragmented.  So through those devices "auto"
 * is the smaller of the device's MTU and the SA path's, found as they find
 * it.  Where no SA matches (none yet, an acquire pending), it is the
 * device's: the device then drops the packet itself.
 *
 * A rule's own MTU is capped by the route as the kernel sees it, the
 * device's: below that, the device keeps its own handling of DF packets
 * (its ICMP and the PMTU exception it records).
 */
#include <linux/netdevice.h>
#include <net/ip6_tunnel.h>
#include <net/ip_tunnels.h>
#include <net/route.h>
#include <net/xfrm.h>
#include "nf_prefrag.h"

/* The SA path of a route-based VPN device @dev for @skb; 0: none, or @dev
 * is not one.
 */
static unsigned int nf_prefrag_tunnel_mtu(struct sk_buff *skb,
					  const struct net_device *dev,
					  unsigned int family)
{
	const char *kind = dev->rtnl_link_ops ? dev->rtnl_link_ops->kind : "";
	struct dst_entry *dst = skb_dst(skb), *path;
	u32 if_id = 0, mark = 0;
	unsigned int mtu = 0;
	bool vti = true;
	struct net *net;
	struct flowi fl;
	int oif = 0;

	if (!strcmp(kind, "xfrm")) {
		const struct xfrm_if *xi = netdev_priv(dev);

		/* Its if_id comes with each packet: not known here. */
		if (nf_prefrag_xfrm_if_collect_md(xi))
			return 0;
		net = xi->net;
		if_id = xi->p.if_id;
		oif = xi->p.link;
		vti = false;
	} else if (!strcmp(kind, "vti")) {
		const struct ip_tunnel *t = netdev_priv(dev);

		net = t->net;
		mark = be32_to_cpu(t->parms.o_key);
	} else if (IS_ENABLED(CONFIG_IPV6) && !strcmp(kind, "vti6")) {
		const struct ip6_tnl *t = netdev_priv(dev);

		net = t->net;
		mark = be32_to_cpu(t->parms.o_key);
	} else {
		return 0;
	}
	if (nf_prefrag_xfrm_decode_session(net, skb, &fl, family))
		return 0;
	/* As the devices do after decoding: the link, or the key as mark. */
	if (vti)
		fl.flowi_mark = mark;
	else
		fl.flowi_oif = oif;
	dst_hold(dst);
	path = xfrm_lookup_with_ifid(net, dst, &fl, NULL, 0, if_id);
	if (IS_ERR(path))
		return 0;
	if (path != dst && path->xfrm)
		mtu = dst_mtu(path);
	dst_release(path);
	return mtu;
}

/* The MTU to act on: the rule's, never more than the route's; for
 * NF_PREFRAG_MTU_AUTO the route's, or the SA path's behind it when smaller.
 */
static unsigned int nf_prefrag_route_through(struct sk_buff *skb,
					     unsigned int mtu,
					     unsigned int rule_mtu,
					     unsigned int family)
{
	unsigned int path;

	if (rule_mtu != NF_PREFRAG_MTU_AUTO)
		return min(rule_mtu, mtu);
	path = nf_prefrag_tunnel_mtu(skb, skb_dst(skb)->dev, family);
	return path && path < mtu ? path : mtu;
}

/*
 * ip_skb_dst_mtu() answers with the device's MTU for sockets that do not
 * use the path MTU (PROBE, INTERFACE, OMIT): their packets would be cut
 * for the link, not for the tunnel.  Forwarded IPv4 packets keep
 * ip_forward()'s view of the route (ip_dst_mtu_maybe_forward()).
 */
unsigned int nf_prefrag_ipv4_mtu(struct sk_buff *skb, unsigned int rule_mtu)
{
	return nf_prefrag_route_through(skb, ip_skb_dst_mtu(NULL, skb),
					rule_mtu, AF_INET);
}
EXPORT_SYMBOL_GPL(nf_prefrag_ipv4_mtu);

/* Never below the minimum IPv6 MTU, whatever the rule says. */
unsigned int nf_prefrag_ipv6_mtu(struct sk_buff *skb, unsigned int rule_mtu)
{
	unsigned int mtu = nf_prefrag_route_through(skb, dst_mtu(skb_dst(skb)),
						    rule_mtu, AF_INET6);

	return max_t(unsigned int, mtu, IPV6_MIN_MTU);
}
EXPORT_SYMBOL_GPL(nf_prefrag_ipv6_mtu);
