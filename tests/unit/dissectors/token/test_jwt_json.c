/* test_jwt_json.c — jwt_parse() with json_scan against the jansson-based parser it replaced
 * (jwt_ref.h, kept in the tests only): identical struct jwt results, field by field, and the
 * same acceptance as json_loadb(flags 0) for every document.
 *
 * Inputs: hand-picked edge documents (numbers at int64 and double limits, escapes, surrogates,
 * invalid UTF-8, duplicates, depth 2047..2049, trailing bytes), RFC 7515/7519/7520 and
 * provider-shaped headers and claims, every token carved from the committed e2e captures and
 * pcaps, and 120,000 random and mutated documents from a seeded generator. Each document is
 * read alone (acceptance), and as a token's header and as its claims, with a roomy arena and
 * with a tiny one (the arena-exhaustion paths must agree too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "json_scan.h"
#include "jwt_ref.h"

static const char STD_HDR[] = "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}";
static const char STD_PAY[] = "{\"iss\":\"https://issuer.example/\",\"aud\":\"api\",\"exp\":1700000000}";

static size_t ndocs, ntokens;

/* jansson's verdict on a document: a JSON object? */
static int jansson_object(const uint8_t *d, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb((const char *)d, n, 0, &e);
    int ok = j && json_is_object(j);
    json_decref(j);
    return ok;
}

static char *dump(const uint8_t *d, size_t n)
{
    static char buf[200];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < sizeof(buf); i++)
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, (d[i] >= 0x20 && d[i] < 0x7f) ? "%c" : "\\x%02x", d[i]);
    buf[k] = '\0';
    return buf;
}

/* One token: both parsers, a roomy arena and capped ones (the exhaustion paths); fails the test
 * on any difference. The random documents try the roomy and the tightest only (time under
 * ASan). */
static int all_limits = 1;

static void compare_token(const uint8_t *tok, size_t len)
{
    static const size_t limits[][2] = {{4096, 1u << 20}, {16, 96}, {16, 200}, {64, 400}};
    for (size_t i = 0; i < (all_limits ? 4u : 2u); i++) {
        struct arena a1, a2;
        struct jwt j1, j2;
        arena_init(&a1, limits[i][0], limits[i][1]);
        arena_init(&a2, limits[i][0], limits[i][1]);
        int r1 = jwt_parse(tok, len, &a1, &j1);
        int r2 = ref_jwt_parse(tok, len, &a2, &j2);
        if (r1 != r2 || (r1 == 0 && jwt_ref_compare(&j1, &j2, dump(tok, len)))) {
            fprintf(stderr, "token %s (limit %zu): new %d, jansson %d\n", dump(tok, len),
                    limits[i][1], r1, r2);
            fail();
        }
        arena_release(&a1);
        arena_release(&a2);
    }
    ntokens++;
}

static void b64tok(char *out, const uint8_t *h, size_t hl, const uint8_t *p, size_t pl)
{
    size_t n = b64url_encode(h, hl, out);
    out[n++] = '.';
    n += b64url_encode(p, pl, out + n);
    memcpy(out + n, ".c2lnbmF0dXJl", 14);
}

/* The one documented difference: jansson's reader ignores a raw NUL byte right after a number
 * or a true/false/null (its look-ahead byte is "ungot" into a buffer where NUL means empty, so
 * `{"exp":5\0}` loads as {"exp":5}). RFC 8259 has no such whitespace and the relying parties'
 * parsers refuse it, so json_scan refuses every raw NUL: such a token's header or claims are
 * "not a JSON object" (malformed). Every other raw NUL jansson refuses too. */
static size_t quirks;

static void expect_refused(const uint8_t *tok, size_t len, const char *error)
{
    struct arena a;
    struct jwt j;
    arena_init(&a, 4096, 1u << 20);
    assert_int_equal(jwt_parse(tok, len, &a, &j), 0);
    assert_int_equal(j.type, JWT_TYPE_JWT);
    assert_true(j.malformed);
    assert_string_equal(j.error, error);
    arena_release(&a);
}

