// SPDX-License-Identifier: GPL-2.0
/*
 * nfq-prefrag: the userspace pre-fragmenter that nf-prefrag replaces, as a
 * benchmark peer (not shipped).  Every packet queued to it that is larger
 * than the MTU and has no DF is cut into IPv4 fragments here, which are
 * sent through a raw socket (on to IPsec); the original is dropped.
 * Everything else is accepted unchanged.
 *
 *   nfq-prefrag QUEUE MTU
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_NODEFRAG
#define IP_NODEFRAG 22	/* linux/in.h: our fragments must stay fragments */
#endif

static int raw_fd;
static unsigned int mtu;

/* Cut @pkt into fragments of at most @mtu bytes and send them. */
static int send_fragments(const unsigned char *pkt, int len)
{
	const struct iphdr *iph = (const void *)pkt;
	unsigned int hlen = iph->ihl * 4, step = (mtu - hlen) & ~7u;
	unsigned int offset0 = (ntohs(iph->frag_off) & IP_OFFMASK) * 8;
	int last_mf = ntohs(iph->frag_off) & IP_MF;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	unsigned char frag[65536];
	unsigned int off;

	dst.sin_addr.s_addr = iph->daddr;
	for (off = 0; off < len - hlen; off += step) {
		unsigned int n = len - hlen - off < step ? len - hlen - off : step;
		struct iphdr *fh = (void *)frag;
		int more = off + n < len - hlen || last_mf;

		memcpy(frag, pkt, hlen);
		memcpy(frag + hlen, pkt + hlen + off, n);
		fh->tot_len = htons(hlen + n);
		fh->frag_off = htons(((offset0 + off) / 8) | (more ? IP_MF : 0));
		fh->check = 0;	/* the kernel fills it in (IP_HDRINCL) */
		if (sendto(raw_fd, frag, hlen + n, 0, (void *)&dst, sizeof(dst)) < 0)
			return -1;
	}
	return 0;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg __attribute__((unused)),
		     struct nfq_data *nfa, void *data __attribute__((unused)))
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	uint32_t id = ph ? ntohl(ph->packet_id) : 0;
	unsigned char *pkt;
	int len = nfq_get_payload(nfa, &pkt);
	const struct iphdr *iph = (const void *)pkt;

	if (len < (int)sizeof(*iph) || (unsigned int)len <= mtu ||
	    (ntohs(iph->frag_off) & IP_DF))
		return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
	if (send_fragments(pkt, len) < 0)
		perror("nfq-prefrag: sendto");
	return nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
}

int main(int argc, char **argv)
{
	struct nfq_handle *h;
	struct nfq_q_handle *qh;
	char buf[65536 + 4096];
	int fd, n, one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: nfq-prefrag QUEUE MTU\n");
		return 2;
	}
	mtu = strtoul(argv[2], NULL, 10);
	raw_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (raw_fd < 0 ||
	    setsockopt(raw_fd, IPPROTO_IP, IP_NODEFRAG, &one, sizeof(one)) < 0) {
		perror("nfq-prefrag: raw socket");
		return 1;
	}
	h = nfq_open();
	if (!h) {
		perror("nfq-prefrag: nfq_open");
		return 1;
	}
	qh = nfq_create_queue(h, strtoul(argv[1], NULL, 10), on_packet, NULL);
	if (!qh || nfq_set_mode(qh, NFQNL_COPY_PACKET, 0xffff) < 0) {
		perror("nfq-prefrag: queue");
		return 1;
	}
	/* Tell the benchmark that the queue is bound. */
	printf("ready\n");
	fflush(stdout);
	fd = nfq_fd(h);
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n >= 0)
			nfq_handle_packet(h, buf, n);
		else if (errno != ENOBUFS && errno != EINTR)
			break;
	}
	nfq_destroy_queue(qh);
	nfq_close(h);
	return 0;
}
