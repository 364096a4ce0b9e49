/* test_output_loss.c — every EVE record ends written, dropped or an error, exactly once, whatever
 * the peer does (sensor/output/output.c, output_async.c, output_unix.c), against real unix sockets, real
 * files and a real file size limit.
 *
 * Async (3,000 records of 200 bytes): no reader at all; a unix_stream reader that stalls after
 * 1,000 records and never reads again; a unix_dgram reader whose receive queue is full; a slow
 * reader. After output_settle (the end of a run, before the final stats record) the counters add
 * up to 3,000 already; a stall is reported as a stall, never as "connection lost"; a stream
 * carries whole records only (what the reader finally reads is exactly `written` whole records
 * in order). Regular files: a write cut short by RLIMIT_FSIZE (EFBIG, as a full disk gives
 * ENOSPC) leaves no torn record, the whole records count as written, the rest as errors, one
 * line on stderr; a symlink, a FIFO or a directory at the path is refused (the symlink's target
 * untouched); as root, output_chown hands a created file to another user.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "output.h"

#define NREC 3000
#define RECSZ 200

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tw-outloss-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct eve_output_cfg cfg_for(int filetype, const char *name)
{
    struct eve_output_cfg c;
    memset(&c, 0, sizeof(c));
    c.filetype = filetype;
    c.filename = (char *)name;
    c.types = EVE_T_ALERT | EVE_T_TOKEN | EVE_T_STATS;
    c.queue_size = 4u << 20; /* room for all NREC: only the peer decides what is lost */
    c.line = 1;
    return c;
}

/* Record i: {"n":i,"pad":"xxx"} of exactly RECSZ bytes. */
static size_t record(char *buf, int i)
{
    int w = snprintf(buf, RECSZ + 1, "{\"n\":%d,\"pad\":\"", i);
    while (w < RECSZ - 2)
        buf[w++] = 'x';
    buf[w++] = '"';
    buf[w++] = '}';
    buf[w] = '\0';
    return (size_t)w;
}

/* stderr into a file for the duration of a test, to check what the sensor said. */
struct grab {
    int saved;
    char path[128];
};

