/* test_hpack.c — unit tests for dissectors/http/hpack.c (RFC 7541): every example of Appendix C
 * (C.2 single representations; C.3/C.4 requests without and with Huffman; C.5/C.6 responses with
 * a 256-byte table and evictions), checking the fields and the dynamic table's size after each
 * block; the Huffman decoder (Appendix C strings, all 256 byte values as nghttp2's deflater codes
 * them, EOS, long and non-ones padding, the n * 8 / 5 + 1 bound in an exact-size heap buffer);
 * every error status (MEMORY through a malloc that fails on demand: the test links with
 * -Wl,--wrap=malloc,--wrap=realloc) and what the decoder does after each; size updates and the
 * limit; the late-join rules on hand-built blocks (unresolved indexes, unknown names inserted and
 * referenced); memory (hpack_dec_mem against a recount, the scratch given back, nothing left
 * after free under ASan). The nghttp2 differential and late-join sequences: test_hpack_diff.c. */
#include "hpack_test.h"

/* ---- malloc failing on demand ---- */

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
static long fail_after = -1; /* allocations left before one fails; -1: never */

void *__wrap_malloc(size_t n)
{
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return __real_malloc(n);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return __real_realloc(p, n);
}

/* ---- Appendix C ---- */

/* Decodes hex, checks the fields ("name: value\n"...), the table size and the status. */
static void step(struct hpack_dec *d, struct tfields *t, const char *hex, const char *want,
                 size_t size)
{
    uint8_t b[512];
    size_t n = t_hex(hex, b, sizeof(b));
    assert_int_equal(t_decode(d, b, n, t), HPACK_OK);
    char *got = t_text(t);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(d->size, size);
    assert_int_equal(t->c.unresolved, 0);
    assert_int_equal(t->c.errors, 0);
}

static void test_c2(void **state)
{
    (void)state;
    struct hpack_dec d;
    struct tfields t = {0};
    /* C.2.1 literal with indexing */
    hpack_dec_init(&d, 1);
    step(&d, &t, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
         "custom-key: custom-header\n", 55);
    assert_int_equal(t.f[0].flags, 0);
    assert_int_equal(d.count, 1);
    hpack_dec_free(&d);
    /* C.2.2 literal without indexing */
    hpack_dec_init(&d, 1);
    step(&d, &t, "040c 2f73 616d 706c 652f 7061 7468", ":path: /sample/path\n", 0);
    assert_int_equal(t.f[0].flags, 0);
    hpack_dec_free(&d);
    /* C.2.3 literal never indexed */
    hpack_dec_init(&d, 1);
    step(&d, &t, "1008 7061 7373 776f 7264 0673 6563 7265 74", "password: secret\n", 0);
    assert_int_equal(t.f[0].flags, HPACK_F_NEVER_INDEXED);
    hpack_dec_free(&d);
    /* C.2.4 indexed */
    hpack_dec_init(&d, 1);
    step(&d, &t, "82", ":method: GET\n", 0);
    assert_int_equal(t.f[0].flags, HPACK_F_INDEXED);
    hpack_dec_free(&d);
    assert_int_equal(hpack_dec_mem(&d), 0);
    t_free(&t);
}

static const char *const req[3] = {
    ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\n",
    ":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\ncache-control: no-cache\n",
    (":method: GET\n:scheme: https\n:path: /index.html\n:authority: www.example.com\n"
     "custom-key: custom-value\n"),
};
static const size_t req_size[3] = {57, 110, 164};

static void requests(const char *const hex[3])
{
    struct hpack_dec d;
    struct tfields t = {0};
    hpack_dec_init(&d, 1);
    for (int i = 0; i < 3; i++)
        step(&d, &t, hex[i], req[i], req_size[i]);
    assert_int_equal(d.count, 3);
    /* the third block's :authority is index 63: the oldest of three, inserted by the first */
    assert_int_equal(t.f[3].flags, HPACK_F_INDEXED);
    hpack_dec_free(&d);
    t_free(&t);
}

