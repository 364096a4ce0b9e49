/* hpack_test.h — helpers shared by test_hpack.c and test_hpack_diff.c: hex blocks, a collector
 * of emitted fields that checks where each span points, nghttp2's deflater and inflater as the
 * reference (libnghttp2, linked by these tests only), and the decoder's self-checks after every
 * block. Header-only (static functions), included once per test program. */
#ifndef TW_HPACK_TEST_H
#define TW_HPACK_TEST_H

#include <nghttp2/nghttp2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../../dissectors/http/hpack_int.h"
#include "hpack.h"

struct tfield {
    uint8_t *name, *value;
    size_t name_len, value_len;
    unsigned flags;
    size_t pos; /* the representation's position in the block (fields + unresolved before it) */
};

struct tfields {
    struct tfield *f;
    size_t n, cap;
    /* what the spans may point into: the block, the decoder's buffers, the static table */
    const struct hpack_dec *d;
    const uint8_t *block;
    size_t block_len;
    struct hpack_counts c; /* the counts of the last decode, from zero */
};

static inline int t_inside(const struct tfields *t, struct span s)
{
    const struct hpack_dec *d = t->d;
    const uint8_t *p = s.p;
    if (!p)
        return 0;
    if (p >= t->block && p + s.len <= t->block + t->block_len)
        return 1;
    if (d->scratch && p >= d->scratch && p + s.len <= d->scratch + d->scratch_cap)
        return 1;
    if (d->buf && p >= d->buf && p + s.len <= d->buf + d->buf_cap)
        return 1;
    return hpack_static_owns(p);
}

static inline void t_collect(void *ctx, const struct hpack_field *f)
{
    struct tfields *t = ctx;
    assert_true(t_inside(t, f->name));
    assert_true(t_inside(t, f->value));
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->f = realloc(t->f, t->cap * sizeof(*t->f));
        assert_non_null(t->f);
    }
    struct tfield *o = &t->f[t->n++];
    o->name = malloc(f->name.len + 1);
    o->value = malloc(f->value.len + 1);
    assert_true(o->name && o->value);
    memcpy(o->name, f->name.p, f->name.len);
    memcpy(o->value, f->value.p, f->value.len);
    o->name[f->name.len] = o->value[f->value.len] = 0;
    o->name_len = f->name.len;
    o->value_len = f->value.len;
    o->flags = f->flags;
    o->pos = (size_t)(t->c.fields - 1 + t->c.unresolved);
}

static inline void t_clear(struct tfields *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->f[i].name);
        free(t->f[i].value);
    }
    t->n = 0;
}

static inline void t_free(struct tfields *t)
{
    t_clear(t);
    free(t->f);
    t->f = NULL;
    t->cap = 0;
}

static inline void t_check(const struct hpack_dec *d)
{
    const char *why = NULL;
    if (hpack_dec_check(d, &why)) {
        print_error("hpack_dec_check: %s\n", why);
        fail();
    }
    assert_int_equal(hpack_dec_mem(d), hpack_dec_recount(d));
}

/* Decodes one block into t (cleared first; t->c counts this block only); checks the decoder. */
static inline enum hpack_status t_decode(struct hpack_dec *d, const uint8_t *p, size_t n,
                                         struct tfields *t)
{
    t_clear(t);
    memset(&t->c, 0, sizeof(t->c));
    t->d = d;
    t->block = p;
    t->block_len = n;
    enum hpack_status s = hpack_decode(d, p, n, t_collect, t, &t->c);
    assert_int_equal(t->c.fields, t->n);
    t_check(d);
    return s;
}

/* Hex digits, spaces and newlines ignored. */
static inline size_t t_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int half = -1;
    for (const char *c = hex; *c; c++) {
        int v;
        if (*c >= '0' && *c <= '9')
            v = *c - '0';
        else if (*c >= 'a' && *c <= 'f')
            v = *c - 'a' + 10;
        else
            continue;
        if (half < 0) {
            half = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(half << 4 | v);
            half = -1;
        }
    }
    assert_int_equal(half, -1);
    return n;
}

