/* test_mapfile.c — capture files read through a memory mapping (sensor/capture/mapfile.c).
 *
 * The stream gives the file's bytes exactly (reads of every size, across pages and across the
 * drops of read pages), ftello follows, seeks work; a file that grows after the open is read to
 * its new end; a file cut shorter under the mapping ends in a read error (EIO) with the bytes
 * before the cut delivered (then at most the zeros of the cut's page), no crash (the SIGBUS
 * guard); a SIGBUS of another
 * mapping still kills (the guard chains to the default action: checked in a child); a FIFO
 * gets a plain stream; libpcap reads a capture through it packet for packet as through its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "mapfile.h"

static char dir[] = "/tmp/tw-mapfile-XXXXXX";

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    return b;
}

static void write_file(const char *p, const uint8_t *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_exact_bytes(void **state)
{
    (void)state;
    char p[256];
    path_of(p, sizeof(p), "big");
    size_t n = 3 * MAPFILE_DROP + 12345; /* several drops of read pages */
    uint8_t *want = pattern(n, 1);
    write_file(p, want, n);
    int mapped = 0;
    FILE *f = mapfile_open(p, &mapped);
    assert_non_null(f);
    assert_int_equal(mapped, 1);
    uint8_t *got = malloc(n + 1);
    size_t off = 0, k = 0;
    static const size_t sizes[] = {16, 1, 1514, 4095, 4097, 70000, 0, 300000};
    while (off < n) {
        size_t want_n = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
        size_t r = fread(got + off, 1, want_n, f);
        off += r;
        assert_int_equal((long long)ftello(f), (long long)off);
        if (r < want_n)
            break;
    }
    assert_int_equal(off, n);
    assert_memory_equal(got, want, n);
    assert_int_equal(fread(got, 1, 1, f), 0);
    assert_true(feof(f));
    assert_false(ferror(f));
    /* back to the start (pages dropped long ago come back) */
    assert_int_equal(fseeko(f, 100, SEEK_SET), 0);
    assert_int_equal(fread(got, 1, 5000, f), 5000);
    assert_memory_equal(got, want + 100, 5000);
    assert_int_equal(fclose(f), 0);
    free(got);
    free(want);
}

static void test_grows(void **state)
{
    (void)state;
    char p[256];
    path_of(p, sizeof(p), "grows");
    uint8_t *a = pattern(10000, 2), *b = pattern(7000, 3);
    write_file(p, a, 10000);
    FILE *f = mapfile_open(p, NULL);
    assert_non_null(f);
    uint8_t buf[20000];
    assert_int_equal(fread(buf, 1, 10000, f), 10000);
    FILE *w = fopen(p, "ab");
    assert_int_equal(fwrite(b, 1, 7000, w), 7000);
    fclose(w);
    clearerr(f);
    assert_int_equal(fread(buf, 1, 20000, f), 7000);
    assert_memory_equal(buf, b, 7000);
    assert_int_equal((long long)ftello(f), 17000);
    fclose(f);
    free(a);
    free(b);
}

static void test_cut_short(void **state)
{
    (void)state;
    char p[256];
    path_of(p, sizeof(p), "cut");
    size_t n = 256 * 1024;
    uint8_t *want = pattern(n, 4);
    write_file(p, want, n);
    FILE *f = mapfile_open(p, NULL);
    assert_non_null(f);
    setvbuf(f, NULL, _IONBF, 0);
    uint8_t *got = calloc(1, n);
    assert_int_equal(fread(got, 1, 10000, f), 10000);
    assert_int_equal(truncate(p, 50000), 0); /* not on a page boundary */
    size_t r = fread(got + 10000, 1, n - 10000, f);
    /* Up to the cut; then at most the rest of the cut's page, which the mapping shows as zeros
     * (a read that ends inside it cannot know the file shrank), then the error. */
    assert_true(r >= 40000 && r <= 53248 - 10000);
    assert_true(ferror(f));
    assert_memory_equal(got, want, 50000);
    for (size_t i = 50000; i < 10000 + r; i++)
        assert_int_equal(got[i], 0);
    clearerr(f);
    assert_int_equal(fread(got, 1, 100, f), 0); /* the error stays */
    assert_true(ferror(f));
    fclose(f);
    free(got);
    free(want);
}

static void test_other_sigbus_still_kills(void **state)
{
    (void)state;
    char p[256], q[256];
    path_of(p, sizeof(p), "guard");
    path_of(q, sizeof(q), "other");
    uint8_t *b = pattern(8192, 5);
    write_file(p, b, 8192);
    write_file(q, b, 8192);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGBUS, SIG_DFL); /* not cmocka's handler: the default action, chained to */
        FILE *f = mapfile_open(p, NULL); /* installs the guard */
        if (!f)
            _exit(2);
        int fd = open(q, O_RDONLY);
        volatile const uint8_t *m = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
        if (ftruncate(open(q, O_WRONLY), 0) != 0)
            _exit(3);
        uint8_t x = m[5000]; /* beyond the end of file: SIGBUS, not the guard's */
        _exit(x == 0 ? 4 : 5);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGBUS);
    free(b);
}

static void test_fifo_plain(void **state)
{
    (void)state;
    char p[256];
    path_of(p, sizeof(p), "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        FILE *w = fopen(p, "wb");
        fputs("hello, fifo", w);
        fclose(w);
        _exit(0);
    }
    int mapped = 1;
    FILE *f = mapfile_open(p, &mapped);
    assert_non_null(f);
    assert_int_equal(mapped, 0);
    char buf[64] = "";
    assert_int_equal(fread(buf, 1, sizeof(buf), f), 11);
    assert_string_equal(buf, "hello, fifo");
    fclose(f);
    waitpid(pid, NULL, 0);
}

static void test_missing(void **state)
{
    (void)state;
    char p[256];
    path_of(p, sizeof(p), "no-such-file");
    errno = 0;
    assert_null(mapfile_open(p, NULL));
    assert_int_equal(errno, ENOENT);
}

/* libpcap on the mapped stream: the demo capture packet for packet as pcap_open_offline reads
 * it (headers and bytes). */
static void test_libpcap_same(void **state)
{
    (void)state;
    const char *cap = TW_SOURCE_DIR "/pcaps/demo/01-office-traffic.pcap";
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *a = pcap_open_offline(cap, eb);
    if (!a)
        skip();
    FILE *f = mapfile_open(cap, NULL);
    assert_non_null(f);
    pcap_t *b = pcap_fopen_offline(f, eb);
    assert_non_null(b);
    struct pcap_pkthdr *ha, *hb;
    const u_char *da, *db;
    int ra, rb;
    size_t n = 0;
    while ((ra = pcap_next_ex(a, &ha, &da)) == 1) {
        rb = pcap_next_ex(b, &hb, &db);
        assert_int_equal(rb, 1);
        assert_int_equal(ha->caplen, hb->caplen);
        assert_int_equal(ha->len, hb->len);
        assert_int_equal(ha->ts.tv_sec, hb->ts.tv_sec);
        assert_int_equal(ha->ts.tv_usec, hb->ts.tv_usec);
        assert_memory_equal(da, db, ha->caplen);
        n++;
    }
    assert_int_equal(ra, PCAP_ERROR_BREAK);
    assert_int_equal(pcap_next_ex(b, &hb, &db), PCAP_ERROR_BREAK);
    assert_true(n > 0);
    pcap_close(a);
    pcap_close(b);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_grows),
        cmocka_unit_test(test_cut_short),
        cmocka_unit_test(test_other_sigbus_still_kills),
        cmocka_unit_test(test_fifo_plain),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_libpcap_same),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
