/* test_hpack_diff.c — dissectors/http/hpack.c against nghttp2 (libnghttp2, linked by the hpack
 * tests only): thousands of random header lists (common and random names, printable and binary
 * values, 900-byte tokens, values larger than the table, never-indexed fields, cookie crumbs,
 * table size changes) coded by nghttp2's deflater must decode to exactly the same fields as
 * nghttp2's inflater gives, never-indexed flags and table size included; late joins into a long
 * sequence of request blocks: every field emitted is the original (positions from the counts),
 * every literal is emitted, the unresolved count is exactly what is missing, the known entries
 * equal the full decoder's; once the encoder's table has turned over nothing is unresolved (a
 * name the encoder keeps taking from a chain of entries older than the join stays unknown: it
 * never travels again), and once the table is emptied (size updates) everything decodes; a
 * table larger than HPACK_TABLE_CAP: what is emitted is right, the rest unresolved, no error;
 * random Huffman strings accepted or refused as nghttp2's inflater does.
 * Also prints the decoding speed (MB/s of header blocks, ours and nghttp2's inflater) and the
 * Huffman decoder's, for the record: no bound is asserted (speed is measured, not tested). */
#include <time.h>

#include "hpack_test.h"

/* ---- random header lists ---- */

#define POOL (4u << 20)
static uint8_t *pool;
static size_t pool_used;

static uint8_t *take(size_t n)
{
    assert_true(pool_used + n <= POOL);
    uint8_t *p = pool + pool_used;
    pool_used += n;
    return p;
}

static const char *const names[] = {
    ":method", ":path", ":authority", ":scheme", ":status", "user-agent", "accept",
    "accept-encoding", "accept-language", "authorization", "cookie", "content-type",
    "content-length", "x-request-id", "grpc-timeout", "te", "x-api-key", "dpop", "referer",
    "cache-control", "if-none-match", "x-forwarded-for", "proxy-authorization", "x-b3-traceid",
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void jwt(uint64_t *seed, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)b64[t_rand(seed) % 64];
    p[36] = p[n / 2] = '.';
}

static nghttp2_nv random_field(uint64_t *seed)
{
    nghttp2_nv nv = {0};
    uint64_t r = t_rand(seed);
    if (r % 10 < 7) {
        const char *n = names[t_rand(seed) % (sizeof(names) / sizeof(names[0]))];
        nv.name = (uint8_t *)n;
        nv.namelen = strlen(n);
    } else {
        nv.namelen = 1 + t_rand(seed) % 24;
        nv.name = take(nv.namelen);
        for (size_t i = 0; i < nv.namelen; i++)
            nv.name[i] = r % 10 == 9 ? (uint8_t)t_rand(seed) : (uint8_t)("abcxyz-019"[t_rand(seed) % 10]);
    }
    switch (t_rand(seed) % 16) {
    case 0: /* binary */
        nv.valuelen = t_rand(seed) % 256;
        nv.value = take(nv.valuelen);
        for (size_t i = 0; i < nv.valuelen; i++)
            nv.value[i] = (uint8_t)t_rand(seed);
        break;
    case 1: /* a bearer token */
        nv.valuelen = 907;
        nv.value = take(nv.valuelen);
        memcpy(nv.value, "Bearer ", 7);
        jwt(seed, nv.value + 7, 900);
        break;
    case 2: /* larger than most tables */
        nv.valuelen = t_rand(seed) % 8 ? 0 : 3000 + t_rand(seed) % 3000;
        nv.value = take(nv.valuelen + 1);
        memset(nv.value, 'v', nv.valuelen);
        break;
    default: /* printable, often one of a few values (so that indexing pays) */
        nv.valuelen = t_rand(seed) % 2 ? t_rand(seed) % 3 : t_rand(seed) % 60;
        nv.value = take(nv.valuelen + 1);
        for (size_t i = 0; i < nv.valuelen; i++)
            nv.value[i] = (uint8_t)(' ' + t_rand(seed) % 95);
        break;
    }
    if (t_rand(seed) % 10 == 0 || (nv.namelen == 13 && !memcmp(nv.name, "authorization", 13)))
        nv.flags = NGHTTP2_NV_FLAG_NO_INDEX;
    return nv;
}

