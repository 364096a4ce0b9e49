/* test_jwt.c — jwt_parse(): classification (JWS/JWE/opaque), malformed detection, header and
 * claim extraction, signing input and signature, arena exhaustion, and every prefix of a token.
 * Tokens are built here from JSON text so each case shows exactly what it feeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "b64.h"
#include "jwt.h"

struct fx {
    struct arena a;
    char tok[4096];
    struct jwt j;
};

static int setup(void **state)
{
    static struct fx f; /* test fixture */
    arena_init(&f.a, 1024, 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    arena_release(&f->a);
    return 0;
}

/* header "." payload "." sig, each base64url-encoded from raw bytes. */
static const char *mk(struct fx *f, const char *hdr, size_t hlen, const char *pay, size_t plen,
                      const uint8_t *sig, size_t slen)
{
    size_t o = b64url_encode((const uint8_t *)hdr, hlen, f->tok);
    f->tok[o++] = '.';
    o += b64url_encode((const uint8_t *)pay, plen, f->tok + o);
    f->tok[o++] = '.';
    b64url_encode(sig, slen, f->tok + o);
    return f->tok;
}

static const char *mks(struct fx *f, const char *hdr, const char *pay)
{
    static const uint8_t sig[] = {1, 2, 3, 4, 5};
    return mk(f, hdr, strlen(hdr), pay, strlen(pay), sig, sizeof(sig));
}

static struct jwt *parse(struct fx *f, const char *tok)
{
    arena_reset(&f->a);
    assert_int_equal(jwt_parse((const uint8_t *)tok, strlen(tok), &f->a, &f->j), 0);
    return &f->j;
}

static void test_full_token(void **state)
{
    struct fx *f = *state;
    const char *hdr = "{\"alg\":\"RS256\",\"kid\":\"k1\",\"x5t\":\"T1\",\"typ\":\"JWT\",\"nonce\":\"n\"}";
    const char *pay = "{\"iss\":\"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-"
                      "2d7cd011db47/v2.0\",\"tid\":\"72f988bf-86f1-41af-91ab-2d7cd011db47\","
                      "\"aud\":\"api://x\",\"sub\":\"s\",\"appid\":\"a\",\"azp\":\"z\","
                      "\"iat\":1685620500,\"nbf\":1685620500.9,\"exp\":1685624100}";
    const char *tok = mks(f, hdr, pay);
    struct jwt *j = parse(f, tok);
    assert_int_equal(j->type, JWT_TYPE_JWT);
    assert_false(j->malformed);
    assert_null(j->error);
    assert_string_equal(j->c.alg, "RS256");
    assert_string_equal(j->c.kid, "k1");
    assert_string_equal(j->c.x5t, "T1");
    assert_string_equal(j->c.typ, "JWT");
    assert_true(j->c.has_nonce);
    assert_false(j->c.has_jwk || j->c.has_jku || j->c.has_x5u || j->c.has_x5c || j->c.has_crit);
    assert_string_equal(j->c.tid, "72f988bf-86f1-41af-91ab-2d7cd011db47");
    assert_non_null(strstr(j->c.iss, "/v2.0"));
    assert_string_equal(j->c.aud, "api://x");
    assert_string_equal(j->c.sub, "s");
    assert_string_equal(j->c.appid, "a");
    assert_string_equal(j->c.azp, "z");
    assert_true(j->c.has_iat && j->c.has_nbf && j->c.has_exp);
    assert_int_equal(j->c.iat, 1685620500);
    assert_int_equal(j->c.nbf, 1685620500); /* truncated */
    assert_int_equal(j->c.exp, 1685624100);
    const char *dot2 = strrchr(tok, '.');
    assert_ptr_equal(j->signing_input, (const uint8_t *)tok);
    assert_int_equal(j->signing_input_len, (size_t)(dot2 - tok));
    assert_int_equal(j->sig_len, 5);
    assert_memory_equal(j->sig, "\1\2\3\4\5", 5);
    /* claims are copies, not pointers into jansson's (freed) objects or the token */
    assert_true((const char *)j->c.alg < tok || (const char *)j->c.alg > tok + strlen(tok));
}

