/* test_token_body.c — unit tests for dissectors/token/token_body.c: the query, form and JSON token
 * scanners on realistic inputs (OIDC form_post, client assertions, token exchange, token
 * endpoint responses, JWKS documents, percent-encoded and JSON-escaped tokens), negatives,
 * dedupe, output bounds and arena exhaustion. The scanners are not incremental, so instead of
 * splits every prefix of every input runs from an exact-size heap buffer (ASan then catches any
 * read past the end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "token.h"

#define JH "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
#define JP "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
#define JS "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
#define JWT1 JH "." JP "." JS
#define JWT2 JH "." JP ".c2lnbmF0dXJlLXR3by1mb3ItdGVzdHM"
#define JWT3 "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0." JP ".ZXMyNTYtc2lnbmF0dXJl"
/* JWT1 with its dots percent-encoded, as some clients send it */
#define JWT1_PCT JH "%2E" JP "%2e" JS
#define REFRESH "0.AXoAv4j5cvGGr0GRqy180BHbR1Vx_opaque-refresh/abc=="

enum scanner { Q, FORM, JSON, JSON_AUTH };

struct run {
    struct arena a;
    struct token_ref out[16];
    size_t n;
};

static size_t run_on(enum scanner which, struct span in, struct arena *a, struct token_ref *out,
                     size_t max)
{
    switch (which) {
    case Q:
        return token_scan_query(in, a, out, max);
    case FORM:
        return token_scan_form(in, TOKEN_LOC_BODY, a, out, max);
    case JSON:
        return token_scan_json(in, TOKEN_LOC_RESPONSE_BODY, a, out, max);
    case JSON_AUTH:
        return token_scan_json_auth(in, TOKEN_LOC_WEBSOCKET, a, out, max);
    }
    return 0;
}

static enum token_location loc_of(enum scanner which)
{
    return which == Q      ? TOKEN_LOC_QUERY
           : which == FORM ? TOKEN_LOC_BODY
           : which == JSON ? TOKEN_LOC_RESPONSE_BODY
                           : TOKEN_LOC_WEBSOCKET;
}

static int inside(struct span t, const void *base, size_t len)
{
    const uint8_t *b = base;
    return t.p >= b && t.p + t.len <= b + len;
}

/* Scans `in` and checks the refs are exactly `want` (NULL-terminated), in order. A ref marked
 * with a leading '~' in `want` must be a decoded copy (outside the input); others must be
 * spans into the input. */
