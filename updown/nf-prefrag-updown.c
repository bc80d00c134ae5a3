// SPDX-License-Identifier: GPL-2.0
/*
 * nf-prefrag-updown: a PREFRAG rule for one IPsec child SA's traffic while
 * it is up, from the IKE daemon's updown hook: strongSwan (swanctl.conf
 * "updown =", ipsec.conf "leftupdown=") and libreswan ("leftupdown=").
 *
 *   nf-prefrag-updown [--nft] [--mtu auto|N] [--tcp segment] [-- NEXT ...]
 *
 * The daemons describe the SA in the environment: PLUTO_VERB,
 * PLUTO_MY_CLIENT, PLUTO_PEER_CLIENT, PLUTO_CONNECTION.  On "up-client"
 * (and "up-host", "-v6" for IPv6) the rule is added unless it is there
 * already: a daemon that was killed sends "up" again with no "down" in
 * between.  On "down-*" every copy goes.  Other verbs change nothing.
 *
 * iptables (ip6tables for IPv6): mangle POSTROUTING, matched by policy and
 * by a comment naming the connection.  --nft: table inet nf_prefrag_updown,
 * through nft-prefrag.  NEXT is the daemon's own script (libreswan's
 * routes: "ipsec _updown"): run first on up, last on down, with the same
 * environment; its exit status is ours if it fails.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "capture.h"

#define NFT_TABLE	"inet nf_prefrag_updown"
#define NFT_CHAIN	NFT_TABLE " postrouting"

struct sa {
	const char	*verb, *mine, *peer, *connection;
	bool		ipv6;
};

struct options {
	bool		nft, tcp_segment;
	const char	*mtu;
	char		**next;		/* argv of the daemon's own script */
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: nf-prefrag-updown [--nft] [--mtu auto|N] [--tcp segment] [-- NEXT ...]\n"
		   "Run by an IKE daemon's updown hook (PLUTO_VERB, PLUTO_MY_CLIENT,\n"
		   "PLUTO_PEER_CLIENT, PLUTO_CONNECTION): PREFRAG for the SA's traffic while it is up.\n");
}

/*
 * Run @argv, wait; its exit status (127: could not run it).  @input: its
 * standard input, or NULL.  @quiet: its error output discarded (iptables -C
 * says "Bad rule" of a rule that is simply not there yet).
 */
