/* siphash.c — SipHash-2-4 with 64-bit output (Aumasson & Bernstein, "SipHash: a fast
 * short-input PRF", INDOCRYPT 2012), SipHash-1-3, polyhash61 (a keyed polynomial hash finished
 * by SipHash, for long inputs), mshash's key setup (multiply-shift for short fixed-size keys,
 * siphash.h) and a helper that draws a random key from the OS.
 *
 * Pipeline: not a stage of its own; the flow table, the fragment table and the verification
 * cache hash their keys with it so that traffic cannot choose which bucket it lands in (DESIGN
 * "Ownership" 6). Owns nothing; no state between calls.
 *
 * Words are read little-endian whatever the host byte order, as the paper specifies, so a key
 * and message give the same value on every machine.
 */
#include "siphash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/random.h>
#endif

static inline uint64_t rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w;
    memcpy(&w, p, 8); /* one unaligned load */
    return w;
#else
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
           ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) |
           ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
#endif
}

/* One SipRound (paper §2, Fig. 2.1). */
static inline void sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl(v[2], 32);
}

/* Pure function: reads key[0..15] and data[0..len-1], allocates nothing, cannot fail.
 * data may be NULL when len is 0. */
/* SipHash-c-d: c compression rounds per word, d finalization rounds. Always inlined into
 * siphash24() and siphash13() so that c and d are constants there and the round loops unroll:
 * out of line, the generic loops cost about twice the instructions per word. */
static inline __attribute__((always_inline)) uint64_t
siphash_cd(const uint8_t key[16], const void *data, size_t len, int c, int d)
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    /* The constants spell "somepseudorandomlygeneratedbytes" (paper §2, initialisation). */
    uint64_t v[4] = {
        k0 ^ 0x736f6d6570736575ULL,
        k1 ^ 0x646f72616e646f6dULL,
        k0 ^ 0x6c7967656e657261ULL,
        k1 ^ 0x7465646279746573ULL,
    };

    size_t full = len - (len % 8);
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load_le64(in + i);
        v[3] ^= m;
        for (int r = 0; r < c; r++)
            sipround(v);
        v[0] ^= m;
    }

    /* The last word holds the 0..7 remaining bytes and, in its top byte, len mod 256; this is
     * what makes messages that differ only in trailing zero bytes hash differently. */
    uint64_t b = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < len % 8; i++)
        b |= (uint64_t)in[full + i] << (8 * i);
    v[3] ^= b;
    for (int r = 0; r < c; r++)
        sipround(v);
    v[0] ^= b;

    v[2] ^= 0xff;
    for (int i = 0; i < d; i++)
        sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len)
{
    return siphash_cd(key, data, len, 2, 4);
}

uint64_t siphash13(const uint8_t key[16], const void *data, size_t len)
{
    return siphash_cd(key, data, len, 1, 3);
}

/* ---- polyhash61: the keyed hash for long inputs ---------------------------------------------
 *
 * The input, cut into 7-byte little-endian chunks m_1..m_k (the last one zero-padded), is read
 * as a polynomial evaluated at a secret point r modulo the prime p = 2^61 - 1:
 *
 *     P(x) = m_1 r^(k-1) + m_2 r^(k-2) + ... + m_k      (mod p)
 *
 * For two different inputs of the same length, P(x) - P(y) is a nonzero polynomial in r of
 * degree below k (every chunk is below 2^56 < p), so it has fewer than k roots: the two collide
 * with probability below k / 2^61 over the choice of r (Carter & Wegman's universal hashing;
 * the polynomial family of Dietzfelbinger et al. 1992). The 61-bit value and the input length
 * then go through SipHash-1-3 (one 16-byte message): inputs of different lengths differ there,
 * bucket indexes are a PRF of (P, length), and timing which keys share a bucket tells nothing
 * about r. Cost: five 64x64->128 multiplications per 28 bytes, four of them independent, where
 * SipHash-1-3 spends about 30 instructions per 8 bytes. */

#define P61 ((UINT64_C(1) << 61) - 1)

/* x mod p, not fully reduced: below 2^61 + 8 for any x below 2^124 (the steps below stay
 * under 2^123 + 2^62). */
static inline uint64_t mod61(unsigned __int128 x)
{
    uint64_t s = ((uint64_t)x & P61) + (uint64_t)(x >> 61);
    return (s & P61) + (s >> 61);
}

