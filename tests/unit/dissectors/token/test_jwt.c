/* test_jwt.c — jwt_parse(): classification (JWS/JWE/opaque), malformed detection, header and
 * claim extraction, signing input and signature, arena exhaustion, and every prefix of a token;
 * x5t#S256 and cty, crit (RFC 7515 §4.1.11), b64:false (RFC 7797, with the RFC's own compact
 * example from the JOSE cookbook when ../shared is present), nested JWTs (RFC 7519 §5.2) and
 * aud arrays. Tokens are built here from JSON text so each case shows exactly what it feeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

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
    assert_int_equal(j->c.naud, 2);
    assert_ptr_equal(j->c.auds[0], j->c.aud);
    assert_string_equal(j->c.auds[1], "second");
    assert_true(j->c.crit_unknown); /* crit lists b64, which the header does not carry */
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
    assert_null(j->c.auds);
    assert_int_equal(j->c.naud, 0);
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

static void test_x5t256_cty_aud(void **state)
{
    struct fx *f = *state;
    struct jwt *j = parse(f, mks(f, "{\"alg\":\"RS256\",\"x5t#S256\":\"Q-oCF945Bmo2Fk4hZV6O17Lvq"
                                    "mfkFVAzg3raJt9rtZ4\",\"cty\":\"json\"}",
                                 "{\"aud\":\"only\"}"));
    assert_false(j->malformed);
    assert_null(j->c.kid);
    assert_null(j->c.x5t);
    assert_string_equal(j->c.x5t256, "Q-oCF945Bmo2Fk4hZV6O17LvqmfkFVAzg3raJt9rtZ4");
    assert_string_equal(j->c.cty, "json");
    assert_false(j->c.has_crit || j->c.crit_unknown || j->c.b64_false);
    assert_null(j->inner);
    assert_int_equal(j->c.naud, 1);
    assert_string_equal(j->c.auds[0], "only");
    assert_ptr_equal(j->c.auds[0], j->c.aud);

    /* At most 16 aud values are kept, in order, non-strings skipped. */
    char pay[1024] = "{\"aud\":[null";
    for (int i = 0; i < 20; i++)
        snprintf(pay + strlen(pay), sizeof(pay) - strlen(pay), ",\"a%d\"", i);
    strcat(pay, "]}");
    j = parse(f, mks(f, "{\"alg\":\"RS256\"}", pay));
    assert_int_equal(j->c.naud, 16);
    assert_string_equal(j->c.aud, "a0");
    assert_string_equal(j->c.auds[15], "a15");
}

/* crit must be a non-empty array of distinct strings naming present header parameters, and
 * "b64" is the only one we understand; b64 must be a boolean and false only with crit. */