static int run(char *const argv[], const char *input, bool quiet)
{
	int fds[2] = { -1, -1 }, status;
	pid_t pid;

	if (input && pipe(fds))
		return 127;
	pid = fork();
	if (pid == 0) {
		if (quiet && !freopen("/dev/null", "w", stderr))
			_exit(127);
		if (input) {
			dup2(fds[0], 0);
			close(fds[0]);
			close(fds[1]);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "nf-prefrag-updown: cannot run %s\n", argv[0]);
		_exit(127);
	}
	if (input) {
		close(fds[0]);
		if (pid > 0 && write(fds[1], input, strlen(input)) < 0)
			perror("nf-prefrag-updown: write");
		close(fds[1]);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}

/* iptables -w -t mangle ACTION POSTROUTING <the SA's rule>: exit status. */
static int iptables(const struct sa *sa, const struct options *o, const char *action)
{
	char comment[256];
	char *argv[] = {
		sa->ipv6 ? "ip6tables" : "iptables", "-w", "-t", "mangle",
		(char *)action, "POSTROUTING", "-s", (char *)sa->mine,
		"-d", (char *)sa->peer, "-m", "policy", "--dir", "out", "--pol", "ipsec",
		"-m", "comment", "--comment", comment, "-j", "PREFRAG",
		"--mtu", (char *)o->mtu, o->tcp_segment ? "--tcp" : NULL, "segment", NULL,
	};

	snprintf(comment, sizeof(comment), "nf-prefrag-updown %s", sa->connection);
	return run(argv, NULL, !strcmp(action, "-C"));
}

/*
 * Remove the SA's rules, whatever options they were added with (the
 * script's may have changed since): by their numbers in the chain, the
 * highest first, as `-S` lists them.
 */
static int iptables_down(const struct sa *sa)
{
	const char *const list[] = { sa->ipv6 ? "ip6tables" : "iptables", "-w", "-t", "mangle",
				     "-S", "POSTROUTING", NULL };
	char selectors[256], comment[256], number[16];
	char *del[] = { (char *)list[0], "-w", "-t", "mangle", "-D", "POSTROUTING",
			number, NULL };
	unsigned int numbers[64], n = 0, rule = 0;
	struct text out;
	size_t pos = 0;
	char *line;
	int ret = 0;

	snprintf(selectors, sizeof(selectors), " -s %s -d %s ", sa->mine, sa->peer);
	snprintf(comment, sizeof(comment), "--comment \"nf-prefrag-updown %s\" ",
		 sa->connection);
	if (!capture(NULL, list, &out))
		return 1;
	while ((line = text_next_line(&out, &pos)) && n < 64) {
		if (strncmp(line, "-A ", 3))
			continue;
		rule++;
		if (strstr(line, selectors) && strstr(line, comment))
			numbers[n++] = rule;
	}
	text_free(&out);
	while (n--) {
		snprintf(number, sizeof(number), "%u", numbers[n]);
		ret |= run(del, NULL, false);
	}
	return ret;
}

/* The rule as asked for, once: another one for the SA is replaced. */
static int iptables_up(const struct sa *sa, const struct options *o)
{
	if (iptables(sa, o, "-C") == 0)
		return 0;
	return iptables_down(sa) ?: iptables(sa, o, "-A");
}

/*
 * The handles of the SA's rules in our chain ("... comment "x" # handle 7");
 * *@found: one of them holds @statement (NULL: any).
 */
static size_t nft_handles(const struct sa *sa, unsigned long *handles, size_t max,
			  const char *statement, bool *found)
{
	const char *const argv[] = { "nft", "-a", "list", "chain", "inet",
				     "nf_prefrag_updown", "postrouting", NULL };
	char saddr[128], daddr[128], comment[256];
	struct text out;
	size_t pos = 0, n = 0;
	char *line, *h;

	snprintf(saddr, sizeof(saddr), " saddr %s ", sa->mine);
	snprintf(daddr, sizeof(daddr), " daddr %s ", sa->peer);
	snprintf(comment, sizeof(comment), "comment \"nf-prefrag-updown %s\"", sa->connection);
	capture(NULL, argv, &out);	/* no table yet: no rule */
	while ((line = text_next_line(&out, &pos)) && n < max) {
		h = strstr(line, "# handle ");
		if (!h || !strstr(line, saddr) || !strstr(line, daddr) || !strstr(line, comment))
			continue;
		handles[n++] = strtoul(h + strlen("# handle "), NULL, 10);
		if (found && strstr(line, statement))
			*found = true;
	}
	text_free(&out);
	return n;
}

static int nft_down(const struct sa *sa)
{
	unsigned long handles[64];
	size_t i, n = nft_handles(sa, handles, 64, NULL, NULL);
	char handle[32];
	char *argv[] = { "nft", "delete", "rule", "inet", "nf_prefrag_updown",
			 "postrouting", "handle", handle, NULL };
	int ret = 0;

	for (i = 0; i < n; i++) {
		snprintf(handle, sizeof(handle), "%lu", handles[i]);
		ret |= run(argv, NULL, false);
	}
	return ret;
}

/* The rule as asked for, once: another one for the SA is replaced. */
static int nft_up(const struct sa *sa, const struct options *o)
{
	char *argv[] = { "nft-prefrag", "-f", "-", NULL };
	const char *family = sa->ipv6 ? "ip6" : "ip";
	char statement[64], *input;
	unsigned long handle;
	bool found = false;
	int ret;

	snprintf(statement, sizeof(statement), " prefrag mtu %s%s comment ", o->mtu,
		 o->tcp_segment ? " tcp segment" : "");
	if (nft_handles(sa, &handle, 1, statement, &found) && found)
		return 0;
	ret = nft_down(sa);
	if (ret)
		return ret;
	if (asprintf(&input,
		     "table " NFT_TABLE " {\n"
		     "\tchain postrouting {\n"
		     "\t\ttype filter hook postrouting priority mangle; policy accept;\n"
		     "\t}\n"
		     "}\n"
		     "add rule " NFT_CHAIN " %s saddr %s %s daddr %s rt ipsec exists "
		     "prefrag mtu %s%s comment \"nf-prefrag-updown %s\"\n",
		     family, sa->mine, family, sa->peer, o->mtu,
		     o->tcp_segment ? " tcp segment" : "", sa->connection) < 0)
		return 1;
	ret = run(argv, input, false);
	free(input);
	return ret;
}

static bool parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "nft",	no_argument,		NULL, 'n' },
		{ "mtu",	required_argument,	NULL, 'm' },
		{ "tcp",	required_argument,	NULL, 't' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	int c;

	o->mtu = "auto";
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->nft = true;
			break;
		case 'm':
			if (strcmp(optarg, "auto") &&
			    strspn(optarg, "0123456789") != strlen(optarg)) {
				fprintf(stderr, "nf-prefrag-updown: --mtu takes auto or a number, not \"%s\"\n",
					optarg);
				return false;
			}
			o->mtu = optarg;
			break;
		case 't':
			if (strcmp(optarg, "segment") && strcmp(optarg, "fragment")) {
				fprintf(stderr, "nf-prefrag-updown: --tcp takes segment or fragment, not \"%s\"\n",
					optarg);
				return false;
			}
			o->tcp_segment = !strcmp(optarg, "segment");
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return false;
		}
	}
	o->next = optind < argc ? argv + optind : NULL;
	return true;
}

