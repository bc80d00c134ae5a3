/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Our statements into libnftables' batch on its way to the kernel, so that
 * a load is one transaction (see batch.c).
 */
#ifndef NFT_PREFRAG_BATCH_H
#define NFT_PREFRAG_BATCH_H

#include <stddef.h>
#include "statements.h"

/*
 * While armed, each placeholder in a batch libnftables sends becomes the
 * target of its statement in @stmts.  disarm: 0 if every statement went
 * into the batch exactly once (or nothing was sent), -1 otherwise.
 */
int batch_rewrite_arm(const struct statement *stmts, size_t n);
int batch_rewrite_disarm(void);

#endif
