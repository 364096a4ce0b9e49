/* applayer.c — HTTP/1.x over reassembled TCP, transactions, and token verdicts (applayer.h).
 *
 * Pipeline: stream ─► [applayer: http1 ─► token ─► vcache] ─► eve.
 * Owns per flow: both stream directions, each side's unconsumed head bytes (only an incomplete
 * message head is ever copied; bodies are skipped by length in place), and the FIFO of requests
 * waiting for their response. Each transaction (struct tx) owns an arena for the strings EVE
 * prints and one reference per verdict; it is recycled through the sensor's free list, so the
 * steady state allocates nothing per request.
 * RFC 9112 §9.3 (persistent connections, pipelining: responses come in request order).
 */
#include "applayer.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "body.h"
#include "classify.h"
#include "eve.h"
#include "eve_keyset.h"
#include "hll.h"
#include "http1.h"
#include "http_head_stream.h"
#include "observed.h"
#include "token.h"
#include "urlredact.h"

#define TX_MAX_TOKENS 32
#define TX_MAX_PENDING 64
#define SEEN_MAX 32

struct tx_token {
    struct verdict *v;
    enum token_location loc;
};

enum { BODY_REQ = 0, BODY_RESP = 1 };
enum body_kind { BK_NONE = 0, BK_FORM, BK_JSON };

struct tx {
    struct tx *next;
    struct arena a;
    uint64_t tx_id;
    uint64_t ts_us;
    struct eve_http http;
    struct tx_token tokens[TX_MAX_TOKENS];
    size_t ntokens;
    const char *method;
    struct body body[2];         /* request and response bodies being collected for scanning */
    uint8_t body_kind[2];        /* enum body_kind, BK_NONE: not collected */
    size_t body_mem[2];          /* what each body being collected is charged to http-memcap */
    size_t mem;                  /* charged to app_mem for the struct and its arena (tx_charge) */
};

enum half_state { H_HEAD = 0, H_BODY_LEN, H_BODY_CHUNKED, H_BODY_CLOSE, H_TUNNEL };

struct http_half {
    uint8_t *buf;          /* an incomplete message head carried to the next delivery */
    size_t len, cap;
    uint8_t state;         /* enum half_state */
    uint64_t body_left;
    struct http1_chunked ch;
    struct tx *body_tx;    /* the transaction whose body this side is sending and we scan */
    struct head_stream *hs; /* a head over http-max-head, being reduced as it arrives */
};

struct app_flow {
    struct stream_dir st[2];
    struct http_half h[2];
    struct tx *q_head, *q_tail; /* requests waiting for a response, oldest first */
    uint32_t nq;
    uint64_t next_tx_id;
    uint64_t seen[SEEN_MAX];    /* hashes of tokens already reported in this flow */
    uint8_t nseen, seen_next;
    uint8_t ended[2];
    uint8_t got_data;           /* the first payload byte decides the client if SYN did not */
    struct eve_prefix pfx;      /* the flow's shared EVE members, rendered once */
    struct classify_flow cf;    /* nDPI's verdict on the flow */
    uint8_t http_seen;          /* a request head parsed on this flow */
    uint8_t not_http;           /* nDPI says another protocol and no HTTP was seen: skip it */
    uint8_t named;              /* pfx carries nDPI's final names */
    uint8_t had_token;          /* a token was reported on this flow: it gets a `flow` record */
    uint8_t alerted;            /* ... and one of them raised an alert */
    uint16_t anom_sent[2];      /* per direction: anomaly kinds already written (bit per kind) */
};

struct deliver_ctx {
    struct sensor *s;
    struct flow *f;
    struct app_flow *app;
    int side;
    int oversized;         /* the head being parsed was reduced by head_stream */
};

/* ---- anomalies ---- */

/* What `anomaly` records this layer writes, with Suricata's names (stream events; libhtp's
 * HTTP events, layer proto_parser). One of each kind per flow and direction at most, so that
 * hostile traffic cannot multiply output. */
enum anomaly_kind {
    AN_GAP, AN_OVERLAP, AN_REQ_HEAD, AN_RESP_HEAD, AN_REQ_TOO_LONG, AN_RESP_TOO_LONG,
    AN_REQ_CHUNK, AN_RESP_CHUNK, AN_NO_REQUEST, AN_BOMB, AN__COUNT
};