static void test_c3(void **state)
{
    (void)state;
    static const char *const hex[3] = {
        "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "8286 84be 5808 6e6f 2d63 6163 6865",
        "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    };
    requests(hex);
}

static void test_c4(void **state)
{
    (void)state;
    static const char *const hex[3] = {
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        "8286 84be 5886 a8eb 1064 9cbf",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    };
    requests(hex);
}

static const char *const resp[3] = {
    (":status: 302\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:21 GMT\n"
     "location: https://www.example.com\n"),
    (":status: 307\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:21 GMT\n"
     "location: https://www.example.com\n"),
    (":status: 200\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:22 GMT\n"
     "location: https://www.example.com\ncontent-encoding: gzip\n"
     "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1\n"),
};
static const size_t resp_size[3] = {222, 222, 215};
static const uint32_t resp_count[3] = {4, 4, 3};

/* SETTINGS_HEADER_TABLE_SIZE 256; with update: each block starts with a size update to 256
 * (3f e1 01), which the settings allow. */
static void responses(const char *const hex[3], int with_update)
{
    struct hpack_dec d;
    struct tfields t = {0};
    hpack_dec_init(&d, 1);
    hpack_dec_set_limit(&d, 256);
    assert_int_equal(d.max_size, 256);
    for (int i = 0; i < 3; i++) {
        char h[512];
        snprintf(h, sizeof(h), "%s%s", with_update ? "3fe101 " : "", hex[i]);
        step(&d, &t, h, resp[i], resp_size[i]);
        assert_int_equal(d.count, resp_count[i]);
    }
    assert_true(d.buf_cap <= 2 * 256);
    hpack_dec_free(&d);
    t_free(&t);
}

static const char *const c5[3] = {
    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133"
    "2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70"
    "6c65 2e63 6f6d",
    "4803 3330 37c1 c0bf",
    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d"
    "54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049"
    "5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
};
static const char *const c6[3] = {
    "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6"
    "2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    "4883 640e ffc1 c0bf",
    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab"
    "77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f"
    "9587 3160 65c0 03ed 4ee5 b106 3d50 07",
};

static void test_c5(void **state)
{
    (void)state;
    responses(c5, 0);
    responses(c5, 1);
}

static void test_c6(void **state)
{
    (void)state;
    responses(c6, 0);
    responses(c6, 1);
}

/* ---- Huffman ---- */

/* Decodes hex into an exact-size heap buffer of n * 8 / 5 + 1 bytes (ASan sees any overrun). */
static long huff(const char *hex, char *out)
{
    uint8_t in[256];
    size_t n = t_hex(hex, in, sizeof(in));
    uint8_t *src = malloc(n ? n : 1), *dst = malloc(n * 8 / 5 + 1);
    assert_true(src && dst);
    memcpy(src, in, n);
    long m = hpack_huffman_decode(src, n, dst);
    if (m >= 0) {
        memcpy(out, dst, (size_t)m);
        out[m] = 0;
    }
    free(src);
    free(dst);
    return m;
}

static void test_huffman_vectors(void **state)
{
    (void)state;
    static const char *const v[][2] = {
        {"f1e3 c2e5 f23a 6ba0 ab90 f4ff", "www.example.com"},
        {"a8eb 1064 9cbf", "no-cache"},
        {"25a8 49e9 5ba9 7d7f", "custom-key"},
        {"25a8 49e9 5bb8 e8b4 bf", "custom-value"},
        {"6402", "302"},
        {"aec3 771a 4b", "private"},
        {"d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff", "Mon, 21 Oct 2013 20:13:21 GMT"},
        {"9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3", "https://www.example.com"},
        {"9bd9 ab", "gzip"},
        {"94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 "
         "65c0 03ed 4ee5 b106 3d50 07",
         "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"},
        {"", ""},
        {"0000 0000 00", "00000000"}, /* 8 x 5 bits: exactly n * 8 / 5 symbols */
        {"1f", "a"},                  /* 'a' and 3 bits of padding */
        {"fe3f", "!"},                /* '!' (10 bits) and 6 bits of padding */
    };
    char out[256];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_true(huff(v[i][0], out) >= 0);
        assert_string_equal(out, v[i][1]);
    }
    assert_int_equal(huff("00", out), -1);        /* '0' then 000: padding not all ones */
    assert_int_equal(huff("18", out), -1);        /* 'a' then 000 */
    assert_int_equal(huff("1fff", out), -1);      /* 'a' then 11 bits of ones */
    assert_int_equal(huff("ff", out), -1);        /* 8 bits of ones */
    assert_int_equal(huff("fe", out), -1);        /* inside a code, not all ones */
    assert_int_equal(huff("ffff fffc", out), -1); /* EOS (30 ones) and 2 bits */
    assert_int_equal(huff("ffff ffff", out), -1); /* EOS and 2 ones */
    assert_int_equal(huff("1fff ffff ff80", out), -1); /* 'a', EOS, more */
}

