/* classify.c — nDPI glue (see classify.h). nDPI 4.2's API: one detection module per thread,
 * ndpi_detection_process_packet() over layer-3 packets, ndpi_detection_giveup() to end.
 */
#include "classify.h"

#include <stdlib.h>
#include <string.h>

#include <ndpi/ndpi_api.h>

struct classify {
    struct ndpi_detection_module_struct *mod;
};

size_t classify_flow_state_size(void)
{
    return ndpi_detection_get_sizeof_ndpi_flow_struct() + 16 + 2048;
}

struct classify *classify_new(void)
{
    struct classify *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->mod = ndpi_init_detection_module(ndpi_no_prefs);
    if (!c->mod) {
        free(c);
        return NULL;
    }
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(c->mod, &all);
    ndpi_finalize_initialization(c->mod);
    return c;
}

void classify_free(struct classify *c)
{
    if (!c)
        return;
    ndpi_exit_detection_module(c->mod);
    free(c);
}

static void set_result(struct classify_flow *cf, ndpi_protocol p)
{
    cf->master = p.master_protocol;
    cf->app = p.app_protocol;
    cf->category = (uint16_t)p.category;
}

void classify_flow_release(struct classify *c, struct classify_flow *cf)
{
    (void)c;
    if (cf->state) {
        ndpi_free_flow(cf->state);
        cf->state = NULL;
    }
    cf->done = 1;
}

/* Feeds one packet of an undecided flow with an IP layer (classify_packet_charged checks both)
 * at packet time ts_us. Returns 1 when this call made the classification final. Packets beyond
 * CLASSIFY_MAX_PACKETS end it with nDPI's give-up guess. */
static int feed(struct classify *c, struct classify_flow *cf, const struct packet *pkt,
                uint64_t ts_us)
{
    if (!cf->state) {
        cf->state = ndpi_flow_malloc(ndpi_detection_get_sizeof_ndpi_flow_struct());
        if (!cf->state) {
            cf->done = 1; /* no memory: stay unclassified rather than retry per packet */
            return 1;
        }
        memset(cf->state, 0, ndpi_detection_get_sizeof_ndpi_flow_struct());
    }
    uint16_t len = pkt->l3_len > 0xffff ? 0xffff : (uint16_t)pkt->l3_len;
    ndpi_protocol p =
        ndpi_detection_process_packet(c->mod, cf->state, pkt->l3, len, ts_us / 1000);
    cf->packets++;
    if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN) {
        set_result(cf, p);
        classify_flow_release(c, cf);
        return 1;
    }
    if (cf->packets >= CLASSIFY_MAX_PACKETS) {
        uint8_t guessed = 0;
        set_result(cf, ndpi_detection_giveup(c->mod, cf->state, 1, &guessed));
        classify_flow_release(c, cf);
        return 1;
    }
    return 0;
}

void classify_giveup(struct classify *c, struct classify_flow *cf, struct flow_table *ft,
                     struct flow *f)
{
    if (cf->done)
        return;
    if (cf->state) {
        uint8_t guessed = 0;
        set_result(cf, ndpi_detection_giveup(c->mod, cf->state, 1, &guessed));
    }
    classify_flow_release(c, cf);
    if (cf->mem) {
        flow_charge(ft, f, -(long)cf->mem);
        cf->mem = 0;
    }
}

void classify_proto_name(struct classify *c, const struct classify_flow *cf, char *buf,
                         size_t buflen)
{
    if (!buflen)
        return;
    buf[0] = '\0';
    if (!cf->master && !cf->app)
        return;
    ndpi_protocol p = {.master_protocol = cf->master, .app_protocol = cf->app};
    ndpi_protocol2name(c->mod, p, buf, (u_int)buflen);
}

const char *classify_category_name(struct classify *c, const struct classify_flow *cf)
{
    return ndpi_category_get_name(c->mod, (ndpi_protocol_category_t)cf->category);
}

int classify_packet_charged(struct classify *c, struct classify_flow *cf, struct flow_table *ft,
                            struct flow *f, const struct packet *pkt, uint64_t ts_us)
{
    if (cf->done || !pkt->l3 || !pkt->l3_len)
        return 0;
    uint32_t cost = pkt->payload ? pkt->payload_len : 0;
    if (cost) {
        if (flow_charge(ft, f, (long)cost) != 0) {
            classify_flow_release(c, cf);
            cost = 0;
        } else {
            cf->mem += cost;
        }
    }
    int r = cf->done ? 1 : feed(c, cf, pkt, ts_us);
    if (cf->done && cf->mem) { /* nDPI's state is freed: so is its charge */
        flow_charge(ft, f, -(long)cf->mem);
        cf->mem = 0;
    }
    return r;
}
