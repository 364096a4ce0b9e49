/* output.c — EVE outputs (see output.h): regular files and stdout written here, the asynchronous
 * kinds (unix_dgram, unix_stream, syslog, redis) handed to output_async.c's queue.
 *
 * Several workers may append to the same file, each through its own fd opened O_APPEND: every
 * write() carries whole records only (the buffer is cut at record boundaries, an oversized
 * record goes out with its newline in one writev()), and Linux serialises appends to a regular
 * file, so lines from different workers never interleave.
 *
 * Rotation (rotate-size: the file's size as fstat sees it, all workers' appends included;
 * rotate-interval: seconds of wall clock since this output opened the file, output_clock) is
 * checked after each flush: the file is renamed NAME.YYYYmmdd-HHMMSS (UTC; ".1", ".2" ... on a
 * collision, never replacing a file: renameat2 RENAME_NOREPLACE) and NAME opened again. With
 * several workers on one file, one renames: the rename is done under a process-wide lock after
 * checking that NAME is still the file this worker writes; every other worker notices before its
 * next flush that NAME now names another inode than its fd (stat vs fstat) and opens it too. A
 * file may thus outgrow rotate-size by up to one buffer (256 KiB) per worker. Rotation by packet
 * time is deliberately not offered: offline it would follow the capture's dates.
 *
 * Opening: O_NOFOLLOW, and anything but a regular file (or /dev/null) is refused (a symlink,
 * FIFO, device or directory planted at the path by whoever can write the log dir, e.g. the
 * --user account, would otherwise make root append traffic-chosen JSON wherever it points). A file we create is handed
 * to the --user account before privileges are dropped (output_chown), so SIGHUP can reopen it.
 *
 * Write failures (a full file system, a closed pipe on stdout: SIGPIPE is ignored, EPIPE is an
 * error like another): the records lost are counted as errors, the first failure is reported
 * on stderr and later ones at most once a minute, and the run ends with exit status 1
 * (output_failed). A write cut short mid-record is completed if the rest goes out; if not, the
 * torn tail is cut off again (ftruncate, when the file still ends where our write ended) and the
 * record counted as lost, so a reader never sees half a record.
 */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#define OUTPUT_BUF (256 * 1024)
#define OUTPUT_DRAIN_MS 2000
#define OUTPUT_ERR_REPEAT_S 60 /* a failing output says so again at most this often */
#define ENOTREG_ERRNO ENODEV /* open_file's errno: the path is not a regular file */

time_t (*output_clock)(void);

/* Serialises rotations between the workers of this process (not per-worker state); also held
 * while a torn record is cut off, so that no worker's rotation or append check runs between. */
static pthread_mutex_t rotate_mu = PTHREAD_MUTEX_INITIALIZER;

static time_t wall_now(void)
{
    return output_clock ? output_clock() : time(NULL);
}

static int rotating(const struct output *o)
{
    return !o->async && !o->is_stdout && (o->cfg->rotate_size || o->cfg->rotate_interval);
}

/* Opens o->path for appending and records the file's identity. 0 or -1 (errno). */
static int open_file(struct output *o)
{
    /* O_NONBLOCK: opening a FIFO for writing would otherwise wait for a reader; cleared below
     * once the file is known to be regular. O_EXCL first, to know whether we created it. */
    int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    int created = 1;
    int fd = open(o->path, flags | O_CREAT | O_EXCL, 0640);
    if (fd < 0 && errno == EEXIST) {
        created = 0;
        fd = open(o->path, flags);
    }
    if (fd < 0)
        return -1;
    struct stat st;
    int e = 0;
    if (fstat(fd, &st) != 0)
        e = errno;
    else if (!S_ISREG(st.st_mode) && !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)))
        e = ENOTREG_ERRNO; /* /dev/null (1,3) is the one exception: discarding is harmless */
    else if (fcntl(fd, F_SETFL, O_APPEND) != 0)
        e = errno;
    if (e) {
        close(fd);
        errno = e;
        return -1;
    }
    o->dev = st.st_dev;
    o->ino = st.st_ino;
    o->created = created;
    if (o->fd >= 0 && !o->is_stdout)
        close(o->fd);
    o->fd = fd;
    o->file_bytes = 0;
    o->opened = wall_now();
    return 0;
}

/* Why open_file refused: errno for "not a regular file" (ELOOP is what O_NOFOLLOW gives). */
static const char *open_reason(int e)
{
    if (e == ELOOP)
        return "is a symbolic link (refused: O_NOFOLLOW)";
    if (e == ENOTREG_ERRNO || e == EISDIR || e == ENXIO) /* ENXIO: a FIFO without a reader */
        return "not a regular file (refused)";
    return strerror(e);
}