/* Every byte value, in a string nghttp2's deflater codes with Huffman (16 '0's make it shorter
 * than raw), decoded from the block nghttp2 wrote. */
static void test_huffman_all_bytes(void **state)
{
    (void)state;
    nghttp2_hd_deflater *def;
    assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
    struct hpack_dec d;
    hpack_dec_init(&d, 1);
    struct tfields t = {0};
    for (int b = 0; b < 256; b++) {
        uint8_t v[17];
        v[0] = (uint8_t)b;
        memset(v + 1, '0', 16);
        nghttp2_nv nv = t_nv("x-byte", v, sizeof(v), 1);
        uint8_t *blk;
        size_t n = t_deflate(def, &nv, 1, &blk);
        /* never indexed, new name: 0x10, name "x-byte", then the value's length with H set */
        assert_int_equal(blk[0], 0x10);
        size_t at = 2 + (blk[1] & 0x7f);
        assert_true(blk[at] & 0x80);
        assert_int_equal(t_decode(&d, blk, n, &t), HPACK_OK);
        t_same(&t, &nv, 1, NULL);
        /* and the string alone, in an exact-size buffer */
        size_t len = blk[at] & 0x7f;
        uint8_t *src = malloc(len), *dst = malloc(len * 8 / 5 + 1);
        memcpy(src, blk + at + 1, len);
        assert_int_equal(hpack_huffman_decode(src, len, dst), 17);
        assert_memory_equal(dst, v, 17);
        free(src);
        free(dst);
        free(blk);
    }
    t_free(&t);
    hpack_dec_free(&d);
    nghttp2_hd_deflate_del(def);
}

/* A long Huffman string seen again (a bearer token in every request) comes from the decoder's
 * memo: the same value, and a string of the same length that differs in one byte is decoded
 * afresh, not taken from the memo; the memory stays counted. */
