/* stream_fixture.h — what the TCP reassembly tests (test_stream.c, test_stream_hostile.c)
 * share: a sink that collects what a direction delivers (bytes, and the gaps declared, where),
 * hand-built segments, feeding byte ranges of a message by sequence number relative to an ISN,
 * and a SYN that starts a direction. Test code only, included after cmocka.h.
 */
#ifndef TW_TEST_STREAM_FIXTURE_H
#define TW_TEST_STREAM_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "stream.h"

#define MAX_GAPS 64

struct sink {
    uint8_t buf[8192];
    size_t len;
    size_t ngaps;
    struct {
        size_t at, len;
    } gaps[MAX_GAPS];
    const uint8_t *first_ptr; /* data pointer of the first delivery */
    int calls;
};

static inline void sink_cb(void *user, const uint8_t *data, size_t len)
{
    struct sink *s = user;
    if (s->calls++ == 0)
        s->first_ptr = data;
    assert_true(len > 0);
    if (!data) {
        assert_true(s->ngaps < MAX_GAPS);
        s->gaps[s->ngaps].at = s->len;
        s->gaps[s->ngaps].len = len;
        s->ngaps++;
        return;
    }
    assert_true(s->len + len <= sizeof(s->buf));
    memcpy(s->buf + s->len, data, len);
    s->len += len;
}

static inline struct packet mk(uint32_t seq, uint8_t flags, const uint8_t *p, uint32_t len)
{
    struct packet pkt;
    memset(&pkt, 0, sizeof(pkt));
    pkt.seq = seq;
    pkt.tcp_flags = flags;
    pkt.payload = p;
    pkt.payload_len = len;
    return pkt;
}

/* Feeds bytes [off, off+len) of msg, where msg byte 0 has sequence number isn+1. */
static inline int feed(struct stream_ctx *ctx, struct stream_dir *d, struct sink *s, uint32_t isn,
                       const uint8_t *msg, size_t off, size_t len, uint8_t flags)
{
    struct packet p = mk(isn + 1 + (uint32_t)off, flags | TCP_ACK, msg + off, (uint32_t)len);
    return stream_segment(ctx, d, &p, sink_cb, s);
}

static inline void syn(struct stream_ctx *ctx, struct stream_dir *d, struct sink *s, uint32_t isn)
{
    struct packet p = mk(isn, TCP_SYN, NULL, 0);
    assert_int_equal(stream_segment(ctx, d, &p, sink_cb, s), 0);
    assert_true(d->started && d->syn_seen);
    assert_int_equal(d->next_seq, isn + 1);
}

static const uint8_t MSG[] = "The quick brown fox jumps over the lazy dog, 0123456789!";
#define MSGLEN (sizeof(MSG) - 1)

#endif