static void grab_start(struct grab *g)
{
    snprintf(g->path, sizeof(g->path), "%s/stderr", dir);
    fflush(stderr);
    g->saved = dup(2);
    int fd = open(g->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    dup2(fd, 2);
    close(fd);
}

/* Restores stderr; returns what was written (static buffer). */
static const char *grab_end(struct grab *g)
{
    static char text[8192];
    fflush(stderr);
    dup2(g->saved, 2);
    close(g->saved);
    FILE *f = fopen(g->path, "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    text[n] = '\0';
    if (f)
        fclose(f);
    fprintf(stderr, "%s", text); /* still visible in the test log */
    return text;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void assert_sum(struct output *o, uint64_t total)
{
    struct output_stats st;
    output_stats(o, &st);
    fprintf(stderr, "# written %llu dropped %llu errors %llu\n", (unsigned long long)st.written,
            (unsigned long long)st.dropped, (unsigned long long)st.errors);
    assert_int_equal(st.written + st.dropped + st.errors, total);
}

static int bound(const char *path, int type)
{
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (type == SOCK_STREAM)
        assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static void push_all(struct output *o)
{
    char rec[RECSZ + 1];
    for (int i = 0; i < NREC; i++)
        output_write(o, rec, record(rec, i));
}

/* No reader ever: at the settle deadline all 3,000 are dropped, counted before the stats record
 * would be written; nothing else moves at close. */
static void test_absent_reader(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/none.sock", dir);
    struct eve_output_cfg c = cfg_for(EVE_FT_UNIX_STREAM, path);
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    push_all(&o);
    output_settle(&o, mono_ns() + 300000000ull);
    struct output_stats st;
    output_stats(&o, &st);
    assert_int_equal(st.written, 0);
    assert_int_equal(st.dropped, NREC);
    assert_int_equal(st.errors, 0);
    output_close(&o);
    assert_sum(&o, NREC);
}

/* Reads whole lines from fd until EOF (or 3 s of silence); checks that they are records
 * first, first+1, ... in order; returns how many. A trailing fragment without newline (a
 * connection cut mid-record) is not a record. */
static int read_records(int fd, int first)
{
    static char buf[1 << 20];
    size_t len = 0;
    int n = 0;
    char want[RECSZ + 1];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 3000) != 1)
            break;
        ssize_t r = recv(fd, buf + len, sizeof(buf) - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
            record(want, first + n);
            assert_int_equal(nl - start, RECSZ);
            assert_memory_equal(start, want, RECSZ);
            n++;
            start = nl + 1;
        }
        len -= (size_t)(start - buf);
        memmove(buf, start, len);
    }
    return n;
}

/* A unix_stream reader takes 1,000 records, then stops reading but stays connected. The writer
 * says the reader is not reading (not "connection lost"), keeps the connection, and at the
 * settle deadline gives up the rest, closing the connection that holds half a record. Then the
 * reader reads on: exactly `written` whole records, in order, nothing after a cut record. */
static void test_stream_stalled(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/stall.sock", dir);
    int l = bound(path, SOCK_STREAM);
    struct eve_output_cfg c = cfg_for(EVE_FT_UNIX_STREAM, path);
    struct output o;
    char err[256];
    struct grab g;
    grab_start(&g);
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    struct pollfd p = {l, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
    int fd = accept(l, NULL, NULL);
    assert_true(fd >= 0);
    push_all(&o);
    /* take exactly 1,000 records' bytes, then stall */
    static char sink[1000 * (RECSZ + 1)];
    size_t got = 0;
    while (got < sizeof(sink)) {
        ssize_t r = recv(fd, sink + got, sizeof(sink) - got, 0);
        assert_true(r > 0);
        got += (size_t)r;
    }
    output_settle(&o, mono_ns() + 2500000000ull);
    struct output_stats st;
    output_stats(&o, &st);
    assert_int_equal(st.written + st.dropped + st.errors, NREC); /* exact before close */
    assert_true(st.dropped > 0);
    uint64_t written = st.written;
    output_close(&o);
    const char *text = grab_end(&g);
    assert_non_null(strstr(text, "not reading"));
    assert_null(strstr(text, "connection lost"));
    assert_sum(&o, NREC);
    output_stats(&o, &st);
    assert_int_equal(st.written, written);
    assert_int_equal(1000 + read_records(fd, 1000), (int)written);
    /* a connection made after the cut (for a later record) carries none of these */
    if (poll(&p, 1, 0) == 1) {
        int fd2 = accept(l, NULL, NULL);
        assert_true(fd2 >= 0);
        assert_int_equal(read_records(fd2, 0), 0);
        close(fd2);
    }
    close(fd);
    close(l);
}

/* Opens c's output to a datagram reader that never reads and pushes NREC records: the writer
 * must call it a stall ("not reading"), never a lost connection, and count every record once,
 * some of them dropped. Returns the output's final counts. */
static struct output_stats stalled_run(const struct eve_output_cfg *c)
{
    struct output o;
    char err[256];
    struct grab g;
    grab_start(&g);
    assert_int_equal(output_open(&o, c, dir, err, sizeof(err)), 0);
    push_all(&o);
    output_settle(&o, mono_ns() + 2500000000ull);
    struct output_stats st;
    output_stats(&o, &st);
    assert_int_equal(st.written + st.dropped + st.errors, NREC);
    assert_true(st.dropped > 0);
    output_close(&o);
    const char *text = grab_end(&g);
    assert_non_null(strstr(text, "not reading"));
    assert_null(strstr(text, "connection lost"));
    assert_sum(&o, NREC);
    output_stats(&o, &st);
    return st;
}

/* unix_dgram into a reader that never reads: its queue fills (the send times out), a stall,
 * not a lost connection; exact counts; the reader then finds exactly `written` datagrams. */
static void test_dgram_full(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/full.sock", dir);
    int r = bound(path, SOCK_DGRAM);
    struct eve_output_cfg c = cfg_for(EVE_FT_UNIX_DGRAM, path);
    struct output_stats st = stalled_run(&c);
    char buf[RECSZ + 2], want[RECSZ + 1];
    uint64_t n = 0;
    for (;;) {
        ssize_t k = recv(r, buf, sizeof(buf), MSG_DONTWAIT);
        if (k < 0)
            break;
        assert_int_equal(k, RECSZ + 1);
        record(want, (int)n);
        assert_memory_equal(buf, want, RECSZ);
        n++;
    }
    assert_int_equal(n, st.written);
    close(r);
}

/* syslog into a datagram socket whose daemon never reads: a stall ("not reading"), not a lost
 * connection; exact counts; the socket then holds exactly `written` messages, each one record. */
static void test_syslog_full(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/log.sock", dir);
    int r = bound(path, SOCK_DGRAM);
    struct eve_output_cfg c = cfg_for(EVE_FT_SYSLOG, NULL);
    c.syslog_socket = path;
    struct output_stats st = stalled_run(&c);
    char buf[RECSZ + 512], want[RECSZ + 1];
    uint64_t n = 0;
    for (;;) {
        ssize_t k = recv(r, buf, sizeof(buf), MSG_DONTWAIT);
        if (k < 0)
            break;
        char *body = memmem(buf, (size_t)k, "]: ", 3);
        assert_non_null(body);
        body += 3;
        record(want, (int)n);
        assert_int_equal(buf + k - body, RECSZ);
        assert_memory_equal(body, want, RECSZ);
        n++;
    }
    assert_int_equal(n, st.written);
    close(r);
}

/* A slow reader (pauses between reads, never 1 s without reading): nothing lost, all in order. */
static void test_stream_slow(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/slow.sock", dir);
    int l = bound(path, SOCK_STREAM);
    struct eve_output_cfg c = cfg_for(EVE_FT_UNIX_STREAM, path);
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    struct pollfd p = {l, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
    int fd = accept(l, NULL, NULL);
    assert_true(fd >= 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    push_all(&o);
    static char all[NREC * (RECSZ + 1)];
    size_t got = 0;
    while (got < sizeof(all)) {
        ssize_t k = recv(fd, all + got, sizeof(all) - got > 8192 ? 8192 : sizeof(all) - got, 0);
        assert_true(k > 0);
        got += (size_t)k;
        usleep(2000);
    }
    output_settle(&o, mono_ns() + 2000000000ull);
    output_close(&o);
    struct output_stats st;
    output_stats(&o, &st);
    assert_int_equal(st.written, NREC);
    assert_int_equal(st.dropped + st.errors, 0);
    char want[RECSZ + 1];
    for (int i = 0; i < NREC; i++) {
        record(want, i);
        assert_memory_equal(all + (size_t)i * (RECSZ + 1), want, RECSZ);
        assert_int_equal(all[(size_t)i * (RECSZ + 1) + RECSZ], '\n');
    }
    close(fd);
    close(l);
}

/* A regular file that cannot grow past 10,000 bytes (RLIMIT_FSIZE: EFBIG, the same path as a
 * full disk's ENOSPC; 10,000 is not a multiple of 201, so the write stops mid-record): every
 * line in the file is a whole record, written = those lines, errors = the rest, one line on
 * stderr however many flushes fail, output_failed set. */
static void test_file_cut_short(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof(path), "%s/eve.json", dir);
    struct eve_output_cfg c = cfg_for(EVE_FT_REGULAR, "eve.json");
    struct output o;
    char err[256];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    struct rlimit old, lim = {10000, 10000};
    getrlimit(RLIMIT_FSIZE, &old);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    struct grab g;
    grab_start(&g);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    push_all(&o);
    for (int i = 0; i < 3; i++) { /* more failing flushes: still one line */
        char rec[RECSZ + 1];
        output_write(&o, rec, record(rec, NREC + i));
        output_flush(&o);
    }
    output_close(&o);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    const char *text = grab_end(&g);
    assert_int_equal(count_lines(text), 1);
    assert_non_null(strstr(text, "write failed"));
    assert_true(output_failed(&o));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char data[20000];
    size_t n = fread(data, 1, sizeof(data) - 1, f);
    fclose(f);
    data[n] = '\0';
    assert_true(n > 0 && n <= 10000);
    assert_int_equal(data[n - 1], '\n'); /* no torn record at the end */
    assert_int_equal(n % (RECSZ + 1), 0);
    struct output_stats st;
    output_stats(&o, &st);
    assert_int_equal(st.written, n / (RECSZ + 1));
    assert_int_equal(st.written + st.errors, NREC + 3);
}

/* A symlink planted at the path (by whoever may write the log dir) is refused and its target
 * left alone; a FIFO (no waiting for a reader) and a directory are refused too. */
static void test_refuse_non_regular(void **state)
{
    (void)state;
    char path[256], target[256];
    snprintf(path, sizeof(path), "%s/eve.json", dir);
    snprintf(target, sizeof(target), "%s/precious", dir);
    FILE *t = fopen(target, "w");
    fputs("keep\n", t);
    fclose(t);
    assert_int_equal(symlink(target, path), 0);
    struct eve_output_cfg c = cfg_for(EVE_FT_REGULAR, "eve.json");
    struct output o;
    char err[512];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "symbolic link"));
    output_close(&o);
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 5);
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    output_close(&o);
    unlink(path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), -1);
    output_close(&o);
    rmdir(path);
}

/* As root: a file the output created goes to the given uid:gid; one that was there keeps its
 * owner. */
static void test_chown_created(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip();
        return;
    }
    char path[256];
    snprintf(path, sizeof(path), "%s/eve.json", dir);
    struct eve_output_cfg c = cfg_for(EVE_FT_REGULAR, "eve.json");
    struct output o;
    char err[512];
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    assert_int_equal(output_chown(&o, 65534, 65534, err, sizeof(err)), 0);
    output_close(&o);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, 65534);
    assert_int_equal(chown(path, 0, 0), 0);
    assert_int_equal(output_open(&o, &c, dir, err, sizeof(err)), 0);
    assert_int_equal(output_chown(&o, 65534, 65534, err, sizeof(err)), 0);
    output_close(&o);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_absent_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_stalled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dgram_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syslog_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_slow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_cut_short, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuse_non_regular, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chown_created, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
