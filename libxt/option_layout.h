/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The plugins' option tables in the layout the running libxtables reads.
 *
 * iptables 1.8.11 appended a member (base) to struct xt_option_entry and
 * kept the soname, libxtables.so.12: a plugin built against 1.8.9 (Debian
 * 12) and loaded by 1.8.11 (Debian 13, after a dist-upgrade) had its table
 * read with the wrong stride, and iptables crashed in getopt_long().  The
 * same release added xtables_strtoul_base(), which tells the two layouts
 * apart at run time.
 */
#ifndef NF_PREFRAG_OPTION_LAYOUT_H
#define NF_PREFRAG_OPTION_LAYOUT_H

#include <stddef.h>
#include <xtables.h>

/*
 * Before registering @targets: if the running libxtables lays out struct
 * xt_option_entry otherwise than the xtables.h this plugin was compiled
 * with, give each target a copy of its option table in the library's
 * layout.  Every member but base sits at the same offset in both, so the
 * plugins' own callbacks read the copy as they would their table.
 */
void xt_option_layout_adapt(struct xtables_target *targets, size_t n);

#endif /* NF_PREFRAG_OPTION_LAYOUT_H */