/* A document: accepted alike, and identical as a header and as claims. */
static void check_doc(const uint8_t *d, size_t n)
{
    int mine = json_scan_object(d, n, NULL, NULL) == 0;
    int theirs = jansson_object(d, n);
    int quirk = theirs && memchr(d, 0, n) != NULL;
    if (quirk ? mine : mine != theirs) {
        fprintf(stderr, "document %s: json_scan %d, jansson %d\n", dump(d, n), mine, theirs);
        fail();
    }
    char *tok = malloc(2 * (n + sizeof(STD_HDR) + sizeof(STD_PAY)) + 64);
    assert_non_null(tok);
    b64tok(tok, d, n, (const uint8_t *)STD_PAY, strlen(STD_PAY));
    if (quirk && memcmp(tok, "eyJ", 3) == 0)
        expect_refused((const uint8_t *)tok, strlen(tok), "header is not a JSON object");
    else if (!quirk)
        compare_token((const uint8_t *)tok, strlen(tok));
    b64tok(tok, (const uint8_t *)STD_HDR, strlen(STD_HDR), d, n);
    if (quirk)
        expect_refused((const uint8_t *)tok, strlen(tok), "payload is not a JSON object");
    else
        compare_token((const uint8_t *)tok, strlen(tok));
    free(tok);
    quirks += (size_t)quirk;
    ndocs++;
}

static void check_str(const char *s)
{
    check_doc((const uint8_t *)s, strlen(s));
}

