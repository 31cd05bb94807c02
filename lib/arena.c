/* arena.c: bump allocator over blocks from the caller's allocator hook. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

struct eq_arena_block {
    eq_arena_block *next;
    size_t size;
    /* payload follows, 16-byte aligned */
    char pad[16 - (2 * sizeof(void *)) % 16];
};

static void *libc_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

static const eqlite_allocator default_allocator = {libc_realloc, NULL};

const eqlite_allocator *eq_default_allocator(void) { return &default_allocator; }

void *eq_malloc(const eqlite_allocator *al, size_t size)
{
    return al->realloc_fn(al->user, NULL, size ? size : 1);
}

void *eq_realloc(const eqlite_allocator *al, void *p, size_t size)
{
    return al->realloc_fn(al->user, p, size ? size : 1);
}

void eq_free(const eqlite_allocator *al, void *p)
{
    if (p)
        al->realloc_fn(al->user, p, 0);
}

void eq_arena_init(eq_arena *a, const eqlite_allocator *alloc)
{
    memset(a, 0, sizeof *a);
    a->alloc = alloc ? alloc : &default_allocator;
}

void *eq_arena_alloc(eq_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size == 0)
        size = 16;
    if ((size_t)(a->end - a->cur) < size) {
        size_t want = size > 16384 ? size : 16384;
        if (a->head && want < a->head->size * 2 && size <= 1u << 20)
            want = a->head->size * 2 > (1u << 20) ? (1u << 20) : a->head->size * 2;
        if (a->limit && a->total + want > a->limit)
            return NULL;
        eq_arena_block *b = eq_malloc(a->alloc, sizeof *b + want);
        if (!b)
            return NULL;
        b->next = a->head;
        b->size = want;
        a->head = b;
        a->total += want;
        a->cur = (char *)(b + 1);
        a->end = a->cur + want;
    }
    void *p = a->cur;
    a->cur += size;
    memset(p, 0, size);
    return p;
}

void *eq_arena_dup(eq_arena *a, const void *p, size_t size)
{
    void *q = eq_arena_alloc(a, size);
    if (q && size)
        memcpy(q, p, size);
    return q;
}

char *eq_arena_strdup(eq_arena *a, const char *s, size_t n)
{
    char *q = eq_arena_alloc(a, n + 1);
    if (q) {
        if (n)
            memcpy(q, s, n);
        q[n] = 0;
    }
    return q;
}

void eq_arena_free(eq_arena *a)
{
    eq_arena_block *b = a->head;
    while (b) {
        eq_arena_block *next = b->next;
        eq_free(a->alloc, b);
        b = next;
    }
    a->head = NULL;
    a->cur = a->end = NULL;
    a->total = 0;
}
