/* test_arena.c — the transaction arena: alignment, growth past a chunk, the limit, reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arena.h"

static void test_alloc_and_reset(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 256, 0);
    void *first = arena_alloc(&a, 1);
    assert_non_null(first);
    for (int i = 0; i < 100; i++) {
        uint8_t *p = arena_alloc(&a, (size_t)i * 7 + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xAB, (size_t)i * 7 + 1); /* ASan: every byte is ours */
    }
    uint8_t *big = arena_alloc(&a, 10000); /* larger than a chunk: a chunk of its own */
    assert_non_null(big);
    memset(big, 1, 10000);
    assert_true(a.total >= 10000);
    arena_reset(&a);
    assert_int_equal(a.total, 256);        /* only the first chunk is kept */
    assert_ptr_equal(arena_alloc(&a, 1), first);
    char *s = arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    arena_release(&a);
    assert_null(a.head);
    assert_int_equal(a.total, 0);
    assert_non_null(arena_alloc(&a, 8));   /* usable again after release */
    arena_release(&a);
}

static void test_limit(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 1024, 4096);
    size_t got = 0;
    while (arena_alloc(&a, 100))
        got += 100;
    assert_true(got >= 3000);
    assert_true(a.total <= 4096);
    assert_null(arena_alloc(&a, 5000));
    assert_null(arena_alloc(&a, SIZE_MAX - 4)); /* size overflow is refused, not wrapped */
    arena_reset(&a);
    assert_non_null(arena_alloc(&a, 100));
    arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_and_reset),
        cmocka_unit_test(test_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
