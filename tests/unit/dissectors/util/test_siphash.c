/* test_siphash.c — SipHash-2-4 against the published vectors, and siphash_random_key().
 *
 * Vectors: the paper's Appendix A example (key 00..0f, message 00..0e → a129ca6149be45e5) and
 * the first 16 entries of the reference implementation's vectors table (vectors_sip64 in
 * veorq/SipHash: message i = bytes 00..i-1, key 00..0f, output stored little-endian), which
 * cover every tail length 0..7 with zero, one and a partial second block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "siphash.h"

static const uint64_t ref_vectors[16] = {
    0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL,
    0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL, 0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL,
    0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
    0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL, 0xa129ca6149be45e5ULL,
};

static void ref_key(uint8_t key[16])
{
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
}

static void test_paper_vector(void **state)
{
    (void)state;
    uint8_t key[16], msg[15];
    ref_key(key);
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    assert_int_equal(siphash24(key, msg, sizeof(msg)), 0xa129ca6149be45e5ULL);
}

static void test_reference_table(void **state)
{
    (void)state;
    uint8_t key[16], msg[16];
    ref_key(key);
    for (size_t i = 0; i < 16; i++) {
        msg[i] = (uint8_t)i;
        uint64_t got = siphash24(key, msg, i);
        if (got != ref_vectors[i])
            fail_msg("len %zu: got %016llx want %016llx", i, (unsigned long long)got,
                     (unsigned long long)ref_vectors[i]);
    }
}

/* The brief's three spot values, written out separately so a wrong table entry above cannot
 * hide them. */
static void test_spot_values(void **state)
{
    (void)state;
    uint8_t key[16], msg[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    ref_key(key);
    assert_int_equal(siphash24(key, NULL, 0), 0x726fdb47dd0e0e31ULL);
    assert_int_equal(siphash24(key, msg, 1), 0x74f839c593dc67fdULL);
    assert_int_equal(siphash24(key, msg, 8), 0x93f5f5799a932462ULL);
}

/* Reads must not depend on alignment: hash the same bytes at every offset of a buffer. */
static void test_unaligned(void **state)
{
    (void)state;
    uint8_t key[16], buf[64];
    ref_key(key);
    for (size_t off = 0; off < 8; off++) {
        for (size_t i = 0; i < 15; i++)
            buf[off + i] = (uint8_t)i;
        assert_int_equal(siphash24(key, buf + off, 15), 0xa129ca6149be45e5ULL);
    }
}

static void test_key_and_length_matter(void **state)
{
    (void)state;
    uint8_t k1[16] = {0}, k2[16] = {0};
    k2[15] = 1;
    uint8_t zeros[9] = {0};
    assert_true(siphash24(k1, "abc", 3) != siphash24(k2, "abc", 3));
    /* Trailing zero bytes change the hash, because the length is folded in. */
    assert_true(siphash24(k1, zeros, 8) != siphash24(k1, zeros, 9));
    assert_true(siphash24(k1, zeros, 0) != siphash24(k1, zeros, 1));
}

static void test_random_key(void **state)
{
    (void)state;
    uint8_t a[16], b[16], zero[16] = {0};
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    siphash_random_key(a);
    siphash_random_key(b);
    /* 2^-128 chance of a false failure on each line. */
    assert_memory_not_equal(a, zero, 16);
    assert_memory_not_equal(a, b, 16);
}

/* SipHash-1-3 with an all-zero key, as published by an independent implementation (as 64-bit
 * values: d1fba762150c532c for the empty message, 8264ceeccb16bcbe for
 * "siphash"); and it must differ from SipHash-2-4 on the same input. */
static void test_siphash13(void **state)
{
    (void)state;
    uint8_t zero[16] = {0};
    assert_true(siphash13(zero, "", 0) == 0xd1fba762150c532cULL);
    assert_true(siphash13(zero, "siphash", 7) == 0x8264ceeccb16bcbeULL);
    assert_true(siphash13(zero, "siphash", 7) != siphash24(zero, "siphash", 7));
}

/* polyhash61 against a plain Horner evaluation (one 7-byte chunk at a time, fully reduced with
 * %), for every length 0..300 and several keys; the final value is SipHash-1-3 of (value,
 * length); inputs that differ only by trailing zero bytes or by one bit hash differently. */
static void test_polyhash61(void **state)
{
    (void)state;
    const unsigned __int128 p = ((unsigned __int128)1 << 61) - 1;
    uint8_t buf[300];
    uint64_t x = 88172645463325252ull;
    for (int keyi = 0; keyi < 8; keyi++) {
        uint8_t key[16];
        for (int i = 0; i < 16; i++)
            key[i] = (uint8_t)(keyi * 37 + i * (keyi | 1));
        struct polyhash61 ph;
        polyhash61_init(&ph, key);
        assert_true(ph.r >= 2 && ph.r < (uint64_t)p);
        for (size_t len = 0; len <= sizeof(buf); len++) {
            for (size_t i = 0; i < len; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i] = keyi == 7 ? 0xff : (uint8_t)x; /* all-ones: the largest chunks */
            }
            unsigned __int128 h = 0;
            for (size_t i = 0; i < len; i += 7) {
                uint64_t m = 0;
                for (size_t k = 0; k < 7 && i + k < len; k++)
                    m |= (uint64_t)buf[i + k] << (8 * k);
                h = (h * ph.r + m) % p;
            }
            assert_true(polyhash61_value(&ph, buf, len) == (uint64_t)h);
            uint8_t msg[16];
            for (int i = 0; i < 8; i++) {
                msg[i] = (uint8_t)((uint64_t)h >> (8 * i));
                msg[8 + i] = (uint8_t)((uint64_t)len >> (8 * i));
            }
            assert_true(polyhash61(&ph, buf, len) == siphash13(key, msg, 16));
        }
    }
    struct polyhash61 ph;
    uint8_t zero[16] = {0}, a[32] = {0}, b[32] = {0};
    polyhash61_init(&ph, zero);
    assert_true(polyhash61(&ph, a, 31) != polyhash61(&ph, a, 32)); /* trailing zero byte */
    for (int bit = 0; bit < 256; bit++) {
        memset(b, 0, sizeof(b));
        b[bit / 8] = (uint8_t)(1u << (bit % 8));
        assert_true(polyhash61(&ph, a, 32) != polyhash61(&ph, b, 32));
    }
}

