/* test_output.c — EVE outputs (sensor/output/output.c, output_async.c, output_unix.c, output_syslog.c)
 * against real files and real unix sockets the test binds in a fresh temporary directory.
 *
 * unix_dgram / unix_stream: records arrive whole, newline-framed, in order; the reader killed
 * (socket closed and unlinked) and bound again: the records written meanwhile arrive after the
 * restart, with exactly one failed send (the record kept, not an error) and one reconnect
 * counted; no reader at all: a 64 KiB
 * queue keeps exactly floor(65536 / (4 + record)) records and drops the rest, counted exactly
 * (and the kept ones arrive once a reader appears). syslog: "<PRI>Mmm dd hh:mm:ss IDENT[PID]: "
 * with PRI = facility * 8 + level from the configuration, defaults local5.info (174). Regular
 * files: rotation by size and by wall-clock interval (the clock is injected: output_clock), two
 * outputs appending to one file (two workers) rotating it once, SIGHUP reopen after a logrotate
 * move. test_dgram_rate prints records/s through unix_dgram.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "output.h"

static char dir[64];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tw-output-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
    output_clock = NULL;
    return 0;
}

static struct eve_output_cfg cfg_for(int filetype, const char *name)
{
    struct eve_output_cfg c;
    memset(&c, 0, sizeof(c));
    c.filetype = filetype;
    c.filename = (char *)name;
    c.types = EVE_T_ALERT | EVE_T_TOKEN | EVE_T_STATS;
    c.syslog_facility = 21;
    c.syslog_level = 6;
    c.queue_size = 1u << 20;
    c.line = 1;
    return c;
}

static void sock_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* A socket bound at path (stream: listening). */
static int reader(const char *path, int type)
{
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (type == SOCK_STREAM)
        assert_int_equal(listen(fd, 4), 0);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    return fd;
}

static int accept_within(int lfd, int ms)
{
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, ms) != 1)
        return -1;
    return accept(lfd, NULL, NULL);
}

/* One datagram into buf (NUL-terminated); its length, or -1 after ms without one. */
static ssize_t recv_within(int fd, char *buf, size_t n, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, ms) != 1)
        return -1;
    ssize_t r = recv(fd, buf, n - 1, 0);
    if (r >= 0)
        buf[r] = '\0';
    return r;
}

/* Line reader over a stream socket. */
struct lines {
    int fd;
    char buf[1 << 16];
    size_t len;
};

static int next_line(struct lines *l, char *out, size_t n, int ms)
{
    for (;;) {
        char *nl = memchr(l->buf, '\n', l->len);
        if (nl) {
            size_t k = (size_t)(nl - l->buf);
            assert_true(k < n);
            memcpy(out, l->buf, k);
            out[k] = '\0';
            memmove(l->buf, nl + 1, l->len - k - 1);
            l->len -= k + 1;
            return 0;
        }
        struct pollfd p = {l->fd, POLLIN, 0};
        if (poll(&p, 1, ms) != 1)
            return -1;
        ssize_t r = recv(l->fd, l->buf + l->len, sizeof(l->buf) - l->len, 0);
        if (r <= 0)
            return -1;
        l->len += (size_t)r;
    }
}

/* Record i: {"n":i,"pad":"xxx..."} of exactly `size` bytes (size >= 24). */
static size_t record(char *buf, int i, size_t size)
{
    int w = snprintf(buf, size + 1, "{\"n\":%d,\"pad\":\"", i);
    while ((size_t)w < size - 2)
        buf[w++] = 'x';
    buf[w++] = '"';
    buf[w++] = '}';
    buf[w] = '\0';
    return (size_t)w;
}

static void wait_written(struct output *o, uint64_t n)
{
    struct output_stats st;
    for (double end = now_s() + 10; now_s() < end;) {
        output_stats(o, &st);
        if (st.written >= n)
            return;
        usleep(2000);
    }
    output_stats(o, &st);
    assert_int_equal(st.written, n);
}

