/* fault_alloc.c: the libc side of the fail-at-call-N allocator (see fault_alloc.h). */
#include "fault_alloc.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);

static bool armed, fired;
static size_t calls, fail_at;

/* Live blocks: an open-addressed set of addresses (no allocation of its own). */
#define SET_BITS 16
#define SET_SIZE ((size_t)1 << SET_BITS)
#define TOMBSTONE ((uintptr_t)1)
static uintptr_t set[SET_SIZE];
static size_t live;

static size_t slot_of(uintptr_t p) { return (size_t)((p >> 4) * UINT64_C(0x9E3779B97F4A7C15) >> (64 - SET_BITS)); }

void fault_track(void *p)
{
    if (!armed || !p)
        return;
    size_t i = slot_of((uintptr_t)p);
    while (set[i] && set[i] != TOMBSTONE)
        i = (i + 1) & (SET_SIZE - 1);
    set[i] = (uintptr_t)p;
    live++;
}

void fault_untrack(void *p)
{
    if (!armed || !p)
        return;
    for (size_t i = slot_of((uintptr_t)p); set[i]; i = (i + 1) & (SET_SIZE - 1)) {
        if (set[i] == (uintptr_t)p) {
            set[i] = TOMBSTONE;
            live--;
            return;
        }
    }
    /* not ours: allocated before arming or inside another library */
}

bool fault_should_fail(void)
{
    if (!armed)
        return false;
    if (++calls != fail_at)
        return false;
    fired = true;
    errno = ENOMEM;
    return true;
}

void fault_arm(size_t n)
{
    memset(set, 0, sizeof set);
    live = 0;
    calls = 0;
    fired = false;
    fail_at = n;
    armed = true;
}

size_t fault_disarm(void)
{
    armed = false;
    return calls;
}

bool fault_fired(void) { return fired; }
size_t fault_live(void) { return live; }

/* New blocks are filled with garbage while armed, as a reused heap would
 * leave them: code that frees or follows pointers it never set shows up. */
void fault_scribble(void *p, size_t size)
{
    if (armed && p)
        memset(p, 0xbe, size);
}

void *__wrap_malloc(size_t size)
{
    if (fault_should_fail())
        return NULL;
    void *p = __real_malloc(size);
    fault_scribble(p, size);
    fault_track(p);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (fault_should_fail())
        return NULL;
    void *p = __real_calloc(n, size);
    fault_track(p);
    return p;
}

void *__wrap_realloc(void *p, size_t size)
{
    if (p && size == 0) { /* glibc frees here */
        fault_untrack(p);
        return __real_realloc(p, 0);
    }
    if (fault_should_fail())
        return NULL; /* p stays valid, as with a real failure */
    void *q = __real_realloc(p, size);
    if (q) {
        fault_untrack(p);
        fault_track(q);
    }
    return q;
}

void __wrap_free(void *p)
{
    fault_untrack(p);
    __real_free(p);
}
