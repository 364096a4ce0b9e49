/*
 * rawloop — the benchmark baseline: the cheapest honest read of a capture file.
 *
 * Where it sits: outside the pipeline. tests/bench/run_bench.py times it against tokenwatch on
 * the same capture, so the reported ratio is "sensor time / time libpcap alone needs to hand
 * every packet to its caller". It owns nothing beyond the pcap handle.
 *
 * Every packet's first and last byte are read and folded into a checksum that is printed, so
 * the compiler cannot drop the loop and the page-cache pages are really touched.
 *
 * Usage: rawloop FILE   prints "packets N bytes B" (B = sum of captured lengths) and exits 0;
 *                       exits 1 with one line on stderr when the file cannot be read.
 */
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *data;
	uint64_t packets = 0, bytes = 0, fold = 0;
	pcap_t *pcap;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: rawloop FILE\n");
		return 2;
	}
	pcap = pcap_open_offline(argv[1], errbuf);
	if (pcap == NULL) {
		fprintf(stderr, "rawloop: %s\n", errbuf);
		return 1;
	}
	while ((rc = pcap_next_ex(pcap, &hdr, &data)) == 1) {
		packets++;
		bytes += hdr->caplen;
		if (hdr->caplen > 0)
			fold += (uint64_t)data[0] + data[hdr->caplen - 1];
	}
	if (rc == PCAP_ERROR) {
		/* a truncated file is still timed up to the damage, as the sensor would read it */
		fprintf(stderr, "rawloop: %s\n", pcap_geterr(pcap));
	}
	pcap_close(pcap);
	printf("packets %" PRIu64 " bytes %" PRIu64 " fold %" PRIu64 "\n", packets, bytes, fold);
	return 0;
}
