/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The plugins' guard against a libxtables that reads their option tables
 * with another layout than the one they were compiled with.
 *
 * iptables 1.8.11 appended a member (base) to struct xt_option_entry and
 * kept the soname, libxtables.so.12: a plugin built against 1.8.9 (Debian
 * 12) and loaded by 1.8.11 (Debian 13, after a dist-upgrade) has its table
 * read with the wrong stride, and iptables crashes in getopt_long().  The
 * same release added xtables_strtoul_base(), which tells the two apart at
 * run time.
 */
#ifndef NF_PREFRAG_OPTION_LAYOUT_H
#define NF_PREFRAG_OPTION_LAYOUT_H

#include <stddef.h>
#include <xtables.h>

/*
 * Before registering @targets: if the running libxtables reads option
 * tables with another layout, take their guided option tables away.  Rules
 * with these targets are then still listed and saved in full (printing
 * reads only the kernel's data), while a rule being added or restored is
 * refused with one line naming the package to install.
 */
void xt_option_layout_guard(struct xtables_target *targets, size_t n);

#endif /* NF_PREFRAG_OPTION_LAYOUT_H */
