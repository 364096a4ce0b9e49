/* capture.c — libpcap offline and live reading (see capture.h): opens and configures the
 * handles, reads them, reports their counters. The run loop (worker.c) drives the reading and
 * runs the sensor; nothing here looks at a timer or a signal flag other than the stop flag.
 *
 * Offline: pcap and pcapng through pcap_fopen_offline on our own stream with a 1 MiB buffer
 * (libpcap's fopen leaves stdio's 4 KiB, a read(2) per 4 KiB); a record cut short or a corrupt
 * block ends that file with a warning naming it and the packet count reached, and the run goes on
 * with the next file. A path may be a FIFO (read as it is written; main installs SIGHUP with
 * SA_RESTART so a blocked read resumes). SIGINT/SIGTERM are installed without it: the blocked read
 * fails with EINTR, and the reader, which looks at the stop flag before each packet, ends the run
 * as if the input had ended there; a FIFO's open cut short the same way is no error. Reading files
 * with capture_opts.progress (stderr is a terminal), a progress line per regular file: bytes read
 * of its size (ftello on the capture's stream, looked at every CAPTURE_PROGRESS_EVERY packets),
 * MB/s and ETA, redrawn at most every PROGRESS_MS with \r and erased when the file ends.
 *
 * Live: one non-blocking handle per interface, polled by its reader. Without immediate mode
 * libpcap uses TPACKET_V3 blocks, retired when full or after CAPTURE_TIMEOUT_MS (10 ms: an alert
 * is late by at most that much, and a busy link is read a block at a time, not a packet at a
 * time). Kernel counters from pcap_stats are widened to 64 bits here (capture_kstats).
 */
#include "capture.h"
#include "timewait.h"

#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CAPTURE_READ_BUFFER (1u << 20) /* offline files are read 1 MiB a read(2) */
#include <time.h>
#include <unistd.h>

#include "decode.h"

static int set_filter(pcap_t *p, const char *bpf, const char *what)
{
    if (!bpf)
        return 0;
    struct bpf_program prog;
    if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        fprintf(stderr, "tokenwatch: %s: bad BPF filter '%s': %s\n", what, bpf, pcap_geterr(p));
        return -1;
    }
    int r = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (r != 0) {
        fprintf(stderr, "tokenwatch: %s: cannot set BPF filter: %s\n", what, pcap_geterr(p));
        return -1;
    }
    return 0;
}

#define PROGRESS_MS 250      /* at most 4 redraws a second */

/* bytes as "812 B", "16.8 kB", "200.6 MB", "1.42 GB" (SI units, as the rate). */
static void human(char *buf, size_t len, double b)
{
    if (b < 1e3)
        snprintf(buf, len, "%.0f B", b);
    else if (b < 1e6)
        snprintf(buf, len, "%.1f kB", b / 1e3);
    else if (b < 1e9)
        snprintf(buf, len, "%.1f MB", b / 1e6);
    else
        snprintf(buf, len, "%.2f GB", b / 1e9);
}

static void progress_show(struct capture_progress *pr, uint64_t now_ms)
{
    off_t pos = ftello(pr->f);
    if (pos < 0)
        return;
    if (pos > pr->size)
        pos = pr->size;
    char rate[64] = "";
    double secs = (double)(now_ms - pr->start_ms) / 1000.0;
    if (secs >= 0.2 && pos > 0) {
        double bps = (double)pos / secs;
        unsigned long left = (unsigned long)((double)(pr->size - pos) / bps + 0.5);
        if (left >= 3600)
            snprintf(rate, sizeof(rate), ", %.1f MB/s, ETA %lu:%02lu:%02lu", bps / 1e6,
                     left / 3600, left / 60 % 60, left % 60);
        else
            snprintf(rate, sizeof(rate), ", %.1f MB/s, ETA %lu:%02lu", bps / 1e6, left / 60,
                     left % 60);
    }
    /* \r and erase-line: the line is redrawn in place, never scrolls. */
    char done[16], size[16];
    human(done, sizeof(done), (double)pos);
    human(size, sizeof(size), (double)pr->size);
    fprintf(stderr, "\r\033[Ktokenwatch: %.40s: %s of %s (%d%%)%s", pr->name, done, size,
            (int)(100.0 * (double)pos / (double)pr->size), rate);
    pr->last_ms = now_ms;
}

/* Shows the first line at once, so that every file read gets one, however short. */
static void progress_start(struct capture_progress *pr, pcap_t *p, const char *path,
                           const struct capture_opts *o)
{
    memset(pr, 0, sizeof(*pr));
    FILE *f = o->progress ? pcap_file(p) : NULL;
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
        return; /* a FIFO, or nothing to measure against */
    const char *slash = strrchr(path, '/');
    pr->f = f;
    pr->name = slash ? slash + 1 : path;
    pr->size = st.st_size;
    pr->start_ms = capture_mono_ms();
    progress_show(pr, pr->start_ms);
}

