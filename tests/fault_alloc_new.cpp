// fault_alloc_new.cpp: global operator new/delete consult the same countdown
// as the malloc wrappers (fault_alloc.h), so C++ allocations (simdjson, the
// STL) fail at call N too: throwing forms throw std::bad_alloc, nothrow forms
// return nullptr.
#include <cstdlib>
#include <new>

#include "fault_alloc.h"

namespace {

void *take(std::size_t size) {
    if (fault_should_fail()) return nullptr;
    void *p = __real_malloc(size ? size : 1);
    fault_scribble(p, size);
    fault_track(p);
    return p;
}

void *take_aligned(std::size_t size, std::align_val_t align) {
    if (fault_should_fail()) return nullptr;
    std::size_t a = static_cast<std::size_t>(align);
    void *p = std::aligned_alloc(a, (size + a - 1) / a * a);
    fault_track(p);
    return p;
}

void give(void *p) noexcept {
    fault_untrack(p);
    __real_free(p);
}

void *take_or_throw(std::size_t size) {
    void *p = take(size);
    if (!p) throw std::bad_alloc();
    return p;
}

void *take_aligned_or_throw(std::size_t size, std::align_val_t align) {
    void *p = take_aligned(size, align);
    if (!p) throw std::bad_alloc();
    return p;
}

} // namespace

void *operator new(std::size_t size) { return take_or_throw(size); }
void *operator new[](std::size_t size) { return take_or_throw(size); }
void *operator new(std::size_t size, const std::nothrow_t &) noexcept { return take(size); }
void *operator new[](std::size_t size, const std::nothrow_t &) noexcept { return take(size); }
void *operator new(std::size_t size, std::align_val_t a) { return take_aligned_or_throw(size, a); }
void *operator new[](std::size_t size, std::align_val_t a) { return take_aligned_or_throw(size, a); }
void *operator new(std::size_t size, std::align_val_t a, const std::nothrow_t &) noexcept {
    return take_aligned(size, a);
}
void *operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t &) noexcept {
    return take_aligned(size, a);
}

void operator delete(void *p) noexcept { give(p); }
void operator delete[](void *p) noexcept { give(p); }
void operator delete(void *p, std::size_t) noexcept { give(p); }
void operator delete[](void *p, std::size_t) noexcept { give(p); }
void operator delete(void *p, const std::nothrow_t &) noexcept { give(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { give(p); }
void operator delete(void *p, std::align_val_t) noexcept { give(p); }
void operator delete[](void *p, std::align_val_t) noexcept { give(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { give(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { give(p); }
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { give(p); }
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept { give(p); }