static char *join_path(const char *logdir, const char *name)
{
    size_t n = strlen(logdir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        return NULL;
    if (name[0] == '/')
        snprintf(p, n, "%s", name);
    else
        snprintf(p, n, "%s/%s", logdir, name);
    return p;
}

static int open_async(struct output *o, const struct eve_output_cfg *cfg, const char *logdir,
                      char *err, size_t errlen)
{
    const struct sink_ops *ops;
    switch (cfg->filetype) {
    case EVE_FT_UNIX_DGRAM:
        ops = &sink_unix_dgram_ops;
        break;
    case EVE_FT_UNIX_STREAM:
        ops = &sink_unix_stream_ops;
        break;
    case EVE_FT_SYSLOG:
        ops = &sink_syslog_ops;
        break;
    case EVE_FT_REDIS:
        ops = &sink_redis_ops;
        break;
    default:
        snprintf(err, errlen, "outputs.eve.filetype: unknown filetype %d", cfg->filetype);
        return -1;
    }
    o->async = 1;
    o->scfg = *cfg;
    char label[600];
    if (cfg->filetype == EVE_FT_UNIX_DGRAM || cfg->filetype == EVE_FT_UNIX_STREAM) {
        if (!cfg->filename || !cfg->filename[0] || strcmp(cfg->filename, "-") == 0) {
            snprintf(err, errlen, "outputs.eve.filename: %s needs a socket path", ops->name);
            return -1;
        }
        o->path = join_path(logdir, cfg->filename);
        if (!o->path) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        o->scfg.filename = o->path;
        snprintf(label, sizeof(label), "%s %s", ops->name, o->path);
    } else if (cfg->filetype == EVE_FT_SYSLOG) {
        snprintf(label, sizeof(label), "syslog %s",
                 cfg->syslog_socket ? cfg->syslog_socket : "/dev/log");
    } else {
        snprintf(label, sizeof(label), "redis %s:%d", cfg->redis_server ? cfg->redis_server
                                                                         : "127.0.0.1",
                 cfg->redis_port);
    }
    o->sink.ops = ops;
    o->sink.cfg = &o->scfg;
    char why[512];
    if (sink_async_start(&o->sink, (size_t)cfg->queue_size, label, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "outputs.eve (line %d): %s", cfg->line, why);
        return -1;
    }
    return 0;
}

int output_open(struct output *o, const struct eve_output_cfg *cfg, const char *logdir, char *err,
                size_t errlen)
{
    memset(o, 0, sizeof(*o));
    o->fd = -1;
    o->cfg = cfg;
    o->drain_ms = OUTPUT_DRAIN_MS;
    if (cfg->filetype != EVE_FT_REGULAR)
        return open_async(o, cfg, logdir, err, errlen);
    const char *name = cfg->filename ? cfg->filename : "eve.json";
    if (strcmp(name, "-") == 0) {
        o->fd = STDOUT_FILENO;
        o->is_stdout = 1;
        o->path = strdup("-");
    } else {
        o->path = join_path(logdir, name);
        if (!o->path) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (open_file(o) != 0) {
            snprintf(err, errlen, "%s: cannot open for writing: %s", o->path,
                     open_reason(errno));
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

/* A rotation step failed: said once per output on stderr; records keep going to the fd held. */
static void rotate_warn(struct output *o, const char *what)
{
    if (o->rotate_warned)
        return;
    o->rotate_warned = 1;
    fprintf(stderr, "tokenwatch: %s: rotation: %s: %s (still writing to the current file)\n",
            o->path, what, strerror(errno));
}

/* Another worker rotated (NAME is now another inode, or gone): follow it. */
static void follow_rotation(struct output *o)
{
    struct stat st;
    if (stat(o->path, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino)
        return;
    if (open_file(o) != 0)
        rotate_warn(o, "cannot open the new file"); /* keeps writing to the renamed one */
}

/* Renames NAME to NAME.YYYYmmdd-HHMMSS[.N] without replacing anything. 0 or -1. */
static int rename_away(const struct output *o)
{
    time_t t = wall_now();
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strlen(o->path) + 48;
    char *dst = malloc(n);
    if (!dst)
        return -1;
    int rc = -1;
    for (unsigned i = 0; i < 1000 && rc != 0; i++) {
        int w = snprintf(dst, n, "%s.%04d%02d%02d-%02d%02d%02d", o->path, tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (i)
            snprintf(dst + w, n - (size_t)w, ".%u", i);
        if (renameat2(AT_FDCWD, o->path, AT_FDCWD, dst, RENAME_NOREPLACE) == 0) {
            rc = 0;
        } else if (errno == EINVAL || errno == ENOSYS) {
            /* a file system without RENAME_NOREPLACE: check, then rename (under rotate_mu) */
            if (access(dst, F_OK) != 0 && rename(o->path, dst) == 0)
                rc = 0;
            else if (errno != EEXIST && access(dst, F_OK) != 0)
                break;
        } else if (errno != EEXIST) {
            break;
        }
    }
    free(dst);
    return rc;
}

static void rotate_if_due(struct output *o)
{
    struct stat st;
    int due = 0;
    if (o->cfg->rotate_size && fstat(o->fd, &st) == 0 &&
        (uint64_t)st.st_size >= o->cfg->rotate_size)
        due = 1;
    if (o->cfg->rotate_interval && wall_now() - o->opened >= (time_t)o->cfg->rotate_interval &&
        (fstat(o->fd, &st) != 0 || st.st_size > 0))
        due = 1; /* an empty file is not rotated: no trail of empty files on a quiet link */
    if (!due)
        return;
    pthread_mutex_lock(&rotate_mu);
    if (stat(o->path, &st) == 0 && st.st_dev == o->dev && st.st_ino == o->ino) {
        if (rename_away(o) != 0) {
            rotate_warn(o, "cannot rename");
            pthread_mutex_unlock(&rotate_mu);
            o->opened = wall_now(); /* retried after another interval, or the next flush */
            return;
        }
        o->rotations++;
    }
    /* renamed by us or by another worker meanwhile: open NAME afresh */
    if (open_file(o) != 0)
        rotate_warn(o, "cannot open the new file");
    pthread_mutex_unlock(&rotate_mu);
}

/* A write failed with errno (lost: records gone whole). Counts them, reports. */
static void write_failed(struct output *o, uint64_t lost)
{
    int e = errno;
    o->errors += lost;
    o->failed = 1;
    time_t now = time(NULL);
    if (o->err_reported && now - o->err_last < OUTPUT_ERR_REPEAT_S) {
        o->err_quiet += lost;
        return;
    }
    if (!o->err_reported)
        fprintf(stderr, "tokenwatch: %s: write failed: %s; %llu record%s lost (counted in "
                "stats.eve errors; said again at most once a minute)\n",
                o->is_stdout ? "stdout" : o->path, strerror(e), (unsigned long long)lost,
                lost == 1 ? "" : "s");
    else
        fprintf(stderr, "tokenwatch: %s: write failed: %s; %llu more records lost\n",
                o->is_stdout ? "stdout" : o->path, strerror(e),
                (unsigned long long)(o->err_quiet + lost));
    o->err_reported = 1;
    o->err_last = now;
    o->err_quiet = 0;
}

/* A write stopped after `torn` bytes of a record, whose remaining bytes are rest[0..n). Tries to
 * finish it; failing that cuts the torn bytes off the file again. 0 the record is complete, -1 it
 * is not in the file (errno from the failed write). */
static int finish_or_cut(struct output *o, size_t torn, const char *rest, size_t n)
{
    while (n) {
        ssize_t w = write(o->fd, rest, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        torn += (size_t)w;
        rest += w;
        n -= (size_t)w;
    }
    if (!n)
        return 0;
    int e = errno;
    if (!o->is_stdout) {
        /* O_APPEND: the offset is where our last write ended. Cut only when the file still ends
         * there: another worker's append after ours would be cut instead. */
        pthread_mutex_lock(&rotate_mu);
        struct stat st;
        off_t end = lseek(o->fd, 0, SEEK_CUR);
        if (end >= (off_t)torn && fstat(o->fd, &st) == 0 && st.st_size == end &&
            ftruncate(o->fd, end - (off_t)torn) == 0)
            o->file_bytes -= o->file_bytes >= torn ? torn : o->file_bytes;
        pthread_mutex_unlock(&rotate_mu);
    }
    errno = e;
    return -1;
}

int output_flush(struct output *o)
{
    if (o->async)
        return 0; /* the writer thread wakes on a push; nothing here may wait */
    if (o->fd < 0)
        return -1;
    int rot = rotating(o);
    if (rot && o->len)
        follow_rotation(o);
    size_t off = 0;
    while (off < o->len) {
        ssize_t w = write(o->fd, o->buf + off, o->len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            /* The records wholly out count as written; one cut in the middle is finished or
             * cut off; the rest are lost. Records hold no raw newline (JSON). */
            int e = errno;
            uint64_t done = 0;
            size_t bound = 0;
            for (size_t i = 0; i < off; i++)
                if (o->buf[i] == '\n') {
                    done++;
                    bound = i + 1;
                }
            if (bound < off) {
                const char *nl = memchr(o->buf + off, '\n', o->len - off);
                size_t rest = (size_t)(nl - (o->buf + off)) + 1;
                errno = e;
                if (finish_or_cut(o, off - bound, o->buf + off, rest) == 0) {
                    done++;
                    off += rest;
                }
            }
            o->file_bytes += off;
            o->written += done;
            errno = e;
            write_failed(o, o->buf_recs - done);
            o->len = 0;
            o->buf_recs = 0;
            return -1;
        }
        off += (size_t)w;
    }
    o->file_bytes += o->len;
    o->written += o->buf_recs;
    o->len = 0;
    o->buf_recs = 0;
    if (rot)
        rotate_if_due(o);
    return 0;
}

int output_write(struct output *o, const char *rec, size_t len)
{
    if (o->async)
        return sink_async_push(&o->sink, rec, len);
    if (o->fd < 0)
        return -1;
    int rc = 0;
    if (o->len + len + 1 > o->cap && output_flush(o) != 0)
        rc = -1; /* counted and said; the buffer is empty now: this record gets its chance */
    if (len + 1 > o->cap) {
        /* A record larger than the buffer goes out on its own, newline included, in one call
         * so that another worker's append cannot land between the two. */
        if (rotating(o))
            follow_rotation(o);
        char nl = '\n';
        struct iovec iov[2] = {{(void *)rec, len}, {&nl, 1}};
        ssize_t w = writev(o->fd, iov, 2);
        if (w != (ssize_t)len + 1) {
            int fail = w < 0;
            if (w >= 0) { /* cut short: finish the record (the newline last) or cut it off */
                size_t done = (size_t)w;
                fail = done < len ? finish_or_cut(o, done, rec + done, len - done) != 0 ||
                                        finish_or_cut(o, len, "\n", 1) != 0
                                  : finish_or_cut(o, done, "\n", 1) != 0;
            }
            if (fail) {
                write_failed(o, 1);
                return -1;
            }
        }
        o->written++;
        o->file_bytes += len + 1;
        if (rotating(o))
            rotate_if_due(o);
        return rc;
    }
    memcpy(o->buf + o->len, rec, len);
    o->buf[o->len + len] = '\n';
    o->len += len + 1;
    o->buf_recs++;
    return rc;
}

int output_reopen(struct output *o, char *err, size_t errlen)
{
    if (o->async || o->fd < 0 || o->is_stdout)
        return 0;
    output_flush(o);
    /* Open the new file before letting go of the old one: if the directory is no longer
     * writable (privileges dropped), records keep going to the rotated file, not nowhere. */
    if (open_file(o) != 0) {
        snprintf(err, errlen, "%s: cannot reopen for writing: %s (still writing to the old file)",
                 o->path, open_reason(errno));
        return -1;
    }
    return 0;
}

void output_settle(struct output *o, uint64_t deadline_ns)
{
    if (o->async)
        sink_async_settle(&o->sink, deadline_ns);
    else
        output_flush(o);
}

void output_close(struct output *o)
{
    if (o->async) {
        if (o->sink.q) {
            sink_async_stop(&o->sink, o->drain_ms);
            output_stats(o, &o->final);
            sink_async_free(&o->sink);
        }
    } else if (o->fd >= 0) {
        output_flush(o);
        if (!o->is_stdout)
            close(o->fd);
    }
    o->fd = -1;
    free(o->buf);
    free(o->path);
    o->buf = NULL;
    o->path = NULL;
    o->scfg.filename = NULL;
}

int output_failed(const struct output *o)
{
    return o->failed;
}

int output_chown(struct output *o, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (o->async || o->is_stdout || o->fd < 0 || !o->created)
        return 0;
    if (fchown(o->fd, uid, gid) != 0) {
        snprintf(err, errlen, "%s: cannot hand the file to uid %lu: %s", o->path,
                 (unsigned long)uid, strerror(errno));
        return -1;
    }
    return 0;
}

void output_stats(const struct output *o, struct output_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (o->async) {
        if (!o->sink.q) {
            *out = o->final;
            return;
        }
        struct sink_stats ss;
        sink_async_stats(&o->sink, &ss);
        out->written = ss.sent;
        out->dropped = ss.dropped;
        out->errors = ss.errors;
        out->reconnects = ss.reconnects;
        return;
    }
    out->written = o->written + o->buf_recs; /* buffered records count: they go out at the
                                                 next flush (or are counted as errors) */
    out->errors = o->errors;
}