static void expect(enum scanner which, const char *in, size_t max, const char *const *want)
{
    struct run r;
    arena_init(&r.a, 0, 0);
    r.n = run_on(which, span_cstr(in), &r.a, r.out, max);
    size_t nwant = 0;
    while (want[nwant])
        nwant++;
    if (r.n != nwant)
        fail_msg("%s: %zu refs, expected %zu", in, r.n, nwant);
    for (size_t i = 0; i < r.n; i++) {
        const char *w = want[i];
        int decoded = w[0] == '~';
        w += decoded;
        assert_int_equal(r.out[i].loc, loc_of(which));
        if (r.out[i].text.len != strlen(w) || memcmp(r.out[i].text.p, w, strlen(w)) != 0)
            fail_msg("ref %zu is '%.*s', expected '%s'", i, (int)r.out[i].text.len,
                     (const char *)r.out[i].text.p, w);
        assert_int_equal(!inside(r.out[i].text, in, strlen(in)), decoded);
    }
    arena_release(&r.a);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

static void test_query(void **state)
{
    (void)state;
    expect(Q, "/cb?x=1&access_token=" JWT1, 8, WANT(JWT1));
    expect(Q, "/api?token=opaque-123", 8, WANT("opaque-123"));
    expect(Q, "/api?id_token=abc;access_token=def&other=ghi", 8, WANT("abc", "def"));
    expect(Q, "/x?state=s&foo=" JWT2 "#frag", 8, WANT(JWT2));
    expect(Q, "/x?a=" JWT1 "&b=" JWT1 "&access_token=" JWT1, 8, WANT(JWT1)); /* dedupe */
    expect(Q, "/x?Token=opaque&ACCESS_TOKEN=opaque2", 8, NONE); /* names are case-sensitive */
    expect(Q, "/x?access_token=&token&id_token", 8, NONE);       /* no value */
    expect(Q, "/x?q=" JH "." JP, 8, NONE);                        /* two parts */
    expect(Q, "/x?q=" JWT1 ".extra", 8, NONE);                    /* four parts */
    expect(Q, "/x?q=abc." JP ".c2ln", 8, NONE);                   /* no eyJ */
    expect(Q, "/x?q=" JH "." JP ".c2l!n", 8, NONE);               /* invalid char */
    expect(Q, "/x#frag?access_token=abc", 8, NONE);               /* '?' inside the fragment */
    expect(Q, "/x?a=1#access_token=abc", 8, NONE);
    expect(Q, "/no-query/access_token=abc", 8, NONE);
    expect(Q, "", 8, NONE);
    expect(Q, "?", 8, NONE);
    expect(Q, "/x?&&;;=&=x", 8, NONE);
}

static void test_query_decoding(void **state)
{
    (void)state;
    expect(Q, "/cb?q=" JWT1_PCT, 8, WANT("~" JWT1));
    expect(Q, "/cb?access%5Ftoken=abc%2Fdef", 8, WANT("~abc/def"));
    expect(Q, "/cb?access%5ftoken=plain", 8, WANT("plain")); /* decoded name, plain value */
    expect(Q, "/cb?token=a+b%2", 8, WANT("~a b%2"));          /* truncated escape kept */
    expect(Q, "/cb?token=%zz%4", 8, WANT("~%zz%4"));          /* invalid escapes kept */
    expect(Q, "/cb?token=%41%42", 8, WANT("~AB"));
    /* the same token plain and encoded is one token */
    expect(Q, "/cb?access_token=" JWT1 "&id_token=" JWT1_PCT, 8, WANT(JWT1));
    /* a value that decodes to something not starting eyJ is not copied anywhere */
    expect(Q, "/cb?q=%41yJ." JP ".c2ln", 8, NONE);
    expect(Q, "/cb?q=%65yJ" "hbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." JP "." JS, 8, WANT("~" JWT1));
    /* a long encoded name cannot be a listed one */
    expect(Q, "/cb?%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61%61"
              "=opaque", 8, NONE);
}

static void test_form(void **state)
{
    (void)state;
    /* Entra ID response_mode=form_post */
    expect(FORM,
           "code=0.AXoAv4j5cvGGr0GRqy180BHbR1Vx&id_token=" JWT1
           "&state=3a5b1c&session_state=1f2e3d4c-aaaa-bbbb-cccc-123456789abc",
           8, WANT(JWT1));
    /* RFC 7523 client assertion at a token endpoint */
    expect(FORM,
           "grant_type=client_credentials&client_id=6731de76-14a6-49ae-97bc-6eba6914391e"
           "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3A"
           "jwt-bearer&client_assertion=" JWT2 "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
           8, WANT(JWT2));
    /* RFC 8693 token exchange: opaque subject token, JWT actor token */
    expect(FORM,
           "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange"
           "&subject_token=opaque.sub+token&actor_token=" JWT3
           "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token",
           8, WANT("~opaque.sub token", JWT3));
    expect(FORM, "grant_type=refresh_token&refresh_token=" REFRESH "&assertion=" JWT1 "\r\n", 8,
           WANT(REFRESH, JWT1));
    expect(FORM, "token=t1;access_token=t2", 8, WANT("t1", "t2"));
    expect(FORM, "username=alice&password=eyJ.notajwt", 8, NONE);
    expect(FORM, "grant_type=client_credentials&client_secret=s3cr3t", 8, NONE);
    /* bodies are whole spans: a value may be a JWT anywhere */
    expect(FORM, "a=" JWT1 "&b=" JWT2 "&c=" JWT3, 8, WANT(JWT1, JWT2, JWT3));
}

static void test_json(void **state)
{
    (void)state;
    /* OAuth token endpoint response (RFC 6749 §5.1 plus OIDC id_token) */
    expect(JSON,
           "{\"token_type\":\"Bearer\",\"scope\":\"openid profile\",\"expires_in\":3599,"
           "\"ext_expires_in\":3599,\"access_token\":\"" JWT1 "\",\"refresh_token\":\"" REFRESH
           "\",\"id_token\":\"" JWT2 "\"}",
           8, WANT(JWT1, REFRESH, JWT2));
    /* pretty-printed, members named in any order, whitespace everywhere */
    expect(JSON, "{\n  \"id_token\" : \"" JWT3 "\" ,\n  \"token\"\t:\r\n \"tok-1\"\n}\n", 8,
           WANT(JWT3, "tok-1"));
    /* nested objects and arrays: JWTs anywhere, listed names at any depth */
    expect(JSON,
           "{\"data\":{\"sessions\":[{\"token\":\"opaque1\",\"n\":1},\"" JWT1 "\"],"
           "\"user\":{\"jwt\":\"" JWT2 "\",\"token\":{\"value\":\"opaque2\"}}},"
           "\"token\":[\"opaque3\"],\"access_token\":42,\"x\":\"notatoken\"}",
           8, WANT("opaque1", JWT1, JWT2));
    /* a top-level string, and an array of tokens */
    expect(JSON, "\"" JWT1 "\"", 8, WANT(JWT1));
    expect(JSON, "[\"" JWT1 "\",\"" JWT2 "\",\"" JWT1 "\"]", 8, WANT(JWT1, JWT2));
    /* listed names as values, empty values */
    expect(JSON, "[\"access_token\",\"opaque\"]", 8, NONE);
    expect(JSON, "{\"access_token\":\"\",\"id_token\":null}", 8, NONE);
    /* not JSON at all: nothing, no failure */
    expect(JSON, "<html><a href=\"x\">y</a></html>", 8, NONE);
    expect(JSON, "", 8, NONE);
    expect(JSON, "\"", 8, NONE);
    expect(JSON, "{\"access_token\":\"unterminated", 8, NONE);
}

static void test_json_jwks_has_no_tokens(void **state)
{
    (void)state;
    expect(JSON,
           "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"nOo3ZDrODXEK1jKWhXslHR_KXEg\","
           "\"x5t\":\"nOo3ZDrODXEK1jKWhXslHR_KXEg\",\"n\":\"oaLLT9hkcSj2tGfZsjbu7Xz1Krs0qEicXPmE"
           "sJKOBQHauZ_kRM1HdEkgOJbUznUspE6xOuOSXjlzErqBxXAu4SCvcvVOCYG2v9G3-uIrLF5dstD0sYHBo1VomtK"
           "xzF90Vslrkn6rNQgUGIWgvuQTxm1uRklYFPEcTIRw0LnYknzJ06GC9ljKR617wABVrZNkBuDgQKj37qcyxoaxI"
           "GdxEcmVFZXJyrxDgdXh9owRmZn6LIJlGjZ9m59emfuwnBnsIQG7DirJwe9SXrLXnexRQWqyzCdkYaOqkpKrsjuxU"
           "j2-MHX31FqsdpJJsOAvYXGOYBKJRjhGrGdONVrZdUdTBQ\",\"e\":\"AQAB\",\"x5c\":[\"MIIDBTCCAe2g"
           "AwIBAgIQN33ROaIJ6bJBWDCxtmJEbjANBgkqhkiG9w0BAQsFADAtMSswKQYDVQQDEyJhY2NvdW50cy5hY2Nlc3N"
           "jb250cm9sLndpbmRvd3MubmV0\"],\"issuer\":\"https://login.microsoftonline.com/{tenantid}"
           "/v2.0\"}]}",
           8, NONE);
    /* an OpenID discovery document: URLs and lists, no tokens */
    expect(JSON,
           "{\"token_endpoint\":\"https://login.example.com/oauth2/v2.0/token\","
           "\"response_types_supported\":[\"code\",\"id_token\",\"code id_token\","
           "\"id_token token\"],\"jwks_uri\":\"https://login.example.com/discovery/v2.0/keys\","
           "\"token_endpoint_auth_methods_supported\":[\"client_secret_post\","
           "\"private_key_jwt\"]}",
           8, NONE);
}

static void test_json_escapes(void **state)
{
    (void)state;
    /* \/ and \" inside values are unescaped into the arena */
    expect(JSON, "{\"refresh_token\":\"0.AXoA\\/abc\\\\def\\\"g\"}", 8,
           WANT("~0.AXoA/abc\\def\"g"));
    /* \u0000..\u007f become their byte, so escaping cannot hide a token */
    expect(JSON, "{\"x\":\"\\u0065yJ" "hbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9\\u002e" JP "\\u002E" JS
                 "\"}", 8, WANT("~" JWT1));
    /* other \u escapes are kept as written (tokens are ASCII) */
    expect(JSON, "{\"token\":\"caf\\u00e9\\n\"}", 8, WANT("~caf\\u00e9\n"));
    /* an escaped member name still names its value */
    expect(JSON, "{\"access\\u005ftoken\":\"opaque\"}", 8, WANT("opaque"));
    /* an escaped quote never ends a string early: "access_token": inside a value is text */
    expect(JSON, "{\"msg\":\"say \\\"access_token\\\": \\\"nope\\\"\",\"n\":1}", 8, NONE);
    /* an escaped backslash right before the closing quote does end it */
    expect(JSON, "{\"a\":\"\\\\\",\"access_token\":\"tok\"}", 8, WANT("tok"));
    expect(JSON, "{\"a\":\"x\\\\\\\"y\",\"token\":\"t2\"}", 8, WANT("t2"));
    expect(JSON, "{\"a\":\"\\\\\\\\\",\"token\":\"t3\"}", 8, WANT("t3"));
    /* a string whose escapes leave it not a JWT is dropped without a copy */
    expect(JSON, "{\"x\":\"ab\\nc\"}", 8, NONE);
    /* unknown escapes keep their backslash; a trailing lone backslash cannot end a string */
    expect(JSON, "{\"token\":\"a\\qb\"}", 8, WANT("~a\\qb"));
    expect(JSON, "{\"token\":\"a\\\"}", 8, NONE);
    /* the same token escaped and plain is one token */
    expect(JSON, "[\"" JWT1 "\",\"" JH "\\u002e" JP "." JS "\"]", 8, WANT(JWT1));
}

static void test_limits(void **state)
{
    (void)state;
    const char *q = "/x?token=a&token=b&token=c&token=d";
    expect(Q, q, 2, WANT("a", "b"));
    expect(Q, q, 0, NONE);
    const char *f = "token=a&id_token=b&access_token=c";
    expect(FORM, f, 1, WANT("a"));
    const char *j = "{\"token\":\"a\",\"id_token\":\"b\",\"x\":\"" JWT1 "\"}";
    expect(JSON, j, 2, WANT("a", "b"));
    expect(JSON, j, 3, WANT("a", "b", JWT1));
    expect(JSON, j, 0, NONE);
    /* dedupe does not use up the bound */
    expect(JSON, "[\"" JWT1 "\",\"" JWT1 "\",\"" JWT1 "\",\"" JWT2 "\"]", 2, WANT(JWT1, JWT2));
}

/* An arena at its limit drops the values that need decoding and keeps the others. */
static void test_arena_exhausted(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 64, 64);
    void *fill = arena_alloc(&a, 64);
    assert_non_null(fill);
    struct token_ref out[4];
    const char *q = "/x?access_token=a%2Fb&id_token=plain";
    assert_int_equal(token_scan_query(span_cstr(q), &a, out, 4), 1);
    assert_int_equal(out[0].text.len, 5);
    assert_memory_equal(out[0].text.p, "plain", 5);
    const char *j = "{\"token\":\"a\\/b\",\"x\":\"" JWT1 "\"}";
    assert_int_equal(token_scan_json(span_cstr(j), TOKEN_LOC_BODY, &a, out, 4), 1);
    assert_int_equal(out[0].text.len, strlen(JWT1));
    /* no arena at all behaves the same */
    assert_int_equal(token_scan_form(span_cstr("token=a+b&id_token=c"), TOKEN_LOC_BODY, NULL,
                                     out, 4),
                     1);
    arena_release(&a);
}

