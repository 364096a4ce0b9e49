/* test_capture.c — offline reading (sensor/capture/capture.c): capture_offline opens each input
 * and hands it to the caller's reader, which reads it with capture_file_next.
 *
 * A directory is read in name order, its hidden files and subdirectories skipped; every packet
 * of a file reaches the reader, filtered by the BPF expression; a file cut short mid-record is
 * read up to the damage (the reader sees pcap_next_ex's -1, the sensor counts a capture error,
 * the run goes on: 0); an unreadable path counts an error, the next path is still read (1); a
 * bad filter reads nothing further (2); once the stop flag is set no further file is opened.
 * The test writes its captures itself (classic pcap, Ethernet).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "capture.h"

/* Ethernet + IPv4 + a UDP (proto 17) or TCP (proto 6) header, 54 bytes. */
static size_t frame(uint8_t *b, uint8_t proto, uint8_t tag)
{
    memset(b, 0, 54);
    b[12] = 0x08; /* IPv4 */
    b[14] = 0x45;
    b[17] = 40;   /* total length */
    b[22] = 64;
    b[23] = proto;
    const uint8_t addrs[8] = {10, 0, 0, 1, 10, 0, 0, 2};
    memcpy(b + 26, addrs, sizeof(addrs));
    b[34] = 0x30;
    b[35] = tag; /* the source port's low byte: which packet this is */
    b[37] = 80;
    if (proto == 6)
        b[46] = 0x50;
    else
        b[39] = 20;
    return 54;
}

/* A pcap of n frames (UDP, every third one TCP); cut > 0 drops that many bytes off the end. */
static void write_pcap(const char *path, int n, size_t cut)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    const uint32_t gh[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    fwrite(gh, sizeof(gh), 1, f);
    for (int i = 0; i < n; i++) {
        uint8_t b[64];
        size_t len = frame(b, i % 3 == 2 ? 6 : 17, (uint8_t)i);
        const uint32_t rh[4] = {1700000000u + (uint32_t)i, 0, (uint32_t)len, (uint32_t)len};
        fwrite(rh, sizeof(rh), 1, f);
        fwrite(b, len, 1, f);
    }
    long end = ftell(f);
    fclose(f);
    if (cut)
        assert_int_equal(truncate(path, end - (long)cut), 0);
}

struct seen {
    char files[8][256];
    uint64_t pkts[8];
    int last[8];
    size_t nfiles;
    uint8_t tags[64];
    size_t ntags;
    volatile sig_atomic_t *stop;
    int stop_after;          /* > 0: set *stop after this many packets */
};

static void reader(void *arg, struct capture_file *f)
{
    struct seen *x = arg;
    struct pcap_pkthdr *h;
    const u_char *data;
    size_t k = x->nfiles++;
    snprintf(x->files[k], sizeof(x->files[k]), "%s", f->path);
    assert_int_equal(f->dlt, DLT_EN10MB);
    while (!*x->stop && capture_file_next(f, &h, &data) == 1) {
        assert_int_equal(h->caplen, 54);
        assert_int_equal(capture_ts_us(h), (1700000000ull + data[35]) * 1000000ull);
        x->tags[x->ntags++] = data[35];
        if (x->stop_after && (int)x->ntags == x->stop_after)
            *x->stop = 1;
    }
    x->pkts[k] = f->npkts;
    x->last[k] = f->last;
}

struct fixture {
    char dir[64];
    char a[128], b[128], hidden[128], sub[128], cut[128];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tw-capture-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->a, sizeof(fx->a), "%s/a.pcap", fx->dir);
    snprintf(fx->b, sizeof(fx->b), "%s/b.pcap", fx->dir);
    snprintf(fx->hidden, sizeof(fx->hidden), "%s/.hidden.pcap", fx->dir);
    snprintf(fx->sub, sizeof(fx->sub), "%s/sub", fx->dir);
    snprintf(fx->cut, sizeof(fx->cut), "%s/sub/cut.pcap", fx->dir);
    write_pcap(fx->b, 3, 0);
    write_pcap(fx->a, 2, 0);
    write_pcap(fx->hidden, 1, 0);
    assert_int_equal(mkdir(fx->sub, 0700), 0);
    write_pcap(fx->cut, 5, 10);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    const char *files[] = {fx->a, fx->b, fx->hidden, fx->cut};
    for (size_t i = 0; i < 4; i++)
        unlink(files[i]);
    rmdir(fx->sub);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static int run(char *const *paths, size_t n, const char *bpf, struct seen *x, struct sensor *s,
               volatile sig_atomic_t *stop)
{
    struct capture_opts o = {.bpf = bpf, .verbose = -1};
    memset(s, 0, sizeof(*s));
    x->stop = stop;
    return capture_offline(&s->st.capture_errors, paths, n, &o, stop, reader, x);
}

