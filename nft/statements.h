/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nf-prefrag's nft statements: finding them in nft syntax, and the xtables
 * target each one becomes.
 *
 *   prefrag mtu auto|N [df reject|keep|clear]
 *   cleardf [min-len N] [random-id]
 *   reject with icmp frag-needed mtu auto|N
 *   reject with icmpv6 too-big mtu auto|N
 *
 * Stock nft cannot parse these, so each is replaced by a placeholder that
 * it can, which becomes the target in the batch nft sends (batch.c).  nft's
 * own "reject with icmp frag-needed" (no "mtu") is left alone.
 */
#ifndef NFT_PREFRAG_STATEMENTS_H
#define NFT_PREFRAG_STATEMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * "counter packets PLACEHOLDER_MAGIC bytes INDEX": one expression that nft
 * accepts wherever a statement may stand, and that carries which of our
 * statements it stands for.  No counter starts at that many packets.
 */
#define PLACEHOLDER_MAGIC	0x4e465f5052454652ULL	/* "NF_PREFR" */
#define PLACEHOLDER_FMT		"counter packets %llu bytes %zu"
#define PLACEHOLDER_MAX		64

struct statement {
	const char	*target;	/* xtables target name */
	uint32_t	revision;
	uint8_t		info[8];	/* the target's info, as the kernel takes it */
	size_t		info_len;
	int		family;		/* REJECT: NFPROTO_IPV4/IPV6 type; else 0 */
	unsigned int	line, col, len;	/* where it stood in the input */
	unsigned int	placeholder_len;	/* what stands there now */
};

struct rewrite {
	char		*text;		/* the input, statements replaced */
	struct statement *stmts;	/* in the order they appear */
	size_t		n;
};

/*
 * Find our statements in @in (nft syntax, as read from @name) and replace
 * them, numbering their placeholders from @first.  On a syntax error,
 * prints it like nft (file:line:col, the line, carets) and returns -1.
 */
int statements_rewrite(const char *name, const char *in, size_t first,
		       struct rewrite *out);
void rewrite_free(struct rewrite *rw);

/*
 * Why @st cannot stand in a rule of a @family table (NFPROTO_*;
 * NFPROTO_UNSPEC when the input does not say), in a chain on the input
 * hook if @input_hook: the kernel's own refusals, said before it sees
 * them.  NULL if nothing is wrong.
 */
const char *statement_refusal(const struct statement *st, int family,
			      bool input_hook);

/* The family of nft's word for it (ip, ip6, inet...); NFPROTO_UNSPEC if none. */
int statement_family_of(const char *word);

/*
 * The statement an xtables target in a kernel rule of a @family table
 * stands for, if it is one of ours: 0, or -1 (another target, or info
 * of a size or content we do not know).
 */
int statement_from_target(const char *name, uint32_t revision, const void *info,
			  size_t len, int family, struct statement *st);

/* Print an error about @in at line/col/len, in nft's format. */
void statements_error(const char *name, const char *in, unsigned int line,
		      unsigned int col, unsigned int len, const char *msg);

#endif
