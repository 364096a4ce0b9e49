/* test_json_scan.c — the JSON object reader's interface: members in document order (a repeated
 * name each time), keys decoded (NULL past JSON_SCAN_KEY_MAX), value types and spans, integers
 * and reals, string decoding, array iteration, json_str_eq. Acceptance against jansson is
 * tests/unit/dissectors/token/test_jwt_json.c's and fuzz_json_scan's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "json_scan.h"

struct seen {
    int n;
    char keys[16][JSON_SCAN_KEY_MAX + 1];
    int nullkey[16];
    size_t klen[16];
    struct json_val v[16];
};

static void collect(void *ctx, const char *key, size_t klen, const struct json_val *v)
{
    struct seen *s = ctx;
    if (s->n == 16)
        return;
    s->nullkey[s->n] = key == NULL;
    if (key)
        memcpy(s->keys[s->n], key, klen + 1);
    s->klen[s->n] = klen;
    s->v[s->n++] = *v;
}

static int scan(const char *doc, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    return json_scan_object((const uint8_t *)doc, strlen(doc), collect, s);
}

static void test_members_in_order(void **state)
{
    (void)state;
    struct seen s;
    const char *doc = " {\"a\":1, \"b\" : \"x\\ty\", \"a\":[1,{\"c\":2}], \"\\u0064\":null,"
                      "\"t\":true,\"f\":false,\"o\":{\"k\":[]},\"r\":-2.5e1} ";
    assert_int_equal(scan(doc, &s), 0);
    assert_int_equal(s.n, 8);
    assert_string_equal(s.keys[0], "a");
    assert_int_equal(s.v[0].type, JSON_T_INT);
    assert_int_equal(s.v[0].i, 1);
    assert_string_equal(s.keys[1], "b");
    assert_int_equal(s.v[1].type, JSON_T_STRING);
    assert_true(s.v[1].escaped);
    assert_int_equal(s.v[1].len, 4); /* x\ty as written */
    char out[16];
    assert_int_equal(json_str_len(&s.v[1]), 3);
    assert_int_equal(json_str_decode(&s.v[1], out), 3);
    assert_string_equal(out, "x\ty");
    assert_string_equal(s.keys[2], "a"); /* repeated: reported again */
    assert_int_equal(s.v[2].type, JSON_T_ARRAY);
    assert_int_equal(s.v[2].len, strlen("[1,{\"c\":2}]"));
    assert_memory_equal(s.v[2].p, "[1,{\"c\":2}]", s.v[2].len);
    assert_string_equal(s.keys[3], "d"); /* decoded name */
    assert_int_equal(s.v[3].type, JSON_T_NULL);
    assert_int_equal(s.v[4].type, JSON_T_TRUE);
    assert_int_equal(s.v[5].type, JSON_T_FALSE);
    assert_int_equal(s.v[6].type, JSON_T_OBJECT);
    assert_memory_equal(s.v[6].p, "{\"k\":[]}", s.v[6].len);
    assert_int_equal(s.v[7].type, JSON_T_REAL);
    assert_true(s.v[7].d == -25.0);
    /* validation only */
    assert_int_equal(json_scan_object((const uint8_t *)doc, strlen(doc), NULL, NULL), 0);
    assert_int_equal(scan("{}", &s), 0);
    assert_int_equal(s.n, 0);
}

static void test_long_keys(void **state)
{
    (void)state;
    struct seen s;
    char doc[256];
    char k32[JSON_SCAN_KEY_MAX + 1], k33[JSON_SCAN_KEY_MAX + 2];
    memset(k32, 'k', JSON_SCAN_KEY_MAX);
    k32[JSON_SCAN_KEY_MAX] = '\0';
    memset(k33, 'k', JSON_SCAN_KEY_MAX + 1);
    k33[JSON_SCAN_KEY_MAX + 1] = '\0';
    snprintf(doc, sizeof(doc), "{\"%s\":1,\"%s\":2,\"\\u00e9\":3}", k32, k33);
    assert_int_equal(scan(doc, &s), 0);
    assert_int_equal(s.n, 3);
    assert_false(s.nullkey[0]);
    assert_string_equal(s.keys[0], k32);
    assert_true(s.nullkey[1]);
    assert_int_equal(s.klen[1], JSON_SCAN_KEY_MAX + 1);
    assert_string_equal(s.keys[2], "\xc3\xa9");
    assert_int_equal(s.klen[2], 2);
}