static void assert_stats(struct output *o, uint64_t written, uint64_t dropped, uint64_t errors,
                         uint64_t reconnects)
{
    struct output_stats st;
    output_stats(o, &st);
    assert_int_equal(st.written, written);
    assert_int_equal(st.dropped, dropped);
    assert_int_equal(st.errors, errors);
    assert_int_equal(st.reconnects, reconnects);
}

static void test_dgram_in_order(void **state)
{
    (void)state;
    char path[256], rec[512], got[1024];
    sock_path(path, sizeof(path), "d.sock");
    int r = reader(path, SOCK_DGRAM);
    struct eve_output_cfg c = cfg_for(EVE_FT_UNIX_DGRAM, path);
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    for (int i = 0; i < 2000; i++) {
        size_t n = record(rec, i, 40 + (size_t)(i % 300));
        assert_int_equal(output_write(&o, rec, n), 0);
        if (i % 100 == 99)
            output_flush(&o);
    }
    for (int i = 0; i < 2000; i++) {
        size_t n = record(rec, i, 40 + (size_t)(i % 300));
        ssize_t g = recv_within(r, got, sizeof(got), 5000);
        assert_int_equal(g, (ssize_t)n + 1);
        assert_memory_equal(got, rec, n);
        assert_int_equal(got[n], '\n');
    }
    wait_written(&o, 2000);
    output_close(&o);
    assert_stats(&o, 2000, 0, 0, 0);
    close(r);
}

static void test_stream_in_order(void **state)
{
    (void)state;
    char path[256], rec[512], got[1024];
    sock_path(path, sizeof(path), "s.sock");
    int l = reader(path, SOCK_STREAM);
    struct eve_output_cfg c = cfg_for(EVE_FT_UNIX_STREAM, "s.sock"); /* relative to the log dir */
    c.queue_size = 4u << 20; /* all 5000 (1.2 MB) fit before the reader accepts */
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    for (int i = 0; i < 5000; i++) {
        size_t n = record(rec, i, 30 + (size_t)(i % 400));
        assert_int_equal(output_write(&o, rec, n), 0);
    }
    struct lines *ln = calloc(1, sizeof(*ln));
    ln->fd = accept_within(l, 5000);
    assert_true(ln->fd >= 0);
    for (int i = 0; i < 5000; i++) {
        size_t n = record(rec, i, 30 + (size_t)(i % 400));
        if (next_line(ln, got, sizeof(got), 5000) != 0)
            fail_msg("record %d of 5000 missing (%zu bytes)", i, n);
        assert_string_equal(got, rec);
    }
    wait_written(&o, 5000);
    output_close(&o);
    assert_stats(&o, 5000, 0, 0, 0);
    assert_int_equal(next_line(ln, got, sizeof(got), 200), -1); /* nothing more, closed */
    close(ln->fd);
    free(ln);
    close(l);
}

/* The reader goes away (closed and unlinked) and comes back: what was written meanwhile
 * arrives; exactly one failed send (the first after the loss) and one reconnect. */
