/* reload.h — hot reload of the key store (SIGHUP): rereads the configuration's key sets and
 * revoked keys, builds a new store and swaps it in under the running workers.
 *
 * Pipeline: beside it, not in it. A control thread rebuilds the store (config_load of the same
 * file with the same --set overrides, then keystore_build_from_config) while capture goes on; the
 * workers pick the new store up between two packets (sensor_keystore_sync) and never wait.
 *
 * The swap, in the manner of quiescent-state-based reclamation:
 *
 *   control:  cur = new (release); gen = g (release); old store retired at generation g
 *   worker i: sees gen != its own; g = gen (acquire); ks = cur (acquire); drops everything
 *             derived from the old store (vcache, verification contexts); ack[i] = g (release)
 *   control:  frees a store retired at generation R once every ack[i] >= R
 *
 * A worker that acknowledged g has loaded gen >= g and then cur, so the store it holds is the
 * one published at g or a later one: no worker can still reach a store retired at R <= g.
 * Only key material changes on reload; the rest of the configuration is the running one (a
 * changed setting elsewhere is named in one line on stderr and takes effect on restart).
 * Owns the current store and the retired ones; reload_free() releases them.
 */
#ifndef TW_RELOAD_H
#define TW_RELOAD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keystore.h"

struct reload;

/* The exchange for nreaders workers (slots 0..nreaders-1), starting with store ks at generation
 * 0 (ownership passes to it, even on failure). NULL when out of memory. */
struct reload *reload_new(struct keystore *ks, size_t nreaders);
/* Stops the control thread if running, then frees the current and every retired store: call
 * once no worker uses any of them any more. NULL is a no-op. */
void reload_free(struct reload *r);

/* ---- workers (any thread, never blocking) ---- */

/* The generation published last (a relaxed load: the cheap test between packets). */
uint64_t reload_generation(const struct reload *r);
/* The current store and its generation (*gen; the store is that generation's or a newer one). */
struct keystore *reload_current(struct reload *r, uint64_t *gen);
/* Slot `reader` no longer uses any store older than generation gen. */
void reload_ack(struct reload *r, size_t reader, uint64_t gen);

/* ---- control ---- */

/* Swaps in ks (owned from now on) and returns its generation (>= 1). The old store is retired
 * and freed by reload_collect() once every reader has acknowledged. Returns 0 when out of
 * memory: ks is freed and the running store stays. */
uint64_t reload_publish(struct reload *r, struct keystore *ks);
/* Frees the retired stores no reader can still reach; returns how many remain retired. */
size_t reload_collect(struct reload *r);

/* Where reloads read from: the configuration file (NULL: built-in defaults) and the --set
 * overrides given at start-up (borrowed: they must outlive r), and the running configuration
 * (borrowed, read-only), to name settings that changed but are not reloaded. verbose < 0 (-q)
 * silences the success line; failures are always reported. */
void reload_set_source(struct reload *r, const char *path, const char *const *sets, size_t nsets,
                       const struct config *running, int verbose);

/* One reload, now, on the calling thread: on success publishes the new store and writes
 * "tokenwatch: reloaded the key sets: N keysets, M keys, R revoked (FILE)" on stderr and returns
 * 0; on failure keeps the running store, writes "tokenwatch: reload failed, keeping the running
 * key sets: FILE:LINE: KEY: why" and returns -1. */
int reload_now(struct reload *r);

/* Starts the control thread: every RELOAD_POLL_MS it takes *request (set by a SIGHUP handler:
 * a lock-free atomic, so the handler may write it) and, when it was set, runs reload_now();
 * it also frees retired stores as readers catch up. SIGINT/SIGTERM/SIGHUP are blocked in it.
 * Returns 0, or -1 when the thread cannot be created. reload_stop() or reload_free() ends it. */
#define RELOAD_POLL_MS 50
int reload_start(struct reload *r, atomic_int *request);
void reload_stop(struct reload *r);

/* Counters, for tests and diagnostics: reloads done, reloads failed. */
void reload_counts(const struct reload *r, uint64_t *done, uint64_t *failed);

#endif
