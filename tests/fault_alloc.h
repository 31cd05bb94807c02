/* fault_alloc.h: a fail-at-call-N allocator for the allocation-failure suite.
 *
 * The test executable is linked with -Wl,--wrap=malloc,--wrap=calloc,
 * --wrap=realloc,--wrap=free, so every libc allocation made by code linked
 * statically into it (the internal eqlite library, whose default allocator
 * hook is libc realloc/free, regex.c, the C++ reader's buffers) goes through
 * the wrappers in fault_alloc.c; global operator new/delete are replaced in
 * fault_alloc_new.cpp (simdjson and the STL, including the simdjson shared
 * library). Both consult one countdown. The library needs no hook of its
 * own, release builds pay nothing, and it works under ASan (the wrappers call
 * the real, intercepted malloc).
 *
 * Not seen: allocations made inside other shared libraries with their own
 * malloc calls (pcre2, zlib unless routed, utf8proc): ASan's leak checker
 * covers those in the sanitizer build.
 */
#ifndef FAULT_ALLOC_H
#define FAULT_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts counting allocation calls; call number fail_at (1-based) fails,
 * 0 = none fails. Blocks allocated while armed are tracked until freed. */
void fault_arm(size_t fail_at);
/* Stops counting; returns how many allocation calls were made. */
size_t fault_disarm(void);
/* Whether the chosen call was reached (and failed). */
bool fault_fired(void);
/* Blocks allocated while armed and not freed yet. */
size_t fault_live(void);

/* Used by the operator new replacements. */
bool fault_should_fail(void);
void fault_track(void *p);
void fault_untrack(void *p);
void fault_scribble(void *p, size_t size);
void *__real_malloc(size_t size);
void __real_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
