/* test_keystore.c — JWKS loading (jwk.c) and the key store's bookkeeping (keystore.c): the
 * Storm-0558 JWK read as published, x5t/x5c checks, every key type and every refusal with its
 * reason, use/key_ops, certificate subject and thumbprints, document errors, revoked keys, lookup
 * by kid/x5t/x5t#S256 across many sets, and per-keyset expectations. The issuer-scope rules are
 * in test_keystore_scope.c; keystore_fixture.h holds what both use.
 *
 * Synthetic keys come from the RFCs (RFC 7638 §3.1 RSA, RFC 8037 A.2 Ed25519), Wycheproof's
 * P-256 and Ed448 JWKs and a test-only self-signed Ed25519 certificate, with thumbprints,
 * subject and validity computed independently (Python hashlib / cryptography). The Storm-0558
 * JWK is read from TW_SHARED_DIR; those tests skip when it is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/obj_mac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore_fixture.h"

/* The same modulus in standard base64, with a leading zero octet and padding. */
#define RFC7638_N_SLOPPY                                                                           \
    "ANL8e2oKHmxnEErrj4iyV2abTfZ53a0Jm1xKbNmogBW1oTO/C4VseHG23wALVU/Os8LtUSu2jxRcboQ0dS+rUqHPwSRA" \
    "j3m1ikV4wWQohVeJ96JJ44TLLZ+uLWf9lvuSbBmOB3OZ/cgVwK8Jfd5are/0TecOgn9IeEMkOb/uuWBo0EdPxQ1tkL86" \
    "mN+vEEDInALWkqs7PCiWYJ2G/XO3dM4HQGR87uqjEL0S+YWo659Z/dQmzqWyEg9PKjS8q3ZLfmxU1oQCOLzEBYelnmbt" \
    "HzOJRXdjXEcK91z5LCDR2kPhv8QZ4iKm8NC7NYxeOPnLBQrq/pBIFPGsGqScyp6gyoM="
#define RSA1024_N                                                                                  \
    "tFtDXqELyyW2QU5ZXHggKZC7J-839E2GbnR3M7_38kNvGt1VuoHGwuGXJ6EYGZOLPFXp6QLWvxp_Qrr8ldLK5TmWjHga" \
    "_tMWaomGS15iocxkG1pR6ISHIqX4zlLwejx7R5601RI3eajkE3r5ls7_hhAL-_nXQ5KwMLGjnlDAEX8"
#define P256_X "KSexBRK64-3c_kZ4KBKLrSkDJpkZ9whgacjE32xzKDg"
#define P256_Y "x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT4"
#define P256_JKT "UB0bE6ogZhikgZQC5i4LIZIpUDDiJ6AnzpDOzOEwJiA"
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_JKT "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
/* Wycheproof ed448_test.json's first key (57 bytes) and its RFC 7638 thumbprint. */
#define ED448_X "QZYQpTSvEn9YOwSBjNt_D_MAsCXy4BaCvK4z_Wkc7gOVEd8M3caQ7peEJuizjlDOWvfc-6UPcEwA"
#define ED448_JKT "nmoXmXP_9psoa7Vt-0y7IWb9ne5MJbIU_fGD6vivlt4"
/* TEST-ONLY self-signed Ed25519 certificate, subject C=DE, O="Example, Inc.", CN=tokenwatch
 * test, valid 2026-11-28T19:20:22Z .. 2036-11-25T19:20:22Z, and its key. */
