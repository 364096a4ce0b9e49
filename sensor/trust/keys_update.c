/* keys_update.c — `tokenwatch keys update`: fetch each keyset's JWKS (from its jwks-uri, or the
 * jwks_uri of its OIDC discovery document) and rewrite its local jwks file, keeping history.
 *
 * Pipeline: none — a one-shot command (keys_cmd.c) before any capture; the sensor reads the
 * result at start-up and on SIGHUP. Owns the fetched documents and the merged one while it runs.
 *
 * Every key of the provider's document is checked with jwk_to_key(), exactly as the loader
 * checks it: a refused key (an `oct` key, RSA under 2048 bits, ...) is reported and not written.
 * History lives in each written JWK's own member "x-tokenwatch" (RFC 7517 §4 lets other readers
 * ignore it; jwk.c reads it back): first_seen, last_seen (ISO 8601 UTC) and, once the provider's
 * document stops listing the key, "retired": true. A retired key stays in the file and stays
 * trusted, so tokens issued while it was live (captures replayed later, expired-key checks)
 * still verify. Keys are matched by kid and RFC 7638 thumbprint: same kid, other material is
 * "changed" (the old material is kept as retired); same material, other members (a renewed
 * x5c, an issuer) is "changed" too.
 *
 * A provider that cannot be fetched, or whose document is not a JWK Set with a usable key,
 * leaves the old file untouched. The file is replaced atomically: a temporary file in the same
 * directory, fsync, rename, fsync of the directory.
 */
#include "keys_update.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jwk.h"
#include "keys_fetch.h"

#define HIST "x-tokenwatch"

/* One key of the old file or of the provider's document. */
struct entry {
    json_t *jwk;          /* borrowed from its document */
    char *kid, *jkt;
    int retired, used;
    int64_t first, last;
};

struct entries {
    struct entry *v;
    size_t n;
};

static void entries_free(struct entries *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].kid);
        free(e->v[i].jkt);
    }
    free(e->v);
    e->v = NULL;
    e->n = 0;
}

static void iso(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "1970-01-01T00:00:00Z");
}

/* The key's label in the diff: its kid (printable ASCII, at most 64) or "jkt:THUMBPRINT". */
static void label(const struct entry *e, char *buf, size_t len)
{
    if (!e->kid) {
        snprintf(buf, len, "jkt:%s", e->jkt);
        return;
    }
    size_t n = 0;
    for (; e->kid[n] && n < 64 && n + 1 < len; n++)
        buf[n] = e->kid[n] >= 0x20 && e->kid[n] < 0x7f ? e->kid[n] : '?';
    buf[n] = '\0';
}

/* Checks every member of `keys` with the loader's jwk_to_key(); usable ones go to *out, refused
 * ones are printed ("  refused LABEL: why", with `what` before the label) and counted. Returns
 * the number refused, or -1 out of memory. */
static long collect(json_t *keys, struct entries *out, FILE *f, const char *what)
{
    long refused = 0;
    size_t n = json_array_size(keys);
    if (n && !(out->v = calloc(n, sizeof(*out->v))))
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *jwk = json_array_get(keys, i);
        struct ks_key k;
        char why[256];
        int rc = jwk_to_key(jwk, &k, why, sizeof(why));
        if (rc == JWK_NOMEM)
            return -1;
        if (rc == JWK_SKIPPED) {
            const char *kid = json_string_value(json_object_get(jwk, "kid"));
            struct entry tmp = {.kid = (char *)kid};
            char lab[80];
            if (kid)
                label(&tmp, lab, sizeof(lab));
            else
                snprintf(lab, sizeof(lab), "#%zu", i);
            fprintf(f, "  %s %s: %s\n", what, lab, why[0] ? why : "not usable");
            refused++;
            continue;
        }
        struct entry *e = &out->v[out->n];
        e->jwk = jwk;
        e->kid = k.kid ? strdup(k.kid) : NULL;
        e->jkt = strdup(k.jkt);
        e->retired = k.retired;
        e->first = k.first_seen;
        e->last = k.last_seen;
        jwk_key_clear(&k);
        out->n++;
        if (!e->jkt || (!e->kid && json_object_get(jwk, "kid")))
            return -1;
    }
    return refused;
}

static int same_kid(const struct entry *a, const struct entry *b)
{
    return a->kid && b->kid && strcmp(a->kid, b->kid) == 0;
}

