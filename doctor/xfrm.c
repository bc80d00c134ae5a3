// SPDX-License-Identifier: GPL-2.0
/*
 * The namespace's IPsec, as `ip xfrm` lists it: how many policies send
 * traffic into tunnels, the modes of the SAs, and for each route-based VPN
 * device (xfrm interface, VTI) the MTU of the SA path it sends into.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "capture.h"
#include "doctor.h"

/* An ESP transform the kernel pads and authenticates so (esp4.c, esp6.c). */
static const struct {
	const char	*name;
	unsigned int	iv, block;
} ciphers[] = {
	{ "rfc4106(gcm(aes))", 8, 4 },
	{ "rfc4309(ccm(aes))", 8, 4 },
	{ "rfc4543(gcm(aes))", 8, 4 },
	{ "rfc7539esp(chacha20,poly1305)", 8, 4 },
	{ "cbc(aes)", 16, 16 },
	{ "cbc(des3_ede)", 8, 8 },
	{ "rfc3686(ctr(aes))", 8, 4 },
	{ "ecb(cipher_null)", 0, 4 },
};

/*
 * @algorithms: an SA's "aead NAME KEY ICV", or "enc NAME KEY" and
 * "auth-trunc NAME KEY BITS" lines, as ip xfrm prints them.
 */
unsigned int esp_tunnel_mtu(const char *algorithms, bool ipv6_outer, bool udp_encap,
			    unsigned int path_mtu)
{
	unsigned int header, icv = 0, iv = 0, block = 0, bits;
	char name[64];
	const char *p;
	size_t i;

	p = strstr(algorithms, "aead ");
	if (p && sscanf(p, "aead %63s %*s %u", name, &bits) == 2)
		icv = bits / 8;
	else if ((p = strstr(algorithms, "enc ")) && sscanf(p, "enc %63s", name) == 1 &&
		 (p = strstr(algorithms, "auth-trunc ")) &&
		 sscanf(p, "auth-trunc %*s %*s %u", &bits) == 1)
		icv = bits / 8;
	else
		return 0;
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		if (!strcmp(name, ciphers[i].name)) {
			iv = ciphers[i].iv;
			block = ciphers[i].block;
		}
	if (!block)
		return 0;
	header = (ipv6_outer ? 40 : 20) + (udp_encap ? 8 : 0) + 8 + iv;
	if (path_mtu < header + icv + block + 2)
		return 0;
	return ((path_mtu - header - icv) & ~(block - 1)) - 2;
}

/* Every device of the namespace and its MTU, from `ip -d -o link show`. */
struct link {
	char		name[DOCTOR_NAME_LEN];
	unsigned int	mtu;
};

struct links {
	struct link	*v;
	size_t		n;
};

/* "5: xfrm0@eth1: <...> mtu 1500 ...\    xfrm if_id 0x2a ...": the device
 * into @links, and a route-based VPN device into ns->tunnels too.
 */
static void parse_link(struct netns_report *ns, struct links *links, const char *line)
{
	struct tunnel_if t = {};
	const char *p, *q;
	unsigned int a, b, c, d;

	p = strchr(line, ':');
	if (!p || !(q = strstr(line, " mtu ")))
		return;
	snprintf(t.name, sizeof(t.name), "%.*s", (int)strcspn(p + 2, "@:"), p + 2);
	t.mtu = strtoul(q + 5, NULL, 10);
	links->v = doctor_grow(links->v, &links->n, sizeof(*links->v));
	snprintf(links->v[links->n - 1].name, DOCTOR_NAME_LEN, "%s", t.name);
	links->v[links->n - 1].mtu = t.mtu;
	if ((p = strstr(line, "\\    xfrm if_id ")) &&
	    sscanf(p, "\\    xfrm if_id %x", &t.key) == 1) {
		strcpy(t.kind, "xfrm");
	} else if (((p = strstr(line, "\\    vti ")) || (p = strstr(line, "\\    vti6 "))) &&
		   (q = strstr(p, " okey ")) && sscanf(q, " okey %u.%u.%u.%u", &a, &b, &c, &d) == 4) {
		snprintf(t.kind, sizeof(t.kind), "%s", strstr(p, "vti6") == p + 5 ? "vti6" : "vti");
		t.key = a << 24 | b << 16 | c << 8 | d;
	} else {
		return;
	}
	ns->tunnels = doctor_grow(ns->tunnels, &ns->n_tunnels, sizeof(t));
	ns->tunnels[ns->n_tunnels - 1] = t;
}