#define CERT_X5C                                                                                   \
    "MIIBWjCCAQygAwIBAgICEjQwBQYDK2VwMD8xCzAJBgNVBAYTAkRFMRYwFAYDVQQKDA1FeGFtcGxlLCBJbmMuMRgwFgYD" \
    "VQQDDA90b2tlbndhdGNoIHRlc3QwHhcNMjYxMTI4MTkyMDIyWhcNMzYxMTI1MTkyMDIyWjA/MQswCQYDVQQGEwJERTEW" \
    "MBQGA1UECgwNRXhhbXBsZSwgSW5jLjEYMBYGA1UEAwwPdG9rZW53YXRjaCB0ZXN0MCowBQYDK2VwAyEAS3iV1J8oaKb5" \
    "x+HIR+pvNt/SB0QzHGlVzS5Dxm29MhijLDAqMAkGA1UdEwQCMAAwHQYDVR0OBBYEFCXSvSQ0lZD+trIxx1GE7pRNBAxS" \
    "MAUGAytlcANBAI4+FnTl5IQpEN34t+K2zrQ2ERwE2gDBmA+DZ2RMlznOgTFAz+sLl0w9pl7AfOMXj3AFak7AdgOwxwUw" \
    "FHc65AQ="
#define CERT_X "S3iV1J8oaKb5x-HIR-pvNt_SB0QzHGlVzS5Dxm29Mhg"
#define CERT_JKT "XhrFJC6A6FB2J5w5s6kGSIRSub5eBZ_i4nF7-BAkuIE"
#define CERT_SUBJECT "CN=tokenwatch test,O=Example\\, Inc.,C=DE"
#define CERT_X5T "o-2_z4J61apowrEAwMzYSuBrc1Q"
#define CERT_X5T256 "UomOb8FHcS-IOsH41h_x8MnsfuwrzLNzcm8YPZufDJM"
#define CERT_SHA1 "a3edbfcf827ad5aa68c2b100c0ccd84ae06b7354"

static void test_storm_identity(void **state)
{
    (void)state;
    if (!have(STORM_JWK))
        skip();
    struct keystore *ks = keystore_new();
    char *doc = storm_jwks(NULL, NULL);
    const char *iss[] = {CONSUMER_ISS};
    assert_int_equal(add_json(ks, "msa", doc, iss, 1), 0);
    free(doc);
    assert_int_equal(ks->nsets, 1);
    assert_int_equal(ks->sets[0].nkeys, 1);
    const struct ks_key *k = &ks->sets[0].keys[0];
    assert_int_equal(k->kty, KS_KTY_RSA);
    assert_int_equal(k->bits, 2048);
    assert_string_equal(k->kid, "1LTMzakihiRla_8z2BEJVXeWMqo");
    assert_string_equal(k->x5t, "1LTMzakihiRla_8z2BEJVXeWMqo");
    assert_string_equal(k->jkt, "kP2ox0dPp3uuT6IhJARw5E8I9ZWku4tl9NRrgQ8W-LY");
    assert_string_equal(k->cert_sha1, "d4b4cccda9228624656bff33d8110955779632aa");
    assert_string_equal(k->x5t256, "Q-oCF945Bmo2Fk4hZV6O17LvqmfkFVAzg3raJt9rtZ4");
    assert_string_equal(k->issuer, CONSUMER_ISS);
    assert_string_equal(k->subject, "CN=Live ID STS Signing Public Key");
    assert_true(k->has_validity);
    assert_int_equal(k->not_before, 1459867415); /* 2016-04-05T14:43:35Z */
    assert_int_equal(k->not_after, 1617547415);  /* 2021-04-04T14:43:35Z */
    assert_ptr_equal(k->set, &ks->sets[0]);
    keystore_free(ks);
}

/* x5t computed from the certificate when the JWK does not carry it. */
static void test_storm_x5t_from_cert(void **state)
{
    (void)state;
    if (!have(STORM_JWK))
        skip();
    json_error_t e;
    json_t *jwk = json_load_file(STORM_JWK, 0, &e);
    assert_non_null(jwk);
    json_object_del(jwk, "x5t");
    json_object_del(jwk, "kid");
    json_t *set = json_pack("{s:[o]}", "keys", jwk);
    char *doc = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "x", doc, NULL, 0), 0);
    free(doc);
    assert_int_equal(ks->sets[0].nkeys, 1);
    assert_null(ks->sets[0].keys[0].kid);
    assert_string_equal(ks->sets[0].keys[0].x5t, "1LTMzakihiRla_8z2BEJVXeWMqo");
    keystore_free(ks);
}