void polyhash61_init(struct polyhash61 *ph, const uint8_t key[16])
{
    static const char tag[] = "polyhash61-r";
    memcpy(ph->key, key, 16);
    ph->r = siphash24(key, tag, sizeof(tag) - 1) & P61;
    if (ph->r < 2 || ph->r == P61)
        ph->r = 2 + (ph->r & 0xffff); /* 0 and 1 would ignore chunks: never drawn in practice */
    uint64_t pw = ph->r;
    for (int i = 0; i < 3; i++) { /* r^2, r^3, r^4 */
        uint64_t v = mod61((unsigned __int128)pw * ph->r);
        pw = v >= P61 ? v - P61 : v;
        ph->rpow[i] = pw;
    }
}

static inline uint64_t chunk7(const uint8_t *p)
{
    return load_le64(p) & ((UINT64_C(1) << 56) - 1);
}

uint64_t polyhash61_value(const struct polyhash61 *ph, const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t h = 0, r = ph->r, r2 = ph->rpow[0], r3 = ph->rpow[1], r4 = ph->rpow[2];
    size_t i = 0;
    /* Four chunks a step: h = h r^4 + (m_i r^3 + m_i+1 r^2 + m_i+2 r + m_i+3), the four
     * products independent of each other and of h (each below 2^117, their sum below 2^120),
     * so only one multiplication a step waits for the one before. 8-byte loads: 29 bytes. */
    for (; len - i >= 29; i += 28) {
        unsigned __int128 t = (unsigned __int128)chunk7(in + i) * r3 +
                              (unsigned __int128)chunk7(in + i + 7) * r2 +
                              (unsigned __int128)chunk7(in + i + 14) * r + chunk7(in + i + 21);
        h = mod61((unsigned __int128)h * r4 + mod61(t));
    }
    while (i < len) {
        uint8_t last[8] = {0};
        size_t n = len - i < 7 ? len - i : 7;
        memcpy(last, in + i, n);
        h = mod61((unsigned __int128)h * r + chunk7(last));
        i += n;
    }
    h = (h & P61) + (h >> 61);
    return h >= P61 ? h - P61 : h;
}

uint64_t polyhash61(const struct polyhash61 *ph, const void *data, size_t len)
{
    uint8_t msg[16];
    uint64_t v = polyhash61_value(ph, data, len), n = (uint64_t)len;
    for (int i = 0; i < 8; i++) {
        msg[i] = (uint8_t)(v >> (8 * i));
        msg[8 + i] = (uint8_t)(n >> (8 * i));
    }
    return siphash13(ph->key, msg, sizeof(msg));
}

/* ---- mshash: multiply-shift for short fixed-size keys (siphash.h) ---- */

void mshash_init(struct mshash *mh, const uint8_t key[16])
{
    /* Each a_i is SipHash-2-4 of (tag, i) under the key: independent-looking and secret. */
    uint8_t msg[8] = {'m', 's', 'h', 'a', 's', 'h', 0, 0};
    for (unsigned i = 0; i <= MSHASH_MAX_WORDS; i++) {
        msg[7] = (uint8_t)i;
        mh->a[i] = siphash24(key, msg, sizeof(msg));
    }
}

/* Reads exactly n bytes from /dev/urandom; 0 on success. */
static int read_urandom(uint8_t *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return got == n ? 0 : -1;
}

/* Fills key with 16 bytes. Tries getrandom(2) (which blocks only at early boot, before the
 * kernel pool is seeded), then /dev/urandom; if both fail (seccomp, a chroot without /dev) it
 * mixes wall and monotonic time, pid and a stack address through SipHash itself. That fallback
 * is guessable by a local user but not by a remote sender of traffic, which is the threat the
 * keyed tables defend against. Never fails, allocates nothing. */
void siphash_random_key(uint8_t key[16])
{
#if defined(__linux__)
    size_t got = 0;
    while (got < 16) {
        ssize_t n = getrandom(key + got, 16 - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == 16)
        return;
#endif
    if (read_urandom(key, 16) == 0)
        return;

    struct timespec rt = {0}, mt = {0};
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mt);
    uint64_t seed[4] = {(uint64_t)rt.tv_sec, (uint64_t)rt.tv_nsec,
                        (uint64_t)mt.tv_nsec ^ ((uint64_t)mt.tv_sec << 32),
                        (uint64_t)getpid() ^ ((uint64_t)(uintptr_t)&rt << 16)};
    uint8_t fixed[16];
    for (int i = 0; i < 16; i++)
        fixed[i] = (uint8_t)(0x5a ^ i);
    uint64_t h0 = siphash24(fixed, seed, sizeof(seed));
    seed[0] ^= h0;
    uint64_t h1 = siphash24(fixed, seed, sizeof(seed));
    for (int i = 0; i < 8; i++) {
        key[i] = (uint8_t)(h0 >> (8 * i));
        key[8 + i] = (uint8_t)(h1 >> (8 * i));
    }
}