static const char *const edge_docs[] = {
    "{}", " {} ", "\t\r\n{\t\r\n}\t\r\n", "{} x", "{}\x00", "[]", "[{}]", "\"s\"", "1", "",
    " ", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}", "{'a':1}",
    "{\"a\":1}}", "\xef\xbb\xbf{}", "{\"a\":\x0b" "1}", "{\"a\":\f1}",
    /* literals */
    "{\"b64\":true}", "{\"b64\":false}", "{\"b64\":null}", "{\"b64\":nul}", "{\"b64\":truex}",
    "{\"b64\":True}", "{\"b64\":false1}", "{\"b64\":\"false\"}",
    /* numbers */
    "{\"exp\":0}", "{\"exp\":-0}", "{\"exp\":01}", "{\"exp\":-}", "{\"exp\":+1}", "{\"exp\":.5}",
    "{\"exp\":1.}", "{\"exp\":1.5}", "{\"exp\":-1.5}", "{\"exp\":1e3}", "{\"exp\":1E+3}",
    "{\"exp\":1e-3}", "{\"exp\":1e}", "{\"exp\":1e+}", "{\"exp\":1.5e2.3}", "{\"exp\":0x10}",
    "{\"exp\":9223372036854775807}", "{\"exp\":9223372036854775808}",
    "{\"exp\":-9223372036854775808}", "{\"exp\":-9223372036854775809}",
    "{\"exp\":18446744073709551616}", "{\"exp\":99999999999999999999999}",
    "{\"exp\":9223372036854775807.0}", "{\"exp\":9223372036854775808.0}",
    "{\"exp\":-9223372036854775808.0}", "{\"exp\":-9223372036854777856.0}",
    "{\"exp\":9.2233720368547748e18}", "{\"exp\":1e308}", "{\"exp\":1.7976931348623157e308}",
    "{\"exp\":1.7976931348623159e308}", "{\"exp\":1e309}", "{\"exp\":-1e309}", "{\"exp\":1e-400}",
    "{\"exp\":-1e-400}", "{\"exp\":1e400000000000000000000}", "{\"exp\":0e999999}",
    "{\"exp\":1700000000.999}", "{\"exp\":-1700000000.999}", "{\"iat\":1,\"nbf\":2.5,\"exp\":3e2}",
    "{\"iat\":\"1\",\"nbf\":null,\"exp\":[1]}", "{\"x\":1e309,\"exp\":1}", "{\"x\":[1e999],\"exp\":1}",
    "{\"x\":{\"y\":-9223372036854775809},\"iss\":\"i\"}",
    "{\"exp\":0.0000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000001}",
    "{\"exp\":1234567890123456789012345678901234567890123456789012345678901234567890123456789"
    "0123456789012345678901234567890123456789012345678901234567890.5}",
    /* strings */
    "{\"iss\":\"\"}", "{\"iss\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"}", "{\"iss\":\"\\x\"}",
    "{\"iss\":\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"}", "{\"iss\":\"\\u0000\"}",
    "{\"iss\\u0000\":\"a\"}", "{\"iss\":\"\\ud800\"}", "{\"iss\":\"\\ud800x\"}",
    "{\"iss\":\"\\ud800\\u0041\"}", "{\"iss\":\"\\udc00\"}", "{\"iss\":\"\\udc00\\ud800\"}",
    "{\"iss\":\"\\ud800\\ud800\"}", "{\"iss\":\"\\udbff\\udfff\"}", "{\"iss\":\"\\u12\"}",
    "{\"iss\":\"\\u12g4\"}", "{\"iss\":\"\\U0041\"}", "{\"iss\":\"\\uD83D\\uDE00\"}",
    "{\"iss\":\"\\ud800\\n\"}", "{\"iss\":\"a\x01\"}", "{\"iss\":\"a\x1f\"}", "{\"iss\":\"a\x7f\"}",
    "{\"iss\":\"a\tb\"}", "{\"iss\":\"\xc3\xa9\"}", "{\"iss\":\"\xc3\"}", "{\"iss\":\"\xc0\x80\"}",
    "{\"iss\":\"\xc1\xbf\"}", "{\"iss\":\"\xe0\x80\x80\"}", "{\"iss\":\"\xe0\xa0\x80\"}",
    "{\"iss\":\"\xed\xa0\x80\"}", "{\"iss\":\"\xed\x9f\xbf\"}", "{\"iss\":\"\xef\xbf\xbf\"}",
    "{\"iss\":\"\xf0\x8f\xbf\xbf\"}", "{\"iss\":\"\xf0\x90\x80\x80\"}", "{\"iss\":\"\xf4\x8f\xbf\xbf\"}",
    "{\"iss\":\"\xf4\x90\x80\x80\"}", "{\"iss\":\"\xf5\x80\x80\x80\"}", "{\"iss\":\"\xff\"}",
    "{\"iss\":\"\x80\"}", "{\"iss\":\"\xe2\x82\"}", "{\"iss\":\"a\"\xc3\xa9}", "{\"iss\":\"abc",
    "{\"iss\":\"abc\\", "{\"iss\":\"abc\\u00",
    /* keys: escaped names, long names, duplicates (the last wins) */
    "{\"\\u0069ss\":\"escaped-name\"}", "{\"i\\u0073s\":\"x\",\"iss\":\"y\"}",
    "{\"iss\":\"first\",\"iss\":\"second\"}", "{\"iss\":\"first\",\"iss\":1}",
    "{\"exp\":1,\"exp\":\"x\"}", "{\"exp\":\"x\",\"exp\":2}", "{\"aud\":[\"a\"],\"aud\":\"b\"}",
    "{\"aud\":\"b\",\"aud\":[\"c\",\"d\"]}", "{\"\":1}", "{\"\":\"\",\"iss\":\"i\"}",
    "{\"ississississississississississississississ\":\"long\",\"iss\":\"short\"}",
    "{\"iss\":{\"iss\":\"nested\"}}", "{\"a\":{\"iss\":\"nested\"},\"iss\":\"top\"}",
    /* aud */
    "{\"aud\":[]}", "{\"aud\":[1,\"a\",null,\"b\",{\"c\":1},[\"d\"],\"e\"]}",
    "{\"aud\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\","
    "\"14\",\"15\",\"16\",\"17\",\"18\"]}",
    "{\"aud\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,\"a\",\"b\"]}",
    "{\"aud\":[1,2,3,\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\",\"l\",\"m\","
    "\"n\",\"o\",\"p\"]}",
    "{\"aud\":[\"\\u0061\", \"b\" , 1.5e3 ,\"c\"]}", "{\"aud\":null}", "{\"aud\":7}",
    /* header members */
    "{\"alg\":\"RS256\",\"crit\":[\"b64\"],\"b64\":false}", "{\"alg\":\"RS256\",\"crit\":[\"b64\"]}",
    "{\"crit\":[\"b64\",\"b64\"],\"b64\":false}", "{\"crit\":[],\"b64\":false}",
    "{\"crit\":\"b64\",\"b64\":false}", "{\"crit\":[\"exp\"],\"exp\":1}", "{\"b64\":false}",
    "{\"crit\":[\"\\u0062\\u0036\\u0034\"],\"b64\":false}", "{\"crit\":[\"b64\",1],\"b64\":true}",
    "{\"crit\":null}", "{\"b64\":false,\"crit\":[\"b64\"],\"b64\":\"x\"}",
    "{\"alg\":\"RS256\",\"jwk\":null,\"jku\":0,\"x5u\":\"\",\"x5c\":[],\"nonce\":{}}",
    "{\"alg\":\"ES256\",\"x5t\":\"abc\",\"x5t#S256\":\"def\",\"cty\":\"JWT\",\"typ\":\"at+jwt\"}",
    "{\"alg\":\"RS256\",\"cty\":\"application/jwt\"}", "{\"alg\":\"none\",\"kid\":\"\"}",
    "{\"alg\":1,\"kid\":[\"k\"],\"typ\":{},\"x5t\":true,\"cty\":null}",
};

