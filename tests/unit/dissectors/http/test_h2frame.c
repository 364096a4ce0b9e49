/* test_h2frame.c — unit tests for dissectors/http/h2frame.c: frame headers and their rules,
 * payload prefixes (padding, priority, promised stream), control payloads, names, the client
 * preface, the roles a header block shows, and the plausibility check for late joins (HTTP/1
 * text never passes; frames cut at any point are MORE, never NO). Inputs are copied into
 * exact-size heap buffers so ASan catches a read past `n`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "h2frame.h"

/* A frame: header + payload, into out; returns its length. */
static size_t frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t sid, const void *pl,
                    size_t len)
{
    out[0] = (uint8_t)(len >> 16);
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    out[3] = type;
    out[4] = flags;
    out[5] = (uint8_t)(sid >> 24);
    out[6] = (uint8_t)(sid >> 16);
    out[7] = (uint8_t)(sid >> 8);
    out[8] = (uint8_t)sid;
    if (len)
        memcpy(out + 9, pl, len);
    return 9 + len;
}

static enum h2_plausible plaus(const uint8_t *p, size_t n, enum h2_role *role)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, p, n);
    enum h2_plausible r = h2_plausible(copy, n, role);
    free(copy);
    return r;
}

static void test_header(void **state)
{
    (void)state;
    const uint8_t b[] = {0x00, 0x40, 0x00, 0x01, 0x25, 0x80, 0x00, 0x00, 0x03};
    struct h2_frame_hdr h;
    assert_int_equal(h2_frame_header(b, 8, &h), 0);
    assert_int_equal(h2_frame_header(b, 9, &h), 1);
    assert_int_equal(h.length, 16384);
    assert_int_equal(h.type, H2_HEADERS);
    assert_int_equal(h.flags, 0x25);
    assert_int_equal(h.reserved, 1);
    assert_int_equal(h.stream_id, 3);
    assert_int_equal(h2_frame_check(&h, H2_DEFAULT_MAX_FRAME), H2_FRAME_OK);
    h.length = 16385;
    assert_int_equal(h2_frame_check(&h, H2_DEFAULT_MAX_FRAME), H2_FRAME_TOO_LONG);
    assert_int_equal(h2_frame_check(&h, 1u << 20), H2_FRAME_OK);
}

static void test_rules(void **state)
{
    (void)state;
    static const struct {
        uint8_t type, flags;
        uint32_t len, sid;
        enum h2_frame_err want;
    } cases[] = {
        {H2_DATA, 0, 10, 0, H2_FRAME_BAD_STREAM},
        {H2_DATA, 1, 10, 1, H2_FRAME_OK},
        {H2_HEADERS, 4, 0, 0, H2_FRAME_BAD_STREAM},
        {H2_PRIORITY, 0, 5, 3, H2_FRAME_OK},
        {H2_PRIORITY, 0, 4, 3, H2_FRAME_BAD_LENGTH},
        {H2_RST_STREAM, 0, 4, 0, H2_FRAME_BAD_STREAM},
        {H2_RST_STREAM, 0, 8, 1, H2_FRAME_BAD_LENGTH},
        {H2_SETTINGS, 0, 12, 0, H2_FRAME_OK},
        {H2_SETTINGS, 0, 13, 0, H2_FRAME_BAD_LENGTH},
        {H2_SETTINGS, 1, 6, 0, H2_FRAME_BAD_LENGTH}, /* an ACK carries nothing */
        {H2_SETTINGS, 0, 6, 1, H2_FRAME_BAD_STREAM},
        {H2_PING, 0, 8, 0, H2_FRAME_OK},
        {H2_PING, 0, 7, 0, H2_FRAME_BAD_LENGTH},
        {H2_GOAWAY, 0, 8, 0, H2_FRAME_OK},
        {H2_GOAWAY, 0, 7, 0, H2_FRAME_BAD_LENGTH},
        {H2_GOAWAY, 0, 8, 5, H2_FRAME_BAD_STREAM},
        {H2_WINDOW_UPDATE, 0, 4, 0, H2_FRAME_OK},
        {H2_WINDOW_UPDATE, 0, 4, 7, H2_FRAME_OK},
        {H2_WINDOW_UPDATE, 0, 5, 7, H2_FRAME_BAD_LENGTH},
        {H2_CONTINUATION, 4, 3, 0, H2_FRAME_BAD_STREAM},
        {0x0a, 0, 100, 0, H2_FRAME_OK}, /* ALTSVC: unknown to us, ignored */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct h2_frame_hdr h = {cases[i].len, cases[i].type, cases[i].flags, 0, cases[i].sid};
        assert_int_equal(h2_frame_check(&h, H2_DEFAULT_MAX_FRAME), cases[i].want);
    }
}

