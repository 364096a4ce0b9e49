/* fuzz_fleet.c — libFuzzer entry point for what the fleet reads back from Redis (fleet.h),
 * which other sensors (or anyone with access to the Redis) wrote: the first byte picks
 *   0: an indicator string (fleet_learn: the channel's messages, the stored indicators), then
 *      a lookup of every table entry's digest through the public call;
 *   1: a sighting script's answer, as RESP bytes through hiredis' reader (the library's
 *      parser), then fleet_parse_sighting on every reply it yields (types, counts, lengths of
 *      the eight elements are all the input's).
 * One fleet for the run, pointed at a port nobody listens on (its threads find no Redis). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "fleet.h"
#include "fleet_int.h"

static struct fleet *fleet_once(void)
{
    static struct fleet *f;
    static struct config c;
    if (!f) {
        config_defaults(&c);
        c.sensor_name = strdup("fuzz");
        c.fleet_server = strdup("127.0.0.1");
        c.fleet_port = 1;
        c.fleet_memcap = 64 << 10;
        char err[128];
        f = fleet_new(&c, 1, err, sizeof(err));
        if (!f)
            abort();
    }
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct fleet *f = fleet_once();
    if (data[0] == 0) {
        if (fleet_learn(f, (const char *)data + 1, size - 1, 60) == 0 && size > 65) {
            uint8_t sha[32] = {0};
            struct fleet_indicator in;
            (void)fleet_indicator(f, 0, sha, &in);
        }
        return 0;
    }
    redisReader *rd = redisReaderCreate();
    if (!rd)
        return 0;
    if (redisReaderFeed(rd, (const char *)data + 1, size - 1) == REDIS_OK) {
        void *reply = NULL;
        while (redisReaderGetReply(rd, &reply) == REDIS_OK && reply) {
            struct fleet_req r;
            memset(&r, 0, sizeof(r));
            if (fleet_parse_sighting(f, &r, reply) == 0) {
                volatile size_t sink = strlen(r.sensors) + strlen(r.first_sensor) +
                                       strlen(r.first_network) + r.networks + r.nsensors;
                (void)sink;
            }
            freeReplyObject(reply);
            reply = NULL;
        }
    }
    redisReaderFree(rd);
    return 0;
}
