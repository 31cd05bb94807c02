// profile_plan.cpp: which of a profile's operations a reader needs, given the
// fields it projects. A rule reads a handful of fields; the rest of the ECS
// document (hashes, related.*, titles...) is made only when its text is asked.
//
// An op is kept when it writes or removes a path related to a wanted one
// (equal, or one a dotted prefix of the other: a field above a wanted one
// can shadow it, one below it makes it an object). A kept op's own reads are
// then wanted too, until nothing changes. Order is ignored, so a plan may
// keep more than it needs, never less.

#include "io/profile_internal.h"

namespace profile_internal {

namespace {

// Equal, or one a dotted prefix of the other.
bool related(std::string_view a, std::string_view b) {
    size_t n = std::min(a.size(), b.size());
    if (a.compare(0, n, b.substr(0, n)) != 0) return false;
    return a.size() == b.size() || (a.size() > n ? a[n] : b[n]) == '.';
}

bool any_related(const std::vector<std::string> &names, std::string_view path) {
    for (const std::string &n : names)
        if (related(n, path)) return true;
    return false;
}

struct Planner {
    std::vector<std::string> out, in; // wanted document paths, record paths read by kept ops
    std::vector<uint8_t> &keep;
    bool changed = false;

    static void add(std::vector<std::string> &names, std::string_view path, bool *changed) {
        if (std::find(names.begin(), names.end(), path) != names.end()) return;
        names.emplace_back(path);
        *changed = true;
    }

    void take_reads(const Op &op) {
        for (const std::string &r : op.reads_out) add(out, r, &changed);
        for (const std::string &r : op.reads_in) add(in, r, &changed);
    }

    // copy $SRC DST reads under SRC what is wanted under DST.
    void alias(const Op &op) {
        const std::string &src = op.src.path, &dst = op.dst;
        for (size_t i = 0; i < out.size(); i++) { // `out` grows in the loop
            std::string q = out[i];
            if (q.size() >= dst.size() && related(q, dst)) add(out, src + q.substr(dst.size()), &changed);
            else if (related(q, dst)) add(out, src, &changed); // q lies above DST: all of SRC
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
                if (!k && any_related(in, op.src.path)) k = true, changed = true, take_reads(op);
            } else if (!k) {
                for (const std::string &w : op.writes)
                    if (any_related(out, w)) {
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

} // namespace

void number_ops(Profile &p) {
    p.nops = 0;
    number(p, p.ops);
}

const std::vector<uint8_t> &plan_for(const Profile &p, size_t index, ConvertScratch *s) {
    fit(s->plans, index + 1);
    std::vector<uint8_t> &keep = s->plans[index];
    if (keep.size() == p.nops + 1) return keep;
    keep.assign(p.nops + 1, 0); // (one more: never empty once made)
    Planner pl{s->wanted, {}, keep};
    do {
        pl.changed = false;
        pl.visit(p.ops);
    } while (pl.changed);
    // keep[nops]: run every op. A plan that skips little is not worth making
    // the rest later (a bad record's message shows its whole document).
    size_t kept = static_cast<size_t>(std::count(keep.begin(), keep.end() - 1, 1));
    keep[p.nops] = kept * 4 >= static_cast<size_t>(p.nops) * 3;
    return keep;
}

} // namespace profile_internal
