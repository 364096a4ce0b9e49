/* fuzz_pipeline.c — the whole packet path (decode, flow, reassembly, HTTP, tokens, verdicts,
 * EVE) fed hostile packets. Input: records of [len:2 BE][link:1][ts step:1][len bytes]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decode.h"
#include "sensor.h"

static const int links[] = {DECODE_LINK_ETHERNET, DECODE_LINK_RAW, DECODE_LINK_SLL,
                            DECODE_LINK_SLL2, DECODE_LINK_NULL, DECODE_LINK_PPP,
                            DECODE_LINK_C_HDLC};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    char err[512];
    const char *sets[] = {"outputs.eve.filename=/dev/null",
                          "outputs.eve.types=[alert, token, stats, http, keyset]",
                          "policy.verify-observed-keys=yes",
                          "engine.flow-memcap=1mb", "engine.stream-memcap=256kb",
                          "engine.verify-cache-entries=16", "engine.http-max-head=4096"};
    config_defaults(&cfg);
    if (config_load(&cfg, NULL, sets, sizeof(sets) / sizeof(sets[0]), err, sizeof(err)) != 0)
        abort();
    int code;
    struct sensor *s = sensor_new(&cfg, "/tmp", err, sizeof(err), &code);
    if (!s)
        abort();
    sensor_set_pcap(s, "fuzz.pcap");
    uint64_t ts = 1685620800ull * 1000000ull;
    size_t off = 0;
    while (size - off >= 4) {
        size_t len = ((size_t)data[off] << 8) | data[off + 1];
        int link = links[data[off + 2] % (sizeof(links) / sizeof(links[0]))];
        ts += (uint64_t)data[off + 3] * 1000000ull;
        off += 4;
        if (len > size - off)
            len = size - off;
        /* a copy of exactly len bytes, so ASan sees any over-read */
        uint8_t *pkt = malloc(len ? len : 1);
        memcpy(pkt, data + off, len);
        sensor_packet(s, ts, link, pkt, (uint32_t)len, (uint32_t)len);
        free(pkt);
        off += len;
    }
    sensor_finish(s);
    sensor_free(s);
    config_free(&cfg);
    return 0;
}