static void test_header_flags_and_odd_claims(void **state)
{
    struct fx *f = *state;
    struct jwt *j = parse(f, mks(f, "{\"alg\":\"ES256\",\"jwk\":{},\"jku\":\"u\",\"x5u\":1,"
                                    "\"x5c\":[],\"crit\":[\"b64\"],\"kid\":7}",
                                 "{\"aud\":[1,\"first\",\"second\"],\"iss\":null,\"iat\":\"1\","
                                 "\"exp\":1e300,\"nbf\":-5}"));
    assert_false(j->malformed);
    assert_true(j->c.has_jwk && j->c.has_jku && j->c.has_x5u && j->c.has_x5c && j->c.has_crit);
    assert_false(j->c.has_nonce);
    assert_null(j->c.kid); /* not a string */
    assert_string_equal(j->c.aud, "first");
    assert_null(j->c.iss);
    assert_false(j->c.has_iat); /* string: ignored */
    assert_false(j->c.has_exp); /* out of int64 range: ignored, not clamped */
    assert_true(j->c.has_nbf);
    assert_int_equal(j->c.nbf, -5);

    j = parse(f, mks(f, "{\"alg\":\"RS256\"}", "{\"aud\":[],\"exp\":-9.3e18,\"iat\":9.2e18}"));
    assert_null(j->c.aud);
    assert_false(j->c.has_exp);
    assert_true(j->c.has_iat);
    j = parse(f, mks(f, "{\"alg\":\"RS256\"}", "{\"aud\":[{}, 3]}"));
    assert_null(j->c.aud);
    assert_false(j->malformed);
}

static void test_alg_none_empty_signature(void **state)
{
    struct fx *f = *state;
    const char *hdr = "{\"alg\":\"none\"}", *pay = "{\"sub\":\"x\"}";
    struct jwt *j = parse(f, mk(f, hdr, strlen(hdr), pay, strlen(pay), NULL, 0));
    assert_int_equal(j->type, JWT_TYPE_JWT);
    assert_false(j->malformed);
    assert_int_equal(j->sig_len, 0);
    assert_string_equal(j->c.alg, "none");
    assert_int_equal(f->tok[strlen(f->tok) - 1], '.');
}

static void test_classification(void **state)
{
    struct fx *f = *state;
    struct {
        const char *tok;
        enum jwt_type type;
    } v[] = {
        {"", JWT_TYPE_OPAQUE},
        {"ya29.a0AfH6SMB", JWT_TYPE_OPAQUE},
        {"abc.def.ghi", JWT_TYPE_OPAQUE},           /* three parts, header not eyJ */
        {"eyJhbGciOiJub25lIn0.e30", JWT_TYPE_OPAQUE}, /* two parts */
        {"eyJ.a.b.c", JWT_TYPE_OPAQUE},
        {"eyJhbGci.e30.s+g", JWT_TYPE_OPAQUE},        /* not base64url: not JWT-looking */
        {"eyJhbGci.e30=.sig", JWT_TYPE_OPAQUE},
        {"eyJ a.e30.x", JWT_TYPE_OPAQUE},
        {"..", JWT_TYPE_OPAQUE},
        {"....", JWT_TYPE_JWE},
        {"eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo.48V1_ALb6US04U3b.5eym8TW.XFBoMYUZ",
         JWT_TYPE_JWE},
        {"a.b.c.d.e.f", JWT_TYPE_OPAQUE},
        {"1.2.3.4", JWT_TYPE_OPAQUE},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct jwt *j = parse(f, v[i].tok);
        if (j->type != v[i].type)
            fail_msg("%s: type %d, want %d", v[i].tok, j->type, v[i].type);
        assert_false(j->malformed);
        assert_null(j->c.alg);
        assert_null(j->sig);
    }
    assert_string_equal(jwt_type_name(JWT_TYPE_JWT), "jwt");
    assert_string_equal(jwt_type_name(JWT_TYPE_JWE), "jwe");
    assert_string_equal(jwt_type_name(JWT_TYPE_OPAQUE), "opaque");
}

static void expect_malformed(struct fx *f, const char *tok, const char *why_part)
{
    struct jwt *j = parse(f, tok);
    if (j->type != JWT_TYPE_JWT || !j->malformed)
        fail_msg("%s: type %d malformed %d", tok, j->type, j->malformed);
    assert_non_null(j->error);
    if (!strstr(j->error, why_part))
        fail_msg("%s: error \"%s\" does not mention %s", tok, j->error, why_part);
}