static void test_huffman_memo(void **state)
{
    (void)state;
    nghttp2_hd_deflater *def;
    assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
    struct hpack_dec d;
    hpack_dec_init(&d, 1);
    struct tfields t = {0};
    char tok[3][1200];
    for (int k = 0; k < 3; k++) {
        memcpy(tok[k], "Bearer ", 7);
        for (int i = 7; i < 1199; i++)
            tok[k][i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."[(i * 7 + i / 13) % 65];
        tok[k][1199] = 0;
    }
    tok[1][600] = tok[1][600] == 'A' ? 'B' : 'A'; /* same coded length or not: decoded again */
    tok[2][1198] = '.';
    const int order[] = {0, 0, 1, 0, 2, 2, 1};
    for (size_t r = 0; r < sizeof(order) / sizeof(order[0]); r++) {
        const char *v = tok[order[r]];
        nghttp2_nv nv = t_nv("authorization", (const uint8_t *)v, strlen(v), 1);
        uint8_t *blk;
        size_t n = t_deflate(def, &nv, 1, &blk);
        assert_int_equal(t_decode(&d, blk, n, &t), HPACK_OK);
        t_same(&t, &nv, 1, NULL);
        assert_int_equal(hpack_dec_mem(&d), hpack_dec_recount(&d));
        free(blk);
    }
    assert_true(d.memo_in >= 256);
    t_free(&t);
    hpack_dec_free(&d);
    assert_int_equal(hpack_dec_mem(&d), 0);
    nghttp2_hd_deflate_del(def);
}

/* ---- errors ---- */

/* A block builder: integers (§5.1) and raw strings. */
struct blk {
    uint8_t p[256];
    size_t n;
};

static void put_int(struct blk *b, uint8_t first, unsigned bits, uint64_t v)
{
    uint64_t max = (1u << bits) - 1;
    if (v < max) {
        b->p[b->n++] = (uint8_t)(first | v);
        return;
    }
    b->p[b->n++] = (uint8_t)(first | max);
    for (v -= max; v >= 128; v >>= 7)
        b->p[b->n++] = (uint8_t)(0x80 | (v & 127));
    b->p[b->n++] = (uint8_t)v;
}

static void put_str(struct blk *b, const char *s)
{
    put_int(b, 0, 7, strlen(s));
    memcpy(b->p + b->n, s, strlen(s));
    b->n += strlen(s);
}

/* A literal with incremental indexing: name index idx (0: the name follows), value. */
static void put_lit(struct blk *b, uint32_t idx, const char *name, const char *value)
{
    put_int(b, 0x40, 6, idx);
    if (!idx)
        put_str(b, name);
    put_str(b, value);
}

/* Decodes hex, expects status, the fields' text and the counts. */
static void expect(struct hpack_dec *d, const char *hex, enum hpack_status st, const char *want,
                   uint64_t unresolved)
{
    struct tfields t = {0};
    uint8_t b[256];
    size_t n = t_hex(hex, b, sizeof(b));
    assert_int_equal(t_decode(d, b, n, &t), st);
    char *got = t_text(&t);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(t.c.unresolved, unresolved);
    assert_int_equal(t.c.errors, st != HPACK_OK);
    t_free(&t);
}

static void test_errors(void **state)
{
    (void)state;
    struct hpack_dec d;
    const char *kv = "custom-key: custom-header\n", *kv_get = "custom-key: custom-header\n:method: GET\n";
    const char *lit = "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572 ";
    char h[256];
    /* Each block: the literal (inserted), then the error. Each error forgets the table: the
     * entry is unresolved afterwards, and the decoder goes on as after a late join. */
#define CASE(tail, st, want, unresolved)                                          \
    do {                                                                          \
        hpack_dec_init(&d, 1);                                                    \
        snprintf(h, sizeof(h), "%s%s", lit, tail);                                \
        expect(&d, h, st, want, unresolved);                                      \
        assert_int_equal(d.count, 0);                                             \
        assert_int_equal(d.from_start, 0);                                        \
        expect(&d, "be 82", HPACK_OK, ":method: GET\n", 1);                       \
        hpack_dec_free(&d);                                                       \
    } while (0)
    /* EOS inside a Huffman string (the value of a literal, name user-agent: 15 + 43) */
    CASE("0f2b 84 ffff fffc", HPACK_ERR_HUFFMAN, kv, 0);
    /* padding over 7 bits; padding not all ones */
    CASE("0f2b 82 1fff", HPACK_ERR_HUFFMAN, kv, 0);
    CASE("0f2b 81 18", HPACK_ERR_HUFFMAN, kv, 0);
    /* index 0: the rest of the block still decodes */
    CASE("80 82", HPACK_ERR_INVALID, kv_get, 0);
    /* an index no insertion made, from the connection's start: the encoder's error; the field
     * is unresolved, the rest decodes */
    CASE("c0 82", HPACK_ERR_INVALID, kv_get, 1);
    CASE("0f3b 0161 82", HPACK_ERR_INVALID, "custom-key: custom-header\n?: a\n:method: GET\n", 0);
    /* the same with incremental indexing: inserted (name unknown) into the forgotten table */
    hpack_dec_init(&d, 1);
    expect(&d, "7f0b 0161 82", HPACK_ERR_INVALID, "?: a\n:method: GET\n", 0);
    expect(&d, "be bf", HPACK_OK, "?: a\n", 1);
    hpack_dec_free(&d);
    /* integers: 2^32 - 1 is an index (beyond every insertion), 2^32 is not an integer */
    CASE("ff80 ffff ff0f 82", HPACK_ERR_INVALID, kv_get, 1);
    CASE("ff81 ffff ff0f 82", HPACK_ERR_INVALID, kv, 0);
    CASE("ff80 8080 8080 8080 8001", HPACK_ERR_INVALID, kv, 0); /* 1 << 35 */
    /* a size update after a field: followed (the table emptied), an error */
    CASE("20 82", HPACK_ERR_INVALID, kv_get, 0);
    /* truncated: inside an integer, before a name, inside a string, before a value, inside a
     * string's length */
    CASE("ff", HPACK_ERR_TRUNCATED, kv, 0);
    CASE("00", HPACK_ERR_TRUNCATED, kv, 0);
    CASE("0003 6162", HPACK_ERR_TRUNCATED, kv, 0);
    CASE("41", HPACK_ERR_TRUNCATED, kv, 0);
    CASE("0f2b 7f", HPACK_ERR_TRUNCATED, kv, 0);
    /* a string over HPACK_STRING_MAX (2^20 + 1), raw or Huffman-coded */
    struct blk b = {.n = 0};
    put_int(&b, 0, 4, 0);
    put_int(&b, 0, 7, HPACK_STRING_MAX + 1);
    char tail[64] = "", *o = tail;
    for (size_t i = 0; i < b.n; i++)
        o += sprintf(o, "%02x", b.p[i]);
    CASE(tail, HPACK_ERR_TOO_LONG, kv, 0);
    tail[2] = 'f'; /* the H bit: 7f -> ff */
    CASE(tail, HPACK_ERR_TOO_LONG, kv, 0);
#undef CASE
    /* after a late join an index past the known entries is no error, however large */
    hpack_dec_init(&d, 0);
    expect(&d, "ff80 ffff ff0f 82", HPACK_OK, ":method: GET\n", 1);
    expect(&d, "ff81 ffff ff0f", HPACK_ERR_INVALID, "", 0);
    hpack_dec_free(&d);
    /* zero continuation bytes are a valid integer: name index 15 */
    hpack_dec_init(&d, 1);
    expect(&d, "0f80 8080 8080 8000 0161", HPACK_OK, "accept-charset: a\n", 0);
    hpack_dec_free(&d);
    for (int i = 0; i <= HPACK_ERR_MEMORY; i++)
        assert_string_not_equal(hpack_status_name((enum hpack_status)i), "unknown");
}

/* A string of exactly HPACK_STRING_MAX decodes, raw and Huffman-coded ("0" is 5 bits); one more
 * character is too long after decoding; the big scratch is given back after the block. */
static void test_long_strings(void **state)
{
    (void)state;
    size_t max = HPACK_STRING_MAX, hmax = max / 8 * 5;
    uint8_t *p = malloc(max + 16);
    assert_non_null(p);
    struct blk b = {.n = 0};
    put_int(&b, 0, 4, 1); /* :authority, without indexing */
    put_int(&b, 0, 7, max);
    memcpy(p, b.p, b.n);
    memset(p + b.n, 'x', max);
    struct hpack_dec d;
    struct tfields t = {0};
    hpack_dec_init(&d, 1);
    assert_int_equal(t_decode(&d, p, b.n + max, &t), HPACK_OK);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.f[0].value_len, max);
    b.n = 0;
    put_int(&b, 0, 4, 1);
    put_int(&b, 0x80, 7, hmax);
    memcpy(p, b.p, b.n);
    memset(p + b.n, 0, hmax);
    assert_int_equal(t_decode(&d, p, b.n + hmax, &t), HPACK_OK);
    assert_int_equal(t.f[0].value_len, max);
    assert_int_equal(t.f[0].value[max - 1], '0');
    assert_int_equal(d.scratch_cap, 0);
    b.n = 0;
    put_int(&b, 0, 4, 1);
    put_int(&b, 0x80, 7, hmax + 1);
    memcpy(p, b.p, b.n);
    memset(p + b.n, 0, hmax);
    p[b.n + hmax] = 0x07; /* '0' (00000) and 3 bits of padding */
    assert_int_equal(t_decode(&d, p, b.n + hmax + 1, &t), HPACK_ERR_TOO_LONG);
    hpack_dec_free(&d);
    t_free(&t);
    free(p);
}

