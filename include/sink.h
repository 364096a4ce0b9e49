/* sink.h — asynchronous EVE sinks: unix_dgram / unix_stream sockets, syslog, redis.
 *
 * Pipeline: eve ─► output ─► [queue ─► writer thread ─► sink]. output_write() never blocks the
 * packet path: it copies the record into a bounded queue (outputs.eve.queue-size bytes); when the
 * queue is full the record is dropped and counted. One writer thread per sink drains the queue,
 * calling the sink's ops; a lost connection is closed, retried with exponential backoff
 * (100 ms doubling to 5 s) and the records queued meanwhile are sent once it is back.
 * A sink kind implements struct sink_ops (output_unix.c, output_syslog.c, output_redis.c); the
 * queue and the thread are output_async.c's (sink_async_*).
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
    /* Sends one record (without newline; the kind frames it). 0 sent (or rejected by the sink
     * for good and counted by errors() below); -1 the connection is lost: the record is kept and
     * sent again after a reconnect; 1 the peer is not taking records (a send timed out, a full
     * receive buffer): the connection is kept and the same record is offered again after a
     * pause (a stream kind remembers how much of it went out and sends only the rest). On -1
     * and 1 the kind may say why in k->why (a reason, never the record). */
    int (*send)(struct sink *k, const char *rec, size_t len);
    void (*disconnect)(struct sink *k);
    void (*destroy)(struct sink *k);
    /* Optional (NULL = none): records the sink rejected for good (send returned 0 but the record
     * is not delivered, e.g. a redis error reply); read from another thread, so a monotonic
     * counter read without a lock (a torn read is not possible on 64-bit targets). */
    uint64_t (*errors)(const struct sink *k);
    /* Optional (NULL: the record counts as dropped): the writer gives up the record that send
     * last answered 1 for (the run ends, the peer still stalled). 1 when that record already
     * went out whole to the peer (it counts as written), 0 when it did not (dropped). */
    int (*abandon)(struct sink *k);
};

struct sink_stats {
    uint64_t sent, dropped, reconnects, errors;
    uint64_t send_failures; /* sends that failed (connection lost; the record was kept) */
};

struct sink {
    const struct sink_ops *ops;
    const struct eve_output_cfg *cfg; /* borrowed */
    void *priv;                       /* the kind's state */
    void *q;                          /* the queue and thread (output_async.c) */
    char why[256];                    /* send's reason for its last -1 or 1 (writer thread) */
};

extern const struct sink_ops sink_unix_dgram_ops, sink_unix_stream_ops, sink_syslog_ops,
    sink_redis_ops;

/* output_unix.c helpers (also used by output_syslog.c). */
struct sockaddr_un;
/* Fills sa with path: 0, or -1 with a reason (empty, too long for sun_path). */
int sink_unix_addr(const char *path, struct sockaddr_un *sa, char *err, size_t errlen);
/* A socket of type connected to sa, with a send timeout: the fd, or -1 with a reason. */
int sink_unix_connect(const struct sockaddr_un *sa, int type, char *err, size_t errlen);

/* output_async.c: the bounded queue and the writer thread in front of a sink. */

/* k->ops and k->cfg set: calls ops->init, allocates a queue of queue_bytes and starts the writer
 * thread (which connects). label names the sink in stderr messages (copied). 0, or -1 with a
 * one-line reason in err. */
int sink_async_start(struct sink *k, size_t queue_bytes, const char *label, char *err,
                     size_t errlen);
/* Copies one record into the queue. Never waits on the network (a short lock at most when the
 * writer thread sleeps). 0 queued; -1 dropped (queue full, or larger than the whole queue). */
int sink_async_push(struct sink *k, const char *rec, size_t len);
/* Wakes the writer thread if it sleeps; never waits. */
void sink_async_wake(struct sink *k);
/* Waits (at most until deadline_ns, CLOCK_MONOTONIC) for the writer to deliver everything queued
 * so far, leaving it running. 1 when the queue emptied; 0 at the deadline, when the records still
 * queued are given up and counted as dropped (a stream connection holding half a record is
 * closed), so that a stats snapshot taken next accounts for every record pushed before it. At the
 * end of a run only: never on the packet path. */
int sink_async_settle(struct sink *k, uint64_t deadline_ns);
/* Lets the writer drain the queue for up to drain_ms, stops it, counts what is left as dropped,
 * disconnects and destroys the kind. Safe on a sink that failed to start. */
void sink_async_stop(struct sink *k, unsigned drain_ms);
/* A snapshot of the counters (callable from any thread): sent = records delivered (sends that
 * returned 0 minus the kind's errors()), dropped = never delivered for lack of room or time,
 * errors = records the sink rejected (kind's errors()), reconnects = connections made after the
 * first, send_failures = failed sends (each a lost connection; the record was kept and resent).
 * Every record pushed ends as exactly one of sent, dropped, errors (or is still queued: none
 * after sink_async_settle returned, or after sink_async_stop). */
void sink_async_stats(const struct sink *k, struct sink_stats *out);
/* Stops (if not yet, without draining) and frees the queue's memory; k->q = NULL after. */
void sink_async_free(struct sink *k);

#endif
