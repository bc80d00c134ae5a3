// SPDX-License-Identifier: GPL-2.0
/* The input files of a load, rewritten (see sources.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "sources.h"

/* nft's own limit on nested includes. */
#define INCLUDE_DEPTH_MAX	16
/* Where nft looks for relative includes after -I (Debian's build). */
#define NFT_DEFAULT_INCLUDE_DIR	"/etc"

char *sources_read(FILE *f)
{
	char *text = NULL;
	size_t len = 0;

	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = ferror(f) ? NULL : strdup("");	/* an empty file is one */
	}
	return text;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text;

	if (!f)
		return NULL;
	text = sources_read(f);
	fclose(f);
	return text;
}

/*
 * A file in memory holding @text, by a name libnftables can open: no
 * temporary file, so a read-only /tmp (early boot, a hardened unit) is no
 * matter.  NULL on failure.
 */
static char *memory_file(const char *text, int *fd)
{
	size_t len = strlen(text), done = 0;
	char *path;

	*fd = memfd_create("nft-prefrag", MFD_CLOEXEC);
	if (*fd < 0)
		return NULL;
	while (done < len) {
		ssize_t n = write(*fd, text + done, len - done);

		if (n <= 0)
			return NULL;
		done += n;
	}
	if (asprintf(&path, "/proc/self/fd/%d", *fd) < 0)
		return NULL;
	if (access(path, R_OK)) {
		fprintf(stderr, "nft-prefrag: %s: %s (is /proc mounted?)\n", path,
			strerror(errno));
		free(path);
		return NULL;
	}
	return path;
}

int sources_add_include_dir(struct sources *s, const char *dir)
{
	char **v = realloc(s->include_dirs, (s->ninclude + 1) * sizeof(*v));

	if (!v)
		return -1;
	s->include_dirs = v;
	v[s->ninclude] = strdup(dir);
	return v[s->ninclude++] ? 0 : -1;
}

/* nft searches the include directories unless the path says where it is. */
static bool searched(const char *pattern)
{
	return pattern[0] != '/' && strncmp(pattern, "./", 2) &&
	       strncmp(pattern, "../", 3);
}

/* The files @pattern names, as nft would find them (globbed, sorted). */
static int resolve(const struct sources *s, const char *pattern, glob_t *g)
{
	char path[4096];
	size_t i;

	if (!searched(pattern)) {
		int ret = glob(pattern, 0, NULL, g);

		if (ret)
			globfree(g);
		return ret;
	}
	for (i = 0; i <= s->ninclude; i++) {
		const char *dir = i < s->ninclude ? s->include_dirs[i] :
				  NFT_DEFAULT_INCLUDE_DIR;

		snprintf(path, sizeof(path), "%s/%s", dir, pattern);
		if (glob(path, 0, NULL, g) == 0)
			return 0;
		globfree(g);
	}
	return GLOB_NOMATCH;
}

