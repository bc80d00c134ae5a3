// SPDX-License-Identifier: GPL-2.0
/* The kernel's rules and their targets (see kernel_rules.h). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include "kernel_rules.h"

/* A dump message holds one rule; nft's own dump buffer is this size. */
#define DUMP_BUFFER	32768

struct dump {
	struct rule_targets	*v;
	size_t			n;
	int			failed;
};

/* Append the targets of @r, if it has any. */
static int add_rule(struct dump *d, struct nftnl_rule *r)
{
	struct rule_targets *rt, *v;
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;
	size_t cap = 0;

	v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	d->v = v;
	rt = &v[d->n];
	memset(rt, 0, sizeof(*rt));
	it = nftnl_expr_iter_create(r);
	if (!it)
		return -1;
	while ((e = nftnl_expr_iter_next(it))) {
		const char *name;
		uint32_t len;
		const void *info;

		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "target"))
			continue;
		if (rt->n == cap) {
			const char **names;
			struct statement *stmts;

			cap = cap ? 2 * cap : 2;
			names = realloc(rt->names, cap * sizeof(*names));
			if (names)
				rt->names = names;
			stmts = realloc(rt->stmts, cap * sizeof(*stmts));
			if (stmts)
				rt->stmts = stmts;
			if (!names || !stmts)
				break;
		}
		name = nftnl_expr_get_str(e, NFTNL_EXPR_TG_NAME);
		info = nftnl_expr_get(e, NFTNL_EXPR_TG_INFO, &len);
		rt->names[rt->n] = NULL;
		if (info && statement_from_target(name, nftnl_expr_get_u32(e, NFTNL_EXPR_TG_REV),
						  info, len,
						  nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY),
						  &rt->stmts[rt->n]) == 0)
			rt->names[rt->n] = rt->stmts[rt->n].target;
		rt->n++;
	}
	nftnl_expr_iter_destroy(it);
	if (e)
		return -1;
	if (!rt->n)
		return 0;
	rt->family = nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY);
	rt->table = strdup(nftnl_rule_get_str(r, NFTNL_RULE_TABLE));
	rt->chain = strdup(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
	rt->handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	d->n++;
	return rt->table && rt->chain ? 0 : -1;
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r || nftnl_rule_nlmsg_parse(nlh, r) < 0 || add_rule(d, r))
		d->failed = 1;
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int kernel_rules_dump(struct rule_targets **rules, size_t *n)
{
	struct dump d = {};
	struct mnl_socket *nl;
	uint32_t seq = time(NULL), portid;
	struct nlmsghdr *nlh;
	char *buf;
	int ret = -1;

	buf = malloc(DUMP_BUFFER);
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!buf || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	portid = mnl_socket_get_portid(nl);
	nlh = nftnl_rule_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_UNSPEC,
					 NLM_F_DUMP, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	for (;;) {
		ssize_t len = mnl_socket_recvfrom(nl, buf, DUMP_BUFFER);

		if (len <= 0)
			break;
		ret = mnl_cb_run(buf, len, seq, portid, rule_cb, &d);
		if (ret <= 0)
			break;
	}
	if (ret == 0 && !d.failed) {
		*rules = d.v;
		*n = d.n;
		d.v = NULL;
		d.n = 0;
	} else {
		ret = -1;
	}
out:
	kernel_rules_free(d.v, d.n);
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return ret;
}

void kernel_rules_free(struct rule_targets *rules, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rules[i].table);
		free(rules[i].chain);
		free(rules[i].names);
		free(rules[i].stmts);
	}
	free(rules);
}

const struct rule_targets *kernel_rules_find(const struct rule_targets *rules,
					     size_t n, int family,
					     const char *table, const char *chain,
					     uint64_t handle)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rules[i].family == family && rules[i].handle == handle &&
		    !strcmp(rules[i].table, table) && !strcmp(rules[i].chain, chain))
			return &rules[i];
	return NULL;
}
