// SPDX-License-Identifier: GPL-2.0
/*
 * What nf-prefrag doctor learns from other programs and /proc, in any
 * network namespace: a child process enters the namespace (setns), so the
 * doctor itself stays where it was started.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "capture.h"

#define NETNS_RUN_DIR	"/run/netns"

static bool enter_netns(const char *netns)
{
	char path[PATH_MAX];
	int fd, ok;

	if (!netns)
		return true;
	if (snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, netns) >= (int)sizeof(path))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = setns(fd, CLONE_NEWNET) == 0;
	close(fd);
	return ok;
}

static bool text_append(struct text *t, const char *buf, size_t n)
{
	char *data = realloc(t->data, t->len + n + 1);

	if (!data)
		return false;
	memcpy(data + t->len, buf, n);
	t->data = data;
	t->len += n;
	t->data[t->len] = '\0';
	return true;
}

/* In the child: ARGV, or FILE copied to stdout. */
static void run_child(const char *netns, const char *const argv[], const char *file, int out)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if (dup2(out, STDOUT_FILENO) < 0 || !enter_netns(netns))
		_exit(126);
	fd = open("/dev/null", O_WRONLY);
	if (fd >= 0)
		dup2(fd, STDERR_FILENO);
	if (argv) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	fd = open(file, O_RDONLY);
	if (fd < 0)
		_exit(1);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(STDOUT_FILENO, buf, n) != n)
			_exit(1);
	_exit(n < 0);
}

static bool run(const char *netns, const char *const argv[], const char *file,
		struct text *out)
{
	char buf[4096];
	int pipefd[2], status;
	bool ok = true;
	ssize_t n;
	pid_t pid;

	out->data = calloc(1, 1);
	out->len = 0;
	if (!out->data || pipe2(pipefd, O_CLOEXEC))
		return false;
	pid = fork();
	if (pid == 0)
		run_child(netns, argv, file, pipefd[1]);
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		return false;
	}
	while ((n = read(pipefd[0], buf, sizeof(buf))) > 0)
		ok = ok && text_append(out, buf, n);
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		ok = false;
	if (!ok) {
		out->len = 0;
		out->data[0] = '\0';
	}
	return ok;
}

bool capture(const char *netns, const char *const argv[], struct text *out)
{
	return run(netns, argv, NULL, out);
}

bool capture_file(const char *netns, const char *file, struct text *out)
{
	return run(netns, NULL, file, out);
}

void text_free(struct text *t)
{
	free(t->data);
	t->data = NULL;
	t->len = 0;
}

char *text_next_line(struct text *t, size_t *pos)
{
	char *line, *end;

	if (*pos >= t->len)
		return NULL;
	line = t->data + *pos;
	end = strchr(line, '\n');
	if (end) {
		*end = '\0';
		*pos = end - t->data + 1;
	} else {
		*pos = t->len;
	}
	return line;
}
