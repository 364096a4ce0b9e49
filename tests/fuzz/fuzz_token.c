/* fuzz_token.c — libFuzzer target for dissectors/token.c.
 *
 * Parses the input as an HTTP request head and scans it for tokens; each token span must lie
 * inside the input, be non-empty and hold no whitespace. token_bearer also gets the raw input as
 * one header value. abort() on a broken invariant. */
#include <stdint.h>
#include <stdlib.h>

#include "token.h"

static void check_token(struct span t, const uint8_t *data, size_t size)
{
    if (!t.len || t.p < data || t.p + t.len > data + size)
        abort();
    for (size_t i = 0; i < t.len; i++)
        if (t.p[i] <= ' ' || t.p[i] >= 0x7f || t.p[i] == ',')
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http1_msg *m = malloc(sizeof(*m));
    if (http1_parse_request(data, size, m).status == PARSE_OK) {
        struct token_ref out[8];
        size_t n = token_scan_request(m, out, 8);
        if (n > 8)
            abort();
        for (size_t i = 0; i < n; i++) {
            check_token(out[i].text, data, size);
            if (!token_location_name(out[i].loc))
                abort();
        }
    }
    free(m);
    struct span tok;
    if (token_bearer(span_make(data, size), &tok))
        check_token(tok, data, size);
    return 0;
}
