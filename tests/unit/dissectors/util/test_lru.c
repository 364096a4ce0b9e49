/* test_lru.c — the intrusive oldest ◄─► newest list (lru.h): pushes keep arrival order, an
 * unlink from the front, the middle, the back or a one-entry list leaves both directions
 * consistent and the entry's links cleared, and a move to the newest end (what a flow's touch or
 * a cache hit does) keeps the rest in order. Checked against a plain array model over a random
 * sequence of operations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lru.h"

struct item {
    int id;
    int on;
    struct item *older, *newer;
};

struct list {
    struct item *oldest, *newest;
};

/* The list, oldest first, both ways, against want[0..n). */
static void check(const struct list *l, const int *want, int n)
{
    int i = 0;
    const struct item *prev = NULL;
    for (const struct item *e = l->oldest; e; prev = e, e = e->newer, i++) {
        assert_true(i < n);
        assert_int_equal(e->id, want[i]);
        assert_ptr_equal(e->older, prev);
    }
    assert_int_equal(i, n);
    assert_ptr_equal(l->newest, prev);
    for (const struct item *e = l->newest; e; e = e->older)
        i--;
    assert_int_equal(i, 0);
}

static void unlink_item(struct list *l, struct item *e)
{
    LRU_UNLINK(l, e);
}

static void push_item(struct list *l, struct item *e)
{
    LRU_PUSH_NEWEST(l, e);
}

static void test_push_unlink(void **state)
{
    (void)state;
    struct list l = {NULL, NULL};
    struct item it[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};
    check(&l, NULL, 0);
    for (int i = 0; i < 4; i++)
        push_item(&l, &it[i]);
    check(&l, (int[]){0, 1, 2, 3}, 4);
    unlink_item(&l, &it[1]); /* middle */
    assert_null(it[1].older);
    assert_null(it[1].newer);
    check(&l, (int[]){0, 2, 3}, 3);
    unlink_item(&l, &it[0]); /* oldest */
    check(&l, (int[]){2, 3}, 2);
    unlink_item(&l, &it[3]); /* newest */
    check(&l, (int[]){2}, 1);
    push_item(&l, &it[1]);
    check(&l, (int[]){2, 1}, 2);
    unlink_item(&l, &it[2]);
    unlink_item(&l, &it[1]); /* the only one */
    check(&l, NULL, 0);
    assert_null(l.oldest);
    assert_null(l.newest);
}

static void test_random_against_model(void **state)
{
    (void)state;
    enum { N = 16 };
    struct item it[N];
    int model[N], n = 0;
    struct list l = {NULL, NULL};
    memset(it, 0, sizeof(it));
    for (int i = 0; i < N; i++)
        it[i].id = i;
    srand(7);
    for (int step = 0; step < 20000; step++) {
        struct item *e = &it[rand() % N];
        if (e->on) {
            unlink_item(&l, e);
            int k = 0;
            while (model[k] != e->id)
                k++;
            memmove(model + k, model + k + 1, (size_t)(n - k - 1) * sizeof(int));
            n--;
            if (rand() % 2) { /* touched: back to the newest end */
                push_item(&l, e);
                model[n++] = e->id;
            } else {
                e->on = 0;
            }
        } else {
            push_item(&l, e);
            model[n++] = e->id;
            e->on = 1;
        }
        check(&l, model, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_unlink),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
