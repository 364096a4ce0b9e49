/* curve.c — the table behind curve.h: the signature curves a key may be on.
 *
 * Pipeline: start-up/reload (jwk.c reads a crv), the verdict stage (verify.c checks an ES*
 * key's group; a table index, no search) and check-token's key object. Constant data; owns
 * nothing. RFC 7518 §6.2.1.1, RFC 8037 §2.
 */
#include "curve.h"

#include <openssl/obj_mac.h>
#include <string.h>

static const struct curve curves[] = {
    [CURVE_P256] = {"P-256", CURVE_KTY_EC, "prime256v1", NID_X9_62_prime256v1, 32},
    [CURVE_P384] = {"P-384", CURVE_KTY_EC, "secp384r1", NID_secp384r1, 48},
    [CURVE_P521] = {"P-521", CURVE_KTY_EC, "secp521r1", NID_secp521r1, 66},
    [CURVE_ED25519] = {"Ed25519", CURVE_KTY_OKP, NULL, NID_ED25519, 32},
    [CURVE_ED448] = {"Ed448", CURVE_KTY_OKP, NULL, NID_ED448, 57},
};
#define NCURVES (sizeof(curves) / sizeof(curves[0]))

const struct curve *curve_get(enum curve_id id)
{
    if (id <= CURVE_NONE || (size_t)id >= NCURVES)
        return NULL;
    return &curves[id];
}

const struct curve *curve_by_name(enum curve_kty kty, const char *crv)
{
    if (!crv)
        return NULL;
    for (size_t i = CURVE_NONE + 1; i < NCURVES; i++)
        if (curves[i].kty == kty && strcmp(crv, curves[i].name) == 0)
            return &curves[i];
    return NULL;
}

const struct curve *curve_by_nid(int nid)
{
    if (nid == 0) /* NID_undef; RSA keys */
        return NULL;
    for (size_t i = CURVE_NONE + 1; i < NCURVES; i++)
        if (curves[i].nid == nid)
            return &curves[i];
    return NULL;
}
