/* tcp_pkt.h — one raw IPv4/TCP packet for the app-layer unit tests (test_applayer,
 * test_app_proto, test_app_http2, test_app_ws), which drive a real flow through sensor_packet
 * with DECODE_LINK_RAW. Header only, for the tests; the caller frees the packet. */
#ifndef TW_TEST_TCP_PKT_H
#define TW_TEST_TCP_PKT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A 40-byte IPv4 + TCP header (TTL 64, window 255 * 256, no options) then payload[0..len):
 * *tot is the packet's length. */
static inline uint8_t *tcp4_pkt(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                                uint8_t flags, uint32_t seq, const void *payload, size_t len,
                                size_t *tot)
{
    uint8_t *p = calloc(1, 40 + len);
    *tot = 40 + len;
    p[0] = 0x45;
    p[2] = (uint8_t)(*tot >> 8);
    p[3] = (uint8_t)*tot;
    p[8] = 64;
    p[9] = 6;
    for (int i = 0; i < 4; i++) {
        p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
        p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    uint8_t *t = p + 20;
    t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8), t[3] = (uint8_t)dport;
    for (int i = 0; i < 4; i++)
        t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
    t[12] = 5 << 4;
    t[13] = flags;
    t[14] = 0xff;
    if (len)
        memcpy(p + 40, payload, len);
    return p;
}

#endif
