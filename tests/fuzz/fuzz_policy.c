/* fuzz_policy.c — the verdict on arbitrary token bytes against the shipped key sets
 * (etc/demo/tokenwatch.yaml: the demo RSA/EC/Ed25519/PSS keys, per-key Entra-style issuers, the
 * revoked Storm-0558 key, the Entra clouds), so key lookup (kid, x5t, x5t#S256), issuer scope,
 * expectations, nested tokens, b64:false and signature verification all run on hostile input,
 * with and without the worker's verification contexts. Every verdict member is read back so a
 * dangling pointer shows up under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "keystore_build.h"
#include "policy.h"
#include "sensor.h"
#include "verify.h"

static struct keystore *ks;
static struct policy_cfg pol;

static void setup(void)
{
    struct config cfg;
    char err[1024];
    config_defaults(&cfg);
    if (config_load(&cfg, TW_SOURCE_DIR "/etc/demo/tokenwatch.yaml", NULL, 0, err, sizeof(err)) != 0)
        abort();
    if (keystore_build_from_config(&cfg, &ks, err, sizeof(err)) != 0)
        abort();
    sensor_policy_from_config(&cfg, &pol);
    config_free(&cfg);
    /* expectations on the generic IdP keyset, so audience/type checks run too */
    const char *aud[] = {"api"}, *typ[] = {"at+jwt"};
    keystore_set_expectations(ks, "demo-idp", aud, 1, typ, 1);
}

static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

static void check(const struct verdict *v)
{
    volatile size_t sink = touch(v->sha256) + v->sig + v->findings + v->type;
    const struct jwt_claims *c = &v->c;
    sink += touch(c->alg) + touch(c->kid) + touch(c->x5t) + touch(c->x5t256) + touch(c->typ);
    sink += touch(c->cty) + touch(c->iss) + touch(c->tid) + touch(c->aud) + touch(c->sub);
    sink += touch(c->appid) + touch(c->azp) + touch(v->keyset) + touch(v->key_issuer);
    for (size_t i = 0; i < c->naud; i++)
        sink += touch(c->auds[i]);
    sink += policy_time_findings(v, &pol, 1685620800);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ks)
        setup();
    static struct verify_ctxs *vx;
    if (!vx && !(vx = verify_ctxs_new(8)))
        abort();
    for (int with_ctx = 0; with_ctx < 2; with_ctx++) {
        pol.vx = with_ctx ? vx : NULL;
        const struct ks_key *key = NULL;
        struct verdict *v = policy_judge_key(ks, &pol, data, size, &key);
        if (!v)
            abort();
        check(v);
        volatile size_t sink = key ? touch(key->kid) + touch(key->jkt) : 0;
        (void)sink;
        verdict_unref(v);
    }
    return 0;
}