static const struct {
    const char *type, *event, *layer, *app_proto;
} anomaly_names[AN__COUNT] = {
    [AN_GAP] = {"stream", "stream.reassembly_seq_gap", NULL, NULL},
    [AN_OVERLAP] = {"stream", "stream.reassembly_overlap_different_data", NULL, NULL},
    [AN_REQ_HEAD] = {"applayer", "REQUEST_HEADER_INVALID", "proto_parser", "http"},
    [AN_RESP_HEAD] = {"applayer", "RESPONSE_HEADER_INVALID", "proto_parser", "http"},
    [AN_REQ_TOO_LONG] = {"applayer", "REQUEST_FIELD_TOO_LONG", "proto_parser", "http"},
    [AN_RESP_TOO_LONG] = {"applayer", "RESPONSE_FIELD_TOO_LONG", "proto_parser", "http"},
    [AN_REQ_CHUNK] = {"applayer", "INVALID_REQUEST_CHUNK_LEN", "proto_parser", "http"},
    [AN_RESP_CHUNK] = {"applayer", "INVALID_RESPONSE_CHUNK_LEN", "proto_parser", "http"},
    [AN_NO_REQUEST] = {"applayer", "UNABLE_TO_MATCH_RESPONSE_TO_REQUEST", "proto_parser", "http"},
    [AN_BOMB] = {"applayer", "COMPRESSION_BOMB", "proto_parser", "http"},
};
_Static_assert(AN__COUNT <= 16, "anom_sent has 16 bits");

static void anomaly(struct sensor *s, struct flow *f, struct app_flow *app, int side, int kind)
{
    if (!(s->out_types & EVE_T_ANOMALY) || (app->anom_sent[side] & (1u << kind)))
        return;
    app->anom_sent[side] |= (uint16_t)(1u << kind);
    eve_write_anomaly(&s->eve, f, &app->pfx, anomaly_names[kind].type, anomaly_names[kind].event,
                      anomaly_names[kind].layer, anomaly_names[kind].app_proto);
}

/* ---- transactions ---- */

static struct tx *tx_get(struct sensor *s)
{
    struct tx *t = s->tx_free;
    if (t) {
        s->tx_free = t->next;
    } else {
        t = malloc(sizeof(*t));
        if (!t)
            return NULL;
        arena_init(&t->a, 2048, 64 * 1024);
    }
    struct arena a = t->a;
    memset(t, 0, sizeof(*t));
    t->a = a;
    return t;
}

/* A transaction is charged to engine.http-memcap for its whole life, struct and arena (which
 * grows to 64 KiB with long URLs and header tokens), brought up to date here: at the queue,
 * where the memcap is enforced, and before it is recycled. */
static void tx_charge(struct sensor *s, struct tx *t)
{
    size_t now = sizeof(*t) + 16 + t->a.total;
    s->app_mem += now - t->mem;
    t->mem = now;
}

static void tx_put(struct sensor *s, struct tx *t)
{
    for (int i = 0; i < 2; i++)
        if (t->body_kind[i]) {
            s->app_mem -= t->body_mem[i];
            body_reset(&t->body[i]);
            t->body_kind[i] = BK_NONE;
        }
    for (size_t i = 0; i < t->ntokens; i++)
        verdict_unref(t->tokens[i].v);
    t->ntokens = 0;
    arena_reset(&t->a);
    /* The pool keeps only default-sized arenas: a big first chunk would sit there uncharged. */
    if (t->a.total > 2048)
        arena_release(&t->a);
    s->app_mem -= t->mem;
    t->mem = 0;
    t->next = s->tx_free;
    s->tx_free = t;
}

size_t applayer_flow_state_size(void)
{
    return sizeof(struct app_flow) + 16 + classify_flow_state_size();
}

void applayer_free_pool(struct sensor *s)
{
    while (s->tx_free) {
        struct tx *t = s->tx_free;
        s->tx_free = t->next;
        arena_release(&t->a);
        free(t);
    }
}

static const char *tx_str(struct tx *t, struct span sp)
{
    if (!sp.p)
        return NULL;
    return arena_strndup(&t->a, sp.p, sp.len);
}

static int seen_before(struct app_flow *app, uint64_t h)
{
    for (int i = 0; i < app->nseen; i++)
        if (app->seen[i] == h)
            return 1;
    app->seen[app->seen_next] = h;
    app->seen_next = (uint8_t)((app->seen_next + 1) % SEEN_MAX);
    if (app->nseen < SEEN_MAX)
        app->nseen++;
    return 0;
}

static void body_scan(struct sensor *s, struct flow *f, struct app_flow *app, struct tx *t,
                      int which);

/* The flow's client address as the replay table keys it: 16 bytes, IPv4 as ::ffff:a.b.c.d
 * (RFC 4291 §2.5.5.2), so an IPv4 client and an IPv6 one never share a key. */
static void client_addr16(const struct flow *f, uint8_t out[16])
{
    const uint8_t *a = f->key.addr[f->client];
    if (f->key.ip_version == 6) {
        memcpy(out, a, 16);
    } else {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, a, 4);
    }
}

/* Writes the transaction's records and recycles it. A body still being collected for it is
 * scanned first, as far as it came. */
