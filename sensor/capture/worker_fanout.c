/* worker_fanout.c — live capture with -j N where each worker owns its capture handles, joined
 * per interface in a Linux PACKET_FANOUT group (capture.fanout: auto or yes; see worker.h).
 *
 * Pipeline: [kernel: fanout by flow hash] ─► one handle per (worker, interface) ─► that worker's
 * sensor, where libpcap holds the packet (no capture thread, no ring, no copy). Owns nothing:
 * the handles are the run's (struct live, worker.c), joined here once open.
 *
 * The group's mode is PACKET_FANOUT_HASH with PACKET_FANOUT_FLAG_DEFRAG: the kernel picks the
 * socket by skb's symmetric flow hash (net/packet/af_packet.c fanout_demux_hash():
 * __skb_get_hash_symmetric, the flow dissector's keys with the two endpoints ordered, so both
 * directions of a TCP or UDP flow hash alike), and reassembles IPv4 fragments before it hashes,
 * so every fragment of a datagram reaches one worker as one datagram. What the kernel hashes is
 * the outer 5-tuple: a tunnel's inner flows (VXLAN, Geneve: outer source ports vary per inner
 * flow) may reach different workers for their two directions, which worker_pick (decoding to the
 * innermost IP header) would not do; capture.fanout: no keeps the capture threads for such
 * links. IPv6 fragments are not reassembled by the flag and hash without ports.
 *
 * The group id is per interface: (pid + interface index) & 0xffff; every handle of the
 * interface joins it. A socket that is not a packet socket, or a kernel that refuses the
 * option, makes worker_fanout_join fail, and the run falls back (worker.c live_start).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hugeheap.h"
#include "worker_run.h"

#ifdef __linux__
#include <linux/if_packet.h>
#include <sys/socket.h>
#endif

int worker_fanout_join(struct live *L, char *err, size_t errlen)
{
#if defined(__linux__) && defined(PACKET_FANOUT) && defined(PACKET_FANOUT_FLAG_DEFRAG)
    for (size_t k = 0; k < L->nc; k++) {
        struct cap *c = &L->c[k];
        int fd = pcap_fileno(c->p);
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        if (fd < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
            sa.ss_family != AF_PACKET) {
            snprintf(err, errlen, "%s is not a Linux packet socket", c->iface);
            return -1;
        }
        uint32_t id = ((uint32_t)getpid() + c->index) & 0xffffu;
        uint32_t val = id | ((uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);
        if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &val, sizeof(val)) != 0) {
            snprintf(err, errlen, "%s: PACKET_FANOUT: %s", c->iface, strerror(errno));
            return -1;
        }
    }
    return 0;
#else
    (void)L;
    snprintf(err, errlen, "PACKET_FANOUT is Linux's");
    return -1;
#endif
}

void *worker_fanout_main(void *arg)
{
    struct wk *w = arg;
    struct live *L = w->L;
    size_t nif = L->nif;
    hugeheap_thread(HUGEHEAP_THREAD_RESERVE); /* this thread's arena on huge pages too */
    while (!atomic_load(&L->wk_stop)) {
        for (size_t i = 0; i < nif; i++)
            w->pfd[i].revents = 0;
        /* 100 ms at most: the stop flag, a stats epoch and SIGHUP are looked at that often. */
        if (poll(w->pfd, (nfds_t)nif, 100) < 0 && errno != EINTR) {
            if (atomic_exchange(&L->said, 1) == 0)
                fprintf(stderr, "tokenwatch: poll: %s\n", strerror(errno));
            atomic_store(&L->failed, 1);
            break;
        }
        /* A store published while this thread slept in poll() judges what woke it: the line
         * "reloaded" is printed once published, and traffic sent after it must see it; and an
         * output reopened by the same SIGHUP takes its records. */
        worker_wake_sync(w);
        int failed = 0;
        for (size_t i = 0; i < nif && !failed; i++)
            if (capture_read(w->caps[i].p, w->caps[i].iface, -1, w->pfd[i].revents,
                             worker_inline_packet, (u_char *)&w->caps[i], &L->said) < 0)
                failed = 1;
        if (failed) {
            atomic_store(&L->failed, 1);
            break;
        }
        uint64_t now = capture_mono_ms();
        for (size_t i = 0; i < nif; i++)
            worker_cap_sample(&w->caps[i], now);
        worker_housekeep(w, now);
    }
    for (size_t i = 0; i < nif; i++)
        worker_cap_kstats(&w->caps[i]); /* the final kernel counters */
    return NULL;
}
