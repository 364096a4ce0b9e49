/* output.h — EVE sinks. Pipeline: eve ─► [output]. Each output owns its file descriptor and a
 * write buffer; records are appended whole (one JSON object and a newline) and flushed when the
 * buffer fills and at close, so a reader never sees half a record from us.
 * This issue supports `filetype: regular` (a file appended with O_APPEND, or "-" for stdout).
 */
#ifndef TW_OUTPUT_H
#define TW_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct output {
    const struct eve_output_cfg *cfg; /* borrowed from the configuration */
    int fd;
    int is_stdout;
    char *path;                       /* resolved path, for messages */
    char *buf;
    size_t len, cap;
    uint64_t written, errors;
};

/* Opens the sink of cfg under logdir. Returns 0, or -1 with a one-line reason in err. */
int output_open(struct output *o, const struct eve_output_cfg *cfg, const char *logdir, char *err,
                size_t errlen);
/* Queues one record (without newline); flushes when the buffer is full. -1 on a write error
 * (counted; the record is lost, the sensor carries on). */
int output_write(struct output *o, const char *rec, size_t len);
int output_flush(struct output *o);
/* SIGHUP (logrotate): flushes, then opens the same path again (O_APPEND, created if the file
 * was moved away) and closes the old fd. stdout is left alone. Returns 0, or -1 with a one-line
 * reason in err, in which case the output keeps writing to the old fd. */
int output_reopen(struct output *o, char *err, size_t errlen);
/* Flushes and closes; safe on an output that failed to open. */
void output_close(struct output *o);

#endif
