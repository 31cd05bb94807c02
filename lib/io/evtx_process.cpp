// evtx_process.cpp: libevtx in a child process (evtx_process.h).
//
// The child only calls libevtx and write(2), and leaves with _exit: it never
// runs the embedding program's atexit handlers or flushes its stdio buffers.
// Messages are a fixed header and the text; both ends are this same binary.
#include "io/evtx_process.h"
#include "io/fork_locks.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <mutex>

#include <libevtx.h>

namespace eqio {

namespace {

struct Header {
    uint8_t kind, ok, has_id, pad;
    uint32_t index;
    uint64_t value;
    uint32_t len, pad2;
};

// What libevtx may allocate in the child.
constexpr rlim_t kMostMemory = rlim_t(1) << 30;

// A message longer than this is not from our child.
constexpr uint32_t kMostText = 256u << 20;

std::string libevtx_message(libevtx_error_t *error) {
    char buf[512] = "";
    if (error) {
        libevtx_error_sprint(error, buf, sizeof buf);
        libevtx_error_free(&error);
    }
    // libevtx gives a backtrace of lines; the last is the innermost cause.
    std::string msg(buf);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '.')) msg.pop_back();
    size_t nl = msg.rfind('\n');
    if (nl != std::string::npos) msg.erase(0, nl + 1);
    return msg.empty() ? "unreadable record" : msg;
}

void send(int fd, uint8_t kind, bool ok, bool has_id, uint32_t index, uint64_t value, const std::string &text) {
    Header h{kind, ok, has_id, 0, index, value, static_cast<uint32_t>(text.size()), 0};
    if (!write_all(fd, &h, sizeof h) || !write_all(fd, text.data(), text.size())) _exit(1); // the reader is gone
}

// The record's XML as `evtxexport -f xml` prints it.
bool render(libevtx_record_t *rec, std::string *out) {
    libevtx_error_t *error = nullptr;
    size_t size = 0;
    bool ok = libevtx_record_get_utf8_xml_string_size(rec, &size, &error) == 1 && size > 0;
    if (ok) {
        out->resize(size);
        ok = libevtx_record_get_utf8_xml_string(rec, reinterpret_cast<uint8_t *>(&(*out)[0]), size, &error) == 1;
        if (ok) out->resize(std::strlen(out->c_str()));
    }
    if (!ok) *out = libevtx_message(error);
    return ok;
}

pid_t parent_pid;

void end_if_orphaned(int) {
    if (getppid() != parent_pid) _exit(1);
}

// One request: walk `list` of the file behind `fd` from position `first`.
void walk(int out, int fd, EvtxProcess::List list, uint32_t first) {
    bool recovered = list == EvtxProcess::RecoveredRecords;
    std::string path = "/proc/self/fd/" + std::to_string(fd), text;
    libevtx_error_t *error = nullptr;
    libevtx_file_t *f = nullptr;
    int count = 0;
    bool ok = libevtx_file_initialize(&f, &error) == 1;
    if (!ok) text = libevtx_message(error);
    else if (!(ok = libevtx_file_open(f, path.c_str(), LIBEVTX_OPEN_READ, &error) == 1))
        text = "not a readable EVTX file: " + libevtx_message(error);
    else if (!recovered && !(ok = libevtx_file_get_number_of_records(f, &count, &error) == 1))
        text = "cannot count the records: " + libevtx_message(error);
    else if (recovered && libevtx_file_get_number_of_recovered_records(f, &count, nullptr) != 1)
        count = 0;
    send(out, EvtxItem::Opened, ok, false, 0, ok ? static_cast<uint64_t>(count) : 0, text);
    uint8_t kind = recovered ? EvtxItem::Recovered : EvtxItem::Listed;
    for (int i = static_cast<int>(first); ok && i < count; i++) {
        libevtx_record_t *rec = nullptr;
        uint64_t id = 0;
        error = nullptr;
        int got = recovered ? libevtx_file_get_recovered_record_by_index(f, i, &rec, &error)
                            : libevtx_file_get_record_by_index(f, i, &rec, &error);
        if (got != 1 || libevtx_record_get_identifier(rec, &id, nullptr) != 1) {
            send(out, kind, false, false, static_cast<uint32_t>(i), 0, libevtx_message(error));
        } else {
            bool rendered = render(rec, &text);
            send(out, kind, rendered, true, static_cast<uint32_t>(i), id, text);
        }
        libevtx_record_free(&rec, nullptr);
    }
    if (f) {
        libevtx_file_close(f, nullptr);
        libevtx_file_free(&f, nullptr);
    }
    send(out, EvtxItem::Done, true, false, 0, 0, std::string());
}