/* §6.3 and SETTINGS_HEADER_TABLE_SIZE. */
static void test_size_updates(void **state)
{
    (void)state;
    struct hpack_dec d;
    /* above the limit (4097 > 4096) at the start of a block: followed, an error */
    hpack_dec_init(&d, 1);
    expect(&d, "3fe21f 82", HPACK_ERR_INVALID, ":method: GET\n", 0);
    assert_int_equal(d.max_size, 4097);
    hpack_dec_free(&d);
    /* after a late join the SETTINGS that allowed it may predate the join: no error */
    hpack_dec_init(&d, 0);
    expect(&d, "3fe21f 82", HPACK_OK, ":method: GET\n", 0);
    assert_int_equal(d.max_size, 4097);
    /* unless the decoder was told the limit since */
    hpack_dec_set_limit(&d, 4096);
    assert_int_equal(d.max_size, 4096);
    expect(&d, "3fe21f", HPACK_ERR_INVALID, "", 0);
    hpack_dec_free(&d);
    /* two updates at the start (RFC 7541 §4.2: the smallest, then the final one) */
    hpack_dec_init(&d, 1);
    expect(&d, "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", HPACK_OK,
           "custom-key: custom-header\n", 0);
    expect(&d, "20 3fe11f be", HPACK_OK, "", 1); /* 0 evicts; then 4096; 62 is gone */
    assert_int_equal(d.count, 0);
    /* a lower limit evicts at once; an update above it is an error */
    hpack_dec_set_limit(&d, 100);
    expect(&d, "3f45 400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", HPACK_OK,
           "custom-key: custom-header\n", 0); /* update to 100, then 55 bytes inserted */
    assert_int_equal(d.size, 55);
    hpack_dec_set_limit(&d, 50);
    assert_int_equal(d.max_size, 50);
    assert_int_equal(d.count, 0);
    expect(&d, "3f14", HPACK_ERR_INVALID, "", 0); /* 51 */
    hpack_dec_free(&d);
    /* a limit above the cap: an update up to the limit is valid, the table stays capped */
    hpack_dec_init(&d, 1);
    hpack_dec_set_limit(&d, 1u << 20);
    expect(&d, "3fe1ff3f", HPACK_OK, "", 0); /* 31 + 1048545 = 2^20 */
    assert_int_equal(d.max_size, HPACK_TABLE_CAP);
    hpack_dec_free(&d);
}

