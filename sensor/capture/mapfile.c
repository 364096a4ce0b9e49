/* mapfile.c — capture files read through a memory mapping (see mapfile.h for why and what). */
#include "mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096u /* the copy's step: a fault in one step leaves the earlier steps copied */

struct mapfile {
    int fd;
    const uint8_t *base;
    size_t len;      /* mapped bytes: the file's size at open */
    size_t dropped;  /* pages below this offset are no longer mapped in (MADV_DONTNEED) */
    off64_t pos;     /* the stream position */
    int err;         /* sticky: a SIGBUS under the mapping (EIO) */
};

/* ---- the SIGBUS guard ---------------------------------------------------------------------- */

/* Set by the copying thread around its copy; read by the handler, which runs on that thread
 * (SIGBUS is delivered to the thread whose access faulted). Volatile: the compiler sees no
 * reader between the stores around memcpy and would drop them. */
static __thread sigjmp_buf *volatile guard_jmp;
static __thread const uint8_t *volatile guard_lo, *volatile guard_hi;
static struct sigaction old_bus;
static pthread_mutex_t guard_mu = PTHREAD_MUTEX_INITIALIZER;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    const uint8_t *a = si->si_addr;
    if (guard_jmp && a >= guard_lo && a < guard_hi)
        siglongjmp(*guard_jmp, 1); /* SA_NODEFER: no signal mask to restore */
    /* Not ours: whoever handled SIGBUS before (a sanitizer), else the default action when the
     * faulting access runs again. */
    if (old_bus.sa_flags & SA_SIGINFO) {
        old_bus.sa_sigaction(sig, si, uc);
    } else if (old_bus.sa_handler != SIG_DFL && old_bus.sa_handler != SIG_IGN) {
        old_bus.sa_handler(sig);
    } else {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGBUS, &dfl, NULL);
    }
}

/* (Re)installs the handler unless it is in place: whatever took SIGBUS over since (a test
 * harness, a library) is chained to instead. Called on the opening thread, under guard_mu. */
static void guard_install(void)
{
    struct sigaction cur, sa;
    if (sigaction(SIGBUS, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
        cur.sa_sigaction == on_sigbus)
        return;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &old_bus);
}

/* Copies n bytes at src (inside [lo, hi)) to dst, a page at most a step; returns the bytes
 * copied before a fault (n when none). */
static size_t guarded_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *lo,
                           const uint8_t *hi)
{
    sigjmp_buf jb;
    volatile size_t done = 0;
    if (sigsetjmp(jb, 0)) {
        guard_jmp = NULL;
        return done;
    }
    guard_lo = lo;
    guard_hi = hi;
    guard_jmp = &jb;
    while (done < n) {
        size_t d = done;
        size_t step = PAGE - ((uintptr_t)(src + d) & (PAGE - 1));
        if (step > n - d)
            step = n - d;
        memcpy(dst + d, src + d, step);
        done = d + step;
    }
    guard_jmp = NULL;
    return done;
}

/* ---- the stream ---------------------------------------------------------------------------- */

static void drop_read_pages(struct mapfile *m)
{
    size_t upto = (size_t)m->pos & ~(size_t)(PAGE - 1);
    if (upto > m->len)
        upto = m->len & ~(size_t)(PAGE - 1);
    if (upto >= m->dropped + MAPFILE_DROP) {
        madvise((void *)(m->base + m->dropped), upto - m->dropped, MADV_DONTNEED);
        m->dropped = upto;
    }
}

static ssize_t mf_read(void *cookie, char *buf, size_t size)
{
    struct mapfile *m = cookie;
    if (m->err) {
        errno = m->err;
        return -1;
    }
    if (size == 0)
        return 0;
    if ((uint64_t)m->pos < m->len) {
        size_t n = m->len - (size_t)m->pos;
        if (n > size)
            n = size;
        size_t got = guarded_copy((uint8_t *)buf, m->base + m->pos, n, m->base, m->base + m->len);
        if (got < n) {
            /* Cut short under the mapping: the bytes of the last page that stayed readable past
             * the new end of file are zeros that the file no longer holds. */
            struct stat st;
            if (fstat(m->fd, &st) == 0 && st.st_size < m->pos + (off64_t)got)
                got = st.st_size > m->pos ? (size_t)(st.st_size - m->pos) : 0;
            m->err = EIO;
            if (got == 0) {
                errno = EIO;
                return -1;
            }
        }
        m->pos += (off64_t)got;
        drop_read_pages(m);
        return (ssize_t)got;
    }
    /* Past what was mapped: the file grew since it was opened. */
    ssize_t r;
    do
        r = pread(m->fd, buf, size, m->pos);
    while (r < 0 && errno == EINTR);
    if (r > 0)
        m->pos += r;
    return r;
}

static int mf_seek(void *cookie, off64_t *off, int whence)
{
    struct mapfile *m = cookie;
    off64_t base;
    if (whence == SEEK_SET) {
        base = 0;
    } else if (whence == SEEK_CUR) {
        base = m->pos;
    } else if (whence == SEEK_END) {
        struct stat st;
        if (fstat(m->fd, &st) != 0)
            return -1;
        base = st.st_size;
    } else {
        errno = EINVAL;
        return -1;
    }
    if ((*off < 0 && base < -*off) || (*off > 0 && base > INT64_MAX - *off)) {
        errno = EINVAL;
        return -1;
    }
    m->pos = base + *off;
    if ((size_t)m->pos < m->dropped)
        m->dropped = (size_t)m->pos & ~(size_t)(PAGE - 1); /* read again: mapped in again */
    *off = m->pos;
    return 0;
}

static int mf_close(void *cookie)
{
    struct mapfile *m = cookie;
    munmap((void *)m->base, m->len);
    int rc = close(m->fd);
    free(m);
    return rc;
}

FILE *mapfile_open(const char *path, int *mapped)
{
    if (mapped)
        *mapped = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= SIZE_MAX) {
        struct mapfile *m = calloc(1, sizeof(*m));
        void *base = MAP_FAILED;
        if (m)
            base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (base != MAP_FAILED) {
            madvise(base, (size_t)st.st_size, MADV_SEQUENTIAL);
            m->fd = fd;
            m->base = base;
            m->len = (size_t)st.st_size;
            cookie_io_functions_t io = {.read = mf_read, .seek = mf_seek, .close = mf_close};
            FILE *f = fopencookie(m, "rb", io);
            if (f) {
                pthread_mutex_lock(&guard_mu);
                guard_install();
                pthread_mutex_unlock(&guard_mu);
                if (mapped)
                    *mapped = 1;
                return f;
            }
            munmap(base, (size_t)st.st_size);
        }
        free(m);
    }
    /* Not a regular file, or it cannot be mapped: stdio as libpcap would use it, with a bigger
     * buffer (stdio's 4 KiB means a read(2) per 4 KiB). */
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, MAPFILE_STDIO_BUFFER); /* a failure leaves stdio's default */
    return f;
}