// What the parent asks: a list and a position, with the file's descriptor.
struct Request {
    uint32_t list, first;
};

// A message of one Request with room for one descriptor.
struct RequestMessage {
    Request req;
    struct iovec iov;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    struct msghdr msg;
    RequestMessage() : req{}, iov{&req, sizeof req}, control{}, msg{} {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
    }
    RequestMessage(const RequestMessage &) = delete;
};

bool send_request(int sock, int fd, Request req) {
    RequestMessage m;
    m.req = req;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m.msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    ssize_t n;
    while ((n = sendmsg(sock, &m.msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
    }
    return n == static_cast<ssize_t>(sizeof req);
}

// The next request and its descriptor; false when the parent is done.
bool receive_request(int sock, Request *req, int *fd) {
    RequestMessage m;
    ssize_t n;
    while ((n = recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
    }
    struct cmsghdr *c = n == static_cast<ssize_t>(sizeof *req) ? CMSG_FIRSTHDR(&m.msg) : nullptr;
    if (!c || c->cmsg_type != SCM_RIGHTS) return false;
    std::memcpy(fd, CMSG_DATA(c), sizeof *fd);
    *req = m.req;
    return true;
}

// Closes every descriptor above stderr but `keep`.
void close_other_descriptors(int keep) {
    unsigned first = STDERR_FILENO + 1, k = static_cast<unsigned>(keep);
    if ((k == first || close_range(first, k - 1, 0) == 0) && close_range(k + 1, ~0u, 0) == 0) return;
    // kernels before 5.9: the open ones, as /proc lists them
    std::vector<int> open_fds;
    if (DIR *dir = opendir("/proc/self/fd")) {
        while (struct dirent *e = readdir(dir)) {
            int fd = std::atoi(e->d_name);
            if (fd > STDERR_FILENO && fd != keep && fd != dirfd(dir)) open_fds.push_back(fd);
        }
        closedir(dir);
    }
    for (int fd : open_fds) close(fd);
}

[[noreturn]] void child_main(pid_t parent, int sock) {
    // A crash ends this process by its signal: no inherited handler (a crash
    // reporter, a sanitizer, libFuzzer) runs for it.
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGPIPE}) signal(sig, SIG_DFL);
    // Nor does anything reach the caller's stderr (a sanitizer's report of
    // libevtx's failure): the reader reports it. Nor does the child keep
    // any other descriptor of its parent (fork without exec keeps even
    // close-on-exec ones): an idle child would hold the embedding program's
    // pipes and sockets open while it runs, and other readers' socket ends
    // (one forked by another thread could hide a sibling's death).
    if (sock <= STDERR_FILENO) sock = fcntl(sock, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (sock < 0 || null < 0) _exit(1);
    for (int std_fd = STDIN_FILENO; std_fd <= STDERR_FILENO; std_fd++) dup2(null, std_fd);
    close_other_descriptors(sock);
    // The child ends within a second of its parent, whatever libevtx is
    // doing (PR_SET_PDEATHSIG would follow the thread that forked instead).
    parent_pid = parent;
    struct sigaction tick = {};
    tick.sa_handler = end_if_orphaned;
    tick.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &tick, nullptr);
    sigset_t alarm_only;
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    sigprocmask(SIG_UNBLOCK, &alarm_only, nullptr);
    struct itimerval every_second = {{1, 0}, {1, 0}};
    setitimer(ITIMER_REAL, &every_second, nullptr);
    // On some damaged files libevtx allocates without end (300 MB/s): the
    // child may map kMostMemory more than it inherited, then allocations fail.
    long pages = 0;
    if (FILE *statm = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(statm, "%ld", &pages) != 1) pages = 0;
        std::fclose(statm);
    }
    if (pages > 0) {
        rlim_t most = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + kMostMemory;
        struct rlimit lim = {most, most};
        setrlimit(RLIMIT_AS, &lim);
    }
    Request req;
    int fd;
    while (receive_request(sock, &req, &fd)) {
        walk(sock, fd, static_cast<EvtxProcess::List>(req.list), req.first);
        close(fd);
    }
    _exit(0);
}

