/* failmalloc.c: an LD_PRELOAD shim for the command's allocation-failure test
 * (cli_alloc_test.py). FAILMALLOC_AT=n makes the n-th malloc/calloc/realloc
 * call of the process fail (one call only); FAILMALLOC_COUNT=path writes the
 * number of calls made to path at exit. C++ operator new reaches malloc too.
 * Not for sanitizer builds: ASan owns malloc there. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

static atomic_ulong calls;
static unsigned long fail_at; /* 0: none */

__attribute__((constructor)) static void read_settings(void)
{
    const char *at = getenv("FAILMALLOC_AT");
    fail_at = at ? strtoul(at, NULL, 10) : 0;
}

__attribute__((destructor)) static void write_count(void)
{
    const char *path = getenv("FAILMALLOC_COUNT");
    FILE *f = path ? fopen(path, "w") : NULL;
    if (f) {
        fprintf(f, "%lu\n", (unsigned long)atomic_load(&calls));
        fclose(f);
    }
}

static int should_fail(void)
{
    unsigned long n = atomic_fetch_add(&calls, 1) + 1;
    if (fail_at && n == fail_at) {
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *malloc(size_t size) { return should_fail() ? NULL : __libc_malloc(size); }
void *calloc(size_t n, size_t size) { return should_fail() ? NULL : __libc_calloc(n, size); }
void *realloc(void *p, size_t size)
{
    if (p && size == 0)
        return __libc_realloc(p, 0);
    return should_fail() ? NULL : __libc_realloc(p, size);
}