static size_t random_list(uint64_t *seed, nghttp2_nv *nv, size_t max)
{
    size_t n = 1 + t_rand(seed) % (max - 4);
    for (size_t i = 0; i < n; i++)
        nv[i] = random_field(seed);
    if (t_rand(seed) % 4 == 0) /* cookie crumbs: one field each (RFC 9113 §8.2.3) */
        for (int k = 0; k < 4; k++) {
            char *c = (char *)take(32);
            int len = snprintf(c, 32, "c%d=%08x", k, (unsigned)t_rand(seed));
            nv[n++] = t_nv("cookie", c, (size_t)len, 0);
        }
    return n;
}

static void test_differential(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 256, 1024, 4096, 8192, 65536, 100, 4096};
    nghttp2_hd_deflater *def;
    nghttp2_hd_inflater *inf;
    assert_int_equal(nghttp2_hd_deflate_new(&def, 65536), 0);
    assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
    struct hpack_dec d;
    hpack_dec_init(&d, 1);
    struct tfields t = {0}, ref = {0};
    uint64_t seed = 7;
    uint64_t fields = 0, bytes = 0, inserted = 0;
    for (int i = 0; i < 4000; i++) {
        pool_used = 0;
        if (t_rand(&seed) % 20 == 0) {
            size_t s = sizes[t_rand(&seed) % 8];
            assert_int_equal(nghttp2_hd_deflate_change_table_size(def, s), 0);
            assert_int_equal(nghttp2_hd_inflate_change_table_size(inf, s), 0);
            hpack_dec_set_limit(&d, (uint32_t)s);
        }
        nghttp2_nv nv[32];
        size_t n = random_list(&seed, nv, 24);
        uint8_t *blk;
        size_t len = t_deflate(def, nv, n, &blk);
        size_t inf_size = t_inflate(inf, blk, len, &ref);
        assert_int_equal(t_decode(&d, blk, len, &t), HPACK_OK);
        t_same(&t, nv, n, &ref);
        assert_int_equal(d.size, inf_size);
        assert_int_equal(d.size, nghttp2_hd_deflate_get_dynamic_table_size(def));
        assert_int_equal(d.count, nghttp2_hd_deflate_get_num_table_entries(def) - 61);
        assert_int_equal(t.c.unresolved + t.c.errors + t.c.name_unknown, 0);
        fields += n;
        bytes += len;
        free(blk);
    }
    inserted = d.inserted;
    print_message("differential: 4000 blocks, %llu fields, %llu bytes, %llu insertions\n",
                  (unsigned long long)fields, (unsigned long long)bytes,
                  (unsigned long long)inserted);
    assert_true(inserted > 10000);
    t_free(&t);
    t_free(&ref);
    hpack_dec_free(&d);
    nghttp2_hd_deflate_del(def);
    nghttp2_hd_inflate_del(inf);
}

/* Random Huffman strings (bytes biased towards ones, so that long codes, EOS and every kind of
 * padding come up) in a literal: accepted or refused exactly as nghttp2's inflater does, with
 * the same value. */
