// fork_locks.h: locks a forked copy of the process can still take.
// Internal to lib/io.
#pragma once

#include <mutex>

namespace eqio {

// fork() copies only the thread that calls it: a lock another thread held at
// that moment stays held in the copy, and the copy's first reader waits on it
// for ever. A lock passed here is taken just before every fork and let go
// just after, in the parent and in the copy (pthread_atfork). Call it during
// static initialisation, while no other lock of the library is held.
void lock_across_fork(std::mutex *lock);

} // namespace eqio
