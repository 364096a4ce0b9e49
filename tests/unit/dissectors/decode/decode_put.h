/* decode_put.h — the packet builder and checks shared by test_decode.c and test_decode_ip.c
 * (not a module header: test code only, included after cmocka.h).
 *
 * Packets are built front to back (put8/put16/put32 append in network order): link header, IP
 * header, extension headers, then a TCP segment carrying a fixed HTTP request; expect_tcp()
 * checks every field decode_packet() fills for it. Decoding always works on a heap copy of
 * exactly the frame's length (decode_copy), so ASan flags any read past caplen.
 * (decode_build.h is the other builder, which prepends headers, for tunnels and fragments.)
 */
#ifndef TW_TEST_DECODE_PUT_H
#define TW_TEST_DECODE_PUT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* ---- packet builder ---------------------------------------------------------------------- */

struct buf {
    uint8_t b[4096];
    size_t n;
};

static inline void put8(struct buf *b, unsigned v)
{
    assert_true(b->n < sizeof(b->b));
    b->b[b->n++] = (uint8_t)v;
}

static inline void put16(struct buf *b, unsigned v)
{
    put8(b, v >> 8);
    put8(b, v & 0xff);
}

static inline void put32(struct buf *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}

static inline void putn(struct buf *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof(b->b));
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static inline void putfill(struct buf *b, unsigned v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(b, v);
}

static const char PAYLOAD[] = "GET / HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n";
#define PAYLOAD_LEN (sizeof(PAYLOAD) - 1)

#define SPORT 49152
#define DPORT 80
#define SEQ 0x01020304u
#define ACK 0xa0b0c0d0u
#define WIN 0xfedc
#define FLAGS (TCP_PSH | TCP_ACK)

/* A TCP segment with `optlen` bytes of NOP options (multiple of 4) and the test payload. */
static inline void tcp_segment(struct buf *b, size_t optlen, size_t plen)
{
    put16(b, SPORT);
    put16(b, DPORT);
    put32(b, SEQ);
    put32(b, ACK);
    put8(b, (unsigned)((20 + optlen) / 4) << 4);
    put8(b, FLAGS);
    put16(b, WIN);
    put16(b, 0xdead); /* wrong checksum on purpose: must not matter */
    put16(b, 0);
    putfill(b, 1, optlen);
    putn(b, PAYLOAD, plen);
}

static const uint8_t SRC4[4] = {192, 0, 2, 1}, DST4[4] = {198, 51, 100, 7};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2};

/* IPv4 header with optlen bytes of options; total = header + l4len unless total_override. */
static inline void ipv4_header(struct buf *b, size_t optlen, unsigned proto, unsigned frag,
                               size_t l4len, int total_override)
{
    put8(b, 0x40 | (unsigned)((20 + optlen) / 4));
    put8(b, 0);
    put16(b, total_override >= 0 ? (unsigned)total_override : (unsigned)(20 + optlen + l4len));
    put16(b, 0x1234);
    put16(b, frag);
    put8(b, 64);
    put8(b, proto);
    put16(b, 0);
    putn(b, SRC4, 4);
    putn(b, DST4, 4);
    putfill(b, 1, optlen); /* NOP options */
}

static inline void ipv4_tcp(struct buf *b)
{
    ipv4_header(b, 0, 6, 0x4000, 20 + PAYLOAD_LEN, -1);
    tcp_segment(b, 0, PAYLOAD_LEN);
}

static inline void ipv6_header(struct buf *b, unsigned nh, size_t plen)
{
    put32(b, 0x60000000);
    put16(b, (unsigned)plen);
    put8(b, nh);
    put8(b, 64);
    putn(b, SRC6, 16);
    putn(b, DST6, 16);
}

static inline void ipv6_tcp(struct buf *b)
{
    ipv6_header(b, 6, 20 + PAYLOAD_LEN);
    tcp_segment(b, 0, PAYLOAD_LEN);
}

static inline void eth_header(struct buf *b, unsigned type)
{
    putfill(b, 0xaa, 6);
    putfill(b, 0xbb, 6);
    put16(b, type);
}

/* Decodes a heap copy of exactly len bytes, so ASan flags any over-read. */
static inline int decode_copy(struct packet *pkt, int linktype, const uint8_t *p, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    memset(pkt, 0x5a, sizeof(*pkt)); /* garbage: decode_packet must clear its outputs */
    pkt->vxlan_ports = pkt->geneve_ports = NULL; /* inputs: default tunnel ports */
    pkt->nvxlan_ports = pkt->ngeneve_ports = 0;
    pkt->data = copy;
    pkt->caplen = (uint32_t)len;
    pkt->wirelen = (uint32_t)len;
    pkt->linktype = linktype;
    int rc = decode_packet(pkt);
    if (rc == DECODE_OK && pkt->payload_len)
        assert_true(pkt->payload >= copy && pkt->payload + pkt->payload_len <= copy + len);
    if (rc != DECODE_OK)
        assert_true(pkt->event != EV_NONE && pkt->event < EV__COUNT);
    /* The copy is freed below: rebase the payload span onto the caller's identical buffer. */
    if (rc == DECODE_OK)
        pkt->payload = p + (pkt->payload - copy);
    pkt->data = p;
    free(copy);
    return rc;
}

static inline void expect_tcp(const struct packet *pkt, int version, size_t plen)
{
    assert_int_equal(pkt->ip_version, version);
    assert_int_equal(pkt->ip_proto, 6);
    if (version == 4) {
        assert_memory_equal(pkt->src, SRC4, 4);
        assert_memory_equal(pkt->dst, DST4, 4);
        static const uint8_t zero[12];
        assert_memory_equal(pkt->src + 4, zero, 12);
        assert_memory_equal(pkt->dst + 4, zero, 12);
    } else {
        assert_memory_equal(pkt->src, SRC6, 16);
        assert_memory_equal(pkt->dst, DST6, 16);
    }
    assert_int_equal(pkt->sport, SPORT);
    assert_int_equal(pkt->dport, DPORT);
    assert_int_equal(pkt->seq, SEQ);
    assert_int_equal(pkt->ack, ACK);
    assert_int_equal(pkt->window, WIN);
    assert_int_equal(pkt->tcp_flags, FLAGS);
    assert_int_equal(pkt->payload_len, plen);
    if (plen)
        assert_memory_equal(pkt->payload, PAYLOAD, plen);
}

/* The status and the event (EV_NONE with DECODE_OK) of decoding b. */
static inline void expect_status(int linktype, const struct buf *b, int want, int event)
{
    struct packet pkt;
    int rc = decode_copy(&pkt, linktype, b->b, b->n);
    if (rc != want)
        fail_msg("linktype %d: status %d (%s), want %d (%s)", linktype, rc,
                 events_text(pkt.event), want, events_text((unsigned)event));
    if (pkt.event != event)
        fail_msg("linktype %d: event %s, want %s", linktype, events_text(pkt.event),
                 events_text((unsigned)event));
}

/* An options-style extension header (HBH, DSTOPTS, ROUTING) of units*8 bytes. */
static inline void ext_hdr(struct buf *b, unsigned next, unsigned units)
{
    put8(b, next);
    put8(b, units - 1);
    putfill(b, 0, units * 8 - 2); /* Pad1/PadN content is irrelevant to the walk */
}

#endif