static void test_huffman_random(void **state)
{
    (void)state;
    uint64_t seed = 3;
    struct tfields t = {0}, ref = {0};
    int refused = 0;
    for (int i = 0; i < 20000; i++) {
        uint8_t blk[64] = {0x00, 0x01, 'x'};
        size_t len = t_rand(&seed) % 40;
        blk[3] = (uint8_t)(0x80 | len);
        for (size_t k = 0; k < len; k++) {
            uint64_t r = t_rand(&seed);
            blk[4 + k] = (uint8_t)(r % 3 ? r | (r >> 8) | (r >> 16) : r);
        }
        if (len && t_rand(&seed) % 2)
            blk[3 + len] |= (uint8_t)((1u << (t_rand(&seed) % 8)) - 1); /* ones at the end */
        nghttp2_hd_inflater *inf;
        assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
        nghttp2_nv nv;
        int fl = 0;
        ssize_t r = nghttp2_hd_inflate_hd2(inf, &nv, &fl, blk, 4 + len, 1);
        struct hpack_dec d;
        hpack_dec_init(&d, 1);
        enum hpack_status st = t_decode(&d, blk, 4 + len, &t);
        if (r < 0) {
            assert_int_equal(st, HPACK_ERR_HUFFMAN);
            refused++;
        } else {
            assert_true(fl & NGHTTP2_HD_INFLATE_EMIT);
            assert_int_equal(st, HPACK_OK);
            assert_int_equal(t.n, 1);
            assert_int_equal(t.f[0].value_len, nv.valuelen);
            assert_memory_equal(t.f[0].value, nv.value, nv.valuelen);
        }
        hpack_dec_free(&d);
        nghttp2_hd_inflate_del(inf);
    }
    assert_true(refused > 1000 && refused < 19000);
    t_free(&t);
    t_free(&ref);
}

/* ---- late joins ---- */

#define BLOCKS 400
#define FLUSH 250

struct seq {
    nghttp2_nv nv[BLOCKS][16];
    size_t n[BLOCKS];
    uint8_t *blk[BLOCKS];
    size_t len[BLOCKS];
};

/* A client's requests: a few hosts and tokens (some never indexed), varying paths and request
 * ids (which keep the table turning over), cookie crumbs; at block FLUSH the table is emptied by
 * size updates (0, then 4096). */
static void make_requests(struct seq *s, nghttp2_hd_deflater *def, uint64_t *seed)
{
    static const char *const hosts[] = {"api.example.com", "auth.example.com", "files.example.org"};
    uint8_t *tokens[5];
    for (int k = 0; k < 5; k++) {
        tokens[k] = take(907);
        memcpy(tokens[k], "Bearer ", 7);
        jwt(seed, tokens[k] + 7, 900);
    }
    for (int b = 0; b < BLOCKS; b++) {
        nghttp2_nv *nv = s->nv[b];
        size_t n = 0;
        char *path = (char *)take(64), *rid = (char *)take(20), *c1 = (char *)take(32);
        int pl = snprintf(path, 64, "/api/v1/items/%u?page=%u", (unsigned)(t_rand(seed) % 1000),
                          (unsigned)(t_rand(seed) % 5));
        int rl = snprintf(rid, 20, "%016llx", (unsigned long long)t_rand(seed));
        int cl = snprintf(c1, 32, "session=%08x", (unsigned)(t_rand(seed) % 7));
        const char *host = hosts[t_rand(seed) % 3];
        int tk = (int)(t_rand(seed) % 5);
        nv[n++] = t_nv(":method", t_rand(seed) % 4 ? "GET" : "POST", 0, 0);
        nv[n - 1].valuelen = strlen((const char *)nv[n - 1].value);
        nv[n++] = t_nv(":scheme", "https", 5, 0);
        nv[n++] = t_nv(":authority", host, strlen(host), 0);
        nv[n++] = t_nv(":path", path, (size_t)pl, 0);
        nv[n++] = t_nv("user-agent", "tokenwatch-test/1.0 (x86_64)", 28, 0);
        nv[n++] = t_nv("accept", "application/json", 16, 0);
        nv[n++] = t_nv("accept-encoding", "gzip, deflate, br", 17, 0);
        nv[n++] = t_nv("authorization", tokens[tk], 907, tk < 2); /* two clients: never indexed */
        nv[n++] = t_nv("x-request-id", rid, (size_t)rl, 0);
        nv[n++] = t_nv("cookie", c1, (size_t)cl, 0);
        nv[n++] = t_nv("cookie", "theme=dark", 10, 0);
        if (t_rand(seed) % 3 == 0)
            nv[n++] = t_nv("x-tenant", "contoso", 7, 0);
        s->n[b] = n;
        if (b == FLUSH) { /* a SETTINGS round trip: the block starts with updates to 0, 4096 */
            assert_int_equal(nghttp2_hd_deflate_change_table_size(def, 0), 0);
            assert_int_equal(nghttp2_hd_deflate_change_table_size(def, 4096), 0);
        }
        s->len[b] = t_deflate(def, nv, n, &s->blk[b]);
    }
}

