/* keystore_build.h — the key store a configuration describes: its key sets' JWKS files, the
 * expectations on them, the Entra clouds and the revoked keys (inline and revoked-keys-file).
 *
 * Pipeline: start-up, hot reload (reload.c, on the control thread) and check-token: config ─►
 * [keystore_build] ─► keystore; never per packet. Kept beside the key store, not in the sensor,
 * so that whoever needs a store from a configuration (a reload, a one-shot command) does not
 * depend on the worker that uses it.
 */
#ifndef TW_KEYSTORE_BUILD_H
#define TW_KEYSTORE_BUILD_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "keystore.h"

/* Builds the store of cfg into *out (the caller frees it with keystore_free): 0, or -1 with
 * *out untouched and a one-line reason in err ("FILE:LINE: keysets.NAME.jwks: why", or "out of
 * memory"; a revocation file's own line follows "revoked-keys-file: PATH:LINE:"). Keys refused inside a usable file are warned about on stderr, not fatal; a file
 * whose every key is refused is. */
int keystore_build_from_config(const struct config *cfg, struct keystore **out, char *err,
                               size_t errlen);

/* The sensor's start and reload (not check-token or the keys commands, which report test keys
 * instead): 0 when cfg sets allow-test-keys or no key of ks is a published test key
 * (testkeys.h); else -1 with "FILE:LINE: keysets.NAME.jwks: key KID is a published TEST key
 * (private half: SOURCE): ..." in err. ks must be the store built from cfg. */
int keystore_refuse_test_keys(const struct config *cfg, const struct keystore *ks, char *err,
                              size_t errlen);

/* Prints, one line each to out, the keys of `set` that were refused ("tokenwatch: warning:
 * FILE: LABEL: key KID refused: WHY") and the notes on keys loaded despite an ignored member or
 * a lenient encoding ("tokenwatch: note: FILE: LABEL: key KID: WHAT"). LABEL: "keysets.NAME",
 * or "--jwks". The sensor, check-token -c and check-token --jwks all report through it. */
void keystore_report_keyset(const struct ks_keyset *set, const char *file, const char *label,
                            FILE *out);

/* check-token --jwks FILE: adds keyset "cli" trusted for any issuer from a JWK Set or a single
 * JWK object, reporting refusals and notes on stderr. 0, or -1 with a one-line reason in err
 * (the file, then why; a file whose every key is refused is an error, as in a configuration). */
int keystore_add_cli_jwks(struct keystore *ks, const char *path, char *err, size_t errlen);

#endif
