/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nft's JSON (nft -j) with our statements, both ways.  In a rule's "expr"
 * array:
 *
 *   {"prefrag": {"mtu": "auto"|N, "df": "reject"|"keep"|"clear",
 *                "tcp": "fragment"|"segment"}}       df, tcp: optional
 *   {"cleardf": {"min-len": N, "random-id": true}}   both optional; or null
 *   {"reject": {"type": "icmp", "expr": "frag-needed", "mtu": "auto"|N}}
 *   {"reject": {"type": "icmpv6", "expr": "too-big", "mtu": "auto"|N}}
 *
 * as libnftables writes its own statements: the statement's words as keys,
 * defaults left out.  A reject without "mtu" is nft's own.
 */
#ifndef NFT_PREFRAG_JSON_H
#define NFT_PREFRAG_JSON_H

#include <stddef.h>
#include "statements.h"

/*
 * Replace our statements in the JSON input @in (read from @name) by
 * placeholders (statements.h).  0: *out is the document to give nft, with
 * @rw's statements numbered from 0.  1: @in holds none of ours (or is not
 * JSON: nft will say what is wrong); -1 after printing an error.
 */
int json_rewrite(const char *name, const char *in, char **out,
		 struct rewrite *rw);

/*
 * nft's JSON output @out, each of our targets written as its statement
 * (their info read from the kernel's rules); NULL if nothing was ours.
 */
char *json_annotate(const char *out);

#endif