static void test_late_join(void **state)
{
    (void)state;
    struct seq *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    uint64_t seed = 99;
    pool_used = 0;
    nghttp2_hd_deflater *def;
    assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
    make_requests(s, def, &seed);
    nghttp2_hd_deflate_del(def);
    static const int joins[] = {1, 2, 5, 37, 150, 333};
    struct tfields full_f = {0}, late_f = {0};
    for (size_t j = 0; j < sizeof(joins) / sizeof(joins[0]); j++) {
        int k = joins[j];
        struct hpack_dec full, late;
        hpack_dec_init(&full, 1);
        hpack_dec_init(&late, 0);
        uint64_t ins_at_join = 0;
        int turned = 0, turned_at = -1;
        uint64_t unresolved = 0, unknown = 0;
        for (int b = 0; b < BLOCKS; b++) {
            if (b == k)
                ins_at_join = full.inserted;
            assert_int_equal(t_decode(&full, s->blk[b], s->len[b], &full_f), HPACK_OK);
            t_same(&full_f, s->nv[b], s->n[b], NULL);
            if (b < k)
                continue;
            assert_int_equal(t_decode(&late, s->blk[b], s->len[b], &late_f), HPACK_OK);
            const nghttp2_nv *nv = s->nv[b];
            /* every field emitted is the original at its position; every literal is emitted */
            size_t next = 0;
            for (size_t i = 0; i < late_f.n; i++) {
                const struct tfield *f = &late_f.f[i];
                assert_true(f->pos < s->n[b]);
                for (; next < f->pos; next++) /* skipped: only indexed fields may be */
                    assert_true(full_f.f[next].flags & HPACK_F_INDEXED);
                next = f->pos + 1;
                assert_int_equal(f->value_len, nv[f->pos].valuelen);
                assert_memory_equal(f->value, nv[f->pos].value, f->value_len);
                if (f->flags & HPACK_F_NAME_UNKNOWN) {
                    assert_int_equal(f->name_len, 0);
                } else {
                    assert_int_equal(f->name_len, nv[f->pos].namelen);
                    assert_memory_equal(f->name, nv[f->pos].name, f->name_len);
                }
                assert_int_equal(f->flags & ~HPACK_F_NAME_UNKNOWN, full_f.f[f->pos].flags);
            }
            for (; next < s->n[b]; next++)
                assert_true(full_f.f[next].flags & HPACK_F_INDEXED);
            assert_int_equal(late_f.c.fields + late_f.c.unresolved, s->n[b]);
            unresolved += late_f.c.unresolved;
            unknown += late_f.c.name_unknown;
            /* the entries the encoder holds that the late decoder knows are the full decoder's
             * (names aside: a name that came from an entry older than the join stays unknown) */
            for (uint32_t e = 0; e < full.count && e < late.count; e++) {
                const uint8_t *ln, *lv, *fn, *fv;
                size_t lnl, lvl, fnl, fvl;
                unsigned lfl, ffl;
                hpack_dec_entry(&late, e, &ln, &lnl, &lv, &lvl, &lfl);
                hpack_dec_entry(&full, e, &fn, &fnl, &fv, &fvl, &ffl);
                assert_int_equal(lvl, fvl);
                assert_memory_equal(lv, fv, lvl);
                if (!(lfl & HPACK_F_NAME_UNKNOWN))
                    assert_true(lnl == fnl && !memcmp(ln, fn, lnl));
            }
            /* Once every entry the encoder holds came after the join, nothing is unresolved;
             * names the encoder keeps taking from entries that descend from one older than the
             * join (x-request-id, x-tenant here: the name never travels again) stay unknown
             * until the table is emptied (FLUSH), after which everything decodes. */
            if (turned)
                assert_int_equal(late_f.c.unresolved, 0);
            if (b > FLUSH && k <= FLUSH)
                assert_int_equal(late_f.c.unresolved + late_f.c.name_unknown, 0);
            for (size_t i = 0; i < late_f.n; i++)
                if (late_f.f[i].flags & HPACK_F_NAME_UNKNOWN)
                    assert_true(nv[late_f.f[i].pos].name[0] == 'x');
            if (!turned && late.count >= full.count && full.inserted - ins_at_join >= full.count) {
                turned = 1;
                turned_at = b;
            }
        }
        assert_true(turned);
        print_message("late join at block %d: turned over at block %d; %llu unresolved, %llu "
                      "names unknown in all\n", k, turned_at, (unsigned long long)unresolved,
                      (unsigned long long)unknown);
        if (k > 1)
            assert_true(unresolved > 0); /* the test joins where it matters */
        assert_true(turned_at < k + 150);
        hpack_dec_free(&full);
        hpack_dec_free(&late);
    }
    for (int b = 0; b < BLOCKS; b++)
        free(s->blk[b]);
    free(s);
    t_free(&full_f);
    t_free(&late_f);
}

