// evtx.cpp: EVTX records through libevtx, as winlogbeat-shaped JSON (evtx.h).
//
// libevtx (run in a child process, evtx_process.h) renders each record as XML (the same text `evtxexport -f xml`
// prints: elements one per line, &amp; &lt; &gt; escaped in text); the
// System part and the EventData/UserData values are taken from it.
#include "io/evtx.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace eqio {

namespace {

void json_string(std::string *out, std::string_view s) {
    out->push_back('"');
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out->push_back('\\');
            out->push_back(ch);
        } else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            *out += buf;
        } else {
            out->push_back(ch);
        }
    }
    out->push_back('"');
}

// Appends the UTF-8 of code point cp (invalid ones as U+FFFD).
void put_utf8(std::string *out, uint32_t cp) {
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) out->push_back(static_cast<char>(cp));
    else if (cp < 0x800) {
        out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// XML text -> its characters (the five named entities and &#...;); line
// ends become \n as an XML parser makes them (winlogbeat's does).
std::string unescape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '\r') {
            out.push_back('\n');
            if (i + 1 < s.size() && s[i + 1] == '\n') i++;
            continue;
        }
        if (s[i] != '&') {
            out.push_back(s[i]);
            continue;
        }
        size_t semi = s.find(';', i);
        if (semi == std::string_view::npos || semi - i > 10) {
            out.push_back('&');
            continue;
        }
        std::string_view ent = s.substr(i + 1, semi - i - 1);
        if (ent == "amp") out.push_back('&');
        else if (ent == "lt") out.push_back('<');
        else if (ent == "gt") out.push_back('>');
        else if (ent == "quot") out.push_back('"');
        else if (ent == "apos") out.push_back('\'');
        else if (!ent.empty() && ent[0] == '#') {
            bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
            uint32_t cp = 0;
            for (char c : ent.substr(hex ? 2 : 1)) {
                int d = c >= '0' && c <= '9' ? c - '0' : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0 || cp > 0x10FFFF) { cp = 0xFFFD; break; }
                cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
            }
            put_utf8(&out, cp);
        } else {
            out.push_back('&');
            continue;
        }
        i = semi;
    }
    return out;
}

// A tiny reader of the XML libevtx renders: tags, attributes, text.
struct Xml {
    std::string_view s;
    size_t at = 0;

    // The next start or end tag; name without '<', '/', attributes in attrs.
    struct Tag {
        std::string_view name, attrs;
        bool end = false, empty = false;
        size_t after = 0; // position after '>'
    };

    bool next_tag(Tag *t) {
        for (;;) {
            size_t lt = s.find('<', at);
            if (lt == std::string_view::npos) return false;
            size_t gt = s.find('>', lt);
            if (gt == std::string_view::npos) return false;
            std::string_view in = s.substr(lt + 1, gt - lt - 1);
            at = gt + 1;
            if (in.empty() || in[0] == '?' || in[0] == '!') continue;
            t->end = in[0] == '/';
            if (t->end) in.remove_prefix(1);
            t->empty = !in.empty() && in.back() == '/';
            if (t->empty) in.remove_suffix(1);
            size_t sp = in.find_first_of(" \t\r\n");
            t->name = in.substr(0, sp);
            t->attrs = sp == std::string_view::npos ? std::string_view() : in.substr(sp);
            t->after = at;
            return true;
        }
    }

    // The text up to the matching end tag </name> (values hold no elements).
    std::string_view text_until(std::string_view name) {
        std::string close = "</" + std::string(name) + ">";
        size_t end = s.find(close, at);
        if (end == std::string_view::npos) return {};
        std::string_view text = s.substr(at, end - at);
        at = end + close.size();
        return text;
    }
};