static void test_edge_documents(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(edge_docs) / sizeof(edge_docs[0]); i++)
        check_str(edge_docs[i]);
    /* a raw NUL inside a string, inside a key, between tokens */
    static const uint8_t nul1[] = "{\"iss\":\"a\0b\"}", nul2[] = "{\"i\0s\":1}", nul3[] = "{\0}";
    check_doc(nul1, sizeof(nul1) - 1);
    check_doc(nul2, sizeof(nul2) - 1);
    check_doc(nul3, sizeof(nul3) - 1);
    /* jansson's NUL-after-a-number-or-literal: accepted there, refused here (check_doc) */
    static const uint8_t q1[] = "{\"exp\":5\0}", q2[] = "{\"b64\":false\0,\"crit\":[\"b64\"]}",
                         q3[] = "{\"iss\":\"i\",\"x\":[null\0]}";
    size_t before = quirks;
    check_doc(q1, sizeof(q1) - 1);
    check_doc(q2, sizeof(q2) - 1);
    check_doc(q3, sizeof(q3) - 1);
    assert_int_equal(quirks - before, 3);
    /* token shapes: parts and dots (the split before any JSON is read) */
    static const char *const shapes[] = {
        "", ".", "..", "...", "....", ".....", "a", "a.b", "a.b.c", "a.b.c.d", "a.b.c.d.e",
        "a.b.c.d.e.f", "eyJ", "eyJ.", "eyJ..", "eyJ...", "eyJhbGciOiJub25lIn0..",
        "eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJub25lIn0.e30", "eyJhbGciOiJub25lIn0.e30.c2ln.",
        "eyJhbGciOiJub25lIn0.e30.c2ln..", ".eyJhbGciOiJub25lIn0.e30", "eyJhbGciOiJub25lIn0.e30.c2ln.a.b",
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        compare_token((const uint8_t *)shapes[i], strlen(shapes[i]));
}