/* An encoder table of 128 KiB: ours is capped at 64 KiB. What is emitted is right, references
 * to what only the bigger table kept are unresolved, and that is no error even from the start. */
static void test_cap(void **state)
{
    (void)state;
    nghttp2_hd_deflater *def;
    assert_int_equal(nghttp2_hd_deflate_new(&def, 1u << 17), 0);
    assert_int_equal(nghttp2_hd_deflate_change_table_size(def, 1u << 17), 0);
    struct hpack_dec d;
    hpack_dec_init(&d, 1);
    hpack_dec_set_limit(&d, 1u << 17);
    struct tfields t = {0};
    uint64_t seed = 5, unresolved = 0;
    uint8_t *vals[40];
    for (int k = 0; k < 40; k++) { /* 40 values of 2 KiB: 80 KiB of entries */
        vals[k] = malloc(2048);
        for (int i = 0; i < 2048; i++)
            vals[k][i] = (uint8_t)('a' + t_rand(&seed) % 26);
    }
    for (int b = 0; b < 400; b++) {
        nghttp2_nv nv[4];
        size_t n = 0;
        for (int i = 0; i < 4; i++)
            nv[n++] = t_nv("x-big", vals[t_rand(&seed) % 40], 2048, 0);
        uint8_t *blk;
        size_t len = t_deflate(def, nv, n, &blk);
        assert_int_equal(t_decode(&d, blk, len, &t), HPACK_OK);
        for (size_t i = 0; i < t.n; i++) {
            assert_int_equal(t.f[i].value_len, 2048);
            assert_memory_equal(t.f[i].value, nv[t.f[i].pos].value, 2048);
        }
        assert_int_equal(t.c.fields + t.c.unresolved, n);
        unresolved += t.c.unresolved;
        assert_true(d.size <= HPACK_TABLE_CAP);
        assert_true(hpack_dec_mem(&d) <= 2 * HPACK_TABLE_CAP + 2048 * 16 + 4 * 16 + 16384 + 64);
        free(blk);
    }
    assert_true(unresolved > 0);
    assert_int_equal(d.from_start, 1);
    for (int k = 0; k < 40; k++)
        free(vals[k]);
    t_free(&t);
    hpack_dec_free(&d);
    nghttp2_hd_deflate_del(def);
}

