/* eve.c — EVE record construction (see eve.h). Owns nothing: it fills the sensor's builder and
 * hands the bytes to the outputs. Field names follow Suricata's EVE (etc/schema.json).
 */
#include "eve.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_names.h"
#include "defrag.h"
#include "events.h"
#include "output.h"
#include "urlredact.h"

void eve_format_time(uint64_t ts_us, char *buf, size_t buflen)
{
    time_t sec = (time_t)(ts_us / 1000000);
    struct tm tm;
    gmtime_r(&sec, &tm);
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
static void render_prefix(struct sensor *s, const struct flow *f, struct eve_prefix *pfx)
{
    struct jb j;
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], cid[64];
    jb_init(&j, 512);
    jb_open_object(&j, NULL);
    jb_uint(&j, "flow_id", f->flow_id);
    if (s->in_iface)
        jb_str(&j, "in_iface", s->in_iface);
    else if (f->pcap_file < s->npcap_names)
        jb_str(&j, "pcap_filename", s->pcap_names[f->pcap_file]);
    if (f->key.vlan_count) {
        jb_open_array(&j, "vlan");
        for (int i = 0; i < f->key.vlan_count; i++)
            jb_uint(&j, NULL, f->key.vlan[i]);
        jb_close(&j);
    }
    int c = f->client, sv = !f->client;
    addr_str(f, c, a, sizeof(a));
    addr_str(f, sv, b, sizeof(b));
    jb_str(&j, "src_ip", a);
    jb_uint(&j, "src_port", f->key.port[c]);
    jb_str(&j, "dest_ip", b);
    jb_uint(&j, "dest_port", f->key.port[sv]);
    jb_str(&j, "proto", "TCP");
    flow_community_id(f, cid, sizeof(cid));
    jb_str(&j, "community_id", cid);
    jb_str(&j, "app_proto", "http");
    if (pfx->tunnel_depth) {
        static const char *const names[] = {
            [TUNNEL_MPLS] = "MPLS",     [TUNNEL_PPPOE] = "PPPOE",   [TUNNEL_GRE] = "GRE",
            [TUNNEL_ERSPAN2] = "ERSPAN", [TUNNEL_ERSPAN3] = "ERSPAN", [TUNNEL_VXLAN] = "VXLAN",
            [TUNNEL_GENEVE] = "GENEVE", [TUNNEL_IPIP] = "IPIP",     [TUNNEL_IP6IP] = "IPV6",
        };
        const struct packet_tunnel *t = &pfx->tunnel;
        jb_open_object(&j, "tunnel");
        if (t->ip_version) {
            char ta[INET6_ADDRSTRLEN], tb[INET6_ADDRSTRLEN];
            int af = t->ip_version == 6 ? AF_INET6 : AF_INET;
            inet_ntop(af, t->src, ta, sizeof(ta));
            inet_ntop(af, t->dst, tb, sizeof(tb));
            jb_str(&j, "src_ip", ta);
            jb_str(&j, "dest_ip", tb);
        }
        const char *name = t->kind < sizeof(names) / sizeof(names[0]) ? names[t->kind] : NULL;
        jb_str(&j, "proto", name ? name : "unknown");
        jb_uint(&j, "depth", pfx->tunnel_depth);
        jb_close(&j);
    }
    if (pfx->ndpi_proto[0]) {
        jb_open_object(&j, "ndpi");
        jb_str(&j, "protocol", pfx->ndpi_proto);
        if (pfx->ndpi_category)
            jb_str(&j, "category", pfx->ndpi_category);
        jb_close(&j);
    }
    memcpy(pfx->rendered_proto, pfx->ndpi_proto, sizeof(pfx->rendered_proto));
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
static void put_time(struct sensor *s, struct jb *j, uint64_t ts_us)
{
    uint64_t sec = ts_us / 1000000;
    if (!s->tcache[0] || s->tcache_sec != sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(s->tcache, sizeof(s->tcache), "%Y-%m-%dT%H:%M:%S.", &tm);
        s->tcache_sec = sec;
    }
    char buf[48];
    size_t n = strlen(s->tcache);
    memcpy(buf, s->tcache, n);
    uint32_t us = (uint32_t)(ts_us % 1000000);
    for (int i = 5; i >= 0; i--) {
        buf[n + (size_t)i] = (char)('0' + us % 10);
        us /= 10;
    }
    memcpy(buf + n + 6, "+0000", 5);
    jb_strn(j, "timestamp", buf, n + 11);
}

/* Common fields. Leaves the top-level object open. */
void eve_begin(struct sensor *s, const struct flow *f, struct eve_prefix *pfx,
                   uint64_t ts_us, const char *type)
{
    struct jb *j = &s->jb;
    jb_reset(j);
    jb_open_object(j, NULL);
    put_time(s, j, ts_us);
    jb_str(j, "event_type", type);
    if (s->cfg && s->cfg->sensor_name)
        jb_str(j, "host", s->cfg->sensor_name);
    s->rec_ether = 0;
    if (!f)
        return;
    if (!pfx->buf || pfx->client != f->client ||
        strcmp(pfx->rendered_proto, pfx->ndpi_proto) != 0)
        render_prefix(s, f, pfx);
    jb_members(j, pfx->buf, pfx->len);
    /* Made by a packet of this flow (not a timeout or shutdown): that packet's number and MACs. */
    if (f == s->pkt_flow) {
        if (!s->in_iface)
            jb_uint(j, "pcap_cnt", s->pcap_cnt);
        if (s->pkt_eth) {
            s->rec_ether = 1;
            s->rec_ether_swap = s->pkt_side != f->client; /* src_mac goes with src_ip */
        }
    }
}

/* Writes the finished record to o; outputs with `ethernet: yes` get the `ether` object appended
 * as the last member (the record is extended in place, then restored). */
static void write_one(struct sensor *s, struct output *o)
{
    struct jb *j = &s->jb;
    if (!o->cfg->ethernet || !s->rec_ether || !s->pkt_eth || j->len < 2 || j->depth != 0) {
        output_write(o, j->buf, j->len);
        return;
    }
    char mac[2][18]; /* [0] dest, [1] src, as on the wire */
    for (int m = 0; m < 2; m++) {
        const uint8_t *a = s->pkt_eth + 6 * m;
        snprintf(mac[m], sizeof(mac[m]), "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2],
                 a[3], a[4], a[5]);
    }
    int sw = s->rec_ether_swap;
    size_t len0 = j->len;
    j->len = len0 - 1; /* reopen the top-level object */
    j->depth = 1;
    j->first[0] = 0;
    jb_open_object(j, "ether");
    jb_str(j, "src_mac", mac[sw ? 0 : 1]);
    jb_str(j, "dest_mac", mac[sw ? 1 : 0]);
    jb_close(j);
    jb_close(j);
    if (!j->err)
        output_write(o, j->buf, j->len);
    j->err = 0;
    j->len = len0;
    j->buf[len0 - 1] = '}';
    j->depth = 0;
}

void eve_http_object(struct jb *j, const struct eve_http *h)
{
    jb_open_object(j, "http");
    if (h->hostname)
        jb_str(j, "hostname", h->hostname);
    if (h->url)
        jb_str(j, "url", h->url);
    if (h->user_agent)
        jb_str(j, "http_user_agent", h->user_agent);
    if (h->content_type)
        jb_str(j, "http_content_type", h->content_type);
    if (h->method)
        jb_str(j, "http_method", h->method);
    if (h->protocol)
        jb_str(j, "protocol", h->protocol);
    if (h->status)
        jb_uint(j, "status", (uint64_t)h->status);
    if (h->has_length)
        jb_uint(j, "length", h->length);
    if (h->head_oversized)
        jb_bool(j, "head_oversized", 1);
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

void eve_token_object(struct jb *j, const char *key, struct verdict *v,
                      const char *location, uint32_t findings, int raw, int accepted)
{
    if (!v->json)
        render_static(v);
    jb_open_object(j, key);
    jb_members(j, v->json, v->json_len);
    if (location)
        jb_str(j, "location", location);
    jb_open_array(j, "findings");
    for (int i = 0; i < F__COUNT; i++)
        if (findings & (1u << i))
            jb_str(j, NULL, policy_findings[i].code);
    jb_close(j);
    if (accepted >= 0)
        jb_bool(j, "accepted", accepted);
    if (raw)
        jb_strn(j, "raw", v->token, v->token_len);
    jb_close(j);
}

/* Hands the finished record to each output that takes `type`; `raw_variant` is called to build
 * the raw-token variant only when some output asks for it. */
static void emit(struct sensor *s, uint32_t type, int want_raw_split)
{
    struct jb *j = &s->jb;
    if (j->err)
        return;
    for (size_t i = 0; i < s->noutputs; i++) {
        struct output *o = &s->outputs[i];
        if (!(o->cfg->types & type))
            continue;
        if (want_raw_split && o->cfg->raw_tokens != (want_raw_split == 2))
            continue;
        write_one(s, o);
    }
}

static void token_record(struct sensor *s, const struct flow *f, struct eve_prefix *pfx,
                         uint64_t ts_us, uint64_t tx_id, const struct eve_http *http,
                         struct verdict *v, enum token_location loc, uint32_t findings,
                         int alert, int raw, int accepted)
{
    struct jb *j = &s->jb;
    eve_begin(s, f, pfx, ts_us, alert ? "alert" : "token");
    jb_uint(j, "tx_id", tx_id);
    if (alert) {
        const struct finding_info *fi = &policy_findings[policy_top_finding(findings)];
        jb_open_object(j, "alert");
        jb_str(j, "action", "allowed");
        jb_uint(j, "gid", 1);
        jb_uint(j, "signature_id", fi->sid);
        jb_uint(j, "rev", 1);
        if (fi->severity == 1 && accepted == 1) {
            /* A forged token that worked is an intrusion, not an attempt: say so. */
            char sig[256];
            int n = snprintf(sig, sizeof(sig), "%s, accepted by the server", fi->signature);
            jb_strn(j, "signature", sig, n > 0 && (size_t)n < sizeof(sig) ? (size_t)n : 0);
        } else {
            jb_str(j, "signature", fi->signature);
        }
        jb_str(j, "category", fi->category);
        jb_uint(j, "severity", (uint64_t)fi->severity);
        if (s->cfg && s->cfg->nsensor_tags) {
            /* Suricata's alert.metadata: an object of string arrays */
            jb_open_object(j, "metadata");
            jb_open_array(j, "tags");
            for (size_t i = 0; i < s->cfg->nsensor_tags; i++)
                jb_str(j, NULL, s->cfg->sensor_tags[i]);
            jb_close(j);
            jb_close(j);
        }
        jb_close(j);
    }
    eve_http_object(j, http);
    eve_token_object(j, "token", v, token_location_name(loc), findings, raw, accepted);
    jb_close(j);
}

void eve_write_token(struct sensor *s, const struct flow *f, struct eve_prefix *pfx,
                     uint64_t ts_us, uint64_t tx_id, const struct eve_http *http,
                     struct verdict *v, enum token_location loc,
                     uint32_t findings, int first_in_flow, int accepted)
{
    int any_raw = 0, any_plain = 0;
    for (size_t i = 0; i < s->noutputs; i++) {
        if (s->outputs[i].cfg->raw_tokens)
            any_raw = 1;
        else
            any_plain = 1;
    }
    for (int raw = 0; raw <= 1; raw++) {
        if ((raw && !any_raw) || (!raw && !any_plain))
            continue;
        if (findings) {
            token_record(s, f, pfx, ts_us, tx_id, http, v, loc, findings, 1, raw, accepted);
            emit(s, EVE_T_ALERT, raw ? 2 : 1);
        }
        /* token records honour each output's token-events */
        int wanted = 0;
        for (size_t i = 0; i < s->noutputs; i++) {
            const struct eve_output_cfg *oc = s->outputs[i].cfg;
            if (!(oc->types & EVE_T_TOKEN) || oc->raw_tokens != raw)
                continue;
            if (oc->token_events == TOKEN_EVENTS_ALL ||
                (oc->token_events == TOKEN_EVENTS_FIRST && first_in_flow))
                wanted = 1;
        }
        if (!wanted)
            continue;
        token_record(s, f, pfx, ts_us, tx_id, http, v, loc, findings, 0, raw, accepted);
        struct jb *j = &s->jb;
        if (j->err)
            continue;
        for (size_t i = 0; i < s->noutputs; i++) {
            struct output *o = &s->outputs[i];
            const struct eve_output_cfg *oc = o->cfg;
            if (!(oc->types & EVE_T_TOKEN) || oc->raw_tokens != raw)
                continue;
            if (oc->token_events == TOKEN_EVENTS_ALL ||
                (oc->token_events == TOKEN_EVENTS_FIRST && first_in_flow))
                write_one(s, o);
        }
    }
}

void eve_write_http(struct sensor *s, const struct flow *f, struct eve_prefix *pfx,
                    uint64_t ts_us, uint64_t tx_id, const struct eve_http *http)
{
    eve_begin(s, f, pfx, ts_us, "http");
    jb_uint(&s->jb, "tx_id", tx_id);
    eve_http_object(&s->jb, http);
    jb_close(&s->jb);
    emit(s, EVE_T_HTTP, 0);
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

void eve_write_flow(struct sensor *s, const struct flow *f, struct eve_prefix *pfx,
                    const char *reason, int alerted)
{
    struct jb *j = &s->jb;
    char t[40];
    int c = f->client, sv = !f->client;
    eve_begin(s, f, pfx, s->now_us, "flow");
    jb_open_object(j, "flow");
    jb_uint(j, "pkts_toserver", f->pkts[c]);
    jb_uint(j, "pkts_toclient", f->pkts[sv]);
    jb_uint(j, "bytes_toserver", f->bytes[c]);
    jb_uint(j, "bytes_toclient", f->bytes[sv]);
    eve_format_time(f->first_us, t, sizeof(t));
    jb_str(j, "start", t);
    eve_format_time(f->last_us, t, sizeof(t));
    jb_str(j, "end", t);
    jb_uint(j, "age", f->last_us > f->first_us ? (f->last_us - f->first_us) / 1000000 : 0);
    jb_str(j, "state", f->closed ? "closed" : f->pkts[0] && f->pkts[1] ? "established" : "new");
    jb_str(j, "reason", flow_reason(reason));
    jb_bool(j, "alerted", alerted);
    jb_close(j);
    jb_close(j);
    emit(s, EVE_T_FLOW, 0);
}

void eve_write_anomaly(struct sensor *s, const struct flow *f, struct eve_prefix *pfx,
                       const char *type, const char *event, const char *layer,
                       const char *app_proto)
{
    struct jb *j = &s->jb;
    eve_begin(s, f, pfx, s->now_us, "anomaly");
    jb_open_object(j, "anomaly");
    if (app_proto)
        jb_str(j, "app_proto", app_proto);
    jb_str(j, "type", type);
    jb_str(j, "event", event);
    if (layer)
        jb_str(j, "layer", layer);
    jb_close(j);
    jb_close(j);
    emit(s, EVE_T_ANOMALY, 0);
}

/* At most one record per decoder event per second of packet time, and EVE_DECODE_MAX_PER_SEC
 * in all: a flood of broken packets costs a few lines a second, not one per packet. */
#define EVE_DECODE_MAX_PER_SEC 16

void eve_anomaly_decode(struct sensor *s, enum event_id event, int linktype, const uint8_t *data,
                        uint32_t caplen)
{
    const struct event_info *ev = events_get(event);
    uint64_t sec = s->now_us / 1000000;
    const size_t nslots = sizeof(s->anom_event) / sizeof(s->anom_event[0]);
    size_t slot = nslots, oldest = 0;
    for (size_t i = 0; i < nslots; i++) {
        if (s->anom_event[i] == ev->id) {
            slot = i;
            break;
        }
        if (s->anom_sec[i] < s->anom_sec[oldest] || s->anom_event[i] == EV_NONE)
            oldest = i;
    }
    if (slot < nslots && s->anom_sec[slot] == sec)
        return;
    if (s->anom_count_sec != sec) {
        s->anom_count_sec = sec;
        s->anom_count = 0;
    }
    if (s->anom_count >= EVE_DECODE_MAX_PER_SEC)
        return;
    s->anom_count++;
    if (slot == nslots)
        slot = oldest;
    s->anom_event[slot] = ev->id;
    s->anom_sec[slot] = sec;

    struct jb *j = &s->jb;
    eve_begin(s, NULL, NULL, s->now_us, "anomaly");
    if (s->in_iface)
        jb_str(j, "in_iface", s->in_iface);
    else {
        if (s->pcap_index < s->npcap_names)
            jb_str(j, "pcap_filename", s->pcap_names[s->pcap_index]);
        jb_uint(j, "pcap_cnt", s->pcap_cnt);
    }
    jb_open_object(j, "anomaly");
    jb_str(j, "type", "decode");
    jb_str(j, "event", ev->name);
    if (ev->layer)
        jb_str(j, "layer", ev->layer);
    jb_close(j);
    jb_close(j);
    s->rec_ether = linktype == DECODE_LINK_ETHERNET && caplen >= 14 && data == s->pkt_eth;
    s->rec_ether_swap = 0;
    emit(s, EVE_T_ANOMALY, 0);
}

void eve_write_stats_counters(struct sensor *s, uint64_t ts_us, const struct sensor_counters *c)
{
    struct jb *j = &s->jb;
    const struct sensor_stats *st = &c->st;
    const struct flow_stats *fs = &c->fs;
    const struct vcache_stats *vs = &c->vs;
    eve_begin(s, NULL, NULL, ts_us, "stats");
    jb_open_object(j, "stats");
    jb_uint(j, "uptime", c->uptime_s);
    jb_open_object(j, "capture");
    jb_uint(j, "kernel_packets", st->kernel_packets);
    jb_uint(j, "kernel_drops", st->kernel_drops);
    jb_uint(j, "kernel_ifdrops", st->kernel_ifdrops);
    jb_uint(j, "errors", st->capture_errors);
    jb_uint(j, "worker_drops", st->worker_drops);
    jb_close(j);
    jb_open_object(j, "decoder");
    jb_uint(j, "pkts", st->pkts);
    jb_uint(j, "bytes", st->bytes);
    jb_uint(j, "invalid", st->invalid);
    jb_uint(j, "skipped", st->skipped);
    jb_close(j);
    jb_open_object(j, "flow");
    jb_uint(j, "total", fs->total);
    jb_uint(j, "active", fs->active);
    jb_uint(j, "memcap", fs->memcap);
    jb_uint(j, "timeout", fs->timed_out);
    jb_uint(j, "reused", fs->reused);
    jb_close(j);
    const struct defrag_stats *ds = &c->ds;
    jb_open_object(j, "defrag");
    jb_uint(j, "fragments", ds->fragments);
    jb_uint(j, "reassembled", ds->reassembled);
    jb_uint(j, "timeouts", ds->timeouts);
    jb_uint(j, "memcap_drops", ds->memcap_drops);
    jb_uint(j, "overlaps", ds->overlaps);
    jb_uint(j, "overlap_diff", ds->overlap_diff);
    jb_uint(j, "invalid", ds->invalid);
    jb_uint(j, "memuse", c->defrag_memuse);
    jb_close(j);
    jb_open_object(j, "tcp");
    jb_uint(j, "reassembly_gap", c->ss.gaps);
    jb_uint(j, "segment_memcap_drop", c->ss.memcap_drops);
    jb_uint(j, "overlap", c->ss.overlaps);
    jb_uint(j, "overlap_diff_data", c->ss.overlap_diff);
    jb_uint(j, "rst_invalid", c->ss.rst_invalid);
    jb_close(j);
    jb_open_object(j, "app_layer");
    jb_open_object(j, "tx");
    jb_uint(j, "http", st->http_tx);
    jb_close(j);
    jb_open_object(j, "error");
    jb_open_object(j, "http");
    jb_uint(j, "parser", st->http_errors);
    jb_uint(j, "head_overflow", st->http_head_overflow);
    jb_uint(j, "head_fields_cut", st->http_head_fields_cut);
    jb_uint(j, "memcap", st->http_memcap);
    jb_close(j);
    jb_close(j);
    jb_open_object(j, "body");
    jb_uint(j, "scanned", st->body_scanned);
    jb_uint(j, "truncated", st->body_truncated);
    jb_uint(j, "inflate_bombs", st->inflate_bombs);
    jb_uint(j, "inflate_errors", st->inflate_errors);
    jb_uint(j, "undecodable", st->body_undecodable);
    jb_close(j);
    jb_close(j);
    jb_open_object(j, "tokens");
    jb_uint(j, "seen", st->tokens_seen);
    jb_uint(j, "distinct", c->tokens_distinct);
    jb_uint(j, "verified", st->tokens_verified);
    jb_uint(j, "cache_hits", vs->hits);
    jb_uint(j, "cache_misses", vs->misses);
    jb_uint(j, "cache_evictions", vs->evictions);
    /* token_replay (replay.h): occurrences checked, entries evicted at the memcap, bytes held */
    jb_uint(j, "replay_checks", c->rs.checks);
    jb_uint(j, "replay_evictions", c->rs.evictions);
    jb_uint(j, "replay_memuse", c->replay_memuse);
    jb_close(j);
    /* this run's EVE outputs, all workers: records delivered, dropped (queue full or left at
     * exit), lost to errors (file write errors, records a sink rejected), reconnects (async
     * sinks); then per output (the first SENSOR_STATS_OUTPUTS), in configuration order */
    jb_open_object(j, "eve");
    jb_uint(j, "written", c->os.written);
    jb_uint(j, "dropped", c->os.dropped);
    jb_uint(j, "errors", c->os.errors);
    jb_uint(j, "reconnects", c->os.reconnects);
    jb_open_array(j, "outputs");
    for (size_t i = 0; i < s->noutputs && i < SENSOR_STATS_OUTPUTS; i++) {
        const struct eve_output_cfg *oc = s->outputs[i].cfg;
        const struct output_stats *x = &c->os_out[i];
        jb_open_object(j, NULL);
        jb_str(j, "filetype", oc->filetype >= 0 && oc->filetype < CFG_NFILETYPES
                                  ? cfg_filetype_names[oc->filetype] : "?");
        if (oc->filetype <= EVE_FT_UNIX_STREAM)
            jb_str(j, "filename", oc->filename ? oc->filename : "eve.json");
        jb_uint(j, "written", x->written);
        jb_uint(j, "dropped", x->dropped);
        jb_uint(j, "errors", x->errors);
        jb_uint(j, "reconnects", x->reconnects);
        jb_close(j);
    }
    jb_close(j);
    jb_close(j);
    jb_open_object(j, "alerts");
    jb_uint(j, "total", st->alerts_total);
    for (int i = 0; i < F__COUNT; i++)
        jb_uint(j, policy_findings[i].code, st->alerts[i]);
    jb_close(j);
    jb_close(j);
    jb_close(j);
    emit(s, EVE_T_STATS, 0);
}

void eve_write_stats(struct sensor *s, uint64_t ts_us)
{
    struct sensor_counters c;
    sensor_counters_take(s, ts_us, &c);
    eve_write_stats_counters(s, ts_us, &c);
}

void eve_emit(struct sensor *s, uint32_t type)
{
    emit(s, type, 0);
}
