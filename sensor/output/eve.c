/* eve.c — the EVE writer (see eve.h): the common fields of every record, and the token, alert,
 * http, flow and anomaly records.
 *
 * Pipeline: applayer / decode ─► [eve] ─► outputs. Owns the writer's builder and the capture
 * file names; borrows the outputs. Builds each record once in the writer's builder and hands
 * the bytes to the outputs that take it. Field names follow Suricata's EVE (etc/schema.json).
 * The stats record is eve_stats.c's, the keyset record eve_keyset.c's.
 */
#include "eve.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "h2frame.h"
#include "output.h"
#include "urlredact.h"

void eve_format_time(uint64_t ts_us, char *buf, size_t buflen)
{
    /* A time past year 9999 (a hostile capture's, another sensor's) is written as its last
     * second: gmtime_r fails beyond what struct tm's year holds and would leave tm unset. */
    uint64_t s = ts_us / 1000000;
    time_t sec = (time_t)(s > UINT64_C(253402300799) ? UINT64_C(253402300799) : s);
    struct tm tm;
    if (!gmtime_r(&sec, &tm))
        memset(&tm, 0, sizeof(tm));
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, buflen, "%s.%06u+0000", base, (unsigned)(ts_us % 1000000));
}

static void addr_str(const struct flow *f, int side, char *buf, size_t n)
{
    inet_ntop(f->key.ip_version == 6 ? AF_INET6 : AF_INET, f->key.addr[side], buf, (socklen_t)n);
}

void eve_prefix_release(struct eve_prefix *p)
{
    free(p->buf);
    p->buf = NULL;
    p->len = 0;
}

/* Renders the flow's shared members into pfx (src is always the client). */
static void render_prefix(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx)
{
    struct jb j;
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], cid[64];
    jb_init(&j, 512);
    jb_open_object(&j, NULL);
    jb_kuint(&j, JB_KEY("flow_id"), f->flow_id);
    if (w->in_iface)
        jb_kstr(&j, JB_KEY("in_iface"), w->in_iface);
    else if (f->pcap_file < w->npcap_names)
        jb_kstr(&j, JB_KEY("pcap_filename"), w->pcap_names[f->pcap_file]);
    if (f->key.vlan_count) {
        jb_kopen_array(&j, JB_KEY("vlan"));
        for (int i = 0; i < f->key.vlan_count; i++)
            jb_uint(&j, NULL, f->key.vlan[i]);
        jb_close(&j);
    }
    int c = f->client, sv = !f->client;
    addr_str(f, c, a, sizeof(a));
    addr_str(f, sv, b, sizeof(b));
    jb_kstr(&j, JB_KEY("src_ip"), a);
    jb_kuint(&j, JB_KEY("src_port"), f->key.port[c]);
    jb_kstr(&j, JB_KEY("dest_ip"), b);
    jb_kuint(&j, JB_KEY("dest_port"), f->key.port[sv]);
    jb_kstr(&j, JB_KEY("proto"), "TCP");
    flow_community_id(f, cid, sizeof(cid));
    jb_kstr(&j, JB_KEY("community_id"), cid);
    jb_kstr(&j, JB_KEY("app_proto"), pfx->app_proto ? pfx->app_proto : "http");
    if (pfx->tunnel_depth) {
        static const char *const names[] = {
            [TUNNEL_MPLS] = "MPLS",     [TUNNEL_PPPOE] = "PPPOE",   [TUNNEL_GRE] = "GRE",
            [TUNNEL_ERSPAN2] = "ERSPAN", [TUNNEL_ERSPAN3] = "ERSPAN", [TUNNEL_VXLAN] = "VXLAN",
            [TUNNEL_GENEVE] = "GENEVE", [TUNNEL_IPIP] = "IPIP",     [TUNNEL_IP6IP] = "IPV6",
        };
        const struct packet_tunnel *t = &pfx->tunnel;
        jb_kopen_object(&j, JB_KEY("tunnel"));
        if (t->ip_version) {
            char ta[INET6_ADDRSTRLEN], tb[INET6_ADDRSTRLEN];
            int af = t->ip_version == 6 ? AF_INET6 : AF_INET;
            inet_ntop(af, t->src, ta, sizeof(ta));
            inet_ntop(af, t->dst, tb, sizeof(tb));
            jb_kstr(&j, JB_KEY("src_ip"), ta);
            jb_kstr(&j, JB_KEY("dest_ip"), tb);
        }
        const char *name = t->kind < sizeof(names) / sizeof(names[0]) ? names[t->kind] : NULL;
        jb_kstr(&j, JB_KEY("proto"), name ? name : "unknown");
        jb_kuint(&j, JB_KEY("depth"), pfx->tunnel_depth);
        jb_close(&j);
    }
    if (pfx->ndpi_proto[0]) {
        jb_kopen_object(&j, JB_KEY("ndpi"));
        jb_kstr(&j, JB_KEY("protocol"), pfx->ndpi_proto);
        if (pfx->ndpi_category)
            jb_kstr(&j, JB_KEY("category"), pfx->ndpi_category);
        jb_close(&j);
    }
    memcpy(pfx->rendered_proto, pfx->ndpi_proto, sizeof(pfx->rendered_proto));
    pfx->rendered_app = pfx->app_proto;
    free(pfx->buf);
    pfx->buf = NULL;
    pfx->len = 0;
    if (!j.err && j.len > 1) {
        /* keep the members only: drop the opening brace */
        pfx->len = j.len - 1;
        pfx->buf = malloc(pfx->len);
        if (pfx->buf)
            memcpy(pfx->buf, j.buf + 1, pfx->len);
        else
            pfx->len = 0;
    }
    pfx->client = f->client;
    jb_release(&j);
}