/* Equal apart from our history member? */
static int same_members(json_t *a, json_t *b)
{
    json_t *ca = json_copy(a), *cb = json_copy(b);
    int eq = ca && cb;
    if (eq) {
        json_object_del(ca, HIST);
        json_object_del(cb, HIST);
        eq = json_equal(ca, cb);
    }
    json_decref(ca);
    json_decref(cb);
    return eq;
}

/* A copy of jwk carrying the history; NULL out of memory. */
static json_t *with_history(json_t *jwk, int64_t first, int64_t last, int retired)
{
    char f[32], l[32];
    iso(first, f, sizeof(f));
    iso(last, l, sizeof(l));
    json_t *c = json_deep_copy(jwk);
    json_t *h = json_pack("{s:s, s:s}", "first_seen", f, "last_seen", l);
    if (h && retired)
        json_object_set_new(h, "retired", json_true());
    if (!c || !h || json_object_set_new(c, HIST, h) != 0) {
        json_decref(c);
        return NULL;
    }
    return c;
}

/* Replaces path with data: temporary file beside it, fsync, rename, fsync of the directory. */
static int write_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp)) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a temporary file beside it: %s", path,
                 strerror(errno));
        return -1;
    }
    int ok = fchmod(fd, 0644) == 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        off += ok ? (size_t)w : 0;
    }
    ok = ok && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (ok && rename(tmp, path) != 0) {
        saved = errno;
        ok = 0;
    }
    if (!ok) {
        unlink(tmp);
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(saved ? saved : errno));
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* GET url and parse it as JSON: the document, or NULL with one line in err. */
static json_t *fetch_json(const char *url, const struct keys_update_opts *o, char *err,
                          size_t errlen)
{
    char *body;
    size_t len;
    if (keys_fetch(url, o->ca_file, o->connect_to, o->nconnect, &body, &len, err, errlen) != 0)
        return NULL;
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    free(body);
    if (!doc)
        snprintf(err, errlen, "%s: refused: not JSON (line %d: %s)", url, jerr.line, jerr.text);
    return doc;
}

struct counts {
    long added, retired, changed, refused, pruned;
};

/* Merges the provider's keys (now) with the old file's into a new "keys" array, printing the
 * diff lines. NULL out of memory. */
static json_t *merge(struct entries *nw, struct entries *old, int64_t now, int64_t keep,
                     FILE *f, struct counts *c)
{
    json_t *keys = json_array();
    char lab[80];
    for (size_t i = 0; keys && i < nw->n; i++) {
        struct entry *n = &nw->v[i], *match = NULL, *kidmatch = NULL;
        for (size_t j = 0; j < old->n; j++) {
            struct entry *o = &old->v[j];
            if (o->used)
                continue;
            if (strcmp(o->jkt, n->jkt) == 0 && (same_kid(o, n) || (!o->kid && !n->kid))) {
                match = o;
                break;
            }
            if (!kidmatch && !o->retired && same_kid(o, n))
                kidmatch = o;
        }
        int64_t first = now;
        label(n, lab, sizeof(lab));
        if (match) {
            match->used = 1;
            first = match->first ? match->first : now;
            if (match->retired) {
                fprintf(f, "  added %s (listed again)\n", lab);
                c->added++;
            } else if (!same_members(match->jwk, n->jwk)) {
                fprintf(f, "  changed %s (members other than the key material)\n", lab);
                c->changed++;
            }
        } else if (kidmatch) {
            fprintf(f, "  changed %s (new key material; the old one kept as retired)\n", lab);
            c->changed++;
        } else {
            fprintf(f, "  added %s\n", lab);
            c->added++;
        }
        json_t *k = with_history(n->jwk, first, now, 0);
        if (!k || json_array_append_new(keys, k) != 0)
            goto nomem;
    }
    for (size_t j = 0; keys && j < old->n; j++) {
        struct entry *o = &old->v[j];
        if (o->used)
            continue;
        int changed = 0;
        for (size_t i = 0; i < nw->n && !changed; i++)
            changed = same_kid(o, &nw->v[i]);
        int64_t last = o->last ? o->last : now;
        label(o, lab, sizeof(lab));
        /* History is bounded: a key not published for keep-retired seconds (since its last
         * sighting) is dropped; tokens it signed are long expired by then. */
        if (keep == 0 || now - last > keep) {
            char when[32];
            iso(last, when, sizeof(when));
            fprintf(f, "  pruned %s (retired, last seen %s: beyond keep-retired)\n", lab, when);
            c->pruned++;
            continue;
        }
        if (!o->retired && !changed) {
            fprintf(f, "  retired %s\n", lab);
            c->retired++;
        }
        json_t *k = with_history(o->jwk, o->first ? o->first : now, last, 1);
        if (!k || json_array_append_new(keys, k) != 0)
            goto nomem;
    }
    return keys;
nomem:
    json_decref(keys);
    return NULL;
}

