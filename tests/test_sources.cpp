// Source profiles and the EVTX reader: Windows' command-line split, the
// profile language, per-record detection, and the reference rule firing on
// a process creation from each of the four sources through the public API.
#include <criterion/criterion.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <zlib.h>

#include "eqlite.h"
#include "eqlite_io.h"
#include "io/evtx.h"
#include "io/profile.h"

namespace {

std::vector<std::string> argv_of(const char *cmd) {
    std::vector<std::string> args;
    eqio::command_line_to_argv(cmd, &args);
    return args;
}

void expect_args(const char *cmd, std::vector<std::string> want) {
    std::vector<std::string> got = argv_of(cmd);
    std::string g, w;
    for (auto &a : got) g += "<" + a + ">";
    for (auto &a : want) w += "<" + a + ">";
    cr_expect_eq(got, want, "%s: got %s, want %s", cmd, g.c_str(), w.c_str());
}

const char *kRule =
    "process where host.os.type == \"windows\" and event.type == \"start\" and process.name : \"cmd.exe\" and\n"
    "  process.parent.name : (\"lsass.exe\", \"regsvr32.exe\", \"dllhost.exe\", \"WerFault.exe\", \"taskhostw.exe\") and\n"
    "  not (process.parent.name : \"dllhost.exe\" and\n"
    "       process.parent.args : \"/Processid:{CA8C87C1-929D-45BA-94DB-EF8E6CB346AD}\")";

// The reference rule over one buffer read with source `source`: how many
// events match, and which profile took the last record.
size_t rule_hits(const std::string &data, const char *source, std::string *taken = nullptr) {
    eqlite_schema *schema = nullptr;
    cr_assert_eq(eqlite_schema_new(nullptr, &schema), EQLITE_OK);
    eqlite_schema_set_grow(schema, 1);
    eqlite_program *prog = nullptr;
    eqlite_diag diag;
    cr_assert_eq(eqlite_compile(schema, kRule, std::strlen(kRule), &prog, &diag), EQLITE_OK);
    eqlite_matcher *m = nullptr;
    cr_assert_eq(eqlite_matcher_new(prog, nullptr, &m), EQLITE_OK);
    eqlite_reader_options o{};
    o.schema = schema;
    o.source = source;
    eqlite_reader *rd = nullptr;
    char err[256];
    cr_assert_eq(eqlite_reader_open_memory(data.data(), data.size(), &o, &rd, err, sizeof err), EQLITE_OK, "%s", err);
    size_t hits = 0;
    eqlite_event ev;
    eqlite_record rec;
    for (int k; (k = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF;) {
        // unconverted vendor records may lack @timestamp: bad, and no match
        if (k == EQLITE_READ_BAD && source && !std::strcmp(source, "none")) continue;
        cr_assert_eq(k, EQLITE_READ_EVENT, "%s: %s", rec.file, rec.reason);
        if (taken) *taken = rec.source;
        int matched = 0;
        cr_assert_eq(eqlite_match(m, &ev, &matched), EQLITE_OK);
        hits += matched != 0;
    }
    eqlite_reader_close(rd);
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    eqlite_schema_free(schema);
    return hits;
}

const char *kSysmon =
    R"({"@timestamp":"2020-10-27T20:00:14.324Z","winlog":{"channel":"Microsoft-Windows-Sysmon/Operational",)"
    R"("event_id":"1","provider_name":"Microsoft-Windows-Sysmon","event_data":{"UtcTime":"2020-10-27 20:00:14.320",)"
    R"("Image":"C:\\Windows\\System32\\cmd.exe","CommandLine":"cmd.exe /c whoami","User":"VAGRANT\\vagrant",)"
    R"("ParentImage":"C:\\Windows\\System32\\lsass.exe","ParentCommandLine":"C:\\Windows\\system32\\lsass.exe"}}})";
const char *kDefender =
    R"({"category":"AdvancedHunting-DeviceProcessEvents","properties":{"ActionType":"ProcessCreated",)"
    R"("Timestamp":"2022-11-09T17:59:52.6266600Z","FileName":"cmd.exe","FolderPath":"C:\\Windows\\System32\\cmd.exe",)"
    R"("ProcessCommandLine":"cmd.exe /c calc","InitiatingProcessFileName":"regsvr32.exe",)"
    R"("InitiatingProcessFolderPath":"c:\\windows\\system32\\regsvr32.exe","InitiatingProcessCommandLine":"regsvr32.exe /s x.dll"}})";
const char *kSentinelOne =
    R"({"event.time":1664811149470,"meta.event.name":"PROCESSCREATION","event.category":"process",)"
    R"("event.type":"Process Creation","endpoint.os":"windows","src.process.uid":"A","src.process.name":"WerFault.exe",)"
    R"("src.process.cmdline":"WerFault.exe -u","tgt.process.uid":"B","tgt.process.name":"cmd.exe","tgt.process.cmdline":"cmd"})";
const char *kDefend =
    R"({"@timestamp":"2023-01-11T13:18:22.587Z","event":{"category":["process"],"type":["start"],"kind":"event"},)"
    R"("host":{"os":{"type":"windows"}},"process":{"name":"cmd.exe","parent":{"name":"taskhostw.exe"}}})";

std::string read_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

} // namespace

Test(sources, command_line_split_is_windows_own) {
    expect_args("cmd.exe /c whoami", {"cmd.exe", "/c", "whoami"});
    expect_args("\"C:\\Program Files\\x.exe\" -a  b", {"C:\\Program Files\\x.exe", "-a", "b"});
    expect_args("\"C:\\Windows\\system32\\notepad.exe\" ", {"C:\\Windows\\system32\\notepad.exe"});
    // the program name takes no escapes: a backslash before a quote stays
    expect_args("C:\\dir\\\"x y\" z", {"C:\\dir\\\"x", "y z"});
    expect_args("a \"b c\" d", {"a", "b c", "d"});
    expect_args("a \\\\\\\"b", {"a", "\\\"b"});     // 3 backslashes + quote: one backslash, a quote
    expect_args("a \\\\\"b c\" d", {"a", "\\b c", "d"}); // 2 backslashes + quote: one backslash, quoting
    expect_args("a b\\c\\\\ d", {"a", "b\\c\\\\", "d"}); // backslashes not before a quote stay
    // inside quotes, "" is a literal quote and ends the quoting (shell32, as Wine copies it)
    expect_args("a \"b\"\"c\" d", {"a", "b\"c d"});
    expect_args("a \"\" b", {"a", "", "b"});
    expect_args("x.exe\t-k\tsvc", {"x.exe", "-k", "svc"});
}

Test(sources, reference_rule_fires_on_each_source) {
    std::string taken;
    cr_expect_eq(rule_hits(kSysmon, nullptr, &taken), 1u);
    cr_expect_str_eq(taken.c_str(), "windows");
    cr_expect_eq(rule_hits(kDefender, nullptr, &taken), 1u);
    cr_expect_str_eq(taken.c_str(), "m365-defender");
    cr_expect_eq(rule_hits(kSentinelOne, nullptr, &taken), 1u);
    cr_expect_str_eq(taken.c_str(), "sentinelone-cloud-funnel");
    cr_expect_eq(rule_hits(kDefend, nullptr, &taken), 1u);
    cr_expect_str_eq(taken.c_str(), "ecs");
}

Test(sources, raw_records_do_not_match_without_conversion) {
    cr_expect_eq(rule_hits(kSysmon, "none"), 0u);
    cr_expect_eq(rule_hits(kDefender, "none"), 0u);
    cr_expect_eq(rule_hits(kSentinelOne, "none"), 0u);
    cr_expect_eq(rule_hits(kDefend, "none"), 1u);
}

Test(sources, a_forced_source_applies_to_every_record) {
    std::string taken;
    cr_expect_eq(rule_hits(kSysmon, "windows", &taken), 1u);
    cr_expect_str_eq(taken.c_str(), "windows");
    // the ECS profile passes a raw record through: nothing to match
    cr_expect_eq(rule_hits(kSysmon, "ecs", &taken), 0u);
}

Test(sources, sentinelone_flat_event_category_is_not_ecs) {
    // {"event.category":"process"} would pass for ECS; meta.event.name says otherwise
    std::string taken;
    rule_hits(kSentinelOne, nullptr, &taken);
    cr_expect_str_eq(taken.c_str(), "sentinelone-cloud-funnel");
}

Test(sources, unknown_shapes_are_counted_and_pass) {
    eqlite_schema *schema = nullptr;
    cr_assert_eq(eqlite_schema_new(nullptr, &schema), EQLITE_OK);
    eqlite_reader_options o{};
    o.schema = schema;
    o.timestamp_field = "";
    eqlite_sources *sources = nullptr;
    cr_assert_eq(eqlite_sources_new(&sources, nullptr, 0), EQLITE_OK);
    o.sources = sources;
    std::string data = std::string("{\"x\":1}\n") + kSysmon + "\n" + kDefend + "\n";
    eqlite_reader *rd = nullptr;
    cr_assert_eq(eqlite_reader_open_memory(data.data(), data.size(), &o, &rd, nullptr, 0), EQLITE_OK);
    eqlite_event ev;
    eqlite_record rec;
    while (eqlite_reader_next(rd, &ev, &rec) == EQLITE_READ_EVENT) {
    }
    size_t n = eqlite_sources_count(sources);
    uint64_t windows = 0, ecs = 0;
    for (size_t i = 0; i < n; i++) {
        if (!std::strcmp(eqlite_sources_name(sources, i), "windows")) windows = eqlite_reader_source_count(rd, i);
        if (!std::strcmp(eqlite_sources_name(sources, i), "ecs")) ecs = eqlite_reader_source_count(rd, i);
    }
    cr_expect_eq(windows, 1u);
    cr_expect_eq(ecs, 1u);
    cr_expect_eq(eqlite_reader_source_count(rd, n), 1u, "the {\"x\":1} record has no known shape");
    eqlite_reader_close(rd);
    eqlite_sources_free(sources);
    eqlite_schema_free(schema);
}

Test(sources, user_profiles_add_and_replace) {
    eqlite_sources *s = nullptr;
    cr_assert_eq(eqlite_sources_new(&s, nullptr, 0), EQLITE_OK);
    size_t builtin = eqlite_sources_count(s);
    const char *mine = "profile acme\ndetect acme.kind == proc\nset event.category [process]\ncopy acme.exe process.name\n";
    char err[256];
    cr_assert_eq(eqlite_sources_add(s, mine, std::strlen(mine), "acme.profile", err, sizeof err), EQLITE_OK, "%s", err);
    cr_expect_eq(eqlite_sources_count(s), builtin + 1);
    // the ECS passthrough stays the last resort, after the user's profile
    cr_expect_str_eq(eqlite_sources_name(s, builtin), "ecs");
    cr_assert_eq(eqlite_sources_add(s, mine, std::strlen(mine), "again", err, sizeof err), EQLITE_OK);
    cr_expect_eq(eqlite_sources_count(s), builtin + 1, "same name replaces");
    eqlite_sources_free(s);
    eqlite_sources_free(nullptr);
}

Test(sources, profile_errors_name_file_and_line) {
    eqlite_sources *s = nullptr;
    cr_assert_eq(eqlite_sources_new(&s, nullptr, 0), EQLITE_OK);
    char err[256];
    const char *bad[][2] = {
        {"profile p\nfrobnicate a b\n", "bad.profile:2: unknown operation 'frobnicate'"},
        {"copy a b\n", "bad.profile:1: expected 'profile NAME' first"},
        {"profile p\nwhen a == b\ncopy a b\n", "bad.profile:4: 'when' without 'end'"},
        {"profile p\nlookup a nope\n", "bad.profile:2: no table 'nope' (tables come before their use)"},
        {"profile p\nset a \"open\n", "bad.profile:2: unterminated string"},
    };
    for (auto &b : bad) {
        cr_expect_eq(eqlite_sources_add(s, b[0], std::strlen(b[0]), "bad.profile", err, sizeof err), EQLITE_EINPUT);
        cr_expect_str_eq(err, b[1]);
    }
    // a NUL byte is part of a word (found by fuzz_profiles: the line once looped forever)
    static const char nul[] = "profile p\nw\0hen a exists\n";
    cr_expect_eq(eqlite_sources_add(s, nul, sizeof nul - 1, "bad.profile", err, sizeof err), EQLITE_EINPUT);
    cr_expect_eq(std::strncmp(err, "bad.profile:2: unknown operation 'w", 35), 0, "%s", err);
    eqlite_sources_free(s);
}

// Beats' sysmon-9.01.evtx: one chunk of 32 records.
static std::string sysmon_901_path() {
    const char *shared = std::getenv("EQLITE_SHARED_DIR");
    return std::string(shared ? shared : "../shared") +
           "/sources/beats/x-pack/winlogbeat/module/sysmon/test/testdata/sysmon-9.01.evtx";
}

// Where the n-th record (from 1) starts: its "**\0\0" signature.
static size_t evtx_record_at(const std::string &evtx, int n) {
    int seen = 0;
    for (size_t at = 0; at + 8 < evtx.size(); at++)
        if (!std::memcmp(&evtx[at], "**\0\0", 4) && ++seen == n) return at;
    cr_assert_fail("no record %d", n);
    return 0;
}

static std::string gzipped(const std::string &data) {
    z_stream z{};
    cr_assert_eq(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&z, data.size()), '\0');
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef *>(&out[0]);
    z.avail_out = static_cast<uInt>(out.size());
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

Test(sources, evtx_from_memory_and_corrupt_bytes) {
    std::string path = sysmon_901_path();
    std::string evtx = read_file(path);
    if (evtx.empty()) cr_skip_test("%s is absent", path.c_str());
    eqlite_schema *schema = nullptr;
    cr_assert_eq(eqlite_schema_new(nullptr, &schema), EQLITE_OK);
    uint32_t id;
    cr_assert_eq(eqlite_schema_add(schema, "process.name", 12, EQLITE_T_KEYWORD, &id), EQLITE_OK);
    eqlite_reader_options o{};
    o.schema = schema;
    for (int variant = 0; variant < 4; variant++) {
        int corrupt = variant & 1;
        std::string data = evtx;
        if (corrupt) // smash the middle of the sixth record
            std::memset(&data[evtx_record_at(data, 6) + 30], 0xff, 30);
        if (variant & 2) data = gzipped(data); // EVTX once gunzipped (it was read as NDJSON)
        eqlite_reader *rd = nullptr;
        char err[256];
        cr_assert_eq(eqlite_reader_open_memory(data.data(), data.size(), &o, &rd, err, sizeof err), EQLITE_OK, "%s", err);
        eqlite_event ev;
        eqlite_record rec;
        int events = 0, bad = 0, sysmon_exe = 0;
        for (int k; (k = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF;) {
            cr_assert_neq(k, EQLITE_READ_FATAL, "%s", rec.reason);
            if (k == EQLITE_READ_BAD) {
                // the record, then its chunk's checksum: the others' values are suspect too
                const char *want = bad++ ? "record 1: the chunk at byte 4096 (records 1..32) fails its checksum"
                                         : "record 6: ";
                cr_expect_eq(std::strncmp(rec.reason, want, std::strlen(want)), 0, "%s", rec.reason);
                continue;
            }
            events++;
            cr_expect_str_eq(rec.source, "windows");
            const eqlite_value &v = ev.fields[id];
            if (v.kind == EQLITE_STRING && std::string(v.u.s, v.len) == "Sysmon.exe") sysmon_exe++;
        }
        cr_expect_eq(events, corrupt ? 31 : 32);
        cr_expect_eq(bad, corrupt ? 2 : 0);
        cr_expect_geq(sysmon_exe, 1, "process.name comes from the Image of Sysmon records");
        eqlite_reader_close(rd);
    }
    eqlite_schema_free(schema);
}

// libevtx lists a chunk's records only up to one whose header is damaged and
// drops the rest without a word: they come back from its recovered records,
// and what cannot be recovered is reported, never lost silently.
Test(sources, evtx_records_after_a_damaged_one_are_recovered_or_reported) {
    std::string path = sysmon_901_path();
    std::string evtx = read_file(path);
    if (evtx.empty()) cr_skip_test("%s is absent", path.c_str());
    std::memcpy(&evtx[evtx_record_at(evtx, 10) + 4], "\xff\xff\0\0", 4); // the tenth record's size
    eqlite_schema *schema = nullptr;
    cr_assert_eq(eqlite_schema_new(nullptr, &schema), EQLITE_OK);
    eqlite_reader_options o{};
    o.schema = schema;
    eqlite_reader *rd = nullptr;
    char err[256];
    cr_assert_eq(eqlite_reader_open_memory(evtx.data(), evtx.size(), &o, &rd, err, sizeof err), EQLITE_OK, "%s", err);
    eqlite_event ev;
    eqlite_record rec;
    std::vector<std::string> bad;
    std::set<long> record_ids;
    for (int k; (k = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF;) {
        cr_assert_neq(k, EQLITE_READ_FATAL, "%s", rec.reason);
        if (k == EQLITE_READ_BAD) {
            bad.push_back(rec.reason);
            continue;
        }
        const char *id = std::strstr(rec.text, "\"record_id\":");
        cr_assert(id, "%.*s", static_cast<int>(rec.len), rec.text);
        record_ids.insert(std::atol(id + 12 + (id[12] == '"'))); // a number, or ECS's string
    }
    eqlite_reader_close(rd);
    eqlite_schema_free(schema);
    cr_expect_eq(record_ids.size(), 31u, "every record but the damaged one: %zu", record_ids.size());
    cr_assert_eq(bad.size(), 2u);
    cr_expect_str_eq(bad[0].c_str(), "record 1: the chunk at byte 4096 (records 1..32) fails its checksum: its records "
                                     "were read, but their values may be damaged");
    cr_expect_str_eq(bad[1].c_str(), "record 10: lost: the chunk at byte 4096 is damaged there and the record cannot "
                                     "be recovered");
}

Test(sources, null_arguments_are_misuse) {
    eqlite_reader *rd = nullptr;
    eqlite_reader_options o{};
    cr_expect_eq(eqlite_reader_open_memory("", 0, nullptr, &rd, nullptr, 0), EQLITE_EMISUSE);
    cr_expect_eq(eqlite_reader_open_memory("", 0, &o, &rd, nullptr, 0), EQLITE_EMISUSE, "no schema");
    cr_expect_eq(eqlite_reader_open_path(nullptr, &o, &rd, nullptr, 0), EQLITE_EMISUSE);
    cr_expect_eq(eqlite_sources_new(nullptr, nullptr, 0), EQLITE_EMISUSE);
    cr_expect_eq(eqlite_sources_add(nullptr, "", 0, nullptr, nullptr, 0), EQLITE_EMISUSE);
    eqlite_event ev;
    cr_expect_eq(eqlite_reader_next(nullptr, &ev, nullptr), EQLITE_READ_FATAL);
    eqlite_reader_close(nullptr);
    eqlite_schema *schema = nullptr;
    cr_assert_eq(eqlite_schema_new(nullptr, &schema), EQLITE_OK);
    o.schema = schema;
    o.source = "no-such-source";
    char err[128];
    cr_expect_eq(eqlite_reader_open_memory("", 0, &o, &rd, err, sizeof err), EQLITE_ENOTFOUND);
    cr_expect_str_eq(err, "unknown source 'no-such-source'");
    eqlite_schema_free(schema);
}

namespace {

bool same_value(const eqlite_value &a, const eqlite_value &b) {
    if (a.kind != b.kind) return false;
    switch (a.kind) {
    case EQLITE_STRING: return a.len == b.len && std::memcmp(a.u.s, b.u.s, a.len) == 0;
    case EQLITE_INT: return a.u.i == b.u.i;
    case EQLITE_DOUBLE: return a.u.d == b.u.d;
    case EQLITE_BOOL: return a.u.b == b.u.b;
    case EQLITE_ARRAY:
        if (a.len != b.len) return false;
        for (uint32_t i = 0; i < a.len; i++)
            if (!same_value(a.u.a[i], b.u.a[i])) return false;
        return true;
    default: return true;
    }
}

// Reads `data` through its profiles into ECS-typed events (lazy_text: each
// converted record's text is written only by eqlite_reader_text), and checks
// each event against the one the plain ECS path reads from that text.
// Returns the events compared.
// (A document with raw JSON values is written to be read: it has its text.)
size_t expect_events_equal_their_text(const std::string &data, eqlite_sources *sources = nullptr,
                                      bool raw_values = false) {
    eqlite_schema *schema = nullptr;
    cr_assert_eq(eqlite_schema_new(nullptr, &schema), EQLITE_OK);
    cr_assert_eq(eqlite_schema_load_ecs(schema), EQLITE_OK);
    uint32_t extra;
    cr_assert_eq(eqlite_schema_add(schema, "acme.tag", 8, EQLITE_T_KEYWORD, &extra), EQLITE_OK);
    cr_assert_eq(eqlite_schema_add(schema, "acme.tag.inner", 14, EQLITE_T_KEYWORD, &extra), EQLITE_OK);
    eqlite_reader_options o{};
    o.schema = schema;
    o.timestamp_field = "";
    o.sources = sources;
    o.lazy_text = 1;
    eqlite_reader *rd = nullptr;
    cr_assert_eq(eqlite_reader_open_memory(data.data(), data.size(), &o, &rd, nullptr, 0), EQLITE_OK);
    eqlite_reader_options plain = o;
    plain.source = "none";
    plain.lazy_text = 0;
    size_t compared = 0, bad = 0;
    eqlite_event ev;
    eqlite_record lazy;
    for (int k; (k = eqlite_reader_next(rd, &ev, compared % 2 ? &lazy : nullptr)) != EQLITE_READ_EOF;) {
        if (k != EQLITE_READ_EVENT) { // a bad record: its ECS text must be bad for the ECS path too
            // (not always for the same field first: fields are converted in the order they are read)
            cr_assert_eq(k, EQLITE_READ_BAD);
            eqlite_record rec{}, again_rec{};
            eqlite_reader *once = nullptr, *again = nullptr;
            cr_assert_eq(eqlite_reader_open_memory(data.data(), data.size(), &o, &once, nullptr, 0), EQLITE_OK);
            for (size_t i = 0; i <= compared + bad; i++) eqlite_reader_next(once, &ev, &rec);
            std::string doc(rec.text, rec.len);
            cr_assert_eq(eqlite_reader_open_memory(doc.data(), doc.size(), &plain, &again, nullptr, 0), EQLITE_OK);
            cr_expect_eq(eqlite_reader_next(again, &ev, &again_rec), EQLITE_READ_BAD, "%s", rec.reason);
            eqlite_reader_close(again);
            eqlite_reader_close(once);
            bad++;
            continue;
        }
        if (compared % 2 && !raw_values && *lazy.source && std::strcmp(lazy.source, "ecs") != 0)
            cr_expect_null(lazy.text, "lazy_text: no text for a converted record until asked for");
        const char *text = nullptr;
        size_t len = 0;
        cr_assert_eq(eqlite_reader_text(rd, &text, &len), EQLITE_OK);
        std::string doc(text, len);
        eqlite_reader *again = nullptr;
        cr_assert_eq(eqlite_reader_open_memory(doc.data(), doc.size(), &plain, &again, nullptr, 0), EQLITE_OK);
        eqlite_event want;
        eqlite_record rec;
        cr_assert_eq(eqlite_reader_next(again, &want, &rec), EQLITE_READ_EVENT, "%s: %s", doc.c_str(), rec.reason);
        size_t n = want.nfields > ev.nfields ? want.nfields : ev.nfields;
        for (size_t i = 0; i < n; i++) {
            eqlite_value none{};
            const eqlite_value &a = i < ev.nfields ? ev.fields[i] : none, &b = i < want.nfields ? want.fields[i] : none;
            cr_expect(same_value(a, b), "field %s differs from the ECS text's: %s", eqlite_schema_field_name(schema, (uint32_t)i, nullptr),
                      doc.c_str());
        }
        eqlite_reader_close(again);
        compared++;
    }
    const char *text;
    size_t len;
    cr_expect_eq(eqlite_reader_text(rd, &text, &len), EQLITE_EMISUSE, "no event after the end");
    eqlite_reader_close(rd);
    eqlite_schema_free(schema);
    return compared;
}

std::string shared_file(const char *rel) {
    const char *shared = std::getenv("EQLITE_SHARED_DIR");
    return read_file(std::string(shared ? shared : "../shared") + "/sources/" + rel);
}

} // namespace

Test(sources, converted_events_equal_the_events_of_their_ecs_text) {
    std::string data = std::string(kSysmon) + "\n" + kDefender + "\n" + kSentinelOne + "\n" + kDefend + "\n";
    cr_expect_eq(expect_events_equal_their_text(data), 4u);
    const char *files[] = {
        "integrations/packages/sentinel_one_cloud_funnel/data_stream/event/_dev/test/pipeline/test-process.log",
        "integrations/packages/m365_defender/data_stream/event/_dev/test/pipeline/test-device.log.derived-28.log",
    };
    for (const char *f : files) {
        std::string records = shared_file(f);
        if (records.empty()) continue;
        cr_expect_gt(expect_events_equal_their_text(records), 0u, "%s", f);
    }
}

Test(sources, a_value_over_fields_under_it_wins_in_event_and_text) {
    // acme.tag holds a value and acme.tag.inner would sit under it: a JSON
    // document cannot hold both, so the outer value is kept, in the text and
    // in the event alike; an object inside a list (raw JSON) is read from the text
    eqlite_sources *s = nullptr;
    cr_assert_eq(eqlite_sources_new(&s, nullptr, 0), EQLITE_OK);
    const char *mine = "profile acme\ndetect acme.kind exists\nset acme.tag.inner deep\ncopy acme.kind acme.tag\n"
                       "copy acme.list acme.raw\n";
    cr_assert_eq(eqlite_sources_add(s, mine, std::strlen(mine), "acme.profile", nullptr, 0), EQLITE_OK);
    std::string data = "{\"acme\":{\"kind\":\"proc\"}}\n{\"acme\":{\"list\":[{\"a\":1}],\"kind\":\"x\"}}\n";
    cr_expect_eq(expect_events_equal_their_text(data, s, true), 2u);
    eqlite_sources_free(s);
}

namespace {

// Each record of `data` read through the built-in profiles plus `profile`:
// the profile that took it and its ECS text, one "source: text" per record
// ("bad: reason" for a bad one).
std::vector<std::string> converted(const char *profile, const std::string &data) {
    eqlite_sources *s = nullptr;
    cr_assert_eq(eqlite_sources_new(&s, nullptr, 0), EQLITE_OK);
    char err[256];
    cr_assert_eq(eqlite_sources_add(s, profile, std::strlen(profile), "test.profile", err, sizeof err), EQLITE_OK, "%s", err);
    eqlite_schema *schema = nullptr;
    cr_assert_eq(eqlite_schema_new(nullptr, &schema), EQLITE_OK);
    eqlite_reader_options o{};
    o.schema = schema;
    o.timestamp_field = "";
    o.sources = s;
    eqlite_reader *rd = nullptr;
    cr_assert_eq(eqlite_reader_open_memory(data.data(), data.size(), &o, &rd, nullptr, 0), EQLITE_OK);
    std::vector<std::string> out;
    eqlite_event ev;
    eqlite_record rec;
    for (int k; (k = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF;) {
        cr_assert(k == EQLITE_READ_EVENT || k == EQLITE_READ_BAD, "%s", rec.reason);
        if (k == EQLITE_READ_BAD) out.push_back(std::string("bad: ") + rec.reason);
        else out.push_back(std::string(*rec.source ? rec.source : "-") + ": " + std::string(rec.text, rec.len));
    }
    eqlite_reader_close(rd);
    eqlite_schema_free(schema);
    eqlite_sources_free(s);
    return out;
}

} // namespace

Test(sources, lists_of_objects_give_every_value) {
    // as Defender's LoggedOnUsers: a list of objects, or the JSON text of one
    const char *mine = "profile acme\ndetect acme.kind exists\njson acme.list\nappend related.user acme.list.UserName\n";
    std::string data = R"({"acme":{"kind":"x","list":[{"UserName":"u1"},{"UserName":"u2"},{"Other":1}]}})" "\n"
                       R"({"acme":{"kind":"x","list":"[{\"UserName\":\"u3\"}, {\"UserName\":\"u3\"}]"}})" "\n"
                       R"({"acme":{"kind":"x","list":{"UserName":"u4"}}})" "\n";
    std::vector<std::string> want = {R"(acme: {"related":{"user":["u1","u2"]}})", R"(acme: {"related":{"user":["u3"]}})",
                                     R"(acme: {"related":{"user":["u4"]}})"};
    cr_expect_eq(converted(mine, data), want);
}

namespace {

// The ECS text the windows profile makes of a Sysmon record with these event_data fields.
std::string sysmon_ecs(const char *event_id, const char *event_data) {
    std::string rec = std::string(R"({"@timestamp":"2020-10-27T20:00:14.324Z","winlog":{"channel":"Microsoft-Windows-Sysmon/Operational",)") +
                      R"("event_id":")" + event_id + R"(","provider_name":"Microsoft-Windows-Sysmon","event_data":{)" + event_data + "}}}";
    eqlite_schema *schema = nullptr;
    cr_assert_eq(eqlite_schema_new(nullptr, &schema), EQLITE_OK);
    eqlite_reader_options o{};
    o.schema = schema;
    eqlite_reader *rd = nullptr;
    cr_assert_eq(eqlite_reader_open_memory(rec.data(), rec.size(), &o, &rd, nullptr, 0), EQLITE_OK);
    eqlite_event ev;
    eqlite_record r;
    cr_assert_eq(eqlite_reader_next(rd, &ev, &r), EQLITE_READ_EVENT, "%s", r.reason);
    std::string text(r.text, r.len);
    eqlite_reader_close(rd);
    eqlite_schema_free(schema);
    return text;
}

void expect_has(const std::string &text, const char *part) {
    cr_expect(text.find(part) != std::string::npos, "%s not in %s", part, text.c_str());
}

} // namespace

Test(sources, sysmon_registry_values_as_elastic_reads_them) {
    const char *key = R"("TargetObject":"HKLM\\SOFTWARE\\x\\v","Details":)";
    expect_has(sysmon_ecs("13", (std::string(key) + R"x("DWORD (0x0000000f)")x").c_str()),
               R"("data":{"strings":["15"],"type":"SZ_DWORD"})");
    // (high << 8) + low: the script's own arithmetic
    expect_has(sysmon_ecs("13", (std::string(key) + R"x("QWORD (0x00000001-0x00000002)")x").c_str()),
               R"("data":{"strings":["258"],"type":"SZ_QWORD"})");
    expect_has(sysmon_ecs("13", (std::string(key) + R"("Binary Data")").c_str()),
               R"("data":{"strings":["Binary Data"],"type":"REG_BINARY"})");
    expect_has(sysmon_ecs("13", (std::string(key) + R"x("DWORD (0x0f)")x").c_str()),
               R"x("data":{"strings":["DWORD (0x0f)"],"type":"REG_SZ"})x");
}

Test(sources, sysmon_dns_query_results_split_as_elastic_splits_them) {
    std::string text = sysmon_ecs("22", R"("QueryName":"f2.taboola.com","QueryResults":)"
                                        R"("type:  5 f2.taboola.map.fastly.net;::ffff:151.101.66.2;[::ffff:10.0.0.1]:53;2a04:4e42::396;junk;")");
    expect_has(text, R"("resolved_ip":["151.101.66.2","10.0.0.1","2a04:4e42::396"])");
    expect_has(text, R"("hosts":["f2.taboola.map.fastly.net","f2.taboola.com"])");
    expect_has(text, R"("ip":["151.101.66.2","10.0.0.1","2a04:4e42::396"])");
}

Test(sources, a_key_twice_anywhere_in_a_vendor_record_is_a_bad_record) {
    // the ingest json processor the vendor pipelines start with fails such a
    // record (allow_duplicate_keys false), whether its profile reads the key
    // or not; detection would read the first value and conversion the last
    std::string s1 = kSentinelOne;
    std::string unread = s1.substr(0, s1.size() - 1) + R"(,"z":1,"z":2})";
    std::string read = s1.substr(0, s1.size() - 1) + R"(,"tgt.process.name":"WerFault.exe"})";
    std::string dotted = s1.substr(0, s1.size() - 1) + R"(,"tgt":{"process":{"name":"cmd.exe"}}})";
    std::vector<std::string> got = converted("profile none\ndetect none exists\n", unread + "\n" + read + "\n" + dotted + "\n");
    cr_assert_eq(got.size(), 3);
    cr_expect_eq(got[0], "bad: duplicate field 'z' (Elasticsearch rejects the document)");
    cr_expect_eq(got[1], "bad: duplicate field 'tgt.process.name' (Elasticsearch rejects the document)");
    // a dotted key and the same path nested are two keys: not a duplicate
    cr_expect_eq(got[2].substr(0, got[2].find(':')), "sentinelone-cloud-funnel", "%s", got[2].c_str());
}

Test(sources, evtx_values_are_kept_as_winlogbeat_keeps_them) {
    // winlogbeat's AddPairs: of a name met twice the first value stays, an
    // empty value is left out, a value named "" or "Data" is param<N> by its
    // place; so the record's JSON has no key twice (which would fail it)
    std::string xml = "<Event><System><EventID>1</EventID><Channel>c</Channel></System><EventData>"
                      "<Data Name=\"Image\">first.exe</Data><Data Name=\"RuleName\"></Data>"
                      "<Data Name=\"Image\">second.exe</Data><Data>unnamed</Data><Data Name=\"\">empty name</Data>"
                      "<Binary>00FF</Binary></EventData></Event>";
    std::string json, reason;
    cr_assert(eqio::evtx_xml_to_json(xml, &json, &reason), "%s", reason.c_str());
    expect_has(json, R"("event_data":{"Image":"first.exe","param4":"unnamed","param5":"empty name","Binary":"00FF"})");
    xml = "<Event><System><EventID>2</EventID></System><UserData><W xmlns=\"x\"><A>1</A><A>2</A><B></B>"
          "<Data Name=\"C\">3</Data></W></UserData></Event>";
    cr_assert(eqio::evtx_xml_to_json(xml, &json, &reason), "%s", reason.c_str());
    expect_has(json, R"("user_data":{"A":"1","C":"3"})");
}

Test(sources, detection_reads_the_first_value_in_document_order) {
    // a detect path matches a dotted key or nested objects alike, and the
    // first value met wins (nested objects before the keys after them)
    const char *two = "profile one\ndetect a.b == one\nset out.p one\n"
                      "profile two\ndetect a.b == two\nset out.p two\n";
    std::vector<std::string> got = converted(two, "{\"a\":{\"b\":\"one\"}}\n"
                                                  "{\"a.b\":\"two\"}\n"
                                                  "{\"a.b\":\"two\",\"a\":{\"b\":\"one\"}}\n"
                                                  "{\"a\":{\"c\":1},\"a.b\":\"one\"}\n"
                                                  "{\"a\":{\"b\":\"two\"},\"a\":{\"b\":\"one\"}}\n"
                                                  "{\"a\":{\"b.x\":\"one\"}}\n"
                                                  "{\"\":{\"a.b\":\"one\"}}\n"
                                                  "{\"a\":[{\"b\":\"one\"}]}\n");
    std::vector<std::string> want = {
        "one: {\"out\":{\"p\":\"one\"}}", "two: {\"out\":{\"p\":\"two\"}}", "two: {\"out\":{\"p\":\"two\"}}",
        "one: {\"out\":{\"p\":\"one\"}}", "bad: duplicate field 'a' (Elasticsearch rejects the document)",
        "-: {\"a\":{\"b.x\":\"one\"}}",
        "-: {\"\":{\"a.b\":\"one\"}}",   "-: {\"a\":[{\"b\":\"one\"}]}"};
    cr_assert_eq(got.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) cr_expect_eq(got[i], want[i], "record %zu", i + 1);
}

Test(sources, detection_afresh_reads_the_first_value_in_document_order) {
    // the same records, each after one of no known shape, so that none is
    // tried first against the previous record's profile; then more root
    // keys on the way to a detect path than a record usually has
    const char *two = "profile one\ndetect a.b == one\nset out.p one\n"
                      "profile two\ndetect a.b == two\nset out.p two\n";
    const char *records[] = {"{\"a\":{\"b\":\"one\"}}", "{\"a.b\":\"two\"}", "{\"a.b\":\"two\",\"a\":{\"b\":\"one\"}}",
                             "{\"a\":{\"c\":1},\"a.b\":\"one\"}", "{\"a\":{\"b\":\"two\"},\"a\":{\"b\":\"one\"}}",
                             "{\"a\":{\"b.x\":\"one\"}}", "{\"\":{\"a.b\":\"one\"}}", "{\"a\":[{\"b\":\"one\"}]}"};
    const char *want[] = {"one", "two", "two", "one", "bad", "-", "-", "-"};
    std::string data;
    for (const char *r : records) data += std::string("{\"zz\":0}\n") + r + "\n";
    std::string many_keys, many_under_a;
    for (int i = 0; i < 40; i++) many_keys += "\"a" + std::to_string(i) + "\":{\"b\":\"one\"},";
    for (int i = 0; i < 40; i++) many_under_a += "\"a.b" + std::to_string(i) + "\":\"one\",";
    data += "{\"zz\":0}\n{" + many_keys + "\"a\":{\"b\":\"two\"},\"a.b\":\"one\"}\n";
    data += "{\"zz\":0}\n{" + many_under_a + "\"a.b\":null,\"x\":1,\"a\":{\"b\":\"one\"}}\n";
    std::vector<std::string> got = converted(two, data);
    cr_assert_eq(got.size(), 2 * (sizeof records / sizeof *records) + 4);
    for (size_t i = 0; i < sizeof records / sizeof *records; i++) {
        cr_expect_eq(got[2 * i], "-: {\"zz\":0}");
        cr_expect_eq(got[2 * i + 1].substr(0, got[2 * i + 1].find(':')), want[i], "record %zu: %s", i + 1, got[2 * i + 1].c_str());
    }
    size_t n = got.size();
    cr_expect_eq(got[n - 3].substr(0, got[n - 3].find(':')), "two", "the first a.b, past 40 keys like it");
    cr_expect_eq(got[n - 1].substr(0, got[n - 1].find(':')), "-", "the first a.b is null: %s", got[n - 1].c_str());
}

Test(sources, a_key_met_again_reads_the_path_it_is_under) {
    // the same key under different objects, spelled dotted or nested, in
    // changing orders from record to record
    const char *acme = "profile acme\ndetect kind exists\ncopy a.x out.a\ncopy b.x out.b\n";
    std::vector<std::string> got = converted(acme, "{\"kind\":1,\"a\":{\"x\":\"1\"},\"b\":{\"x\":\"2\"}}\n"
                                                   "{\"kind\":1,\"b\":{\"x\":\"3\"},\"a.x\":\"4\"}\n"
                                                   "{\"kind\":1,\"b.x\":\"5\",\"a\":{\"x\":{\"y\":\"6\"}}}\n"
                                                   "{\"x\":\"7\",\"kind\":1,\"a\":{\"x\":\"8\"}}\n");
    std::vector<std::string> want = {"acme: {\"out\":{\"a\":\"1\",\"b\":\"2\"}}", "acme: {\"out\":{\"a\":\"4\",\"b\":\"3\"}}",
                                     "acme: {\"out\":{\"a\":{\"y\":\"6\"},\"b\":\"5\"}}", "acme: {\"out\":{\"a\":\"8\"}}"};
    cr_assert_eq(got.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) cr_expect_eq(got[i], want[i], "record %zu", i + 1);
}

Test(sources, int_and_time_read_json_numbers_as_their_text) {
    // a JSON integer is read as the text it is written as: the same result
    // as that text in a string, and numbers no int64 holds give nothing
    const char *acme = "profile acme\ndetect kind exists\nint v out.i\ntime t out.t epoch_millis||strict_date_optional_time\n";
    std::vector<std::string> got = converted(acme, "{\"kind\":1,\"v\":4720,\"t\":1664811149470}\n"
                                                   "{\"kind\":1,\"v\":\"0042\",\"t\":\"1664811149470\"}\n"
                                                   "{\"kind\":1,\"v\":-7,\"t\":-1}\n"
                                                   "{\"kind\":1,\"v\":\"0x1F\",\"t\":[1664811149470,2]}\n"
                                                   "{\"kind\":1,\"v\":1.5,\"t\":\"2022-10-03T15:32:29.47Z\"}\n"
                                                   "{\"kind\":1,\"v\":9223372036854775808,\"t\":0}\n");
    std::vector<std::string> want = {"acme: {\"out\":{\"i\":4720,\"t\":\"2022-10-03T15:32:29.470Z\"}}",
                                     "acme: {\"out\":{\"i\":42,\"t\":\"2022-10-03T15:32:29.470Z\"}}",
                                     "acme: {\"out\":{\"i\":-7,\"t\":\"1969-12-31T23:59:59.999Z\"}}",
                                     "acme: {\"out\":{\"i\":31,\"t\":\"2022-10-03T15:32:29.470Z\"}}",
                                     "acme: {\"out\":{\"t\":\"2022-10-03T15:32:29.470Z\"}}",
                                     "acme: {\"out\":{\"t\":\"1970-01-01T00:00:00.000Z\"}}"};
    cr_assert_eq(got.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) cr_expect_eq(got[i], want[i], "record %zu: %s", i + 1, got[i].c_str());
}

Test(sources, each_json_value_kind_is_copied_and_tested_as_written) {
    // the walk keeps scalars as it meets them; copies, str and conditions
    // read them so: strings, booleans, null, integers past int64, doubles,
    // lists, objects, escapes and values inside lists (a key twice is a bad record)
    const char *acme = "profile acme\ndetect kind exists\ncopy v out.copied\nstr v out.str\n"
                       "when v == x\n  set out.is_x yes\nend\nwhen v exists\n  set out.present yes\nend\n"
                       "when v contains 1\n  set out.has_1 yes\nend\n"
                       "copy w.v out.listed\nwhen w.v == x\n  set out.listed_x yes\nend\n";
    std::vector<std::string> got = converted(acme, "{\"kind\":1,\"v\":\"x\"}\n"
                                                   "{\"kind\":1,\"v\":\"\"}\n"
                                                   "{\"kind\":1,\"v\":true}\n"
                                                   "{\"kind\":1,\"v\":false}\n"
                                                   "{\"kind\":1,\"v\":null}\n"
                                                   "{\"kind\":1,\"v\":-12}\n"
                                                   "{\"kind\":1,\"v\":18446744073709551615}\n"
                                                   "{\"kind\":1,\"v\":2.5e3}\n"
                                                   "{\"kind\":1,\"v\":[1,\"a\",null,true]}\n"
                                                   "{\"kind\":1,\"v\":{\"a\":1}}\n"
                                                   "{\"kind\":1,\"v\":\"a\\\"1\\\\\"}\n"
                                                   "{\"kind\":1,\"v\":\"first\",\"v\":\"second\"}\n"
                                                   "{\"kind\":1,\"w\":[{\"v\":\"in a list\"},{\"v\":\"x\"}]}\n");
    std::vector<std::string> want = {
        "acme: {\"out\":{\"copied\":\"x\",\"is_x\":\"yes\",\"present\":\"yes\",\"str\":\"x\"}}",
        "acme: {}",
        "acme: {\"out\":{\"copied\":true,\"present\":\"yes\",\"str\":\"true\"}}",
        "acme: {\"out\":{\"copied\":false,\"present\":\"yes\",\"str\":\"false\"}}",
        "acme: {}",
        "acme: {\"out\":{\"copied\":-12,\"has_1\":\"yes\",\"present\":\"yes\",\"str\":\"-12\"}}",
        "acme: {\"out\":{\"copied\":18446744073709551615,\"has_1\":\"yes\",\"present\":\"yes\",\"str\":\"18446744073709551615\"}}",
        "acme: {\"out\":{\"copied\":2500.0,\"present\":\"yes\",\"str\":\"2500.0\"}}",
        "acme: {\"out\":{\"copied\":[1,\"a\",true],\"has_1\":\"yes\",\"present\":\"yes\",\"str\":[\"1\",\"a\",\"true\"]}}",
        "acme: {\"out\":{\"copied\":{\"a\":1}}}",
        "acme: {\"out\":{\"copied\":\"a\\\"1\\\\\",\"has_1\":\"yes\",\"present\":\"yes\",\"str\":\"a\\\"1\\\\\"}}",
        "bad: duplicate field 'v' (Elasticsearch rejects the document)",
        "acme: {\"out\":{\"listed\":[\"in a list\",\"x\"],\"listed_x\":\"yes\"}}"};
    cr_assert_eq(got.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) cr_expect_eq(got[i], want[i], "record %zu: %s", i + 1, got[i].c_str());
}

Test(sources, long_values_made_while_converting_stay_whole) {
    // tens of kilobytes of arguments and lowercased text in one record, a
    // small record, then the long one again
    const char *acme = "profile acme\ndetect kind exists\nargs cmd process.args\nlower cmd low\n";
    std::string cmd, low;
    for (int i = 0; i < 3000; i++) {
        char arg[16];
        std::snprintf(arg, sizeof arg, "%sARG%04d", i ? " " : "", i);
        cmd += arg;
    }
    for (char c : cmd) low += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    std::string big = "{\"kind\":1,\"cmd\":\"" + cmd + "\"}\n";
    std::vector<std::string> got = converted(acme, big + "{\"kind\":1,\"cmd\":\"A b\"}\n" + big);
    cr_assert_eq(got.size(), 3u);
    for (size_t i : {0u, 2u}) {
        cr_expect(got[i].find("\"args\":[\"ARG0000\",\"ARG0001\",") != std::string::npos, "record %zu", i + 1);
        cr_expect(got[i].find(",\"ARG2998\",\"ARG2999\"],\"args_count\":3000") != std::string::npos, "record %zu", i + 1);
        cr_expect(got[i].find("\"low\":\"" + low + "\"") != std::string::npos, "record %zu", i + 1);
    }
    cr_expect_eq(got[1], "acme: {\"low\":\"a b\",\"process\":{\"args\":[\"A\",\"b\"],\"args_count\":2}}");
}

namespace {

// A value as text, to keep it past the record it came from.
std::string rendered(const eqlite_value &v) {
    char num[64];
    switch (v.kind) {
    case EQLITE_STRING: return "s:" + std::string(v.u.s, v.len);
    case EQLITE_INT: std::snprintf(num, sizeof num, "i:%lld", (long long)v.u.i); return num;
    case EQLITE_DOUBLE: std::snprintf(num, sizeof num, "d:%.17g", v.u.d); return num;
    case EQLITE_BOOL: return v.u.b ? "b:1" : "b:0";
    case EQLITE_ARRAY: {
        std::string out = "[";
        for (uint32_t i = 0; i < v.len; i++) out += rendered(v.u.a[i]) + ",";
        return out + "]";
    }
    default: return "null";
    }
}

struct ReadAll {
    std::vector<int> kinds;                // per record: EVENT or BAD
    std::vector<std::vector<std::string>> values; // per record, per field id
    std::vector<std::string> texts, sources;
};

// `data` read through its profiles, projecting `fields` (all of the schema
// when empty); lazy text, asked for on every record.
ReadAll read_all(eqlite_schema *schema, const std::string &data, const std::vector<uint32_t> &fields) {
    eqlite_reader_options o{};
    o.schema = schema;
    o.timestamp_field = "";
    o.lazy_text = 1;
    o.fields = fields.empty() ? nullptr : fields.data();
    o.nfields = fields.size();
    eqlite_reader *rd = nullptr;
    cr_assert_eq(eqlite_reader_open_memory(data.data(), data.size(), &o, &rd, nullptr, 0), EQLITE_OK);
    ReadAll all;
    eqlite_event ev;
    eqlite_record rec;
    for (int k; (k = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF;) {
        all.kinds.push_back(k);
        all.values.emplace_back();
        all.sources.push_back(rec.source ? rec.source : "");
        if (k != EQLITE_READ_EVENT) {
            all.texts.emplace_back(rec.text ? std::string(rec.text, rec.len) : "");
            continue;
        }
        for (size_t i = 0; i < ev.nfields; i++) all.values.back().push_back(rendered(ev.fields[i]));
        const char *text = nullptr;
        size_t len = 0;
        cr_assert_eq(eqlite_reader_text(rd, &text, &len), EQLITE_OK);
        all.texts.emplace_back(text, len);
    }
    eqlite_reader_close(rd);
    return all;
}

} // namespace

namespace {

// Each field of the events of `data` read alone, against every field read.
// Returns the fields compared.
size_t expect_each_field_alone_as_with_every_field(const std::string &data) {
    eqlite_schema *schema = nullptr;
    cr_assert_eq(eqlite_schema_new(nullptr, &schema), EQLITE_OK);
    cr_assert_eq(eqlite_schema_load_ecs(schema), EQLITE_OK);
    ReadAll every = read_all(schema, data, {});
    std::vector<uint32_t> present;
    for (uint32_t id = 0; id < eqlite_schema_field_count(schema); id++)
        for (const auto &rec : every.values)
            if (id < rec.size() && rec[id] != "null") {
                present.push_back(id);
                break;
            }
    for (uint32_t id : present) {
        ReadAll alone = read_all(schema, data, {id});
        const char *name = eqlite_schema_field_name(schema, id, nullptr);
        cr_assert_eq(alone.kinds.size(), every.kinds.size());
        for (size_t r = 0; r < every.kinds.size(); r++) {
            if (alone.kinds[r] != EQLITE_READ_EVENT) { // bad alone: bad with every field too
                cr_expect_neq(every.kinds[r], EQLITE_READ_EVENT, "%s, record %zu", name, r + 1);
                continue;
            }
            cr_expect_eq(alone.texts[r], every.texts[r], "%s, record %zu", name, r + 1);
            if (every.kinds[r] != EQLITE_READ_EVENT) continue; // another field failed it
            std::string want = id < every.values[r].size() ? every.values[r][id] : "null";
            std::string got = id < alone.values[r].size() ? alone.values[r][id] : "null";
            cr_expect_eq(got, want, "%s, record %zu", name, r + 1);
        }
    }
    eqlite_schema_free(schema);
    return present.size();
}

} // namespace

Test(sources, a_field_read_alone_holds_what_reading_every_field_gives) {
    // a reader projecting a few fields runs only the operations they need;
    // each field read alone must hold what it holds when every field is
    // read, and the record's text must be the whole document all the same
    std::string data = std::string(kSysmon) + "\n" + kDefender + "\n" + kSentinelOne + "\n" + kDefend + "\n";
    const char *files[] = {
        "integrations/packages/sentinel_one_cloud_funnel/data_stream/event/_dev/test/pipeline/test-process.log",
        "integrations/packages/m365_defender/data_stream/event/_dev/test/pipeline/test-device.log.derived-28.log",
        "beats/x-pack/winlogbeat/module/sysmon/test/testdata/collection/sysmon-12-processcreate.evtx.golden.json",
    };
    for (const char *f : files) data += shared_file(f) + "\n";
    cr_expect_gt(expect_each_field_alone_as_with_every_field(data), 80u, "the samples give many fields");
    // every Sysmon event type of the beats test file, as EVTX
    std::string evtx = shared_file("beats/x-pack/winlogbeat/module/sysmon/test/testdata/sysmon-9.01.evtx");
    if (!evtx.empty()) cr_expect_gt(expect_each_field_alone_as_with_every_field(evtx), 30u);
}

Test(sources, a_record_of_another_shape_after_a_run_is_detected_afresh) {
    // --source auto tries the previous record's profile first: records that
    // switch shapes get the profile each gets when read alone
    std::string s1_not_named = kSentinelOne;
    s1_not_named.replace(s1_not_named.find("meta.event.name"), 15, "meta.event.nome");
    std::vector<std::string> records = {kSentinelOne, kSentinelOne, s1_not_named, kSentinelOne, kDefender,
                                        kDefender,    kDefend,      kSysmon,      "{\"unknown\":1}", kSysmon,
                                        kSentinelOne, kDefender};
    std::string data;
    for (const auto &r : records) data += r + "\n";
    eqlite_schema *schema = nullptr;
    cr_assert_eq(eqlite_schema_new(nullptr, &schema), EQLITE_OK);
    cr_assert_eq(eqlite_schema_load_ecs(schema), EQLITE_OK);
    ReadAll together = read_all(schema, data, {});
    cr_assert_eq(together.sources.size(), records.size());
    std::vector<std::string> want = {"sentinelone-cloud-funnel", "sentinelone-cloud-funnel", "ecs", "sentinelone-cloud-funnel",
                                     "m365-defender", "m365-defender", "ecs", "windows", "", "windows",
                                     "sentinelone-cloud-funnel", "m365-defender"};
    for (size_t i = 0; i < records.size(); i++) {
        ReadAll alone = read_all(schema, records[i] + "\n", {});
        cr_assert_eq(alone.sources.size(), 1u);
        cr_expect_eq(together.sources[i], alone.sources[0], "record %zu", i + 1);
        cr_expect_eq(together.sources[i], want[i], "record %zu", i + 1);
        cr_expect_eq(together.texts[i], alone.texts[0], "record %zu", i + 1);
        cr_expect_eq(together.values[i], alone.values[0], "record %zu", i + 1);
    }
    eqlite_schema_free(schema);
}

Test(sources, a_copied_object_takes_every_field_under_it_and_a_delete_drops_a_branch) {
    // as Elastic's "rename process to process.parent": the fields written
    // under p so far, to the same paths under q; then q's own parent removed
    const char *mine = "profile acme\ndetect acme.kind exists\ncopy acme.a p.name\ncopy acme.b p.parent.name\n"
                       "int acme.n p.pid\ncopy $p q\ndelete $q.parent\n";
    std::string data = R"({"acme":{"kind":"x","a":"A","b":"B","n":7}})" "\n" R"({"acme":{"kind":"x","b":"B"}})" "\n";
    std::vector<std::string> want = {R"(acme: {"p":{"name":"A","parent":{"name":"B"},"pid":7},"q":{"name":"A","pid":7}})",
                                     R"(acme: {"p":{"parent":{"name":"B"}}})"};
    cr_expect_eq(converted(mine, data), want);
}

Test(sources, a_when_holds_when_one_alternative_holds_all_its_conditions) {
    // "or" between groups of "and": each group tested alone, in order
    const char *mine = "profile acme\ndetect acme.kind exists\ncopy acme.v out.v\n"
                       "when acme.a == 1 and acme.b == 2 or acme.c in [x y] and $out.v exists or acme.d contains mid\n"
                       "  set r.hit yes\nelse\n  set r.hit no\nend\n";
    std::string data = R"({"acme":{"kind":"k","a":"1","b":"2"}})" "\n"
                       R"({"acme":{"kind":"k","a":"1","b":"3","c":"y","v":"V"}})" "\n"
                       R"({"acme":{"kind":"k","a":"1","b":"3","c":"x"}})" "\n"
                       R"({"acme":{"kind":"k","c":"z","v":"V"}})" "\n"
                       R"({"acme":{"kind":"k","a":"2","d":"amidst"}})" "\n";
    std::vector<std::string> want = {R"(acme: {"r":{"hit":"yes"}})", R"(acme: {"out":{"v":"V"},"r":{"hit":"yes"}})",
                                     R"(acme: {"r":{"hit":"no"}})", R"(acme: {"out":{"v":"V"},"r":{"hit":"no"}})",
                                     R"(acme: {"r":{"hit":"yes"}})"};
    cr_expect_eq(converted(mine, data), want);
}
