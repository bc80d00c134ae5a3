/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * PREFRAG target: fragment oversized IP packets before IPsec encrypts them.
 * ABI shared by the kernel module and the iptables plugin.
 */
#ifndef _XT_PREFRAG_H
#define _XT_PREFRAG_H

#include <linux/types.h>

/* What to do with a packet that has DF set and does not fit. */
enum xt_prefrag_df_policy {
	XT_PREFRAG_DF_REJECT	= 0,	/* ICMP "fragmentation needed", drop */
	XT_PREFRAG_DF_KEEP	= 1,	/* leave it to the kernel */
	XT_PREFRAG_DF_CLEAR	= 2,	/* clear DF, fresh IP ID, fragment */
	__XT_PREFRAG_DF_MAX
};

#define XT_PREFRAG_MTU_AUTO	0	/* the MTU of the route it leaves by */
#define XT_PREFRAG_MTU_MIN	68	/* RFC 791: every host takes 68 bytes */
#define XT_PREFRAG_MTU_MIN_IPV6	1280	/* RFC 8200 */
#define XT_PREFRAG_MTU_MAX	65535

/* TCP too big is re-segmented to fit, not fragmented (DF kept). */
#define XT_PREFRAG_TCP_SEGMENT	0x01
#define XT_PREFRAG_FLAGS_ALL	XT_PREFRAG_TCP_SEGMENT

struct xt_prefrag_info {
	__u16	mtu;		/* XT_PREFRAG_MTU_AUTO or MIN..MAX */
	__u8	df_policy;	/* enum xt_prefrag_df_policy; IPv6: 0 */
	__u8	flags;		/* XT_PREFRAG_* flags */
};

#endif /* _XT_PREFRAG_H */
