/* pipeline.c — one packet's way through the sensor, in one screenful (Suricata's FlowWorker):
 *
 *   capture ─► decode (─► defrag ─► decode) ─► flow ─► stream ─► applayer (http1 ─► token ─►
 *   verdict) ─► eve
 *
 * Owns nothing; everything lives in struct sensor. Packet bytes are libpcap's and live only
 * during this call (DESIGN "Ownership" 1): reassembly copies what it must keep.
 */
#include "applayer.h"
#include "decode.h"
#include "defrag.h"
#include "eve.h"
#include "flow.h"
#include "sensor.h"

void sensor_packet(struct sensor *s, uint64_t ts_us, int linktype, const uint8_t *data,
                   uint32_t caplen, uint32_t wirelen)
{
    sensor_poll_fleet(s); /* the fleet's answers since the last packet: their alerts */
    if (!s->have_time) {
        s->start_us = ts_us;
        s->have_time = 1;
    }
    if (ts_us > s->now_us)
        s->now_us = ts_us; /* packet time only moves forward, even if a capture's clock jumps back */
    s->st.pkts++;
    s->st.bytes += wirelen;
    /* EVE context of this packet (pcap_cnt, ether): a few stores, whatever the types. */
    if (s->eve.pcap_cnt_file != s->eve.pcap_index) {
        s->eve.pcap_cnt_file = s->eve.pcap_index;
        s->eve.pcap_cnt = 0;
    }
    s->eve.pcap_cnt++;
    s->eve.pkt_eth = linktype == DECODE_LINK_ETHERNET && caplen >= 14 ? data : NULL;
    s->eve.pkt_flow = NULL;

    struct packet pkt = {.data = data, .caplen = caplen, .wirelen = wirelen, .linktype = linktype,
                         .vxlan_ports = s->cfg->vxlan_ports, .nvxlan_ports = s->cfg->nvxlan_ports,
                         .geneve_ports = s->cfg->geneve_ports, .ngeneve_ports = s->cfg->ngeneve_ports};
    int r = decode_packet(&pkt);
    defrag_expire(s->defrag, s->now_us);
    if (r == DECODE_FRAGMENT) {
        /* The datagram this fragment completes, if any, goes on as one packet; the VLAN and
         * tunnel layers found on the way to the fragment stay with it. */
        const uint8_t *dg;
        size_t dglen;
        if (!defrag_add(s->defrag, &pkt, s->now_us, &dg, &dglen))
            return; /* held, or dropped and counted by defrag */
        r = decode_ip(&pkt, dg, dglen);
    }
    if (r == DECODE_INVALID) {
        s->st.invalid++;
        if (s->out_types & EVE_T_ANOMALY)
            eve_anomaly_decode(&s->eve, pkt.event, linktype, data, caplen);
        s->eve.pkt_eth = NULL;
        return;
    }
    if (r != DECODE_OK) {
        s->st.skipped++;
        return;
    }

    flow_expire(s->flows, s->now_us);
    int side;
    struct flow *f = flow_lookup(s->flows, &pkt, s->now_us, &side);
    if (!f)
        return; /* memcap: counted by the flow table */
    if (f->pkts[0] + f->pkts[1] == 1)
        f->pcap_file = s->eve.pcap_index;

    s->eve.pkt_flow = f;
    s->eve.pkt_side = (uint8_t)side;
    s->pkt_us = ts_us; /* its own time, while the app layer judges its tokens */
    applayer_packet(s, f, side, &pkt);
    s->pkt_us = 0;
    s->eve.pkt_flow = NULL; /* records written later (timeouts, shutdown) are not this packet's */
    s->eve.pkt_eth = NULL;
}