/* Nesting around jansson's limit: every value counts a level, the root is level 1. */
static void test_depth(void **state)
{
    (void)state;
    static const char *const inner[] = {"1", "[]", "{}", "\"s\"", "[1]", "{\"a\":1}"};
    size_t cap = 2 * 2100 + 64;
    char *d = malloc(cap * 4);
    assert_non_null(d);
    for (int depth = 2040; depth <= 2052; depth++)
        for (size_t k = 0; k < sizeof(inner) / sizeof(inner[0]); k++)
            for (int obj = 0; obj < 2; obj++) {
                /* {"x": then depth-2 containers, then inner: inner sits at level depth */
                size_t n = (size_t)sprintf(d, "{\"aud\":");
                for (int i = 0; i < depth - 2; i++)
                    n += (size_t)sprintf(d + n, obj ? "{\"a\":" : "[");
                n += (size_t)sprintf(d + n, "%s", inner[k]);
                for (int i = 0; i < depth - 2; i++)
                    d[n++] = obj ? '}' : ']';
                n += (size_t)sprintf(d + n, ",\"iss\":\"i\"}");
                check_doc((const uint8_t *)d, n);
            }
    free(d);
}

static const char *const shaped[] = {
    /* RFC 7515 A.1, A.2, A.3, A.4 headers; RFC 7519 §3.1 claims (CRLF as printed) */
    "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}", "{\"alg\":\"RS256\"}", "{\"alg\":\"ES256\"}",
    "{\"alg\":\"ES512\"}", "{\"alg\":\"none\"}",
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}",
    /* RFC 7520 §4.1, §4.3, §4.4, §4.8 (b64), §5 (JWE header) */
    "{\"alg\":\"RS256\",\"kid\":\"bilbo.baggins@hobbiton.example\"}",
    "{\"alg\":\"ES512\",\"kid\":\"bilbo.baggins@hobbiton.example\"}",
    "{\"alg\":\"HS256\",\"kid\":\"018c0ae5-4d9b-471b-bfd6-eef314bc7037\"}",
    "{\"alg\":\"HS256\",\"kid\":\"018c0ae5-4d9b-471b-bfd6-eef314bc7037\",\"b64\":false,"
    "\"crit\":[\"b64\"]}",
    "{\"alg\":\"RSA1_5\",\"kid\":\"frodo.baggins@hobbiton.example\",\"enc\":\"A128CBC-HS256\"}",
    /* Entra (v1, v2), Google, Auth0, Okta, Keycloak, AWS Cognito shaped */
    "{\"typ\":\"JWT\",\"nonce\":\"AQABAAAAAAD\",\"alg\":\"RS256\",\"x5t\":\"-KI3Q9nNR7bRofxmeZoXqbHZGew\","
    "\"kid\":\"-KI3Q9nNR7bRofxmeZoXqbHZGew\"}",
    "{\"aud\":\"00000003-0000-0000-c000-000000000000\",\"iss\":\"https://sts.windows.net/"
    "72f988bf-86f1-41af-91ab-2d7cd011db47/\",\"iat\":1700000000,\"nbf\":1700000000,\"exp\":"
    "1700003600,\"acr\":\"1\",\"amr\":[\"pwd\",\"mfa\"],\"appid\":\"de8bc8b5-d9f9-48b1-a8ad-"
    "b748da725064\",\"appidacr\":\"0\",\"idtyp\":\"user\",\"name\":\"J\\u00f6rg M\\u00fcller\","
    "\"oid\":\"1d5d0a4b-2e5f-4b3c-9a7d-2c1e0f9b8a7d\",\"scp\":\"User.Read openid\",\"sub\":"
    "\"AbCdEf\",\"tid\":\"72f988bf-86f1-41af-91ab-2d7cd011db47\",\"ver\":\"1.0\",\"wids\":[\"b79fbf4d-"
    "3ef9-4689-8143-76b194e85509\"],\"xms_tcdt\":1289241547}",
    "{\"aud\":\"api://app\",\"iss\":\"https://login.microsoftonline.com/3f5a1b2c-8d4e-4f6a-9b7c-"
    "0d1e2f3a4b5c/v2.0\",\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700003600,\"azp\":\"c1\","
    "\"azpacr\":\"1\",\"tid\":\"3f5a1b2c-8d4e-4f6a-9b7c-0d1e2f3a4b5c\",\"ver\":\"2.0\"}",
    "{\"alg\":\"RS256\",\"kid\":\"a50f6e70ef4b548a5fd9142eecd1fb8f54dce9ee\",\"typ\":\"JWT\"}",
    "{\"iss\":\"https://accounts.google.com\",\"azp\":\"1234.apps.googleusercontent.com\",\"aud\":"
    "\"1234.apps.googleusercontent.com\",\"sub\":\"110169484474386276334\",\"email\":\"a@b.c\","
    "\"email_verified\":true,\"at_hash\":\"X\",\"iat\":1700000000,\"exp\":1700003600}",
    "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"NjVBRjY5MDlCMUIwNzU4RTA2QzZFMDQ4QzQ2MDAyQjVDNjk1RTM2Qg\"}",
    "{\"iss\":\"https://tenant.auth0.com/\",\"sub\":\"auth0|5f7c8ec7c33c6c004bbafe82\",\"aud\":[\""
    "https://api.example.com\",\"https://tenant.auth0.com/userinfo\"],\"iat\":1700000000,\"exp\":"
    "1700086400,\"azp\":\"abc\",\"scope\":\"openid profile\",\"permissions\":[]}",
    "{\"kid\":\"okta1\",\"alg\":\"RS256\"}",
    "{\"ver\":1,\"jti\":\"AT.x\",\"iss\":\"https://dev-1.okta.com/oauth2/default\",\"aud\":\"api://"
    "default\",\"iat\":1700000000,\"exp\":1700003600,\"cid\":\"0oa\",\"uid\":\"00u\",\"scp\":[\""
    "openid\"],\"auth_time\":1700000000,\"sub\":\"a@b.c\"}",
    "{\"alg\":\"RS256\",\"typ\" : \"JWT\",\"kid\" : \"FJ86GcF3jTbNLOco4NvZkUCIUmfYCqoqtOQeMfbhNlE\"}",
    "{\"exp\":1700003600,\"iat\":1700000000,\"jti\":\"x\",\"iss\":\"http://kc:8080/realms/demo\","
    "\"aud\":\"account\",\"sub\":\"f:1\",\"typ\":\"Bearer\",\"azp\":\"app\",\"session_state\":\"s\","
    "\"realm_access\":{\"roles\":[\"offline_access\",\"uma_authorization\"]},\"resource_access\":"
    "{\"account\":{\"roles\":[\"manage-account\"]}},\"scope\":\"profile email\"}",
    "{\"kid\":\"abcd1234=\",\"alg\":\"RS256\"}",
    "{\"sub\":\"aaaa\",\"cognito:groups\":[\"admin\"],\"iss\":\"https://cognito-idp.us-east-1."
    "amazonaws.com/us-east-1_abc\",\"client_id\":\"x\",\"origin_jti\":\"y\",\"event_id\":\"z\","
    "\"token_use\":\"access\",\"scope\":\"aws.cognito.signin.user.admin\",\"auth_time\":1700000000,"
    "\"exp\":1700003600,\"iat\":1700000000,\"jti\":\"j\",\"username\":\"u\"}",
    "{\"alg\":\"RS256\",\"kid\":\"k\",\"jku\":\"https://evil.example/jwks.json\"}",
    "{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\",\"n\":\"0vx7\",\"e\":\"AQAB\"}}",
    "{\"alg\":\"RS256\",\"x5c\":[\"MIIC\"],\"x5u\":\"https://x\"}",
    "{\"alg\":\"RS256\",\"cty\":\"JWT\"}",
    "{\"iss\":\"x\",\"iat\":1700000000.123456,\"exp\":1.7000036e9,\"nbf\":-1}",
};