// Children that finished their walk wait here for the next file: a fresh
// child per file costs about 2 ms of page faults on the small files of a
// typical collection. A child past kMostIdleMemory (libevtx leaks on
// damaged records) is not kept.
constexpr size_t kMostIdle = 4;
constexpr long kMostIdleMemory = 256L << 20;
std::mutex idle_lock;
[[maybe_unused]] const bool idle_lock_kept = (lock_across_fork(&idle_lock), true);
std::vector<std::pair<pid_t, int>> idle; // (pid, socket)
pid_t idle_owner;                        // the process whose children they are

// After the embedding program forks, the copy inherits the list but not the
// children: sharing their sockets, both processes would read each other's
// records. The copy drops its descriptors and starts children of its own.
void forget_inherited_idle() {
    if (idle_owner == getpid()) return;
    for (auto &child : idle) close(child.second);
    idle.clear();
    idle_owner = getpid();
}

bool take_idle(pid_t *pid, int *sock) {
    std::lock_guard<std::mutex> hold(idle_lock);
    forget_inherited_idle();
    if (idle.empty()) return false;
    *pid = idle.back().first;
    *sock = idle.back().second;
    idle.pop_back();
    return true;
}

long resident_bytes(pid_t pid) {
    long size = 0, resident = 0;
    std::string path = "/proc/" + std::to_string(pid) + "/statm";
    if (FILE *statm = std::fopen(path.c_str(), "r")) {
        if (std::fscanf(statm, "%ld %ld", &size, &resident) != 2) resident = 0;
        std::fclose(statm);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

bool keep_idle(pid_t pid, int sock) {
    if (resident_bytes(pid) > kMostIdleMemory) return false;
    std::lock_guard<std::mutex> hold(idle_lock);
    forget_inherited_idle();
    if (idle.size() >= kMostIdle) return false;
    idle.emplace_back(pid, sock);
    return true;
}

} // namespace

bool write_all(int fd, const void *data, size_t len) {
    const char *p = static_cast<const char *>(data);
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= static_cast<size_t>(n);
    }
    return true;
}

bool EvtxProcess::start(const std::string &path, List list, uint32_t first, std::string *err) {
    stop();
    owner_ = getpid();
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = std::string("cannot open: ") + std::strerror(errno);
        return false;
    }
    Request req = {static_cast<uint32_t>(list), first};
    // An idle child that died meanwhile fails the send: it is reaped, not
    // killed (whoever reaped it first may have freed its pid for another).
    while (take_idle(&pid_, &fd_)) {
        if (send_request(fd_, fd, req)) break;
        close(fd_);
        while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
        pid_ = fd_ = -1;
    }
    if (fd_ < 0) {
        int pair[2] = {-1, -1};
        pid_t parent = getpid(), pid = -1;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0 || (pid = fork()) < 0) {
            *err = std::string("cannot start the process that reads EVTX files: ") + std::strerror(errno);
            if (pid < 0 && pair[0] >= 0) {
                close(pair[0]);
                close(pair[1]);
            }
            close(fd);
            return false;
        }
        if (pid == 0) {
            close(pair[0]);
            // what the child may run ahead of the reader: about 50 records'
            // XML, whatever the system's default socket buffer
            int ahead = 64 << 10;
            setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &ahead, sizeof ahead);
            child_main(parent, pair[1]);
        }
        close(pair[1]);
        pid_ = pid;
        fd_ = pair[0];
        if (!send_request(fd_, fd, req)) {
            *err = std::string("cannot reach the process that reads EVTX files: ") + std::strerror(errno);
            close(fd);
            stop();
            return false;
        }
    }
    close(fd);
    done_ = false;
    begin_ = end_ = 0;
    if (buf_.empty()) buf_.resize(1 << 16);
    return true;
}

