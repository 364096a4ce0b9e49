/* arena.h — bump allocator for everything one HTTP transaction (or one token check) derives.
 *
 * Memory comes in chunks; arena_reset() frees all but the first chunk and rewinds it, so a
 * transaction's derived data (decoded token parts, copied claims) goes in one reset after its EVE
 * records are written (h2o's mem pool). A `limit` caps the total: past it arena_alloc() returns
 * NULL, which callers treat like a memcap hit (count, drop, carry on).
 */
#ifndef TW_ARENA_H
#define TW_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* newest chunk first */
    size_t chunk_size;        /* default size of a new chunk */
    size_t total;             /* bytes held in all chunks */
    size_t limit;             /* 0 = unlimited */
};

/* Storage provided by the caller; nothing is allocated until the first arena_alloc(). */
void arena_init(struct arena *a, size_t chunk_size, size_t limit);
/* n bytes, 16-aligned, uninitialised; NULL when over the limit or out of memory. */
void *arena_alloc(struct arena *a, size_t n);
/* Copy of n bytes plus a terminating NUL; NULL as arena_alloc(). */
char *arena_strndup(struct arena *a, const void *s, size_t n);
/* Frees everything but the first chunk, which is rewound for reuse. */
void arena_reset(struct arena *a);
/* Frees every chunk; the arena may be used again after this (it starts empty). */
void arena_release(struct arena *a);

#endif
