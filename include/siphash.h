/* siphash.h — SipHash-2-4 and -1-3 (Aumasson & Bernstein) and polyhash61, the keyed hashes for
 * every table that traffic fills (flows, the verification cache, replay), so an attacker cannot
 * aim many keys at one bucket. */
#ifndef TW_SIPHASH_H
#define TW_SIPHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);
/* SipHash-1-3: the same keyed construction with fewer rounds (as Rust's and CPython's hash
 * tables use), for long inputs such as whole tokens on the per-request path. */
uint64_t siphash13(const uint8_t key[16], const void *data, size_t len);
/* For long inputs (whole tokens, ~1 KB, on the per-request path): a polynomial over
 * GF(2^61 - 1) at a secret point drawn from the key, then SipHash-1-3 of (value, length). Two
 * different inputs of k 7-byte chunks collide with probability below k / 2^61 whatever they
 * are (see siphash.c); about a third of SipHash-1-3's instructions on a 1 KB input. */
struct polyhash61 {
    uint8_t key[16];
    uint64_t r;       /* the secret point, below 2^61 - 1 */
    uint64_t rpow[3]; /* r^2, r^3, r^4 */
};
void polyhash61_init(struct polyhash61 *ph, const uint8_t key[16]);
uint64_t polyhash61(const struct polyhash61 *ph, const void *data, size_t len);
/* The polynomial's value alone, fully reduced (for the test against a plain evaluation). */
uint64_t polyhash61_value(const struct polyhash61 *ph, const void *data, size_t len);
/* mshash: Thorup's multiply-shift vector hash ("High Speed Hashing for Integers and Strings",
 * 2015, §3.3) for short fixed-size keys such as the flow key: the input read as 32-bit words
 * x_1..x_n (little-endian, the last one zero-padded) gives
 *
 *     h(x) = (a_0 + a_1 x_1 + ... + a_n x_n  mod 2^64) >> 32
 *
 * with a_0..a_n secret 64-bit words. For any two different inputs of the same length the pair
 * (h(x), h(y)) is uniform on [2^32]^2 over the key (strongly universal), so two fixed inputs
 * share any b low bits (a bucket) with probability exactly 2^-b: a capture crafted in advance
 * cannot aim at one bucket. n independent multiplications, about a tenth of SipHash-1-3's
 * instructions on 46 bytes. Not a PRF: used where the hash is never output (see DESIGN). */
#define MSHASH_MAX_WORDS 16
struct mshash {
    uint64_t a[MSHASH_MAX_WORDS + 1];
};
void mshash_init(struct mshash *mh, const uint8_t key[16]);
/* len at most 4 * MSHASH_MAX_WORDS; inline so that a constant len unrolls. */
static inline uint32_t mshash(const struct mshash *mh, const void *data, size_t len)
{
    const uint8_t *in = (const uint8_t *)data;
    uint64_t s = mh->a[0];
    size_t i = 0, w = 1;
    /* Eight bytes a load, split into their two little-endian 32-bit words. */
    for (; i + 8 <= len; i += 8, w += 2) {
        uint64_t v;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&v, in + i, 8);
#else
        v = 0;
        for (int b = 7; b >= 0; b--)
            v = (v << 8) | in[i + (size_t)b];
#endif
        s += mh->a[w] * (uint32_t)v + mh->a[w + 1] * (v >> 32);
    }
    for (; i < len; i += 4, w++) { /* the last 0..7 bytes, zero-padded to whole words */
        uint32_t x = 0;
        for (size_t k = 0; k < 4 && i + k < len; k++)
            x |= (uint32_t)in[i + k] << (8 * k);
        s += mh->a[w] * x;
    }
    return (uint32_t)(s >> 32);
}
/* Fills key with 16 random bytes from the OS (getrandom); falls back to time and pid. */
void siphash_random_key(uint8_t key[16]);

#endif
