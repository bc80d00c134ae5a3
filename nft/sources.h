/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The input of one load: the file (or command line) the user gave and every
 * file it includes, each with our statements replaced.  nft reads the
 * rewritten copies from files in memory (memfd, by their /proc/self/fd
 * names); the include directives name those, so our statements work in
 * included files too, and nft's errors can be mapped back to the user's
 * files, lines and columns.
 */
#ifndef NFT_PREFRAG_SOURCES_H
#define NFT_PREFRAG_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "statements.h"

struct source {
	char		*name;		/* as the user knows it */
	char		*text;		/* as the user wrote it */
	char		*path;		/* the rewritten copy nft reads */
	int		fd;		/* ...in memory */
	struct rewrite	rw;
};

struct sources {
	struct source	*v;		/* v[0]: the input itself */
	size_t		n;
	struct statement *stmts;	/* every file's statements, by index */
	size_t		nstmts;
	char		**include_dirs;	/* -I, then nft's default */
	size_t		ninclude;
	bool		input_error;	/* in our statements: printed */
};

/* All of @f, as a string; NULL on a read error. */
char *sources_read(FILE *f);

/* -I DIR, searched before nft's default for relative includes. */
int sources_add_include_dir(struct sources *s, const char *dir);

/*
 * Read @text (from @name) and what it includes, and rewrite them.  0, or
 * -1: s->input_error tells an error in our statements (printed) from any
 * other failure.
 */
int sources_prepare(struct sources *s, const char *name, const char *text);
void sources_free(struct sources *s);

/* Print nft's error messages, with the user's file names and columns. */
void sources_print_errors(const struct sources *s, const char *err);

#endif
