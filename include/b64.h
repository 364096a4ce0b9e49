/* b64.h — base64url (RFC 4648 §5) decoding as JOSE uses it (RFC 7515 §2: no padding), and
 * lenient decoding for key material where providers are sloppy (standard alphabet, padding). */
#ifndef TW_B64_H
#define TW_B64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes needed to decode `len` characters (an upper bound). */
static inline size_t b64_decoded_max(size_t len)
{
    return (len / 4) * 3 + 3;
}

/* Strict base64url without padding. Writes to out (at least b64_decoded_max(len) bytes);
 * returns the decoded length, or -1 on a character outside the alphabet, a length of 4k+1,
 * or non-zero trailing bits. */
long b64url_decode(const char *in, size_t len, uint8_t *out);

/* Lenient: accepts both alphabets, '=' padding, and ignores whitespace. -1 on bad input. */
long b64_decode_lenient(const char *in, size_t len, uint8_t *out);

/* base64url without padding; out needs 4*ceil(len/3)+1 bytes; NUL-terminated; returns length. */
size_t b64url_encode(const uint8_t *in, size_t len, char *out);

/* True when every byte of s[0..len) is in the base64url alphabet. */
int b64url_valid(const char *s, size_t len);

#endif