static void tx_emit(struct sensor *s, struct flow *f, struct app_flow *app, struct tx *t)
{
    for (int side = 0; side < 2; side++)
        if (app->h[side].body_tx == t) {
            app->h[side].body_tx = NULL;
            body_scan(s, f, app, t, side == f->client ? BODY_REQ : BODY_RESP);
        }
    /* The server took the request's credentials: 2xx, 3xx, or 101 (it switched protocols). */
    int accepted = t->http.status ? ((t->http.status >= 200 && t->http.status < 400) ||
                                     t->http.status == 101)
                                  : -1;
    if (!app->named) {
        /* nDPI's names for the flow, looked up once its verdict is final */
        classify_proto_name(s->cls, &app->cf, app->pfx.ndpi_proto, sizeof(app->pfx.ndpi_proto));
        app->pfx.ndpi_category =
            app->pfx.ndpi_proto[0] ? classify_category_name(s->cls, &app->cf) : NULL;
        app->named = app->cf.done;
    }
    int64_t now = (int64_t)(t->ts_us / 1000000);
    uint8_t client[16];
    client_addr16(f, client);
    for (size_t i = 0; i < t->ntokens; i++) {
        struct verdict *v = t->tokens[i].v;
        uint32_t findings = v->findings | policy_time_findings(v, &s->pol, now);
        /* token_replay: tokens the client presented, not those the server returned. */
        if (s->replay && t->tokens[i].loc != TOKEN_LOC_RESPONSE_BODY &&
            replay_check(s->replay, v->digest, client, now))
            findings |= 1u << F_TOKEN_REPLAY;
        if (findings) {
            s->st.alerts_total++;
            for (int k = 0; k < F__COUNT; k++)
                if (findings & (1u << k))
                    s->st.alerts[k]++;
        }
        app->had_token = 1;
        app->alerted |= findings != 0;
        int first = !seen_before(app, v->hash);
        /* Accepted speaks of tokens the client presented, not of those the server returned. */
        int acc = t->tokens[i].loc == TOKEN_LOC_RESPONSE_BODY ? -1 : accepted;
        eve_write_token(&s->eve, f, &app->pfx, t->ts_us, t->tx_id, &t->http, v, t->tokens[i].loc,
                        findings, first, acc);
    }
    if (s->out_types & EVE_T_HTTP)
        eve_write_http(&s->eve, f, &app->pfx, t->ts_us, t->tx_id, &t->http);
    tx_put(s, t);
}

static void queue_push(struct sensor *s, struct flow *f, struct app_flow *app, struct tx *t)
{
    tx_charge(s, t);
    if (s->app_mem > s->cfg->http_memcap) {
        /* No room to wait for the response: report now, without a status. */
        s->st.http_memcap++;
        tx_emit(s, f, app, t);
        return;
    }
    if (app->nq >= TX_MAX_PENDING) {
        /* Responses stopped coming (one-sided capture): report the oldest without a status. */
        struct tx *old = app->q_head;
        app->q_head = old->next;
        if (!app->q_head)
            app->q_tail = NULL;
        app->nq--;
        tx_emit(s, f, app, old);
    }
    t->next = NULL;
    if (app->q_tail)
        app->q_tail->next = t;
    else
        app->q_head = t;
    app->q_tail = t;
    app->nq++;
}

static struct tx *queue_pop(struct app_flow *app)
{
    struct tx *t = app->q_head;
    if (t) {
        app->q_head = t->next;
        if (!app->q_head)
            app->q_tail = NULL;
        app->nq--;
    }
    return t;
}

static void flush_pending(struct sensor *s, struct flow *f, struct app_flow *app)
{
    struct tx *t;
    while ((t = queue_pop(app)))
        tx_emit(s, f, app, t);
}

/* ---- tokens and bodies ---- */

/* Judges each found token (through the cache) and adds it to the transaction, once per place. */
static void add_tokens(struct sensor *s, struct tx *t, const struct token_ref *refs, size_t n)
{
    for (size_t i = 0; i < n && t->ntokens < TX_MAX_TOKENS; i++) {
        int hit = 0;
        struct verdict *v =
            vcache_get(s->vc, s->ks, &s->pol, refs[i].text.p, refs[i].text.len, &hit);
        if (!v)
            continue;
        int dup = 0;
        for (size_t k = 0; k < t->ntokens && !dup; k++)
            dup = t->tokens[k].loc == refs[i].loc && t->tokens[k].v->hash == v->hash &&
                  t->tokens[k].v->token_len == v->token_len &&
                  memcmp(t->tokens[k].v->token, v->token, v->token_len) == 0;
        if (dup)
            continue;
        s->st.tokens_seen++;
        hll_add(s->distinct, v->digest);
        if (!hit && (v->sig == SIG_VALID || v->sig == SIG_INVALID))
            s->st.tokens_verified++;
        verdict_ref(v);
        t->tokens[t->ntokens].v = v;
        t->tokens[t->ntokens].loc = refs[i].loc;
        t->ntokens++;
    }
}

/* The body kinds worth scanning, by Content-Type (RFC 9110 §8.3): forms and JSON for requests,
 * JSON for responses. Everything else (images, HTML, octet streams) costs nothing. */
static int body_kind_of(struct span ct, int request)
{
    ct = span_trim(ct);
    size_t n = 0;
    while (n < ct.len && ct.p[n] != ';' && ct.p[n] != ' ')
        n++;
    struct span mt = span_make(ct.p, n);
    if (request && span_ieq(mt, "application/x-www-form-urlencoded"))
        return BK_FORM;
    if (span_ieq(mt, "application/json") || span_ieq(mt, "text/json"))
        return BK_JSON;
    if (mt.len > 5 && span_ieq(span_make(mt.p + mt.len - 5, 5), "+json"))
        return BK_JSON; /* application/jwk-set+json, application/problem+json ... */
    return BK_NONE;
}

