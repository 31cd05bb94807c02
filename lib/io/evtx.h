// evtx.h: Windows event log files (.evtx) through libevtx, each record given
// as the JSON winlogbeat writes for it: winlog.api ("evtx"), winlog.event_id, provider_name,
// provider_guid, record_id, channel, computer_name, version, process.pid,
// process.thread.id, user.identifier, event_data.* (user_data.* for UserData
// records), plus @timestamp (the system time), event.code/provider/kind,
// host.name and log.level. Internal to lib/io (ndjson.cpp reads EVTX through it).
#ifndef EQ_EVTX_H
#define EQ_EVTX_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

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

    enum Next { Record = 1, Eof = 0, Bad = -1 };
    // The next record as one line of JSON in *json; Bad with *reason for a
    // record libevtx cannot read (the others are still read). *number is the
    // record's 1-based position in the file.
    Next next(std::string *json, uint64_t *number, std::string *reason);

    uint64_t size() const { return size_; }

private:
    bool open_libevtx(const char *path, std::string *err);
    bool open_anonymous(std::string *err, int *fd);
    bool open_copy(std::string *err); // the anonymous copy, cut chunks padded
    void *file_ = nullptr; // libevtx_file_t
    int records_ = 0, index_ = 0;
    int memfd_ = -1;
    uint64_t size_ = 0;
    std::string xml_;
};

// Rendered event XML (as libevtx writes it) -> winlogbeat-shaped JSON.
// false with *reason when the XML has no <System> part.
bool evtx_xml_to_json(const std::string &xml, std::string *json, std::string *reason);

} // namespace eqio

#endif