static unsigned int link_mtu(const struct links *links, const char *dev)
{
	size_t i;

	for (i = 0; i < links->n; i++)
		if (!strcmp(links->v[i].name, dev))
			return links->v[i].mtu;
	return 0;
}

/* The device the route to @peer takes, and its MTU (or the route's own);
 * false when @peer is this host's (an inbound SA). */
static bool route_to(const char *netns, const struct links *links, struct tunnel_if *t)
{
	const char *argv[] = { "ip", "route", "get", t->peer, NULL };
	struct text out;
	const char *p;
	unsigned int route_mtu;
	bool ok = false;

	if (capture(netns, argv, &out) && strncmp(out.data, "local ", 6) &&
	    (p = strstr(out.data, " dev "))) {
		snprintf(t->underlay, sizeof(t->underlay), "%.*s", (int)strcspn(p + 5, " \n"),
			 p + 5);
		t->underlay_mtu = link_mtu(links, t->underlay);
		p = strstr(out.data, " mtu ");
		route_mtu = p ? strtoul(p + 5, NULL, 10) : 0;
		if (route_mtu && route_mtu < t->underlay_mtu)
			t->underlay_mtu = route_mtu;
		ok = t->underlay_mtu > 0;
	}
	text_free(&out);
	return ok;
}

/* One SA of `ip xfrm state`: its lines from "src ... dst ..." on. */
static void match_state(const char *netns, const struct links *links,
			struct netns_report *ns, const char *sa)
{
	const char *if_id = strstr(sa, "\tif_id "), *mark = strstr(sa, "\tmark ");
	char dst[DOCTOR_NAME_LEN];
	unsigned int key = 0;
	size_t i;

	if (sscanf(sa, "src %*s dst %63s", dst) != 1 || !strstr(sa, " mode tunnel"))
		return;
	if (if_id)
		key = strtoul(if_id + 7, NULL, 16);
	else if (mark)
		key = strtoul(mark + 6, NULL, 16);
	for (i = 0; key && i < ns->n_tunnels; i++) {
		struct tunnel_if *t = &ns->tunnels[i];

		/* xfrm interfaces pick SAs by if_id, VTIs by mark */
		if (t->key != key || t->sa_mtu || !if_id != !!strcmp(t->kind, "xfrm"))
			continue;
		snprintf(t->peer, sizeof(t->peer), "%s", dst);
		if (!route_to(netns, links, t)) {
			t->peer[0] = '\0';
			continue;
		}
		t->sa_mtu = esp_tunnel_mtu(sa, strchr(dst, ':'), strstr(sa, "encap type"),
					   t->underlay_mtu);
	}
}

void xfrm_inspect(struct netns_report *ns)
{
	const char *policy_argv[] = { "ip", "xfrm", "policy", "list", "dir", "out", NULL };
	const char *state_argv[] = { "ip", "xfrm", "state", "list", NULL };
	const char *link_argv[] = { "ip", "-d", "-o", "link", "show", NULL };
	const char *netns = ns->name[0] ? ns->name : NULL;
	struct links links = {};
	char sa[4096] = "";
	struct text out;
	size_t pos = 0;
	char *line;

	ns->xfrm_known = capture(netns, policy_argv, &out);
	while ((line = text_next_line(&out, &pos)))
		ns->xfrm_out_policies += strstr(line, "dir out") != NULL;
	text_free(&out);

	pos = 0;
	capture(netns, link_argv, &out);
	while ((line = text_next_line(&out, &pos)))
		parse_link(ns, &links, line);
	text_free(&out);

	pos = 0;
	capture(netns, state_argv, &out);
	/* Each SA's lines gathered for match_state(), which needs them all. */
	for (;;) {
		line = text_next_line(&out, &pos);
		if ((!line || !strncmp(line, "src ", 4)) && sa[0]) {
			match_state(netns, &links, ns, sa);
			sa[0] = '\0';
		}
		if (!line)
			break;
		ns->xfrm_tunnel_states += strstr(line, " mode tunnel") != NULL;
		ns->xfrm_transport_states += strstr(line, " mode transport") != NULL;
		if (strlen(sa) + strlen(line) + 2 < sizeof(sa)) {
			strcat(sa, line);
			strcat(sa, "\n");
		}
	}
	text_free(&out);
	free(links.v);
}