static void restart(int type)
{
    char path[256], rec[128], got[1024];
    sock_path(path, sizeof(path), type == SOCK_DGRAM ? "rd.sock" : "rs.sock");
    int r = reader(path, type), a = -1;
    struct eve_output_cfg c = cfg_for(type == SOCK_DGRAM ? EVE_FT_UNIX_DGRAM : EVE_FT_UNIX_STREAM,
                                      path);
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    struct lines *ln = calloc(1, sizeof(*ln));
    for (int i = 0; i < 10; i++)
        assert_int_equal(output_write(&o, rec, record(rec, i, 64)), 0);
    if (type == SOCK_STREAM) {
        a = accept_within(r, 5000);
        assert_true(a >= 0);
        ln->fd = a;
    }
    for (int i = 0; i < 10; i++) {
        record(rec, i, 64);
        if (type == SOCK_DGRAM) {
            assert_int_equal(recv_within(r, got, sizeof(got), 5000), 65);
            got[64] = '\0';
        } else {
            assert_int_equal(next_line(ln, got, sizeof(got), 5000), 0);
        }
        assert_string_equal(got, rec);
    }
    wait_written(&o, 10);
    /* the reader dies */
    if (a >= 0)
        close(a);
    close(r);
    unlink(path);
    for (int i = 10; i < 30; i++)
        assert_int_equal(output_write(&o, rec, record(rec, i, 64)), 0);
    usleep(400 * 1000); /* the writer finds it gone and backs off */
    struct output_stats st;
    output_stats(&o, &st);
    assert_int_equal(st.written, 10);
    assert_int_equal(st.errors, 0); /* nothing lost: the failed record waits */
    /* back */
    r = reader(path, type);
    if (type == SOCK_STREAM) {
        a = accept_within(r, 10000);
        assert_true(a >= 0);
        ln->fd = a;
        ln->len = 0;
    }
    for (int i = 10; i < 30; i++) {
        record(rec, i, 64);
        if (type == SOCK_DGRAM) {
            assert_int_equal(recv_within(r, got, sizeof(got), 10000), 65);
            got[64] = '\0';
        } else {
            assert_int_equal(next_line(ln, got, sizeof(got), 10000), 0);
        }
        assert_string_equal(got, rec);
    }
    wait_written(&o, 30);
    struct sink_stats ks;
    sink_async_stats(&o.sink, &ks);
    assert_int_equal(ks.send_failures, 1);
    output_close(&o);
    assert_stats(&o, 30, 0, 0, 1);
    if (a >= 0)
        close(a);
    close(r);
    free(ln);
}

static void test_dgram_restart(void **state)
{
    (void)state;
    restart(SOCK_DGRAM);
}

static void test_stream_restart(void **state)
{
    (void)state;
    restart(SOCK_STREAM);
}

/* No reader: a 64 KiB queue holds floor(65536 / (4 + 100)) = 630 records of 100 bytes; the
 * rest are dropped at once, and what is queued at close (no drain time) too. */
static void test_overflow_exact(void **state)
{
    (void)state;
    char path[256], rec[128];
    sock_path(path, sizeof(path), "none.sock");
    struct eve_output_cfg c = cfg_for(EVE_FT_UNIX_DGRAM, path);
    c.queue_size = 65536;
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    int queued = 0;
    for (int i = 0; i < 1000; i++)
        if (output_write(&o, rec, record(rec, i, 100)) == 0)
            queued++;
    assert_int_equal(queued, 630);
    assert_stats(&o, 0, 370, 0, 0);
    output_flush(&o); /* never waits */
    double t0 = now_s();
    o.drain_ms = 0;
    output_close(&o);
    assert_true(now_s() - t0 < 1.5); /* bounded by the connect backoff step, not by 5 s */
    assert_stats(&o, 0, 1000, 0, 0);
}

/* As above, then a reader appears: the 630 kept records arrive, in order; 370 dropped. A record
 * larger than the whole queue is dropped too. */
static void test_overflow_then_reader(void **state)
{
    (void)state;
    char path[256], rec[128], got[256];
    sock_path(path, sizeof(path), "late.sock");
    struct eve_output_cfg c = cfg_for(EVE_FT_UNIX_DGRAM, path);
    c.queue_size = 65536;
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    for (int i = 0; i < 1000; i++)
        output_write(&o, rec, record(rec, i, 100));
    char *huge = calloc(1, 70000);
    memset(huge, 'y', 69999);
    assert_int_equal(output_write(&o, huge, 69999), -1);
    free(huge);
    usleep(150 * 1000);
    int r = reader(path, SOCK_DGRAM);
    for (int i = 0; i < 630; i++) {
        record(rec, i, 100);
        assert_int_equal(recv_within(r, got, sizeof(got), 10000), 101);
        got[100] = '\0';
        assert_string_equal(got, rec);
    }
    wait_written(&o, 630);
    output_close(&o);
    assert_stats(&o, 630, 371, 0, 0);
    assert_int_equal(recv_within(r, got, sizeof(got), 100), -1);
    close(r);
}