/* "name: value\n" for each field (NAME_UNKNOWN shown as "?"). */
static inline char *t_text(const struct tfields *t)
{
    size_t len = 1;
    for (size_t i = 0; i < t->n; i++)
        len += t->f[i].name_len + t->f[i].value_len + 4;
    char *s = malloc(len), *o = s;
    assert_non_null(s);
    for (size_t i = 0; i < t->n; i++)
        o += sprintf(o, "%s: %s\n", (t->f[i].flags & HPACK_F_NAME_UNKNOWN) ? "?" : (char *)t->f[i].name,
                     (char *)t->f[i].value);
    *o = 0;
    return s;
}

/* Deterministic xorshift64*. */
static inline uint64_t t_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* nghttp2's deflater: one header block of nv into out (malloc'd). */
static inline size_t t_deflate(nghttp2_hd_deflater *def, const nghttp2_nv *nv, size_t n,
                               uint8_t **out)
{
    size_t bound = nghttp2_hd_deflate_bound(def, nv, n);
    *out = malloc(bound ? bound : 1);
    assert_non_null(*out);
    ssize_t r = nghttp2_hd_deflate_hd(def, *out, bound, nv, n);
    assert_true(r >= 0);
    return (size_t)r;
}

static inline nghttp2_nv t_nv(const char *name, const void *value, size_t value_len, int no_index)
{
    nghttp2_nv nv = {(uint8_t *)name, (uint8_t *)value, strlen(name), value_len,
                     no_index ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE};
    return nv;
}

/* Our fields equal nv[0..n) exactly: names, values, never-indexed where nghttp2's inflater says
 * so (inflated: its output for the same block, NULL to skip that check). */
static inline void t_same(const struct tfields *t, const nghttp2_nv *nv, size_t n,
                          const struct tfields *inflated)
{
    assert_int_equal(t->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(t->f[i].name_len, nv[i].namelen);
        assert_memory_equal(t->f[i].name, nv[i].name, nv[i].namelen);
        assert_int_equal(t->f[i].value_len, nv[i].valuelen);
        if (nv[i].valuelen)
            assert_memory_equal(t->f[i].value, nv[i].value, nv[i].valuelen);
        assert_false(t->f[i].flags & HPACK_F_NAME_UNKNOWN);
        if (inflated)
            assert_int_equal(!!(t->f[i].flags & HPACK_F_NEVER_INDEXED),
                             !!(inflated->f[i].flags & HPACK_F_NEVER_INDEXED));
    }
}

/* nghttp2's inflater over one block: its fields into t (flags: NEVER_INDEXED only); its table
 * size after. */
static inline size_t t_inflate(nghttp2_hd_inflater *inf, const uint8_t *p, size_t n,
                               struct tfields *t)
{
    t_clear(t);
    for (;;) {
        nghttp2_nv nv;
        int flags = 0;
        ssize_t r = nghttp2_hd_inflate_hd2(inf, &nv, &flags, p, n, 1);
        assert_true(r >= 0);
        p += r;
        n -= (size_t)r;
        if (flags & NGHTTP2_HD_INFLATE_EMIT) {
            if (t->n == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 16;
                t->f = realloc(t->f, t->cap * sizeof(*t->f));
                assert_non_null(t->f);
            }
            struct tfield *o = &t->f[t->n++];
            o->name = malloc(nv.namelen + 1);
            o->value = malloc(nv.valuelen + 1);
            memcpy(o->name, nv.name, nv.namelen);
            memcpy(o->value, nv.value, nv.valuelen);
            o->name[nv.namelen] = o->value[nv.valuelen] = 0;
            o->name_len = nv.namelen;
            o->value_len = nv.valuelen;
            o->flags = (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) ? HPACK_F_NEVER_INDEXED : 0;
        }
        if (flags & NGHTTP2_HD_INFLATE_FINAL) {
            nghttp2_hd_inflate_end_headers(inf);
            break;
        }
        if (n == 0 && !(flags & NGHTTP2_HD_INFLATE_EMIT))
            break;
    }
    return nghttp2_hd_inflate_get_dynamic_table_size(inf);
}

#endif