/* The late-join rules on hand-built blocks. */
static void test_late_join_rules(void **state)
{
    (void)state;
    struct hpack_dec d;
    struct tfields t = {0};
    struct blk b = {.n = 0};
    hpack_dec_init(&d, 0);
    b.p[b.n++] = 0xbe;              /* 62: before the join */
    put_lit(&b, 70, NULL, "v1");    /* a name before the join: inserted with its name unknown */
    b.p[b.n++] = 0xbe;              /* 62: that entry */
    put_lit(&b, 62, NULL, "v2");    /* its name again */
    put_lit(&b, 0, "x-a", "1");     /* new name */
    b.p[b.n++] = 0xbe;              /* x-a: 1 */
    b.p[b.n++] = 0xc1;              /* 65: before the join */
    put_int(&b, 0x00, 4, 62);       /* without indexing, name x-a */
    put_str(&b, "z");
    put_int(&b, 0x10, 4, 63);       /* never indexed, name unknown */
    put_str(&b, "secret");
    assert_int_equal(t_decode(&d, b.p, b.n, &t), HPACK_OK);
    char *got = t_text(&t);
    assert_string_equal(got, "?: v1\n?: v1\n?: v2\nx-a: 1\nx-a: 1\nx-a: z\n?: secret\n");
    free(got);
    static const unsigned flags[] = {
        HPACK_F_NAME_UNKNOWN, HPACK_F_NAME_UNKNOWN | HPACK_F_INDEXED, HPACK_F_NAME_UNKNOWN, 0,
        HPACK_F_INDEXED, 0, HPACK_F_NAME_UNKNOWN | HPACK_F_NEVER_INDEXED};
    static const size_t pos[] = {1, 2, 3, 4, 5, 7, 8};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(t.f[i].flags, flags[i]);
        assert_int_equal(t.f[i].name_len, (flags[i] & HPACK_F_NAME_UNKNOWN) ? 0 : 3);
        assert_int_equal(t.f[i].pos, pos[i]);
    }
    assert_int_equal(t.c.unresolved, 2);
    assert_int_equal(t.c.name_unknown, 4);
    assert_int_equal(t.c.fields, 7);
    /* sizes: unknown names count 0 (a lower bound) */
    assert_int_equal(d.count, 3);
    assert_int_equal(d.size, (32 + 2) + (32 + 2) + (32 + 4));
    /* an entry larger than the table empties it */
    b.n = 0;
    char big[200];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    b.p[b.n++] = 0x3f; /* update to 31 + 200 = 231 */
    b.p[b.n++] = 200;
    b.n = 0;
    put_int(&b, 0x20, 5, 231);
    put_lit(&b, 1, NULL, big);
    assert_int_equal(t_decode(&d, b.p, b.n, &t), HPACK_OK);
    assert_int_equal(d.count, 0);
    assert_int_equal(d.size, 0);
    assert_int_equal(t.n, 1);
    hpack_dec_free(&d);
    t_free(&t);
}

/* Many insertions through a table that keeps turning over, at several sizes: the invariants
 * (t_check after each block: entries inside the buffer, no overlap, size and mem recounted), the
 * buffer never above twice the table, and an update to 0 gives the memory back. */