static void check_syslog(int facility, int level, const char *ident, int pri)
{
    char path[256], got[1024], want[128];
    sock_path(path, sizeof(path), "log");
    unlink(path);
    int r = reader(path, SOCK_DGRAM);
    struct eve_output_cfg c = cfg_for(EVE_FT_SYSLOG, NULL);
    c.syslog_socket = path;
    c.syslog_facility = facility;
    c.syslog_level = level;
    c.syslog_identity = (char *)ident;
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    const char *rec = "{\"event_type\":\"alert\",\"x\":1}";
    time_t before = time(NULL);
    assert_int_equal(output_write(&o, rec, strlen(rec)), 0);
    ssize_t n = recv_within(r, got, sizeof(got), 5000);
    time_t after = time(NULL);
    assert_true(n > 0);
    /* <PRI> */
    snprintf(want, sizeof(want), "<%d>", pri);
    assert_memory_equal(got, want, strlen(want));
    char *p = got + strlen(want);
    /* TIMESTAMP: "Mmm dd hh:mm:ss" of the local clock at sending */
    int ok = 0;
    for (time_t t = before; t <= after && !ok; t++) {
        struct tm tm;
        char ts[32];
        localtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
        ok = strncmp(p, ts, 15) == 0;
    }
    assert_true(ok);
    p += 15;
    snprintf(want, sizeof(want), " %s[%ld]: ", ident ? ident : "tokenwatch", (long)getpid());
    assert_memory_equal(p, want, strlen(want));
    p += strlen(want);
    assert_string_equal(p, rec); /* one datagram, no newline */
    assert_int_equal(got + n - p, (long)strlen(rec));
    wait_written(&o, 1);
    output_close(&o);
    assert_stats(&o, 1, 0, 0, 0);
    close(r);
    unlink(path);
}

static void test_syslog(void **state)
{
    (void)state;
    check_syslog(21, 6, NULL, 174);       /* defaults: local5.info */
    check_syslog(16, 4, "twtest", 132);   /* local0.warning */
    check_syslog(3, 0, "d", 24);          /* daemon.emerg */
    check_syslog(23, 7, "z", 191);        /* local7.debug */
}

/* Regular files ---------------------------------------------------------------------------- */

static time_t fake_now;
static time_t fake_clock(void)
{
    return fake_now;
}

/* Records of every file whose name starts with prefix, files in name order, concatenated. */
static int count_files(const char *prefix, char names[][128], int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && n < max)
            snprintf(names[n++], 128, "%.120s", e->d_name);
    closedir(d);
    /* sort (few names) */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char t[128];
                memcpy(t, names[i], 128);
                memcpy(names[i], names[j], 128);
                memcpy(names[j], t, 128);
            }
    return n;
}