static void test_numbers(void **state)
{
    (void)state;
    struct seen s;
    assert_int_equal(scan("{\"a\":9223372036854775807,\"b\":-9223372036854775808,\"c\":-0,"
                          "\"d\":1e-400,\"e\":0.5}",
                          &s),
                     0);
    assert_true(s.v[0].i == INT64_MAX);
    assert_true(s.v[1].i == INT64_MIN);
    assert_int_equal(s.v[2].type, JSON_T_INT);
    assert_int_equal(s.v[2].i, 0);
    assert_int_equal(s.v[3].type, JSON_T_REAL);
    assert_true(s.v[3].d == 0.0);
    assert_true(s.v[4].d == 0.5);
    assert_int_equal(scan("{\"a\":9223372036854775808}", &s), -1);
    assert_int_equal(scan("{\"a\":-9223372036854775809}", &s), -1);
    assert_int_equal(scan("{\"a\":1e309}", &s), -1);
    assert_int_equal(scan("{\"a\":01}", &s), -1);
}

static void test_strings(void **state)
{
    (void)state;
    struct seen s;
    assert_int_equal(scan("{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"}", &s), 0);
    char out[64];
    size_t n = json_str_decode(&s.v[0], out);
    assert_int_equal(n, json_str_len(&s.v[0]));
    assert_string_equal(out, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    assert_int_equal(scan("{\"s\":\"\\u0000\"}", &s), -1);
    assert_int_equal(scan("{\"s\":\"\\ud800\"}", &s), -1);
    assert_int_equal(scan("{\"s\":\"\\udc00\\ud800\"}", &s), -1);
    assert_int_equal(scan("{\"s\":\"\xed\xa0\x80\"}", &s), -1);
    assert_int_equal(scan("{\"s\":\"a\nb\"}", &s), -1);
    /* json_str_eq: decoded comparison, never a prefix */
    assert_int_equal(scan("{\"a\":\"b64\",\"b\":\"\\u0062\\u0036\\u0034\",\"c\":\"b6\",\"d\":\"b644\","
                          "\"e\":1}",
                          &s),
                     0);
    assert_true(json_str_eq(&s.v[0], "b64"));
    assert_true(json_str_eq(&s.v[1], "b64"));
    assert_false(json_str_eq(&s.v[2], "b64"));
    assert_false(json_str_eq(&s.v[3], "b64"));
    assert_false(json_str_eq(&s.v[4], "b64"));
    assert_true(json_str_eq(&s.v[2], "b6"));
}

static void test_arrays(void **state)
{
    (void)state;
    struct seen s;
    assert_int_equal(scan("{\"a\":[ \"x\" , 2.5,[3,[4]],{\"k\":\"v\"},null ,-7 ],\"e\":[],\"w\":[ ]}", &s), 0);
    size_t pos = 0;
    struct json_val v;
    static const enum json_type want[] = {JSON_T_STRING, JSON_T_REAL, JSON_T_ARRAY,
                                          JSON_T_OBJECT, JSON_T_NULL, JSON_T_INT};
    int i = 0;
    while (json_array_next(&s.v[0], &pos, &v)) {
        assert_true(i < 6);
        assert_int_equal(v.type, want[i]);
        if (i == 1)
            assert_true(v.d == 2.5);
        if (i == 2)
            assert_memory_equal(v.p, "[3,[4]]", v.len);
        if (i == 5)
            assert_int_equal(v.i, -7);
        i++;
    }
    assert_int_equal(i, 6);
    pos = 0;
    assert_int_equal(json_array_next(&s.v[1], &pos, &v), 0);
    pos = 0;
    assert_int_equal(json_array_next(&s.v[2], &pos, &v), 0);
    /* not an array */
    assert_int_equal(scan("{\"a\":\"[1]\"}", &s), 0);
    pos = 0;
    assert_int_equal(json_array_next(&s.v[0], &pos, &v), 0);
}

static void test_refusals(void **state)
{
    (void)state;
    struct seen s;
    static const char *const bad[] = {
        "", "[]", "{", "{\"a\"}", "{\"a\":1,}", "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":tru}",
        "{\"a\":[1,]}", "{\"a\":{\"b\"}}", "{\"a\":[1 2]}", "{a:1}", "{\"a\":1.}", "{\"a\":-}",
        "{\"a\":\"x}", "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(scan(bad[i], &s), -1);
    static const uint8_t nul[] = "{\"a\":1\0}";
    assert_int_equal(json_scan_object(nul, sizeof(nul) - 1, NULL, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_in_order),
        cmocka_unit_test(test_long_keys),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
