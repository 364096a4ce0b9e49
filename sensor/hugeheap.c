/* hugeheap.c — the heap on transparent huge pages (see hugeheap.h, docs/DESIGN.md "Huge pages").
 *
 * Why: the sensor's working set (flows with their stream, HTTP and nDPI state, verdicts, bodies
 * being scanned) is tens of MiB of heap, reached at random per packet. On 4 KiB pages every
 * first touch of a page is a fault (several µs each on a virtual machine: about 7,300 of them on
 * the benchmark capture) and the hash lookups miss the TLB; on 2 MiB pages most of both go away.
 *
 * How, with malloc's public knobs only:
 *  - M_MMAP_THRESHOLD at glibc's maximum (32 MiB): tables and buffers of up to that size come
 *    from the heap instead of each from a mapping of its own, which nobody advises;
 *  - M_TRIM_THRESHOLD out of reach: the heap is never given back. The kernel does not merge a
 *    break grown again into an advised range, so what was given back would come back on 4 KiB
 *    pages. Memcaps bound the heap's peak; it stays the process's until its exit;
 *  - a reserve: one allocation that grows the heap by `reserve` bytes (M_TOP_PAD for the main
 *    heap, whose break it moves; a block of the arena for a thread), that range advised
 *    MADV_HUGEPAGE, then freed, so that malloc hands it out from then on. Nothing of it is
 *    touched here: the resident size grows in 2 MiB steps as the heap is used.
 */
#include "hugeheap.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sensor.h" /* SENSOR_FREE_AT_EXIT: a sanitizer's build */

#define HUGE_PAGE ((uintptr_t)2 << 20)
#define MMAP_MAX (32 << 20)      /* glibc's ceiling of M_MMAP_THRESHOLD on 64-bit */
#define TRIM_NEVER (1 << 30)     /* M_TRIM_THRESHOLD: more than any heap here */
#define TOP_PAD_DEFAULT (128 << 10)
#define PROBE (1u << 20)         /* the allocation that makes the main heap grow */

static int enabled;        /* hugeheap_init advised the main heap: set before any thread */
static uintptr_t main_lo; /* where the main heap's advised range starts */

/* Makes [from, the end of the 2 MiB page above `top`) resident now, within [from, end): the
 * advised pages the heap has reached, whole, and the one it grows into next (hugeheap_settle).
 * Whole: where the kernel had no huge page to give, a page's untouched 4 KiB parts are filled
 * in too, so that what is resident does not depend on what the kernel could give.
 * MADV_POPULATE_WRITE (Linux 5.14) faults pages in without writing malloc's memory; on an
 * older kernel nothing happens. */
static void populate(uintptr_t from, uintptr_t top, uintptr_t end)
{
    uintptr_t hi = ((top + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)) + HUGE_PAGE;
    if (hi > end)
        hi = end & ~(HUGE_PAGE - 1);
    if (hi > from)
        madvise((void *)from, hi - from, MADV_POPULATE_WRITE);
}

int hugeheap_available(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return 0;
    char line[128] = "";
    int ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    return ok && (strstr(line, "[always]") || strstr(line, "[madvise]"));
}

/* Advises the whole 2 MiB pages inside [p, p + n). */
static int advise(const void *p, size_t n)
{
    uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
    return hi > lo && madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0;
}

int hugeheap_init(size_t reserve)
{
    if (SENSOR_FREE_AT_EXIT || enabled || !hugeheap_available())
        return 0;
    if (!mallopt(M_MMAP_THRESHOLD, MMAP_MAX) || !mallopt(M_TRIM_THRESHOLD, TRIM_NEVER))
        return 0;
    /* The next growth of the break takes the reserve with it. */
    if (!mallopt(M_TOP_PAD, reserve > INT32_MAX ? INT32_MAX : (int)reserve))
        return 0;
    void *p = malloc(PROBE);
    mallopt(M_TOP_PAD, TOP_PAD_DEFAULT);
    if (!p)
        return 0;
    /* The probe and the reserve behind it end at the break, unless the break could not move
     * and malloc mapped the probe instead: then there is nothing to advise. */
    uintptr_t brk_now = (uintptr_t)sbrk(0), at = (uintptr_t)p;
    if (brk_now != (uintptr_t)-1 && at < brk_now && brk_now - at <= reserve + 2 * PROBE &&
        (enabled = advise(p, brk_now - at)))
        main_lo = (at + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    free(p);
    return enabled;
}

void hugeheap_settle(void)
{
    if (!enabled)
        return;
    /* The heap's used top: the break less the free top chunk malloc keeps (keepcost). */
    struct mallinfo2 mi = mallinfo2();
    uintptr_t end = (uintptr_t)sbrk(0);
    if (end == (uintptr_t)-1 || mi.keepcost > end)
        return;
    uintptr_t top = end - mi.keepcost;
    populate(main_lo, top > main_lo ? top : main_lo, end);
}

void hugeheap_thread(size_t reserve)
{
    if (!enabled)
        return;
    /* Below M_MMAP_THRESHOLD, the block comes from this thread's arena (or, were the arena
     * unable to grow, from a mapping of its own that free gives back: advising it is harmless). */
    void *p = malloc(reserve);
    if (!p)
        return;
    uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (advise(p, reserve)) /* the arena's first advised page, resident from the start */
        populate(lo, lo, (uintptr_t)p + reserve);
    free(p);
}
