/* reload.c — hot reload of the key store: the generation/acknowledgement exchange and the
 * control thread that rebuilds the store on SIGHUP (see reload.h for the protocol).
 *
 * Threads: the workers only load `gen` and `cur` and store their own ack slot; everything else
 * (the retired list, the counters, building and freeing stores) belongs to the control side
 * under `mu`. Building a store reads files and parses keys: it happens on the control thread,
 * outside every lock a worker could want, so capture never waits for a reload.
 */
#include "reload.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore_build.h"
#include "thread.h"
#include "timewait.h"

struct retired {
    struct keystore *ks;
    uint64_t gen;            /* the generation that replaced it */
};

struct reload {
    _Atomic(struct keystore *) cur;
    _Atomic uint64_t gen;
    _Atomic uint64_t *ack;   /* per reader: the last generation it adopted */
    size_t nreaders;

    pthread_mutex_t mu;      /* the fields below */
    struct retired *retired;
    size_t nretired, cap;
    uint64_t done, failed;

    pthread_mutex_t build_mu; /* one reload at a time */
    const char *path;
    const char *const *sets;
    size_t nsets;
    const struct config *running;
    int verbose;

    pthread_t th;
    int started;
    atomic_int *request;
    pthread_mutex_t wait_mu; /* with wait_cv and stop: ends the control thread without delay */
    pthread_cond_t wait_cv;
    int stop;
};

struct reload *reload_new(struct keystore *ks, size_t nreaders)
{
    struct reload *r = calloc(1, sizeof(*r));
    if (r && nreaders && !(r->ack = calloc(nreaders, sizeof(*r->ack)))) {
        free(r);
        r = NULL;
    }
    if (!r) {
        keystore_free(ks);
        return NULL;
    }
    r->nreaders = nreaders;
    for (size_t i = 0; i < nreaders; i++)
        atomic_init(&r->ack[i], 0);
    atomic_init(&r->cur, ks);
    atomic_init(&r->gen, 0);
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->build_mu, NULL);
    pthread_mutex_init(&r->wait_mu, NULL);
    timewait_cond_init(&r->wait_cv);
    return r;
}

void reload_free(struct reload *r)
{
    if (!r)
        return;
    reload_stop(r);
    for (size_t i = 0; i < r->nretired; i++)
        keystore_free(r->retired[i].ks);
    free(r->retired);
    keystore_free(atomic_load(&r->cur));
    free(r->ack);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->build_mu);
    pthread_mutex_destroy(&r->wait_mu);
    pthread_cond_destroy(&r->wait_cv);
    free(r);
}

uint64_t reload_generation(const struct reload *r)
{
    return atomic_load_explicit(&((struct reload *)r)->gen, memory_order_relaxed);
}

struct keystore *reload_current(struct reload *r, uint64_t *gen)
{
    /* gen first: the store loaded after it is the one published with it, or newer. */
    *gen = atomic_load_explicit(&r->gen, memory_order_acquire);
    return atomic_load_explicit(&r->cur, memory_order_acquire);
}

void reload_ack(struct reload *r, size_t reader, uint64_t gen)
{
    if (reader < r->nreaders)
        atomic_store_explicit(&r->ack[reader], gen, memory_order_release);
}

uint64_t reload_publish(struct reload *r, struct keystore *ks)
{
    pthread_mutex_lock(&r->mu);
    if (r->nretired == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        struct retired *n = realloc(r->retired, cap * sizeof(*n));
        if (!n) {
            /* Nowhere to park the old store: keep the running one rather than leak or free a
             * store a worker may still be using. */
            pthread_mutex_unlock(&r->mu);
            keystore_free(ks);
            return 0;
        }
        r->retired = n;
        r->cap = cap;
    }
    uint64_t g = atomic_load_explicit(&r->gen, memory_order_relaxed) + 1;
    r->retired[r->nretired++] =
        (struct retired){atomic_load_explicit(&r->cur, memory_order_relaxed), g};
    atomic_store_explicit(&r->cur, ks, memory_order_release);
    atomic_store_explicit(&r->gen, g, memory_order_release);
    pthread_mutex_unlock(&r->mu);
    reload_collect(r);
    return g;
}

size_t reload_collect(struct reload *r)
{
    pthread_mutex_lock(&r->mu);
    uint64_t low = atomic_load_explicit(&r->gen, memory_order_relaxed);
    for (size_t i = 0; i < r->nreaders; i++) {
        uint64_t a = atomic_load_explicit(&r->ack[i], memory_order_acquire);
        if (a < low)
            low = a;
    }
    size_t keep = 0;
    for (size_t i = 0; i < r->nretired; i++) {
        if (r->retired[i].gen <= low)
            keystore_free(r->retired[i].ks);
        else
            r->retired[keep++] = r->retired[i];
    }
    r->nretired = keep;
    pthread_mutex_unlock(&r->mu);
    return keep;
}

void reload_set_source(struct reload *r, const char *path, const char *const *sets, size_t nsets,
                       const struct config *running, int verbose)
{
    r->path = path;
    r->sets = sets;
    r->nsets = nsets;
    r->running = running;
    r->verbose = verbose;
}

void reload_counts(const struct reload *r, uint64_t *done, uint64_t *failed)
{
    pthread_mutex_lock(&((struct reload *)r)->mu);
    *done = r->done;
    *failed = r->failed;
    pthread_mutex_unlock(&((struct reload *)r)->mu);
}