void EvtxProcess::stop() {
    // the child of the process we were forked from: not ours to keep or end
    if (owner_ != getpid()) pid_ = -1;
    // a child that finished its walk may serve the next file
    if (done_ && pid_ > 0 && fd_ >= 0 && keep_idle(pid_, fd_)) {
        pid_ = -1;
        fd_ = -1;
    }
    done_ = false;
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    pid_ = -1;
}

void EvtxProcess::finish() {
    EvtxItem item;
    std::string why;
    while (!done_ && fd_ >= 0 && next(&item, &why)) {
    }
    stop();
}

// How the child ended, once its end of the socket closed.
std::string EvtxProcess::ended() {
    int status = 0;
    pid_t got;
    while ((got = waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    if (got > 0 && WIFSIGNALED(status))
        return std::string("libevtx crashed on it (") + strsignal(WTERMSIG(status)) + ")";
    if (got > 0 && WIFEXITED(status))
        return "the process reading the EVTX file ended (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    return "the process reading the EVTX file ended";
}

// Until buf_[begin_, end_) holds at least `need` bytes.
bool EvtxProcess::fill(size_t need, std::string *why) {
    if (fd_ < 0) {
        *why = "the process reading the EVTX file is not running";
        return false;
    }
    if (owner_ != getpid()) { // its bytes are for the process that opened the reader
        *why = "the EVTX reader was opened in another process (before a fork)";
        stop();
        return false;
    }
    if (end_ - begin_ >= need) return true;
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    if (buf_.size() < need) buf_.resize(need);
    int waited = 0; // seconds without a byte
    while (end_ < need) {
        struct pollfd p = {fd_, POLLIN, 0};
        int r = poll(&p, 1, 1000);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            // The child's memory cap (RLIMIT_AS) does not hold where the
            // allocator maps in reserved space (a sanitizer's): its size is
            // watched from here too, against ours (its pages start as ours).
            long over = resident_bytes(pid_) - resident_bytes(getpid());
            if (over > static_cast<long>(kMostMemory))
                *why = "libevtx took more than " + std::to_string(kMostMemory >> 20) + " MiB on it (killed)";
            else if (++waited >= kStallSeconds)
                *why = "libevtx gave nothing for " + std::to_string(kStallSeconds) + " s on it (killed)";
            else
                continue;
            stop();
            return false;
        }
        waited = 0;
        ssize_t n = read(fd_, buf_.data() + end_, buf_.size() - end_);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd_);
            fd_ = -1;
            *why = ended();
            return false;
        }
        end_ += static_cast<size_t>(n);
    }
    return true;
}

bool EvtxProcess::next(EvtxItem *item, std::string *why) {
    if (!fill(sizeof(Header), why)) return false;
    Header h;
    std::memcpy(&h, buf_.data() + begin_, sizeof h);
    if (h.len > kMostText || h.kind < EvtxItem::Opened || h.kind > EvtxItem::Done) {
        *why = "the process reading the EVTX file sent garbage";
        stop();
        return false;
    }
    if (!fill(sizeof h + h.len, why)) return false;
    item->kind = h.kind;
    item->ok = h.ok;
    item->has_id = h.has_id;
    item->index = h.index;
    item->value = h.value;
    item->text.assign(buf_.data() + begin_ + sizeof h, h.len);
    begin_ += sizeof h + h.len;
    done_ = h.kind == EvtxItem::Done;
    return true;
}

} // namespace eqio
