// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
/* Swap placeholders for xtables targets, in one transaction (replace.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_REJECT_MTU.h>
#include "module_hint.h"
#include "replace.h"

/* One transaction holds every replaced rule (a rule is well below 4 KiB). */
#define BATCH_ROOM	(1 << 20)

struct fetch {
	uint64_t		handle;
	struct nftnl_rule	*rule;
};

static int fetch_cb(const struct nlmsghdr *nlh, void *data)
{
	struct fetch *f = data;
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (!r)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0 ||
	    nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE) != f->handle || f->rule) {
		nftnl_rule_free(r);
		return MNL_CB_OK;
	}
	f->rule = r;
	return MNL_CB_OK;
}

/* The rule as the kernel has it now. */
static struct nftnl_rule *fetch_rule(struct mnl_socket *nl, const struct rule_ref *ref)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct fetch f = { .handle = ref->handle };
	uint32_t seq = time(NULL), portid = mnl_socket_get_portid(nl);
	struct nftnl_rule *q = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int ret;

	if (!q)
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, ref->family, NLM_F_DUMP, seq);
	nftnl_rule_set_str(q, NFTNL_RULE_TABLE, ref->table);
	nftnl_rule_set_str(q, NFTNL_RULE_CHAIN, ref->chain);
	nftnl_rule_nlmsg_build_payload(nlh, q);
	nftnl_rule_free(q);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return NULL;
	while ((ret = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, ret, seq, portid, fetch_cb, &f);
		if (ret <= 0)
			break;
	}
	return f.rule;
}

static bool is_placeholder(struct nftnl_expr *e)
{
	return strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "meta") == 0 &&
	       nftnl_expr_is_set(e, NFTNL_EXPR_META_SREG) &&
	       nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY) == NFT_META_NFTRACE;
}

/* In inet tables, a REJECT's type says whose family it is for. */
static void mark_inet_family(const struct statement *st, void *info)
{
	struct xt_reject_info_v1 *reject = info;

	if (st->family == NFPROTO_IPV4)
		reject->with |= XT_REJECT_INET_IPV4;
	else if (st->family == NFPROTO_IPV6)
		reject->with |= XT_REJECT_INET_IPV6;
}

static struct nftnl_expr *target_expr(const struct statement *st, int table_family)
{
	struct nftnl_expr *e = nftnl_expr_alloc("target");
	void *info = malloc(st->info_len);

	if (!e || !info) {
		nftnl_expr_free(e);
		free(info);
		return NULL;
	}
	memcpy(info, st->info, st->info_len);
	if (table_family == NFPROTO_INET)
		mark_inet_family(st, info);
	nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, st->target);
	nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, st->revision);
	nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, st->info_len);
	return e;
}

/*
 * Rebuild @r's expressions: each placeholder (an immediate 0 loaded into a
 * register, then "meta nftrace set" from it) becomes the next target.
 */
static int swap_placeholders(struct nftnl_rule *r, const struct statement *stmts,
			     size_t count, int table_family)
{
	struct nftnl_expr *exprs[256], *e;
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	size_t n = 0, i, used = 0;

	if (!it)
		return -1;
	while ((e = nftnl_expr_iter_next(it)) && n < 256)
		exprs[n++] = e;
	nftnl_expr_iter_destroy(it);
	for (i = 0; i < n; i++)
		nftnl_rule_del_expr(exprs[i]);

	for (i = 0; i < n; i++) {
		e = exprs[i];
		if (i + 1 < n && is_placeholder(exprs[i + 1]) &&
		    strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "immediate") == 0 &&
		    used < count) {
			struct nftnl_expr *tg = target_expr(&stmts[used++], table_family);

			nftnl_expr_free(exprs[i]);
			nftnl_expr_free(exprs[++i]);
			if (!tg)
				return -1;
			nftnl_rule_add_expr(r, tg);
			continue;
		}
		nftnl_rule_add_expr(r, e);
	}
	return used == count ? 0 : -1;
}

/* Which of our modules the running kernel can't load, and what fixes it. */
static void explain_missing_modules(void)
{
	static const char *const modules[] = {
		"xt_PREFRAG", "xt_CLEARDF", "xt_REJECT_MTU",
	};
	char hint[512];
	unsigned int i;

	for (i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
		if (nf_prefrag_module_state(modules[i], hint, sizeof(hint)) !=
		    NF_PREFRAG_MODULE_LOADED && hint[0])
			fprintf(stderr, "nft-prefrag: %s\n", hint);
}

/* Send the batch, wait for every rule's answer; -1 with errno set. */
static int commit(struct mnl_socket *nl, struct mnl_nlmsg_batch *b, size_t rules)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	size_t answers = 0;
	int err = 0, ret;

	if (mnl_socket_sendto(nl, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b)) < 0)
		return -1;
	while (answers < rules && (ret = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		const struct nlmsghdr *nlh = (const void *)buf;

		for (; mnl_nlmsg_ok(nlh, ret); nlh = mnl_nlmsg_next(nlh, &ret)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			answers++;
			if (e->error && !err)
				err = -e->error;
		}
	}
	if (err) {
		errno = err;
		return -1;
	}
	return answers == rules ? 0 : -1;
}

int replace_rules(const struct rule_ref *refs, size_t n,
		  const struct statement *stmts)
{
	struct nftnl_rule **rules = calloc(n, sizeof(*rules));
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	struct mnl_nlmsg_batch *b = NULL;
	size_t room = BATCH_ROOM;
	char *room_buf = malloc(room);
	uint32_t seq = time(NULL);
	int ret = -1;
	size_t i;

	if (!rules || !room_buf || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("nft-prefrag: netlink");
		goto out;
	}
	for (i = 0; i < n; i++) {
		rules[i] = fetch_rule(nl, &refs[i]);
		if (!rules[i] || swap_placeholders(rules[i], stmts + refs[i].first,
						   refs[i].count, refs[i].family)) {
			fprintf(stderr, "nft-prefrag: rule %s %s handle %llu changed under us\n",
				refs[i].table, refs[i].chain,
				(unsigned long long)refs[i].handle);
			goto out;
		}
	}

	b = mnl_nlmsg_batch_start(room_buf, room);
	if (!b)
		goto out;
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	for (i = 0; i < n; i++) {
		struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
				NFT_MSG_NEWRULE, refs[i].family,
				NLM_F_REPLACE | NLM_F_ACK, seq++);

		nftnl_rule_nlmsg_build_payload(nlh, rules[i]);
		if (!mnl_nlmsg_batch_next(b)) {
			fprintf(stderr, "nft-prefrag: too many rules for one batch\n");
			goto out;
		}
	}
	nftnl_batch_end(mnl_nlmsg_batch_current(b), seq++);
	mnl_nlmsg_batch_next(b);
	ret = commit(nl, b, n);
	if (ret) {
		int err = errno;

		fprintf(stderr, "nft-prefrag: the kernel refused our targets: %s\n",
			strerror(err));
		if (err == ENOENT)
			explain_missing_modules();
	}
out:
	if (b)
		mnl_nlmsg_batch_stop(b);
	free(room_buf);
	for (i = 0; rules && i < n; i++)
		if (rules[i])
			nftnl_rule_free(rules[i]);
	free(rules);
	if (nl)
		mnl_socket_close(nl);
	return ret;
}