static void test_prefix(void **state)
{
    (void)state;
    /* HEADERS, PADDED | PRIORITY: pad 3, exclusive dependency on 5, weight 200, 4 bytes, pad */
    const uint8_t pl[] = {3, 0x80, 0, 0, 5, 200, 'a', 'b', 'c', 'd', 0, 0, 0};
    struct h2_frame_hdr h = {sizeof(pl), H2_HEADERS, H2_F_PADDED | H2_F_PRIORITY, 0, 1};
    assert_int_equal(h2_prefix_len(&h), 6);
    struct h2_prefix pre;
    struct span c;
    assert_int_equal(h2_payload_view(&h, pl, &pre, &c), 0);
    assert_int_equal(pre.pad_len, 3);
    assert_true(pre.has_priority);
    assert_int_equal(pre.exclusive, 1);
    assert_int_equal(pre.dependency, 5);
    assert_int_equal(pre.weight, 200);
    assert_int_equal(c.len, 4);
    assert_memory_equal(c.p, "abcd", 4);
    /* padding longer than what is left: PROTOCOL_ERROR */
    const uint8_t bad[] = {9, 'x', 'y'};
    struct h2_frame_hdr hd = {sizeof(bad), H2_DATA, H2_F_PADDED, 0, 1};
    assert_int_equal(h2_payload_view(&hd, bad, &pre, &c), -1);
    /* a padded frame too short for its pad length byte */
    struct h2_frame_hdr h0 = {0, H2_DATA, H2_F_PADDED, 0, 1};
    assert_int_equal(h2_payload_view(&h0, bad, &pre, &c), -1);
    /* DATA padded, exactly filled by padding */
    const uint8_t full[] = {2, 0, 0};
    hd.length = sizeof(full);
    assert_int_equal(h2_payload_view(&hd, full, &pre, &c), 0);
    assert_int_equal(c.len, 0);
    /* PUSH_PROMISE: promised stream id, reserved bit cleared */
    const uint8_t pp[] = {0x80, 0, 0, 2, 0x82};
    struct h2_frame_hdr hp = {sizeof(pp), H2_PUSH_PROMISE, H2_F_END_HEADERS, 0, 1};
    assert_int_equal(h2_payload_view(&hp, pp, &pre, &c), 0);
    assert_int_equal(pre.promised_id, 2);
    assert_int_equal(c.len, 1);
    /* unpadded DATA: all content */
    struct h2_frame_hdr hu = {3, H2_DATA, 0, 0, 1};
    assert_int_equal(h2_payload_view(&hu, full, &pre, &c), 0);
    assert_int_equal(c.len, 3);
}

static void test_control(void **state)
{
    (void)state;
    const uint8_t set[] = {0, 1, 0, 0, 0x10, 0, 0, 3, 0, 0, 0, 100};
    uint16_t id;
    uint32_t v;
    h2_setting_at(set, 0, &id, &v);
    assert_int_equal(id, H2_SET_HEADER_TABLE_SIZE);
    assert_int_equal(v, 4096);
    h2_setting_at(set, 1, &id, &v);
    assert_int_equal(id, H2_SET_MAX_CONCURRENT_STREAMS);
    assert_int_equal(v, 100);
    const uint8_t rst[] = {0, 0, 0, 8};
    uint32_t code, last;
    assert_int_equal(h2_rst_stream(rst, 3, &code), 0);
    assert_int_equal(h2_rst_stream(rst, 4, &code), 1);
    assert_int_equal(code, 8);
    assert_string_equal(h2_error_name(code), "CANCEL");
    const uint8_t ga[] = {0x80, 0, 0, 7, 0, 0, 0, 1, 'd', 'b', 'g'};
    assert_int_equal(h2_goaway(ga, 7, &last, &code), 0);
    assert_int_equal(h2_goaway(ga, sizeof(ga), &last, &code), 1);
    assert_int_equal(last, 7);
    assert_string_equal(h2_error_name(code), "PROTOCOL_ERROR");
    const uint8_t wu[] = {0xff, 0xff, 0xff, 0xff};
    uint32_t inc;
    assert_int_equal(h2_window_update(wu, 4, &inc), 1);
    assert_int_equal(inc, 0x7fffffffu);
    assert_string_equal(h2_error_name(0), "NO_ERROR");
    assert_string_equal(h2_error_name(13), "HTTP_1_1_REQUIRED");
    assert_null(h2_error_name(14));
    assert_string_equal(h2_setting_name(6), "SETTINGS_MAX_HEADER_LIST_SIZE");
    assert_null(h2_setting_name(7));
    assert_string_equal(h2_type_name(H2_CONTINUATION), "CONTINUATION");
    assert_null(h2_type_name(10));
}

