/* app_tx.c — transactions, whatever protocol framed them: tokens, bodies, verdicts, EVE.
 *
 * Pipeline: protocol entry ─► [app_tx: token scan ─► verdict (vcache) ─► replay ─► eve]. The
 * entries (app_proto.h) describe message heads as struct app_head and feed bodies; this file
 * turns them into transactions and records. Owns the transactions in flight on each flow (the
 * queue in struct app_flow), the flow's list of tokens already reported, and the sensor's pool
 * of recycled transactions. Each transaction owns an arena for the strings EVE prints, one
 * reference per verdict, and the bodies it collects; closing it writes its records and
 * recycles it, so the steady state allocates nothing per request. The life of a transaction
 * and who closes it: app_tx.h. Also the transactions of a protocol a connection switched to
 * (a WebSocket message's tokens: app_tx_message) and the copy of the switching transaction's
 * http object they are reported under (struct tx_origin).
 * RFC 9110 §8.3 (Content-Type), §8.4 (Content-Encoding); RFC 4291 §2.5.5.2 (replay keys).
 */
#include "app_tx.h"

#include <stdlib.h>
#include <string.h>

#include "app_proto.h"
#include "eve_keyset.h"
#include "events.h"
#include "hll.h"
#include "observed.h"
#include "replay_defer.h"
#include "urlredact.h"

enum body_kind { BK_NONE = 0, BK_FORM, BK_JSON };

/* ---- anomalies ---- */

/* Each kind's event (events.h: name, layer and anomaly type come from the one table). */
static const uint16_t anomaly_event[AN__COUNT] = {
    [AN_GAP] = EV_STREAM_REASSEMBLY_SEQ_GAP,
    [AN_OVERLAP] = EV_STREAM_REASSEMBLY_OVERLAP_DIFFERENT_DATA,
    [AN_REQ_HEAD] = EV_HTTP_REQUEST_HEADER_INVALID,
    [AN_RESP_HEAD] = EV_HTTP_RESPONSE_HEADER_INVALID,
    [AN_REQ_TOO_LONG] = EV_HTTP_REQUEST_FIELD_TOO_LONG,
    [AN_RESP_TOO_LONG] = EV_HTTP_RESPONSE_FIELD_TOO_LONG,
    [AN_REQ_CHUNK] = EV_HTTP_INVALID_REQUEST_CHUNK_LEN,
    [AN_RESP_CHUNK] = EV_HTTP_INVALID_RESPONSE_CHUNK_LEN,
    [AN_NO_REQUEST] = EV_HTTP_UNABLE_TO_MATCH_RESPONSE_TO_REQUEST,
    [AN_BOMB] = EV_HTTP_COMPRESSION_BOMB,
    [AN_H2_FRAME_HEADER] = EV_HTTP2_INVALID_FRAME_HEADER,
    [AN_H2_CLIENT_MAGIC] = EV_HTTP2_INVALID_CLIENT_MAGIC,
    [AN_H2_FRAME_DATA] = EV_HTTP2_INVALID_FRAME_DATA,
    [AN_H2_HEADER] = EV_HTTP2_INVALID_HEADER,
    [AN_H2_FRAME_LENGTH] = EV_HTTP2_INVALID_FRAME_LENGTH,
    [AN_H2_LONG_FRAME] = EV_HTTP2_LONG_FRAME_DATA,
    [AN_H2_STREAM_REUSE] = EV_HTTP2_STREAM_ID_REUSE,
    [AN_H2_TOO_MANY_STREAMS] = EV_HTTP2_TOO_MANY_STREAMS,
    [AN_H2_REASSEMBLY_LIMIT] = EV_HTTP2_REASSEMBLY_LIMIT_REACHED,
    [AN_H2_HTTP1_SETTINGS] = EV_HTTP2_INVALID_HTTP1_SETTINGS,
};
_Static_assert(AN__COUNT <= 32, "anom_sent has 32 bits");

void app_anomaly(struct app_ctx *c, int side, enum anomaly_kind kind)
{
    struct sensor *s = c->s;
    struct flow *f = c->f;
    struct app_flow *app = c->app;
    if (!(s->out_types & EVE_T_ANOMALY) || (app->anom_sent[side] & (1u << kind)))
        return;
    app->anom_sent[side] |= 1u << kind;
    const struct event_info *e = events_get(anomaly_event[kind]);
    /* an applayer event is the flow's protocol's: the entry parsing it names it */
    const char *proto = app->pfx.app_proto ? app->pfx.app_proto : "http";
    eve_write_anomaly(&s->eve, f, &app->pfx, e->type, e->name, e->layer,
                      !strcmp(e->type, "applayer") ? proto : NULL);
}

