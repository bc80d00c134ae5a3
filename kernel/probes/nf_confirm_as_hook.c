// SPDX-License-Identifier: GPL-2.0
/* Does nf_confirm() have the nf_hookfn signature? */
#include <net/netfilter/nf_conntrack_core.h>

nf_hookfn *nf_prefrag_probe = nf_confirm;
