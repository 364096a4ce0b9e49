/* lru.h — the intrusive oldest ◄─► newest list that keeps entries in recency or age order: the
 * flow table's idle lists (flow.c), the fragment table's age list (defrag.c), the replay
 * window's stripes (replay.c), the verification cache's segments (vcache.c) and the verifier's
 * context table (verify.c).
 *
 *   list:  oldest ─► e1 ◄─► e2 ◄─► ... ◄─► en ◄─ newest      (entry: older, newer)
 *
 * An entry type has `older` and `newer` pointers to its own type; a list has `oldest` and
 * `newest`. Macros rather than functions because those five types share no struct, and these
 * run per packet (a flow's touch) or per token: each expands to the handful of pointer stores
 * every file used to write out by hand. The arguments are evaluated more than once: pass plain
 * names, as each file's typed wrapper does. */
#ifndef TW_LRU_H
#define TW_LRU_H

#include <stddef.h>

/* Takes e out of list; e's own links are cleared. e must be on list. */
#define LRU_UNLINK(list, e)                                                                    \
    do {                                                                                       \
        if ((e)->older)                                                                        \
            (e)->older->newer = (e)->newer;                                                    \
        else                                                                                   \
            (list)->oldest = (e)->newer;                                                       \
        if ((e)->newer)                                                                        \
            (e)->newer->older = (e)->older;                                                    \
        else                                                                                   \
            (list)->newest = (e)->older;                                                       \
        (e)->older = (e)->newer = NULL;                                                        \
    } while (0)

/* Puts e, which is on no list, at list's newest end. */
#define LRU_PUSH_NEWEST(list, e)                                                               \
    do {                                                                                       \
        (e)->newer = NULL;                                                                     \
        (e)->older = (list)->newest;                                                           \
        if ((list)->newest)                                                                    \
            (list)->newest->newer = (e);                                                       \
        else                                                                                   \
            (list)->oldest = (e);                                                              \
        (list)->newest = (e);                                                                  \
    } while (0)

#endif