static void test_preface(void **state)
{
    (void)state;
    const char *pf = H2_PREFACE "\x00\x00\x00\x04";
    for (size_t k = 1; k < H2_PREFACE_LEN; k++)
        assert_int_equal(h2_preface((const uint8_t *)pf, k), -1);
    assert_int_equal(h2_preface((const uint8_t *)pf, H2_PREFACE_LEN), 1);
    assert_int_equal(h2_preface((const uint8_t *)pf, H2_PREFACE_LEN + 4), 1);
    assert_int_equal(h2_preface((const uint8_t *)"PRI * HTTP/1.1\r\n", 16), 0);
    assert_int_equal(h2_preface((const uint8_t *)"GET", 3), 0);
}

static void test_roles(void **state)
{
    (void)state;
    const uint8_t get[] = {0x82, 0x86, 0x84};                 /* :method GET ... */
    const uint8_t auth_first[] = {0x41, 0x03, 'a', '.', 'b'}; /* :authority, indexed name */
    const uint8_t st200[] = {0x88};                           /* :status 200 */
    const uint8_t st401[] = {0x08, 0x03, '4', '0', '1'};      /* :status literal */
    const uint8_t upd_then[] = {0x3f, 0xe1, 0x1f, 0x88};      /* size update 4096, :status */
    const uint8_t lit_name[] = {0x00, 0x07, ':', 's', 't', 'a', 't', 'u', 's', 0x01, '1'};
    const uint8_t trailer[] = {0x40, 0x0b, 'g', 'r', 'p', 'c'}; /* no pseudo-header */
    const uint8_t dyn[] = {0xbe};                             /* index 62: dynamic */
    assert_int_equal(h2_block_role(get, sizeof(get)), H2_ROLE_CLIENT);
    assert_int_equal(h2_block_role(auth_first, sizeof(auth_first)), H2_ROLE_CLIENT);
    assert_int_equal(h2_block_role(st200, sizeof(st200)), H2_ROLE_SERVER);
    assert_int_equal(h2_block_role(st401, sizeof(st401)), H2_ROLE_SERVER);
    assert_int_equal(h2_block_role(upd_then, sizeof(upd_then)), H2_ROLE_SERVER);
    assert_int_equal(h2_block_role(lit_name, sizeof(lit_name)), H2_ROLE_SERVER);
    assert_int_equal(h2_block_role(trailer, sizeof(trailer)), H2_ROLE_UNKNOWN);
    assert_int_equal(h2_block_role(dyn, sizeof(dyn)), H2_ROLE_UNKNOWN);
    assert_int_equal(h2_block_role(upd_then, 2), H2_ROLE_UNKNOWN); /* cut short */
    /* the pseudo-header after fields the table knows, or after a literal: still read */
    const uint8_t later[] = {0xbe, 0xc0, 0x40, 0x01, 'x', 0x01, 'y', 0x0f, 0x2b, 0x01, 'z', 0x83};
    assert_int_equal(h2_block_role(later, sizeof(later)), H2_ROLE_CLIENT);
    const uint8_t huff_name[] = {0x00, 0x85, 1, 2, 3, 4, 5, 0x01, 'v', 0x8c}; /* then :status */
    assert_int_equal(h2_block_role(huff_name, sizeof(huff_name)), H2_ROLE_SERVER);
}

