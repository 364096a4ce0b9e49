/* policy.h — findings (SPEC §4) and the verdict on one token.
 *
 * Pipeline: token scan ─► [verdict: vcache ─► policy (jwt, keystore, verify)] ─► eve.
 * A verdict has a time-independent part, computed once per distinct token and cached
 * (parse, key lookup, issuer scope, signature), and a time-dependent part evaluated at each
 * occurrence against the packet's timestamp, never the wall clock (policy_time_findings).
 */
#ifndef TW_POLICY_H
#define TW_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "jwt.h"
#include "keystore.h"

/* In SPEC §4 table order, which is also severity order: the first set bit is the most severe. */
enum finding {
    F_KEY_REVOKED = 0,
    F_KEY_ISSUER_MISMATCH,
    F_SIGNATURE_INVALID,
    F_ALG_NONE,
    F_ALG_MISMATCH,
    F_EMBEDDED_KEY,
    F_TENANT_MISMATCH,
    F_KEY_EXPIRED,
    F_KEY_UNKNOWN,
    F_TOKEN_NOT_YET_VALID,
    F_LIFETIME_EXCESSIVE,
    F_TOKEN_REPLAY,       /* 9100015, per occurrence (replay.h), never in verdict.findings */
    F_AUDIENCE_MISMATCH,  /* 9100016: aud outside the keyset's audiences */
    F_TYPE_MISMATCH,      /* 9100017: typ outside the keyset's token-types */
    F_ISSUER_UNTRUSTED,
    F_TOKEN_EXPIRED,
    F_MALFORMED,
    F_VERIFICATION_SHED,  /* 9100018: a signature check skipped, the worker being behind
                             (engine.verify-shed); every other check ran */
    F__COUNT
};

struct finding_info {
    const char *code;
    uint32_t sid;
    int severity;
    const char *signature;
    const char *category;
};

extern const struct finding_info policy_findings[F__COUNT];

enum sig_state { SIG_NOT_CHECKED = 0, SIG_VALID, SIG_INVALID, SIG_UNVERIFIABLE };
const char *policy_sig_name(enum sig_state s);

struct verify_ctxs;

struct policy_cfg {
    int64_t clock_skew;
    int64_t max_lifetime;
    uint32_t alg_mask;  /* bit i = the i-th of POLICY_ALG_NAMES (config.h) */
    /* policy.kidless-max-keys: a token naming no key (no kid/x5t/x5t#S256) is tried against at
     * most this many keys of the keysets that may sign for its issuer; 0 = never tried. */
    uint32_t kidless_max;
    /* policy.verify-observed-keys: key sets learned from the wire, consulted only for a token
     * whose issuer a configured key set trusts and whose key no configured set has; NULL when
     * the switch is off (the default) or nothing was observed. Borrowed. */
    const struct keystore *observed;
    /* This worker's pre-initialised OpenSSL verification contexts (verify.h), or NULL (then
     * each verification builds its own). Borrowed; per worker, never shared between threads. */
    struct verify_ctxs *vx;
    /* engine.verify-shed (docs/DESIGN.md "Shedding verification"): when shed_lag_us > 0, a
     * verdict judged while the packet in hand (*pkt_us, packet time in µs: the sensor's now_us)
     * is older than shed_lag_us by the wall clock gets its signature checks skipped
     * (policy_shed_due, policy_judge_shed). 0: never (files; engine.verify-shed: no). No packet
     * in hand (*pkt_us 0: flows expired between packets, the end of a run): never either. */
    uint64_t shed_lag_us;
    const uint64_t *pkt_us;   /* borrowed */
    int shedding;             /* inside policy_judge_shed only: skip every signature check */
};

/* The cached, time-independent verdict on one distinct token text. Heap object, reference
 * counted (the cache holds one reference, each pending transaction that prints it another);
 * owns a copy of the token text and of every claim string. */
struct verdict {
    uint32_t refs;
    uint32_t token_len;
    uint64_t hash;               /* keyed hash of the token text (cache bucket) */
    char sha256[65];
    uint8_t digest[32];          /* the same SHA-256, raw (replay table key) */
    enum jwt_type type;
    enum sig_state sig;
    uint8_t kidless_bound;       /* a layer named no key and policy.kidless-max-keys bit: its
                                    issuer had more candidate keys than were tried */
    uint32_t findings;           /* time-independent findings, bit = 1u << enum finding */
    struct jwt_claims c;         /* strings point into `strings` below */
    const char *keyset;          /* keyset name (a copy, in `strings`), or NULL */
    const char *key_issuer;      /* into `strings`, or NULL */
    uint8_t key_has_validity;
    int64_t key_not_before, key_not_after;
    char *strings;               /* one block holding the claim strings */
    size_t strings_len;          /* its size in bytes (the verification cache charges it) */
    char *json;                  /* the token object's time-independent members, rendered once
                                    by eve (eve_token_object), or NULL; owned */
    size_t json_len;
    uint8_t token[];             /* the token text, token_len bytes */
};

/* Builds the verdict for token tok[0..len): parses, finds the key, checks issuer scope and the
 * signature. Returns a new verdict with refs == 1, or NULL when out of memory. */
struct verdict *policy_judge(const struct keystore *ks, const struct policy_cfg *cfg,
                             const uint8_t *tok, size_t len);
/* As policy_judge(), also giving the key the verdict used (store-owned, NULL when none): for
 * check-token, which prints it. */
struct verdict *policy_judge_key(const struct keystore *ks, const struct policy_cfg *cfg,
                                 const uint8_t *tok, size_t len, const struct ks_key **key);

/* As policy_judge(); shed != 0 skips every signature check a verification would have decided:
 * such a layer's signature stays not_checked and the verdict gets F_VERIFICATION_SHED, while
 * the cheap checks (parse, kid, revocation, issuer scope, tenant, algorithm, embedded keys,
 * lifetime, audiences, types) all run. A token needing no verification (alg none, an algorithm
 * the key refuses, no key found) is judged as by policy_judge() and is not marked. */
struct verdict *policy_judge_shed(const struct keystore *ks, const struct policy_cfg *cfg,
                                  const uint8_t *tok, size_t len, int shed);
/* 1 when cfg says to shed now: shed_lag_us set and the packet in hand older than that by the
 * wall clock (CLOCK_REALTIME, which live packet timestamps use). */
int policy_shed_due(const struct policy_cfg *cfg);

void verdict_ref(struct verdict *v);
void verdict_unref(struct verdict *v);

/* Findings that depend on the time `now` (packet time, Unix seconds): token_not_yet_valid,
 * token_expired, key_expired. Returns a mask like verdict.findings. */
uint32_t policy_time_findings(const struct verdict *v, const struct policy_cfg *cfg, int64_t now);

/* Index of the most severe finding in mask (mask != 0). */
enum finding policy_top_finding(uint32_t mask);

#endif
