/* hex.c — bytes to lower-case hex text (hex.h has the per-digit helpers inline).
 *
 * Pipeline: off the packet path; used for digests that reach EVE or are compared as text (a
 * token's SHA-256 in the verdict, a certificate's SHA-1 in the key store). Pure function over
 * caller buffers; owns nothing.
 */
#include "hex.h"

size_t hex_encode(const uint8_t *p, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_char(p[i] >> 4);
        out[2 * i + 1] = hex_char(p[i]);
    }
    out[2 * len] = '\0';
    return 2 * len;
}
