/* fuzz_urlredact.c — libFuzzer target for dissectors/token/urlredact.c, the redactor every logged string
 * of traffic origin goes through (http.*, token claims, keyset fields).
 *
 * abort() on a broken invariant: measuring and writing disagree; nothing redacted but the output
 * differs; the output grows by more than one marker per replacement; valid UTF-8 in, invalid
 * out; a JWT
 * shape ("eyJ" run of base64url and dots with two dots, 16 characters) left in the output; the
 * arena copy differing from the buffer form. (A second pass is not required to change nothing:
 * a replaced value can take with it the '/' that ended a URL authority, and the next pass then
 * sees a longer authority; hiding more is never a leak.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "urlredact.h"

static int utf8_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t l = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!l || n - i < l)
            return 0;
        for (size_t k = 1; k < l; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += l;
    }
    return 1;
}

static int b64_or_dot(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

static int has_jwt_shape(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++) {
        if (memcmp(s + i, "eyJ", 3) != 0)
            continue;
        size_t e = i, dots = 0;
        while (e < n && b64_or_dot(s[e]))
            dots += s[e++] == '.';
        if (dots >= 2 && e - i >= 16)
            return 1;
        i = e;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    const char *in = (const char *)data;
    size_t nred, nred2;
    size_t len = url_redact_buf(in, size, NULL, 0, &nred);
    char *out = malloc(len + 1);
    if (!out)
        return 0;
    if (url_redact_buf(in, size, out, len, &nred2) != len || nred2 != nred)
        abort();
    if (!nred && (len != size || memcmp(out, in, size) != 0))
        abort();
    if (len > size + nred * 10)
        abort();
    if (utf8_ok(data, size) && !utf8_ok((const uint8_t *)out, len))
        abort();
    if (has_jwt_shape((const uint8_t *)out, len))
        abort();
    /* the NUL-terminated arena form: the input up to its first NUL */
    char *cstr = malloc(size + 1);
    if (!cstr)
        abort();
    memcpy(cstr, data, size);
    cstr[size] = '\0';
    struct arena a;
    arena_init(&a, 256, 0);
    const char *r = url_redact(&a, cstr);
    size_t cl = strlen(cstr), rl = url_redact_buf(cstr, cl, NULL, 0, NULL);
    char *ref = malloc(rl + 1);
    if (!r || !ref)
        abort();
    url_redact_buf(cstr, cl, ref, rl, NULL);
    if (strlen(r) != rl || memcmp(r, ref, rl) != 0)
        abort();
    free(ref);
    arena_release(&a);
    free(cstr);
    free(out);
    return 0;
}
