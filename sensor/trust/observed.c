/* observed.c — key sets learned from the wire (see observed.h): JWKS documents (RFC 7517 §5)
 * and OpenID Provider metadata (OpenID Connect Discovery 1.0 §3: `issuer`, `jwks_uri`) seen in
 * HTTP response bodies, compared with the configured trust.
 *
 * Pipeline: applayer hands every complete decoded JSON response body here; a return of 1 makes
 * it write a `keyset` record (eve_keyset.c). Runs on every JSON response, so a body that cannot
 * be such a document is rejected before any parsing, and a document already seen at a place is
 * recognised by its keyed hash without parsing it again.
 *
 * Owns, bounded by max_sets: one `place` per (host, path) where a document was seen, each with
 * its SipHash-1-3 and, for a JWKS, a private key store holding that document's keys (loaded by
 * keystore_add_jwks_json, the configured trust's own loader); a scratch arena for the strings of
 * the last diff; and the `view` that observed_keystore() returns: a struct keystore whose
 * keyset i is place i's keyset copied shallowly, named "observed:<host><path>" (a discovery
 * place shows as an empty keyset), with no revoked indicators. The view is read-only, owned
 * here, valid until the next observed_feed(), and never freed by its users. Memory is bounded by
 * max_sets times the body limit the caller applies.
 *
 * Trust: observed keys are loaded with an EMPTY issuer list. With no issuers a keyset trusts no
 * `iss` (keystore_set_trusts is 0 for it: it lists nothing literally and has no template), so
 * keystore_key_allows() is 0 for every observed key and keystore_issuer_trusted() never counts
 * one: keystore_find() over the view can name a key, but the verdict could never accept a
 * signature by it. Verifying against observed keys needs a deliberate switch that pairs them
 * with configured issuers; nothing here does that.
 */
#include "observed.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "siphash.h"

enum { NONE = UINT32_MAX };

/* One (host, path) where a JWKS or discovery document was seen. Places sit in one array and are
 * linked by index, so growing the array moves nothing that is referred to:
 *
 *   buckets[id & mask] ─► place ─hnext─► place ─► NONE           (lookup by id)
 *   lru_head (newest) ◄─prev/next─► ... ◄─prev/next─► lru_tail   (eviction order)
 */
struct place {
    uint64_t id;            /* keyed hash of host NUL path: compared before the strings */
    char *host, *path;      /* path = url up to '?' or '#' */
    char *name;             /* "observed:<host><path>": the keyset's name in the view */
    uint64_t body_hash;     /* SipHash-1-3 of the last body */
    struct keystore *ks;    /* JWKS: this document's keys (one keyset); discovery: NULL */
    uint32_t hnext, prev, next;
};

struct observed {
    uint8_t key[16];
    size_t max_sets;
    struct place *places;
    size_t nplaces, cap;
    uint32_t *buckets;      /* nbuckets (a power of two) chain heads */
    size_t nbuckets;
    uint32_t lru_head, lru_tail;
    /* Slot i: place i's keyset, copied shallowly (keys and strings stay owned by the place's
     * store), so callers see one store. Updated whenever a place changes. */
    struct keystore view;
    size_t njwks;           /* places holding a JWKS */
    struct arena scratch;   /* the last diff's arrays and copied strings */
};

struct observed *observed_new(size_t max_sets)
{
    struct observed *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    siphash_random_key(o->key);
    o->lru_head = o->lru_tail = NONE;
    /* 0 would make every fetch "new" forever; remembering one place is the least that works. */
    o->max_sets = max_sets ? max_sets : 1;
    arena_init(&o->scratch, 4096, 0);
    return o;
}

static void place_clear(struct place *p)
{
    free(p->host);
    free(p->path);
    free(p->name);
    keystore_free(p->ks);
}

void observed_free(struct observed *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nplaces; i++)
        place_clear(&o->places[i]);
    free(o->places);
    free(o->buckets);
    free(o->view.sets);
    arena_release(&o->scratch);
    free(o);
}

const struct keystore *observed_keystore(const struct observed *o)
{
    return o && o->njwks ? &o->view : NULL;
}

/* ---- cheap rejection ------------------------------------------------------------------------ */

static int has(const uint8_t *body, size_t len, const char *needle)
{
    return memmem(body, len, needle, strlen(needle)) != NULL;
}

/* Can this body be a JWKS or discovery document at all? It must be a JSON object and name one
 * of the members we look for. A member name spelled with \u escapes would hide from memmem, so
 * a body holding any escape goes on to the parser (cost only, never a miss). */
