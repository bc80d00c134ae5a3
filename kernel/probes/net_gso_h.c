// SPDX-License-Identifier: GPL-2.0
/* Is skb_gso_segment() declared in its own header? */
#include <net/gso.h>
