/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * REJECT revision 1 (module xt_REJECT_MTU): every revision-0 reject type of
 * ipt_REJECT and ip6t_REJECT, plus "packet too big" carrying the MTU.
 * ABI shared by the kernel module and the iptables plugin.
 */
#ifndef _XT_REJECT_MTU_H
#define _XT_REJECT_MTU_H

#include <linux/types.h>

/*
 * Values of @with: enum ipt_reject_with (IPv4) or enum ip6t_reject_with
 * (IPv6), extended by one type each, right after their last one.
 */
#define XT_REJECT_IPV4_FRAG_NEEDED	9	/* ICMP 3/4, RFC 1191 MTU field */
#define XT_REJECT_IPV6_PKT_TOO_BIG	9	/* ICMPv6 2, RFC 8201 */

/*
 * In nft inet tables, whose rules see both families, @with also says whose
 * numbering its type is in, and the rule acts on that family's packets only.
 * In ip and ip6 tables neither bit is set.
 */
#define XT_REJECT_INET_IPV4		0x10000
#define XT_REJECT_INET_IPV6		0x20000
#define XT_REJECT_TYPE(with)		((with) & 0xffff)

#define XT_REJECT_MTU_AUTO		0	/* the MTU of the packet's route */
#define XT_REJECT_MTU_MIN_IPV4		68
#define XT_REJECT_MTU_MIN_IPV6		1280
#define XT_REJECT_MTU_MAX		65535
/* Linux senders raise any advertised MTU below this one and lock it. */
#define XT_REJECT_MTU_LINUX_FLOOR	552

struct xt_reject_info_v1 {
	__u32	with;	/* reject type, see above */
	__u32	mtu;	/* too-big types only: XT_REJECT_MTU_AUTO or an MTU;
			 * 0 for every other type
			 */
};

#endif /* _XT_REJECT_MTU_H */