static void test_table_ring(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {64, 256, 4096, 65536};
    uint64_t seed = 42;
    struct tfields t = {0};
    for (size_t s = 0; s < 4; s++) {
        struct hpack_dec d;
        hpack_dec_init(&d, 1);
        hpack_dec_set_limit(&d, sizes[s]);
        struct blk b;
        b.n = 0;
        put_int(&b, 0x20, 5, sizes[s]);
        assert_int_equal(t_decode(&d, b.p, b.n, &t), HPACK_OK);
        for (int i = 0; i < 3000; i++) {
            b.n = 0;
            char name[40], value[120];
            size_t nl = 1 + t_rand(&seed) % 30, vl = t_rand(&seed) % 110;
            for (size_t k = 0; k < nl; k++)
                name[k] = (char)('a' + t_rand(&seed) % 26);
            for (size_t k = 0; k < vl; k++)
                value[k] = (char)('A' + t_rand(&seed) % 26);
            name[nl] = value[vl] = 0;
            uint32_t ref = d.count ? (uint32_t)(62 + t_rand(&seed) % d.count) : 0;
            if (ref && t_rand(&seed) % 2)
                put_lit(&b, ref, NULL, value); /* a known entry's name, maybe evicted now */
            else
                put_lit(&b, 0, name, value);
            assert_int_equal(t_decode(&d, b.p, b.n, &t), HPACK_OK);
            if (d.count) {
                b.n = 0;
                put_int(&b, 0x80, 7, 62 + t_rand(&seed) % d.count);
                assert_int_equal(t_decode(&d, b.p, b.n, &t), HPACK_OK);
                assert_int_equal(t.n, 1);
            }
            assert_int_equal(t.c.unresolved, 0);
            assert_true(d.buf_cap <= 2 * d.max_size);
            assert_true(d.ring_cap <= d.max_size / 32 || d.ring_cap <= 8);
        }
        b.n = 0;
        put_int(&b, 0x20, 5, 0);
        assert_int_equal(t_decode(&d, b.p, b.n, &t), HPACK_OK);
        assert_int_equal(d.buf_cap, 0);
        assert_true(hpack_dec_mem(&d) <= 8 * 16 + 16 + 256 + 16);
        hpack_dec_free(&d);
        assert_int_equal(hpack_dec_mem(&d), 0);
    }
    t_free(&t);
}

static int count_calls;

static void count_cb(void *ctx, const struct hpack_field *f)
{
    (void)ctx;
    (void)f;
    count_calls++;
}

/* Out of memory at each allocation a block makes (the ring, the buffer, the scratch): MEMORY,
 * the table forgotten, mem right; then the same decoder decodes the block again. */
static void test_memory_errors(void **state)
{
    (void)state;
    struct blk b = {.n = 0};
    put_lit(&b, 0, "custom-key", "custom-value");
    put_int(&b, 0x00, 4, 8);
    put_int(&b, 0x80, 7, 2);
    b.p[b.n++] = 0x64; /* Huffman "302": needs the scratch */
    b.p[b.n++] = 0x02;
    int saw = 0;
    for (long k = 0; k < 6; k++) {
        struct hpack_dec d;
        struct hpack_counts c = {0};
        hpack_dec_init(&d, 1);
        count_calls = 0;
        fail_after = k;
        enum hpack_status s = hpack_decode(&d, b.p, b.n, count_cb, NULL, &c);
        fail_after = -1;
        t_check(&d);
        if (s == HPACK_ERR_MEMORY) {
            saw++;
            assert_int_equal(d.count, 0);
            assert_int_equal(c.errors, 1);
        } else {
            assert_int_equal(s, HPACK_OK);
            assert_int_equal(count_calls, 2);
        }
        count_calls = 0;
        assert_int_equal(hpack_decode(&d, b.p, b.n, count_cb, NULL, NULL), HPACK_OK);
        assert_int_equal(count_calls, 2);
        t_check(&d);
        hpack_dec_free(&d);
    }
    assert_int_equal(saw, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c2),
        cmocka_unit_test(test_c3),
        cmocka_unit_test(test_c4),
        cmocka_unit_test(test_c5),
        cmocka_unit_test(test_c6),
        cmocka_unit_test(test_huffman_vectors),
        cmocka_unit_test(test_huffman_all_bytes),
        cmocka_unit_test(test_huffman_memo),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_size_updates),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_late_join_rules),
        cmocka_unit_test(test_table_ring),
        cmocka_unit_test(test_memory_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
