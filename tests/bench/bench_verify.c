/*
 * bench_verify — tw_bench_verify: signature verifications per second through tokenwatch's
 * verify layer, and the verification cache's hit path, for tests/bench/run_bench.py.
 *
 * Where it sits: outside the pipeline; links the core (verify.c, vcache.c, policy.c). For each
 * JOSE algorithm (RS256, PS256, ES256, ES384, ES512, EdDSA over Ed25519, Ed448) it generates a
 * key with OpenSSL, signs a JWS-sized signing input (base64url header "." payload, 800 bytes by
 * default) and a tiny one (36 bytes, what `openssl speed` verifies for RSA), checks both verify,
 * then counts verifications through verify_jws_ctx() (the worker's pre-built contexts, as the
 * sensor runs) and through verify_jws() (contexts built per call), and the bare OpenSSL loop
 * `openssl speed` runs ("raw", in this process). The four are interleaved in short slices so
 * that load from elsewhere falls on them alike. RFC 7518 §3.3-3.5, RFC 8037.
 *
 * Rates are per CPU-second of this process (CLOCK_PROCESS_CPUTIME_ID), each variant running for
 * --seconds of wall time in all: `openssl speed` likewise divides by CPU (user) time by default, so
 * both are comparable on a machine that is busy with something else.
 *
 * The cache hit path: a cache (65,536 entries, 64 MiB, the defaults) holding --tokens tokens of
 * ~1 KB (JWT-shaped; judged once against an empty key store), then repeated vcache_get() of
 * those tokens in a fixed shuffled order; nanoseconds per lookup.
 *
 * Output: one line per measurement, "name key=value ...", stable for run_bench.py to parse:
 *   verify alg=RS256 openssl=rsa2048 msg=800 ctx=41234.5 noctx=35123.4 tiny_msg=36
 *          tiny_ctx=42345.6 raw=43210.9                                          (one line)
 *   vcache_hit tokens=1000 token_len=1024 ns_per_token=210.3 lookups=4761904 hash_ns=150.2 ...
 * (hash_ns: SipHash-1-3 alone over the same tokens, the part of a hit no cache can skip).
 * Exit 0, or 1 with a message on stderr when a key, signature or verification fails.
 */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "keystore.h"
#include "policy.h"
#include "siphash.h"
#include "vcache.h"
#include "verify.h"

#define SLICES 10 /* per measurement: ~seconds/SLICES of each variant in turn */

static double clock_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *alg)
{
    fprintf(stderr, "tw_bench_verify: %s (%s)\n", what, alg);
    ERR_print_errors_fp(stderr);
    exit(1);
}

struct algcase {
    const char *alg, *openssl;   /* JOSE alg; the `openssl speed` algorithm to compare with */
    const char *type;            /* EVP_PKEY_Q_keygen type */
    const char *curve;           /* EC curve, or NULL */
    const char *md;              /* signing digest, NULL for EdDSA */
    size_t half;                 /* ECDSA: field bytes (r‖s halves); 0 otherwise */
    int pss;
};

static const struct algcase cases[] = {
    {"RS256", "rsa2048", "RSA", NULL, "SHA256", 0, 0},
    {"PS256", "rsa2048", "RSA", NULL, "SHA256", 0, 1},
    {"ES256", "ecdsap256", "EC", "P-256", "SHA256", 32, 0},
    {"ES384", "ecdsap384", "EC", "P-384", "SHA384", 48, 0},
    {"ES512", "ecdsap521", "EC", "P-521", "SHA512", 66, 0},
    {"EdDSA", "ed25519", "ED25519", NULL, NULL, 0, 0},
    {"Ed448", "ed448", "ED448", NULL, NULL, 0, 0},
};

static EVP_PKEY *keygen(const struct algcase *c)
{
    if (strcmp(c->type, "RSA") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (c->curve)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", c->curve);
    return EVP_PKEY_Q_keygen(NULL, NULL, c->type);
}

/* JOSE signature over msg: PKCS#1 v1.5, PSS (salt = hash size), raw r‖s, or EdDSA. */
static size_t jws_sign(const struct algcase *c, EVP_PKEY *k, const uint8_t *msg, size_t len,
                       uint8_t *out, size_t cap)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *p = NULL;
    uint8_t der[256];
    uint8_t *dst = c->half ? der : out;
    size_t n = c->half ? sizeof(der) : cap;
    if (!m || EVP_DigestSignInit_ex(m, &p, c->md, NULL, NULL, k, NULL) != 1)
        die("sign init", c->alg);
    if (c->pss && (EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING) <= 0 ||
                   EVP_PKEY_CTX_set_rsa_pss_saltlen(p, RSA_PSS_SALTLEN_DIGEST) <= 0))
        die("pss parameters", c->alg);
    if (EVP_DigestSign(m, dst, &n, msg, len) != 1)
        die("sign", c->alg);
    EVP_MD_CTX_free(m);
    if (!c->half)
        return n;
    const unsigned char *q = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)n);
    if (!s || 2 * c->half > cap ||
        BN_bn2binpad(ECDSA_SIG_get0_r(s), out, (int)c->half) != (int)c->half ||
        BN_bn2binpad(ECDSA_SIG_get0_s(s), out + c->half, (int)c->half) != (int)c->half)
        die("ECDSA signature to r||s", c->alg);
    ECDSA_SIG_free(s);
    return 2 * c->half;
}

