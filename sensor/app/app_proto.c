/* app_proto.c — the registry of app-layer protocol entries, and selection by content.
 *
 * Pipeline: stream ─► applayer ─► [which entry parses this flow] ─► entry ─► app_tx. Owns
 * nothing: a constant table. Order matters: the first entry whose probe claims a delivery wins,
 * so an entry whose traffic another would mistake for its own comes first (the HTTP/2
 * connection preface "PRI * HTTP/2.0" parses as an HTTP/1 request line). Also the one test that
 * takes a flow away from every entry: bytes that open a TLS handshake or an SSH session, and the
 * entry of a connection switched to a protocol no entry reads (app_ignore_ops). The contract is
 * in app_proto.h.
 */
#include "app_proto.h"

#include <string.h>

const struct app_proto_ops *const app_proto_table[] = {
    &app_http2_ops, /* before HTTP/1, which would take its preface for a request */
    &app_http1_ops,
    NULL,
};

/* Parses a flow no entry has claimed yet: it finds its way to the next message head on its
 * own, as the HTTP/1 parser did for every flow before the registry. */
const struct app_proto_ops *const app_proto_fallback = &app_http1_ops;

/* ---- the entry of protocols no entry reads ---- */

static enum app_probe ignore_probe(const uint8_t *p, size_t n, int client_known)
{
    (void)p, (void)n, (void)client_known;
    return APP_PROBE_NO;
}

static void ignore_state(struct app_ctx *c, void *st)
{
    (void)c, (void)st;
}

static size_t ignore_parse(struct app_ctx *c, void *st, int side, const uint8_t *p, size_t n)
{
    (void)c, (void)st, (void)side, (void)p;
    return n;
}

static void ignore_gap(struct app_ctx *c, void *st, int side, size_t len)
{
    (void)c, (void)st, (void)side, (void)len;
}

static void ignore_eof(struct app_ctx *c, void *st, int side, int final)
{
    (void)c, (void)st, (void)side, (void)final;
}

static void ignore_forget(struct app_ctx *c, void *st, struct tx *t)
{
    (void)c, (void)st, (void)t;
}

const struct app_proto_ops app_ignore_ops = {
    .name = "ignore",
    .state_size = 0,
    .probe = ignore_probe,
    .init = ignore_state,
    .reset = ignore_state,
    .parse = ignore_parse,
    .gap = ignore_gap,
    .eof = ignore_eof,
    .forget = ignore_forget,
};

const struct app_proto_ops *app_proto_probe(const uint8_t *p, size_t n, int client_known,
                                            enum app_probe *role)
{
    for (size_t i = 0; app_proto_table[i]; i++) {
        enum app_probe r = app_proto_table[i]->probe(p, n, client_known);
        if (r == APP_PROBE_NO)
            continue;
        if (r == APP_PROBE_MORE) {
            *role = APP_PROBE_MORE;
            return NULL; /* an earlier entry may yet claim it: later ones must not */
        }
        *role = r;
        return app_proto_table[i];
    }
    return NULL;
}

/* A TLS record header (content type 22 = handshake, version 3.0 to 3.4: SSL 3.0 to TLS 1.3 all
 * put one of these there, TLS 1.3 keeps 3.1/3.3 for compatibility) with a length that holds at
 * least a handshake header, then the handshake type: 1 ClientHello, 2 ServerHello. An alert or
 * application data record is not enough: bytes like those are what a forged start would use to
 * hide the requests behind it, and nDPI does not need them to name a flow TLS. SSH: the banner
 * each side sends first (RFC 4253 4.2; "SSH-1.99-" is a 2.0 server that speaks 1.x too). */
enum app_probe app_proto_opaque(const uint8_t *p, size_t n)
{
    static const char ssh2[] = "SSH-2.0-", ssh1[] = "SSH-1.";
    if (n && p[0] == 'S') {
        size_t k2 = n < sizeof(ssh2) - 1 ? n : sizeof(ssh2) - 1;
        size_t k1 = n < sizeof(ssh1) - 1 ? n : sizeof(ssh1) - 1;
        int m2 = memcmp(p, ssh2, k2) == 0, m1 = memcmp(p, ssh1, k1) == 0;
        if ((m2 && k2 == sizeof(ssh2) - 1) || (m1 && k1 == sizeof(ssh1) - 1))
            return APP_PROBE_YES;
        return m1 || m2 ? APP_PROBE_MORE : APP_PROBE_NO;
    }
    if (!n || p[0] != 22)
        return APP_PROBE_NO;
    if (n >= 2 && p[1] != 3)
        return APP_PROBE_NO;
    if (n >= 3 && p[2] > 4)
        return APP_PROBE_NO;
    if (n >= 5 && ((size_t)p[3] << 8 | p[4]) < 4)
        return APP_PROBE_NO;
    if (n < 6)
        return APP_PROBE_MORE;
    return p[5] == 1 ? APP_PROBE_CLIENT : p[5] == 2 ? APP_PROBE_SERVER : APP_PROBE_NO;
}
