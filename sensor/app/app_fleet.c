/* app_fleet.c — the app layer's side of the fleet (fleet.h): what each token occurrence asks
 * of it, and the alerts its answers make.
 *
 * Pipeline: app_tx_close (a token occurrence, its local findings known) ─► [app_fleet_token:
 * indicator lookup ─► alert now; severity 1 ─► publish; a client presented it ─► sighting] ─►
 * fleet queue … answers ─► [app_fleet_drain: a sighting that made the fleet count reach
 * fleet.clients ─► token_replay alert with the `fleet` object].
 *
 * The answer comes after the occurrence's own records are written (never on the packet path),
 * and its flow may be gone by then, so the alert it may need is rendered when the sighting is
 * asked, into a hold (eve_writer.h), and written with the `fleet` object added only if the
 * answer says so. The flow, found again by its key and id when the answer comes, is marked
 * `alerted` if it is still open; the end of a run hears the answers before it writes the flows
 * (sensor_finish). Holds are rendered only when an output takes alerts.
 */
#include <stdlib.h>
#include <string.h>

#include "app_tx.h"
#include "applayer.h"
#include "eve.h"
#include "fleet.h"
#include "jb.h"
#include "policy.h"

/* A sighting's part that is the worker's (fleet_req.user). */
struct fleet_ask {
    struct eve_hold hold;     /* the token_replay alert, without its fleet object */
    uint32_t findings;        /* what the alert counts in stats.alerts */
    struct flow_key key;      /* the flow it was asked on, to mark it alerted if it is still */
    uint64_t flow_id;         /* there (the same connection) when the answer comes */
};

static void ask_free(void *p)
{
    struct fleet_ask *a = p;
    if (!a)
        return;
    eve_hold_free(&a->hold);
    free(a);
}

static uint32_t severity1(uint32_t findings)
{
    uint32_t m = 0;
    for (int k = 0; k < F__COUNT; k++)
        if ((findings & (1u << k)) && policy_findings[k].severity == 1)
            m |= 1u << k;
    return m;
}

/* `"fleet":{...}` members text of an indicator alert, into j (members only, from j->buf+1). */
/* `first_seen` {sensor, network (when known), timestamp}. The time comes from Redis, which other
 * sensors write: kept within years 1970-9999 so it always formats. */
static void first_seen(struct jb *j, const char *sensor, const char *network, int64_t s)
{
    char t[40];
    uint64_t sec = s < 0 ? 0 : s > INT64_C(253402300799) ? UINT64_C(253402300799) : (uint64_t)s;
    jb_open_object(j, "first_seen");
    jb_str(j, "sensor", sensor);
    if (network)
        jb_str(j, "network", network);
    eve_format_time(sec * 1000000u, t, sizeof(t));
    jb_str(j, "timestamp", t);
    jb_close(j);
}

static void indicator_json(struct jb *j, const struct fleet_indicator *in)
{
    jb_open_object(j, NULL);
    jb_open_object(j, "fleet");
    jb_str(j, "type", "indicator");
    jb_str(j, "sensor", in->sensor);
    jb_open_array(j, "findings");
    for (int k = 0; k < F__COUNT; k++)
        if (in->findings & (1u << k))
            jb_str(j, NULL, policy_findings[k].code);
    jb_close(j);
    first_seen(j, in->sensor, NULL, in->ts);
    jb_close(j);
    jb_close(j);
}

static void replay_json(struct jb *j, const struct fleet_req *r)
{
    jb_open_object(j, NULL);
    jb_open_object(j, "fleet");
    jb_str(j, "type", "replay");
    jb_uint(j, "client_networks", r->networks);
    jb_open_array(j, "sensors");
    for (const char *p = r->sensors; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        jb_strn(j, NULL, p, n);
        p += n + (nl != NULL);
    }
    jb_close(j);
    jb_uint(j, "sensor_count", r->nsensors);
    first_seen(j, r->first_sensor, r->first_network, r->first_s);
    jb_close(j);
    jb_close(j);
}

/* Seconds a token's Redis keys live: the window, never longer than the token's remaining
 * lifetime plus the window (at least 1 s); an indicator lives the remaining lifetime plus the
 * window, at least one window and at most two (a forged token's exp is the forger's choice). */
static int64_t keys_ttl(const struct verdict *v, int64_t now, int64_t window, int indicator)
{
    if (!v->c.has_exp)
        return window;
    int64_t left = v->c.exp - now;
    if (indicator)
        return window + (left <= 0 ? 0 : left < window ? left : window);
    int64_t t = left < 0 ? window + left : window;
    return t < 1 ? 1 : t;
}

static struct fleet_req *req(struct sensor *s, int kind, const struct verdict *v, int64_t now)
{
    struct fleet_req *r = fleet_req_new();
    if (!r)
        return NULL;
    r->kind = (uint8_t)kind;
    r->worker = (uint32_t)s->fleet_worker;
    memcpy(r->sha, v->digest, 32);
    r->pkt_s = now;
    return r;
}