/* The timestamp, with the seconds part formatted once per second of packet time. */
static void put_time(struct eve_writer *w, struct jb *j, uint64_t ts_us)
{
    uint64_t sec = ts_us / 1000000;
    if (!w->tcache[0] || w->tcache_sec != sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(w->tcache, sizeof(w->tcache), "%Y-%m-%dT%H:%M:%S.", &tm);
        w->tcache_sec = sec;
    }
    char buf[48];
    size_t n = strlen(w->tcache);
    memcpy(buf, w->tcache, n);
    uint32_t us = (uint32_t)(ts_us % 1000000);
    for (int i = 5; i >= 0; i--) {
        buf[n + (size_t)i] = (char)('0' + us % 10);
        us /= 10;
    }
    memcpy(buf + n + 6, "+0000", 5);
    jb_kstrn(j, JB_KEY("timestamp"), buf, n + 11);
}

/* Common fields. Leaves the top-level object open. */
void eve_begin(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                   uint64_t ts_us, const char *type)
{
    struct jb *j = &w->jb;
    jb_reset(j);
    jb_open_object(j, NULL);
    put_time(w, j, ts_us);
    jb_kstr(j, JB_KEY("event_type"), type);
    if (w->host)
        jb_kstr(j, JB_KEY("host"), w->host);
    w->rec_ether = 0;
    if (!f)
        return;
    if (!pfx->buf || pfx->client != f->client || pfx->rendered_app != pfx->app_proto ||
        strcmp(pfx->rendered_proto, pfx->ndpi_proto) != 0)
        render_prefix(w, f, pfx);
    jb_members(j, pfx->buf, pfx->len);
    /* Made by a packet of this flow (not a timeout or shutdown): that packet's number and MACs. */
    if (f == w->pkt_flow) {
        if (!w->in_iface)
            jb_kuint(j, JB_KEY("pcap_cnt"), w->pcap_cnt);
        if (w->pkt_eth) {
            w->rec_ether = 1;
            w->rec_ether_swap = w->pkt_side != f->client; /* src_mac goes with src_ip */
        }
    }
}

/* Writes the finished record to o; outputs with `ethernet: yes` get the `ether` object appended
 * as the last member (the record is extended in place, then restored). */
/* One record to one output, or into the hold. */
static void put(struct eve_writer *w, struct output *o, const char *b, size_t n)
{
    struct eve_hold *h = w->hold;
    if (!h) {
        output_write(o, b, n);
        return;
    }
    size_t need = h->len + 8 + n;
    if (need > h->cap) {
        size_t cap = h->cap ? h->cap : 2048;
        while (cap < need)
            cap *= 2;
        char *nb = realloc(h->buf, cap);
        if (!nb) {
            o->errors++; /* out of memory: the record is lost to that output, and counted */
            return;
        }
        h->buf = nb;
        h->cap = cap;
    }
    uint32_t hdr[2] = {(uint32_t)(o - w->outputs), (uint32_t)n};
    memcpy(h->buf + h->len, hdr, 8);
    memcpy(h->buf + h->len + 8, b, n);
    h->len = need;
}

