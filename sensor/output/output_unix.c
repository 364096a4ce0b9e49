/* output_unix.c — the unix_dgram and unix_stream EVE sinks (filetype unix_dgram / unix_stream),
 * as Suricata's: the sensor is the client of a socket some reader (Logstash, syslog-ng, a
 * collector) binds or listens on.
 *
 * Pipeline: eve ─► output ─► [queue ─► writer thread (output_async.c) ─► this sink ─► socket].
 * Runs on the writer thread only, so blocking is allowed here; a send into a reader that stopped
 * reading times out after UNIX_SEND_TIMEOUT_S (SO_SNDTIMEO, which also bounds a stream connect
 * into a full backlog). That is a stall, not a lost connection (send returns 1): the connection
 * is kept and, on a stream, the bytes of the record already sent are remembered (off) so that
 * the next attempt sends only the rest: the reader never gets half a record followed by another.
 * A datagram socket whose reader's queue is full (EAGAIN after the timeout, ENOBUFS) stalls the
 * same way; a datagram goes out whole or not at all.
 *
 * Framing, as Suricata's: one record plus "\n" per datagram (unix_dgram), records each ended by
 * "\n" on the stream (unix_stream). Sent with MSG_NOSIGNAL: a reader gone gives EPIPE, not
 * SIGPIPE. A reader that restarts (socket closed and unlinked, then bound again) makes the next
 * send fail (ECONNREFUSED / EPIPE) and the writer reconnect with backoff; the record is sent
 * again on the new connection. Records the old reader had received but not yet read die with
 * it (a socket buffer is not ours). A datagram larger than the socket allows (EMSGSIZE) can never
 * be sent: it is dropped and counted as an error, the connection kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "sink.h"

#define UNIX_SEND_TIMEOUT_S 1

struct unix_sink {
    int type;                 /* SOCK_DGRAM or SOCK_STREAM */
    int fd;
    size_t off;               /* stream: bytes of the current record already sent */
    struct sockaddr_un sa;
    _Atomic unsigned long long errors; /* records dropped for good (EMSGSIZE) */
};

int sink_unix_addr(const char *path, struct sockaddr_un *sa, char *err, size_t errlen)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!path || !path[0]) {
        snprintf(err, errlen, "no socket path");
        return -1;
    }
    if (strlen(path) >= sizeof(sa->sun_path)) {
        snprintf(err, errlen, "socket path longer than %zu bytes: %s", sizeof(sa->sun_path) - 1,
                 path);
        return -1;
    }
    memcpy(sa->sun_path, path, strlen(path));
    return 0;
}

int sink_unix_connect(const struct sockaddr_un *sa, int type, char *err, size_t errlen)
{
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "%s: socket: %s", sa->sun_path, strerror(errno));
        return -1;
    }
    struct timeval tv = {UNIX_SEND_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
        snprintf(err, errlen, "%s: cannot connect: %s", sa->sun_path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int unix_init(struct sink *k, const struct eve_output_cfg *cfg, int type, char *err,
                     size_t errlen)
{
    struct unix_sink *u = calloc(1, sizeof(*u));
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (sink_unix_addr(cfg->filename, &u->sa, err, errlen) != 0) {
        free(u);
        return -1;
    }
    u->type = type;
    u->fd = -1;
    k->priv = u;
    return 0;
}

static int dgram_init(struct sink *k, const struct eve_output_cfg *cfg, char *err, size_t errlen)
{
    return unix_init(k, cfg, SOCK_DGRAM, err, errlen);
}

static int stream_init(struct sink *k, const struct eve_output_cfg *cfg, char *err, size_t errlen)
{
    return unix_init(k, cfg, SOCK_STREAM, err, errlen);
}

static void unix_disconnect(struct sink *k)
{
    struct unix_sink *u = k->priv;
    if (u && u->fd >= 0) {
        close(u->fd);
        u->fd = -1;
    }
    if (u)
        u->off = 0; /* a new connection starts the record afresh */
}

static int unix_connect(struct sink *k, char *err, size_t errlen)
{
    struct unix_sink *u = k->priv;
    unix_disconnect(k);
    u->fd = sink_unix_connect(&u->sa, u->type, err, errlen);
    return u->fd < 0 ? -1 : 0;
}

static int unix_send(struct sink *k, const char *rec, size_t len)
{
    struct unix_sink *u = k->priv;
    if (u->fd < 0)
        return -1;
    size_t total = len + 1; /* the record and its "\n" */
    while (u->off < total) {
        struct iovec iov[2];
        int n = 0;
        if (u->off < len)
            iov[n++] = (struct iovec){(void *)(rec + u->off), len - u->off};
        iov[n++] = (struct iovec){"\n", 1};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(u->fd, &m, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (u->type == SOCK_DGRAM && errno == EMSGSIZE) {
                u->errors++;
                return 0;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                snprintf(k->why, sizeof(k->why), "the reader is not reading (send: %s after %d s)",
                         errno == ENOBUFS ? strerror(errno) : "timed out", UNIX_SEND_TIMEOUT_S);
                return 1;
            }
            snprintf(k->why, sizeof(k->why), "connection lost (send: %s)", strerror(errno));
            return -1;
        }
        if (u->type == SOCK_DGRAM)
            break; /* a datagram is all or nothing */
        u->off += (size_t)w;
    }
    u->off = 0;
    return 0;
}

static void unix_destroy(struct sink *k)
{
    unix_disconnect(k);
    free(k->priv);
    k->priv = NULL;
}

static uint64_t unix_errors(const struct sink *k)
{
    const struct unix_sink *u = k->priv;
    return u ? u->errors : 0;
}

const struct sink_ops sink_unix_dgram_ops = {
    .name = "unix_dgram",
    .init = dgram_init,
    .connect = unix_connect,
    .send = unix_send,
    .disconnect = unix_disconnect,
    .destroy = unix_destroy,
    .errors = unix_errors,
};

const struct sink_ops sink_unix_stream_ops = {
    .name = "unix_stream",
    .init = stream_init,
    .connect = unix_connect,
    .send = unix_send,
    .disconnect = unix_disconnect,
    .destroy = unix_destroy,
    .errors = unix_errors,
};