bool attr(std::string_view attrs, std::string_view name, std::string *out) {
    for (size_t at = 0;;) {
        size_t hit = attrs.find(name, at);
        if (hit == std::string_view::npos) return false;
        size_t eq = hit + name.size();
        bool starts = hit == 0 || attrs[hit - 1] == ' ' || attrs[hit - 1] == '\t' || attrs[hit - 1] == '\n';
        if (starts && eq + 1 < attrs.size() && attrs[eq] == '=' && (attrs[eq + 1] == '"' || attrs[eq + 1] == '\'')) {
            char q = attrs[eq + 1];
            size_t close = attrs.find(q, eq + 2);
            if (close == std::string_view::npos) return false;
            *out = unescape(attrs.substr(eq + 2, close - eq - 2));
            return true;
        }
        at = hit + 1;
    }
}

bool all_digits(const std::string &s) {
    if (s.empty() || s.size() > 18) return false;
    for (char c : s) if (c < '0' || c > '9') return false;
    return true;
}

struct JsonObject {
    std::string *out;
    bool first = true;
    void key(std::string_view k) {
        if (!first) out->push_back(',');
        first = false;
        json_string(out, k);
        out->push_back(':');
    }
    void str(std::string_view k, std::string_view v) { key(k); json_string(out, v); }
    void num(std::string_view k, const std::string &v) {
        key(k);
        if (all_digits(v)) *out += v;
        else json_string(out, v);
    }
};

const char *level_name(const std::string &level) {
    static const char *const names[] = {"information", "critical", "error", "warning", "information", "verbose"};
    if (level.size() == 1 && level[0] >= '0' && level[0] <= '5') return names[level[0] - '0'];
    return nullptr;
}

} // namespace

bool is_evtx_signature(const void *data, size_t len) {
    return len >= 8 && std::memcmp(data, "ElfFile\0", 8) == 0;
}

// EventData and UserData values as winlogbeat's AddPairs keeps them
// (sys/winevent/maputil.go): an empty value is left out, a value named "" or
// "Data" is named param<N> by its place N among all values, and of a name met
// twice the first value stays, so the record's JSON has no duplicate keys.
struct Pairs {
    std::vector<std::pair<std::string, std::string>> kept;
    std::unordered_set<std::string> names; // of kept (a record may hold thousands)
    size_t seen = 0;
    void add(std::string name, std::string value) {
        seen++;
        if (value.empty()) return;
        if (name.empty() || name == "Data") name = "param" + std::to_string(seen);
        if (!names.insert(name).second) return;
        kept.emplace_back(std::move(name), std::move(value));
    }
};