void eve_hold_release(struct eve_writer *w, struct eve_hold *h)
{
    for (size_t at = 0; at + 8 <= h->len;) {
        uint32_t hdr[2];
        memcpy(hdr, h->buf + at, 8);
        if (hdr[0] < w->noutputs)
            output_write(&w->outputs[hdr[0]], h->buf + at + 8, hdr[1]);
        at += 8 + (size_t)hdr[1];
    }
    eve_hold_free(h);
}

void eve_hold_free(struct eve_hold *h)
{
    free(h->buf);
    memset(h, 0, sizeof(*h));
}

static void write_one(struct eve_writer *w, struct output *o)
{
    struct jb *j = &w->jb;
    if (!o->cfg->ethernet || !w->rec_ether || !w->pkt_eth || j->len < 2 || j->depth != 0) {
        put(w, o, j->buf, j->len);
        return;
    }
    char mac[2][18]; /* [0] dest, [1] src, as on the wire */
    for (int m = 0; m < 2; m++) {
        const uint8_t *a = w->pkt_eth + 6 * m;
        snprintf(mac[m], sizeof(mac[m]), "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2],
                 a[3], a[4], a[5]);
    }
    int sw = w->rec_ether_swap;
    size_t len0 = j->len;
    j->len = len0 - 1; /* reopen the top-level object */
    j->depth = 1;
    j->first[0] = 0;
    jb_kopen_object(j, JB_KEY("ether"));
    jb_kstr(j, JB_KEY("src_mac"), mac[sw ? 0 : 1]);
    jb_kstr(j, JB_KEY("dest_mac"), mac[sw ? 1 : 0]);
    jb_close(j);
    jb_close(j);
    if (!j->err)
        put(w, o, j->buf, j->len);
    j->err = 0;
    j->len = len0;
    j->buf[len0 - 1] = '}';
    j->depth = 0;
}

/* An RFC 9113 §7 / §6.5.2 name as Suricata's logger spells it: its Rust enum's name, from the
 * RFC's words ("NO_ERROR" is NoError), upper-cased whole for GOAWAY error codes and settings
 * ("NOERROR", "SETTINGS" "HEADERTABLESIZE"); a value without a name as its number. */
