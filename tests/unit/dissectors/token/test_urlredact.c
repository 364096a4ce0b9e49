/* test_urlredact.c — the redaction every logged string of traffic origin goes through
 * (dissectors/token/urlredact.c): every listed parameter name, userinfo, path parameters, JWS/JWE and
 * Bearer credentials anywhere, percent-encoded forms, and no false redaction of ordinary
 * parameters. JSON validity is checked by parsing with jansson; linear time with inputs that
 * would take hours if any step rescanned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>

#include "arena.h"
#include "jb.h"
#include "urlredact.h"

#define JWS "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
#define JWE "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZ.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji.XFBoMYUZodetZdvTiFvSkQ"

struct fixture {
    struct arena a;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    arena_init(&f->a, 4096, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    arena_release(&f->a);
    free(f);
    return 0;
}

/* in → want; an input with nothing to redact comes back as the same pointer. */
static void check(struct arena *a, const char *in, const char *want)
{
    const char *got = url_redact(a, in);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("redact(%s)\n  got  %s\n  want %s", in, got, want);
    if (!strcmp(in, want))
        assert_ptr_equal(got, in);
    /* idempotent: a redacted string has nothing more to redact */
    const char *again = url_redact(a, got);
    assert_string_equal(again, got);
}

static const char *const names[] = {
    "access_token", "id_token", "refresh_token", "token", "id_token_hint", "client_secret",
    "client_assertion", "assertion", "code", "code_verifier", "device_code", "user_code",
    "subject_token", "actor_token", "password", "passwd", "pwd", "pass", "secret", "auth",
    "api_key", "apikey", "api-key", "key", "access_key", "private_token", "oauth_token",
    "oauth_signature", "oauth_verifier", "SAMLResponse", "SAMLart", "ticket", "jsessionid",
    "phpsessid", "sid", "session", "sessionid", "session_id", "cftoken", "sig", "signature",
    "X-Amz-Signature", "X-Amz-Security-Token", "X-Goog-Signature",
};

/* Every listed name, as written and upper-cased, after '?', '&', ';' and '#'. */
static void test_every_name(void **state)
{
    struct fixture *f = *state;
    char in[256], want[256], up[64];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *n = names[i];
        size_t k;
        for (k = 0; n[k] && k + 1 < sizeof(up); k++)
            up[k] = (char)(n[k] >= 'a' && n[k] <= 'z' ? n[k] - 32 : n[k]);
        up[k] = '\0';
        snprintf(in, sizeof(in), "/cb?%s=S3cr3t-v4lue/x%%2B1&page=2", n);
        snprintf(want, sizeof(want), "/cb?%s=[redacted]&page=2", n);
        check(&f->a, in, want);
        snprintf(in, sizeof(in), "/cb?page=2&%s=S3cr3t;x=1", up);
        snprintf(want, sizeof(want), "/cb?page=2&%s=[redacted];x=1", up);
        check(&f->a, in, want);
        snprintf(in, sizeof(in), "https://app.example/cb#state=1&%s=S3cr3t", n);
        snprintf(want, sizeof(want), "https://app.example/cb#state=1&%s=[redacted]", n);
        check(&f->a, in, want);
        snprintf(in, sizeof(in), "/a;%s=S3cr3t/b", n);
        snprintf(want, sizeof(want), "/a;%s=[redacted]/b", n);
        check(&f->a, in, want);
    }
}

static void test_userinfo(void **state)
{
    struct fixture *f = *state;
    check(&f->a, "http://user:pass@host/x?y=1", "http://[redacted]@host/x?y=1");
    check(&f->a, "https://ghp_0123456789abcdef@github.example:8443/",
          "https://[redacted]@github.example:8443/");
    check(&f->a, "http://a:p@ss@host", "http://[redacted]@host"); /* the last '@' counts */
    check(&f->a, "ftp://u:p@host#frag", "ftp://[redacted]@host#frag");
    /* not userinfo: '@' after the authority, or nothing before it */
    check(&f->a, "http://host/users/@me", "http://host/users/@me");
    check(&f->a, "http://@host/", "http://@host/");
    check(&f->a, "/mail/a@b.example", "/mail/a@b.example");
    /* a URL inside a text field (a Referer or a User-Agent's contact URL) */
    check(&f->a, "bot/1.0 (+http://admin:hunter2@bot.example/about)",
          "bot/1.0 (+http://[redacted]@bot.example/about)");
}