bool evtx_xml_to_json(const std::string &xml_text, std::string *json, std::string *reason) {
    Xml x{xml_text};
    Xml::Tag t;
    std::string provider, guid, event_id, version, level, opcode, time, record_id, pid, tid, channel, computer, sid;
    Pairs data, user_data;
    bool have_system = false;
    enum { Outside, System, EventData, UserData } part = Outside;
    while (x.next_tag(&t)) {
        if (t.end) {
            if (t.name == "System" || t.name == "EventData" || t.name == "UserData") part = Outside;
            continue;
        }
        if (t.name == "System") { part = System; have_system = true; continue; }
        if (t.name == "EventData") { part = t.empty ? Outside : EventData; continue; }
        if (t.name == "UserData") { part = t.empty ? Outside : UserData; continue; }
        if (part == Outside) continue; // <Event>, <RenderingInfo>, ...: look inside
        if (part == UserData && !t.empty && x.s.find('<', x.at) < x.s.find("</" + std::string(t.name) + ">", x.at))
            continue; // a wrapper element of UserData: its children are the values
        std::string_view text = t.empty ? std::string_view() : x.text_until(t.name);
        if (part == System) {
            if (t.name == "Provider") {
                attr(t.attrs, "Name", &provider);
                attr(t.attrs, "Guid", &guid);
            } else if (t.name == "EventID") event_id = unescape(text);
            else if (t.name == "Version") version = unescape(text);
            else if (t.name == "Level") level = unescape(text);
            else if (t.name == "Opcode") opcode = unescape(text);
            else if (t.name == "TimeCreated") attr(t.attrs, "SystemTime", &time);
            else if (t.name == "EventRecordID") record_id = unescape(text);
            else if (t.name == "Execution") {
                attr(t.attrs, "ProcessID", &pid);
                attr(t.attrs, "ThreadID", &tid);
            } else if (t.name == "Channel") channel = unescape(text);
            else if (t.name == "Computer") computer = unescape(text);
            else if (t.name == "Security") attr(t.attrs, "UserID", &sid);
        } else {
            // <EventData><Data Name="x">value</Data>...</EventData>, or
            // <UserData><Wrapper xmlns=...><Name>value</Name>...</Wrapper></UserData>:
            // the Name attribute names a value, else its element
            std::string name;
            if (!attr(t.attrs, "Name", &name) || name.empty()) name = std::string(t.name);
            (part == EventData ? data : user_data).add(std::move(name), unescape(text));
        }
    }
    if (!have_system) {
        *reason = "no <System> element in the rendered event";
        return false;
    }
    json->clear();
    json->push_back('{');
    JsonObject root{json};
    if (!time.empty()) root.str("@timestamp", time);
    root.key("event");
    json->push_back('{');
    JsonObject ev{json};
    if (!event_id.empty()) ev.str("code", event_id);
    ev.str("kind", "event");
    if (!provider.empty()) ev.str("provider", provider);
    json->push_back('}');
    if (!computer.empty()) {
        root.key("host");
        *json += "{\"name\":";
        json_string(json, computer);
        json->push_back('}');
    }
    if (const char *ln = level_name(level)) {
        root.key("log");
        *json += "{\"level\":";
        json_string(json, ln);
        json->push_back('}');
    }
    root.key("winlog");
    json->push_back('{');
    JsonObject w{json};
    w.str("api", "evtx"); // winlogbeat says "wineventlog": this record was read from a file
    if (!channel.empty()) w.str("channel", channel);
    if (!computer.empty()) w.str("computer_name", computer);
    for (const Pairs *pairs : {&data, &user_data}) {
        if (pairs->kept.empty()) continue;
        w.key(pairs == &data ? "event_data" : "user_data");
        json->push_back('{');
        JsonObject d{json};
        for (auto &kv : pairs->kept) d.str(kv.first, kv.second);
        json->push_back('}');
    }
    if (!event_id.empty()) w.str("event_id", event_id);
    if (opcode == "0") w.str("opcode", "Info");
    if (!pid.empty() || !tid.empty()) {
        w.key("process");
        json->push_back('{');
        JsonObject p{json};
        if (!pid.empty()) p.num("pid", pid);
        if (!tid.empty()) {
            p.key("thread");
            *json += "{\"id\":";
            if (all_digits(tid)) *json += tid;
            else json_string(json, tid);
            json->push_back('}');
        }
        json->push_back('}');
    }
    if (!guid.empty()) w.str("provider_guid", guid);
    if (!provider.empty()) w.str("provider_name", provider);
    if (!record_id.empty()) w.num("record_id", record_id);
    if (!sid.empty()) {
        w.key("user");
        *json += "{\"identifier\":";
        json_string(json, sid);
        json->push_back('}');
    }
    if (!version.empty()) w.num("version", version);
    json->push_back('}');
    json->push_back('}');
    return true;
}

EvtxFile::~EvtxFile() {
    process_.stop();
    if (memfd_ >= 0) close(memfd_);
}

bool EvtxFile::open_libevtx(const char *path, std::string *err) {
    path_ = path;
    EvtxItem opened;
    std::string why;
    if (!process_.start(path_, EvtxProcess::ListedRecords, 0, err)) return false;
    if (!process_.next(&opened, &why) || opened.kind != EvtxItem::Opened) {
        *err = "not a readable EVTX file: " + why;
        return false;
    }
    if (!opened.ok) {
        *err = opened.text;
        return false;
    }
    records_ = static_cast<int>(std::min<uint64_t>(opened.value, INT32_MAX));
    opened_ = true;
    return true;
}