/* One keyset: 0 updated, 1 failed (one line on errf), -1 out of memory. */
static int update_one(const struct keyset_cfg *ks, const struct keys_update_opts *o, FILE *f,
                      FILE *errf)
{
    char err[1024];
    const char *url = ks->jwks_uri;
    json_t *disc = NULL, *doc = NULL, *old = NULL, *merged = NULL;
    struct entries nw = {0}, was = {0};
    int rc = 1;
    if (ks->discovery) {
        if (!(disc = fetch_json(ks->discovery, o, err, sizeof(err))))
            goto fail;
        url = json_string_value(json_object_get(disc, "jwks_uri"));
        if (!url) {
            snprintf(err, sizeof(err), "%s: refused: no string jwks_uri in the discovery document",
                     ks->discovery);
            goto fail;
        }
        if (strncmp(url, "https://", 8) != 0) {
            snprintf(err, sizeof(err), "%s: refused: its jwks_uri is not an https URL",
                     ks->discovery);
            goto fail;
        }
    }
    if (!(doc = fetch_json(url, o, err, sizeof(err))))
        goto fail;
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        snprintf(err, sizeof(err), "%s: refused: not a JWK Set (no \"keys\" array)", url);
        goto fail;
    }
    fprintf(f, "keysets.%s: %s -> %s\n", ks->name, url, ks->jwks);
    long refused = collect(keys, &nw, f, "refused");
    if (refused < 0)
        goto nomem;
    if (nw.n == 0) {
        snprintf(err, sizeof(err), "%s: refused: no usable key in the document", url);
        goto fail;
    }
    json_error_t jerr;
    if ((old = json_load_file(ks->jwks, 0, &jerr))) {
        json_t *okeys = json_object_get(old, "keys");
        if (collect(json_is_array(okeys) ? okeys : NULL, &was, f, "dropped from the old file")
            < 0)
            goto nomem;
    } else if (access(ks->jwks, F_OK) == 0) {
        fprintf(f, "  the old file is not JSON (line %d: %s): replaced\n", jerr.line, jerr.text);
    }
    struct counts c = {.refused = refused};
    if (!(merged = merge(&nw, &was, o->now, ks->keep_retired, f, &c)))
        goto nomem;
    size_t live = nw.n, total = json_array_size(merged);
    fprintf(f, "  %ld added, %ld retired, %ld changed, %ld refused, %ld pruned; %zu live, "
            "%zu retired%s\n", c.added, c.retired, c.changed, c.refused, c.pruned, live,
            total - live,
            o->dry_run ? " (dry run: not written)" : "");
    if (!o->dry_run) {
        json_t *top = json_pack("{s:O}", "keys", merged);
        char *text = top ? json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(top);
        if (!text)
            goto nomem;
        size_t tl = strlen(text);
        text[tl] = '\n'; /* json_dumps's NUL replaced: written by length */
        int w = write_atomic(ks->jwks, text, tl + 1, err, sizeof(err));
        free(text);
        if (w != 0)
            goto fail;
    }
    rc = 0;
    goto out;
nomem:
    snprintf(err, sizeof(err), "out of memory");
    rc = -1;
fail:
    fprintf(errf, "tokenwatch: keys update: keysets.%s: %s (%s kept)\n", ks->name, err, ks->jwks);
    if (rc != -1)
        rc = 1;
out:
    entries_free(&nw);
    entries_free(&was);
    json_decref(merged);
    json_decref(old);
    json_decref(doc);
    json_decref(disc);
    return rc;
}

int keys_update_run(const struct config *cfg, const struct keys_update_opts *o, FILE *out,
                    FILE *errf, size_t *nupdated)
{
    size_t with_url = 0, failed = 0;
    *nupdated = 0;
    for (size_t i = 0; i < cfg->nkeysets; i++) {
        const struct keyset_cfg *ks = &cfg->keysets[i];
        if (!ks->jwks_uri && !ks->discovery)
            continue;
        with_url++;
        int rc = update_one(ks, o, out, errf);
        if (rc == 0)
            (*nupdated)++;
        else
            failed++;
    }
    if (!with_url) {
        fprintf(errf, "tokenwatch: keys update: no keyset has a jwks-uri or a discovery URL "
                      "(%s)\n", cfg->path ? cfg->path : "built-in defaults");
        return -1;
    }
    return (int)failed;
}