static void test_path_params(void **state)
{
    struct fixture *f = *state;
    check(&f->a, "/shop/cart;jsessionid=0123456789ABCDEF.node1?item=7",
          "/shop/cart;jsessionid=[redacted]?item=7");
    check(&f->a, "/a;JSESSIONID=ABC/b;phpsessid=XYZ#top", "/a;JSESSIONID=[redacted]/b;phpsessid=[redacted]#top");
    check(&f->a, "/a;v=1.2/b", "/a;v=1.2/b");
}

static void test_jwt_anywhere(void **state)
{
    struct fixture *f = *state;
    /* existing behaviour kept: a JWT as a path segment; a query value that decodes to one */
    check(&f->a, "/t/" JWS "/x?access_token=opaque123&j=eyJhbGciOiJSUzI1NiJ9%2EeyJzdWIiOiJ4In0%2Ec2ln&k=v#f",
          "/t/[jwt]/x?access_token=[redacted]&j=[redacted]&k=v#f");
    check(&f->a, "/cb?id_token=" JWS "&x=eyJ", "/cb?id_token=[redacted]&x=eyJ");
    /* percent-encoded dots, or letters, in a path segment */
    check(&f->a, "/t/eyJhbGciOiJSUzI1NiJ9%2EeyJzdWIiOiJ4In0%2ec2lnbmF0dXJl/x", "/t/[jwt]/x");
    check(&f->a, "/t/%65yJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "/t/[jwt]");
    /* an escape whose digits swallow the 'e' of "eyJ": the server sees no JWT, a log reader
     * would (found by fuzz_urlredact) */
    check(&f->a, "/x.a%EeyJGJSU0EtT0FFUCJ9.a.b.c", "/x.a%E[jwt]");
    check(&f->a, "/x%4eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "/x%4[jwt]");
    /* in the middle of a word, a JWE, an unsecured JWS (empty signature) */
    check(&f->a, "/v/pre" JWS, "/v/pre[jwt]");
    check(&f->a, "/e/" JWE "?a=1", "/e/[jwt]?a=1");
    check(&f->a, "/u/eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "/u/[jwt]");
    /* User-Agent and Referer */
    check(&f->a, "Mozilla/5.0 (X11; Linux x86_64) helper/" JWS " rv:1",
          "Mozilla/5.0 (X11; Linux x86_64) helper/[jwt] rv:1");
    check(&f->a, "https://portal.example/app/" JWS "/home?tab=1", "https://portal.example/app/[jwt]/home?tab=1");
    /* a JWT as a parameter's name, its value replaced too (found by fuzz_urlredact) */
    check(&f->a, "/cb?" JWS "=" JWS, "/cb?[jwt]=[redacted]");
    check(&f->a, "/cb?a=1&" JWS "=" JWS "&b=2", "/cb?a=1&[jwt]=[redacted]&b=2");
    /* too short or too few dots: no JWT */
    check(&f->a, "/x/eyJhbGci.eyJ9", "/x/eyJhbGci.eyJ9");
    check(&f->a, "/x/eyJhbGciOiJSUzI1NiJ9eyJzdWIiOiJ4In0", "/x/eyJhbGciOiJSUzI1NiJ9eyJzdWIiOiJ4In0");
}

static void test_bearer(void **state)
{
    struct fixture *f = *state;
    check(&f->a, "curl/8.0 Bearer abcDEF123-._~+/=", "curl/8.0 Bearer [redacted]");
    check(&f->a, "app (auth: bearer\t" JWS ")", "app (auth: bearer\t[redacted])");
    check(&f->a, "/p?x=Bearer%20opaque-token-xyz&y=1", "/p?x=Bearer%20[redacted]&y=1");
    /* a word that only starts like it, or no credentials after it */
    check(&f->a, "Bearers abc", "Bearers abc");
    check(&f->a, "rebearer abc", "rebearer abc");
    check(&f->a, "Bearer ", "Bearer ");
}

static void test_percent_encoded_names(void **state)
{
    struct fixture *f = *state;
    check(&f->a, "/p?acc%65ss_token=abc&client%5Fsecret=def&%63ode=ghi",
          "/p?acc%65ss_token=[redacted]&client%5Fsecret=[redacted]&%63ode=[redacted]");
    check(&f->a, "/p?id%5ftoken=abc", "/p?id%5ftoken=[redacted]");
}

static void test_repeated_and_empty(void **state)
{
    struct fixture *f = *state;
    check(&f->a, "/p?code=a&code=b&code=c", "/p?code=[redacted]&code=[redacted]&code=[redacted]");
    check(&f->a, "/p?password=&code=&token", "/p?password=&code=&token");
    check(&f->a, "/p?password==x", "/p?password=[redacted]");
    check(&f->a, "/p?&&;;password=x&&", "/p?&&;;password=[redacted]&&");
}

/* Ordinary parameters stay as they are, and the string is not even copied. */
static void test_no_false_redaction(void **state)
{
    struct fixture *f = *state;
    const char *ordinary[] = {
        "/api/orders?page=2&status=open",
        ("/authorize?response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Fapp%2Fcb&scope=openid"
         "&state=af0ifjsldkj&nonce=n-0S6_WzA2Mj&RelayState=r1&SAMLRequest=fZJNT8Mw"),
        "/p?tokens=1&codec=h264&keyword=k&passage=3&signed=yes&sessions=4&keys=9&session_state=s",
        "/v1.0/me/messages?$top=10&$select=subject,from",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)",
        "application/json; charset=utf-8",
        "text/html;charset=UTF-8",
        "graph.example.com",
        "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
        "",
    };
    for (size_t i = 0; i < sizeof(ordinary) / sizeof(ordinary[0]); i++)
        check(&f->a, ordinary[i], ordinary[i]);
}

/* Multi-byte UTF-8 around and inside a redacted value: the output is still valid UTF-8 (jansson
 * rejects anything else) and the marker replaces the whole value. */
static void test_utf8_json(void **state)
{
    (void)state;
    const char *in = "/caf\xc3\xa9?password=p\xc3\xa4ss\xe2\x82\xac&x=\xc3\xbc " JWS " \xf0\x9f\x94\x91";
    struct jb j;
    jb_init(&j, 16);
    jb_open_object(&j, NULL);
    url_redact_jb(&j, "v", in);
    /* long enough to need a heap copy */
    char big[600];
    memset(big, 'a', sizeof(big));
    memcpy(big + 300, "?code=zz", 8);
    big[sizeof(big) - 1] = '\0';
    url_redact_jb(&j, "big", big);
    url_redact_jb(&j, "plain", "no secrets here");
    jb_close(&j);
    json_error_t e;
    json_t *v = json_loadb(j.buf, j.len, 0, &e);
    if (!v)
        fail_msg("not JSON (%s): %.*s", e.text, (int)j.len, j.buf);
    assert_string_equal(json_string_value(json_object_get(v, "v")),
                        "/caf\xc3\xa9?password=[redacted]&x=\xc3\xbc [jwt] \xf0\x9f\x94\x91");
    const char *b = json_string_value(json_object_get(v, "big"));
    assert_non_null(strstr(b, "?code=[redacted]"));
    assert_null(strstr(b, "zz"));
    assert_string_equal(json_string_value(json_object_get(v, "plain")), "no secrets here");
    json_decref(v);
    jb_release(&j);
}

/* Measuring and writing agree; a short buffer gets a prefix and nothing past its end. */
static void test_buf(void **state)
{
    (void)state;
    const char *in = "http://u:p@h/?code=1234567890";
    size_t nred = 0, n = url_redact_buf(in, strlen(in), NULL, 0, &nred);
    assert_int_equal(nred, 2);
    assert_int_equal(n, strlen("http://[redacted]@h/?code=[redacted]"));
    char out[64];
    memset(out, '#', sizeof(out));
    assert_int_equal(url_redact_buf(in, strlen(in), out, 10, NULL), n);
    assert_memory_equal(out, "http://[re", 10);
    assert_int_equal(out[10], '#');
    assert_int_equal(url_redact_buf("abc", 3, out, sizeof(out), &nred), 3);
    assert_int_equal(nred, 0);
}

static void test_arena_full(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 16, 16);
    assert_null(url_redact(&a, "/p?code=this-value-is-longer-than-the-arena"));
    assert_string_equal(url_redact(&a, "/ok"), "/ok"); /* nothing to copy */
    assert_null(url_redact(&a, NULL));
    arena_release(&a);
}

/* Inputs built to make any rescan quadratic: 4 MiB each would take hours then, milliseconds
 * now. The bound is generous for a loaded machine and sanitizers. */
static void test_linear_time(void **state)
{
    struct fixture *f = *state;
    static const char *const unit[] = {"eyJ", "eyJ.", "?a=", "&code", ";x=eyJ.", "://a", "://@",
                                       "bearer ", "%65yJ%2E", "&&&&", "#a=", "?a=b?", "://a@", "bearer%20"};
    const size_t n = 4u << 20;
    char *s = malloc(n + 1);
    assert_non_null(s);
    for (size_t u = 0; u < sizeof(unit) / sizeof(unit[0]); u++) {
        size_t ul = strlen(unit[u]);
        for (size_t i = 0; i < n; i++)
            s[i] = unit[u][i % ul];
        s[n] = '\0';
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        const char *r = url_redact(&f->a, s);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_non_null(r);
        double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (sec > 5.0)
            fail_msg("%s repeated: %.1f s", unit[u], sec);
        arena_reset(&f->a);
    }
    free(s);
}

/* The one-pass check that passes most strings untouched must never pass one that the full
 * rules would change: random strings built from the pieces every rule looks at, compared
 * with url_redact_buf_unchecked() (same length, same replacements, same bytes). */
static void test_precheck_differential(void **state)
{
    (void)state;
    static const char *const piece[] = {
        "?", "&", ";", "#", "=", "@", "%", "%2E", "%65", "%2", "eyJ", "ey", "J", ".", "bearer",
        "Bearer ", "BEARER%20", "token", "code", "access_token", "Id_Token", "sid", "key", "a",
        "xyz", "/", "://", "+", " ", "\"", "$top", "50", "-", "_", "AbCdEfGhIjKlMnOp", "\t",
        "api-key", "x-amz-signature", "session_id", "odata.metadata", "e", "y", "b",
        "?token=abc", "&Code=1", ";jsessionid=x", "#access_token=z", "?a=b", "&page=2", "=v",
        "?sig=", "&x-goog-signature=0", "token=t"};
    const size_t np = sizeof(piece) / sizeof(piece[0]);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    char in[512], a[2048], b[2048];
    size_t changed = 0;
    for (int iter = 0; iter < 400000; iter++) {
        size_t n = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int k = 1 + (int)(x % 8);
        for (int j = 0; j < k; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            const char *p = piece[x % np];
            size_t pl = strlen(p);
            memcpy(in + n, p, pl);
            n += pl;
        }
        size_t ra, rb, la = url_redact_buf(in, n, a, sizeof(a), &ra);
        size_t lb = url_redact_buf_unchecked(in, n, b, sizeof(b), &rb);
        if (la != lb || ra != rb || memcmp(a, b, la < sizeof(a) ? la : sizeof(a)) != 0)
            fail_msg("pre-check differs on \"%.*s\": %zu/%zu bytes, %zu/%zu replacements",
                     (int)n, in, la, lb, ra, rb);
        changed += rb != 0;
    }
    /* both sides are exercised: many strings are redacted, many are not */
    assert_true(changed > 40000 && changed < 360000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_userinfo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwt_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bearer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_percent_encoded_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_false_redaction, setup, teardown),
        cmocka_unit_test(test_utf8_json),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_arena_full),
        cmocka_unit_test_setup_teardown(test_linear_time, setup, teardown),
        cmocka_unit_test(test_precheck_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