static int add_statements(struct sources *s, const struct rewrite *rw)
{
	struct statement *v = realloc(s->stmts, (s->nstmts + rw->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	memcpy(v + s->nstmts, rw->stmts, rw->n * sizeof(*v));
	s->stmts = v;
	s->nstmts += rw->n;
	return 0;
}

static int prepare(struct sources *s, const char *name, char *text, int depth,
		   size_t *me);

/*
 * Rewrite each file @pattern names; *files gets the include directives
 * that name the copies, in nft's order (NULL: leave the include to nft,
 * which will say what is wrong).  -1: an error, printed.
 */
static int include(struct sources *s, const char *pattern, int depth, char **files)
{
	size_t i, me, len = 0;
	int ret = 0;
	FILE *out;
	glob_t g;

	*files = NULL;
	if (depth >= INCLUDE_DEPTH_MAX || resolve(s, pattern, &g))
		return 0;
	out = open_memstream(files, &len);
	for (i = 0; out && i < g.gl_pathc && !ret; i++) {
		const char *file = g.gl_pathv[i];
		struct stat st;
		char *text;

		if (stat(file, &st) || !S_ISREG(st.st_mode))
			continue;	/* nft says what is wrong with it */
		text = read_file(file);
		ret = text ? prepare(s, file, text, depth + 1, &me) : -1;
		/* nft includes a glob's files in this order: one by one alike */
		if (!ret)
			fprintf(out, "%sinclude \"%s\"", ftell(out) ? "; " : "",
				s->v[me].path);
	}
	globfree(&g);
	if (!out || fclose(out) || ret || !len) {
		free(*files);
		*files = NULL;
		return out ? ret : -1;
	}
	return 0;
}

/* Skip a "string" or a # comment at @p; NULL if @p is neither. */
static const char *skip_string_or_comment(const char *p)
{
	if (*p == '"') {
		for (p++; *p && *p != '"' && *p != '\n'; p++)
			;
		return *p == '"' ? p + 1 : p;
	}
	if (*p == '#')
		return strchrnul(p, '\n');
	return NULL;
}

/*
 * @text with each include "PATTERN" pointed at the rewritten copies of the
 * files it names.  -1 only when a file it names has an error in our syntax.
 */
static int redirect_includes(struct sources *s, const char *text, int depth,
			     char **out)
{
	const char *p = text, *copied = text;
	size_t len;
	int ret = 0;
	FILE *buf = open_memstream(out, &len);

	if (!buf)
		return -1;
	while (*p && !ret) {
		const char *next = skip_string_or_comment(p), *open, *close;
		char *pattern, *copy = NULL;

		if (next) {
			p = next;
			continue;
		}
		if (strncmp(p, "include", 7) || (p > text && !isspace((unsigned char)p[-1]) &&
						 !strchr(";{}", p[-1]))) {
			p++;
			continue;
		}
		for (open = p + 7; *open == ' ' || *open == '\t'; open++)
			;
		if (open == p + 7 || *open != '"' || !(close = strchr(open + 1, '"'))) {
			p++;
			continue;
		}
		pattern = strndup(open + 1, close - open - 1);
		ret = pattern ? include(s, pattern, depth, &copy) : -1;
		free(pattern);
		if (copy) {
			fwrite(copied, 1, p - copied, buf);
			fputs(copy, buf);
			copied = close + 1;
			free(copy);
		}
		p = close + 1;
	}
	fputs(copied, buf);
	if (fclose(buf) || ret) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Rewrite @text (read from @name; taken over) into v[*me]. */
static int prepare(struct sources *s, const char *name, char *text, int depth,
		   size_t *me)
{
	struct source *v = realloc(s->v, (s->n + 1) * sizeof(*v));
	char *final = NULL;
	size_t i = s->n;

	if (!v) {
		free(text);
		return -1;
	}
	/* Included files are added after this one: s->v may move, @i stays. */
	*me = i;
	s->v = v;
	s->n++;
	memset(&v[i], 0, sizeof(v[i]));
	v[i].fd = -1;
	v[i].name = strdup(name);
	v[i].text = text;
	if (!v[i].name)
		return -1;
	if (statements_rewrite(name, text, s->nstmts, &v[i].rw)) {
		s->input_error = true;
		return -1;
	}
	if (add_statements(s, &v[i].rw) ||
	    redirect_includes(s, s->v[i].rw.text, depth, &final))
		return -1;
	s->v[i].path = memory_file(final, &s->v[i].fd);
	free(final);
	return s->v[i].path ? 0 : -1;
}

int sources_prepare(struct sources *s, const char *name, const char *text)
{
	char *copy = strdup(text);
	size_t me;

	return copy ? prepare(s, name, copy, 0, &me) : -1;
}

void sources_free(struct sources *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->v[i].fd >= 0)
			close(s->v[i].fd);
		free(s->v[i].name);
		free(s->v[i].text);
		free(s->v[i].path);
		rewrite_free(&s->v[i].rw);
	}
	for (i = 0; i < s->ninclude; i++)
		free(s->include_dirs[i]);
	free(s->include_dirs);
	free(s->v);
	free(s->stmts);
	memset(s, 0, sizeof(*s));
}

static const struct source *source_at(const struct sources *s, const char *path,
				      size_t len)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].path && strlen(s->v[i].path) == len &&
		    strncmp(s->v[i].path, path, len) == 0)
			return &s->v[i];
	return NULL;
}

/*
 * "PATH:LINE:COL-COL: Error: MSG" for a rewritten copy: the user's file,
 * and the columns the placeholders moved (their length differs from the
 * statements').  An error on one of ours shows all of it.
 */
static void print_error(const struct source *src, unsigned int l, unsigned int c1,
			unsigned int c2, const char *msg)
{
	const struct rewrite *rw = &src->rw;
	int shift = 0;
	size_t i;

	for (i = 0; i < rw->n; i++) {
		const struct statement *st = &rw->stmts[i];

		if (st->line == l && (int)st->col - shift < (int)c1)
			shift += (int)st->len - (int)st->placeholder_len;
	}
	for (i = 0; i < rw->n; i++)
		if (rw->stmts[i].line == l && rw->stmts[i].col == c1 + shift)
			c2 = c1 + rw->stmts[i].len - 1;
	statements_error(src->name, src->text, l, c1 + shift,
			 c2 >= c1 ? c2 - c1 + 1 : 1, msg);
}

void sources_print_errors(const struct sources *s, const char *err)
{
	static const char included[] = "In file included from ";
	const char *line, *next;

	for (line = err; *line; line = next) {
		const char *end = strchrnul(line, '\n'), *path = line, *colon;
		const struct source *src;
		unsigned int l, c1, c2;
		bool inc = strncmp(line, included, strlen(included)) == 0;
		char *msg;

		next = *end ? end + 1 : end;
		if (inc)
			path += strlen(included);
		colon = strchr(path, ':');
		if (!colon || colon > end ||
		    sscanf(colon, ":%u:%u-%u:", &l, &c1, &c2) != 3 ||
		    !(src = source_at(s, path, colon - path))) {
			/* nft's copy of the line and its carets: ours follow */
			if (!strstr(line, ": Error: ") || strstr(line, ": Error: ") > end)
				continue;
			fprintf(stderr, "%.*s\n", (int)(end - line), line);
			continue;
		}
		if (inc) {
			fprintf(stderr, "%s%s:%u:%u-%u:\n", included, src->name, l, c1, c2);
			continue;
		}
		msg = strstr(line, ": Error: ");
		if (!msg || msg > end)
			continue;
		msg += strlen(": Error: ");
		msg = strndup(msg, end - msg);
		print_error(src, l, c1, c2, msg ? msg : "");
		free(msg);
	}
}