static int may_be_document(const uint8_t *body, size_t len)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i == len || body[i] != '{')
        return 0;
    return has(body + i, len - i, "\"keys\"") || has(body + i, len - i, "\"jwks_uri\"") ||
           has(body + i, len - i, "\\u");
}

/* ---- places --------------------------------------------------------------------------------- */

static uint64_t place_id(const struct observed *o, const char *host, const char *path,
                         size_t plen)
{
    /* host NUL path, hashed in one pass over a small stack copy when it fits. */
    size_t hlen = strlen(host);
    char buf[512];
    if (hlen + 1 + plen <= sizeof(buf)) {
        memcpy(buf, host, hlen);
        buf[hlen] = '\0';
        memcpy(buf + hlen + 1, path, plen);
        return siphash13(o->key, buf, hlen + 1 + plen);
    }
    return siphash13(o->key, host, hlen) ^ (siphash13(o->key, path, plen) * 0x9e3779b97f4a7c15ull);
}

static struct place *find_place(struct observed *o, uint64_t id, const char *host,
                                const char *path, size_t plen)
{
    if (!o->nbuckets)
        return NULL;
    for (uint32_t i = o->buckets[id & (o->nbuckets - 1)]; i != NONE; i = o->places[i].hnext) {
        struct place *p = &o->places[i];
        if (p->id == id && strcmp(p->host, host) == 0 && strlen(p->path) == plen &&
            memcmp(p->path, path, plen) == 0)
            return p;
    }
    return NULL;
}

static void lru_unlink(struct observed *o, struct place *p)
{
    if (p->prev != NONE)
        o->places[p->prev].next = p->next;
    else
        o->lru_head = p->next;
    if (p->next != NONE)
        o->places[p->next].prev = p->prev;
    else
        o->lru_tail = p->prev;
}

static void lru_push_front(struct observed *o, struct place *p)
{
    uint32_t i = (uint32_t)(p - o->places);
    p->prev = NONE;
    p->next = o->lru_head;
    if (o->lru_head != NONE)
        o->places[o->lru_head].prev = i;
    else
        o->lru_tail = i;
    o->lru_head = i;
}

static void hash_unlink(struct observed *o, struct place *p)
{
    uint32_t i = (uint32_t)(p - o->places), *link = &o->buckets[p->id & (o->nbuckets - 1)];
    while (*link != i)
        link = &o->places[*link].hnext;
    *link = p->hnext;
}

static void hash_link(struct observed *o, struct place *p)
{
    uint32_t *head = &o->buckets[p->id & (o->nbuckets - 1)];
    p->hnext = *head;
    *head = (uint32_t)(p - o->places);
}

/* Room for one more place: the array and the bucket table (kept at least as large as the array,
 * so chains stay short) grow together. -1 on allocation failure, with nothing changed. */
static int reserve(struct observed *o)
{
    if (o->nplaces < o->cap)
        return 0;
    size_t ncap = o->cap ? o->cap * 2 : 8;
    if (ncap > o->max_sets)
        ncap = o->max_sets;
    size_t nb = 16;
    while (nb < ncap)
        nb *= 2;
    uint32_t *buckets = malloc(nb * sizeof(*buckets));
    struct ks_keyset *view = buckets ? realloc(o->view.sets, ncap * sizeof(*view)) : NULL;
    if (view)
        o->view.sets = view;
    struct place *np = view ? realloc(o->places, ncap * sizeof(*np)) : NULL;
    if (!np) {
        free(buckets);
        return -1;
    }
    o->places = np;
    o->cap = ncap;
    free(o->buckets);
    o->buckets = buckets;
    o->nbuckets = nb;
    memset(buckets, 0xff, nb * sizeof(*buckets));
    for (size_t i = 0; i < o->nplaces; i++)
        hash_link(o, &o->places[i]);
    return 0;
}

/* A slot for a new place with this id: a fresh one while under max_sets, else the least
 * recently seen place, forgotten (its store freed). Linked in as the most recent. NULL on
 * allocation failure, with nothing changed. */
static struct place *take_slot(struct observed *o, uint64_t id)
{
    struct place *p;
    if (o->nplaces < o->max_sets) {
        if (reserve(o) < 0)
            return NULL;
        p = &o->places[o->nplaces++];
    } else {
        p = &o->places[o->lru_tail];
        lru_unlink(o, p);
        hash_unlink(o, p);
        o->njwks -= p->ks != NULL;
        place_clear(p);
    }
    memset(p, 0, sizeof(*p));
    p->id = id;
    hash_link(o, p);
    lru_push_front(o, p);
    return p;
}

