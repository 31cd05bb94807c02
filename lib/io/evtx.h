// evtx.h: Windows event log files (.evtx) through libevtx (in a child
// process: evtx_process.h), each record given
// as the JSON winlogbeat writes for it: winlog.api ("evtx"), winlog.event_id, provider_name,
// provider_guid, record_id, channel, computer_name, version, process.pid,
// process.thread.id, user.identifier, event_data.* (user_data.* for UserData
// records), plus @timestamp (the system time), event.code/provider/kind,
// host.name and log.level. Internal to lib/io (ndjson.cpp reads EVTX through it).
#ifndef EQ_EVTX_H
#define EQ_EVTX_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "io/evtx_process.h"

namespace eqio {

// "ElfFile\0": the first bytes of every EVTX file.
bool is_evtx_signature(const void *data, size_t len);

class EvtxFile {
public:
    ~EvtxFile();
    // false with *err when the file cannot be opened at all.
    bool open_path(const char *path, std::string *err);
    // Memory and pipes are copied into an anonymous file: libevtx reads files.
    bool open_memory(const void *data, size_t len, std::string *err);
    bool open_fd_copy(int fd, const void *head, size_t head_len, std::string *err);
    // Bytes from `read_more` (>0 bytes, 0 at the end, -1 with *why), e.g.
    // an inflated x.evtx.gz, copied the same way. Input that fails part way
    // (a cut .gz) keeps the records before the failure; *cut_short says why.
    bool open_read_copy(const std::function<long(char *, size_t, std::string *why)> &read_more, std::string *err,
                        std::string *cut_short);

    enum Next { Record = 1, Eof = 0, Bad = -1 };
    // The next record as one line of JSON in *json; Bad with *reason for a
    // record libevtx cannot read or crashes on (the others are still read). *number is the
    // record's 1-based position in the file. After the listed records come
    // the repairs of damaged chunks (see repair_next), numbered by the record
    // numbers of the chunk headers; number 0 for a chunk whose header is damaged.
    Next next(std::string *json, uint64_t *number, std::string *reason);

    uint64_t size() const { return size_; }

private:
    // A chunk as its header says (first..last known when the header's
    // checksum holds).
    struct Chunk {
        uint64_t offset, first, last;
        bool header_intact, records_intact; // their checksums hold
        bool present; // not past the end of the file
    };
    // After libevtx crashed on or gave up at listed record `i`: go on after it.
    void resume_after(int i, std::string *reason);
    void collect_recovered();
    void scan_chunks();
    Next repair_next(std::string *json, uint64_t *number, std::string *reason);
    bool open_libevtx(const char *path, std::string *err);
    bool open_anonymous(std::string *err, int *fd);
    bool open_copy(std::string *err); // the anonymous copy, cut chunks padded
    // libevtx crashing this often on one file leaves the rest of it unread
    static constexpr int kMostCrashes = 64;
    EvtxProcess process_;
    bool opened_ = false;
    int crashes_ = 0;
    int records_ = 0, index_ = 0;
    int memfd_ = -1;
    uint64_t size_ = 0;
    std::string path_; // what libevtx opened: the chunk headers are read from it
    std::vector<uint64_t> listed_; // record numbers of the records libevtx listed
    uint64_t last_listed_ = 0, unnumbered_ = 0; // for listed records it cannot give
    // Repair: damaged chunks to report, then record numbers the chunk headers
    // promise that libevtx did not list, recovered or reported lost.
    bool repairing_ = false;
    std::vector<Chunk> damaged_;
    std::vector<std::pair<uint64_t, uint64_t>> missing_; // (record number, chunk offset)
    size_t damaged_at_ = 0, missing_at_ = 0;
    std::vector<int> recovered_for_; // per missing_ entry: an index into recovered_, or -1
    std::vector<EvtxItem> recovered_; // the recovered records that fill a missing_ entry
};

// Rendered event XML (as libevtx writes it) -> winlogbeat-shaped JSON.
// false with *reason when the XML has no <System> part.
bool evtx_xml_to_json(const std::string &xml, std::string *json, std::string *reason);

} // namespace eqio

#endif