void app_fleet_token(struct app_ctx *c, const struct tx *t, size_t i, const uint8_t client[16],
                     int64_t now, uint32_t findings, int accepted)
{
    struct sensor *s = c->s;
    struct fleet *fl = s->fleet;
    struct verdict *v = t->tokens[i].v;
    enum token_location loc = t->tokens[i].loc;
    struct eve_http *http = (struct eve_http *)&t->http;

    /* Another sensor judged this token with a severity-1 finding: alert here too, unless this
     * sensor's own verdict already has one (its own alert says as much). */
    struct fleet_indicator in;
    if (fleet_indicator(fl, s->fleet_worker, v->digest, &in) && !severity1(findings)) {
        int k = policy_top_finding(in.findings);
        struct jb j;
        jb_init(&j, 256);
        indicator_json(&j, &in);
        if (!j.err && (s->out_types & EVE_T_ALERT)) {
            char note[FLEET_NAME_MAX + 32];
            snprintf(note, sizeof(note), " (fleet: judged by %s)", in.sensor);
            eve_write_fleet_alert(&s->eve, c->f, &c->app->pfx, t->ts_us, t->tx_id, http, v, loc,
                                  findings, accepted, k, note, j.buf + 1, j.len - 2);
        }
        jb_release(&j);
        app_tx_count_alerts(s, 1u << k);
        fleet_count_alert(fl, FLEET_ALERT_INDICATOR);
        c->app->alerted = 1;
    }

    /* This sensor's own severity-1 verdict: tell the fleet, once a window, within the rate of
     * unverified tokens (a forger can mint these by the million; a stolen key signs as many). */
    uint32_t sev1 = severity1(v->findings);
    if (sev1 && fleet_publish_due(fl, v->digest, now) && fleet_unverified_allowed(fl, now)) {
        struct fleet_req *r = req(s, FLEET_PUBLISH, v, now);
        if (r) {
            r->findings = sev1;
            r->ttl = keys_ttl(v, now, s->cfg->fleet_window, 1);
            if (fleet_push(fl, r) != 0)
                fleet_req_free(r);
        }
    }

    /* A sighting: tokens the client presented, not those a server returned. A flow has one
     * client network: the token it sighted last, sent within the window, is not due again
     * (what the fleet's cache would say, without its hash and lock). */
    if (t->tokens[i].server)
        return;
    struct app_flow *app = c->app;
    int64_t w = s->cfg->fleet_window;
    if (app->fleet_hash == v->hash && app->fleet_sent && now >= app->fleet_sent &&
        now - app->fleet_sent <= w)
        return;
    uint8_t net[16];
    char netstr[FLEET_NET_MAX];
    fleet_network(fl, client, net, NULL);
    int d = fleet_sighting_due(fl, v->digest, net, now, &app->fleet_sent);
    app->fleet_hash = v->hash;
    if (!d || (v->sig != SIG_VALID && !fleet_unverified_allowed(fl, now)))
        return;
    fleet_network(fl, client, net, netstr);
    struct fleet_req *r = req(s, FLEET_SIGHTING, v, now);
    if (!r)
        return;
    memcpy(r->network, netstr, sizeof(netstr));
    r->ttl = keys_ttl(v, now, s->cfg->fleet_window, 0);
    struct fleet_ask *a = calloc(1, sizeof(*a));
    if (a) {
        a->findings = findings | 1u << F_TOKEN_REPLAY;
        a->key = c->f->key;
        a->flow_id = c->f->flow_id;
        r->user = a;
        r->user_free = ask_free;
        if (s->out_types & EVE_T_ALERT) {
            s->eve.hold = &a->hold;
            eve_write_fleet_alert(&s->eve, c->f, &c->app->pfx, t->ts_us, t->tx_id, http, v, loc,
                                  a->findings, accepted, F_TOKEN_REPLAY, " (fleet)", NULL, 0);
            s->eve.hold = NULL;
        }
    }
    if (fleet_push(fl, r) != 0)
        fleet_req_free(r);
}

void app_fleet_drain(struct sensor *s)
{
    struct fleet_req *r = fleet_results(s->fleet, s->fleet_worker), *next;
    for (; r; r = next) {
        next = r->next;
        struct fleet_ask *a = r->user;
        if (r->kind == FLEET_SIGHTING && r->status == FLEET_DONE && a &&
            r->networks >= s->cfg->fleet_clients) {
            struct jb j;
            jb_init(&j, 512);
            replay_json(&j, r);
            if (!j.err)
                eve_hold_release_with(&s->eve, &a->hold, j.buf + 1, j.len - 2);
            jb_release(&j);
            app_tx_count_alerts(s, a->findings);
            fleet_count_alert(s->fleet, FLEET_ALERT_REPLAY);
            /* its flow, if still open, says so in its `flow` record */
            struct flow *f = flow_find(s->flows, &a->key);
            if (f && f->flow_id == a->flow_id && f->app)
                ((struct app_flow *)f->app)->alerted = 1;
        }
        fleet_req_free(r);
    }
}

void app_fleet_settle(struct sensor *s, uint64_t deadline_ns)
{
    fleet_settle(s->fleet, s->fleet_worker, deadline_ns);
    app_fleet_drain(s);
}

void app_fleet_wait(struct sensor *s, uint64_t deadline_ns)
{
    fleet_wait(s->fleet, s->fleet_worker, deadline_ns);
    app_fleet_drain(s);
}

void app_fleet_discard(struct sensor *s)
{
    struct fleet_req *r = fleet_results(s->fleet, s->fleet_worker), *next;
    for (; r; r = next) {
        next = r->next;
        fleet_req_free(r);
    }
}
