// profile_plan.cpp: which of a profile's operations a reader needs, given the
// fields it projects. A rule reads a handful of fields; the rest of the ECS
// document (hashes, related.*, titles...) is made only when its text is asked.
//
// An op is kept when it writes or removes a path related to a wanted one
// (equal, or one a dotted prefix of the other: a field above a wanted one
// can shadow it, one below it makes it an object). A kept op's own reads are
// then wanted too, until nothing changes. Order is ignored, so a plan may
// keep more than it needs, never less.

#include "io/fork_locks.h"
#include "io/profile_internal.h"

#include <deque>
#include <mutex>
#include <unordered_set>

namespace profile_internal {

namespace {

// A set of paths that answers "is any member equal to, above or below this
// path?" in a few hash lookups. A reader's schema can want every ECS field
// (about two thousand): comparing each op's writes with each of them cost
// ~4 ms per reader opened.
struct PathSet {
    std::deque<std::string> owned;                   // paths added by the plan itself
    std::vector<std::string_view> list;              // members in the order added
    std::unordered_set<std::string_view> members;
    std::unordered_set<std::string_view> ancestors;  // every dotted proper prefix of a member

    // `path` must outlive the set unless `copy`.
    bool add(std::string_view path, bool copy) {
        if (members.count(path)) return false;
        if (copy) path = owned.emplace_back(path);
        members.insert(path);
        list.push_back(path);
        for (size_t dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.', dot + 1))
            ancestors.insert(path.substr(0, dot));
        return true;
    }

    bool has_at_or_above(std::string_view path) const {
        if (members.count(path)) return true;
        for (size_t dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.', dot + 1))
            if (members.count(path.substr(0, dot))) return true;
        return false;
    }

    // Equal to a member, or one a dotted prefix of the other.
    bool related(std::string_view path) const { return ancestors.count(path) || has_at_or_above(path); }
};

struct Planner {
    PathSet out, in; // wanted document paths, record paths read by kept ops
    std::vector<uint8_t> &keep;
    bool changed = false;

    void add(PathSet &set, std::string_view path) { changed = set.add(path, true) || changed; }

    void take_reads(const Op &op) {
        for (const std::string &r : op.reads_out) add(out, r);
        for (const std::string &r : op.reads_in) add(in, r);
    }

    // copy $SRC DST reads under SRC what is wanted under DST.
    void alias(const Op &op) {
        const std::string &src = op.src.path, &dst = op.dst;
        if (out.has_at_or_above(dst)) add(out, src); // all of SRC
        if (!out.ancestors.count(dst)) return;        // nothing wanted below DST
        for (size_t i = 0; i < out.list.size(); i++) { // `list` grows in the loop
            std::string_view q = out.list[i];
            if (q.size() > dst.size() && q[dst.size()] == '.' && q.compare(0, dst.size(), dst) == 0)
                add(out, src + std::string(q.substr(dst.size())));
        }
    }

    // Returns whether any op of the list is kept.
    bool visit(const std::vector<Op> &ops) {
        bool any = false;
        for (const Op &op : ops) {
            bool &k = reinterpret_cast<bool &>(keep[op.index]);
            if (op.kind == OpKind::When) {
                bool kids = visit(op.then);
                kids = visit(op.otherwise) || kids;
                if (kids && !k) k = true, changed = true, take_reads(op);
            } else if (op.kind == OpKind::Json) {
                // it makes record paths under its source readable
                if (!k && in.related(op.src.path)) k = true, changed = true, take_reads(op);
            } else if (!k) {
                for (const std::string &w : op.writes)
                    if (out.related(w)) {
                        k = true, changed = true, take_reads(op);
                        break;
                    }
            }
            if (k && op.kind == OpKind::Copy && op.src.out) alias(op);
            any = any || k;
        }
        return any;
    }
};

void number(Profile &p, std::vector<Op> &ops) {
    for (Op &op : ops) {
        op.index = p.nops++;
        auto read = [&](const Ref &r) { (r.out ? op.reads_out : op.reads_in).push_back(r.path); };
        for (auto &alt : op.when)
            for (Cond &c : alt) read(c.ref);
        if (!op.src.path.empty() && !(op.kind == OpKind::Copy && op.src.out)) read(op.src); // copy $: by alias
        switch (op.kind) {
        case OpKind::User:
        case OpKind::RegData:
        case OpKind::DnsResults: op.writes = {op.words[0], op.words[1]}; break;
        case OpKind::Args:
        case OpKind::Words: op.writes = {op.dst, op.dst + "_count"}; break;
        case OpKind::Lookup:
            for (const auto &row : p.tables[op.table].rows)
                for (const Assign &a : row.second) op.writes.push_back(a.field);
            break;
        case OpKind::Rename:
            op.writes = {op.dst};
            if (op.src.out) op.writes.push_back(op.src.path); // removed
            break;
        case OpKind::Json:
        case OpKind::When: break;
        default: op.writes = {op.dst}; break; // Delete and Clean: the prefix they remove
        }
        number(p, op.then);
        number(p, op.otherwise);
    }
}

// Plans made, by profile serial and wanted paths: readers opened one after
// another with the same schema (a file each) plan once. A few; oldest out.
struct PlanCache {
    struct Entry {
        uint64_t serial;
        std::vector<std::string> wanted;
        std::vector<uint8_t> keep;
    };
    static constexpr size_t kEntries = 16;
    std::mutex lock;
    std::deque<Entry> entries; // newest last
};

PlanCache &plan_cache() {
    static PlanCache *cache = new PlanCache; // never destroyed: readers on other threads may outlive exit()
    return *cache;
}

[[maybe_unused]] const bool plan_lock_kept = (eqio::lock_across_fork(&plan_cache().lock), true);

} // namespace

void number_ops(Profile &p) {
    p.nops = 0;
    number(p, p.ops);
}

const std::vector<uint8_t> &plan_for(const Profile &p, size_t index, ConvertScratch *s) {
    fit(s->plans, index + 1);
    std::vector<uint8_t> &keep = s->plans[index];
    if (keep.size() == p.nops + 1) return keep;
    PlanCache &cache = plan_cache();
    {
        std::lock_guard<std::mutex> hold(cache.lock);
        for (const PlanCache::Entry &e : cache.entries)
            if (e.serial == p.serial && e.wanted == s->wanted) return keep = e.keep;
    }
    keep.assign(p.nops + 1, 0); // (one more: never empty once made)
    Planner pl{{}, {}, keep};
    for (const std::string &w : s->wanted) pl.out.add(w, false); // s->wanted outlives the planner
    do {
        pl.changed = false;
        pl.visit(p.ops);
    } while (pl.changed);
    // keep[nops]: run every op. A plan that skips little is not worth making
    // the rest later (a bad record's message shows its whole document).
    size_t kept = static_cast<size_t>(std::count(keep.begin(), keep.end() - 1, 1));
    keep[p.nops] = kept * 4 >= static_cast<size_t>(p.nops) * 3;
    std::lock_guard<std::mutex> hold(cache.lock);
    cache.entries.push_back({p.serial, s->wanted, keep});
    if (cache.entries.size() > PlanCache::kEntries) cache.entries.pop_front();
    return keep;
}

} // namespace profile_internal
