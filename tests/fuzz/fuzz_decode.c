/* fuzz_decode.c — libFuzzer entry point for decode_packet() (dissectors/decode_*.c).
 *
 * Input: 2 bytes that pick a link type from the supported list (big-endian index, taken modulo
 * the list length), then the captured frame. Besides ASan/UBSan finding reads past caplen, it
 * checks the contract other stages rely on: a payload span lies inside the frame, VLAN count
 * is bounded, every non-OK result carries a reason. Corpus: tests/fuzz/corpus/decode/, made by
 * tests/fuzz/make_decode_corpus.py (keep its link type list in step with this one).
 */
#include <stdint.h>
#include <stdlib.h>

#include "decode.h"

static const int linktypes[] = {
    DECODE_LINK_ETHERNET, DECODE_LINK_SLL,   DECODE_LINK_SLL2,  DECODE_LINK_RAW,
    DECODE_LINK_RAW_DLT,  DECODE_LINK_RAW_DLT14, DECODE_LINK_IPV4, DECODE_LINK_IPV6,
    DECODE_LINK_NULL,     DECODE_LINK_LOOP,
};

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
    if (pkt.vlan_count > DECODE_MAX_VLAN)
        abort();
    if (rc == DECODE_OK) {
        if (pkt.ip_proto != 6 || (pkt.ip_version != 4 && pkt.ip_version != 6))
            abort();
        if (pkt.payload < pkt.data || pkt.payload > pkt.data + pkt.caplen ||
            pkt.payload_len > (size_t)(pkt.data + pkt.caplen - pkt.payload))
            abort();
        /* Touch every payload byte so ASan checks the span, not just its ends. */
        volatile uint8_t sink = 0;
        for (uint32_t i = 0; i < pkt.payload_len; i++)
            sink ^= pkt.payload[i];
        (void)sink;
    } else if (rc == DECODE_SKIP || rc == DECODE_INVALID) {
        if (!pkt.reason || !pkt.reason[0])
            abort();
    } else {
        abort();
    }
    return 0;
}
