/* fuzz_defrag.c — libFuzzer entry point for sensor/flow/defrag.c.
 *
 * Input: one byte choosing the memcap (1 KiB, 8 KiB, 64 KiB, 1 MiB), then fragments of 7 bytes:
 *
 *   flags  id  offset/8 (2, big-endian)  length (2, big-endian, mod 2049)  fill
 *   flags: bit 0 IPv6, bit 3 MF, bit 4 other source address, bit 5 IPv6 extension headers /
 *          IPv4 options, bits 6-7 time step before it (0, 1 ms, 1.5 s, 5 s; timeout 2 s),
 *          bit 1 protocol 17 instead of 6.
 *   The fragment's byte at datagram offset i is (i * 31 + i / 256) ^ fill, so equal fills give
 *   equal overlaps and different fills differing ones.
 *
 * Packets are built as decode fills struct packet for DECODE_FRAGMENT. Besides ASan/UBSan, it
 * checks what the pipeline relies on: the memcap holds; a reassembled IPv4 datagram has a valid
 * checksum, MF and offset clear and a total length equal to its size; an IPv6 one a payload
 * length equal to its size less 40; neither exceeds 65535 (plus 40 for IPv6). The datagram is
 * then decoded as the pipeline would. Corpus: tests/fuzz/corpus/defrag/, made by
 * tests/fuzz/make_defrag_corpus.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "defrag.h"

#define REC 7

static const size_t memcaps[4] = {1024, 8192, 65536, 1 << 20};
static const uint64_t steps[4] = {0, 1000, 1500000, 5000000};

static uint16_t sum16(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static void check(const uint8_t *o, size_t n)
{
    if (n < 20)
        abort();
    if (o[0] >> 4 == 4) {
        size_t hl = (size_t)(o[0] & 15) * 4;
        if (hl < 20 || hl > n || n > 65535 || (size_t)(o[2] << 8 | o[3]) != n)
            abort();
        if ((o[6] & 0x3f) || o[7] || sum16(o, hl) != 0xffff)
            abort();
    } else if (o[0] >> 4 == 6) {
        if (n < 40 || n - 40 > 65535 || (size_t)(o[4] << 8 | o[5]) != n - 40)
            abort();
    } else {
        abort();
    }
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++)
        sink ^= o[i];
    (void)sink;
    struct packet p;
    memset(&p, 0, sizeof(p));
    (void)decode_ip(&p, o, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const uint8_t seed[16] = {1};
    size_t memcap = memcaps[data[0] & 3];
    struct defrag *d = defrag_new(memcap, 2, seed);
    if (!d)
        return 0;
    size_t base = defrag_memuse(d);
    uint64_t now = UINT64_C(1685620800000000);
    static uint8_t buf[2048];
    for (size_t at = 1; at + REC <= size; at += REC) {
        const uint8_t *r = data + at;
        int v6 = r[0] & 1, ext = r[0] >> 5 & 1;
        uint32_t off = (uint32_t)(r[2] << 8 | r[3]) * 8;
        uint32_t len = (uint32_t)(r[4] << 8 | r[5]) % 2049;
        now += steps[r[0] >> 6];
        for (uint32_t i = 0; i < len; i++) {
            uint32_t pos = off + i;
            buf[i] = (uint8_t)((pos * 31 + pos / 256) ^ r[6]);
        }

        uint8_t hdr[64] = {0};
        struct packet pkt;
        memset(&pkt, 0, sizeof(pkt));
        uint8_t proto = r[0] & 2 ? 17 : 6;
        if (!v6) {
            uint32_t hl = ext ? 24 : 20;
            hdr[0] = (uint8_t)(0x40 | hl / 4);
            hdr[6] = (uint8_t)((r[0] & 8 ? 0x20 : 0) | (off / 8 >> 8 & 0x1f));
            hdr[7] = (uint8_t)(off / 8);
            hdr[9] = proto;
            hdr[12] = 10;
            hdr[15] = r[0] & 16 ? 9 : 1;
            hdr[16] = 10;
            hdr[19] = 2;
            if (ext)
                memcpy(hdr + 20, "\x94\x04\x00\x00", 4);
            memcpy(pkt.src, hdr + 12, 4);
            memcpy(pkt.dst, hdr + 16, 4);
            pkt.frag.hdr_len = hl;
        } else {
            hdr[0] = 0x60;
            hdr[6] = ext ? 0 : 44;
            hdr[8] = 0x20;
            hdr[23] = r[0] & 16 ? 9 : 1;
            hdr[24] = 0x20;
            hdr[39] = 2;
            if (ext) {
                memcpy(hdr + 40, "\x3c\x00\x01\x04\x00\x00\x00\x00", 8);
                memcpy(hdr + 48, "\x2c\x00\x01\x04\x00\x00\x00\x00", 8);
            }
            memcpy(pkt.src, hdr + 8, 16);
            memcpy(pkt.dst, hdr + 24, 16);
            pkt.frag.hdr_len = ext ? 56 : 40;
        }
        pkt.ip_version = v6 ? 6 : 4;
        pkt.frag.ip_version = pkt.ip_version;
        pkt.frag.proto = proto;
        pkt.frag.more = r[0] >> 3 & 1;
        pkt.frag.id = r[1];
        pkt.frag.offset = off;
        pkt.frag.hdr = hdr;
        pkt.frag.data = buf;
        pkt.frag.data_len = len;

        const uint8_t *o = NULL;
        size_t n = 0;
        int rc = defrag_add(d, &pkt, now, &o, &n);
        if (rc == 1)
            check(o, n);
        else if (rc != 0 || o)
            abort();
        if (memcap > base && defrag_memuse(d) > memcap)
            abort();
    }
    const struct defrag_stats *st = defrag_stats(d);
    if (st->ipv4.fragments + st->ipv6.fragments + st->atomic != (size - 1) / REC ||
        st->overlap_diff > st->overlaps)
        abort();
    defrag_free(d);
    return 0;
}