/* ---- the pool ---- */

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

void app_tx_free_pool(struct sensor *s)
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

/* ---- the queue of transactions in flight ---- */

/* Queues t; 0 when there was no room and t was closed (written) instead. */
static int queue_push(struct app_ctx *c, struct tx *t)
{
    struct sensor *s = c->s;
    struct app_flow *app = c->app;
    tx_charge(s, t);
    if (s->app_mem > s->cfg->http_memcap) {
        /* No room to wait for the response: report now, without a status. */
        s->st.http_memcap++;
        app_tx_close(c, t);
        return 0;
    }
    if (app->nq >= TX_MAX_PENDING) {
        /* Responses stopped coming (one-sided capture): report the oldest without a status. */
        app_tx_close(c, app_tx_take(app));
    }
    t->next = NULL;
    if (app->q_tail)
        app->q_tail->next = t;
    else
        app->q_head = t;
    app->q_tail = t;
    app->nq++;
    t->queued = 1;
    return 1;
}

struct tx *app_tx_take(struct app_flow *app)
{
    struct tx *t = app->q_head;
    if (t) {
        app->q_head = t->next;
        if (!app->q_head)
            app->q_tail = NULL;
        app->nq--;
        t->queued = 0;
    }
    return t;
}

/* Unlinks a queued t from wherever it is: streams end in any order. Linear, but the queue holds
 * at most TX_MAX_PENDING and an in-order entry only ever takes the head. */
static void queue_remove(struct app_flow *app, struct tx *t)
{
    struct tx *prev = NULL;
    for (struct tx *q = app->q_head; q; prev = q, q = q->next) {
        if (q != t)
            continue;
        if (prev)
            prev->next = t->next;
        else
            app->q_head = t->next;
        if (app->q_tail == t)
            app->q_tail = prev;
        app->nq--;
        break;
    }
    t->queued = 0;
}

void app_tx_flush(struct app_ctx *c)
{
    struct tx *t;
    while ((t = app_tx_take(c->app)))
        app_tx_close(c, t);
}

/* ---- tokens ---- */

/* Judges each found token (through the cache, trying first where the flow's last token was:
 * a connection presents the same token request after request) and adds it to the
 * transaction, once per place; server: the server sent them. */
