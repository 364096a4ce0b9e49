/* siphash.h — SipHash-2-4 and -1-3 (Aumasson & Bernstein) and polyhash61, the keyed hashes for
 * every table that traffic fills (flows, the verification cache, replay), so an attacker cannot
 * aim many keys at one bucket. */
#ifndef TW_SIPHASH_H
#define TW_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

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
/* Fills key with 16 random bytes from the OS (getrandom); falls back to time and pid. */
void siphash_random_key(uint8_t key[16]);

#endif
