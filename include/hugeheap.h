/* hugeheap.h — the heap on transparent huge pages (engine.huge-pages; docs/DESIGN.md "Huge
 * pages"). Linux backs anonymous memory with 2 MiB pages when its THP mode is `always`, or
 * `madvise` and the range was advised MADV_HUGEPAGE; glibc's malloc advises its heap only under
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1, which a program cannot set for itself. These two do it
 * with malloc's public knobs (mallopt) and one block of the heap each.
 */
#ifndef TW_HUGEHEAP_H
#define TW_HUGEHEAP_H

#include <stddef.h>

/* The reserves: the main heap's, and a worker thread's arena's (below glibc's 32 MiB ceiling of
 * M_MMAP_THRESHOLD, so that the block comes from the arena). Virtual: the resident size grows
 * only as the heap is used. */
#define HUGEHEAP_MAIN_RESERVE ((size_t)64 << 20)
#define HUGEHEAP_THREAD_RESERVE ((size_t)30 << 20)

/* Whether the kernel gives huge pages to advised memory: its THP mode is `always` or `madvise`
 * (/sys/kernel/mm/transparent_hugepage/enabled). 0 where the file is absent or says `never`. */
int hugeheap_available(void);

/* The process's side, once, on the main thread before the sensors are made: raises malloc's
 * mmap threshold to its maximum (32 MiB: the sensor's tables come from the heap), stops it
 * giving the heap back (a range given back and grown again would lose its advice), grows the
 * heap by `reserve` bytes at once, advises that range MADV_HUGEPAGE and hands it to malloc.
 * Does nothing (returns 0) when huge pages are not available or the build has a sanitizer
 * (its own allocator); 1 when the range was advised. */
int hugeheap_init(size_t reserve);

/* Once the sensors are made (main thread, before the first packet): makes the advised pages
 * the heap has reached resident whole, and the one above its used top, the one it grows into
 * next. Resident memory grows in 2 MiB steps, and a page the kernel had no huge page for is
 * resident only where touched: filling in what is reached and paying for the next step at
 * start makes both part of the fixed overhead an empty capture shows, the same from run to
 * run, so that what traffic adds stays within what the memcaps charge (run_stress.py's bound:
 * peak RSS <= memcaps + that fixed overhead). */
void hugeheap_settle(void);

/* A worker thread's side, before its first packet: its allocations come from its own glibc
 * arena, so one block of `reserve` bytes of that arena is advised and handed back to malloc,
 * its first 2 MiB page made resident (as hugeheap_settle). Only after hugeheap_init returned 1
 * (the thresholds it set keep the block in the arena). */
void hugeheap_thread(size_t reserve);

#endif