/* keys update's own member "x-tokenwatch": read back (retired, first/last seen as Unix seconds);
 * absent or malformed, the key loads with no history. */
static void test_history_member(void **state)
{
    (void)state;
    const char *doc =
        "{\"keys\":["
        "{\"kty\":\"RSA\",\"kid\":\"r\",\"e\":\"AQAB\",\"n\":\"" RFC7638_N "\","
        "\"x-tokenwatch\":{\"first_seen\":\"2024-01-02T03:04:05Z\","
        "\"last_seen\":\"2026-12-03T00:00:00Z\",\"retired\":true}},"
        "{\"kty\":\"RSA\",\"kid\":\"l\",\"e\":\"AQAB\",\"n\":\"" RFC7638_N "\"},"
        "{\"kty\":\"RSA\",\"kid\":\"m\",\"e\":\"AQAB\",\"n\":\"" RFC7638_N "\","
        "\"x-tokenwatch\":{\"first_seen\":\"yesterday\",\"retired\":\"yes\"}}]}";
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "h", doc, NULL, 0), 0);
    assert_int_equal(ks->sets[0].nkeys, 3);
    const struct ks_key *k = &ks->sets[0].keys[0];
    assert_int_equal(k->retired, 1);
    assert_int_equal(k->first_seen, 1704164645);
    assert_int_equal(k->last_seen, 1796256000);
    k = &ks->sets[0].keys[1];
    assert_int_equal(k->retired, 0);
    assert_int_equal(k->first_seen, 0);
    k = &ks->sets[0].keys[2];
    assert_int_equal(k->retired, 0);
    assert_int_equal(k->first_seen, 0);
    assert_int_equal(ks->sets[0].nnotes, 0);
    keystore_free(ks);
}

/* A certificate for another key than n/e: refused and counted. */
static void test_x5c_mismatch_skipped(void **state)
{
    (void)state;
    if (!have(STORM_JWK))
        skip();
    char *doc = storm_jwks("n", RFC7638_N);
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "x", doc, NULL, 0), 0);
    free(doc);
    assert_int_equal(ks->sets[0].nkeys, 0);
    assert_int_equal(ks->sets[0].skipped, 1);
    doc = storm_jwks("x5c", "not a certificate"); /* x5c not an array at all */
    assert_int_equal(add_json(ks, "y", doc, NULL, 0), 0);
    free(doc);
    assert_int_equal(ks->sets[1].nkeys, 0);
    assert_int_equal(ks->sets[1].skipped, 1);
    keystore_free(ks);
}