static void test_directory_in_name_order(void **state)
{
    struct fixture *fx = *state;
    struct seen x = {0};
    struct sensor s;
    volatile sig_atomic_t stop = 0;
    char *paths[] = {fx->dir};
    assert_int_equal(run(paths, 1, NULL, &x, &s, &stop), 0);
    assert_int_equal(x.nfiles, 2); /* no .hidden.pcap, nothing from sub/ */
    assert_string_equal(x.files[0], fx->a);
    assert_string_equal(x.files[1], fx->b);
    assert_int_equal(x.pkts[0], 2);
    assert_int_equal(x.pkts[1], 3);
    assert_int_equal(x.last[0], PCAP_ERROR_BREAK); /* -2: the end of the file */
    assert_int_equal(x.ntags, 5);
    const uint8_t want[] = {0, 1, 0, 1, 2};
    assert_memory_equal(x.tags, want, sizeof(want));
    assert_int_equal(s.st.capture_errors, 0);
}

static void test_filter(void **state)
{
    struct fixture *fx = *state;
    struct seen x = {0};
    struct sensor s;
    volatile sig_atomic_t stop = 0;
    char *paths[] = {fx->b};
    assert_int_equal(run(paths, 1, "tcp", &x, &s, &stop), 0);
    assert_int_equal(x.ntags, 1);
    assert_int_equal(x.tags[0], 2);
    assert_int_equal(x.pkts[0], 1);
}

static void test_damaged_file_read_up_to_the_damage(void **state)
{
    struct fixture *fx = *state;
    struct seen x = {0};
    struct sensor s;
    volatile sig_atomic_t stop = 0;
    char *paths[] = {fx->cut, fx->a};
    assert_int_equal(run(paths, 2, NULL, &x, &s, &stop), 0);
    assert_int_equal(x.nfiles, 2);
    assert_int_equal(x.pkts[0], 4);
    assert_int_equal(x.last[0], PCAP_ERROR);
    assert_int_equal(x.pkts[1], 2);
    assert_int_equal(s.st.capture_errors, 1);
}

static void test_unreadable_then_the_next(void **state)
{
    struct fixture *fx = *state;
    struct seen x = {0};
    struct sensor s;
    volatile sig_atomic_t stop = 0;
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/missing.pcap", fx->dir);
    char *paths[] = {missing, fx->a};
    assert_int_equal(run(paths, 2, NULL, &x, &s, &stop), 1);
    assert_int_equal(x.nfiles, 1);
    assert_string_equal(x.files[0], fx->a);
    assert_int_equal(s.st.capture_errors, 1);
}

static void test_bad_filter_reads_nothing(void **state)
{
    struct fixture *fx = *state;
    struct seen x = {0};
    struct sensor s;
    volatile sig_atomic_t stop = 0;
    char *paths[] = {fx->a, fx->b};
    assert_int_equal(run(paths, 2, "no such (filter", &x, &s, &stop), 2);
    assert_int_equal(x.nfiles, 0);
}

static void test_stop_opens_no_further_file(void **state)
{
    struct fixture *fx = *state;
    struct seen x = {.stop_after = 1};
    struct sensor s;
    volatile sig_atomic_t stop = 0;
    char *paths[] = {fx->a, fx->b};
    assert_int_equal(run(paths, 2, NULL, &x, &s, &stop), 0);
    assert_int_equal(x.nfiles, 1);
    assert_int_equal(x.ntags, 1);
    assert_int_equal(s.st.capture_errors, 0); /* cut short by the signal: no damage */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directory_in_name_order),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_damaged_file_read_up_to_the_damage),
        cmocka_unit_test(test_unreadable_then_the_next),
        cmocka_unit_test(test_bad_filter_reads_nothing),
        cmocka_unit_test(test_stop_opens_no_further_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
