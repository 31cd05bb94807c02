/* arena.h: bump allocator; everything a compile builds is freed in one go. */
#ifndef EQ_ARENA_H
#define EQ_ARENA_H

#include <stddef.h>

#include "eqlite.h"

typedef struct eq_arena_block eq_arena_block;
typedef struct eq_arena {
    const eqlite_allocator *alloc;
    eq_arena_block *head;
    char *cur, *end;
    size_t total; /* bytes obtained from the allocator */
    size_t limit; /* 0 = unlimited; exceeding it fails like ENOMEM */
} eq_arena;

void eq_arena_init(eq_arena *a, const eqlite_allocator *alloc);
void *eq_arena_alloc(eq_arena *a, size_t size); /* 16-byte aligned, zeroed; NULL on failure */
void *eq_arena_dup(eq_arena *a, const void *p, size_t size);
char *eq_arena_strdup(eq_arena *a, const char *s, size_t n); /* NUL-terminated copy */
void eq_arena_free(eq_arena *a);

/* The default allocator and helpers that go through an allocator hook. */
const eqlite_allocator *eq_default_allocator(void);
void *eq_malloc(const eqlite_allocator *al, size_t size);
void *eq_realloc(const eqlite_allocator *al, void *p, size_t size);
void eq_free(const eqlite_allocator *al, void *p);

#endif
