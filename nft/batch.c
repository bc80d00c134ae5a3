// SPDX-License-Identifier: GPL-2.0
/*
 * One transaction.  libnftables parses and evaluates the whole input, with
 * a placeholder expression where each of our statements stood, and builds
 * one netlink batch of it.  On the batch's way to the kernel each
 * placeholder becomes the xtables target its statement means, and the
 * kernel receives the batch nft would have sent had it known our
 * statements: all of it is applied or none, anonymous sets, set and rule
 * IDs and positions are untouched, and --check (a batch without its end
 * message) has the kernel validate our targets too.
 *
 * The way in is libnftables' own sendmsg() call: this program defines
 * sendmsg(), and the dynamic linker binds the library's call to it.  Only
 * while a rewrite is armed does it look at what is sent.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/xt_REJECT_MTU.h>
#include "batch.h"

static struct {
	const struct statement	*stmts;
	size_t			n;
	unsigned int		*seen;		/* per statement */
	bool			armed, sent, bad;
} rw;

int batch_rewrite_arm(const struct statement *stmts, size_t n)
{
	rw.seen = calloc(n ? n : 1, sizeof(*rw.seen));
	if (!rw.seen)
		return -1;
	rw.stmts = stmts;
	rw.n = n;
	rw.sent = rw.bad = false;
	rw.armed = true;
	return 0;
}

int batch_rewrite_disarm(void)
{
	size_t i;
	int ret = 0;

	rw.armed = false;
	/* Each statement went into the batch exactly once, if one was sent. */
	for (i = 0; rw.sent && i < rw.n; i++)
		if (rw.seen[i] != 1)
			ret = -1;
	if (rw.bad)
		ret = -1;
	free(rw.seen);
	rw.seen = NULL;
	return ret;
}

/* The statement a placeholder "counter packets MAGIC bytes INDEX" stands for. */
static const struct statement *placeholder_of(const struct nlattr *elem)
{
	const struct nlattr *a, *name = NULL, *data = NULL;
	uint64_t packets = 0, index = 0;	/* nft leaves out a 0 */

	mnl_attr_for_each_nested(a, elem) {
		if (mnl_attr_get_type(a) == NFTA_EXPR_NAME)
			name = a;
		else if (mnl_attr_get_type(a) == NFTA_EXPR_DATA)
			data = a;
	}
	if (!name || !data || mnl_attr_validate(name, MNL_TYPE_NUL_STRING) < 0 ||
	    strcmp(mnl_attr_get_str(name), "counter"))
		return NULL;
	mnl_attr_for_each_nested(a, data) {
		if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
			continue;
		if (mnl_attr_get_type(a) == NFTA_COUNTER_PACKETS)
			packets = be64toh(mnl_attr_get_u64(a));
		else if (mnl_attr_get_type(a) == NFTA_COUNTER_BYTES)
			index = be64toh(mnl_attr_get_u64(a));
	}
	if (packets != PLACEHOLDER_MAGIC)
		return NULL;
	if (index >= rw.n) {
		rw.bad = true;
		return NULL;
	}
	rw.seen[index]++;
	return &rw.stmts[index];
}

/* The target expression for @st in a table of @family. */
static void put_target(struct nlmsghdr *nlh, const struct statement *st,
		       int family)
{
	struct nlattr *elem, *data;
	uint8_t info[sizeof(st->info)];

	memcpy(info, st->info, st->info_len);
	/* In inet tables a REJECT's type says whose family it is for. */
	if (family == NFPROTO_INET && st->family) {
		struct xt_reject_info_v1 *reject = (void *)info;

		reject->with |= st->family == NFPROTO_IPV4 ?
				XT_REJECT_INET_IPV4 : XT_REJECT_INET_IPV6;
	}
	elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "target");
	data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
	mnl_attr_put_strz(nlh, NFTA_TARGET_NAME, st->target);
	mnl_attr_put_u32(nlh, NFTA_TARGET_REV, htonl(st->revision));
	mnl_attr_put(nlh, NFTA_TARGET_INFO, st->info_len, info);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, elem);
}

static void put_raw(struct nlmsghdr *nlh, const struct nlattr *a)
{
	size_t len = MNL_ALIGN(a->nla_len);

	memcpy(mnl_nlmsg_get_payload_tail(nlh), a, a->nla_len);
	nlh->nlmsg_len += len;
}

static bool is_newrule(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE);
}

/* Copy one NEWRULE message to @out, placeholders replaced. */
static void rewrite_rule(const struct nlmsghdr *in, struct nlmsghdr *out)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(in);
	const struct nlattr *a, *elem;

	memcpy(out, in, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg)));
	out->nlmsg_len = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg));
	mnl_attr_for_each(a, in, sizeof(*nfg)) {
		struct nlattr *nest;

		if (mnl_attr_get_type(a) != NFTA_RULE_EXPRESSIONS) {
			put_raw(out, a);
			continue;
		}
		nest = mnl_attr_nest_start(out, NFTA_RULE_EXPRESSIONS);
		mnl_attr_for_each_nested(elem, a) {
			const struct statement *st = placeholder_of(elem);

			if (st)
				put_target(out, st, nfg->nfgen_family);
			else
				put_raw(out, elem);
		}
		mnl_attr_nest_end(out, nest);
	}
}

/* A target expression is larger than the placeholder by at most this. */
#define GROWTH	(256 + sizeof(((struct statement *)0)->info))

/* @iov's messages, rewritten, in a new buffer (NULL: leave it as it is). */
static void *rewrite_iov(const struct iovec *iov, size_t *len)
{
	const struct nlmsghdr *nlh = iov->iov_base;
	int left = iov->iov_len, rules = 0;
	size_t room;
	char *out, *pos;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
		rules += is_newrule(nlh);
	if (!rules)
		return NULL;
	room = iov->iov_len + (size_t)rules * GROWTH * (rw.n ? rw.n : 1);
	out = pos = calloc(1, room);
	if (!out) {
		rw.bad = true;	/* never send the placeholders as they are */
		return NULL;
	}
	nlh = iov->iov_base;
	left = iov->iov_len;
	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (is_newrule(nlh))
			rewrite_rule(nlh, (struct nlmsghdr *)pos);
		else
			memcpy(pos, nlh, nlh->nlmsg_len);
		pos += MNL_ALIGN(((struct nlmsghdr *)pos)->nlmsg_len);
	}
	*len = pos - out;
	return out;
}

static ssize_t real_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return syscall(SYS_sendmsg, fd, msg, flags);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct msghdr copy;
	struct iovec *iov;
	void **bufs;
	ssize_t ret;
	size_t i;

	if (!rw.armed)
		return real_sendmsg(fd, msg, flags);

	iov = calloc(msg->msg_iovlen, sizeof(*iov));
	bufs = calloc(msg->msg_iovlen, sizeof(*bufs));
	if (!iov || !bufs) {
		free(iov);
		free(bufs);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < msg->msg_iovlen; i++) {
		size_t len;

		bufs[i] = rewrite_iov(&msg->msg_iov[i], &len);
		iov[i] = bufs[i] ? (struct iovec){ bufs[i], len } : msg->msg_iov[i];
	}
	rw.sent = true;
	copy = *msg;
	copy.msg_iov = iov;
	if (rw.bad) {
		errno = EINVAL;	/* never send a placeholder to the kernel */
		ret = -1;
	} else {
		ret = real_sendmsg(fd, &copy, flags);
	}
	for (i = 0; i < msg->msg_iovlen; i++)
		free(bufs[i]);
	free(bufs);
	free(iov);
	return ret;
}