/* mshash against a plain evaluation of the formula (siphash.h), every length 0..64, tails
 * included; then what makes it usable for the flow table: a different key gives different
 * values, a fixed pair of inputs shares 8 low bits about 1/256 of the time over random keys,
 * and structured inputs (sequential addresses and ports) spread evenly over buckets. */
static void test_mshash(void **state)
{
    (void)state;
    uint8_t key[16], buf[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)(0x5a + 7 * i);
    for (int i = 0; i < 64; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    struct mshash mh;
    mshash_init(&mh, key);
    for (size_t len = 0; len <= 64; len++) {
        uint64_t s = mh.a[0];
        for (size_t w = 0; 4 * w < len; w++) {
            uint64_t x = 0;
            for (size_t b = 0; b < 4 && 4 * w + b < len; b++)
                x += (uint64_t)buf[4 * w + b] << (8 * b);
            s += mh.a[w + 1] * x;
        }
        assert_int_equal(mshash(&mh, buf, len), (uint32_t)(s >> 32));
    }

    /* Keyed: another key changes (nearly) every value. */
    struct mshash other;
    key[0] ^= 1;
    mshash_init(&other, key);
    int same = 0;
    for (int i = 0; i < 1000; i++) {
        memcpy(buf, &i, sizeof(i));
        same += mshash(&mh, buf, 46) == mshash(&other, buf, 46);
    }
    assert_true(same <= 2);

    /* One fixed pair (differing in one port byte) over 4096 keys: expect 16 shared buckets of
     * 256. Strong universality says exactly 1/256 per key; 2..40 leaves room for chance. */
    uint8_t x[46] = {0}, y[46] = {0};
    x[0] = 10, x[16] = 10, x[32] = 0x50, y[0] = 10, y[16] = 10, y[32] = 0x51;
    int coll = 0, full = 0;
    for (unsigned k = 0; k < 4096; k++) {
        uint8_t kk[16] = {0};
        memcpy(kk, &k, sizeof(k));
        struct mshash m;
        mshash_init(&m, kk);
        uint32_t hx = mshash(&m, x, sizeof(x)), hy = mshash(&m, y, sizeof(y));
        coll += (hx & 0xff) == (hy & 0xff);
        full += hx == hy;
    }
    assert_true(coll >= 2 && coll <= 40);
    assert_int_equal(full, 0);

    /* 65536 flow-like keys (one server, client addresses and ports counting up) into 1024
     * buckets: 64 a bucket on average; the fullest stays below twice that and the chi-square
     * statistic near its 1023 degrees of freedom. */
    static unsigned count[1024];
    memset(count, 0, sizeof(count));
    for (unsigned i = 0; i < 65536; i++) {
        uint8_t k[46] = {0};
        k[0] = 10, k[3] = (uint8_t)(i >> 8);     /* client 10.0.0.x.. */
        k[16] = 192, k[19] = 1;                  /* server 192.0.0.1 */
        k[32] = (uint8_t)(i & 0xff), k[33] = 0x80; /* client port */
        k[34] = 0x01, k[35] = 0xbb;              /* 443 */
        k[44] = 4, k[45] = 6;
        count[mshash(&mh, k, sizeof(k)) & 1023]++;
    }
    double chi = 0;
    unsigned most = 0;
    for (int b = 0; b < 1024; b++) {
        chi += ((double)count[b] - 64.0) * ((double)count[b] - 64.0) / 64.0;
        most = count[b] > most ? count[b] : most;
    }
    assert_true(most < 128);
    assert_true(chi > 800 && chi < 1300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paper_vector),
        cmocka_unit_test(test_siphash13),
        cmocka_unit_test(test_polyhash61),
        cmocka_unit_test(test_mshash),
        cmocka_unit_test(test_reference_table),
        cmocka_unit_test(test_spot_values),
        cmocka_unit_test(test_unaligned),
        cmocka_unit_test(test_key_and_length_matter),
        cmocka_unit_test(test_random_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
