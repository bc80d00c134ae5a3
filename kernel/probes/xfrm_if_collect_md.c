// SPDX-License-Identifier: GPL-2.0
/* Can an xfrm interface take its if_id from each packet (collect_md)? */
#include <linux/stddef.h>
#include <net/xfrm.h>

int nf_prefrag_probe = offsetof(struct xfrm_if_parms, collect_md);
