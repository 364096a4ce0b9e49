/* test_hex.c — hex digits both ways: every byte's digit value against strtol's reading, the
 * lower-case encoding against snprintf("%02x") (what the key store and the verdict printed
 * before they shared hex.c), and the encoder's NUL and length. Vectors: RFC 4648 §10 (base16).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

static void test_digit_every_byte(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        int want = -1;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
            char s[2] = {(char)c, 0};
            want = (int)strtol(s, NULL, 16);
        }
        assert_int_equal(hex_digit((uint8_t)c), want);
    }
}

static void test_char(void **state)
{
    (void)state;
    const char *digits = "0123456789abcdef";
    for (unsigned v = 0; v < 64; v++)
        assert_int_equal(hex_char(v), digits[v & 15]);
}

static void test_encode_vectors(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const hex[] = {"", "66", "666f", "666f6f", "666f6f62", "666f6f6261",
                                      "666f6f626172"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        memset(out, 'X', sizeof(out));
        size_t n = strlen(plain[i]);
        assert_int_equal(hex_encode((const uint8_t *)plain[i], n, out), 2 * n);
        assert_string_equal(out, hex[i]);
    }
}

static void test_encode_every_byte(void **state)
{
    (void)state;
    uint8_t in[256];
    char out[513], want[513];
    for (int i = 0; i < 256; i++) {
        in[i] = (uint8_t)i;
        snprintf(want + 2 * i, 3, "%02x", i);
    }
    assert_int_equal(hex_encode(in, sizeof(in), out), 512);
    assert_string_equal(out, want);
    /* And back, digit by digit. */
    for (int i = 0; i < 256; i++)
        assert_int_equal(hex_digit((uint8_t)out[2 * i]) << 4 | hex_digit((uint8_t)out[2 * i + 1]),
                         i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digit_every_byte),
        cmocka_unit_test(test_char),
        cmocka_unit_test(test_encode_vectors),
        cmocka_unit_test(test_encode_every_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
