/* SPDX-License-Identifier: GPL-2.0 */
#ifndef NF_PREFRAG_DOCTOR_CAPTURE_H
#define NF_PREFRAG_DOCTOR_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>

/* Text a command printed, NUL-terminated. */
struct text {
	char	*data;
	size_t	len;
};

/*
 * Run ARGV in the named network namespace (NULL: this one) and collect what
 * it prints on stdout; its stderr is discarded.  False when it could not be
 * run or did not exit 0 (OUT is then empty but valid).
 */
bool capture(const char *netns, const char *const argv[], struct text *out);

/* Read FILE as seen from the named network namespace (NULL: this one). */
bool capture_file(const char *netns, const char *file, struct text *out);

void text_free(struct text *t);

/* The next line of T after *POS (which starts at 0); NULL at the end. */
char *text_next_line(struct text *t, size_t *pos);

#endif