void capture_progress_tick(struct capture_progress *pr)
{
    uint64_t now = capture_mono_ms();
    if (now - pr->last_ms >= PROGRESS_MS)
        progress_show(pr, now);
}

static void progress_end(struct capture_progress *pr)
{
    if (pr->f)
        fputs("\r\033[K", stderr);
    pr->f = NULL;
}

/* pcap_open_offline as libpcap does it (fopen, then pcap_fopen_offline; "-" is standard input,
 * the same error text), but with a CAPTURE_READ_BUFFER stdio buffer: libpcap's own stream reads
 * the file 4 KiB at a time, one read(2) per 4 KiB. The buffer is ours (glibc's setvbuf ignores
 * the size when it allocates the buffer itself: a NULL buffer kept the 4 KiB one), stored in
 * *iobuf; the caller frees it after pcap_close. On success the handle owns the stream (pcap_close
 * closes it); on failure it is closed here and *iobuf freed. */
static pcap_t *open_offline(const char *path, char *errbuf, char **iobuf)
{
    *iobuf = NULL;
    if (path[0] == '-' && path[1] == '\0')
        return pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s: %s", path, strerror(errno));
        return NULL;
    }
    /* One thread reads a handle: stdio's lock, taken twice a packet (libpcap reads a record's
     * header, then its data), guards nothing. */
    __fsetlocking(fp, FSETLOCKING_BYCALLER);
    *iobuf = malloc(CAPTURE_READ_BUFFER);
    if (*iobuf && setvbuf(fp, *iobuf, _IOFBF, CAPTURE_READ_BUFFER) != 0) {
        free(*iobuf); /* stdio's default buffer stays */
        *iobuf = NULL;
    }
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!p) {
        fclose(fp);
        free(*iobuf);
        *iobuf = NULL;
    }
    return p;
}

/* 0 read (maybe damaged), 1 unusable, 2 bad filter. */
static int read_file(uint64_t *errors, const char *path, const struct capture_opts *o,
                     volatile sig_atomic_t *stop, capture_reader_fn reader, void *arg)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    char *iobuf;
    pcap_t *p = open_offline(path, errbuf, &iobuf);
    if (!p && *stop)
        return 0; /* a FIFO's open or header read cut short by the signal: the input ends here */
    if (!p) {
        fprintf(stderr, "tokenwatch: %s: cannot read capture: %s\n", path, errbuf);
        (*errors)++;
        return 1;
    }
    int dlt = pcap_datalink(p);
    if (!decode_linktype_supported(dlt)) {
        const char *name = pcap_datalink_val_to_name(dlt);
        fprintf(stderr, "tokenwatch: %s: unsupported link type %d (%s)\n", path, dlt,
                name ? name : "unknown");
        (*errors)++;
        pcap_close(p);
        free(iobuf);
        return 1;
    }
    if (set_filter(p, o->bpf, path) != 0) {
        pcap_close(p);
        free(iobuf);
        return 2;
    }
    struct capture_file f = {.p = p, .path = path, .dlt = dlt};
    progress_start(&f.pr, p, path, o);
    reader(arg, &f);
    progress_end(&f.pr);
    unsigned long long n = (unsigned long long)f.npkts;
    if (*stop) {
        /* A read cut short by the signal is no damage. */
        if (o->verbose > 0)
            fprintf(stderr, "tokenwatch: %s: stopped after %llu packets\n", path, n);
    } else if (f.last == -1) {
        fprintf(stderr, "tokenwatch: %s: capture damaged after %llu packets, rest skipped: %s\n",
                path, n, pcap_geterr(p));
        (*errors)++;
    } else if (o->verbose > 0) {
        fprintf(stderr, "tokenwatch: %s: %llu packets\n", path, n);
    }
    pcap_close(p);
    free(iobuf);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_dir(uint64_t *errors, const char *dir, const struct capture_opts *o,
                    volatile sig_atomic_t *stop, capture_reader_fn reader, void *arg)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "tokenwatch: %s: cannot open directory: %s\n", dir, strerror(errno));
        (*errors)++;
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        if (!path)
            break;
        snprintf(path, len, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof(*names));
            if (!nn) {
                free(path);
                break;
            }
            names = nn;
        }
        names[n++] = path;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        int r = rc == 2 || *stop ? rc : read_file(errors, names[i], o, stop, reader, arg);
        if (r > rc)
            rc = r;
        free(names[i]);
    }
    free(names);
    return rc;
}