static void test_key_types_and_skips(void **state)
{
    (void)state;
    /* y of the P-256 key with its last character changed: a point off the curve */
    const char *doc =
        "{\"keys\":["
        "{\"kty\":\"RSA\",\"kid\":\"canon\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"sloppy\",\"alg\":\"RS256\",\"n\":\"" RFC7638_N_SLOPPY
        "\",\"e\":\"AAEAAQ==\"},"
        "{\"kty\":\"EC\",\"kid\":\"p256\",\"crv\":\"P-256\",\"x\":\"" P256_X "\",\"y\":\"" P256_Y
        "\"},"
        "{\"kty\":\"OKP\",\"kid\":\"ed\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"},"
        /* skipped from here on: */
        "{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"},"
        "{\"kty\":\"RSA\",\"kid\":\"small\",\"n\":\"" RSA1024_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":5,\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"noe\",\"n\":\"" RFC7638_N "\"},"
        "{\"kty\":\"RSA\",\"kid\":\"e1\",\"n\":\"" RFC7638_N "\",\"e\":\"AQ\"},"
        "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" P256_X "\",\"y\":\"" P256_Y "\"},"
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" P256_X "\",\"y\":\"x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT8\"},"
        "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"" P256_X "\",\"y\":\"" P256_Y "\"},"
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" ED_X "\"},"
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR\"},"
        "{\"kty\":\"XYZ\"},{},[],\"key\",null"
        "]}";
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "mixed", doc, NULL, 0), 0);
    const struct ks_keyset *s = &ks->sets[0];
    assert_int_equal(s->nkeys, 4);
    assert_int_equal(s->skipped, 16);
    /* every refusal recorded, by kid or by index in "keys", with its reason */
    assert_int_equal(s->nskips, 16);
    static const char *const want[][2] = {
        {"#4", "symmetric (oct) key"},
        {"small", "RSA key shorter than 2048 bits (1024)"},
        {"enc", "use is \"enc\", not \"sig\""},
        {"#7", "a kid/x5t/x5t#S256/alg/issuer member is not a string"},
        {"noe", "RSA key without usable n/e"},
        {"e1", "RSA n/e do not form a public key"},
        {"#10", "EC x/y missing or not the curve's field length"},
        {"#11", "EC point is not on the curve"},
        {"#12", "EC key on an unsupported curve"},
        {"#13", "OKP key on a curve other than Ed25519/Ed448"},
        {"#14", "Ed25519 x is not 32 bytes"},
        {"#15", "unsupported kty"},
        {"#16", "missing or non-string kty"},
        {"#17", "key is not a JSON object"},
        {"#18", "key is not a JSON object"},
        {"#19", "key is not a JSON object"},
    };
    for (size_t i = 0; i < s->nskips; i++) {
        assert_string_equal(s->skips[i].kid, want[i][0]);
        assert_string_equal(s->skips[i].why, want[i][1]);
    }
    /* the lenient encoding is accepted, with a note naming the members */
    assert_int_equal(s->nnotes, 1);
    assert_string_equal(s->notes[0].kid, "sloppy");
    assert_string_equal(s->notes[0].why,
                        "n is standard or padded base64, not base64url: accepted; "
                        "e is standard or padded base64, not base64url: accepted");
    assert_string_equal(s->keys[0].jkt, RFC7638_JKT);
    assert_string_equal(s->keys[1].jkt, RFC7638_JKT); /* lenient input, canonical thumbprint */
    assert_string_equal(s->keys[1].alg, "RS256");
    assert_int_equal(s->keys[1].bits, 2048);
    assert_int_equal(s->keys[2].kty, KS_KTY_EC);
    assert_int_equal(s->keys[2].curve_nid, NID_X9_62_prime256v1);
    assert_int_equal(s->keys[2].bits, 256);
    assert_string_equal(s->keys[2].jkt, P256_JKT);
    assert_int_equal(s->keys[3].kty, KS_KTY_OKP);
    assert_int_equal(s->keys[3].curve_nid, NID_ED25519);
    assert_string_equal(s->keys[3].jkt, ED_JKT);
    assert_null(s->keys[3].cert_sha1);
    assert_false(s->keys[3].has_validity);
    keystore_free(ks);
}

/* RFC 8037 §2 Ed448: 57-byte x, NID_ED448, thumbprint over crv "Ed448". */
static void test_ed448(void **state)
{
    (void)state;
    const char *doc = "{\"keys\":["
                      "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"kid\":\"e448\",\"x\":\"" ED448_X "\"},"
                      "{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"kid\":\"short\",\"x\":\"" ED_X "\"},"
                      "{\"kty\":\"OKP\",\"crv\":\"X448\",\"kid\":\"x448\",\"x\":\"" ED448_X "\"}]}";
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "ed448", doc, NULL, 0), 0);
    const struct ks_keyset *s = &ks->sets[0];
    assert_int_equal(s->nkeys, 1);
    const struct ks_key *k = &s->keys[0];
    assert_string_equal(k->kid, "e448");
    assert_int_equal(k->kty, KS_KTY_OKP);
    assert_int_equal(k->curve_nid, NID_ED448);
    assert_int_equal(EVP_PKEY_get_base_id(k->pkey), EVP_PKEY_ED448);
    assert_int_equal(k->bits, 456);
    assert_string_equal(k->jkt, ED448_JKT);
    assert_int_equal(s->nskips, 2);
    assert_int_equal(s->skipped, 2);
    assert_string_equal(s->skips[0].kid, "short");
    assert_string_equal(s->skips[0].why, "Ed448 x is not 57 bytes");
    assert_string_equal(s->skips[1].kid, "x448");
    assert_string_equal(s->skips[1].why, "OKP key on a curve other than Ed25519/Ed448");
    keystore_free(ks);
}