static void test_rfc_and_provider_shapes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(shaped) / sizeof(shaped[0]); i++) {
        check_str(shaped[i]);
        /* and every pair of them as header and claims */
        for (size_t j = 0; j < sizeof(shaped) / sizeof(shaped[0]); j++) {
            char tok[8192];
            b64tok(tok, (const uint8_t *)shaped[i], strlen(shaped[i]),
                   (const uint8_t *)shaped[j], strlen(shaped[j]));
            compare_token((const uint8_t *)tok, strlen(tok));
        }
    }
}

/* Every token-looking run in the committed captures ("eyJ" and base64url or '.'): the e2e
 * cases' and pcaps/. Runs cut by a segment boundary are inputs too. */
static size_t carve_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(sz > 0 ? (size_t)sz : 1);
    size_t n = b ? fread(b, 1, (size_t)sz, f) : 0;
    fclose(f);
    size_t found = 0;
    for (size_t i = 0; i + 3 <= n; i++) {
        if (memcmp(b + i, "eyJ", 3) != 0)
            continue;
        size_t e = i;
        while (e < n && (b64url_valid((const char *)b + e, 1) || b[e] == '.'))
            e++;
        compare_token(b + i, e - i);
        found++;
        i = e;
    }
    free(b);
    return found;
}

