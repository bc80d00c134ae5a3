// SPDX-License-Identifier: GPL-2.0
/*
 * The namespace's IPsec, as `ip xfrm` lists it: how many policies send
 * traffic into tunnels, and the modes of the SAs.
 */
#define _GNU_SOURCE
#include <string.h>
#include "capture.h"
#include "doctor.h"

void xfrm_inspect(struct netns_report *ns)
{
	const char *policy_argv[] = { "ip", "xfrm", "policy", "list", "dir", "out", NULL };
	const char *state_argv[] = { "ip", "xfrm", "state", "list", NULL };
	const char *netns = ns->name[0] ? ns->name : NULL;
	struct text out;
	size_t pos = 0;
	char *line;

	ns->xfrm_known = capture(netns, policy_argv, &out);
	while ((line = text_next_line(&out, &pos)))
		ns->xfrm_out_policies += strstr(line, "dir out") != NULL;
	text_free(&out);

	pos = 0;
	capture(netns, state_argv, &out);
	while ((line = text_next_line(&out, &pos))) {
		ns->xfrm_tunnel_states += strstr(line, " mode tunnel") != NULL;
		ns->xfrm_transport_states += strstr(line, " mode transport") != NULL;
	}
	text_free(&out);
}
