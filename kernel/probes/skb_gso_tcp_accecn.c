// SPDX-License-Identifier: GPL-2.0
/* Can a GSO packet say that every segment keeps CWR (AccECN's ACE)? */
#include <linux/skbuff.h>

int nf_prefrag_probe(void);
int nf_prefrag_probe(void)
{
	return SKB_GSO_TCP_ACCECN;
}