static void test_crit(void **state)
{
    struct fx *f = *state;
    struct {
        const char *hdr;
        int crit_unknown, b64_false;
    } v[] = {
        {"{\"alg\":\"RS256\",\"b64\":false,\"crit\":[\"b64\"]}", 0, 1},
        {"{\"alg\":\"RS256\",\"b64\":true,\"crit\":[\"b64\"]}", 0, 0},
        {"{\"alg\":\"RS256\",\"b64\":true}", 0, 0},
        {"{\"alg\":\"RS256\",\"crit\":[\"b64\"]}", 1, 0},                  /* absent */
        {"{\"alg\":\"RS256\",\"exp\":1,\"crit\":[\"exp\"]}", 1, 0},        /* not understood */
        {"{\"alg\":\"RS256\",\"crit\":[\"alg\"]}", 1, 0},                  /* JWS's own */
        {"{\"alg\":\"RS256\",\"b64\":false,\"crit\":[\"b64\",\"b64\"]}", 1, 1},
        {"{\"alg\":\"RS256\",\"b64\":false,\"crit\":[\"b64\",\"x\"],\"x\":1}", 1, 1},
        {"{\"alg\":\"RS256\",\"crit\":[]}", 1, 0},
        {"{\"alg\":\"RS256\",\"b64\":false,\"crit\":\"b64\"}", 1, 1},
        {"{\"alg\":\"RS256\",\"crit\":[1]}", 1, 0},
        {"{\"alg\":\"RS256\",\"crit\":null}", 1, 0},
        {"{\"alg\":\"RS256\",\"b64\":false}", 1, 1},                       /* no crit */
        {"{\"alg\":\"RS256\",\"b64\":\"false\",\"crit\":[\"b64\"]}", 1, 0},
        {"{\"alg\":\"RS256\",\"b64\":0,\"crit\":[\"b64\"]}", 1, 0},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        struct jwt *j = parse(f, mks(f, v[i].hdr, "{\"iss\":\"https://i\"}"));
        if (j->type != JWT_TYPE_JWT || j->malformed || j->c.crit_unknown != v[i].crit_unknown ||
            j->c.b64_false != v[i].b64_false)
            fail_msg("%s: type %d malformed %d crit_unknown %d b64_false %d", v[i].hdr, j->type,
                     j->malformed, j->c.crit_unknown, j->c.b64_false);
        /* b64:false: the payload is not decoded, so no claims */
        if (v[i].b64_false)
            assert_null(j->c.iss);
        else
            assert_string_equal(j->c.iss, "https://i");
        assert_true(j->c.has_crit == (strstr(v[i].hdr, "crit") != NULL));
    }
}

/* b64:false: the payload part is taken as sent — not decoded, not claims — and the signing
 * input is the text as sent. A payload outside the base64url alphabet is only a JWS when the
 * header says b64:false; otherwise the text is not ours (opaque), as before. */
static void test_b64_false(void **state)
{
    struct fx *f = *state;
    const char *hdr = "{\"alg\":\"RS256\",\"b64\":false,\"crit\":[\"b64\"]}";
    char tok[512];
    size_t o = b64url_encode((const uint8_t *)hdr, strlen(hdr), tok);
    snprintf(tok + o, sizeof(tok) - o, ".e30.c2ln");
    struct jwt *j = parse(f, tok);
    assert_int_equal(j->type, JWT_TYPE_JWT);
    assert_false(j->malformed);
    assert_true(j->c.b64_false);
    assert_false(j->c.crit_unknown);
    assert_ptr_equal(j->signing_input, (const uint8_t *)tok);
    assert_int_equal(j->signing_input_len, o + 4);
    assert_memory_equal(j->sig, "sig", 3);
    assert_int_equal(j->c.naud, 0);

    snprintf(tok + o, sizeof(tok) - o, ".any bytes: {not base64url}!.c2ln");
    j = parse(f, tok);
    assert_int_equal(j->type, JWT_TYPE_JWT);
    assert_false(j->malformed);
    assert_true(j->c.b64_false);
    assert_int_equal(j->signing_input_len, strrchr(tok, '.') - tok);

    /* b64:false without crit: still not decoded, and flagged */
    const char *nocrit = "{\"alg\":\"RS256\",\"b64\":false}";
    o = b64url_encode((const uint8_t *)nocrit, strlen(nocrit), tok);
    snprintf(tok + o, sizeof(tok) - o, ".a b.c2ln");
    j = parse(f, tok);
    assert_int_equal(j->type, JWT_TYPE_JWT);
    assert_true(j->c.crit_unknown && j->c.b64_false);

    /* an ordinary header with a non-base64url payload: not a JWS */
    const char *plain = "{\"alg\":\"RS256\"}";
    o = b64url_encode((const uint8_t *)plain, strlen(plain), tok);
    snprintf(tok + o, sizeof(tok) - o, ".a b.c2ln");
    j = parse(f, tok);
    assert_int_equal(j->type, JWT_TYPE_OPAQUE);
    assert_null(j->c.alg);
    assert_null(j->sig);
    /* ... nor with a header that is not JSON, or not base64url */
    j = parse(f, "eyJub3QganNvbg.a b.c2ln");
    assert_int_equal(j->type, JWT_TYPE_OPAQUE);
    j = parse(f, "eyJhbGciOiJSUzI1NiJ8.a b.c2ln");
    assert_int_equal(j->type, JWT_TYPE_OPAQUE);
    /* b64:false with a signature that does not decode: malformed */
    o = b64url_encode((const uint8_t *)hdr, strlen(hdr), tok);
    snprintf(tok + o, sizeof(tok) - o, ".a b.c");
    j = parse(f, tok);
    assert_true(j->malformed);
    assert_true(j->c.b64_false);
}