/* RFC 7517 §4.2 use and §4.3 key_ops: only signature-verification keys load. */
static void test_use_and_key_ops(void **state)
{
    (void)state;
#define RSA_BODY "\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\""
    const char *doc = "{\"keys\":["
                      "{" RSA_BODY ",\"kid\":\"v\",\"key_ops\":[\"verify\"]},"
                      "{" RSA_BODY ",\"kid\":\"sv\",\"use\":\"sig\","
                      "\"key_ops\":[\"sign\",\"verify\"]},"
                      "{" RSA_BODY ",\"kid\":\"s\",\"key_ops\":[\"sign\"]},"
                      "{" RSA_BODY ",\"kid\":\"none\",\"key_ops\":[]},"
                      "{" RSA_BODY ",\"kid\":\"str\",\"key_ops\":\"verify\"},"
                      "{" RSA_BODY ",\"kid\":\"num\",\"key_ops\":[\"verify\",1]},"
                      "{" RSA_BODY ",\"kid\":\"enc\",\"use\":\"enc\"},"
                      "{" RSA_BODY ",\"kid\":\"long\",\"use\":\"a very long \\\"use\\\" value\"},"
                      "{" RSA_BODY ",\"kid\":\"usenum\",\"use\":1},"
                      "{\"kty\":\"oct\",\"kid\":\"hmac\",\"use\":\"sig\",\"k\":\"c2VjcmV0\"},"
                      "{" RSA_BODY ",\"kid\":\"ctl\\u0001\\u00e9\",\"use\":\"enc\"}"
                      "]}";
#undef RSA_BODY
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "ops", doc, NULL, 0), 0);
    const struct ks_keyset *s = &ks->sets[0];
    assert_int_equal(s->nkeys, 2);
    assert_string_equal(s->keys[0].kid, "v");
    assert_string_equal(s->keys[1].kid, "sv");
    static const char *const want[][2] = {
        {"s", "key_ops does not include \"verify\""},
        {"none", "key_ops does not include \"verify\""},
        {"str", "key_ops is not an array"},
        {"num", "key_ops holds a non-string"},
        {"enc", "use is \"enc\", not \"sig\""},
        {"long", "use is \"...\", not \"sig\""},
        {"usenum", "use is not a string"},
        {"hmac", "symmetric (oct) key"},
        {"ctl???", "use is \"enc\", not \"sig\""}, /* U+0001 and the two bytes of é */
    };
    assert_int_equal(s->nskips, sizeof(want) / sizeof(want[0]));
    assert_int_equal(s->skipped, s->nskips);
    for (size_t i = 0; i < s->nskips; i++) {
        assert_string_equal(s->skips[i].kid, want[i][0]);
        assert_string_equal(s->skips[i].why, want[i][1]);
    }
    keystore_free(ks);
}

/* x5c[0]: subject (RFC 4514 form, escaped comma), validity, SHA-1/SHA-256 thumbprints. */
/* A JWK alg that is not a registered JOSE algorithm (a 2014 Azure AD key set says "SHA256") is
 * dropped with a note; registered ones, signature or encryption, are kept as published. */
static void test_unregistered_alg(void **state)
{
    (void)state;
    const char *doc =
        "{\"keys\":["
        "{\"kty\":\"RSA\",\"kid\":\"sha\",\"alg\":\"SHA256\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"low\",\"alg\":\"rs256\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"long\",\"alg\":\"a\\\"very-long-algorithm\",\"n\":\"" RFC7638_N
        "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"rs\",\"alg\":\"RS256\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"oaep\",\"alg\":\"RSA-OAEP\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"}"
        "]}";
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "algs", doc, NULL, 0), 0);
    const struct ks_keyset *s = &ks->sets[0];
    assert_int_equal(s->nkeys, 5);
    assert_int_equal(s->nskips, 0);
    assert_null(s->keys[0].alg);
    assert_null(s->keys[1].alg);
    assert_null(s->keys[2].alg);
    assert_string_equal(s->keys[3].alg, "RS256");
    assert_string_equal(s->keys[4].alg, "RSA-OAEP");
    assert_int_equal(s->nnotes, 3);
    assert_string_equal(s->notes[0].kid, "sha");
    assert_string_equal(s->notes[0].why, "alg \"SHA256\" is not a JOSE algorithm: ignored");
    assert_string_equal(s->notes[1].why, "alg \"rs256\" is not a JOSE algorithm: ignored");
    assert_string_equal(s->notes[2].kid, "long");
    assert_string_equal(s->notes[2].why, "alg \"...\" is not a JOSE algorithm: ignored");
    keystore_free(ks);
}