static void add_tokens(struct app_ctx *c, struct tx *t, const struct token_ref *refs, size_t n,
                       int server)
{
    struct sensor *s = c->s;
    for (size_t i = 0; i < n && t->ntokens < TX_MAX_TOKENS; i++) {
        int hit = 0;
        struct verdict *v = vcache_get_memo(s->vc, &c->app->vmemo, s->ks, &s->pol,
                                            refs[i].text.p, refs[i].text.len, &hit);
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
        /* A hit was added when this worker's cache took it in (every lookup is made here,
         * and the distinct counter is never reset): adding it again changes nothing, and
         * costs a SipHash and atomics on lines the workers share. */
        if (!hit)
            hll_add(s->distinct, v->digest);
        if (!hit && (v->sig == SIG_VALID || v->sig == SIG_INVALID))
            s->st.tokens_verified++;
        verdict_ref(v);
        t->tokens[t->ntokens].v = v;
        t->tokens[t->ntokens].loc = refs[i].loc;
        t->tokens[t->ntokens].server = (uint8_t)server;
        t->ntokens++;
    }
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

/* ---- bodies ---- */

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

/* Starts collecting t's body `which`, described by head h, if it is worth scanning and the
 * memcap leaves room for a whole body-limit. */
static void body_start(struct sensor *s, struct tx *t, const struct app_head *h, struct span ct,
                       int which)
{
    int kind = body_kind_of(ct, which == TX_REQUEST);
    if (!kind || !s->cfg->body_limit || !h->body)
        return;
    uint8_t codings[BODY_MAX_CODINGS];
    int nc = body_codings_of(token_field_get(h->fields, h->nfields, "Content-Encoding"), codings);
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
    if (h->has_length)
        body_expect(&t->body[which], h->length);
    t->body_kind[which] = (uint8_t)kind;
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
    if (!len)
        return h; /* an empty body (HTTP/2: END_STREAM on an empty DATA) has no buffer */
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

/* A response body may also be a key set document (observed keys: a `keyset` record). */
void app_tx_body_end(struct app_ctx *c, struct tx *t, int which)
{
    struct sensor *s = c->s;
    struct flow *f = c->f;
    struct app_flow *app = c->app;
    if (!t->body_kind[which])
        return;
    struct body *b = &t->body[which];
    s->st.body_scanned++;
    s->st.body_truncated += b->truncated;
    s->st.inflate_bombs += b->bomb;
    if (b->bomb)
        app_anomaly(c, which == TX_REQUEST ? f->client : !f->client, AN_BOMB);
    s->st.inflate_errors += b->error;
    struct span sp = span_make(b->buf, b->len);
    struct token_ref refs[TX_MAX_TOKENS] = {{{NULL, 0}, TOKEN_LOC_BODY}};
    size_t n = 0;
    /* The scanners only report JWTs ("eyJ"...) and the values of *token / assertion members:
     * a body with neither (most API responses) is passed over at memchr speed. */
    struct body_hints hint = body_hints(b->buf, b->len);
    int may_hold = hint.jwt || hint.token ||
                   (which == TX_REQUEST && b->len && memmem(b->buf, b->len, "assertion", 9));
    if (may_hold && t->body_kind[which] == BK_FORM)
        n = token_scan_form(sp, TOKEN_LOC_BODY, &t->a, refs, TX_MAX_TOKENS);
    else if (may_hold)
        n = token_scan_json(sp, which == TX_REQUEST ? TOKEN_LOC_BODY : TOKEN_LOC_RESPONSE_BODY,
                            &t->a, refs, TX_MAX_TOKENS);
    add_tokens(c, t, refs, n, which == TX_RESPONSE);
    tx_charge(s, t); /* the scan decoded tokens into the arena */
    if (which == TX_RESPONSE && t->body_kind[which] == BK_JSON && s->obs &&
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

/* ---- heads ---- */

struct tx *app_tx_request(struct app_ctx *c, const struct app_head *h)
{
    struct sensor *s = c->s;
    c->app->tx_seen = 1;
    struct tx *t = tx_get(s);
    if (!t)
        return NULL;
    if (h->tx_counter) /* stats.app_layer.tx.<proto>: the entry names its counter */
        (*h->tx_counter)++;
    t->tx_id = c->app->next_tx_id++;
    t->ts_us = s->now_us;
    t->http.head_oversized = h->oversized;
    if (h->host.p)
        t->http.hostname = url_redact_host(&t->a, h->host);
    const char *url = tx_str(t, h->target);
    t->http.url = url_redact(&t->a, url); /* every http.* string: urlredact.h */
    t->method = tx_str(t, h->method);
    t->http.method = url_redact(&t->a, t->method); /* t->method stays raw: HEAD parsing */
    t->http.protocol = arena_strndup(&t->a, h->protocol.p, h->protocol.len);
    struct span ua = token_field_get(h->fields, h->nfields, "User-Agent");
    if (ua.p)
        t->http.user_agent = url_redact(&t->a, tx_str(t, ua));

    struct token_ref refs[TX_MAX_TOKENS];
    size_t nref = token_scan_request(h->fields, h->nfields, refs, TX_MAX_TOKENS);
    add_tokens(c, t, refs, nref, 0);
    nref = token_scan_headers(h->fields, h->nfields, (const char *const *)s->cfg->token_headers,
                              s->cfg->ntoken_headers, &t->a, refs, TX_MAX_TOKENS);
    add_tokens(c, t, refs, nref, 0);
    if (h->target.p && memchr(h->target.p, '?', h->target.len)) {
        nref = token_scan_query(h->target, &t->a, refs, TX_MAX_TOKENS);
        add_tokens(c, t, refs, nref, 0);
    }
    body_start(s, t, h, token_field_get(h->fields, h->nfields, "Content-Type"), TX_REQUEST);
    return queue_push(c, t) ? t : NULL;
}

int app_tx_response(struct app_ctx *c, struct tx *t, const struct app_head *h)
{
    t->http.status = h->status;
    t->http.head_oversized |= h->oversized;
    struct span ct = token_field_get(h->fields, h->nfields, "Content-Type");
    if (ct.p)
        t->http.content_type = url_redact(&t->a, tx_str(t, ct));
    if (h->has_length) {
        t->http.length = h->length;
        t->http.has_length = 1;
    }
    /* A request body still coming (the server answered early) is scanned as far as it came. */
    app_tx_body_end(c, t, TX_REQUEST);
    body_start(c->s, t, h, ct, TX_RESPONSE);
    if (t->body_kind[TX_RESPONSE] || h->keep)
        return 1;
    app_tx_close(c, t); /* nothing to scan in the body: done at its head */
    return 0;
}

/* ---- closing: verdicts and records ---- */

void app_tx_count_alerts(struct sensor *s, uint32_t findings)
{
    if (!findings)
        return;
    s->st.alerts_total++;
    for (int k = 0; k < F__COUNT; k++)
        if (findings & (1u << k))
            s->st.alerts[k]++;
}

/* Reading files with -j N (replay_defer.h): files token i's replay check. 0: answered at once,
 * *findings has the answer and the caller counts and writes as usual. 1: the answer is pending;
 * the token's records are rendered with and without token_replay into the ticket's holds, and
 * app_tx_release_replay() counts and writes one of them once it comes. Too many pending (the
 * workers far apart) or no memory for a hold's bookkeeping: the worker waits for the answer. */
static int replay_file(struct app_ctx *c, struct tx *t, size_t i, const uint8_t client[16],
                       int64_t now, uint32_t *findings, int first, int acc)
{
    struct sensor *s = c->s;
    struct app_flow *app = c->app;
    struct verdict *v = t->tokens[i].v;
    struct replay_defer *d = s->rdefer;
    size_t w = s->rdefer_worker;
    struct rd_ticket *tk = replay_defer_file(d, w, s->rdefer_seq, v->digest, client, now);
    if (!tk) { /* no memory for a ticket: checked at once, in whatever order that is */
        if (replay_check(s->replay, v->digest, client, now))
            *findings |= 1u << F_TOKEN_REPLAY;
        return 0;
    }
    if (replay_defer_pending(d, w) > REPLAY_DEFER_MAX)
        replay_defer_wait(d, tk);
    int a = atomic_load_explicit(&tk->answer, memory_order_acquire);
    if (a == RD_PENDING && !app->fh && !(app->fh = calloc(1, sizeof(*app->fh)))) {
        replay_defer_wait(d, tk);
        a = atomic_load_explicit(&tk->answer, memory_order_acquire);
    }
    if (a != RD_PENDING) { /* released (popped) with nothing to write */
        if (a == RD_REPLAY)
            *findings |= 1u << F_TOKEN_REPLAY;
        return 0;
    }
    tk->base = *findings;
    tk->held = 1;
    tk->fh = app->fh;
    app->fh->pending++;
    app->alerted |= *findings != 0;
    /* No finding (most tokens): rendered once, the token_replay variant kept derivable. */
    struct eve_lazy *lz = *findings ? NULL : &tk->lazy;
    for (int r = 0; r <= 1; r++) {
        s->eve.hold = &tk->hold[r];
        s->eve.lazy = r ? NULL : lz;
        eve_write_token(&s->eve, c->f, &app->pfx, t->ts_us, t->tx_id, &t->http, v,
                        t->tokens[i].loc, *findings | (r ? 1u << F_TOKEN_REPLAY : 0), first, acc);
        s->eve.lazy = NULL;
        if (!r && lz && eve_lazy_complete(lz))
            break;
    }
    if (!eve_lazy_complete(&tk->lazy))
        eve_lazy_reset(&tk->lazy); /* rendered both ways: nothing to derive from */
    s->eve.hold = NULL;
    return 1;
}

void app_tx_release_replay(struct sensor *s)
{
    struct rd_ticket *tk;
    while (s->rdefer && (tk = replay_defer_front(s->rdefer, s->rdefer_worker))) {
        if (tk->held) {
            int r = atomic_load_explicit(&tk->answer, memory_order_acquire) == RD_REPLAY;
            app_tx_count_alerts(s, tk->base | (r ? 1u << F_TOKEN_REPLAY : 0));
            if (r && eve_lazy_complete(&tk->lazy)) {
                eve_hold_free(&tk->hold[0]);
                eve_lazy_write(&s->eve, &tk->lazy, F_TOKEN_REPLAY);
            } else {
                eve_hold_release(&s->eve, &tk->hold[r]);
                eve_hold_free(&tk->hold[!r]);
            }
            eve_lazy_reset(&tk->lazy);
            struct app_fhold *fh = tk->fh;
            fh->replayed |= (uint8_t)r;
            if (--fh->pending == 0 && fh->closed) {
                if (fh->held) {
                    eve_hold_release(&s->eve, &fh->hold[fh->replayed]);
                    eve_hold_free(&fh->hold[!fh->replayed]);
                }
                free(fh);
            }
        }
        replay_defer_pop(s->rdefer, s->rdefer_worker);
    }
}

void app_tx_close(struct app_ctx *c, struct tx *t)
{
    struct sensor *s = c->s;
    struct flow *f = c->f;
    struct app_flow *app = c->app;
    if (t->queued)
        queue_remove(app, t);
    app->proto->forget(c, app->proto_state, t);
    /* A body still being collected is scanned as far as it came (at most one is: a request
     * body ends before the response head is handled). */
    app_tx_body_end(c, t, TX_REQUEST);
    app_tx_body_end(c, t, TX_RESPONSE);
    /* The server took the request's credentials: 2xx, 3xx, or 101 (it switched protocols),
     * unless the entry knows better. */
    int accepted = t->http.status ? ((t->http.status >= 200 && t->http.status < 400) ||
                                     t->http.status == 101)
                                  : -1;
    if (t->outcome != TX_OUTCOME_BY_STATUS)
        accepted = t->outcome == TX_OUTCOME_UNKNOWN ? -1 : t->outcome == TX_OUTCOME_ACCEPTED;
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
        app->had_token = 1;
        int first = !seen_before(app, v->hash);
        /* Accepted speaks of tokens the client presented, not of those the server returned. */
        int acc = t->tokens[i].server ? -1 : accepted;
        if (s->fleet)
            app_fleet_token(c, t, i, client, now, findings, acc);
        /* token_replay: tokens the client presented, not those the server returned. */
        if (s->replay && !t->tokens[i].server) {
            if (s->rdefer) {
                if (replay_file(c, t, i, client, now, &findings, first, acc))
                    continue; /* its records are held until the answer comes */
            } else if (replay_check(s->replay, v->digest, client, now)) {
                findings |= 1u << F_TOKEN_REPLAY;
            }
        }
        app_tx_count_alerts(s, findings);
        app->alerted |= findings != 0;
        eve_write_token(&s->eve, f, &app->pfx, t->ts_us, t->tx_id, &t->http, v, t->tokens[i].loc,
                        findings, first, acc);
    }
    if ((s->out_types & EVE_T_HTTP) && !t->message)
        eve_write_http(&s->eve, f, &app->pfx, t->ts_us, t->tx_id, &t->http);
    tx_put(s, t);
}

/* ---- the transactions of a protocol the connection switched to ---- */

static size_t str_size(const char *p)
{
    return p ? strlen(p) + 1 : 0;
}

/* Copies p into *at (advanced), or NULL. */
static const char *str_put(char **at, const char *p)
{
    if (!p)
        return NULL;
    size_t n = strlen(p) + 1;
    char *q = memcpy(*at, p, n);
    *at += n;
    return q;
}

struct tx_origin *app_tx_origin(struct app_ctx *c, const struct tx *t, int status)
{
    struct sensor *s = c->s;
    const struct eve_http *h = &t->http;
    size_t strs = str_size(h->hostname) + str_size(h->url) + str_size(h->method) +
                  str_size(h->protocol) + str_size(h->user_agent);
    size_t mem = sizeof(struct tx_origin) + strs + 16;
    struct tx_origin *o = mem <= app_mem_room(s) ? malloc(sizeof(*o) + strs) : NULL;
    if (!o) {
        s->st.http_memcap++;
        return NULL;
    }
    s->app_mem += mem;
    memset(o, 0, sizeof(*o));
    o->mem = mem;
    char *at = (char *)(o + 1);
    o->http.hostname = str_put(&at, h->hostname);
    o->http.url = str_put(&at, h->url);
    o->http.method = str_put(&at, h->method);
    o->http.protocol = str_put(&at, h->protocol);
    o->http.user_agent = str_put(&at, h->user_agent);
    o->http.status = status;
    o->http.head_oversized = h->head_oversized;
    return o;
}

void app_tx_origin_free(struct app_ctx *c, struct tx_origin *o)
{
    if (!o)
        return;
    c->s->app_mem -= o->mem;
    free(o);
}

size_t app_tx_message(struct app_ctx *c, const struct tx_origin *o, struct span msg,
                      enum token_location loc, int server)
{
    struct sensor *s = c->s;
    struct tx *t = tx_get(s);
    if (!t)
        return 0;
    t->ts_us = s->now_us;
    t->message = 1;
    t->outcome = TX_OUTCOME_UNKNOWN; /* what the server made of it is in later messages */
    struct token_ref refs[TX_MAX_TOKENS];
    size_t n = token_scan_json_auth(msg, loc, &t->a, refs, TX_MAX_TOKENS);
    add_tokens(c, t, refs, n, server);
    n = t->ntokens;
    if (!n) {
        tx_put(s, t); /* nothing to say: no record, no tx_id */
        return 0;
    }
    t->tx_id = c->app->next_tx_id++;
    if (o)
        t->http = o->http; /* o outlives the records, which are written before this returns */
    tx_charge(s, t);
    app_tx_close(c, t);
    return n;
}
