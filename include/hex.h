/* hex.h — hexadecimal digits both ways: one digit's value (percent-decoding, chunk sizes, JSON
 * \u escapes) and bytes as lower-case hex text (digests, JSON \u00XX escapes).
 *
 * The per-character helpers are static inline: they sit in loops over every byte of a chunk-size
 * line, a percent-encoded run or an escaped EVE string, where a call would cost more than the
 * work. hex_encode is for whole digests and is out of line (hex.c). */
#ifndef TW_HEX_H
#define TW_HEX_H

#include <stddef.h>
#include <stdint.h>

/* The value 0..15 of a hex digit in either case, or -1 for any other byte. */
static inline int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* 'A'..'F' to 'a'..'f'; no other byte lands in 'a'..'f' by this */
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The lower-case digit for the low four bits of v. */
static inline char hex_char(unsigned v)
{
    return "0123456789abcdef"[v & 15];
}

/* Writes the 2*len lower-case digits of p[0..len) to out, then a NUL: out needs 2*len+1 bytes.
 * Returns 2*len. Never fails. */
size_t hex_encode(const uint8_t *p, size_t len, char *out);

#endif