// An EVTX file is a 4 KiB header and 64 KiB chunks; libevtx drops a chunk
// that the file cuts short, records and all. Zeros up to the chunk's end give
// the records before the cut back (those after it become bad records).
static uint64_t whole_chunks(uint64_t size) {
    const uint64_t header = 4096, chunk = 65536;
    if (size <= header) return size;
    return header + (size - header + chunk - 1) / chunk * chunk;
}

bool EvtxFile::open_path(const char *path, std::string *err) {
    struct stat st;
    if (stat(path, &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
    if (whole_chunks(size_) == size_) return open_libevtx(path, err);
    int src = open(path, O_RDONLY | O_CLOEXEC);
    if (src < 0) {
        *err = std::string("cannot open: ") + std::strerror(errno);
        return false;
    }
    bool ok = open_fd_copy(src, nullptr, 0, err);
    close(src);
    return ok;
}

bool EvtxFile::open_copy(std::string *err) {
    if (ftruncate(memfd_, static_cast<off_t>(whole_chunks(size_))) != 0) {
        *err = std::string("cannot hold the EVTX data: ") + std::strerror(errno);
        return false;
    }
    std::string path = "/proc/self/fd/" + std::to_string(memfd_);
    return open_libevtx(path.c_str(), err);
}

bool EvtxFile::open_anonymous(std::string *err, int *fd) {
    *fd = memfd_create("eqlite-evtx", MFD_CLOEXEC);
    if (*fd < 0) {
        *err = std::string("cannot hold the EVTX data: ") + std::strerror(errno);
        return false;
    }
    memfd_ = *fd;
    return true;
}

bool EvtxFile::open_memory(const void *data, size_t len, std::string *err) {
    int fd;
    if (!open_anonymous(err, &fd)) return false;
    if (!write_all(fd, data, len)) {
        *err = std::string("cannot hold the EVTX data: ") + std::strerror(errno);
        return false;
    }
    size_ = len;
    return open_copy(err);
}

bool EvtxFile::open_fd_copy(int src, const void *head, size_t head_len, std::string *err) {
    size_t given = 0;
    std::string cut_short;
    bool ok = open_read_copy(
        [&](char *dst, size_t cap, std::string *why) -> long {
            if (given < head_len) { // the bytes the caller peeked come first
                size_t n = std::min(cap, head_len - given);
                std::memcpy(dst, static_cast<const char *>(head) + given, n);
                given += n;
                return static_cast<long>(n);
            }
            for (;;) {
                ssize_t n = read(src, dst, cap);
                if (n >= 0) return static_cast<long>(n);
                if (errno == EINTR) continue;
                *why = std::string("read error: ") + std::strerror(errno);
                return -1;
            }
        },
        err, &cut_short);
    if (ok && !cut_short.empty()) { // a descriptor that fails reading fails the file, as before
        *err = cut_short;
        return false;
    }
    return ok;
}

bool EvtxFile::open_read_copy(const std::function<long(char *, size_t, std::string *)> &read_more, std::string *err,
                              std::string *cut_short) {
    int fd;
    if (!open_anonymous(err, &fd)) return false;
    size_ = 0;
    std::vector<char> buf(1 << 16);
    for (;;) {
        long n = read_more(buf.data(), buf.size(), cut_short);
        if (n < 0) break; // the bytes so far still hold records
        if (n == 0) break;
        if (!write_all(fd, buf.data(), static_cast<size_t>(n))) {
            *err = std::string("cannot hold the EVTX data: ") + std::strerror(errno);
            return false;
        }
        size_ += static_cast<uint64_t>(n);
    }
    return open_copy(err);
}

EvtxFile::Next EvtxFile::next(std::string *json, uint64_t *number, std::string *reason) {
    if (!opened_) return Eof;
    if (index_ >= records_) return repair_next(json, number, reason);
    int i = index_++;
    *number = static_cast<uint64_t>(i) + 1;
    EvtxItem item;
    std::string why;
    bool got = process_.next(&item, &why) && item.kind == EvtxItem::Listed && item.index == static_cast<uint32_t>(i);
    if (!got || !item.has_id) {
        // reported here, so not again as missing: a chunk numbers its records
        // one after the other, so this one is the one after the last
        if (last_listed_) listed_.push_back(++last_listed_);
        else unnumbered_++;
        if (got) {
            *reason = item.text;
        } else {
            *reason = why.empty() ? "libevtx listed records out of order" : why;
            resume_after(i, reason);
        }
        return Bad;
    }
    uint64_t id = item.value;
    for (; unnumbered_ > 0; unnumbered_--) listed_.push_back(id - unnumbered_);
    listed_.push_back(last_listed_ = id);
    if (!item.ok) {
        *reason = item.text;
        return Bad;
    }
    return evtx_xml_to_json(item.text, json, reason) ? Record : Bad;
}

void EvtxFile::resume_after(int i, std::string *reason) {
    std::string err;
    EvtxItem opened;
    if (i + 1 >= records_) return;
    if (++crashes_ > kMostCrashes)
        err = "libevtx failed " + std::to_string(kMostCrashes) + " times on this file";
    else if (!process_.start(path_, EvtxProcess::ListedRecords, static_cast<uint32_t>(i + 1), &err))
        ;
    else if (!process_.next(&opened, &err) || !opened.ok)
        err = "cannot reopen the file after it: " + (err.empty() ? opened.text : err);
    else
        return;
    *reason += "; " + err + ", so records " + std::to_string(i + 2) + ".." + std::to_string(records_) +
               " are not read either";
    index_ = records_;
    process_.stop();
}

// ---- damaged chunks ---------------------------------------------------------
// libevtx lists the records of a chunk up to the first one it cannot parse and
// drops the rest without a word, and reads a chunk whose checksum fails as if
// it held. The chunk headers (under their own checksum) say which record
// numbers each chunk holds: what libevtx did not list is looked for among
// its recovered records and otherwise reported lost.

static uint32_t le32(const unsigned char *p) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
           static_cast<uint32_t>(p[3]) << 24;
}

static uint64_t le64(const unsigned char *p) { return le32(p) | static_cast<uint64_t>(le32(p + 4)) << 32; }

static uint32_t header_checksum(const unsigned char *c, size_t skip_from, size_t skip_to, size_t end) {
    uint32_t crc = static_cast<uint32_t>(crc32(0, c, static_cast<uInt>(skip_from)));
    return static_cast<uint32_t>(crc32(crc, c + skip_to, static_cast<uInt>(end - skip_to)));
}

void EvtxFile::scan_chunks() {
    const size_t header = 4096, chunk_size = 65536, chunk_header = 512;
    // a record takes more than 64 bytes: more numbers than that is a bad header
    const uint64_t most_records = (chunk_size - chunk_header) / 64;
    int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    std::sort(listed_.begin(), listed_.end());
    std::vector<unsigned char> c(chunk_size);
    // the file header (under its checksum) says how many chunks are in use
    uint64_t chunks_in_use = 0;
    if (pread(fd, c.data(), 128, 0) == 128 && header_checksum(c.data(), 0x78, 0x78, 0x78) == le32(&c[0x7c]))
        chunks_in_use = c[0x2a] | static_cast<uint64_t>(c[0x2b]) << 8;
    for (uint64_t k = 0, off = header;; k++, off += chunk_size) {
        ssize_t n = pread(fd, c.data(), chunk_size, static_cast<off_t>(off));
        if (n < 0) n = 0;
        if (static_cast<size_t>(n) < chunk_size) std::memset(c.data() + n, 0, chunk_size - static_cast<size_t>(n));
        if (n == 0 && k >= chunks_in_use) break;
        bool magic = std::memcmp(c.data(), "ElfChnk", 8) == 0;
        // the header checksum covers the magic: a damaged magic is told
        // from an unused chunk by the checksum holding with the magic restored
        std::memcpy(c.data(), "ElfChnk", 8);
        Chunk ch{off, le64(&c[8]), le64(&c[16]), false, false, n > 0};
        ch.header_intact = header_checksum(c.data(), 0x78, 0x80, chunk_header) == le32(&c[0x7c]);
        if (!ch.header_intact) {
            if (magic || k < chunks_in_use) damaged_.push_back(ch); // in use, its numbers unknown
            continue;
        }
        uint32_t free_at = le32(&c[0x30]);
        ch.records_intact = free_at >= chunk_header && free_at <= static_cast<size_t>(n) &&
                            static_cast<uint32_t>(crc32(0, c.data() + chunk_header, free_at - chunk_header)) ==
                                le32(&c[0x34]);
        bool sane = ch.last >= ch.first && ch.last - ch.first < most_records;
        size_t missing_before = missing_.size();
        for (uint64_t id = ch.first; sane && id <= ch.last; id++)
            if (!std::binary_search(listed_.begin(), listed_.end(), id)) missing_.emplace_back(id, off);
        if (!ch.records_intact || missing_.size() > missing_before) damaged_.push_back(ch);
    }
    close(fd);
    recovered_for_.assign(missing_.size(), -1);
    if (missing_.empty()) return;
    std::sort(missing_.begin(), missing_.end());
    collect_recovered();
}

// libevtx's recovered records, read by a child of their own: those whose
// record numbers are missing are kept.
void EvtxFile::collect_recovered() {
    std::string err, why;
    EvtxItem item;
    uint32_t from = 0;
    while (process_.start(path_, EvtxProcess::RecoveredRecords, from, &err) && process_.next(&item, &why) &&
           item.ok) {
        uint64_t count = item.value;
        while (process_.next(&item, &why) && item.kind == EvtxItem::Recovered) {
            from = item.index + 1;
            // libevtx gives no offset for a recovered record; record numbers only
            // grow, so an older copy left in slack space has a number of its own
            auto hit = std::lower_bound(missing_.begin(), missing_.end(), std::make_pair(item.value, uint64_t(0)));
            size_t k = static_cast<size_t>(hit - missing_.begin());
            if (item.has_id && hit != missing_.end() && hit->first == item.value && recovered_for_[k] < 0) {
                recovered_for_[k] = static_cast<int>(recovered_.size());
                recovered_.push_back(std::move(item));
            }
        }
        if (item.kind == EvtxItem::Done || from >= count || ++crashes_ > kMostCrashes) break;
        from++; // the record it crashed on is skipped
    }
    process_.stop();
}

EvtxFile::Next EvtxFile::repair_next(std::string *json, uint64_t *number, std::string *reason) {
    if (!repairing_) {
        repairing_ = true;
        process_.finish();
        scan_chunks();
    }
    while (damaged_at_ < damaged_.size()) {
        const Chunk &ch = damaged_[damaged_at_++];
        if (!ch.header_intact) {
            *number = 0;
            *reason = "the chunk at byte " + std::to_string(ch.offset) +
                      (ch.present ? " fails its header checksum: the records of it that were not read are lost"
                                  : " is missing (the file ends before it): its records are lost");
            return Bad;
        }
        if (ch.records_intact) continue; // only records missing: reported one by one below
        *number = ch.first;
        *reason = "the chunk at byte " + std::to_string(ch.offset) + " (records " + std::to_string(ch.first) +
                  ".." + std::to_string(ch.last) +
                  ") fails its checksum: its records were read, but their values may be damaged";
        return Bad;
    }
    if (missing_at_ >= missing_.size()) return Eof;
    size_t k = missing_at_++;
    *number = missing_[k].first;
    if (recovered_for_[k] < 0) {
        *reason = "lost: the chunk at byte " + std::to_string(missing_[k].second) +
                  " is damaged there and the record cannot be recovered";
        return Bad;
    }
    const EvtxItem &rec = recovered_[static_cast<size_t>(recovered_for_[k])];
    if (rec.ok && evtx_xml_to_json(rec.text, json, reason)) return Record;
    *reason = "recovered from a damaged chunk, but: " + (rec.ok ? *reason : rec.text);
    return Bad;
}

} // namespace eqio
