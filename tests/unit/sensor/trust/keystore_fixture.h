/* keystore_fixture.h — what the keystore tests (test_keystore.c, test_keystore_scope.c) share:
 * the issuers they judge (Entra consumer and enterprise tenants, v1 and v2), the Entra clouds as
 * the configuration's defaults name them, the RFC 7638 example RSA key, and helpers to load a
 * JWK Set from text, to build one-key sets and to read the Storm-0558 JWK (TW_SHARED_DIR; tests
 * that need it skip when it is absent). Test code only, included after cmocka.h.
 */
#ifndef TW_TEST_KEYSTORE_FIXTURE_H
#define TW_TEST_KEYSTORE_FIXTURE_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keystore.h"

#define SNAP TW_SHARED_DIR "/keys/idp-snapshots/"
#define STORM_JWK TW_SHARED_DIR "/keys/indicators/storm-0558-msa-2016.jwk.json"

static const char CONSUMER_ISS[] =
    "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0";
static const char CONSUMER_TID[] = "9188040d-6c67-4c5b-b112-36a304b66dad";
static const char ENT_TID[] = "72f988bf-86f1-41af-91ab-2d7cd011db47";
static const char ENT_ISS[] =
    "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
static const char ENT_ISS_V1[] = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/";
static const char V2_TMPL[] = "https://login.microsoftonline.com/{tenantid}/v2.0";

/* RFC 7638 §3.1 example key (2048-bit) and its thumbprint. */
#define RFC7638_N                                                                                  \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP" \
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY" \
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f" \
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_JKT "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
/* Entra clouds as the configuration's defaults name them. */
#define PUBLIC_V1 "https://sts.windows.net/"
#define PUBLIC_V2 "https://login.microsoftonline.com/"
#define USGOV_V2 "https://login.microsoftonline.us/"
#define CHINA_V1 "https://sts.chinacloudapi.cn/"
#define CHINA_V2 "https://login.partner.microsoftonline.cn/"

static inline int add_json(struct keystore *ks, const char *name, const char *json,
                           const char *const *iss, size_t niss)
{
    char err[256] = "";
    int rc = keystore_add_jwks_json(ks, name, json, strlen(json), iss, niss, err, sizeof(err));
    if (rc != 0)
        print_message("keystore_add_jwks_json: %s\n", err);
    return rc;
}

static inline int have(const char *path)
{
    if (access(path, R_OK) == 0)
        return 1;
    print_message("skipped: %s not readable\n", path);
    return 0;
}

/* The Storm-0558 JWK wrapped into a JWK Set, optionally with one member replaced. Caller frees. */
static inline char *storm_jwks(const char *member, const char *value)
{
    json_error_t e;
    json_t *jwk = json_load_file(STORM_JWK, 0, &e);
    assert_non_null(jwk);
    if (member)
        json_object_set_new(jwk, member, json_string(value));
    json_t *set = json_pack("{s:[o]}", "keys", jwk);
    char *s = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    return s;
}

static inline char *one_rsa_jwks(const char *kid, const char *issuer)
{
    json_t *jwk = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "use", "sig", "kid", kid, "n",
                            RFC7638_N, "e", "AQAB");
    if (issuer)
        json_object_set_new(jwk, "issuer", json_string(issuer));
    json_t *set = json_pack("{s:[o]}", "keys", jwk);
    char *s = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    return s;
}

#endif