int capture_offline(uint64_t *errors, char *const *paths, size_t n, const struct capture_opts *o,
                    volatile sig_atomic_t *stop, capture_reader_fn reader, void *arg)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc != 2 && !*stop; i++) {
        struct stat st;
        int r = (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
                    ? read_dir(errors, paths[i], o, stop, reader, arg)
                    : read_file(errors, paths[i], o, stop, reader, arg);
        if (r > rc)
            rc = r;
    }
    return rc;
}

uint64_t capture_wall_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

uint64_t capture_mono_ms(void)
{
    return timewait_now_ns() / 1000000u;
}

pcap_t *capture_open_iface(const char *iface, const struct capture_opts *o, int *rc)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, errbuf);
    if (!p) {
        fprintf(stderr, "tokenwatch: %s: cannot open interface: %s\n", iface, errbuf);
        *rc = 1;
        return NULL;
    }
    pcap_set_snaplen(p, o->snaplen ? (int)o->snaplen : 262144);
    pcap_set_promisc(p, o->promisc);
    if (o->buffer_size)
        pcap_set_buffer_size(p, o->buffer_size > INT32_MAX ? INT32_MAX : (int)o->buffer_size);
    if (o->immediate)
        pcap_set_immediate_mode(p, 1);
    pcap_set_timeout(p, CAPTURE_TIMEOUT_MS);
    int a = pcap_activate(p);
    if (a < 0) {
        /* pcap_geterr is empty for some codes (no such device, permission): say which. */
        const char *why = pcap_geterr(p);
        fprintf(stderr, "tokenwatch: %s: cannot capture: %s\n", iface,
                why && *why ? why : pcap_statustostr(a));
        pcap_close(p);
        *rc = 1;
        return NULL;
    }
    int dlt = pcap_datalink(p);
    if (!decode_linktype_supported(dlt)) {
        const char *name = pcap_datalink_val_to_name(dlt);
        fprintf(stderr, "tokenwatch: %s: unsupported link type %d (%s)\n", iface, dlt,
                name ? name : "unknown");
        pcap_close(p);
        *rc = 1;
        return NULL;
    }
    if (set_filter(p, o->bpf, iface) != 0) {
        pcap_close(p);
        *rc = 2;
        return NULL;
    }
    if (pcap_setnonblock(p, 1, errbuf) != 0) {
        fprintf(stderr, "tokenwatch: %s: cannot set non-blocking mode: %s\n", iface, errbuf);
        pcap_close(p);
        *rc = 1;
        return NULL;
    }
    if (o->verbose > 0)
        fprintf(stderr, "tokenwatch: %s: capturing (snaplen %d, buffer %s, %s, %s)\n", iface,
                pcap_snapshot(p), o->buffer_size ? "set" : "default",
                o->promisc ? "promiscuous" : "not promiscuous",
                o->immediate ? "immediate" : "10 ms blocks");
    return p;
}

/* 1 when this failure is to be said: the first of the run's (said), or always (NULL). */
static int say_once(atomic_int *said)
{
    return !said || atomic_exchange(said, 1) == 0;
}

int capture_read(pcap_t *p, const char *iface, int max, short revents, pcap_handler cb,
                 u_char *user, atomic_int *said)
{
    int r = pcap_dispatch(p, max, cb, user);
    if (r == PCAP_ERROR) {
        if (say_once(said))
            fprintf(stderr, "tokenwatch: %s: capture failed: %s\n", iface, pcap_geterr(p));
        return -1;
    }
    if (r > 0 || !(revents & (POLLERR | POLLHUP | POLLNVAL)))
        return r < 0 ? 0 : r;
    /* poll() reports an error on the socket but libpcap read nothing: when the interface is
     * gone (deleted, its namespace torn down) the socket stays in error and poll() returns at
     * once for ever; end the run instead of spinning. */
    if (if_nametoindex(iface) == 0) {
        if (say_once(said))
            fprintf(stderr, "tokenwatch: %s: interface vanished\n", iface);
        return -1;
    }
    if (revents & POLLNVAL) {
        if (say_once(said))
            fprintf(stderr, "tokenwatch: %s: capture failed: capture socket closed\n", iface);
        return -1;
    }
    return 0;
}

void capture_kstats_add(struct capture_kstats *k, const unsigned int now[3])
{
    for (int i = 0; i < 3; i++) {
        k->total[i] += (unsigned int)(now[i] - k->last[i]); /* unsigned: wraps like the counter */
        k->last[i] = now[i];
    }
}

void capture_kstats_update(pcap_t *p, struct capture_kstats *k)
{
    struct pcap_stat ps;
    if (!p || pcap_stats(p, &ps) != 0)
        return;
    unsigned int now[3] = {ps.ps_recv, ps.ps_drop, ps.ps_ifdrop};
    capture_kstats_add(k, now);
}