static void test_plausible(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = 0;
    const uint8_t wu[] = {0, 0, 0x10, 0};
    const uint8_t hb[] = {0x82, 0x86, 0x84, 0x41, 0x01, 'h'};
    n += frame(buf + n, H2_WINDOW_UPDATE, 0, 0, wu, 4);
    size_t one = n;
    n += frame(buf + n, H2_HEADERS, H2_F_END_HEADERS | H2_F_END_STREAM, 1, hb, sizeof(hb));
    enum h2_role role;
    assert_int_equal(plaus(buf, n, &role), H2_PLAUS_YES);
    assert_int_equal(role, H2_ROLE_CLIENT);
    assert_int_equal(plaus(buf, one, &role), H2_PLAUS_YES); /* one frame, ending at n */
    assert_int_equal(role, H2_ROLE_UNKNOWN);
    /* every cut of the two frames: never NO */
    for (size_t k = 1; k < n; k++)
        assert_int_not_equal(plaus(buf, k, NULL), H2_PLAUS_NO);
    for (size_t k = 1; k < one; k++)
        assert_int_equal(plaus(buf, k, NULL), H2_PLAUS_MORE);
    /* the server's answer */
    const uint8_t resp[] = {0x88, 0x5f, 0x10, 'a', 'p', 'p', 'l', 'i', 'c', 'a', 't', 'i', 'o',
                            'n', '/', 'g', 'r', 'p', 'c'};
    size_t m = frame(buf, H2_HEADERS, H2_F_END_HEADERS, 1, resp, sizeof(resp));
    assert_int_equal(plaus(buf, m, &role), H2_PLAUS_YES);
    assert_int_equal(role, H2_ROLE_SERVER);
    m = frame(buf, H2_PUSH_PROMISE, H2_F_END_HEADERS, 1, "\0\0\0\2\x82", 5);
    assert_int_equal(plaus(buf, m, &role), H2_PLAUS_YES);
    assert_int_equal(role, H2_ROLE_SERVER);

    /* HTTP/1 text, TLS, zeros, and frames breaking a rule */
    static const char *text[] = {"GET / HTTP/1.1\r\n", "HTTP/1.1 200 OK\r\n", "POST /x HTTP/1.0",
                                 "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\x16\x03\x01\x02\x00\x01"};
    for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
        assert_int_equal(plaus((const uint8_t *)text[i], strlen(text[i]), NULL), H2_PLAUS_NO);
    uint8_t zeros[32] = {0};
    assert_int_equal(plaus(zeros, sizeof(zeros), NULL), H2_PLAUS_NO); /* DATA on stream 0 */
    m = frame(buf, H2_DATA, 0x02, 1, "x", 1);                          /* undefined flag */
    assert_int_equal(plaus(buf, m, NULL), H2_PLAUS_NO);
    m = frame(buf, H2_DATA, 0, 0x80000001u, "x", 1);                   /* reserved bit */
    assert_int_equal(plaus(buf, m, NULL), H2_PLAUS_NO);
    m = frame(buf, 0x0b, 0, 0, NULL, 0);                               /* unknown type */
    assert_int_equal(plaus(buf, m, NULL), H2_PLAUS_NO);
    m = frame(buf, H2_PING, 0, 0, "1234567", 7);                       /* PING of 7 */
    assert_int_equal(plaus(buf, m, NULL), H2_PLAUS_NO);
    /* a length past the probe's bound */
    const uint8_t big[] = {0x20, 0, 0, 0, 0, 0, 0, 0, 1};
    assert_int_equal(plaus(big, sizeof(big), NULL), H2_PLAUS_NO);
    assert_int_equal(plaus(big, 1, NULL), H2_PLAUS_NO);
    /* two whole frames then a bad one */
    n = 0;
    n += frame(buf + n, H2_WINDOW_UPDATE, 0, 0, wu, 4);
    n += frame(buf + n, H2_WINDOW_UPDATE, 0, 0, wu, 4);
    n += frame(buf + n, 0x33, 0, 0, NULL, 0);
    assert_int_equal(plaus(buf, n, NULL), H2_PLAUS_NO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),  cmocka_unit_test(test_rules),
        cmocka_unit_test(test_prefix),  cmocka_unit_test(test_control),
        cmocka_unit_test(test_preface), cmocka_unit_test(test_roles),
        cmocka_unit_test(test_plausible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
