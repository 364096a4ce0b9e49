/* keys_fetch.h — one HTTPS GET for `tokenwatch keys update` (keys_fetch.c): a JWKS or an OIDC
 * discovery document. Private to sensor/trust (keys_update.c is its only caller).
 */
#ifndef TW_KEYS_FETCH_H
#define TW_KEYS_FETCH_H

#include <stddef.h>

#define KEYS_FETCH_MAX (1u << 20) /* a document larger than this is refused (1 MiB) */

/* GETs url (https only; redirects followed to https only, at most 3; certificate and host name
 * verified; 10 s to connect, 30 s in all). ca_file: the CA bundle, or NULL for CURL_CA_BUNDLE,
 * then SSL_CERT_FILE, then the system's. Returns 0 with a NUL-terminated heap copy of the body
 * in *body (its length in *len; the caller frees it), or -1 with one line in err naming the
 * URL and the reason (curl's, or the HTTP status, or the size limit). connect_to: nconnect
 * entries "HOST:PORT:CONNECT-HOST:CONNECT-PORT" (curl's --connect-to: a mirror, a proxy host,
 * a test server), applied to redirects too; the certificate is still checked against HOST. */
int keys_fetch(const char *url, const char *ca_file, const char *const *connect_to,
               size_t nconnect, char **body, size_t *len, char *err, size_t errlen);

#endif