/* Starts collecting the body of message m for t on this side, if it is worth scanning and the
 * memcap leaves room for a whole body-limit. */
static void body_start(struct deliver_ctx *d, struct tx *t, const struct http1_msg *m, int which)
{
    struct sensor *s = d->s;
    int kind = body_kind_of(http1_header_get(m, "Content-Type"), which == BODY_REQ);
    if (!kind || !s->cfg->body_limit || m->upgrade || m->body_kind == HTTP1_BODY_NONE ||
        (m->body_kind == HTTP1_BODY_LENGTH && !m->content_length))
        return;
    uint8_t codings[BODY_MAX_CODINGS];
    int nc = body_codings_of(http1_header_get(m, "Content-Encoding"), codings);
    if (nc < 0) {
        s->st.body_undecodable++; /* br, zstd, ... or too many layers: counted, not scanned */
        return;
    }
    size_t cost = body_codings_mem_cost(codings, nc, s->cfg->body_limit);
    if (s->app_mem + cost > s->cfg->http_memcap) {
        s->st.http_memcap++;
        return;
    }
    s->app_mem += cost;
    t->body_mem[which] = cost;
    body_init_codings(&t->body[which], codings, nc, s->cfg->body_limit, s->cfg->inflate_ratio);
    t->body_kind[which] = (uint8_t)kind;
    d->app->h[d->side].body_tx = t;
}

static void body_data(struct http_half *h, const uint8_t *p, size_t n, int which)
{
    if (h->body_tx && n)
        body_feed(&h->body_tx->body[which], p, n);
}

/* What a body may hold, found at memchr speed (glibc's generic memmem costs several
 * instructions a byte, and this runs over every JSON body): a JWT ("eyJ", by its rarer 'J'),
 * a *token member or a "keys"/jwks_uri key set (all by 'k', rare in JSON text), an assertion. */
struct body_hints {
    uint8_t jwt, token, keyset;
};

static int at(const uint8_t *buf, size_t len, const uint8_t *p, int back, const char *w)
{
    size_t wl = strlen(w);
    if (p - buf < back || (size_t)(buf + len - (p - back)) < wl)
        return 0;
    return memcmp(p - back, w, wl) == 0;
}

static struct body_hints body_hints(const uint8_t *buf, size_t len)
{
    struct body_hints h = {0, 0, 0};
    for (const uint8_t *p = buf; p < buf + len && (p = memchr(p, 'J', (size_t)(buf + len - p)));
         p++)
        if (at(buf, len, p, 2, "eyJ")) {
            h.jwt = 1;
            break;
        }
    for (const uint8_t *p = buf; p < buf + len && (p = memchr(p, 'k', (size_t)(buf + len - p)));
         p++) {
        h.token |= at(buf, len, p, 2, "token");
        h.keyset |= at(buf, len, p, 1, "\"keys\"") || at(buf, len, p, 2, "jwks_uri");
        if (h.token && h.keyset)
            break;
    }
    return h;
}

/* Scans what was collected of t's body `which`, then frees it; a response body may also be a
 * key set document (observed keys: a `keyset` record). */
static void body_scan(struct sensor *s, struct flow *f, struct app_flow *app, struct tx *t,
                      int which)
{
    if (!t->body_kind[which])
        return;
    struct body *b = &t->body[which];
    s->st.body_scanned++;
    s->st.body_truncated += b->truncated;
    s->st.inflate_bombs += b->bomb;
    if (b->bomb)
        anomaly(s, f, app, which == BODY_REQ ? f->client : !f->client, AN_BOMB);
    s->st.inflate_errors += b->error;
    struct span sp = span_make(b->buf, b->len);
    struct token_ref refs[TX_MAX_TOKENS] = {{{NULL, 0}, TOKEN_LOC_BODY}};
    size_t n = 0;
    /* The scanners only report JWTs ("eyJ"...) and the values of *token / assertion members:
     * a body with neither (most API responses) is passed over at memchr speed. */
    struct body_hints hint = body_hints(b->buf, b->len);
    int may_hold = hint.jwt || hint.token ||
                   (which == BODY_REQ && b->len && memmem(b->buf, b->len, "assertion", 9));
    if (may_hold && t->body_kind[which] == BK_FORM)
        n = token_scan_form(sp, TOKEN_LOC_BODY, &t->a, refs, TX_MAX_TOKENS);
    else if (may_hold)
        n = token_scan_json(sp, which == BODY_REQ ? TOKEN_LOC_BODY : TOKEN_LOC_RESPONSE_BODY,
                            &t->a, refs, TX_MAX_TOKENS);
    add_tokens(s, t, refs, n);
    tx_charge(s, t); /* the scan decoded tokens into the arena */
    if (which == BODY_RESP && t->body_kind[which] == BK_JSON && s->obs &&
        hint.keyset) {
        struct observed_diff diff;
        if (observed_feed(s->obs, s->ks, t->http.hostname ? t->http.hostname : "",
                          t->http.url ? t->http.url : "", t->http.content_type, t->ts_us,
                          b->buf, b->len, &diff)) {
            if (s->out_types & EVE_T_KEYSET)
                eve_write_keyset(&s->eve, f, &app->pfx, t->ts_us, t->tx_id, &t->http, &diff);
            if (s->cfg->verify_observed) {
                /* verdicts judged without these keys are stale now */
                s->pol.observed = observed_keystore(s->obs);
                vcache_clear(s->vc);
            }
        }
    }
    s->app_mem -= t->body_mem[which];
    body_reset(b);
    t->body_kind[which] = BK_NONE;
}

