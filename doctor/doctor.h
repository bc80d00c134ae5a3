/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nf-prefrag doctor: what it found, gathered by modules.c, counters.c,
 * rules.c and xfrm.c, judged by findings.c and printed by report.c.
 */
#ifndef NF_PREFRAG_DOCTOR_H
#define NF_PREFRAG_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#define DOCTOR_NAME_LEN		64
#define DOCTOR_TEXT_LEN		512

struct module_state {
	const char	*name;
	bool		loaded;
	char		version[DOCTOR_NAME_LEN];	/* of the loaded module */
	char		file_version[DOCTOR_NAME_LEN];	/* modinfo: what loads next */
	char		file[DOCTOR_TEXT_LEN];
};

#define DOCTOR_NUM_MODULES	4

struct modules_report {
	char			kernel[80];	/* uname -r (65 bytes at most) */
	struct module_state	mod[DOCTOR_NUM_MODULES];
	bool			dkms_known;	/* dkms is installed */
	bool			dkms_added;	/* it knows nf-prefrag (any kernel) */
	char			dkms_status[DOCTOR_TEXT_LEN];	/* its line for this kernel */
	bool			dkms_built;	/* built and installed for this kernel */
};

struct counter {
	char		name[DOCTOR_NAME_LEN];
	unsigned long	value;
};

/* A rule using one of our actions, and the program that lists it. */
struct rule {
	char	source[DOCTOR_NAME_LEN];	/* iptables-nft, ip6tables-legacy, nft, ... */
	char	table[DOCTOR_NAME_LEN];		/* "mangle"; nft: "inet vpn" */
	char	chain[DOCTOR_NAME_LEN];
	char	hook[DOCTOR_NAME_LEN];		/* forward, output, ...; "" if none */
	char	text[DOCTOR_TEXT_LEN];
};

/*
 * A route-based VPN device (xfrm interface, vti, vti6) and the SA path it
 * sends into, as its outbound SA and the route to that SA's peer say.
 */
struct tunnel_if {
	char		name[DOCTOR_NAME_LEN];
	char		kind[8];		/* xfrm, vti, vti6 */
	unsigned int	mtu;
	unsigned int	key;			/* if_id, or the VTI's okey (mark) */
	char		peer[DOCTOR_NAME_LEN];	/* its outbound SA's destination */
	char		underlay[DOCTOR_NAME_LEN];	/* device the route to it takes */
	unsigned int	underlay_mtu;
	unsigned int	sa_mtu;			/* 0: no SA, or one not computed */
};

struct netns_report {
	char		name[DOCTOR_NAME_LEN];	/* "" for the doctor's own */
	bool		proc_file;		/* /proc/net/nf_prefrag exists */
	struct counter	*counters;
	size_t		n_counters;
	struct rule	*rules;
	size_t		n_rules;
	unsigned int	xfrm_out_policies;	/* IPsec policies, direction out */
	unsigned int	xfrm_tunnel_states, xfrm_transport_states;
	bool		xfrm_known;		/* ip xfrm could be asked */
	struct tunnel_if *tunnels;
	size_t		n_tunnels;
};

struct finding {
	const char	*id;		/* stable, for --json users */
	const char	*severity;	/* "problem" or "note" */
	char		netns[DOCTOR_NAME_LEN];
	char		rule[DOCTOR_TEXT_LEN];	/* the rule concerned, if any */
	char		message[2 * DOCTOR_TEXT_LEN];
};

struct doctor_report {
	struct modules_report	modules;
	struct netns_report	*netns;
	size_t			n_netns;
	struct finding		*findings;
	size_t			n_findings;
};

/* modules.c */
void modules_inspect(struct modules_report *m);

/* counters.c */
void counters_inspect(struct netns_report *ns);
const char *counter_meaning(const char *name);
unsigned long counter_value(const struct netns_report *ns, const char *name);

/* rules.c */
void rules_inspect(struct netns_report *ns);

/* xfrm.c */
void xfrm_inspect(struct netns_report *ns);
/* The MTU a tunnel-mode ESP SA carries over a path of @path_mtu (as the
 * kernel's xfrm_state_mtu()); 0 for a transform it does not know. */
unsigned int esp_tunnel_mtu(const char *algorithms, bool ipv6_outer, bool udp_encap,
			    unsigned int path_mtu);

/* findings.c */
void findings_judge(struct doctor_report *r);

/* report.c */
void report_text(const struct doctor_report *r);
void report_json(const struct doctor_report *r);

/* Grows ARRAY of N elements by one zeroed element; exits when out of memory. */
void *doctor_grow(void *array, size_t *n, size_t size);

#endif
