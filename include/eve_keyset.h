/* eve_keyset.h — the EVE `keyset` record (issue 4, "Keys learned from the wire"): one per JWKS or
 * OpenID discovery document newly seen (or changed) in an HTTP response, with what differs from
 * the configured trust.
 *
 * Pipeline: applayer ─► observed (observed_feed returns 1) ─► [eve_keyset] ─► outputs.
 */
#ifndef TW_EVE_KEYSET_H
#define TW_EVE_KEYSET_H

#include <stdint.h>

#include "eve.h"
#include "observed.h"

/* Writes the record to every output whose types include `keyset`; nothing when none does.
 * f and pfx may be NULL (no flow fields); pfx must be given with f. http may be NULL (no `http`
 * object). Borrows everything; builds in w->jb, so it must not be called while another record
 * is being built. */
void eve_write_keyset(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                      uint64_t ts_us, uint64_t tx_id, const struct eve_http *http,
                      const struct observed_diff *d);

#endif
