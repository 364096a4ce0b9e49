/* output_syslog.c — the syslog EVE sink (filetype syslog), our own client of the local syslog
 * socket (outputs.eve.syslog-socket, default /dev/log), not syslog(3): syslog(3) keeps one
 * process-wide connection and blocks the caller, and the identity, facility and level are
 * per output here.
 *
 * Pipeline: eve ─► output ─► [queue ─► writer thread (output_async.c) ─► this sink ─► /dev/log].
 *
 * Each record is one message in the BSD syslog format of RFC 3164 §4.1 as the local daemons
 * (rsyslog, syslog-ng, journald) read it from /dev/log:
 *     <PRI>Mmm dd hh:mm:ss IDENTITY[PID]: RECORD
 * PRI = facility * 8 + level (§4.1.1; facility and level as configured, Suricata's names and
 * defaults: local5, info); TIMESTAMP the local wall-clock time of sending (§4.1.2, day padded
 * with a space); no HOSTNAME, as syslog(3) sends on the local socket (the daemon adds it).
 * One message per datagram; a daemon listening with SOCK_STREAM instead (connect gives
 * EPROTOTYPE) gets the messages each ended by a NUL byte, as glibc's syslog(3) sends them.
 * A message too large for the socket (EMSGSIZE) is dropped and counted as an error.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sink.h"

struct syslog_sink {
    struct sockaddr_un sa;
    int fd, type;
    int pri;
    char *ident;
    _Atomic unsigned long long errors;
    char *msg;          /* the message being sent (header, record, NUL on a stream) */
    size_t msglen, cap;
    size_t off;         /* how much of it went out (a stream that stalled mid-message) */
    int pending;        /* msg holds the head record: offered again after a stall */
};

static int syslog_init(struct sink *k, const struct eve_output_cfg *cfg, char *err, size_t errlen)
{
    if (cfg->syslog_facility < 0 || cfg->syslog_facility >= SYSLOG_FACILITY_COUNT ||
        cfg->syslog_level < 0 || cfg->syslog_level >= SYSLOG_LEVEL_COUNT) {
        snprintf(err, errlen, "outputs.eve: syslog facility %d / level %d out of range",
                 cfg->syslog_facility, cfg->syslog_level);
        return -1;
    }
    struct syslog_sink *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *path = cfg->syslog_socket && cfg->syslog_socket[0] ? cfg->syslog_socket
                                                                   : "/dev/log";
    if (sink_unix_addr(path, &s->sa, err, errlen) != 0) {
        free(s);
        return -1;
    }
    s->ident = strdup(cfg->syslog_identity && cfg->syslog_identity[0] ? cfg->syslog_identity
                                                                      : "tokenwatch");
    if (!s->ident) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->pri = cfg->syslog_facility * 8 + cfg->syslog_level;
    s->fd = -1;
    s->type = SOCK_DGRAM;
    k->priv = s;
    return 0;
}

static void syslog_disconnect(struct sink *k)
{
    struct syslog_sink *s = k->priv;
    if (s && s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s)
        s->pending = 0, s->off = 0;
}

static int syslog_connect(struct sink *k, char *err, size_t errlen)
{
    struct syslog_sink *s = k->priv;
    syslog_disconnect(k);
    s->fd = sink_unix_connect(&s->sa, s->type, err, errlen);
    if (s->fd < 0 && s->type == SOCK_DGRAM && errno == EPROTOTYPE) {
        s->type = SOCK_STREAM;
        s->fd = sink_unix_connect(&s->sa, s->type, err, errlen);
        if (s->fd < 0)
            s->type = SOCK_DGRAM;
    }
    return s->fd < 0 ? -1 : 0;
}

/* "<PRI>Mmm dd hh:mm:ss IDENT[PID]: " into buf; its length. */
size_t sink_syslog_header(char *buf, size_t n, int pri, const char *ident, time_t t, long pid)
{
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    localtime_r(&t, &tm);
    int w = snprintf(buf, n, "<%d>%s %2d %02d:%02d:%02d %s[%ld]: ", pri, mon[tm.tm_mon % 12],
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ident, pid);
    if (w < 0)
        return 0;
    return (size_t)w < n ? (size_t)w : n - 1;
}

/* A reader that is connected but not reading (the send timed out, a full datagram queue) stalls
 * the sink (1): the message is kept, with how much of it a stream took, and offered again, so a
 * stream never carries half a message followed by another. A lost connection is -1. */
static int syslog_send(struct sink *k, const char *rec, size_t len)
{
    struct syslog_sink *s = k->priv;
    if (s->fd < 0)
        return -1;
    if (!s->pending) {
        char hdr[320];
        size_t hl = sink_syslog_header(hdr, sizeof(hdr), s->pri, s->ident, time(NULL),
                                       (long)getpid());
        size_t need = hl + len + 1;
        if (need > s->cap) {
            char *m = realloc(s->msg, need);
            if (!m) {
                snprintf(k->why, sizeof(k->why), "out of memory for a message");
                return 1;
            }
            s->msg = m;
            s->cap = need;
        }
        memcpy(s->msg, hdr, hl);
        memcpy(s->msg + hl, rec, len);
        s->msg[hl + len] = '\0';
        s->msglen = hl + len + (s->type == SOCK_STREAM ? 1 : 0);
        s->off = 0;
        s->pending = 1;
    }
    while (s->off < s->msglen) {
        ssize_t w = send(s->fd, s->msg + s->off, s->msglen - s->off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (s->type == SOCK_DGRAM && errno == EMSGSIZE) {
                s->errors++;
                s->pending = 0;
                return 0;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                snprintf(k->why, sizeof(k->why), "the syslog daemon is not reading (send: %s)",
                         errno == ENOBUFS ? strerror(errno) : "timed out");
                return 1;
            }
            snprintf(k->why, sizeof(k->why), "connection lost (send: %s)", strerror(errno));
            s->pending = 0;
            return -1;
        }
        if (s->type == SOCK_DGRAM)
            break; /* a datagram is all or nothing */
        s->off += (size_t)w;
    }
    s->pending = 0;
    s->off = 0;
    return 0;
}

static void syslog_destroy(struct sink *k)
{
    struct syslog_sink *s = k->priv;
    syslog_disconnect(k);
    if (s) {
        free(s->ident);
        free(s->msg);
    }
    free(s);
    k->priv = NULL;
}

static uint64_t syslog_errors(const struct sink *k)
{
    const struct syslog_sink *s = k->priv;
    return s ? s->errors : 0;
}

const struct sink_ops sink_syslog_ops = {
    .name = "syslog",
    .init = syslog_init,
    .connect = syslog_connect,
    .send = syslog_send,
    .disconnect = syslog_disconnect,
    .destroy = syslog_destroy,
    .errors = syslog_errors,
};