/* Points view slot i at place i's keyset; a discovery place shows as an empty keyset of its
 * name, so that slots and places stay one to one and an update costs O(1). */
static void set_view(struct observed *o, struct place *p)
{
    size_t i = (size_t)(p - o->places);
    struct ks_keyset empty = {.name = p->name};
    o->view.sets[i] = p->ks && p->ks->nsets ? p->ks->sets[0] : empty;
    o->view.nsets = o->nplaces;
}

/* ---- comparison with the configured trust --------------------------------------------------- */

static int str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The same public key: equal RFC 7638 thumbprints (always computed, from the key material), or
 * the same certificate. A kid or x5t alone is only a name: a document reusing a trusted key's
 * kid for other key material must show up as untrusted, not pass as the trusted key. */
static int same_key(const struct ks_key *a, const struct ks_key *b)
{
    return str_eq(a->jkt, b->jkt) || str_eq(a->cert_sha1, b->cert_sha1);
}

static const char *key_id(const struct ks_key *k)
{
    return k->kid ? k->kid : k->x5t ? k->x5t : k->jkt;
}

static int set_has(const struct ks_keyset *set, const struct ks_key *k)
{
    for (size_t i = 0; i < set->nkeys; i++)
        if (same_key(&set->keys[i], k))
            return 1;
    return 0;
}

/* The configured keyset this document corresponds to: the one sharing the most keys with it
 * (the first on ties), else the first whose issuer (literal or "{tenantid}" template, compared
 * as text) equals a published key's own `issuer` member; NULL when neither. */
static const struct ks_keyset *corresponding(const struct keystore *trusted,
                                             const struct ks_keyset *doc)
{
    const struct ks_keyset *best = NULL;
    size_t best_shared = 0;
    for (size_t i = 0; i < trusted->nsets; i++) {
        const struct ks_keyset *set = &trusted->sets[i];
        size_t shared = 0;
        for (size_t k = 0; k < set->nkeys; k++)
            shared += set_has(doc, &set->keys[k]);
        if (shared > best_shared) {
            best = set;
            best_shared = shared;
        }
    }
    if (best)
        return best;
    for (size_t i = 0; i < trusted->nsets; i++) {
        const struct ks_keyset *set = &trusted->sets[i];
        for (size_t t = 0; t < set->nissuers; t++)
            for (size_t k = 0; k < doc->nkeys; k++)
                if (strcmp(set->issuers[t], "*") != 0 &&
                    str_eq(set->issuers[t], doc->keys[k].issuer))
                    return set;
    }
    return NULL;
}

static int trusted_anywhere(const struct keystore *trusted, const struct ks_key *k)
{
    for (size_t i = 0; i < trusted->nsets; i++)
        if (set_has(&trusted->sets[i], k))
            return 1;
    return 0;
}

/* Fills the key lists of d from the document's keyset. Strings of the trusted store are copied
 * into the scratch arena (a reload may free that store before the record is long gone); the
 * document's own strings live in its place until the next call. -1 on allocation failure. */
static int diff_keys(struct observed *o, const struct keystore *trusted,
                     const struct ks_keyset *doc, struct observed_diff *d)
{
    size_t n = doc->nkeys ? doc->nkeys : 1;
    const char **kids = arena_alloc(&o->scratch, n * sizeof(*kids));
    const char **untrusted = arena_alloc(&o->scratch, n * sizeof(*untrusted));
    if (!kids || !untrusted)
        return -1;
    for (size_t k = 0; k < doc->nkeys; k++) {
        kids[d->nkids++] = key_id(&doc->keys[k]);
        if (!trusted || !trusted_anywhere(trusted, &doc->keys[k]))
            untrusted[d->nuntrusted++] = key_id(&doc->keys[k]);
    }
    d->kids = kids;
    d->untrusted = untrusted;
    const struct ks_keyset *set = trusted ? corresponding(trusted, doc) : NULL;
    if (!set)
        return 0;
    d->keyset = arena_strndup(&o->scratch, set->name, strlen(set->name));
    size_t m = set->nkeys ? set->nkeys : 1;
    const char **missing = arena_alloc(&o->scratch, m * sizeof(*missing));
    if (!d->keyset || !missing)
        return -1;
    for (size_t k = 0; k < set->nkeys; k++) {
        if (set_has(doc, &set->keys[k]))
            continue;
        const char *id = key_id(&set->keys[k]);
        if (!(missing[d->nmissing++] = arena_strndup(&o->scratch, id, strlen(id))))
            return -1;
    }
    d->missing = missing;
    return 0;
}

/* ---- feeding -------------------------------------------------------------------------------- */

