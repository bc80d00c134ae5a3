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

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(text, f) < 0 ? -1 : 0;
	if (fclose(f))
		ret = -1;
	return ret;
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

static int prepare(struct sources *s, const char *name, char *text,
		   const char *path, int depth);

/*
 * Rewrite each file @pattern names into a directory of its own; *copy gets
 * the pattern that names those copies (NULL: leave the include to nft,
 * which will say what is wrong).  -1: an error in our syntax, printed.
 */
static int include(struct sources *s, const char *pattern, int depth, char **copy)
{
	const char *base = strrchr(pattern, '/');
	char *dir = NULL;
	int ret = 0;
	glob_t g;
	size_t i;

	*copy = NULL;
	if (depth >= INCLUDE_DEPTH_MAX || resolve(s, pattern, &g))
		return 0;
	if (asprintf(&dir, "%s/%zu", s->dir, s->n) < 0 || mkdir(dir, 0700)) {
		ret = -1;
		goto out;
	}
	for (i = 0; i < g.gl_pathc && !ret; i++) {
		const char *file = g.gl_pathv[i], *slash = strrchr(file, '/');
		char *text, *path;
		struct stat st;

		if (stat(file, &st) || !S_ISREG(st.st_mode))
			continue;	/* nft says what is wrong with it */
		text = read_file(file);
		if (!text || asprintf(&path, "%s/%s", dir, slash ? slash + 1 : file) < 0) {
			free(text);
			ret = -1;
			break;
		}
		ret = prepare(s, file, text, path, depth + 1);
		free(path);
	}
	if (!ret && asprintf(copy, "%s/%s", dir, base ? base + 1 : pattern) < 0) {
		*copy = NULL;
		ret = -1;
	}
out:
	globfree(&g);
	free(dir);
	return ret;
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
		p = close + 1;
		if (copy) {
			fwrite(copied, 1, open + 1 - copied, buf);
			fputs(copy, buf);
			copied = close;
			free(copy);
		}
	}
	fputs(copied, buf);
	if (fclose(buf) || ret) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Rewrite @text (read from @name; taken over) into @path. */
static int prepare(struct sources *s, const char *name, char *text,
		   const char *path, int depth)
{
	struct source *v = realloc(s->v, (s->n + 1) * sizeof(*v));
	/* Included files are added after this one: s->v may move, @me stays. */
	size_t me = s->n;
	char *final = NULL;

	if (!v) {
		free(text);
		return -1;
	}
	s->v = v;
	s->n++;
	memset(&v[me], 0, sizeof(v[me]));
	v[me].name = strdup(name);
	v[me].text = text;
	if (!v[me].name || statements_rewrite(name, text, s->nstmts, &v[me].rw) ||
	    add_statements(s, &v[me].rw))
		return -1;	/* its path stays NULL: the error was printed */
	if (redirect_includes(s, s->v[me].rw.text, depth, &final) ||
	    write_file(path, final)) {
		free(final);
		return -1;
	}
	free(final);
	s->v[me].path = strdup(path);
	return s->v[me].path ? 0 : -1;
}

int sources_prepare(struct sources *s, const char *name, const char *text)
{
	const char *tmpdir = getenv("TMPDIR");
	char *tmpl = NULL, *path = NULL, *copy = strdup(text);
	int ret;

	/* TMPDIR: nftables.service runs us before /tmp may be writable. */
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	if (!copy || asprintf(&tmpl, "%s/nft-prefrag.XXXXXX", tmpdir) < 0) {
		free(copy);
		return -1;
	}
	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "nft-prefrag: cannot make a temporary directory in %s: %s\n",
			tmpdir, strerror(errno));
		free(tmpl);
		free(copy);
		return -1;
	}
	s->dir = tmpl;
	if (asprintf(&path, "%s/input.nft", s->dir) < 0) {
		free(copy);
		return -1;
	}
	ret = prepare(s, name, copy, path, 0);
	free(path);
	return ret;
}

void sources_free(struct sources *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->v[i].path)
			unlink(s->v[i].path);
		free(s->v[i].name);
		free(s->v[i].text);
		free(s->v[i].path);
		rewrite_free(&s->v[i].rw);
	}
	if (s->dir) {
		for (i = 0; i < s->n; i++) {
			char *dir;

			if (asprintf(&dir, "%s/%zu", s->dir, i) >= 0) {
				rmdir(dir);
				free(dir);
			}
		}
		rmdir(s->dir);
	}
	for (i = 0; i < s->ninclude; i++)
		free(s->include_dirs[i]);
	free(s->include_dirs);
	free(s->v);
	free(s->stmts);
	free(s->dir);
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
