/* arena.c — chunked bump allocator (see arena.h). Owns its chunks; nothing else. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

void arena_init(struct arena *a, size_t chunk_size, size_t limit)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 4096;
    a->total = 0;
    a->limit = limit;
}

void *arena_alloc(struct arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    struct arena_chunk *c = a->head;
    if (c && c->size - c->used >= need) {
        void *p = c->data + c->used;
        c->used += need;
        return p;
    }
    size_t size = need > a->chunk_size ? need : a->chunk_size;
    if (a->limit && a->total + size > a->limit)
        return NULL;
    c = malloc(sizeof(*c) + size);
    if (!c)
        return NULL;
    c->size = size;
    c->used = need;
    c->next = a->head;
    a->head = c;
    a->total += size;
    return c->data;
}

char *arena_strndup(struct arena *a, const void *s, size_t n)
{
    char *d = arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void arena_reset(struct arena *a)
{
    struct arena_chunk *c = a->head;
    if (!c)
        return;
    /* Keep the oldest chunk (the last in the list): it is the steady-state working set. */
    while (c->next) {
        struct arena_chunk *next = c->next;
        a->total -= c->size;
        free(c);
        c = next;
    }
    c->used = 0;
    a->head = c;
}

void arena_release(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}