/* The body this side was sending has ended (or can no longer be followed): scan it; a response's
 * transaction is complete then. */
static void body_end(struct deliver_ctx *d)
{
    struct http_half *h = &d->app->h[d->side];
    struct tx *t = h->body_tx;
    if (!t)
        return;
    h->body_tx = NULL;
    int req = d->side == d->f->client;
    body_scan(d->s, d->f, d->app, t, req ? BODY_REQ : BODY_RESP);
    if (!req)
        tx_emit(d->s, d->f, d->app, t);
}

/* ---- message heads ---- */

static void on_request(struct deliver_ctx *d, const struct http1_msg *m)
{
    struct sensor *s = d->s;
    d->app->http_seen = 1;
    struct tx *t = tx_get(s);
    if (!t)
        return;
    s->st.http_tx++;
    t->tx_id = d->app->next_tx_id++;
    t->ts_us = s->now_us;
    t->http.head_oversized = d->oversized;
    struct span host = http1_header_get(m, "Host");
    if (host.p)
        t->http.hostname = url_redact_host(&t->a, host);
    const char *url = tx_str(t, m->uri);
    t->http.url = url_redact(&t->a, url); /* every http.* string: urlredact.h */
    t->method = tx_str(t, m->method);
    t->http.method = url_redact(&t->a, t->method); /* t->method stays raw: HEAD parsing */
    char proto[16];
    int n = snprintf(proto, sizeof(proto), "HTTP/%d.%d", m->version_major, m->version_minor);
    t->http.protocol = arena_strndup(&t->a, proto, (size_t)n);
    struct span ua = http1_header_get(m, "User-Agent");
    if (ua.p)
        t->http.user_agent = url_redact(&t->a, tx_str(t, ua));

    struct token_ref refs[TX_MAX_TOKENS];
    size_t nref = token_scan_request(m, refs, TX_MAX_TOKENS);
    add_tokens(s, t, refs, nref);
    nref = token_scan_headers(m, (const char *const *)s->cfg->token_headers,
                              s->cfg->ntoken_headers, &t->a, refs, TX_MAX_TOKENS);
    add_tokens(s, t, refs, nref);
    if (memchr(m->uri.p, '?', m->uri.len)) {
        nref = token_scan_query(m->uri, &t->a, refs, TX_MAX_TOKENS);
        add_tokens(s, t, refs, nref);
    }
    body_start(d, t, m, BODY_REQ);
    queue_push(s, d->f, d->app, t);
}

static void on_response(struct deliver_ctx *d, const struct http1_msg *m)
{
    if (m->status >= 100 && m->status < 200 && m->status != 101)
        return; /* interim response: the final one follows */
    struct tx *t = queue_pop(d->app);
    if (!t) {
        anomaly(d->s, d->f, d->app, d->side, AN_NO_REQUEST);
        return; /* a response to a request we never saw */
    }
    t->http.status = m->status;
    t->http.head_oversized |= d->oversized;
    struct span ct = http1_header_get(m, "Content-Type");
    if (ct.p)
        t->http.content_type = url_redact(&t->a, tx_str(t, ct));
    if (m->body_kind == HTTP1_BODY_LENGTH) {
        t->http.length = m->content_length;
        t->http.has_length = 1;
    }
    /* A request body still coming (the server answered early) is scanned as far as it came. */
    struct http_half *rq = &d->app->h[d->f->client];
    if (rq->body_tx == t) {
        rq->body_tx = NULL;
        body_scan(d->s, d->f, d->app, t, BODY_REQ);
    }
    body_start(d, t, m, BODY_RESP);
    if (d->app->h[d->side].body_tx != t)
        tx_emit(d->s, d->f, d->app, t); /* nothing to scan in the body: done at its head */
}

static int is_request_side(struct deliver_ctx *d)
{
    return d->side == d->f->client;
}

/* Room left under engine.http-memcap. */
static size_t mem_room(const struct sensor *s)
{
    return s->app_mem < s->cfg->http_memcap ? (size_t)(s->cfg->http_memcap - s->app_mem) : 0;
}

/* A request head with more fields than http1 keeps: a token place past HTTP1_MAX_HEADERS would
 * be lost, so the tokens come from the head reduced to the fields that matter (framing stays
 * the whole head's, which http1 derived from every field). */