static void test_x5c_subject(void **state)
{
    (void)state;
    const char *doc = "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"c\","
                      "\"x\":\"" CERT_X "\",\"x5c\":[\"" CERT_X5C "\"]}]}";
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "cert", doc, NULL, 0), 0);
    assert_int_equal(ks->sets[0].nkeys, 1);
    const struct ks_key *k = &ks->sets[0].keys[0];
    assert_string_equal(k->subject, CERT_SUBJECT);
    assert_string_equal(k->jkt, CERT_JKT);
    assert_string_equal(k->x5t, CERT_X5T);
    assert_string_equal(k->x5t256, CERT_X5T256);
    assert_string_equal(k->cert_sha1, CERT_SHA1);
    assert_true(k->has_validity);
    assert_int_equal(k->not_before, 1795893622);
    assert_int_equal(k->not_after, 2111253622);
    /* the same key without x5c has no subject */
    const char *bare = "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" CERT_X "\"}]}";
    assert_int_equal(add_json(ks, "bare", bare, NULL, 0), 0);
    assert_null(ks->sets[1].keys[0].subject);
    assert_null(ks->sets[1].keys[0].x5t256);
    keystore_free(ks);
}

static void test_document_errors(void **state)
{
    (void)state;
    struct keystore *ks = keystore_new();
    char err[256];
    const char *bad = "{\"keys\": [\n  {\"kty\": \"RSA\",}\n]}";
    assert_int_equal(keystore_add_jwks_json(ks, "b", bad, strlen(bad), NULL, 0, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "line 2"));
    const char *nokeys = "{\"key\": []}";
    assert_int_equal(
        keystore_add_jwks_json(ks, "b", nokeys, strlen(nokeys), NULL, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "\"keys\""));
    const char *notarr = "{\"keys\": {}}";
    assert_int_equal(
        keystore_add_jwks_json(ks, "b", notarr, strlen(notarr), NULL, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an array"));
    assert_int_equal(keystore_add_jwks_file(ks, "f", "/nonexistent/x.jwks.json", NULL, 0, err,
                                            sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/x.jwks.json"));
    assert_int_equal(ks->nsets, 0);
    /* An empty set is a valid (if useless) document. */
    assert_int_equal(add_json(ks, "empty", "{\"keys\":[]}", NULL, 0), 0);
    assert_int_equal(ks->sets[0].nkeys, 0);
    keystore_free(ks);
}

static void test_revoked(void **state)
{
    (void)state;
    if (!have(STORM_JWK))
        skip();
    struct keystore *ks = keystore_new();
    char *doc = storm_jwks(NULL, NULL);
    assert_int_equal(add_json(ks, "msa", doc, NULL, 0), 0);
    free(doc);
    const struct ks_key *k = &ks->sets[0].keys[0];
    assert_null(keystore_revoked(ks, k, k->kid, k->x5t));
    assert_int_equal(keystore_add_revoked(ks, NULL, NULL, NULL, NULL, "x"), -1);
    assert_int_equal(keystore_add_revoked(ks, NULL, NULL, "d4b4", NULL, "short"), -1);
    assert_int_equal(keystore_add_revoked(ks, NULL, NULL,
                                          "D4:B4:CC:CD:A9:22:86:24:65:6B:FF:33:D8:11:09:55:77:96:32:AA",
                                          NULL, "storm"),
                     0);
    const struct ks_revoked *r = keystore_revoked(ks, k, NULL, NULL);
    assert_non_null(r);
    assert_string_equal(r->sha1, "d4b4cccda9228624656bff33d8110955779632aa");
    assert_string_equal(r->reason, "storm");
    /* Header alone: its x5t is the base64url of that SHA-1. */
    assert_ptr_equal(keystore_revoked(ks, NULL, NULL, "1LTMzakihiRla_8z2BEJVXeWMqo"), r);
    assert_null(keystore_revoked(ks, NULL, "other", "NzbLsXh8uDCcd-6MNwXF4W_7no"));
    keystore_free(ks);

    ks = keystore_new();
    doc = one_rsa_jwks("k1", NULL);
    assert_int_equal(add_json(ks, "s", doc, NULL, 0), 0);
    free(doc);
    k = &ks->sets[0].keys[0];
    assert_int_equal(keystore_add_revoked(ks, "someone-else", NULL, NULL, NULL, "a"), 0);
    assert_null(keystore_revoked(ks, k, "k1", NULL));
    assert_int_equal(keystore_add_revoked(ks, NULL, NULL, NULL, RFC7638_JKT, "by jkt"), 0);
    r = keystore_revoked(ks, k, "k1", NULL);
    assert_non_null(r);
    assert_string_equal(r->reason, "by jkt");
    assert_null(keystore_revoked(ks, NULL, "k1", NULL)); /* jkt needs the key */
    assert_int_equal(keystore_add_revoked(ks, "k1", NULL, NULL, NULL, "by kid"), 0);
    assert_string_equal(keystore_revoked(ks, NULL, "k1", NULL)->reason, "by kid");
    assert_int_equal(keystore_add_revoked(ks, NULL, "hdr-x5t", NULL, NULL, "by x5t"), 0);
    assert_string_equal(keystore_revoked(ks, NULL, NULL, "hdr-x5t")->reason, "by x5t");
    keystore_free(ks);
}

static void test_find_and_many_sets(void **state)
{
    (void)state;
    struct keystore *ks = keystore_new();
    char name[16];
    /* Enough keysets to force the set array to move; keys must follow their set. */
    for (int i = 0; i < 40; i++) {
        char kid[16];
        snprintf(kid, sizeof(kid), "kid%d", i % 20);
        snprintf(name, sizeof(name), "set%d", i);
        char *doc = one_rsa_jwks(kid, NULL);
        assert_int_equal(add_json(ks, name, doc, NULL, 0), 0);
        free(doc);
    }
    for (size_t i = 0; i < ks->nsets; i++)
        assert_ptr_equal(ks->sets[i].keys[0].set, &ks->sets[i]);
    const struct ks_key *out[4];
    assert_int_equal(keystore_find(ks, "kid3", NULL, NULL, out, 4), 2);
    assert_string_equal(out[0]->set->name, "set3");
    assert_string_equal(out[1]->set->name, "set23");
    assert_int_equal(keystore_find(ks, "kid3", NULL, NULL, out, 1), 1);
    assert_int_equal(keystore_find(ks, "nope", NULL, NULL, out, 4), 0);
    assert_int_equal(keystore_find(ks, NULL, NULL, NULL, out, 4), 0);
    keystore_free(ks);

    /* x5t is the fallback when kid is absent or matches nothing; x5t#S256 (the JWK's member or
     * computed from x5c) when neither names a key. */
    ks = keystore_new();
    const char *doc =
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"x5t\":\"T1\",\"n\":\"" RFC7638_N
        "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"b\",\"x\":\"" CERT_X
        "\",\"x5c\":[\"" CERT_X5C "\"]},"
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x5t#S256\":\"S1\",\"x\":\"" ED_X "\"}]}";
    assert_int_equal(add_json(ks, "s", doc, NULL, 0), 0);
    const struct ks_key *ka = &ks->sets[0].keys[0], *kb = &ks->sets[0].keys[1],
                        *kc = &ks->sets[0].keys[2];
    assert_int_equal(keystore_find(ks, "zzz", "T1", NULL, out, 4), 1);
    assert_ptr_equal(out[0], ka);
    assert_int_equal(keystore_find(ks, NULL, "T1", NULL, out, 4), 1);
    assert_int_equal(keystore_find(ks, "a", "other", NULL, out, 4), 1);
    assert_int_equal(keystore_find(ks, "zzz", "T2", NULL, out, 4), 0);
    assert_int_equal(keystore_find(ks, NULL, CERT_X5T, NULL, out, 4), 1);
    assert_ptr_equal(out[0], kb);
    assert_int_equal(keystore_find(ks, NULL, NULL, CERT_X5T256, out, 4), 1);
    assert_ptr_equal(out[0], kb);
    assert_int_equal(keystore_find(ks, "zzz", "T2", "S1", out, 4), 1);
    assert_ptr_equal(out[0], kc);
    /* order: kid wins over x5t and x5t#S256, x5t over x5t#S256 */
    assert_int_equal(keystore_find(ks, "a", CERT_X5T, "S1", out, 4), 1);
    assert_ptr_equal(out[0], ka);
    assert_int_equal(keystore_find(ks, "zzz", "T1", "S1", out, 4), 1);
    assert_ptr_equal(out[0], ka);
    assert_int_equal(keystore_find(ks, NULL, "T2", "S2", out, 4), 0);
    assert_int_equal(keystore_find(ks, NULL, NULL, "S1", out, 0), 0);
    keystore_free(ks);
}

static void test_expectations(void **state)
{
    (void)state;
    struct keystore *ks = keystore_new();
    char *doc = one_rsa_jwks("k", NULL);
    assert_int_equal(add_json(ks, "a", doc, NULL, 0), 0);
    assert_int_equal(add_json(ks, "b", doc, NULL, 0), 0);
    free(doc);
    char aud[] = "api://one", typ[] = "at+jwt";
    const char *auds[] = {aud, "api://two"}, *types[] = {typ};
    assert_int_equal(keystore_set_expectations(ks, "nope", auds, 2, types, 1), -1);
    assert_int_equal(keystore_set_expectations(ks, NULL, auds, 2, types, 1), -1);
    assert_int_equal(keystore_set_expectations(ks, "b", auds, 2, types, 1), 0);
    aud[0] = typ[0] = 'X'; /* copied, not borrowed */
    const struct ks_keyset *a = &ks->sets[0], *b = &ks->sets[1];
    assert_null(a->audiences);
    assert_int_equal(a->naudiences, 0);
    assert_int_equal(a->ntypes, 0);
    assert_int_equal(b->naudiences, 2);
    assert_string_equal(b->audiences[0], "api://one");
    assert_string_equal(b->audiences[1], "api://two");
    assert_int_equal(b->ntypes, 1);
    assert_string_equal(b->types[0], "at+jwt");
    /* set again: replaces (the old lists are freed), either list may be empty */
    assert_int_equal(keystore_set_expectations(ks, "b", NULL, 0, types, 1), 0);
    assert_null(b->audiences);
    assert_int_equal(b->naudiences, 0);
    assert_string_equal(b->types[0], "Xt+jwt");
    assert_int_equal(keystore_set_expectations(ks, "a", auds, 1, NULL, 0), 0);
    assert_string_equal(a->audiences[0], "Xpi://one");
    assert_int_equal(a->ntypes, 0);
    keystore_free(ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storm_identity),
        cmocka_unit_test(test_storm_x5t_from_cert),
        cmocka_unit_test(test_x5c_mismatch_skipped),
        cmocka_unit_test(test_key_types_and_skips),
        cmocka_unit_test(test_unregistered_alg),
        cmocka_unit_test(test_ed448),
        cmocka_unit_test(test_use_and_key_ops),
        cmocka_unit_test(test_x5c_subject),
        cmocka_unit_test(test_document_errors),
        cmocka_unit_test(test_revoked),
        cmocka_unit_test(test_history_member),
        cmocka_unit_test(test_find_and_many_sets),
        cmocka_unit_test(test_expectations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