/* ---- what else changed --------------------------------------------------------------------- */

/* The configuration as --dump-config prints it, without what a reload does apply: the key sets,
 * the revoked keys (inline and revoked-keys-file) and the Entra clouds (all live in the key
 * store). */
static char *dump_rest(const struct config *c, size_t *len)
{
    struct config x = *c;
    x.keysets = NULL;
    x.nkeysets = 0;
    x.revoked = NULL;
    x.nrevoked = 0;
    x.revoked_keys_file = NULL;
    x.clouds = NULL;
    x.nclouds = 0;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    config_dump(&x, f);
    fclose(f);
    return buf;
}

/* The block of top-level section `name` (its header line up to the next top-level line). */
static const char *section(const char *dump, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *p = dump; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, nl) != 0 || p[nl] != ':')
            continue;
        const char *e = p;
        while ((e = strchr(e, '\n')) && (e[1] == ' ' || e[1] == '-'))
            e++;
        *len = e ? (size_t)(e - p) : strlen(p);
        return p;
    }
    *len = 0;
    return NULL;
}

/* One line naming the top-level sections whose settings differ between the running and the
 * reread configuration: they are not applied. Silent when nothing differs. */
static void report_ignored(const struct config *running, const struct config *fresh)
{
    size_t la, lb;
    char *a = dump_rest(running, &la), *b = dump_rest(fresh, &lb);
    if (a && b && (la != lb || memcmp(a, b, la) != 0)) {
        char names[256] = "";
        size_t used = 0;
        for (const char *p = b; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
            if (*p == ' ' || *p == '-' || *p == '#' || *p == '%' || *p == '\n')
                continue; /* not a top-level key (%YAML directive, --- document start) */
            size_t n = strcspn(p, ":\n");
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)n, p);
            size_t sa, sb;
            const char *xa = section(a, name, &sa), *xb = section(b, name, &sb);
            if (xa && sa == sb && memcmp(xa, xb, sa) == 0)
                continue;
            if (used < sizeof(names))
                used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
                                         used ? ", " : "", name);
        }
        fprintf(stderr, "tokenwatch: reload: changed settings not applied until restart: %s\n",
                used ? names : "(see --dump-config)");
    }
    free(a);
    free(b);
}

/* ---- one reload ---------------------------------------------------------------------------- */

int reload_now(struct reload *r)
{
    pthread_mutex_lock(&r->build_mu);
    char err[1024];
    struct config cfg;
    struct keystore *ks = NULL;
    int rc = -1;
    config_defaults(&cfg);
    if (config_load(&cfg, r->path, r->sets, r->nsets, err, sizeof(err)) == 0 &&
        keystore_build_from_config(&cfg, &ks, err, sizeof(err)) == 0) {
        if (keystore_refuse_test_keys(&cfg, ks, err, sizeof(err)) == 0)
            rc = 0;
        else {
            keystore_free(ks);
            ks = NULL;
        }
    }
    if (rc == 0) {
        size_t nkeys = 0;
        for (size_t i = 0; i < ks->nsets; i++)
            nkeys += ks->sets[i].nkeys;
        size_t nsets = ks->nsets, nrevoked = ks->nrevoked;
        if (r->running)
            report_ignored(r->running, &cfg);
        if (reload_publish(r, ks) == 0) {
            snprintf(err, sizeof(err), "out of memory");
            rc = -1;
        } else if (r->verbose >= 0)
            fprintf(stderr, "tokenwatch: reloaded the key sets: %zu keysets, %zu keys, "
                    "%zu revoked (%s)\n", nsets, nkeys, nrevoked, r->path ? r->path : "defaults");
    }
    if (rc != 0)
        fprintf(stderr, "tokenwatch: reload failed, keeping the running key sets: %s\n", err);
    config_free(&cfg);
    pthread_mutex_lock(&r->mu);
    if (rc == 0)
        r->done++;
    else
        r->failed++;
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_unlock(&r->build_mu);
    return rc;
}

/* ---- the control thread -------------------------------------------------------------------- */

static void *control_main(void *arg)
{
    struct reload *r = arg;
    pthread_mutex_lock(&r->wait_mu);
    while (!r->stop) {
        timewait_for_ms(&r->wait_cv, &r->wait_mu, RELOAD_POLL_MS);
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->wait_mu);
        if (r->request && atomic_exchange(r->request, 0))
            reload_now(r);
        reload_collect(r);
        pthread_mutex_lock(&r->wait_mu);
    }
    pthread_mutex_unlock(&r->wait_mu);
    return NULL;
}

int reload_start(struct reload *r, atomic_int *request)
{
    if (r->started)
        return 0;
    r->request = request;
    r->stop = 0;
    /* The signals stay with the threads that handle them (the capture loop's). */
    if (thread_start(&r->th, control_main, r) != 0)
        return -1;
    r->started = 1;
    return 0;
}

void reload_stop(struct reload *r)
{
    if (!r->started)
        return;
    pthread_mutex_lock(&r->wait_mu);
    r->stop = 1;
    pthread_cond_signal(&r->wait_cv);
    pthread_mutex_unlock(&r->wait_mu);
    pthread_join(r->th, NULL);
    r->started = 0;
}
