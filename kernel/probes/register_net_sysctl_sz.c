// SPDX-License-Identifier: GPL-2.0
/* Does registering a netns sysctl table take its size (6.6)? */
#include <linux/sysctl.h>
#include <net/net_namespace.h>

struct ctl_table_header *probe(struct net *net, struct ctl_table *table);
struct ctl_table_header *probe(struct net *net, struct ctl_table *table)
{
	return register_net_sysctl_sz(net, "net", table, 1);
}