/* The SA from the environment; false (with a message) when it is not one. */
static bool sa_from_environment(struct sa *sa)
{
	const char *v6 = "-v6";
	size_t len;

	sa->verb = getenv("PLUTO_VERB");
	sa->mine = getenv("PLUTO_MY_CLIENT");
	sa->peer = getenv("PLUTO_PEER_CLIENT");
	sa->connection = getenv("PLUTO_CONNECTION");
	if (!sa->verb || !sa->mine || !sa->peer || !sa->connection) {
		fprintf(stderr, "nf-prefrag-updown: PLUTO_VERB, PLUTO_MY_CLIENT, PLUTO_PEER_CLIENT and PLUTO_CONNECTION must be set (run it from an IKE daemon's updown hook)\n");
		return false;
	}
	/* They end up in rules (and an nft comment): nothing else may. */
	if (strspn(sa->mine, "0123456789abcdefABCDEF:./") != strlen(sa->mine) ||
	    strspn(sa->peer, "0123456789abcdefABCDEF:./") != strlen(sa->peer) ||
	    strpbrk(sa->connection, "\"\\\n;#") || strlen(sa->connection) > 64) {
		fprintf(stderr, "nf-prefrag-updown: refusing %s -> %s of connection \"%s\": not a subnet, or a name nft cannot hold\n",
			sa->mine, sa->peer, sa->connection);
		return false;
	}
	/* strongSwan says "-v6"; libreswan's addresses say it themselves. */
	len = strlen(sa->verb);
	sa->ipv6 = (len > strlen(v6) && !strcmp(sa->verb + len - strlen(v6), v6)) ||
		   strchr(sa->mine, ':');
	return true;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int next = 0, ours = 0;
	struct sa sa;
	bool up, down;

	if (!parse(argc, argv, &o) || !sa_from_environment(&sa))
		return 2;
	up = !strncmp(sa.verb, "up-client", 9) || !strncmp(sa.verb, "up-host", 7);
	down = !strncmp(sa.verb, "down-client", 11) || !strncmp(sa.verb, "down-host", 9);

	if (o.next && !down)
		next = run(o.next, NULL, false);
	if (up)
		ours = o.nft ? nft_up(&sa, &o) : iptables_up(&sa, &o);
	else if (down)
		ours = o.nft ? nft_down(&sa) : iptables_down(&sa);
	if (o.next && down)
		next = run(o.next, NULL, false);
	if (ours)
		fprintf(stderr, "nf-prefrag-updown: %s for %s (%s -> %s) failed\n",
			sa.verb, sa.connection, sa.mine, sa.peer);
	return next ? next : ours ? 1 : 0;
}