/* RFC 7797 §4.2's payload in the compact form the JOSE cookbook gives ("b64"=false compatible
 * with compact serialization, HS256): the signing input is the text as sent, which the HMAC
 * over it proves. §4.2's own payload "$.02" holds a '.', so it has no compact form (§5.2). */
static void test_rfc7797_vector(void **state)
{
    struct fx *f = *state;
    json_error_t jerr;
    json_t *doc = json_load_file(TW_SHARED_DIR "/corpora/rfc7520-jose-cookbook/rfc7797/"
                                 "hmac-sha2_b64_false.json", 0, &jerr);
    if (!doc)
        skip();
    const char *compact = json_string_value(json_object_get(json_object_get(doc, "output"),
                                                            "compact"));
    const char *payload = json_string_value(json_object_get(json_object_get(doc, "input"),
                                                            "payload"));
    const char *k = json_string_value(json_object_get(
        json_object_get(json_object_get(doc, "input"), "key"), "k"));
    assert_non_null(compact);
    assert_non_null(payload);
    assert_non_null(k);
    struct jwt *j = parse(f, compact);
    assert_int_equal(j->type, JWT_TYPE_JWT);
    assert_false(j->malformed);
    assert_true(j->c.b64_false);
    assert_false(j->c.crit_unknown);
    assert_true(j->c.has_crit);
    assert_string_equal(j->c.alg, "HS256");
    assert_null(j->c.iss);
    const char *dot = strchr(compact, '.');
    assert_int_equal(j->signing_input_len, (size_t)(dot - compact) + 1 + strlen(payload));
    assert_memory_equal(j->signing_input + (dot - compact) + 1, payload, strlen(payload));

    uint8_t key[128], mac[EVP_MAX_MD_SIZE];
    long klen = b64url_decode(k, strlen(k), key);
    assert_true(klen > 0);
    unsigned int mlen = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)klen, j->signing_input, j->signing_input_len,
                         mac, &mlen));
    assert_int_equal(j->sig_len, mlen);
    assert_memory_equal(j->sig, mac, mlen);

    char four[256];
    snprintf(four, sizeof(four), "%.*s.$.02.%s", (int)(dot - compact), compact,
             strrchr(compact, '.') + 1);
    j = parse(f, four);
    assert_int_equal(j->type, JWT_TYPE_OPAQUE);
    json_decref(doc);
}

/* cty "JWT" (any case, "application/" prefix optional): the decoded payload is the inner token,
 * kept as an arena copy; no claims are read. A payload that is not a compact JWS/JWE is
 * malformed. */