enum doc_kind { DOC_NONE, DOC_JWKS, DOC_DISCOVERY };

/* A JWKS: "keys" is an array with at least one JWK-looking member (it has "kty"), so that
 * {"keys": ["a", "b"]} from some unrelated API is not mistaken for one. */
static enum doc_kind classify(json_t *root)
{
    if (!json_is_object(root))
        return DOC_NONE;
    json_t *keys = json_object_get(root, "keys");
    size_t i;
    json_t *m;
    json_array_foreach(keys, i, m)
        if (json_object_get(m, "kty"))
            return DOC_JWKS;
    if (json_is_string(json_object_get(root, "issuer")) &&
        json_is_string(json_object_get(root, "jwks_uri")))
        return DOC_DISCOVERY;
    return DOC_NONE;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static const char *json_dup(struct arena *a, json_t *root, const char *member)
{
    json_t *v = json_object_get(root, member);
    return arena_strndup(a, json_string_value(v), json_string_length(v));
}

int observed_feed(struct observed *o, const struct keystore *trusted, const char *host,
                  const char *url, const char *content_type, uint64_t ts_us, const uint8_t *body,
                  size_t len, struct observed_diff *d)
{
    /* The body's shape decides, not its label: JWKS endpoints answer with application/json,
     * application/jwk-set+json or even text/plain. */
    (void)content_type;
    memset(d, 0, sizeof(*d));
    arena_reset(&o->scratch);
    if (!body || !may_be_document(body, len))
        return 0;
    if (!host)
        host = "";
    if (!url)
        url = "";
    size_t plen = strcspn(url, "?#");
    uint64_t id = place_id(o, host, url, plen);
    uint64_t h = siphash13(o->key, body, len);
    struct place *p = find_place(o, id, host, url, plen);
    if (p) {
        lru_unlink(o, p);
        lru_push_front(o, p);
        if (p->body_hash == h)
            return 0;
    }

    json_t *root = json_loadb((const char *)body, len, 0, NULL);
    enum doc_kind kind = classify(root);
    if (kind == DOC_NONE) {
        /* An error page at a known place does not make the document it served go away. */
        json_decref(root);
        return 0;
    }
    d->nkeys = kind == DOC_JWKS ? json_array_size(json_object_get(root, "keys")) : 0;
    if (kind == DOC_DISCOVERY) {
        d->issuer = json_dup(&o->scratch, root, "issuer");
        d->jwks_uri = json_dup(&o->scratch, root, "jwks_uri");
    }
    json_decref(root);

    /* Everything the place will hold is built first, so a failure changes nothing. */
    int changed = p != NULL;
    struct keystore *ks = NULL;
    char *name = NULL, *phost = NULL, *ppath = NULL;
    if (kind == DOC_DISCOVERY && (!d->issuer || !d->jwks_uri))
        goto fail;
    size_t hlen = strlen(host);
    if (!(name = malloc(sizeof("observed:") + hlen + plen)))
        goto fail;
    memcpy(name, "observed:", 9);
    memcpy(name + 9, host, hlen);
    memcpy(name + 9 + hlen, url, plen);
    name[9 + hlen + plen] = '\0';
    if (kind == DOC_JWKS) {
        char err[160];
        /* No issuers: see the file comment — these keys can sign for nothing. */
        if (!(ks = keystore_new()) ||
            keystore_add_jwks_json(ks, name, (const char *)body, len, NULL, 0, err,
                                   sizeof(err)) < 0)
            goto fail;
    }
    if (!p) {
        phost = dup_n(host, strlen(host));
        ppath = dup_n(url, plen);
        if (!phost || !ppath || !(p = take_slot(o, id)))
            goto fail;
        p->host = phost;
        p->path = ppath;
    } else {
        o->njwks -= p->ks != NULL;
        keystore_free(p->ks);
        free(p->name);
    }
    o->njwks += ks != NULL;
    p->ks = ks;
    p->name = name;
    p->body_hash = h;
    d->kind = kind == DOC_JWKS ? "jwks" : "openid-configuration";
    d->host = p->host;
    d->url = p->path;
    d->ts_us = ts_us;
    d->changed = changed;
    set_view(o, p);
    if (ks && ks->nsets && diff_keys(o, trusted, &ks->sets[0], d) < 0) {
        memset(d, 0, sizeof(*d));
        return 0;
    }
    return 1;
fail:
    /* Out of memory: report nothing rather than half a diff. */
    keystore_free(ks);
    free(name);
    free(phost);
    free(ppath);
    memset(d, 0, sizeof(*d));
    return 0;
}
