/* fuzz_decode.c — libFuzzer entry point for decode_packet() (dissectors/decode_*.c).
 *
 * Input: 2 bytes that pick a link type from the supported list (big-endian index, taken modulo
 * the list length), then the captured frame. Besides ASan/UBSan finding reads past caplen, it
 * checks the contract other stages rely on: a payload span lies inside the frame, so do a
 * fragment's header and data spans, VLAN and tunnel counts are bounded, every non-OK result
 * carries an event of the table (events.h). Tunnel ports are the defaults (VXLAN 4789, Geneve
 * 6081). Corpus: tests/fuzz/corpus/decode/, made by
 * tests/fuzz/make_decode_corpus.py (keep its link type list in step with this one).
 */
#include <stdint.h>
#include <stdlib.h>

#include "decode.h"

static const int linktypes[] = {
    DECODE_LINK_ETHERNET, DECODE_LINK_SLL,   DECODE_LINK_SLL2,  DECODE_LINK_RAW,
    DECODE_LINK_RAW_DLT,  DECODE_LINK_RAW_DLT14, DECODE_LINK_IPV4, DECODE_LINK_IPV6,
    DECODE_LINK_NULL,     DECODE_LINK_LOOP,  DECODE_LINK_PPP,   DECODE_LINK_PPP_HDLC,
    DECODE_LINK_C_HDLC,
};

/* Reads every byte of [p, p+n) inside the frame, so ASan checks the span, not just its ends. */
static void touch(const struct packet *pkt, const uint8_t *p, size_t n)
{
    if (n && (p < pkt->data || p > pkt->data + pkt->caplen ||
              n > (size_t)(pkt->data + pkt->caplen - p)))
        abort();
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++)
        sink ^= p[i];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t n = sizeof(linktypes) / sizeof(linktypes[0]);
    struct packet pkt = {0};
    pkt.linktype = linktypes[((size_t)data[0] << 8 | data[1]) % n];
    pkt.data = data + 2;
    pkt.caplen = (uint32_t)(size - 2);
    pkt.wirelen = pkt.caplen;
    if (!decode_linktype_supported(pkt.linktype))
        abort();

    int rc = decode_packet(&pkt);
    if (pkt.vlan_count > DECODE_MAX_VLAN || pkt.tunnel_count > DECODE_MAX_TUNNELS)
        abort();
    if (rc == DECODE_OK) {
        if (pkt.ip_proto != 6 || (pkt.ip_version != 4 && pkt.ip_version != 6))
            abort();
        touch(&pkt, pkt.payload, pkt.payload_len);
    } else if (rc == DECODE_FRAGMENT) {
        const struct packet_frag *f = &pkt.frag;
        if ((f->ip_version != 4 && f->ip_version != 6) || f->ip_version != pkt.ip_version ||
            !f->hdr || f->hdr_len < (f->ip_version == 4 ? 20u : 40u) || !f->data ||
            f->data != f->hdr + f->hdr_len + (f->ip_version == 6 ? 8 : 0) ||
            pkt.event == EV_NONE || pkt.event >= EV__COUNT)
            abort();
        touch(&pkt, f->hdr, f->hdr_len);
        touch(&pkt, f->data, f->data_len);
    } else if (rc == DECODE_SKIP || rc == DECODE_INVALID) {
        if (pkt.event == EV_NONE || pkt.event >= EV__COUNT)
            abort();
    } else {
        abort();
    }
    return 0;
}