static int file_lines(const char *name, int *nums, int max)
{
    char p[512], line[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    int n = 0;
    while (fgets(line, sizeof(line), f) && n < max)
        assert_int_equal(sscanf(line, "{\"n\":%d,", &nums[n++]), 1);
    fclose(f);
    return n;
}

static void test_rotate_size(void **state)
{
    (void)state;
    fake_now = 1700000000; /* 2023-11-14 22:13:20 UTC */
    output_clock = fake_clock;
    struct eve_output_cfg c = cfg_for(EVE_FT_REGULAR, "eve.json");
    c.rotate_size = 1000;
    struct output o;
    char err[256], rec[128];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    for (int i = 0; i < 25; i++) {
        assert_int_equal(output_write(&o, rec, record(rec, i, 100)), 0);
        output_flush(&o);
    }
    output_close(&o);
    char names[8][128];
    assert_int_equal(count_files("eve.json", names, 8), 3);
    assert_string_equal(names[0], "eve.json");
    assert_string_equal(names[1], "eve.json.20231114-221320");
    assert_string_equal(names[2], "eve.json.20231114-221320.1"); /* same second: no overwrite */
    int nums[64];
    assert_int_equal(file_lines(names[1], nums, 64), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(nums[i], i);
    assert_int_equal(file_lines(names[2], nums, 64), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(nums[i], 10 + i);
    assert_int_equal(file_lines(names[0], nums, 64), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(nums[i], 20 + i);
    assert_stats(&o, 25, 0, 0, 0);
}

static void test_rotate_interval(void **state)
{
    (void)state;
    fake_now = 1700000000;
    output_clock = fake_clock;
    struct eve_output_cfg c = cfg_for(EVE_FT_REGULAR, "int.json");
    c.rotate_interval = 60;
    struct output o;
    char err[256], rec[128];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    output_write(&o, rec, record(rec, 0, 50));
    fake_now += 59;
    output_flush(&o);
    char names[8][128];
    assert_int_equal(count_files("int.json", names, 8), 1);
    output_write(&o, rec, record(rec, 1, 50));
    fake_now += 1; /* 60 s after opening */
    output_flush(&o);
    assert_int_equal(count_files("int.json", names, 8), 2);
    assert_string_equal(names[1], "int.json.20231114-221420");
    output_write(&o, rec, record(rec, 2, 50));
    fake_now += 30;
    output_flush(&o); /* the new file is 30 s old: stays */
    fake_now += 30;
    output_flush(&o); /* idle flush (capture_idle) rotates too */
    output_close(&o);
    assert_int_equal(count_files("int.json", names, 8), 3);
    assert_string_equal(names[2], "int.json.20231114-221520");
    int nums[8];
    assert_int_equal(file_lines(names[1], nums, 8), 2);
    assert_int_equal(file_lines(names[2], nums, 8), 1);
    assert_int_equal(nums[0], 2);
    assert_int_equal(file_lines(names[0], nums, 8), 0);
    /* a quiet interval: the empty file is not rotated */
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    fake_now += 120;
    output_flush(&o);
    output_close(&o);
    assert_int_equal(count_files("int.json", names, 8), 3);
}

/* Two outputs (two workers) append to one file: each threshold crossed rotates once, by the one
 * whose flush crossed it; the other follows into the new file; nothing lost or duplicated. */
static void test_rotate_two_workers(void **state)
{
    (void)state;
    fake_now = 1700000000;
    output_clock = fake_clock;
    struct eve_output_cfg c = cfg_for(EVE_FT_REGULAR, "two.json");
    c.rotate_size = 2100;
    struct output a, b;
    char err[256], rec[128];
    assert_int_equal(output_open(&a, &c, dir, err, sizeof(err)), 0);
    assert_int_equal(output_open(&b, &c, dir, err, sizeof(err)), 0);
    for (int i = 0; i < 60; i++) {
        struct output *o = i % 2 ? &b : &a;
        output_write(o, rec, record(rec, i, 99)); /* 100 bytes with the newline */
        output_flush(o);
    }
    output_close(&a);
    output_close(&b);
    char names[8][128];
    assert_int_equal(count_files("two.json", names, 8), 3);
    assert_string_equal(names[1], "two.json.20231114-221320");
    assert_string_equal(names[2], "two.json.20231114-221320.1");
    int nums[128], k;
    k = file_lines(names[1], nums, 128);
    assert_int_equal(k, 21);
    for (int i = 0; i < k; i++)
        assert_int_equal(nums[i], i);
    k = file_lines(names[2], nums, 128);
    assert_int_equal(k, 21);
    for (int i = 0; i < k; i++)
        assert_int_equal(nums[i], 21 + i);
    k = file_lines(names[0], nums, 128);
    assert_int_equal(k, 18);
    for (int i = 0; i < k; i++)
        assert_int_equal(nums[i], 42 + i);
    assert_int_equal(a.rotations, 1); /* record 20 (a's) crossed the first threshold */
    assert_int_equal(b.rotations, 1); /* record 41 (b's) the second */
}

/* Four threads, each its own output on one file, real clock, rotating every 50000 bytes: every
 * record exactly once across the files, no rotated file overwritten, each rotated one full. */
struct rot_th {
    const struct eve_output_cfg *c;
    int id;
};
static void *rot_worker(void *arg)
{
    struct rot_th *t = arg;
    struct output o;
    char err[256], rec[128];
    if (output_open(&o, t->c, dir, err, sizeof(err)) != 0)
        return NULL;
    for (int i = 0; i < 5000; i++) {
        output_write(&o, rec, record(rec, t->id * 5000 + i, 99));
        output_flush(&o);
    }
    output_close(&o);
    return NULL;
}

static void test_rotate_threads(void **state)
{
    (void)state;
    struct eve_output_cfg c = cfg_for(EVE_FT_REGULAR, "thr.json");
    c.rotate_size = 50000;
    pthread_t th[4];
    struct rot_th t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (struct rot_th){&c, i};
        pthread_create(&th[i], NULL, rot_worker, &t[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    static char names[64][128];
    int n = count_files("thr.json", names, 64);
    assert_true(n >= 2);
    static int nums[20000], seen[20000];
    memset(seen, 0, sizeof(seen));
    int total = 0;
    for (int f = 0; f < n; f++) {
        int k = file_lines(names[f], nums, 20000);
        if (f > 0) {
            assert_true(k * 100 >= 50000);
            assert_true(k * 100 < 50000 + 4096);
        }
        for (int i = 0; i < k; i++)
            seen[nums[i]]++;
        total += k;
    }
    assert_int_equal(total, 20000);
    for (int i = 0; i < 20000; i++)
        assert_int_equal(seen[i], 1);
    printf("4 threads, 2 MB through rotate-size 50000: %d files\n", n);
}

/* logrotate moves the file away and sends SIGHUP: the output opens the name afresh. */
static void test_sighup_reopen(void **state)
{
    (void)state;
    struct eve_output_cfg c = cfg_for(EVE_FT_REGULAR, "hup.json");
    struct output o;
    char err[256], rec[128], p[512], q[512];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    output_write(&o, rec, record(rec, 0, 40));
    output_flush(&o);
    snprintf(p, sizeof(p), "%s/hup.json", dir);
    snprintf(q, sizeof(q), "%s/hup.json.1", dir);
    assert_int_equal(rename(p, q), 0);
    output_write(&o, rec, record(rec, 1, 40)); /* buffered: goes out before the reopen */
    assert_int_equal(output_reopen(&o, err, sizeof(err)), 0);
    output_write(&o, rec, record(rec, 2, 40));
    output_close(&o);
    int nums[8];
    assert_int_equal(file_lines("hup.json.1", nums, 8), 2);
    assert_int_equal(nums[1], 1);
    assert_int_equal(file_lines("hup.json", nums, 8), 1);
    assert_int_equal(nums[0], 2);
    assert_stats(&o, 3, 0, 0, 0);
}

static void test_bad_config(void **state)
{
    (void)state;
    struct eve_output_cfg c = cfg_for(EVE_FT_UNIX_STREAM, NULL);
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "socket path"));
    output_close(&o);
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    c.filename = longp;
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "longer than"));
    output_close(&o);
}

/* records/s through unix_dgram (a reader thread receiving), printed; all must arrive. */
struct rate_rd {
    int fd, n, got;
};
static void *rate_reader(void *arg)
{
    struct rate_rd *r = arg;
    char buf[1024];
    while (r->got < r->n && recv_within(r->fd, buf, sizeof(buf), 5000) > 0)
        r->got++;
    return NULL;
}

static void test_dgram_rate(void **state)
{
    (void)state;
    char path[256], rec[400];
    sock_path(path, sizeof(path), "rate.sock");
    struct rate_rd rd = {reader(path, SOCK_DGRAM), 200000, 0};
    pthread_t th;
    pthread_create(&th, NULL, rate_reader, &rd);
    struct eve_output_cfg c = cfg_for(EVE_FT_UNIX_DGRAM, path);
    c.queue_size = 64u << 20;
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    size_t n = record(rec, 0, 320);
    double t0 = now_s();
    for (int i = 0; i < rd.n; i++)
        assert_int_equal(output_write(&o, rec, n), 0);
    double t1 = now_s();
    wait_written(&o, (uint64_t)rd.n);
    double t2 = now_s();
    pthread_join(th, NULL);
    output_close(&o);
    assert_int_equal(rd.got, rd.n);
    assert_stats(&o, (uint64_t)rd.n, 0, 0, 0);
    printf("unix_dgram: %d records of 320 bytes: queued at %.0f/s (packet path), delivered at "
           "%.0f/s\n", rd.n, rd.n / (t1 - t0), rd.n / (t2 - t0));
    close(rd.fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dgram_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dgram_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overflow_then_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syslog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_two_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sighup_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dgram_rate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