/* A JWS-shaped signing input of len bytes: base64url characters with one '.'. */
static uint8_t *signing_input(size_t len)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t *m = malloc(len);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        m[i] = (uint8_t)b64[x & 63];
    }
    memcpy(m, "eyJhbGciOi", len < 10 ? len : 10);
    if (len > 40)
        m[36] = '.';
    return m;
}

/* One thing to time: verify_jws_ctx (vx set: contexts; vx NULL: verify_jws) over msg, or
 * (raw) the bare OpenSSL loop `openssl speed` times: EVP_PKEY_verify on a context initialised
 * once (RSA: a 36-byte input, PKCS#1 v1.5 without DigestInfo; ECDSA: a 20-byte "digest", DER
 * signature) or EVP_DigestVerify on a kept context (EdDSA, a 20-byte message). */
struct variant {
    const char *alg;
    struct verify_ctxs *vx;
    EVP_PKEY *k;
    const uint8_t *msg, *sig;
    size_t len, siglen;
    EVP_PKEY_CTX *raw_p; /* raw, RSA/ECDSA */
    EVP_MD_CTX *raw_m;   /* raw, EdDSA */
    uint64_t n;
    double cpu;
};

static int once(const struct variant *v)
{
    if (v->raw_m)
        return EVP_DigestVerify(v->raw_m, v->sig, v->siglen, v->msg, v->len) == 1;
    if (v->raw_p)
        return EVP_PKEY_verify(v->raw_p, v->sig, v->siglen, v->msg, v->len) == 1;
    return verify_jws_ctx(v->vx, v->k, NULL, v->alg, v->msg, v->len, v->sig, v->siglen) ==
           VERIFY_VALID;
}

/* Runs v for `slice` seconds of wall time, adding to its count and CPU time. */
static void run_slice(struct variant *v, double slice)
{
    uint64_t n = 0, bad = 0;
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    do {
        for (int i = 0; i < 4; i++)
            bad += !once(v);
        n += 4;
    } while (clock_s(CLOCK_MONOTONIC) - w0 < slice);
    v->cpu += clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    v->n += n;
    if (bad)
        die("a verification failed during the run", v->alg);
}

/* Sets up the raw variant's context and signature over a fixed 36/20-byte input. */
static void raw_setup(const struct algcase *c, EVP_PKEY *k, struct variant *v, uint8_t *buf,
                      uint8_t *sig, size_t cap)
{
    size_t sl = cap, in = c->curve ? 20 : 36;
    memset(buf, 0x5a, 36);
    if (!c->md) {
        in = 20;
        v->raw_m = EVP_MD_CTX_new();
        if (!v->raw_m || EVP_DigestSignInit(v->raw_m, NULL, NULL, NULL, k) != 1 ||
            EVP_DigestSign(v->raw_m, sig, &sl, buf, in) != 1 ||
            EVP_DigestVerifyInit(v->raw_m, NULL, NULL, NULL, k) != 1)
            die("raw EdDSA set-up", c->alg);
    } else {
        v->raw_p = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
        if (!v->raw_p || EVP_PKEY_sign_init(v->raw_p) != 1 ||
            EVP_PKEY_sign(v->raw_p, sig, &sl, buf, in) != 1 ||
            EVP_PKEY_verify_init(v->raw_p) != 1)
            die("raw set-up", c->alg);
    }
    v->alg = c->alg;
    v->msg = buf;
    v->len = in;
    v->sig = sig;
    v->siglen = sl;
}