static void on_request_reduced(struct deliver_ctx *d, const uint8_t *p, size_t n,
                               const struct http1_msg *whole)
{
    struct head_stream hs;
    head_stream_init(&hs, 1, (const char *const *)d->s->cfg->token_headers,
                     d->s->cfg->ntoken_headers);
    head_stream_feed(&hs, p, n, mem_room(d->s));
    struct http1_msg m;
    d->s->st.http_head_fields_cut += hs.cut;
    if (hs.done && !hs.failed && http1_parse_request(hs.buf, hs.len, &m).status == PARSE_OK)
        on_request(d, &m);
    else
        on_request(d, whole);
    head_stream_reset(&hs);
}

/* First bytes of a flow whose client side is not known yet: the side that sends a request is the
 * client; a side that starts with a status line is the server. */
static void decide_client(struct deliver_ctx *d, const uint8_t *p, size_t n)
{
    if (d->f->client_known)
        return;
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
        flow_set_client(d->f, !d->side);
    else
        flow_set_client(d->f, d->side);
}

/* Consumes what it can of p[0..n); returns the number of bytes consumed. Anything left is an
 * incomplete message head. */
static size_t process(struct deliver_ctx *d, const uint8_t *p, size_t n)
{
    struct sensor *s = d->s;
    struct http_half *h = &d->app->h[d->side];
    size_t off = 0;
    while (off < n) {
        switch (h->state) {
        case H_HEAD: {
            struct http1_msg m;
            struct parse_result r;
            int req = is_request_side(d);
            if (req) {
                r = http1_parse_request(p + off, n - off, &m);
            } else {
                struct span meth = {NULL, 0};
                if (d->app->q_head && d->app->q_head->method)
                    meth = span_cstr(d->app->q_head->method);
                r = http1_parse_response(p + off, n - off, &m, meth);
            }
            if (r.status == PARSE_NEED_MORE)
                return off;
            if (r.status == PARSE_ERROR) {
                /* Not a message head here: resynchronise at the next line. */
                s->st.http_errors++;
                anomaly(s, d->f, d->app, d->side, req ? AN_REQ_HEAD : AN_RESP_HEAD);
                if (!req) {
                    /* After a gap the next status line may follow a lost body's tail on the
                     * same line: look for "HTTP/" itself, and keep a partial one at the end. */
                    const uint8_t *st = memmem(p + off + 1, n - off - 1, "HTTP/", 5);
                    if (st) {
                        off = (size_t)(st - p);
                        continue;
                    }
                    size_t keep = n - off - 1 < 4 ? n - off - 1 : 4;
                    while (keep && memcmp(p + n - keep, "HTTP/", keep) != 0)
                        keep--;
                    return n - keep;
                }
                const uint8_t *nl = memchr(p + off, '\n', n - off);
                if (!nl)
                    return n;
                off = (size_t)(nl - p) + 1;
                continue;
            }
            if (req && m.headers_dropped)
                on_request_reduced(d, p + off, r.consumed, &m);
            else if (req)
                on_request(d, &m);
            else
                on_response(d, &m);
            off += r.consumed;
            if (m.upgrade) {
                h->state = H_TUNNEL;
            } else if (m.body_kind == HTTP1_BODY_LENGTH && m.content_length) {
                h->state = H_BODY_LEN;
                h->body_left = m.content_length;
            } else if (m.body_kind == HTTP1_BODY_CHUNKED) {
                h->state = H_BODY_CHUNKED;
                http1_chunked_init(&h->ch);
            } else if (m.body_kind == HTTP1_BODY_CLOSE) {
                h->state = H_BODY_CLOSE;
            }
            break;
        }
        case H_BODY_LEN: {
            size_t k = n - off;
            if (k > h->body_left)
                k = (size_t)h->body_left;
            body_data(h, p + off, k, is_request_side(d) ? BODY_REQ : BODY_RESP);
            off += k;
            h->body_left -= k;
            if (!h->body_left) {
                h->state = H_HEAD;
                body_end(d);
            }
            break;
        }
        case H_BODY_CHUNKED: {
            struct span data;
            int done = 0;
            struct parse_result r = http1_chunked_feed(&h->ch, p + off, n - off, &data, &done);
            if (r.status == PARSE_ERROR) {
                s->st.http_errors++;
                anomaly(s, d->f, d->app, d->side,
                        is_request_side(d) ? AN_REQ_CHUNK : AN_RESP_CHUNK);
                h->state = H_HEAD;
                body_end(d);
                break;
            }
            body_data(h, data.p, data.len, is_request_side(d) ? BODY_REQ : BODY_RESP);
            off += r.consumed;
            if (done) {
                h->state = H_HEAD;
                body_end(d);
            } else if (r.status == PARSE_NEED_MORE) {
                return n;
            }
            break;
        }
        case H_BODY_CLOSE: /* a response delimited by the connection's end */
            body_data(h, p + off, n - off, BODY_RESP);
            return n;
        default: /* a tunnel: nothing more to parse */
            return n;
        }
    }
    return off;
}