static size_t carve_dir(const char *dir)
{
    size_t found = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            found += carve_dir(p);
        else if (strstr(e->d_name, ".pcap"))
            found += carve_file(p);
    }
    closedir(d);
    return found;
}

static void test_capture_tokens(void **state)
{
    (void)state;
    size_t n = carve_dir(TW_SOURCE_DIR "/tests/e2e") + carve_dir(TW_SOURCE_DIR "/pcaps");
    fprintf(stderr, "capture tokens compared: %zu\n", n);
    assert_true(n >= 200);
}

/* ---- seeded random documents ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned pick(unsigned n)
{
    return (unsigned)(rnd() % n);
}

struct buf {
    char d[8192];
    size_t n;
};

static void put(struct buf *b, const char *s)
{
    size_t l = strlen(s);
    if (b->n + l < sizeof(b->d)) {
        memcpy(b->d + b->n, s, l);
        b->n += l;
    }
}

static void ws(struct buf *b)
{
    static const char *const w[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
    put(b, w[pick(7)]);
}

static void gen_string(struct buf *b)
{
    static const char *const piece[] = {
        "a", "RS256", "k1", "b64", "JWT", "https://login.microsoftonline.com/x/v2.0", "\\\"",
        "\\\\", "\\/", "\\n", "\\t", "\\u0041", "\\u00e9", "\\u20AC", "\\ud83d\\ude00", "\\u0000",
        "\\ud800", "\\udc00", "\\ud800\\u0041", "\\uZZZZ", "\\x", "\xc3\xa9", "\xe2\x82\xac",
        "\xf0\x9f\x98\x80", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\xff", "\x01",
        "\x7f", " ", "\\u0062\\u0036\\u0034", "3f5a1b2c-8d4e-4f6a-9b7c-0d1e2f3a4b5c", "\\",
    };
    put(b, "\"");
    unsigned k = pick(4);
    for (unsigned i = 0; i < k; i++)
        put(b, piece[pick(i == 0 && pick(2) ? 6 : sizeof(piece) / sizeof(piece[0]))]);
    put(b, "\"");
}

static void gen_number(struct buf *b)
{
    static const char *const num[] = {
        "0", "-0", "1", "-1", "1700000000", "1700000000.5", "-1.5", "1e3", "1E-3", "2.5e+2",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "1e308", "1e309", "-1e309", "1e-400", "9.3e18", "-9.3e18",
        "01", "1.", ".5", "-", "1e", "+1", "0.0", "123456789012345678901234567890",
    };
    char tmp[64];
    if (pick(3) == 0) {
        snprintf(tmp, sizeof(tmp), "%lld", (long long)(rnd() >> pick(64)) * (pick(2) ? 1 : -1));
        put(b, tmp);
    } else {
        put(b, num[pick(sizeof(num) / sizeof(num[0]))]);
    }
}

static void gen_value(struct buf *b, int depth);

static void gen_key(struct buf *b)
{
    static const char *const keys[] = {
        "alg", "kid", "x5t", "x5t#S256", "typ", "cty", "crit", "b64", "jwk", "jku", "x5u", "x5c",
        "nonce", "iss", "tid", "aud", "sub", "appid", "azp", "iat", "nbf", "exp", "jti", "scp",
        "\\u0061lg", "i\\u0073s", "ex\\u0070", "", "a\\u0000", "iss ", "ISS",
    };
    if (pick(8) == 0) {
        gen_string(b);
        return;
    }
    put(b, "\"");
    put(b, keys[pick(sizeof(keys) / sizeof(keys[0]))]);
    put(b, "\"");
}

static void gen_container(struct buf *b, int depth, int obj)
{
    put(b, obj ? "{" : "[");
    ws(b);
    unsigned n = pick(depth > 3 ? 2 : 6);
    for (unsigned i = 0; i < n; i++) {
        if (i) {
            put(b, ",");
            ws(b);
        }
        if (obj) {
            gen_key(b);
            ws(b);
            put(b, ":");
            ws(b);
        }
        gen_value(b, depth + 1);
        ws(b);
    }
    put(b, obj ? "}" : "]");
}

static void gen_value(struct buf *b, int depth)
{
    switch (pick(depth > 4 ? 6 : 9)) {
    case 0:
    case 1:
    case 2:
        gen_string(b);
        break;
    case 3:
    case 4:
        gen_number(b);
        break;
    case 5: {
        static const char *const lit[] = {"true", "false", "null", "nul", "tru", "False"};
        put(b, lit[pick(6)]);
        break;
    }
    case 6:
    case 7:
        gen_container(b, depth, 0);
        break;
    default:
        gen_container(b, depth, 1);
    }
}

static void mutate(struct buf *b)
{
    static const char special[] = "{}[]\",:\\ -.eE0u\x00\x80\xc3\xff\x1f";
    unsigned m = 1 + pick(3);
    for (unsigned i = 0; i < m && b->n; i++) {
        size_t at = pick((unsigned)b->n);
        switch (pick(5)) {
        case 0: /* replace a byte */
            b->d[at] = pick(2) ? special[pick(sizeof(special) - 1)] : (char)pick(256);
            break;
        case 1: /* delete a byte */
            memmove(b->d + at, b->d + at + 1, b->n - at - 1);
            b->n--;
            break;
        case 2: /* insert a byte */
            if (b->n + 1 < sizeof(b->d)) {
                memmove(b->d + at + 1, b->d + at, b->n - at);
                b->d[at] = special[pick(sizeof(special) - 1)];
                b->n++;
            }
            break;
        case 3: /* truncate */
            b->n = at;
            break;
        default: { /* duplicate a span */
            size_t len = pick(16);
            if (at + len <= b->n && b->n + len < sizeof(b->d)) {
                memmove(b->d + at + len, b->d + at, b->n - at);
                b->n += len;
            }
        }
        }
    }
}

static void test_random_documents(void **state)
{
    (void)state;
    size_t before = ndocs, accepted = 0;
    all_limits = 0;
    for (int i = 0; i < 120000; i++) {
        struct buf b = {.n = 0};
        ws(&b);
        gen_container(&b, 1, pick(20) != 0);
        ws(&b);
        if (pick(3) == 0)
            mutate(&b);
        accepted += json_scan_object((const uint8_t *)b.d, b.n, NULL, NULL) == 0;
        check_doc((const uint8_t *)b.d, b.n);
    }
    fprintf(stderr, "random documents: %zu (%zu valid JSON objects, %zu with jansson's NUL quirk), "
            "tokens compared so far %zu\n", ndocs - before, accepted, quirks, ntokens);
    all_limits = 1;
    /* the generator must exercise both sides */
    assert_true(accepted > 20000 && accepted < 110000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_documents),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_rfc_and_provider_shapes),
        cmocka_unit_test(test_capture_tokens),
        cmocka_unit_test(test_random_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
