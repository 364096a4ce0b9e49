/* test_b64.c — base64url strict decoding (JOSE parts), lenient decoding (JWK key material),
 * encoding round trips, and the alphabet check. Vectors: RFC 4648 §10 in both alphabets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "b64.h"

static long dec(const char *s, uint8_t *out)
{
    return b64url_decode(s, strlen(s), out);
}

static long len_dec(const char *s, uint8_t *out)
{
    return b64_decode_lenient(s, strlen(s), out);
}

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    static const char *const padded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                         "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    uint8_t out[16];
    char enc[16];
    for (size_t i = 0; i < 7; i++) {
        size_t n = strlen(plain[i]);
        assert_int_equal(dec(url[i], out), (long)n);
        assert_memory_equal(out, plain[i], n);
        assert_int_equal(len_dec(padded[i], out), (long)n);
        assert_memory_equal(out, plain[i], n);
        assert_int_equal(len_dec(url[i], out), (long)n);
        assert_int_equal(b64url_encode((const uint8_t *)plain[i], n, enc), strlen(url[i]));
        assert_string_equal(enc, url[i]);
        if (strchr(padded[i], '='))
            assert_int_equal(dec(padded[i], out), -1); /* JOSE forbids padding */
    }
}

static void test_alphabets(void **state)
{
    (void)state;
    uint8_t out[8];
    static const uint8_t fb[] = {0xfb, 0xff, 0xbf};
    assert_int_equal(dec("-_-_", out), 3);
    assert_memory_equal(out, fb, 3);
    assert_int_equal(dec("+/+/", out), -1);
    assert_int_equal(len_dec("+/+/", out), 3);
    assert_memory_equal(out, fb, 3);
    assert_int_equal(len_dec("-/+_", out), 3);
    assert_true(b64url_valid("AZaz09-_", 8));
    assert_false(b64url_valid("AZaz09+_", 8));
    assert_false(b64url_valid("abc=", 4));
    assert_false(b64url_valid("ab.c", 4));
    assert_true(b64url_valid("", 0));
    /* NUL inside the length is a byte like any other: not in the alphabet */
    assert_false(b64url_valid("ab\0c", 4));
    assert_int_equal(b64url_decode("ab\0c", 4, out), -1);
    /* every byte value, at every position of a quad and in a tail: in the url alphabet or not */
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int c = 0; c < 256; c++) {
        const char *at = c ? memchr(abc, c, 64) : NULL;
        for (int pos = 0; pos < 6; pos++) {
            char in[6] = {'Q', 'U', 'J', 'D', 'R', 'A'}; /* "QUJDRA" = "ABCD" */
            in[pos] = (char)c;
            assert_int_equal(b64url_valid(in, 6), at != NULL);
            long n = b64url_decode(in, 6, out);
            if (!at)
                assert_int_equal(n, -1);
            else if (pos < 5 || ((at - abc) & 0x0f) == 0) /* the last one carries pad bits */
                assert_int_equal(n, 4);
        }
    }
}

/* b64url_valid against a byte-by-byte model: every byte value at every offset of strings of
 * 1-40 bytes (its 16-byte steps, their tails and the boundary between), and random strings. */
static void test_valid_every_byte_offset(void **state)
{
    (void)state;
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char buf[48];
    for (size_t len = 1; len <= 40; len++)
        for (size_t pos = 0; pos < len; pos++)
            for (int c = 0; c < 256; c++) {
                for (size_t k = 0; k < len; k++)
                    buf[k] = abc[(k * 7 + len) % 64];
                buf[pos] = (char)c;
                int want = c != 0 && memchr(abc, c, 64) != NULL;
                assert_int_equal(b64url_valid(buf, len), want);
            }
    uint32_t x = 12345;
    for (int n = 0; n < 100000; n++) {
        size_t len = (size_t)(n % 47);
        int want = 1;
        for (size_t k = 0; k < len; k++) {
            x = x * 1103515245u + 12345u;
            /* mostly alphabet bytes, sometimes anything */
            unsigned char c = (x >> 24) % 8 ? (unsigned char)abc[(x >> 16) % 64]
                                           : (unsigned char)(x >> 16);
            buf[k] = (char)c;
            if (!c || !memchr(abc, c, 64))
                want = 0;
        }
        assert_int_equal(b64url_valid(buf, len), want);
    }
}

static void test_strict_rejects(void **state)
{
    (void)state;
    uint8_t out[16];
    assert_int_equal(dec("A", out), -1);     /* 4k+1 characters */
    assert_int_equal(dec("AAAAA", out), -1);
    assert_int_equal(dec("QQ", out), 1);     /* "A" */
    assert_int_equal(dec("QR", out), -1);    /* same byte, non-zero pad bits */
    assert_int_equal(dec("QUE", out), 2);    /* "AA" */
    assert_int_equal(dec("QUF", out), -1);
    assert_int_equal(dec("Zm9v Yg", out), -1);
    assert_int_equal(dec("Zm9v\n", out), -1);
    assert_int_equal(dec("Zm9v*", out), -1);
    assert_int_equal(dec("Zm\xc3\xa9", out), -1);
}

static void test_lenient(void **state)
{
    (void)state;
    uint8_t out[16];
    assert_int_equal(len_dec(" Zm9v\r\nYmFy\t", out), 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(len_dec("Zg=", out), 1);     /* short padding */
    assert_int_equal(len_dec("QR==", out), 1);    /* stray pad bits tolerated */
    assert_int_equal(len_dec("Zg==Zg==", out), -1); /* data after padding */
    assert_int_equal(len_dec("Z", out), -1);
    assert_int_equal(len_dec("Zm9v*", out), -1);
    assert_int_equal(len_dec("====", out), 0);
}

/* Every length 0..100 of a byte pattern round-trips, and every strict prefix of an encoding is
 * either a valid shorter decoding or rejected, never an overrun (ASan watches the buffer). */
static void test_round_trip_all_lengths(void **state)
{
    (void)state;
    uint8_t in[100], out[140];
    char enc[140];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof(in); n++) {
        size_t el = b64url_encode(in, n, enc);
        assert_int_equal(el, (4 * n + 2) / 3);
        assert_true(b64url_valid(enc, el));
        assert_true(b64_decoded_max(el) >= n);
        assert_int_equal(b64url_decode(enc, el, out), (long)n);
        assert_memory_equal(out, in, n);
        assert_int_equal(b64_decode_lenient(enc, el, out), (long)n);
        assert_memory_equal(out, in, n);
        for (size_t cut = 0; cut < el; cut++) {
            long r = b64url_decode(enc, cut, out);
            assert_true(r == -1 || r == (long)(cut * 3 / 4));
            if (cut % 4 == 1)
                assert_int_equal(r, -1);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_alphabets),
        cmocka_unit_test(test_valid_every_byte_offset),
        cmocka_unit_test(test_strict_rejects),
        cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_round_trip_all_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
