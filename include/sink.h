/* sink.h — asynchronous EVE sinks: unix_dgram / unix_stream sockets, syslog, redis.
 *
 * Pipeline: eve ─► output ─► [queue ─► writer thread ─► sink]. output_write() never blocks the
 * packet path: it copies the record into a bounded queue (outputs.eve.queue-size bytes); when the
 * queue is full the record is dropped and counted. One writer thread per sink drains the queue,
 * calling the sink's ops; a lost connection is closed, retried with exponential backoff
 * (100 ms doubling to 5 s) and the records queued meanwhile are sent once it is back.
 * A sink kind implements struct sink_ops (output_unix.c, output_syslog.c, output_redis.c).
 */
#ifndef TW_SINK_H
#define TW_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct sink;

struct sink_ops {
    const char *name;
    /* Builds the kind's private state from the configuration (no connection yet). 0, or -1 with
     * a one-line reason in err (a configuration error: exit 2). */
    int (*init)(struct sink *k, const struct eve_output_cfg *cfg, char *err, size_t errlen);
    /* (Re)connects. 0, or -1 with a one-line reason in err (retried with backoff). */
    int (*connect)(struct sink *k, char *err, size_t errlen);
    /* Sends one record (without newline; the kind frames it). 0 sent; -1 the connection is
     * lost: the record is kept and sent again after a reconnect. */
    int (*send)(struct sink *k, const char *rec, size_t len);
    void (*disconnect)(struct sink *k);
    void (*destroy)(struct sink *k);
};

struct sink_stats {
    uint64_t sent, dropped, reconnects, errors;
};

struct sink {
    const struct sink_ops *ops;
    const struct eve_output_cfg *cfg; /* borrowed */
    void *priv;                       /* the kind's state */
    void *q;                          /* the queue and thread (output_async.c) */
};

extern const struct sink_ops sink_unix_dgram_ops, sink_unix_stream_ops, sink_syslog_ops,
    sink_redis_ops;

#endif