/* ---- speed, printed ---- */

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nop(void *ctx, const struct hpack_field *f)
{
    *(size_t *)ctx += f->value.len;
}

static void test_speed(void **state)
{
    (void)state;
    struct seq *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    uint64_t seed = 1234;
    pool_used = 0;
    nghttp2_hd_deflater *def;
    assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
    make_requests(s, def, &seed);
    nghttp2_hd_deflate_del(def);
    size_t total = 0;
    for (int b = 0; b < BLOCKS; b++)
        total += s->len[b];
    int rounds = 0;
    size_t sink = 0;
    double t0 = cpu_now(), ours, theirs;
    do {
        struct hpack_dec d;
        hpack_dec_init(&d, 1);
        for (int b = 0; b < BLOCKS; b++)
            assert_int_equal(hpack_decode(&d, s->blk[b], s->len[b], nop, &sink, NULL), HPACK_OK);
        hpack_dec_free(&d);
        rounds++;
    } while ((ours = cpu_now() - t0) < 0.3);
    double ours_mbs = (double)total * rounds / ours / 1e6;
    rounds = 0;
    t0 = cpu_now();
    do {
        nghttp2_hd_inflater *inf;
        assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
        for (int b = 0; b < BLOCKS; b++) {
            const uint8_t *p = s->blk[b];
            size_t n = s->len[b];
            for (;;) {
                nghttp2_nv nv;
                int fl = 0;
                ssize_t r = nghttp2_hd_inflate_hd2(inf, &nv, &fl, p, n, 1);
                assert_true(r >= 0);
                p += r;
                n -= (size_t)r;
                if (fl & NGHTTP2_HD_INFLATE_EMIT)
                    sink += nv.valuelen;
                if (fl & NGHTTP2_HD_INFLATE_FINAL) {
                    nghttp2_hd_inflate_end_headers(inf);
                    break;
                }
            }
        }
        nghttp2_hd_inflate_del(inf);
        rounds++;
    } while ((theirs = cpu_now() - t0) < 0.3);
    double theirs_mbs = (double)total * rounds / theirs / 1e6;
    /* the Huffman decoder alone, over the first block's token (never indexed: a literal) */
    const uint8_t *blk = s->blk[0];
    size_t at = 0, hl = 0;
    for (size_t i = 0; i + 3 < s->len[0]; i++)
        if ((blk[i + 1] & 0x80) && (blk[i + 1] & 0x7f) == 0x7f && blk[i + 2] >= 0x80 &&
            blk[i + 3] < 0x80) { /* a Huffman length of 2 continuation bytes: the token */
            hl = 127 + (blk[i + 2] & 0x7f) + ((size_t)blk[i + 3] << 7);
            at = i + 4;
            break;
        }
    assert_true(hl > 600 && at + hl <= s->len[0]);
    uint8_t out[2048];
    rounds = 0;
    t0 = cpu_now();
    double huff;
    do {
        for (int i = 0; i < 1000; i++)
            sink += (size_t)hpack_huffman_decode(blk + at, hl, out);
        rounds += 1000;
    } while ((huff = cpu_now() - t0) < 0.2);
    assert_int_equal(hpack_huffman_decode(blk + at, hl, out), 907);
    print_message("speed: %d blocks, %zu bytes (%.0f a block, Huffman, a 900-byte JWT each): "
                  "ours %.0f MB/s, nghttp2's inflater %.0f MB/s; Huffman alone %.0f MB/s in "
                  "(%zu bytes -> 907)\n",
                  BLOCKS, total, (double)total / BLOCKS, ours_mbs, theirs_mbs,
                  (double)hl * rounds / huff / 1e6, hl);
    assert_true(sink > 0);
    for (int b = 0; b < BLOCKS; b++)
        free(s->blk[b]);
    free(s);
}

int main(void)
{
    pool = malloc(POOL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_huffman_random),
        cmocka_unit_test(test_late_join),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_speed),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    free(pool);
    return r;
}