/* ---- oversized heads (http_head_stream.h) ---- */

/* Switches this side into streaming its head; 0 if the memcap has no room for the state. */
static int head_stream_start(struct deliver_ctx *d)
{
    struct http_half *h = &d->app->h[d->side];
    if (mem_room(d->s) < sizeof(*h->hs) || !(h->hs = malloc(sizeof(*h->hs)))) {
        d->s->st.http_memcap++;
        return 0;
    }
    d->s->app_mem += sizeof(*h->hs);
    head_stream_init(h->hs, is_request_side(d), (const char *const *)d->s->cfg->token_headers,
                     d->s->cfg->ntoken_headers);
    return 1;
}

static void head_stream_end(struct deliver_ctx *d)
{
    struct http_half *h = &d->app->h[d->side];
    if (!h->hs)
        return;
    d->s->app_mem -= sizeof(*h->hs) + h->hs->cap;
    head_stream_reset(h->hs);
    free(h->hs);
    h->hs = NULL;
}

/* Feeds a streamed head; returns the bytes it took. When the head ends, the reduced head is
 * parsed as any other (transaction, tokens, status, body framing) and the stream ends. */
static size_t head_stream_deliver(struct deliver_ctx *d, const uint8_t *p, size_t n)
{
    struct sensor *s = d->s;
    struct head_stream *hs = d->app->h[d->side].hs;
    size_t cap = hs->cap;
    size_t k = head_stream_feed(hs, p, n, mem_room(s));
    s->app_mem += hs->cap - cap;
    if (!hs->done)
        return k;
    s->st.http_head_fields_cut += hs->cut;
    if (hs->failed || hs->nul) {
        /* a start line over every bound, or a NUL: what http1 refuses in a normal head */
        s->st.http_errors++;
        anomaly(s, d->f, d->app, d->side, is_request_side(d) ? AN_REQ_HEAD : AN_RESP_HEAD);
    } else {
        d->oversized = 1;
        process(d, hs->buf, hs->len);
        d->oversized = 0;
    }
    head_stream_end(d);
    return k;
}

static void deliver(void *user, const uint8_t *data, size_t len)
{
    struct deliver_ctx *d = user;
    struct http_half *h = &d->app->h[d->side];
    /* Each direction reads the other's ACKs (stream.h: ACK-based gaps, RST before any data).
     * Here because this is the first point that has the flow's app state in hand; idempotent. */
    stream_dir_pair(&d->app->st[0], &d->app->st[1]);
    if (!data) {
        anomaly(d->s, d->f, d->app, d->side, AN_GAP);
        /* A gap: body bytes can be skipped by count; anywhere else we resynchronise. */
        if (h->state == H_BODY_LEN && len <= h->body_left) {
            h->body_left -= len;
            if (!h->body_left) {
                h->state = H_HEAD;
                /* The gap took the body's tail: its transaction is complete, as at any other
                 * body end. Left in body_tx, the next message's body would overwrite (leak) it. */
                body_end(d);
            }
        } else if (h->state != H_TUNNEL && h->state != H_BODY_CLOSE) {
            body_end(d); /* a body cut by the gap is scanned as far as it came */
            /* A response head may have been in the gap: the oldest pending request would then
             * take the next response's status, and every later one be shifted. Writing the
             * pending requests now, without a status, is the answer that is never wrong. */
            if (!is_request_side(d))
                flush_pending(d->s, d->f, d->app);
            h->state = H_HEAD;
            h->len = 0;
            head_stream_end(d); /* a head cut by the gap: its transaction is lost, counted */
        }
        return;
    }
    if (!len)
        return;
    /* Before this side's next bytes are parsed, the other side's holes that this side has
     * acknowledged are skipped: a response lost in the capture is then known to be lost before
     * the next request is queued, and cannot take that request's status. */
    struct deliver_ctx o = {d->s, d->f, d->app, !d->side, 0};
    stream_ack_gaps(&d->s->streams, &d->app->st[!d->side], deliver, &o);
    if (!d->app->got_data) {
        /* Picked up mid-stream, the first bytes may be the middle of a body: only a status line
         * or a request line (complete, or its head still coming) says who the client is. */
        struct http1_msg m;
        struct parse_result r = {PARSE_ERROR, 0, 0};
        int start = d->f->client_known || (len >= 5 && memcmp(data, "HTTP/", 5) == 0);
        if (!start)
            r = http1_parse_request(data, len, &m);
        if (start || r.status == PARSE_OK ||
            (r.status == PARSE_NEED_MORE && memchr(data, '\n', len))) {
            d->app->got_data = 1;
            decide_client(d, data, len);
        }
    }
    struct sensor *s = d->s;
    for (;;) {
        if (h->hs) {
            size_t k = head_stream_deliver(d, data, len);
            data += k;
            len -= k;
            if (!len || h->hs)
                return;
        }
        int fresh = h->len == 0;
        if (fresh) {
            size_t k = process(d, data, len);
            data += k;
            len -= k;
            if (!len)
                return;
        }
        /* Keep the incomplete head, bounded by http-max-head; past it the head is streamed:
         * reduced line by line to the fields that matter, so padding cannot hide a token. */
        if (h->len + len > s->cfg->http_max_head) {
            s->st.http_head_overflow++;
            anomaly(s, d->f, d->app, d->side,
                    is_request_side(d) ? AN_REQ_TOO_LONG : AN_RESP_TOO_LONG);
            size_t held = h->len;
            h->len = 0;
            if (head_stream_start(d) && head_stream_deliver(d, h->buf, held) == held)
                continue; /* the rest of data goes on feeding the stream */
            head_stream_end(d);
            h->state = H_HEAD;
            return;
        }
        break;
    }
    int fresh = h->len == 0;
    if (h->len + len > h->cap) {
        size_t cap = h->cap ? h->cap : 1024;
        while (cap < h->len + len)
            cap *= 2;
        uint8_t *b = s->app_mem + (cap - h->cap) <= s->cfg->http_memcap ? realloc(h->buf, cap)
                                                                        : NULL;
        if (!b) {
            s->st.http_memcap++;
            h->len = 0;
            h->state = H_HEAD;
            return;
        }
        s->app_mem += cap - h->cap;
        h->buf = b;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, data, len);
    h->len += len;
    /* A head can only complete at a line end: without a new '\n' a re-parse would find what
     * the last one found, and a head trickled in byte by byte would cost quadratic time. */
    if (fresh || !memchr(data, '\n', len))
        return;
    size_t k = process(d, h->buf, h->len);
    if (k) {
        memmove(h->buf, h->buf + k, h->len - k);
        h->len -= k;
    }
}