static void test_nested(void **state)
{
    struct fx *f = *state;
    char inner[512];
    snprintf(inner, sizeof(inner), "%s", mks(f, "{\"alg\":\"ES256\",\"kid\":\"in\"}",
                                             "{\"iss\":\"https://inner\"}"));
    const char *ctys[] = {"JWT", "jwt", "application/jwt", "Application/JWT"};
    for (size_t i = 0; i < sizeof(ctys) / sizeof(ctys[0]); i++) {
        char hdr[128];
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"out\",\"cty\":\"%s\"}", ctys[i]);
        struct jwt *j = parse(f, mks(f, hdr, inner));
        assert_int_equal(j->type, JWT_TYPE_JWT);
        assert_false(j->malformed);
        assert_string_equal(j->c.kid, "out");
        assert_null(j->c.iss);
        assert_int_equal(j->inner_len, strlen(inner));
        assert_memory_equal(j->inner, inner, strlen(inner));
        assert_true((const char *)j->inner < f->tok ||
                    (const char *)j->inner > f->tok + strlen(f->tok));
    }
    /* a JWE inside */
    const char *jwe = "eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn";
    struct jwt *j = parse(f, mks(f, "{\"alg\":\"RS256\",\"cty\":\"JWT\"}", jwe));
    assert_false(j->malformed);
    assert_int_equal(j->inner_len, strlen(jwe));
    /* payloads that are not a compact token */
    const char *bad[] = {"{\"iss\":\"https://i\"}", "eyJa.b", "eyJa.b.c.d", "abc.def.ghi",
                         "eyJa.b c.d", "eyJa.b.c.d.e.f", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = parse(f, mks(f, "{\"alg\":\"RS256\",\"cty\":\"JWT\"}", bad[i]));
        if (!j->malformed || j->inner || !strstr(j->error, "nested"))
            fail_msg("nested payload '%s' not malformed", bad[i]);
    }
    /* other content types: claims as usual */
    j = parse(f, mks(f, "{\"alg\":\"RS256\",\"cty\":\"JWS\"}", "{\"iss\":\"https://i\"}"));
    assert_false(j->malformed);
    assert_null(j->inner);
    assert_string_equal(j->c.iss, "https://i");
    /* an unencoded payload cannot carry a token */
    const char *hdr = "{\"alg\":\"RS256\",\"cty\":\"JWT\",\"b64\":false,\"crit\":[\"b64\"]}";
    char tok[512];
    size_t o = b64url_encode((const uint8_t *)hdr, strlen(hdr), tok);
    snprintf(tok + o, sizeof(tok) - o, ".eyJhbGciOiJub25lIn0.c2ln");
    j = parse(f, tok);
    assert_true(j->malformed);
    assert_null(j->inner);
}

/* Arena exhaustion on the new paths (aud array, nested copy): -1 with nothing left behind, or
 * a complete result. */
static void test_arena_exhaustion_new(void **state)
{
    struct fx *f = *state;
    char inner[512];
    snprintf(inner, sizeof(inner), "%s", mks(f, "{\"alg\":\"ES256\",\"kid\":\"in\"}",
                                             "{\"iss\":\"https://inner\"}"));
    char nested[2048];
    snprintf(nested, sizeof(nested), "%s",
             mks(f, "{\"alg\":\"RS256\",\"cty\":\"JWT\",\"x5t#S256\":\"abc\"}", inner));
    char auds[1024];
    snprintf(auds, sizeof(auds), "%s",
             mks(f, "{\"alg\":\"RS256\"}", "{\"aud\":[\"aaaaaaaaaaaaaaaaaaaa\",\"bbbbbbbbbbbbbbbbb"
                                           "bbbbbbbbbbbbb\",\"cccccccccccccccccccccccccccccc\"]}"));
    const char *toks[] = {nested, auds};
    for (size_t t = 0; t < 2; t++) {
        int saw_fail = 0, saw_ok = 0;
        for (size_t limit = 16; limit <= 2048; limit += 16) {
            struct arena a;
            struct jwt j;
            arena_init(&a, 16, limit);
            int rc = jwt_parse((const uint8_t *)toks[t], strlen(toks[t]), &a, &j);
            if (rc < 0) {
                saw_fail = 1;
                assert_null(j.inner);
                assert_null(j.c.auds);
                assert_int_equal(j.c.naud, 0);
            } else {
                saw_ok = 1;
                assert_false(j.malformed);
                if (t == 0)
                    assert_memory_equal(j.inner, inner, strlen(inner));
                else
                    assert_string_equal(j.c.auds[2], "cccccccccccccccccccccccccccccc");
            }
            arena_release(&a);
        }
        assert_true(saw_fail && saw_ok);
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
        cmocka_unit_test(test_x5t256_cty_aud),
        cmocka_unit_test(test_crit),
        cmocka_unit_test(test_b64_false),
        cmocka_unit_test(test_rfc7797_vector),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_arena_exhaustion_new),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
