// fork_locks.cpp: the library's locks taken around fork() (fork_locks.h).
#include "io/fork_locks.h"

#include <pthread.h>

#include <cstddef>
#include <cstdlib>

namespace eqio {

namespace {

// The library has a handful of such locks; they live as long as the process.
constexpr size_t kMostLocks = 8;
std::mutex *locks[kMostLocks];
size_t nlocks;

// Taken in one order, let go in the other. None of them is ever held while
// another is taken, so this order cannot meet a thread holding them in
// another.
void take_all() {
    for (size_t i = 0; i < nlocks; i++) locks[i]->lock();
}

void let_go_all() {
    for (size_t i = nlocks; i-- > 0;) locks[i]->unlock();
}

} // namespace

void lock_across_fork(std::mutex *lock) {
    if (nlocks == 0) pthread_atfork(take_all, let_go_all, let_go_all);
    if (nlocks == kMostLocks) std::abort(); // a new lock needs a larger kMostLocks
    locks[nlocks++] = lock;
}

} // namespace eqio