/* Values that cannot be tokens cost no memory: only a listed name's value or a value decoding
 * to "eyJ..." is copied. */
static void test_no_copy_for_non_tokens(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 0, 0);
    struct token_ref out[4];
    const char *j = "{\"html\":\"<a href=\\\"\\/x\\\">\\n</a>\",\"n\":\"\\u0041yJ.a.b\"}";
    assert_int_equal(token_scan_json(span_cstr(j), TOKEN_LOC_BODY, &a, out, 4), 0);
    const char *f = "q=hello+world&r=%41yJ.a.b&s=%2Fpath";
    assert_int_equal(token_scan_form(span_cstr(f), TOKEN_LOC_BODY, &a, out, 4), 0);
    assert_int_equal(token_scan_query(span_cstr(f), &a, out, 4), 0);
    assert_null(a.head);
    /* while a listed name's encoded value is copied */
    assert_int_equal(token_scan_form(span_cstr("token=a+b"), TOKEN_LOC_BODY, &a, out, 4), 1);
    assert_non_null(a.head);
    arena_release(&a);
}

/* GraphQL over WebSocket's connection_init payloads (graphql-ws, subscriptions-transport-ws),
 * and what a credential member may hold. */
static void test_json_auth(void **state)
{
    (void)state;
    expect(JSON_AUTH,
           "{\"type\":\"connection_init\",\"payload\":{\"Authorization\":\"Bearer " JWT1 "\"}}",
           1, WANT(JWT1));
    expect(JSON_AUTH, "{\"type\":\"connection_init\",\"payload\":{\"authToken\":\"" JWT2 "\"}}",
           4, WANT(JWT2));
    /* the names in any case, opaque values too, Bearer stripped in any case and spacing */
    expect(JSON_AUTH,
           "{\"payload\":{\"headers\":{\"authorization\":\"bearer   opaque-1\"},"
           "\"AccessToken\":\"opaque-2\",\"access_token\":\"opaque-3\",\"token\":\"opaque-4\","
           "\"JWT\":\"opaque-5\",\"auth_token\":\"opaque-6\"}}",
           8, WANT("opaque-1", "opaque-2", "opaque-3", "opaque-4", "opaque-5", "opaque-6"));
    /* unnamed: a JWT, bare or after Bearer; an escaped one is decoded */
    expect(JSON_AUTH,
           "{\"a\":[\"Bearer " JWT1 "\",\"" JWT2 "\"],\"b\":\"Bearer \\u0065yJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0."
           JP ".ZXMyNTYtc2lnbmF0dXJl\",\"c\":\"Bearer not-a-jwt\"}",
           4, WANT(JWT1, JWT2, "~" JWT3));
    /* another scheme: only a JWT after it; a chat message's words are no token */
    expect(JSON_AUTH,
           "{\"Authorization\":\"Basic dXNlcjpwYXNz\",\"authorization\":\"DPoP " JWT3 "\","
           "\"text\":\"hello bearer world\",\"authToken\":\"\",\"authToken\":\"Bearer\"}",
           4, WANT(JWT3));
    /* what token_scan_json reports for a body stays as it was: no Bearer stripping there */
    expect(JSON, "{\"Authorization\":\"Bearer " JWT1 "\",\"authToken\":\"opaque\"}", 4, NONE);
}

