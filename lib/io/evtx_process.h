// evtx_process.h: libevtx in a child process.
//
// Debian's libevtx (20181227) can crash on a damaged file: fuzzing found a
// SEGV in libfwevt_xml_document_read_template_instance_values. Run in a
// child, a crash costs the record libevtx was reading, never the program that
// embeds eqlite: the child walks one of libevtx's record lists in order and
// writes each record's XML (or libevtx's reason) to a socket; when it dies or
// stalls, the reader reports that record and starts a new child after it.
// Internal to lib/io (evtx.cpp).
#ifndef EQ_EVTX_PROCESS_H
#define EQ_EVTX_PROCESS_H

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace eqio {

// Writes all of data, through EINTR and short writes.
bool write_all(int fd, const void *data, size_t len);

// One message from the child.
struct EvtxItem {
    enum Kind : uint8_t { Opened = 1, Listed, Recovered, Done };
    uint8_t kind = 0;
    bool ok = false;     // Opened: the file opened; Listed/Recovered: the XML was rendered
    bool has_id = false; // Listed/Recovered: the record's number was read
    uint32_t index = 0;  // Listed/Recovered: the record's position in libevtx's list
    uint64_t value = 0;  // Listed/Recovered: the record number; Opened: how many records the list holds
    std::string text;    // the XML, or libevtx's reason (Opened: why the file did not open)
};

class EvtxProcess {
public:
    // libevtx's two record lists: the records its chunks list, and those it
    // recovers from damaged chunks and slack space.
    enum List { ListedRecords, RecoveredRecords };
    // A child that writes nothing for this long is taken to hang and is killed.
    static constexpr int kStallSeconds = 30;

    EvtxProcess() = default;
    EvtxProcess(const EvtxProcess &) = delete;
    EvtxProcess &operator=(const EvtxProcess &) = delete;
    ~EvtxProcess() { stop(); }

    // Has a child (an idle one, or a new one) open `path` with libevtx and
    // send Opened, then one item per record of `list` from position `first`
    // on, then Done.
    bool start(const std::string &path, List list, uint32_t first, std::string *err);
    // The child's next item; false when the child ended or stalled before
    // sending one, with *why saying how ("crashed (Segmentation fault)").
    bool next(EvtxItem *item, std::string *why);
    // Kills the child (if still running) and reaps it; a child that sent
    // Done is kept, idle, for the next file instead.
    void stop();
    // Reads what is left up to Done, then stop(): the child can be kept.
    void finish();

private:
    bool fill(size_t need, std::string *why);
    std::string ended();
    pid_t pid_ = -1;
    pid_t owner_ = -1;  // the process that started or took the child
    int fd_ = -1;       // our end of the socket pair
    bool done_ = false; // the child sent Done: it can serve another file
    std::vector<char> buf_;
    size_t begin_ = 0, end_ = 0;
};

} // namespace eqio

#endif