/* ---- flow glue ---- */

static struct app_flow *app_of(struct flow *f, const struct packet *pkt)
{
    struct app_flow *app = f->app;
    if (!app) {
        app = calloc(1, sizeof(*app));
        if (!app)
            return NULL;
        stream_dir_init(&app->st[0]);
        stream_dir_init(&app->st[1]);
        if (pkt->tunnel_count) {
            app->pfx.tunnel = pkt->tunnel[0];
            app->pfx.tunnel_depth = pkt->tunnel_count;
        }
        f->app = app;
    }
    return app;
}

void applayer_packet(struct sensor *s, struct flow *f, int side, const struct packet *pkt)
{
    struct app_flow *app = app_of(f, pkt);
    if (!app)
        return;
    if (!app->cf.done &&
        classify_packet_charged(s->cls, &app->cf, s->flows, f, pkt, s->now_us) &&
        classify_is_not_http(&app->cf) && !app->http_seen) {
        /* TLS, SSH, ...: nothing for the HTTP parser; stop reassembling the flow. A flow that
         * has already carried an HTTP request stays parsed whatever nDPI says, so a crafted
         * first packet cannot blind us to the requests behind it. */
        app->not_http = 1;
        stream_dir_reset(&s->streams, &app->st[0]);
        stream_dir_reset(&s->streams, &app->st[1]);
    }
    if (app->not_http)
        return;
    struct deliver_ctx d = {s, f, app, side, 0};
    uint64_t diff0 = s->streams.stats.overlap_diff;
    int ended = stream_segment(&s->streams, &app->st[side], pkt, deliver, &d);
    if (s->streams.stats.overlap_diff != diff0)
        anomaly(s, f, app, side, AN_OVERLAP); /* a retransmission that differs: evasion? */
    if (ended && !app->ended[side]) {
        stream_flush(&s->streams, &app->st[side], deliver, &d);
        app->ended[side] = 1;
        body_end(&d); /* a body delimited by the connection's end is complete now */
        if (pkt->tcp_flags & TCP_RST) {
            /* RST ends both directions */
            struct deliver_ctx o = {s, f, app, !side, 0};
            stream_flush(&s->streams, &app->st[!side], deliver, &o);
            app->ended[!side] = 1;
            body_end(&o);
        }
        if (app->ended[0] && app->ended[1]) {
            flush_pending(s, f, app);
            flow_mark_closed(s->flows, f);
        }
    }
}

void applayer_flow_end(struct sensor *s, struct flow *f, const char *reason)
{
    struct app_flow *app = f->app;
    if (!app)
        return;
    for (int side = 0; side < 2; side++) {
        struct deliver_ctx d = {s, f, app, side, 0};
        if (!app->ended[side])
            stream_flush(&s->streams, &app->st[side], deliver, &d);
        body_end(&d);
        head_stream_end(&d);
        stream_dir_reset(&s->streams, &app->st[side]);
        s->app_mem -= app->h[side].cap;
        free(app->h[side].buf);
    }
    flush_pending(s, f, app);
    if ((s->out_types & EVE_T_FLOW) && app->had_token)
        eve_write_flow(&s->eve, f, &app->pfx, reason, app->alerted);
    classify_flow_release(s->cls, &app->cf);
    eve_prefix_release(&app->pfx);
    free(app);
    f->app = NULL;
}
