/* capture.c — libpcap offline and live reading (see capture.h).
 *
 * Offline: pcap and pcapng through pcap_open_offline; a record cut short or a corrupt block ends
 * that file with a warning naming it and the packet count reached, and the run goes on with the
 * next file. Live: one handle per interface, polled in turn with pcap_dispatch; kernel counters
 * from pcap_stats land in the stats record.
 */
#include "capture.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pcap/pcap.h>

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

static uint64_t ts_of(const struct pcap_pkthdr *h)
{
    return (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
}

/* 0 read (maybe damaged), 1 unusable, 2 bad filter. */
static int read_file(struct sensor *s, const char *path, const struct capture_opts *o)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!p) {
        fprintf(stderr, "tokenwatch: %s: cannot read capture: %s\n", path, errbuf);
        s->st.capture_errors++;
        return 1;
    }
    int dlt = pcap_datalink(p);
    if (!decode_linktype_supported(dlt)) {
        const char *name = pcap_datalink_val_to_name(dlt);
        fprintf(stderr, "tokenwatch: %s: unsupported link type %d (%s)\n", path, dlt,
                name ? name : "unknown");
        s->st.capture_errors++;
        pcap_close(p);
        return 1;
    }
    if (set_filter(p, o->bpf, path) != 0) {
        pcap_close(p);
        return 2;
    }
    sensor_set_pcap(s, path);
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t n = 0;
    int r;
    while ((r = pcap_next_ex(p, &h, &data)) == 1) {
        n++;
        sensor_packet(s, ts_of(h), dlt, data, h->caplen, h->len);
    }
    if (r == -1) {
        fprintf(stderr, "tokenwatch: %s: capture damaged after %llu packets, rest skipped: %s\n",
                path, (unsigned long long)n, pcap_geterr(p));
        s->st.capture_errors++;
    } else if (o->verbose > 0) {
        fprintf(stderr, "tokenwatch: %s: %llu packets\n", path, (unsigned long long)n);
    }
    pcap_close(p);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_dir(struct sensor *s, const char *dir, const struct capture_opts *o)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "tokenwatch: %s: cannot open directory: %s\n", dir, strerror(errno));
        s->st.capture_errors++;
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
        int r = rc == 2 ? 2 : read_file(s, names[i], o);
        if (r > rc)
            rc = r;
        free(names[i]);
    }
    free(names);
    return rc;
}

int capture_offline(struct sensor *s, char *const *paths, size_t n, const struct capture_opts *o)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc != 2; i++) {
        struct stat st;
        int r = (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) ? read_dir(s, paths[i], o)
                                                                   : read_file(s, paths[i], o);
        if (r > rc)
            rc = r;
    }
    return rc;
}

struct live_ctx {
    struct sensor *s;
    int dlt;
};

static void on_live_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct live_ctx *c = (struct live_ctx *)user;
    sensor_packet(c->s, ts_of(h), c->dlt, data, h->caplen, h->len);
}

int capture_live(struct sensor *s, char *const *ifaces, size_t n, const struct capture_opts *o,
                 volatile sig_atomic_t *stop)
{
    pcap_t **h = calloc(n, sizeof(*h));
    struct live_ctx *ctx = calloc(n, sizeof(*ctx));
    struct pollfd *pfd = calloc(n, sizeof(*pfd));
    int rc = 0;
    if (!h || !ctx || !pfd) {
        rc = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char errbuf[PCAP_ERRBUF_SIZE] = "";
        h[i] = pcap_create(ifaces[i], errbuf);
        if (!h[i]) {
            fprintf(stderr, "tokenwatch: %s: cannot open interface: %s\n", ifaces[i], errbuf);
            rc = 1;
            goto out;
        }
        pcap_set_snaplen(h[i], 262144);
        pcap_set_promisc(h[i], 1);
        pcap_set_immediate_mode(h[i], 1);
        pcap_set_timeout(h[i], 100);
        int a = pcap_activate(h[i]);
        if (a < 0) {
            fprintf(stderr, "tokenwatch: %s: cannot capture: %s\n", ifaces[i], pcap_geterr(h[i]));
            rc = 1;
            goto out;
        }
        ctx[i].s = s;
        ctx[i].dlt = pcap_datalink(h[i]);
        if (!decode_linktype_supported(ctx[i].dlt)) {
            fprintf(stderr, "tokenwatch: %s: unsupported link type %d\n", ifaces[i], ctx[i].dlt);
            rc = 1;
            goto out;
        }
        if (set_filter(h[i], o->bpf, ifaces[i]) != 0) {
            rc = 2;
            goto out;
        }
        pcap_setnonblock(h[i], 1, errbuf);
        pfd[i].fd = pcap_get_selectable_fd(h[i]);
        pfd[i].events = POLLIN;
    }
    s->in_iface = ifaces[0];
    while (!*stop) {
        if (poll(pfd, (nfds_t)n, 200) < 0 && errno != EINTR)
            break;
        for (size_t i = 0; i < n; i++) {
            int r = pcap_dispatch(h[i], -1, on_live_packet, (u_char *)&ctx[i]);
            if (r == PCAP_ERROR) {
                fprintf(stderr, "tokenwatch: %s: capture failed: %s\n", ifaces[i],
                        pcap_geterr(h[i]));
                rc = 1;
                *stop = 1;
            }
        }
    }
    s->st.kernel_packets = s->st.kernel_drops = s->st.kernel_ifdrops = 0;
    for (size_t i = 0; i < n; i++) {
        struct pcap_stat ps;
        if (h[i] && pcap_stats(h[i], &ps) == 0) {
            s->st.kernel_packets += ps.ps_recv;
            s->st.kernel_drops += ps.ps_drop;
            s->st.kernel_ifdrops += ps.ps_ifdrop;
        }
    }
out:
    for (size_t i = 0; h && i < n; i++)
        if (h[i])
            pcap_close(h[i]);
    free(h);
    free(ctx);
    free(pfd);
    return rc;
}
