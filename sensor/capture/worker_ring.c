/* worker_ring.c — the single-producer, single-consumer packet ring between a capture thread and
 * a worker of a live -j N run, or between the reader and a worker reading files with -j N (see
 * worker.h for the record layout). Owns the ring's buffer and the copies of the packets in it.
 * No lock: the producer owns head, the consumer tail; each publishes its position with a
 * release store and reads the other's with an acquire load. Each keeps its last look at the
 * other's position (tail_cache, head_cache), so that the producer reads the consumer's cache line
 * only when the ring looks full, and the consumer the producer's only when it has consumed all
 * it last saw: not a line moved between the two cores per packet.
 */
#include "worker.h"

#include <stdlib.h>
#include <string.h>

#define REC_ALIGN 8u

struct worker_ring *worker_ring_new(size_t cap)
{
    size_t c = 64u << 10;
    while (c < cap)
        c <<= 1;
    struct worker_ring *r = aligned_alloc(64, sizeof(*r));
    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->buf = malloc(c);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    r->cap = c;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->drops, 0);
    return r;
}

void worker_ring_free(struct worker_ring *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

int worker_ring_push(struct worker_ring *r, const struct worker_pkt *hdr, const uint8_t *data)
{
    if (worker_ring_try_push(r, hdr, data) == 0)
        return 0;
    atomic_fetch_add_explicit(&r->drops, 1, memory_order_relaxed);
    return -1;
}

int worker_ring_try_push(struct worker_ring *r, const struct worker_pkt *hdr,
                         const uint8_t *data)
{
    size_t need = (sizeof(*hdr) + hdr->caplen + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t off = head & (r->cap - 1), to_end = r->cap - off;
    size_t total = need <= to_end ? need : to_end + need;
    if (need > r->cap / 2)
        return -1;
    if (total > r->cap - (head - r->tail_cache)) {
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (total > r->cap - (head - r->tail_cache))
            return -1;
    }
    if (need > to_end) {
        /* Offsets are multiples of 8, so at least the 4-byte size fits before the end. */
        uint32_t pad = (uint32_t)to_end | WORKER_PAD;
        memcpy(r->buf + off, &pad, sizeof(pad));
        head += to_end;
        off = 0;
    }
    struct worker_pkt h = *hdr;
    h.size = (uint32_t)need;
    memcpy(r->buf + off, &h, sizeof(h));
    if (hdr->caplen) /* a clock tick has no data (and data may be NULL) */
        memcpy(r->buf + off + sizeof(h), data, hdr->caplen);
    atomic_store_explicit(&r->head, head + need, memory_order_release);
    return 0;
}

const struct worker_pkt *worker_ring_peek(struct worker_ring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (tail == r->head_cache) /* the acquire that saw head_cache made records below it visible */
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t head = r->head_cache;
    while (tail != head) {
        size_t off = tail & (r->cap - 1);
        uint32_t size;
        memcpy(&size, r->buf + off, sizeof(size));
        if (!(size & WORKER_PAD))
            return (const struct worker_pkt *)(const void *)(r->buf + off);
        tail += size & ~WORKER_PAD;
        atomic_store_explicit(&r->tail, tail, memory_order_release);
    }
    return NULL;
}

void worker_ring_release(struct worker_ring *r, const struct worker_pkt *p)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + p->size, memory_order_release);
}