static void h2_name(char *out, size_t cap, const char *rfc, uint32_t value, int upper)
{
    if (!rfc) {
        snprintf(out, cap, "%u", value);
        return;
    }
    size_t n = 0;
    int word_start = 1;
    for (const char *p = rfc; *p && n + 1 < cap; p++) {
        if (*p == '_') {
            word_start = 1;
            continue;
        }
        char ch = *p;
        if (!upper && !word_start && ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        out[n++] = ch;
        word_start = 0;
    }
    out[n] = '\0';
}

static void http2_msg(struct jb *j, const char *key, const struct eve_h2_msg *m, int request)
{
    int prio = request && m->priority >= 0;
    if (!m->nset && !m->has_error && !prio)
        return; /* the schema wants at least one member */
    char name[48];
    jb_open_object(j, key);
    if (m->nset) {
        jb_kopen_array(j, JB_KEY("settings"));
        for (uint8_t i = 0; i < m->nset; i++) {
            const char *rfc = h2_setting_name(m->set_id[i]);
            jb_open_object(j, NULL);
            /* "SETTINGS_HEADER_TABLE_SIZE" is "SETTINGS" + HeaderTableSize, upper-cased */
            h2_name(name, sizeof(name), rfc, m->set_id[i], 1);
            jb_kstr(j, JB_KEY("settings_id"), name);
            jb_kuint(j, JB_KEY("settings_value"), m->set_val[i]);
            jb_close(j);
        }
        jb_close(j);
    }
    if (m->has_error) {
        h2_name(name, sizeof(name), h2_error_name(m->error_code), m->error_code,
                m->error_goaway);
        jb_kstr(j, JB_KEY("error_code"), name);
    }
    if (prio)
        jb_kuint(j, JB_KEY("priority"), (uint64_t)m->priority);
    if (m->multiple)
        jb_kstr(j, JB_KEY("has_multiple"), m->has_error ? "error_code" : "priority");
    jb_close(j);
}

void eve_http_object(struct jb *j, const struct eve_http *h)
{
    jb_kopen_object(j, JB_KEY("http"));
    if (h->hostname)
        jb_kstr(j, JB_KEY("hostname"), h->hostname);
    if (h->url)
        jb_kstr(j, JB_KEY("url"), h->url);
    if (h->user_agent)
        jb_kstr(j, JB_KEY("http_user_agent"), h->user_agent);
    if (h->content_type)
        jb_kstr(j, JB_KEY("http_content_type"), h->content_type);
    if (h->method)
        jb_kstr(j, JB_KEY("http_method"), h->method);
    if (h->protocol)
        jb_kstr(j, JB_KEY("protocol"), h->protocol);
    if (h->status)
        jb_kuint(j, JB_KEY("status"), (uint64_t)h->status);
    if (h->has_length)
        jb_kuint(j, JB_KEY("length"), h->length);
    if (h->head_oversized)
        jb_kbool(j, JB_KEY("head_oversized"), 1);
    if (h->http2) {
        jb_kopen_object(j, JB_KEY("http2"));
        jb_kuint(j, JB_KEY("stream_id"), h->http2->stream_id);
        http2_msg(j, "request", &h->http2->msg[0], 1);
        http2_msg(j, "response", &h->http2->msg[1], 0);
        jb_close(j);
    }
    jb_close(j);
}

/* The time-independent members of a token object, rendered once per verdict. Every string
 * comes from the token (or a key set seen on the wire) and goes through urlredact: a claim can
 * itself be a credential, e.g. a `sub` that is a JWT. */
static void render_static(struct verdict *v)
{
    const struct jwt_claims *c = &v->c;
    struct jb t;
    jb_init(&t, 1024);
    jb_open_object(&t, NULL);
    jb_str(&t, "sha256", v->sha256);
    jb_str(&t, "type", jwt_type_name(v->type));
    if (c->alg)
        url_redact_jb(&t, "alg", c->alg);
    if (c->kid)
        url_redact_jb(&t, "kid", c->kid);
    if (c->x5t)
        url_redact_jb(&t, "x5t", c->x5t);
    if (c->typ)
        url_redact_jb(&t, "typ", c->typ);
    if (c->iss)
        url_redact_jb(&t, "iss", c->iss);
    if (c->tid)
        url_redact_jb(&t, "tid", c->tid);
    if (c->aud)
        url_redact_jb(&t, "aud", c->aud);
    if (c->sub)
        url_redact_jb(&t, "sub", c->sub);
    if (c->appid)
        url_redact_jb(&t, "appid", c->appid);
    if (c->azp)
        url_redact_jb(&t, "azp", c->azp);
    if (c->has_iat)
        jb_int(&t, "iat", c->iat);
    if (c->has_nbf)
        jb_int(&t, "nbf", c->nbf);
    if (c->has_exp)
        jb_int(&t, "exp", c->exp);
    if (v->keyset)
        url_redact_jb(&t, "keyset", v->keyset);
    if (v->key_issuer)
        url_redact_jb(&t, "key_issuer", v->key_issuer);
    jb_str(&t, "signature", policy_sig_name(v->sig));
    if (!t.err) {
        v->json_len = t.len - 1; /* members only, without the opening brace */
        v->json = malloc(v->json_len);
        if (v->json)
            memcpy(v->json, t.buf + 1, v->json_len);
        else
            v->json_len = 0;
    }
    jb_release(&t);
}

/* eve_token_object(); *mark (when not NULL) gets where the findings array's elements start. */
static void token_object(struct jb *j, const char *key, struct verdict *v, const char *location,
                         uint32_t findings, int raw, int accepted, uint32_t *mark)
{
    if (!v->json)
        render_static(v);
    jb_open_object(j, key);
    jb_members(j, v->json, v->json_len);
    if (location)
        jb_kstr(j, JB_KEY("location"), location);
    jb_kopen_array(j, JB_KEY("findings"));
    if (mark)
        *mark = (uint32_t)j->len;
    for (int i = 0; i < F__COUNT; i++)
        if (findings & (1u << i))
            jb_str(j, NULL, policy_findings[i].code);
    jb_close(j);
    if (accepted >= 0)
        jb_kbool(j, JB_KEY("accepted"), accepted);
    if (raw)
        jb_kstrn(j, JB_KEY("raw"), v->token, v->token_len);
    jb_close(j);
}

void eve_token_object(struct jb *j, const char *key, struct verdict *v,
                      const char *location, uint32_t findings, int raw, int accepted)
{
    token_object(j, key, v, location, findings, raw, accepted, NULL);
}

/* Hands the finished record to each output that takes `type`; `raw_variant` is called to build
 * the raw-token variant only when some output asks for it. */
static void emit(struct eve_writer *w, uint32_t type, int want_raw_split)
{
    struct jb *j = &w->jb;
    if (j->err)
        return;
    for (size_t i = 0; i < w->noutputs; i++) {
        struct output *o = &w->outputs[i];
        if (!(o->cfg->types & type))
            continue;
        if (want_raw_split && o->cfg->raw_tokens != (want_raw_split == 2))
            continue;
        write_one(w, o);
    }
}

/* An alert whose finding or extra members are not the token's own (eve_write_fleet_alert). */
struct alert_opts {
    int top;                 /* the finding the alert is for */
    const char *note;        /* appended to its signature text */
    const char *extra;       /* top-level members appended to the record, or NULL */
    size_t extra_len;
};

static void alert_object(struct eve_writer *w, int top, int accepted, const struct alert_opts *ao);

static void token_record(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                         uint64_t ts_us, uint64_t tx_id, const struct eve_http *http,
                         struct verdict *v, enum token_location loc, uint32_t findings,
                         int alert, int raw, int accepted, const struct alert_opts *ao)
{
    struct jb *j = &w->jb;
    eve_begin(w, f, pfx, ts_us, alert ? "alert" : "token");
    jb_kuint(j, JB_KEY("tx_id"), tx_id);
    w->mark_alert = (uint32_t)j->len;
    if (alert)
        alert_object(w, ao ? ao->top : (int)policy_top_finding(findings), accepted, ao);
    eve_http_object(j, http);
    token_object(j, "token", v, token_location_name(loc), findings, raw, accepted,
                 &w->mark_finding);
    if (ao && ao->extra)
        jb_members(j, ao->extra, ao->extra_len);
    jb_close(j);
}

/* An alert record's `alert` object: for finding `top`. */
static void alert_object(struct eve_writer *w, int top, int accepted, const struct alert_opts *ao)
{
    struct jb *j = &w->jb;
    const struct finding_info *fi = &policy_findings[top];
    jb_kopen_object(j, JB_KEY("alert"));
    jb_kstr(j, JB_KEY("action"), "allowed");
    jb_kuint(j, JB_KEY("gid"), 1);
    jb_kuint(j, JB_KEY("signature_id"), fi->sid);
    jb_kuint(j, JB_KEY("rev"), 1);
    if ((fi->severity == 1 && accepted == 1) || (ao && ao->note)) {
        /* A forged token that worked is an intrusion, not an attempt: say so. */
        char sig[384];
        int n = snprintf(sig, sizeof(sig), "%s%s%s", fi->signature,
                         fi->severity == 1 && accepted == 1 ? ", accepted by the server" : "",
                         ao && ao->note ? ao->note : "");
        jb_kstrn(j, JB_KEY("signature"), sig, n > 0 && (size_t)n < sizeof(sig) ? (size_t)n : 0);
    } else {
        jb_kstr(j, JB_KEY("signature"), fi->signature);
    }
    jb_kstr(j, JB_KEY("category"), fi->category);
    jb_kuint(j, JB_KEY("severity"), (uint64_t)fi->severity);
    if (w->ntags) {
        /* Suricata's alert.metadata: an object of string arrays */
        jb_kopen_object(j, JB_KEY("metadata"));
        jb_kopen_array(j, JB_KEY("tags"));
        for (size_t i = 0; i < w->ntags; i++)
            jb_str(j, NULL, w->tags[i]);
        jb_close(j);
        jb_close(j);
    }
    jb_close(j);
}

/* Whether output configuration oc takes the token record of raw class `raw` (its token-events:
 * all, or first and this is the token's first use in its flow). */
static int takes_token(const struct eve_output_cfg *oc, int raw, int first)
{
    return (oc->types & EVE_T_TOKEN) && oc->raw_tokens == raw &&
           (oc->token_events == TOKEN_EVENTS_ALL ||
            (oc->token_events == TOKEN_EVENTS_FIRST && first));
}

/* The finished token record to each output that takes it. */
static void write_token_record(struct eve_writer *w, int raw, int first)
{
    for (size_t i = 0; i < w->noutputs; i++)
        if (takes_token(w->outputs[i].cfg, raw, first))
            write_one(w, &w->outputs[i]);
}

/* ---- a token's records with a finding more, derived from its token record -------------- */

/* Keeps the token record just rendered (raw class `raw`, no finding) in w->lazy: a copy of its
 * bytes, where its event_type value, the alert object's place and the findings array are, and
 * what write_one() would add to it (the record's MACs). */
static void lazy_keep(struct eve_writer *w, int raw, int first, int accepted)
{
    struct eve_lazy *lz = w->lazy;
    const struct jb *j = &w->jb;
    static const char key[] = "\"event_type\":\"";
    const char *t = memmem(j->buf, j->len, key, sizeof(key) - 1);
    if (!t || j->len > UINT32_MAX || w->mark_finding > j->len || w->mark_alert > j->len)
        return;
    size_t at_type = (size_t)(t - j->buf) + sizeof(key) - 1;
    if (at_type + 6 > w->mark_alert || memcmp(j->buf + at_type, "token\"", 6) != 0 ||
        w->mark_alert > w->mark_finding || j->buf[w->mark_finding - 1] != '[' ||
        j->buf[w->mark_finding] != ']')
        return; /* not the shape this derives from: the caller renders both ways */
    char *c = malloc(j->len);
    if (!c)
        return;
    memcpy(c, j->buf, j->len);
    free(lz->rec[raw]);
    lz->rec[raw] = c;
    lz->len[raw] = (uint32_t)j->len;
    lz->at_type[raw] = (uint32_t)at_type;
    lz->at_alert[raw] = w->mark_alert;
    lz->at_finding[raw] = w->mark_finding;
    lz->first = (uint8_t)(first != 0);
    lz->accepted = (int8_t)(accepted < 0 ? -1 : accepted != 0);
    lz->ether = w->rec_ether && w->pkt_eth;
    lz->ether_swap = w->rec_ether_swap;
    if (lz->ether)
        memcpy(lz->eth, w->pkt_eth, sizeof(lz->eth));
    lz->have |= (uint8_t)(1u << raw);
}

int eve_lazy_complete(const struct eve_lazy *lz)
{
    return lz->need && (lz->have & lz->need) == lz->need;
}

void eve_lazy_reset(struct eve_lazy *lz)
{
    free(lz->rec[0]);
    free(lz->rec[1]);
    memset(lz, 0, sizeof(*lz));
}

/* A finding's code as the one element of the (empty) findings array being resumed. */
static void lazy_finding(struct jb *j, const char *code)
{
    jb_verbatim(j, "\"", 1, -1);
    jb_verbatim(j, code, strlen(code), -1); /* a plain identifier: nothing to escape */
    jb_verbatim(j, "\"", 1, -1);
}

void eve_lazy_write(struct eve_writer *w, const struct eve_lazy *lz, int finding)
{
    struct jb *j = &w->jb;
    const char *code = policy_findings[finding].code;
    /* write_one's view of the record: the MACs of the packet that made it */
    uint8_t ether = w->rec_ether, swap = w->rec_ether_swap;
    const uint8_t *eth = w->pkt_eth;
    w->rec_ether = lz->ether;
    w->rec_ether_swap = lz->ether_swap;
    w->pkt_eth = lz->ether ? lz->eth : NULL;
    for (int raw = 0; raw <= 1; raw++) {
        if (!(lz->need & (1u << raw)) || !lz->rec[raw])
            continue;
        const char *r = lz->rec[raw];
        uint32_t n = lz->len[raw], ta = lz->at_type[raw], aa = lz->at_alert[raw],
                 fa = lz->at_finding[raw];
        /* the alert: the token record as "alert", its `alert` object after tx_id */
        jb_reset(j);
        jb_verbatim(j, r, ta, -1);
        jb_verbatim(j, "alert", 5, -1);
        jb_verbatim(j, r + ta + 5, aa - ta - 5, 1);
        alert_object(w, finding, lz->accepted, NULL);
        jb_verbatim(j, r + aa, fa - aa, -1);
        lazy_finding(j, code);
        jb_verbatim(j, r + fa, n - fa, 0);
        emit(w, EVE_T_ALERT, raw ? 2 : 1);
        /* the token record, the finding in its array */
        jb_reset(j);
        jb_verbatim(j, r, fa, -1);
        lazy_finding(j, code);
        jb_verbatim(j, r + fa, n - fa, 0);
        if (!j->err)
            write_token_record(w, raw, lz->first);
    }
    w->rec_ether = ether;
    w->rec_ether_swap = swap;
    w->pkt_eth = eth;
}

void eve_write_token(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                     uint64_t ts_us, uint64_t tx_id, const struct eve_http *http,
                     struct verdict *v, enum token_location loc,
                     uint32_t findings, int first_in_flow, int accepted)
{
    int any_raw = 0, any_plain = 0;
    for (size_t i = 0; i < w->noutputs; i++) {
        if (w->outputs[i].cfg->raw_tokens)
            any_raw = 1;
        else
            any_plain = 1;
    }
    if (w->lazy)
        w->lazy->need = (uint8_t)(any_plain | any_raw << 1);
    for (int raw = 0; raw <= 1; raw++) {
        if ((raw && !any_raw) || (!raw && !any_plain))
            continue;
        if (findings) {
            token_record(w, f, pfx, ts_us, tx_id, http, v, loc, findings, 1, raw, accepted, NULL);
            emit(w, EVE_T_ALERT, raw ? 2 : 1);
        }
        /* token records honour each output's token-events */
        int wanted = 0;
        for (size_t i = 0; i < w->noutputs; i++)
            wanted |= takes_token(w->outputs[i].cfg, raw, first_in_flow);
        if (!wanted)
            continue;
        token_record(w, f, pfx, ts_us, tx_id, http, v, loc, findings, 0, raw, accepted, NULL);
        struct jb *j = &w->jb;
        if (j->err)
            continue;
        if (w->lazy && !findings)
            lazy_keep(w, raw, first_in_flow, accepted);
        write_token_record(w, raw, first_in_flow);
    }
}

void eve_write_fleet_alert(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                           uint64_t ts_us, uint64_t tx_id, const struct eve_http *http,
                           struct verdict *v, enum token_location loc, uint32_t findings,
                           int accepted, int top, const char *note, const char *extra,
                           size_t extra_len)
{
    struct alert_opts ao = {.top = top, .note = note, .extra = extra, .extra_len = extra_len};
    for (int raw = 0; raw <= 1; raw++) {
        int any = 0;
        for (size_t i = 0; i < w->noutputs; i++)
            if ((w->outputs[i].cfg->types & EVE_T_ALERT) && w->outputs[i].cfg->raw_tokens == raw)
                any = 1;
        if (!any)
            continue;
        token_record(w, f, pfx, ts_us, tx_id, http, v, loc, findings, 1, raw, accepted, &ao);
        emit(w, EVE_T_ALERT, raw ? 2 : 1);
    }
}

void eve_hold_release_with(struct eve_writer *w, struct eve_hold *h, const char *extra,
                           size_t extra_len)
{
    char *buf = NULL;
    size_t cap = 0;
    for (size_t at = 0; at + 8 <= h->len;) {
        uint32_t hdr[2];
        memcpy(hdr, h->buf + at, 8);
        const char *rec = h->buf + at + 8;
        at += 8 + (size_t)hdr[1];
        if (hdr[0] >= w->noutputs)
            continue;
        struct output *o = &w->outputs[hdr[0]];
        size_t need = hdr[1] + 1 + extra_len;
        if (!extra_len || hdr[1] < 2 || rec[hdr[1] - 1] != '}') {
            output_write(o, rec, hdr[1]);
            continue;
        }
        if (need > cap) {
            char *nb = realloc(buf, need);
            if (!nb) {
                o->errors++; /* out of memory: the record is lost to that output, and counted */
                continue;
            }
            buf = nb;
            cap = need;
        }
        /* "...}" -> "...,EXTRA}" */
        memcpy(buf, rec, hdr[1] - 1);
        buf[hdr[1] - 1] = ',';
        memcpy(buf + hdr[1], extra, extra_len);
        buf[need - 1] = '}';
        output_write(o, buf, need);
    }
    free(buf);
    eve_hold_free(h);
}

void eve_write_http(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                    uint64_t ts_us, uint64_t tx_id, const struct eve_http *http)
{
    eve_begin(w, f, pfx, ts_us, "http");
    jb_uint(&w->jb, "tx_id", tx_id);
    eve_http_object(&w->jb, http);
    jb_close(&w->jb);
    emit(w, EVE_T_HTTP, 0);
}

/* Suricata's flow end reasons: an idle flow, open or closed, times out; one pushed out early
 * (memcap eviction, a new connection on its 5-tuple) is forced; the rest end at shutdown. */
static const char *flow_reason(const char *reason)
{
    if (!reason || !strcmp(reason, "shutdown"))
        return "shutdown";
    if (!strcmp(reason, "timeout") || !strcmp(reason, "closed"))
        return "timeout";
    return "forced";
}

void eve_write_flow(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                    const char *reason, int alerted)
{
    struct jb *j = &w->jb;
    char t[40];
    int c = f->client, sv = !f->client;
    eve_begin(w, f, pfx, *w->now_us, "flow");
    jb_kopen_object(j, JB_KEY("flow"));
    jb_kuint(j, JB_KEY("pkts_toserver"), f->pkts[c]);
    jb_kuint(j, JB_KEY("pkts_toclient"), f->pkts[sv]);
    jb_kuint(j, JB_KEY("bytes_toserver"), f->bytes[c]);
    jb_kuint(j, JB_KEY("bytes_toclient"), f->bytes[sv]);
    eve_format_time(f->first_us, t, sizeof(t));
    jb_kstr(j, JB_KEY("start"), t);
    eve_format_time(f->last_us, t, sizeof(t));
    jb_kstr(j, JB_KEY("end"), t);
    jb_kuint(j, JB_KEY("age"), f->last_us > f->first_us ? (f->last_us - f->first_us) / 1000000 : 0);
    jb_kstr(j, JB_KEY("state"),
            f->closed ? "closed" : f->pkts[0] && f->pkts[1] ? "established" : "new");
    jb_kstr(j, JB_KEY("reason"), flow_reason(reason));
    jb_kbool(j, JB_KEY("alerted"), alerted);
    jb_close(j);
    jb_close(j);
    emit(w, EVE_T_FLOW, 0);
}

void eve_write_anomaly(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                       const char *type, const char *event, const char *layer,
                       const char *app_proto)
{
    struct jb *j = &w->jb;
    eve_begin(w, f, pfx, *w->now_us, "anomaly");
    jb_kopen_object(j, JB_KEY("anomaly"));
    if (app_proto)
        jb_kstr(j, JB_KEY("app_proto"), app_proto);
    jb_kstr(j, JB_KEY("type"), type);
    jb_kstr(j, JB_KEY("event"), event);
    if (layer)
        jb_kstr(j, JB_KEY("layer"), layer);
    jb_close(j);
    jb_close(j);
    emit(w, EVE_T_ANOMALY, 0);
}

/* At most one record per decoder event per second of packet time, and EVE_DECODE_MAX_PER_SEC
 * in all: a flood of broken packets costs a few lines a second, not one per packet. */
#define EVE_DECODE_MAX_PER_SEC 16

void eve_anomaly_decode(struct eve_writer *w, enum event_id event, int linktype,
                        const uint8_t *data, uint32_t caplen)
{
    const struct event_info *ev = events_get(event);
    uint64_t sec = *w->now_us / 1000000;
    const size_t nslots = sizeof(w->anom_event) / sizeof(w->anom_event[0]);
    size_t slot = nslots, oldest = 0;
    for (size_t i = 0; i < nslots; i++) {
        if (w->anom_event[i] == ev->id) {
            slot = i;
            break;
        }
        if (w->anom_sec[i] < w->anom_sec[oldest] || w->anom_event[i] == EV_NONE)
            oldest = i;
    }
    if (slot < nslots && w->anom_sec[slot] == sec)
        return;
    if (w->anom_count_sec != sec) {
        w->anom_count_sec = sec;
        w->anom_count = 0;
    }
    if (w->anom_count >= EVE_DECODE_MAX_PER_SEC)
        return;
    w->anom_count++;
    if (slot == nslots)
        slot = oldest;
    w->anom_event[slot] = ev->id;
    w->anom_sec[slot] = sec;

    struct jb *j = &w->jb;
    eve_begin(w, NULL, NULL, *w->now_us, "anomaly");
    if (w->in_iface)
        jb_kstr(j, JB_KEY("in_iface"), w->in_iface);
    else {
        if (w->pcap_index < w->npcap_names)
            jb_kstr(j, JB_KEY("pcap_filename"), w->pcap_names[w->pcap_index]);
        jb_kuint(j, JB_KEY("pcap_cnt"), w->pcap_cnt);
    }
    jb_kopen_object(j, JB_KEY("anomaly"));
    jb_kstr(j, JB_KEY("type"), ev->type);
    jb_kstr(j, JB_KEY("event"), ev->name);
    if (ev->layer)
        jb_kstr(j, JB_KEY("layer"), ev->layer);
    jb_close(j);
    jb_close(j);
    w->rec_ether = linktype == DECODE_LINK_ETHERNET && caplen >= 14 && data == w->pkt_eth;
    w->rec_ether_swap = 0;
    emit(w, EVE_T_ANOMALY, 0);
}

void eve_emit(struct eve_writer *w, uint32_t type)
{
    emit(w, type, 0);
}