/* Every prefix of every input, from an exact-size heap buffer, through every scanner. */
static void test_prefixes(void **state)
{
    (void)state;
    static const char *const in[] = {
        "/cb?x=1&access_token=" JWT1 "&q=" JWT1_PCT "#f",
        "/cb?access%5Ftoken=abc%2Fdef;token=a+b%2&t=%4",
        "code=0.AXoA&id_token=" JWT1 "&state=3a5b&refresh_token=" REFRESH "\r\n",
        "{\"token_type\":\"Bearer\",\"access_token\":\"" JWT1 "\",\"refresh_token\":\"" REFRESH
        "\",\"id_token\":\"" JWT2 "\"}",
        "{\"x\":\"\\u0065yJ" "hbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9\\u002e" JP "\\u002E" JS "\"}",
        "{\"a\":\"x\\\\\\\"y\",\"token\":\"t\\/2\",\"b\":[\"\\\\\"],\"u\":\"\\u00",
        "{\"type\":\"connection_init\",\"payload\":{\"Authorization\":\"Bearer " JWT1
        "\",\"headers\":{\"authToken\":\"Basic " JWT2 "\",\"x\":\"bearer\\t\\u0065yJ\"}}}",
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        size_t len = strlen(in[i]);
        for (size_t k = 0; k <= len; k++) {
            uint8_t *buf = malloc(k ? k : 1);
            assert_non_null(buf);
            memcpy(buf, in[i], k);
            for (int s = Q; s <= JSON_AUTH; s++) {
                struct arena a;
                arena_init(&a, 0, 0);
                struct token_ref out[16];
                size_t n = run_on((enum scanner)s, span_make(buf, k), &a, out, 16);
                assert_true(n <= 16);
                for (size_t r = 0; r < n; r++) {
                    assert_true(out[r].text.len > 0);
                    assert_int_equal(out[r].loc, loc_of((enum scanner)s));
                    /* either a span into the input or a decoded copy no longer than it */
                    if (!inside(out[r].text, buf, k))
                        assert_true(out[r].text.len <= k);
                }
                arena_release(&a);
            }
            free(buf);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_query_decoding),
        cmocka_unit_test(test_form),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_jwks_has_no_tokens),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_arena_exhausted),
        cmocka_unit_test(test_no_copy_for_non_tokens),
        cmocka_unit_test(test_json_auth),
        cmocka_unit_test(test_prefixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
