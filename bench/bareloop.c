/*
 * bareloop.c - the floor for any libpcap reader: opens a capture, loops
 * pcap_next_ex over every packet and sums the captured lengths, nothing
 * else.  imaptrace's time is compared with this one.
 *
 *   bareloop FILE.pcap
 *
 * Prints "PACKETS BYTES" on standard output; exit 0, or 1 if the file
 * cannot be opened or is corrupt.
 */
#define _DEFAULT_SOURCE		/* u_char and friends in pcap.h under -std=c11 */
#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, bytes = 0;
	unsigned sink = 0;
	pcap_t *p;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: bareloop FILE.pcap\n");
		return 2;
	}
	p = pcap_open_offline(argv[1], errbuf);
	if (p == NULL) {
		fprintf(stderr, "bareloop: %s\n", errbuf);
		return 1;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		packets++;
		bytes += h->caplen;
		sink += data[0];	/* touch the packet, as any reader would */
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "bareloop: %s\n", pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	printf("%llu %llu\n", (unsigned long long)packets,
	       (unsigned long long)bytes + (sink & 0));
	return 0;
}
