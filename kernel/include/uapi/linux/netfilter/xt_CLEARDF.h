/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * CLEARDF target: clear the Don't Fragment bit and give the packet a fresh
 * IP ID.  ABI shared by the kernel module and the iptables plugin.
 */
#ifndef _XT_CLEARDF_H
#define _XT_CLEARDF_H

#include <linux/types.h>

/* A fresh IP ID for every packet touched, DF set or not (pf's random-id). */
#define XT_CLEARDF_RANDOM_ID	0x01
#define XT_CLEARDF_FLAGS	XT_CLEARDF_RANDOM_ID

struct xt_cleardf_info {
	__u16	min_len;	/* only packets of at least this many bytes */
	__u8	flags;		/* XT_CLEARDF_* */
	__u8	reserved;	/* must be 0 */
};

#endif /* _XT_CLEARDF_H */