static void bench_vcache(size_t ntok, size_t toklen, double seconds)
{
    struct keystore *ks = keystore_new();
    struct policy_cfg pol = {.clock_skew = 300, .max_lifetime = 86400,
                             .alg_mask = (1u << POLICY_ALG_COUNT) - 1};
    uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct vcache *vc = vcache_new(65536, 64u << 20, seed);
    uint8_t *base = signing_input(toklen * ntok + 64);
    if (!ks || !vc || !base)
        die("out of memory", "vcache");
    /* Token i: toklen bytes, three dot-separated parts, distinct in its first bytes. */
    uint8_t **tok = calloc(ntok, sizeof(*tok));
    for (size_t i = 0; i < ntok; i++) {
        tok[i] = base + i * toklen;
        tok[i][0] = 'e';
        tok[i][1] = 'y';
        tok[i][2] = 'J';
        char num[24];
        int nl = snprintf(num, sizeof(num), "%08zu", i);
        memcpy(tok[i] + 3, num, (size_t)nl);
        tok[i][toklen / 2] = '.';
        tok[i][toklen - 100] = '.';
        int hit;
        if (!vcache_get(vc, ks, &pol, tok[i], toklen, &hit) || hit)
            die("populating the cache", "vcache");
    }
    /* A fixed shuffled order, so lookups do not walk memory sequentially. */
    size_t *order = malloc(ntok * sizeof(*order));
    for (size_t i = 0; i < ntok; i++)
        order[i] = i;
    uint32_t x = 88172645u;
    for (size_t i = ntok - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        size_t j = x % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    uint64_t n = 0, hits = 0;
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    do {
        for (size_t i = 0; i < ntok; i++) {
            int hit;
            vcache_get(vc, ks, &pol, tok[order[i]], toklen, &hit);
            hits += (uint64_t)hit;
        }
        n += ntok;
    } while (clock_s(CLOCK_MONOTONIC) - w0 < seconds);
    double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (hits != n)
        die("a lookup missed", "vcache");
    /* For scale: the keyed hash alone over the same tokens, which every lookup must pay. */
    uint64_t hn = 0, acc = 0;
    struct polyhash61 ph;
    polyhash61_init(&ph, seed);
    w0 = clock_s(CLOCK_MONOTONIC);
    c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    do {
        for (size_t i = 0; i < ntok; i++)
            acc += polyhash61(&ph, tok[order[i]], toklen);
        hn += ntok;
    } while (clock_s(CLOCK_MONOTONIC) - w0 < seconds / 4);
    double hcpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("vcache_hit tokens=%zu token_len=%zu ns_per_token=%.1f lookups=%llu "
           "hash_ns=%.1f check=%llu\n",
           ntok, toklen, cpu * 1e9 / (double)n, (unsigned long long)n, hcpu * 1e9 / (double)hn,
           (unsigned long long)(acc & 1));
    free(order);
    free(tok);
    free(base);
    vcache_free(vc);
    keystore_free(ks);
}

int main(int argc, char **argv)
{
    double seconds = 1.0;
    size_t msglen = 800, tiny = 36, ntok = 1000, toklen = 1024;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--msg") == 0 && i + 1 < argc)
            msglen = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc)
            ntok = (size_t)atol(argv[++i]);
        else if (strcmp(argv[i], "--alg") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: tw_bench_verify [--seconds S] [--msg BYTES] [--tokens N] "
                            "[--alg ALG]\n");
            return 2;
        }
    }
    if (msglen < 41 || ntok == 0 || seconds <= 0) {
        fprintf(stderr, "tw_bench_verify: --msg must be >= 41, --tokens and --seconds > 0\n");
        return 2;
    }
    uint8_t *msg = signing_input(msglen), *small = signing_input(tiny);
    struct verify_ctxs *vx = verify_ctxs_new(256);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct algcase *c = &cases[i];
        if (only && strcmp(only, c->alg) != 0)
            continue;
        EVP_PKEY *k = keygen(c);
        if (!k)
            die("key generation", c->alg);
        uint8_t sig[512], tsig[512], rbuf[36], rsig[512];
        size_t sl = jws_sign(c, k, msg, msglen, sig, sizeof(sig));
        size_t tl = jws_sign(c, k, small, tiny, tsig, sizeof(tsig));
        /* ctx, noctx, tiny_ctx, raw: interleaved in SLICES slices each, so that load from
         * elsewhere on the machine falls on all four alike. */
        struct variant v[4] = {
            {.alg = c->alg, .vx = vx, .k = k, .msg = msg, .len = msglen, .sig = sig, .siglen = sl},
            {.alg = c->alg, .vx = NULL, .k = k, .msg = msg, .len = msglen, .sig = sig,
             .siglen = sl},
            {.alg = c->alg, .vx = vx, .k = k, .msg = small, .len = tiny, .sig = tsig,
             .siglen = tl},
            {0},
        };
        raw_setup(c, k, &v[3], rbuf, rsig, sizeof(rsig));
        for (int j = 0; j < 4; j++)
            if (!once(&v[j]))
                die("signature does not verify", c->alg);
        for (int sl_i = 0; sl_i < SLICES; sl_i++)
            for (int j = 0; j < 4; j++)
                run_slice(&v[j], seconds / SLICES);
        double r[4];
        for (int j = 0; j < 4; j++)
            r[j] = v[j].cpu > 0 ? (double)v[j].n / v[j].cpu : 0;
        printf("verify alg=%s openssl=%s msg=%zu ctx=%.1f noctx=%.1f tiny_msg=%zu tiny_ctx=%.1f "
               "raw=%.1f\n",
               c->alg, c->openssl, msglen, r[0], r[1], tiny, r[2], r[3]);
        EVP_PKEY_CTX_free(v[3].raw_p);
        EVP_MD_CTX_free(v[3].raw_m);
        fflush(stdout);
        verify_ctxs_clear(vx);
        EVP_PKEY_free(k);
    }
    verify_ctxs_free(vx);
    free(msg);
    free(small);
    if (!only || strcmp(only, "vcache") == 0)
        bench_vcache(ntok, toklen, seconds);
    return 0;
}
