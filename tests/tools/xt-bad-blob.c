// SPDX-License-Identifier: GPL-2.0
/*
 * xt-bad-blob: hand the kernel a target blob that no plugin would build, so
 * that the modules' own checks are what refuses it (a test tool, not
 * shipped).  Appends one rule with the given target name, revision and raw
 * info bytes to an iptables-legacy chain, through libiptc.
 *
 *   xt-bad-blob 4|6 TABLE CHAIN TARGET REVISION HEXBYTES [TIMES]
 *
 * Prints "accepted", or "refused: <errno name>: <message>" and exits 1;
 * with TIMES, tries that often (until accepted), one line per try.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libiptc/libiptc.h>
#include <libiptc/libip6tc.h>

static const char *errno_name(int err)
{
	switch (err) {
	case EINVAL:	return "EINVAL";
	case ENOENT:	return "ENOENT";
	case EPERM:	return "EPERM";
	case ENOMEM:	return "ENOMEM";
	case EOVERFLOW:	return "EOVERFLOW";
	case EPROTOTYPE: return "EPROTOTYPE";
	}
	return "other";
}

static int parse_hex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = strlen(hex) / 2, i;
	unsigned int byte;

	if (strlen(hex) % 2 || n > max)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = byte;
	}
	return n;
}

/* The target, after an entry header of @entry_size bytes. */
static size_t put_target(unsigned char *buf, size_t entry_size,
			 const char *name, unsigned int revision,
			 const unsigned char *data, size_t len)
{
	struct xt_entry_target *t = (void *)(buf + entry_size);
	size_t size = XT_ALIGN(sizeof(*t)) + XT_ALIGN(len);

	t->u.user.target_size = size;
	snprintf(t->u.user.name, sizeof(t->u.user.name), "%s", name);
	t->u.user.revision = revision;
	memcpy(t->data, data, len);
	return entry_size + size;
}

/* One attempt: append the rule and commit.  Prints the outcome. */
static int append_once(const char *family, const char *table, const char *chain,
		       const char *target, unsigned int revision,
		       const unsigned char *data, size_t len)
{
	unsigned char buf[1024] = {};
	int ok, err;
	size_t size;

	if (family[0] == '4') {
		struct ipt_entry *e = (void *)buf;
		struct xtc_handle *h = iptc_init(table);

		if (!h) {
			fprintf(stderr, "xt-bad-blob: %s\n", iptc_strerror(errno));
			return -1;
		}
		size = put_target(buf, XT_ALIGN(sizeof(*e)), target, revision, data, len);
		e->target_offset = XT_ALIGN(sizeof(*e));
		e->next_offset = size;
		ok = iptc_append_entry(chain, e, h) && iptc_commit(h);
		err = errno;
		if (!ok)
			printf("refused: %s: %s\n", errno_name(err), iptc_strerror(err));
		iptc_free(h);
	} else {
		struct ip6t_entry *e = (void *)buf;
		struct xtc_handle *h = ip6tc_init(table);

		if (!h) {
			fprintf(stderr, "xt-bad-blob: %s\n", ip6tc_strerror(errno));
			return -1;
		}
		size = put_target(buf, XT_ALIGN(sizeof(*e)), target, revision, data, len);
		e->target_offset = XT_ALIGN(sizeof(*e));
		e->next_offset = size;
		ok = ip6tc_append_entry(chain, e, h) && ip6tc_commit(h);
		err = errno;
		if (!ok)
			printf("refused: %s: %s\n", errno_name(err), ip6tc_strerror(err));
		ip6tc_free(h);
	}
	if (ok)
		printf("accepted\n");
	return ok;
}

int main(int argc, char **argv)
{
	unsigned char data[256];
	unsigned long times = 1, i;
	unsigned int revision;
	int len, ok = 0;

	if ((argc != 7 && argc != 8) || (strcmp(argv[1], "4") && strcmp(argv[1], "6"))) {
		fprintf(stderr, "usage: xt-bad-blob 4|6 TABLE CHAIN TARGET REVISION HEXBYTES [TIMES]\n");
		return 2;
	}
	revision = strtoul(argv[5], NULL, 0);
	len = parse_hex(argv[6], data, sizeof(data));
	if (len < 0) {
		fprintf(stderr, "xt-bad-blob: HEXBYTES: an even number of hex digits, at most %zu bytes\n",
			sizeof(data));
		return 2;
	}
	if (argc == 8)
		times = strtoul(argv[7], NULL, 0);

	/* Repeated in one process, a refusal costs microseconds: fast enough
	 * to meet the kernel's log rate limit even on a debug kernel.
	 */
	for (i = 0; i < times; i++) {
		ok = append_once(argv[1], argv[2], argv[3], argv[4], revision, data, len);
		if (ok)
			break;
	}
	return ok < 0 ? 2 : !ok;
}
