/* test_revoked_file.c — revocation files (revoked_file.c, keystore_add_revoked_file): every kind
 * of indicator with and without a reason, comments and blank lines, CRLF and tabs, each refusal
 * with its line, a line too long, a missing file, the shipped etc/revoked-keys.txt (the Storm-0558
 * indicator by kid, x5t, SHA-1 and thumbprint), and that an indicator from a file matches as an
 * inline one does (keystore_revoked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keystore.h"

#define STORM "1LTMzakihiRla_8z2BEJVXeWMqo"
#define STORM_SHA1 "d4b4cccda9228624656bff33d8110955779632aa"
#define STORM_JKT "kP2ox0dPp3uuT6IhJARw5E8I9ZWku4tl9NRrgQ8W-LY"

/* Writes text to a fresh temporary file; its path goes to path (PATH_MAX-ish buffer). */
static void temp_file(char *path, size_t len, const char *text)
{
    snprintf(path, len, "/tmp/tw_revoked_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
}

/* Loads text as a revocation file: the return code, the store in *out (caller frees). */
static int load_text(const char *text, struct keystore **out, char *err, size_t errlen)
{
    char path[64];
    temp_file(path, sizeof(path), text);
    *out = keystore_new();
    assert_non_null(*out);
    err[0] = '\0';
    int rc = keystore_add_revoked_file(*out, path, err, errlen);
    unlink(path);
    return rc;
}

static void test_kinds(void **state)
{
    (void)state;
    struct keystore *ks;
    char err[512];
    assert_int_equal(load_text("# header\n\n"
                               "kid some-kid\n"
                               "  x5t\t" STORM "   reason with  spaces\r\n"
                               "sha1 D4:B4:CC:CD:A9:22:86:24:65:6B:FF:33:D8:11:09:55:77:96:32:AA\n"
                               "jkt " STORM_JKT " # a trailing comment only\n"
                               "   # indented comment\n"
                               "kid last-without-newline",
                               &ks, err, sizeof(err)),
                     0);
    assert_int_equal(ks->nrevoked, 5);
    assert_string_equal(ks->revoked[0].kid, "some-kid");
    assert_null(ks->revoked[0].reason);
    assert_string_equal(ks->revoked[1].x5t, STORM);
    assert_string_equal(ks->revoked[1].reason, "reason with  spaces");
    assert_string_equal(ks->revoked[2].sha1, STORM_SHA1); /* normalised by keystore_add_revoked */
    assert_string_equal(ks->revoked[3].jkt, STORM_JKT);
    assert_null(ks->revoked[3].reason);
    assert_string_equal(ks->revoked[4].kid, "last-without-newline");
    /* a header naming the kid, or its x5t, or its certificate's SHA-1 as x5t: all revoked */
    assert_non_null(keystore_revoked(ks, NULL, "some-kid", NULL));
    assert_non_null(keystore_revoked(ks, NULL, NULL, STORM));
    assert_null(keystore_revoked(ks, NULL, "other", NULL));
    keystore_free(ks);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"kid a\nserial 1234\n", ":2: unknown indicator 'serial'"},
        {"kid\n", ":1: expected KIND VALUE"},
        {"# x\nx5t abc\n", ":2: x5t: expected 27 base64url characters, got 'abc'"},
        {"x5t 1LTMzakihiRla_8z2BEJVXeWMq=\n", ":1: x5t: expected 27 base64url"},
        {"sha1 d4b4cccd\n", ":1: sha1: expected 40 hex digits (colons allowed)"},
        {"sha1 z4b4cccda9228624656bff33d8110955779632aa\n", ":1: sha1: expected 40 hex"},
        {"\n\n\njkt " STORM "\n", ":4: jkt: expected 43 base64url characters"},
        {"KID a\n", ":1: unknown indicator 'KID'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct keystore *ks;
        char err[512];
        assert_int_equal(load_text(cases[i].text, &ks, err, sizeof(err)), -1);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
        assert_true(strncmp(err, "/tmp/tw_revoked_", 16) == 0); /* the file is named */
        keystore_free(ks);
    }
}

static void test_long_line_and_missing(void **state)
{
    (void)state;
    size_t n = 5000;
    char *text = malloc(n + 16);
    assert_non_null(text);
    memcpy(text, "kid ", 4);
    memset(text + 4, 'a', n);
    strcpy(text + 4 + n, "\n");
    struct keystore *ks;
    char err[512];
    assert_int_equal(load_text(text, &ks, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":1: line longer than 4096 bytes"));
    keystore_free(ks);
    free(text);

    ks = keystore_new();
    assert_int_equal(keystore_add_revoked_file(ks, "/nonexistent/revoked.txt", err, sizeof(err)),
                     -1);
    assert_string_equal(err, "/nonexistent/revoked.txt: No such file or directory");
    assert_int_equal(ks->nrevoked, 0);
    keystore_free(ks);
}

/* The file etc/demo/tokenwatch.yaml names: the Storm-0558 key by all four matchers. */
static void test_shipped_file(void **state)
{
    (void)state;
    struct keystore *ks = keystore_new();
    char err[512];
    assert_int_equal(keystore_add_revoked_file(ks, TW_SOURCE_DIR "/etc/revoked-keys.txt", err,
                                               sizeof(err)),
                     0);
    assert_int_equal(ks->nrevoked, 4);
    int kid = 0, x5t = 0, sha1 = 0, jkt = 0;
    for (size_t i = 0; i < ks->nrevoked; i++) {
        const struct ks_revoked *r = &ks->revoked[i];
        kid |= r->kid && strcmp(r->kid, STORM) == 0;
        x5t |= r->x5t && strcmp(r->x5t, STORM) == 0;
        sha1 |= r->sha1 && strcmp(r->sha1, STORM_SHA1) == 0;
        jkt |= r->jkt && strcmp(r->jkt, STORM_JKT) == 0;
        assert_string_equal(r->reason, "Storm-0558 acquired MSA signing key");
    }
    assert_true(kid && x5t && sha1 && jkt);
    keystore_free(ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_long_line_and_missing),
        cmocka_unit_test(test_shipped_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
