/* eve_keyset.c — the EVE `keyset` record (see eve_keyset.h): the common fields and `http` object
 * as every other record, then
 *   "keyset": {"kind", "issuer", "jwks_uri", "keys", "kids", "configured_keyset",
 *              "untrusted", "missing", "changed"}
 * with absent members left out (no issuer for a JWKS, no key lists for a discovery document, no
 * configured_keyset when the document matches none). `missing` lists configured keys the
 * identity provider no longer publishes: one still signing tokens is the Storm-0558 signal.
 *
 * Every string here came from the wire (or names an observed set after its host and path) and
 * goes through urlredact, as the http object's do.
 *
 * Pipeline: observed ─► [eve_keyset] ─► outputs. Owns nothing: it fills the EVE writer's
 * builder through eve_begin()/eve_emit().
 */
#include "eve_keyset.h"

#include "config.h"
#include "jb.h"
#include "urlredact.h"

static void str_list(struct jb *j, const char *key, const char *const *v, size_t n)
{
    jb_open_array(j, key);
    for (size_t i = 0; i < n; i++)
        url_redact_jb(j, NULL, v[i] ? v[i] : "");
    jb_close(j);
}

void eve_write_keyset(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                      uint64_t ts_us, uint64_t tx_id, const struct eve_http *http,
                      const struct observed_diff *d)
{
    if (!(w->types & EVE_T_KEYSET) || !d || !d->kind)
        return;
    struct jb *j = &w->jb;
    eve_begin(w, pfx ? f : NULL, pfx, ts_us, "keyset");
    if (f)
        jb_uint(j, "tx_id", tx_id);
    if (http)
        eve_http_object(j, http);
    jb_open_object(j, "keyset");
    jb_str(j, "kind", d->kind);
    if (d->issuer)
        url_redact_jb(j, "issuer", d->issuer);
    if (d->jwks_uri)
        url_redact_jb(j, "jwks_uri", d->jwks_uri);
    /* A discovery document carries no keys: "keys": 0 would read as an empty JWKS. */
    if (d->kids || d->nkeys) {
        jb_uint(j, "keys", d->nkeys);
        str_list(j, "kids", d->kids, d->nkids);
    }
    if (d->keyset)
        url_redact_jb(j, "configured_keyset", d->keyset);
    if (d->untrusted)
        str_list(j, "untrusted", d->untrusted, d->nuntrusted);
    if (d->missing)
        str_list(j, "missing", d->missing, d->nmissing);
    jb_bool(j, "changed", d->changed);
    jb_close(j);
    jb_close(j);
    eve_emit(w, EVE_T_KEYSET);
}
