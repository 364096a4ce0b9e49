/* siphash.h — SipHash-2-4 (Aumasson & Bernstein), the keyed hash for every table that traffic
 * fills (flows, the verification cache), so an attacker cannot aim many keys at one bucket. */
#ifndef TW_SIPHASH_H
#define TW_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len);
/* SipHash-1-3: the same keyed construction with fewer rounds (as Rust's and CPython's hash
 * tables use), for long inputs such as whole tokens on the per-request path. */
uint64_t siphash13(const uint8_t key[16], const void *data, size_t len);
/* Fills key with 16 random bytes from the OS (getrandom); falls back to time and pid. */
void siphash_random_key(uint8_t key[16]);

#endif
