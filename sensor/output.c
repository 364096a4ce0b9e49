/* output.c — regular-file and stdout EVE sinks (see output.h). Owns the fd and the buffer.
 *
 * Several workers may append to the same file, each through its own fd opened O_APPEND: every
 * write() carries whole records only (the buffer is cut at record boundaries, an oversized
 * record goes out with its newline in one writev()), and Linux serialises appends to a regular
 * file, so lines from different workers never interleave.
 */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define OUTPUT_BUF (256 * 1024)

int output_open(struct output *o, const struct eve_output_cfg *cfg, const char *logdir, char *err,
                size_t errlen)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
    o->cfg = cfg;
    if (cfg->filetype != EVE_FT_REGULAR) {
        snprintf(err, errlen, "outputs.eve.filetype: only 'regular' is supported in this build");
        return -1;
    }
    const char *name = cfg->filename ? cfg->filename : "eve.json";
    if (strcmp(name, "-") == 0) {
        o->fd = STDOUT_FILENO;
        o->is_stdout = 1;
        o->path = strdup("-");
    } else {
        size_t n = strlen(logdir) + strlen(name) + 2;
        o->path = malloc(n);
        if (!o->path) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (name[0] == '/')
            snprintf(o->path, n, "%s", name);
        else
            snprintf(o->path, n, "%s/%s", logdir, name);
        o->fd = open(o->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (o->fd < 0) {
            snprintf(err, errlen, "%s: cannot open for writing: %s", o->path, strerror(errno));
            return -1;
        }
    }
    o->buf = malloc(OUTPUT_BUF);
    if (!o->buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    o->cap = OUTPUT_BUF;
    return 0;
}

int output_flush(struct output *o)
{
    size_t off = 0;
    while (off < o->len) {
        ssize_t w = write(o->fd, o->buf + off, o->len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            o->errors++;
            o->len = 0;
            return -1;
        }
        off += (size_t)w;
    }
    o->len = 0;
    return 0;
}

int output_write(struct output *o, const char *rec, size_t len)
{
    if (o->fd < 0)
        return -1;
    if (o->len + len + 1 > o->cap && output_flush(o) != 0)
        return -1;
    if (len + 1 > o->cap) {
        /* A record larger than the buffer goes out on its own, newline included, in one call
         * so that another worker's append cannot land between the two. */
        char nl = '\n';
        struct iovec iov[2] = {{(void *)rec, len}, {&nl, 1}};
        if (writev(o->fd, iov, 2) != (ssize_t)len + 1) {
            o->errors++;
            return -1;
        }
        o->written++;
        return 0;
    }
    memcpy(o->buf + o->len, rec, len);
    o->buf[o->len + len] = '\n';
    o->len += len + 1;
    o->written++;
    return 0;
}

int output_reopen(struct output *o, char *err, size_t errlen)
{
    if (o->fd < 0 || o->is_stdout)
        return 0;
    output_flush(o);
    /* Open the new file before letting go of the old one: if the directory is no longer
     * writable (privileges dropped), records keep going to the rotated file, not nowhere. */
    int fd = open(o->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot reopen for writing: %s (still writing to the old file)",
                 o->path, strerror(errno));
        o->errors++;
        return -1;
    }
    close(o->fd);
    o->fd = fd;
    return 0;
}

void output_close(struct output *o)
{
    if (o->fd >= 0) {
        output_flush(o);
        if (!o->is_stdout)
            close(o->fd);
    }
    o->fd = -1;
    free(o->buf);
    free(o->path);
    o->buf = NULL;
    o->path = NULL;
}
