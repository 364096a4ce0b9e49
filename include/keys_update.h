/* keys_update.h — `tokenwatch keys update` (sensor/trust/keys_update.c): refresh the local JWKS
 * files of the keysets that name a jwks-uri or an OIDC discovery URL, keeping history.
 *
 * Not on the packet path: the command line (sensor/keys_cmd.c) calls it; the sensor only reads
 * the files it writes (jwk.c reads the history member back).
 */
#ifndef TW_KEYS_UPDATE_H
#define TW_KEYS_UPDATE_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"

struct keys_update_opts {
    const char *ca_file; /* --ca-file, or NULL: CURL_CA_BUNDLE, SSL_CERT_FILE, the system's */
    int dry_run;         /* fetch, validate and print the diff; write nothing */
    int64_t now;         /* Unix seconds recorded as first_seen / last_seen */
    const char *const *connect_to; /* --connect-to HOST:PORT:CHOST:CPORT (curl's), nconnect of them */
    size_t nconnect;
};

/* Updates every keyset of cfg with a jwks-uri or a discovery URL: fetches its document, checks
 * every key as the loader does, writes the keyset's jwks file atomically (temporary file in the
 * same directory, fsync, rename) with the keys the provider dropped kept as retired, and prints
 * the diff on out (added / retired / changed / refused). A provider that cannot be fetched, or
 * whose document is not a JWK Set with a usable key, is one line on errf and its file is left as
 * it was. Returns the number of keysets that failed (0: all updated), or -1 when no keyset names
 * a URL (a line on errf). *nupdated: keysets whose file was (or, dry-run, would be) rewritten. */
int keys_update_run(const struct config *cfg, const struct keys_update_opts *o, FILE *out,
                    FILE *errf, size_t *nupdated);

#endif