static void test_malformed(void **state)
{
    struct fx *f = *state;
    static const uint8_t s[] = {9};
    expect_malformed(f, mks(f, "{\"alg\":\"RS256\"", "{}"), "header");
    expect_malformed(f, mks(f, "{\"alg\":\"RS256\"}", "[1,2]"), "payload");
    expect_malformed(f, mks(f, "{\"alg\":\"RS256\"}", "just text"), "payload");
    expect_malformed(f, mks(f, "{\"alg\":\"RS256\"} x", "{}"), "header");
    /* jansson rejects invalid UTF-8 and \u0000 (flags 0) */
    expect_malformed(f, mks(f, "{\"alg\":\"R\xff\"}", "{}"), "header");
    expect_malformed(f, mks(f, "{\"alg\":\"RS256\"}", "{\"sub\":\"a\\u0000b\"}"), "payload");
    expect_malformed(f, mk(f, "{\"a\":\"\xc3\"}", 10, "{}", 2, s, 1), "header");
    /* base64url alphabet but not decodable: 4k+1 lengths, stray pad bits */
    expect_malformed(f, "eyJhbGciOiJSUzI1NiJ9.e30a1.c2ln", "payload");
    expect_malformed(f, "eyJhbGciOiJSUzI1NiJ9.e30.c", "signature");
    expect_malformed(f, "eyJhbGciOiJSUzI1NiJ9.e30.QR", "signature");
    expect_malformed(f, "eyJhbGciOiJSUzI1NiJ8.e30.c2ln", "header");
    expect_malformed(f, "eyJ.e30.c2ln", "header");

    /* A non-JSON payload still leaves the header and signature usable (RFC 7520 §4 style). */
    struct jwt *j = parse(f, mks(f, "{\"alg\":\"PS256\",\"kid\":\"k\"}", "It's a dangerous"));
    assert_true(j->malformed);
    assert_string_equal(j->c.alg, "PS256");
    assert_string_equal(j->c.kid, "k");
    assert_int_equal(j->sig_len, 5);
    assert_non_null(j->signing_input);
}

/* The arena's limit makes every allocation fail at some point of the parse; each must come back
 * as -1 with nothing half-filled, never a crash. */
static void test_arena_exhaustion(void **state)
{
    struct fx *f = *state;
    const char *tok =
        mks(f, "{\"alg\":\"RS256\",\"kid\":\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"}",
            "{\"iss\":\"https://issuer.example/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
            "\"aud\":[\"x\"]}");
    int saw_fail = 0, saw_ok = 0;
    for (size_t limit = 16; limit <= 1024; limit += 16) {
        struct arena a;
        struct jwt j;
        arena_init(&a, 16, limit);
        int rc = jwt_parse((const uint8_t *)tok, strlen(tok), &a, &j);
        if (rc < 0) {
            saw_fail = 1;
            assert_null(j.c.alg);
            assert_null(j.sig);
        } else {
            saw_ok = 1;
            assert_false(j.malformed);
            assert_string_equal(j.c.aud, "x");
        }
        arena_release(&a);
    }
    assert_true(saw_fail && saw_ok);
}

/* Every prefix of a real token: no overreads (ASan), and a consistent classification. */
static void test_every_prefix(void **state)
{
    struct fx *f = *state;
    const char *tok = mks(f, "{\"alg\":\"ES256\",\"kid\":\"k\"}", "{\"iss\":\"https://i\"}");
    size_t len = strlen(tok);
    const char *dot2 = strrchr(tok, '.');
    char copy[4096];
    memcpy(copy, tok, len);
    for (size_t cut = 0; cut <= len; cut++) {
        /* an exact-size malloc copy, so ASan sees any read past `cut` */
        char *buf = malloc(cut ? cut : 1);
        assert_non_null(buf);
        memcpy(buf, copy, cut);
        struct jwt j;
        struct arena a;
        arena_init(&a, 256, 0);
        assert_int_equal(jwt_parse((const uint8_t *)buf, cut, &a, &j), 0);
        if (cut <= (size_t)(dot2 - tok))
            assert_int_equal(j.type, JWT_TYPE_OPAQUE);
        else
            assert_int_equal(j.type, JWT_TYPE_JWT);
        if (cut == len)
            assert_false(j.malformed);
        arena_release(&a);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_token),
        cmocka_unit_test(test_header_flags_and_odd_claims),
        cmocka_unit_test(test_alg_none_empty_signature),
        cmocka_unit_test(test_classification),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_arena_exhaustion),
        cmocka_unit_test(test_every_prefix),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
