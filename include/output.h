/* output.h — EVE sinks. Pipeline: eve ─► [output] ─► file | stdout | queue ─► socket/syslog/redis.
 *
 * filetype regular (or filename "-" = stdout): each output owns its file descriptor and a write
 * buffer; the file is opened O_NOFOLLOW and must be a regular file; records are appended whole (one JSON object and a newline) and flushed when the buffer
 * fills, at output_flush and at close, so a reader never sees half a record from us. Optional
 * rotation (rotate-size / rotate-interval) renames the file NAME.YYYYmmdd-HHMMSS and reopens.
 * filetype unix_dgram, unix_stream, syslog, redis: output_write copies the record into a bounded
 * queue drained by a writer thread (sink.h, output_async.c): it never waits on the network; a
 * full queue drops the record and counts it.
 * Paths: a relative filename (regular file or unix socket) is taken under the log dir (-l), an
 * absolute one as given; syslog-socket is taken as given (default /dev/log).
 */
#ifndef TW_OUTPUT_H
#define TW_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"
#include "sink.h"

/* Per-output counters, as stats.eve.* prints them summed over outputs and workers. */
struct output_stats {
    uint64_t written;    /* records delivered: written to the file / accepted by the sink */
    uint64_t dropped;    /* records lost for lack of room or time (async queue full, or still
                            queued when the output closed) */
    uint64_t errors;     /* records lost to an error: file write errors; async: records the
                            sink rejected for good (a redis error reply, a datagram too large).
                            A lost connection loses no record (it is sent again): reconnects */
    uint64_t reconnects; /* async: connections made after the first */
};

struct output {
    const struct eve_output_cfg *cfg; /* borrowed from the configuration */
    int fd;
    int is_stdout;
    char *path;                       /* resolved path, for messages */
    char *buf;
    size_t len, cap;
    size_t buf_recs;                  /* records in buf */
    uint64_t written, errors;
    int failed;                       /* a write failed this run (exit status 1) */
    int created;                      /* the current file was created by us (output_chown) */
    int err_reported;                 /* write failures: first one said, then rate-limited */
    time_t err_last;
    uint64_t err_quiet;               /* records lost since the last line said so */
    /* rotation (regular files): */
    uint64_t file_bytes;              /* bytes this output wrote to the current file */
    time_t opened;                    /* wall clock when the current file was (re)opened */
    dev_t dev;                        /* identity of the current file, to notice another */
    ino_t ino;                        /*   worker's rotation (the path names a new inode) */
    uint64_t rotations;               /* renames this output made */
    int rotate_warned;                /* a failed rotation was reported */
    /* async kinds: */
    int async;
    struct eve_output_cfg scfg;       /* cfg with filename resolved, borrowed by sink */
    struct sink sink;
    unsigned drain_ms;                /* output_close drains this long (default 2000) */
    struct output_stats final;        /* the async counters after close */
};

/* Opens the sink of cfg under logdir. Returns 0, or -1 with a one-line reason in err. */
int output_open(struct output *o, const struct eve_output_cfg *cfg, const char *logdir, char *err,
                size_t errlen);
/* Queues one record (without newline). Regular: buffered, flushed when the buffer is full; -1 on
 * a write error (counted; the record is lost, the sensor carries on). Async: copied into the
 * queue; -1 when dropped (counted). Never waits on the network. */
int output_write(struct output *o, const char *rec, size_t len);
/* Regular: writes the buffer out, then rotates when due. Async: wakes the writer, never waits. */
int output_flush(struct output *o);
/* SIGHUP (logrotate): flushes, then opens the same path again (O_APPEND, created if the file
 * was moved away) and closes the old fd. stdout and async outputs are left alone. Returns 0, or
 * -1 with a one-line reason in err, in which case the output keeps writing to the old fd. */
int output_reopen(struct output *o, char *err, size_t errlen);
/* End of a run, before the final stats record: an async output waits (until deadline_ns,
 * CLOCK_MONOTONIC) for its queue to be delivered, so the counters in that record are final for
 * every record before it; a regular output flushes. */
void output_settle(struct output *o, uint64_t deadline_ns);
/* Flushes and closes; an async output drains its queue for up to drain_ms, what is left is
 * counted as dropped. Safe on an output that failed to open. */
void output_close(struct output *o);
/* A write failed during the run (records lost as errors): the run exits 1. */
int output_failed(const struct output *o);
/* Before a privilege drop: hands a regular file this output created to uid:gid, so that it can
 * be reopened (SIGHUP) after the drop; files that were already there keep their owner. 0, or -1
 * with a reason in err. */
int output_chown(struct output *o, uid_t uid, gid_t gid, char *err, size_t errlen);
/* The counters (callable while the output runs, and after close). */
void output_stats(const struct output *o, struct output_stats *out);

/* Rotation by wall clock (rotate-interval) reads this clock; tests may replace it. NULL = time().
 * Packet time is not used: offline it would rotate by the capture's dates, live it is the same. */
extern time_t (*output_clock)(void);

#endif
