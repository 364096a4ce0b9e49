/* app_proto.c — the registry of app-layer protocol entries, and selection by content.
 *
 * Pipeline: stream ─► applayer ─► [which entry parses this flow] ─► entry ─► app_tx. Owns
 * nothing: a constant table. Order matters: the first entry whose probe claims a delivery wins,
 * so an entry whose traffic another would mistake for its own comes first (the HTTP/2
 * connection preface "PRI * HTTP/2.0" parses as an HTTP/1 request line). The contract is in
 * app_proto.h.
 */
#include "app_proto.h"

const struct app_proto_ops *const app_proto_table[] = {
    &app_http1_ops,
    NULL,
};

/* Parses a flow no entry has claimed yet: it finds its way to the next message head on its
 * own, as the HTTP/1 parser did for every flow before the registry. */
const struct app_proto_ops *const app_proto_fallback = &app_http1_ops;

const struct app_proto_ops *app_proto_probe(const uint8_t *p, size_t n, int client_known,
                                            enum app_probe *role)
{
    for (size_t i = 0; app_proto_table[i]; i++) {
        enum app_probe r = app_proto_table[i]->probe(p, n, client_known);
        if (r == APP_PROBE_NO)
            continue;
        if (r == APP_PROBE_MORE)
            return NULL; /* an earlier entry may yet claim it: later ones must not */
        *role = r;
        return app_proto_table[i];
    }
    return NULL;
}
