// profile_compile.cpp: compiles a parsed profile into its plan: a number per path.

#include "io/profile_internal.h"

namespace profile_internal {

// ---- compiling a profile ------------------------------------------------------------
// Every path a profile names gets a number once, so that running it on a
// record indexes arrays instead of hashing strings.

uint32_t in_kid(const std::vector<InNode> &nodes, uint32_t node, std::string_view seg) {
    for (const auto &k : nodes[node].kids)
        if (k.first == seg) return k.second;
    return kNone;
}

// The node of a dotted path in a trie whose nodes[0] is the root, made as needed.
uint32_t in_node(std::vector<InNode> &nodes, std::string_view path) {
    uint32_t node = 0;
    for (size_t at = 0;;) {
        size_t dot = path.find('.', at);
        std::string_view seg = path.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at);
        uint32_t kid = in_kid(nodes, node, seg);
        if (kid == kNone) {
            kid = static_cast<uint32_t>(nodes.size());
            nodes.emplace_back();
            nodes.back().path.assign(path.substr(0, dot == std::string_view::npos ? path.size() : dot));
            nodes[node].kids.emplace_back(std::string(seg), kid);
        }
        node = kid;
        if (dot == std::string_view::npos) return node;
        at = dot + 1;
    }
}

uint32_t in_id(Profile &p, std::string_view path) {
    InNode &n = p.in_nodes[in_node(p.in_nodes, path)];
    if (n.id < 0) {
        n.id = static_cast<int32_t>(p.in_node_of.size());
        p.in_node_of.push_back(static_cast<uint32_t>(&n - p.in_nodes.data()));
    }
    return static_cast<uint32_t>(n.id);
}

uint32_t out_id(Profile &p, const std::string &path) {
    auto ins = p.out_ids.emplace(path, static_cast<uint32_t>(p.out_paths.size()));
    if (ins.second) p.out_paths.push_back(path);
    return ins.first->second;
}

void compile_ref(Profile &p, Ref &r) { r.id = r.out ? out_id(p, r.path) : in_id(p, r.path); }

// A `when`'s alternatives into the profile's flat conditions.
void flatten_when(Profile &p, Op &op) {
    op.conds_at = static_cast<uint32_t>(p.conds.size());
    for (const auto &alt : op.when) {
        for (const Cond &c : alt) {
            FlatCond f;
            f.id = c.ref.id;
            f.out = c.ref.out;
            f.op = c.op;
            f.values_at = static_cast<uint32_t>(p.cond_values.size());
            f.nvalues = static_cast<uint32_t>(c.values.size());
            for (const std::string &v : c.values) p.cond_values.push_back(p.constants.keep(v));
            p.conds.push_back(f);
        }
        p.conds.back().ends_and = true; // an alternative holds one condition at least (read_conds)
    }
    op.nconds = static_cast<uint32_t>(p.conds.size()) - op.conds_at;
}

void compile_ops(Profile &p, std::vector<Op> &ops) {
    for (Op &op : ops) {
        for (auto &alt : op.when)
            for (Cond &c : alt) compile_ref(p, c.ref);
        if (op.kind == OpKind::When) flatten_when(p, op);
        if (!op.src.path.empty()) compile_ref(p, op.src);
        switch (op.kind) {
        case OpKind::User:
        case OpKind::RegData:
        case OpKind::DnsResults:
            op.word_ids = {out_id(p, op.words[0]), out_id(p, op.words[1])};
            break;
        case OpKind::Args:
        case OpKind::Words:
            op.dst_id = out_id(p, op.dst);
            op.count_id = out_id(p, op.dst + "_count");
            break;
        case OpKind::Time:
            for (const std::string &w : op.words) op.format += (op.format.empty() ? "" : " ") + w;
            {
                std::string_view first = std::string_view(op.format).substr(0, op.format.find("||"));
                while (!first.empty() && first.front() == ' ') first.remove_prefix(1); // as parse_one_format trims
                while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
                op.epoch_millis_first = first == "epoch_millis";
            }
            op.dst_id = out_id(p, op.dst);
            break;
        case OpKind::Copy:
            if (!op.src.out) p.in_nodes[p.in_node_of[op.src.id]].collect = true;
            op.dst_id = out_id(p, op.dst);
            break;
        case OpKind::Lookup:
        case OpKind::Hashes:
        case OpKind::Json:
        case OpKind::Delete:
        case OpKind::Clean:
        case OpKind::When:
            break; // fields named by the table, made at run time, or prefixes
        default:
            op.dst_id = out_id(p, op.dst);
            break;
        }
        compile_ops(p, op.then);
        compile_ops(p, op.otherwise);
    }
}

// Copies out of the document get their targets numbered once: the fields
// the profile names under the source (fields made at run time are still
// found by their paths).
void map_out_copies(Profile &p, std::vector<Op> &ops) {
    for (Op &op : ops) {
        if (op.kind == OpKind::Copy && op.src.out) {
            size_t known = p.out_paths.size();
            op.out_map.assign(known, kNone);
            const std::string &from = op.src.path;
            for (size_t id = 0; id < known; id++) {
                const std::string &path = p.out_paths[id];
                if (path.size() > from.size() && path.compare(0, from.size(), from) == 0 && path[from.size()] == '.')
                    op.out_map[id] = out_id(p, op.dst + path.substr(from.size()));
            }
        }
        map_out_copies(p, op.then);
        map_out_copies(p, op.otherwise);
    }
}

// The profile's fields under what a delete or clean removes, found once.
void map_removals(Profile &p, std::vector<Op> &ops) {
    for (Op &op : ops) {
        if (op.kind == OpKind::Delete || op.kind == OpKind::Clean) {
            op.under.assign(p.out_paths.size(), 0);
            for (size_t id = 0; id < p.out_paths.size(); id++) {
                const std::string &path = p.out_paths[id];
                if (path == op.dst) op.under[id] = 2;
                else if (path.size() > op.dst.size() && path.compare(0, op.dst.size(), op.dst) == 0 &&
                         path[op.dst.size()] == '.')
                    op.under[id] = 1;
            }
        }
        map_removals(p, op.then);
        map_removals(p, op.otherwise);
    }
}

void mark_under_collect(Profile &p, uint32_t node, bool above) {
    InNode &n = p.in_nodes[node];
    n.under_collect = above || n.collect;
    for (const auto &k : n.kids) mark_under_collect(p, k.second, p.in_nodes[node].under_collect);
}

// The trie packed for the walk.
void pack_walk(const std::vector<InNode> &nodes, WalkTrie *out) {
    WalkTrie &w = *out;
    w = WalkTrie{};
    for (const InNode &n : nodes) {
        WalkNode wn;
        wn.first = static_cast<uint32_t>(w.edges.size());
        wn.count = static_cast<uint32_t>(n.kids.size());
        wn.id = n.id;
        wn.detect = n.detect;
        wn.collect = n.collect;
        for (const auto &kid : n.kids) {
            InEdge e{};
            size_t len = kid.first.size();
            std::memcpy(&e.head, kid.first.data(), len < 8 ? len : 8);
            e.len = static_cast<uint32_t>(len);
            e.child = kid.second;
            e.tail = static_cast<uint32_t>(w.bytes.size());
            if (len > 8) w.bytes.append(kid.first, 8, std::string::npos);
            w.edges.push_back(e);
        }
        if (wn.count > 4) {
            wn.table = static_cast<uint32_t>(w.table.size());
            wn.table_size = 8;
            while (wn.table_size < wn.count * 2) wn.table_size *= 2;
            w.table.resize(w.table.size() + wn.table_size, 0);
            for (uint32_t e = wn.first; e < wn.first + wn.count; e++) {
                size_t h = edge_hash(w.edges[e].head, wn.table_size);
                while (w.table[wn.table + h]) h = (h + 1) & (wn.table_size - 1);
                w.table[wn.table + h] = e + 1;
            }
        }
        w.nodes.push_back(wn);
    }
}

uint64_t next_serial() {
    static std::atomic<uint64_t> serials{0};
    return ++serials;
}

void compile_profile(Profile &p) {
    p.serial = next_serial();
    p.in_nodes.assign(1, InNode{});
    p.conds.clear();
    p.cond_values.clear();
    for (Table &t : p.tables)
        for (auto &row : t.rows)
            for (Assign &a : row.second) a.id = out_id(p, a.field);
    compile_ops(p, p.ops);
    map_out_copies(p, p.ops);
    map_removals(p, p.ops);
    number_ops(p);
    make_heads(p.ops, &p.heads);
    mark_under_collect(p, 0, false);
    pack_walk(p.in_nodes, &p.walk);
    p.out_ancestors.assign(p.out_paths.size(), {});
    for (size_t i = 0; i < p.out_paths.size(); i++) {
        const std::string &path = p.out_paths[i];
        for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1)) {
            p.out_prefixes.insert(path.substr(0, dot));
            auto it = p.out_ids.find(path.substr(0, dot));
            if (it != p.out_ids.end()) p.out_ancestors[i].push_back(it->second);
        }
    }
}

// Ops that read one path of the record and do nothing when it is absent
// (get() gives nothing for it) name that path in their head.
void make_heads(std::vector<Op> &ops, std::vector<OpHead> *heads) {
    heads->clear();
    for (Op &op : ops) {
        OpHead h{op.index, kNone, kNone, false};
        bool reads_record = !op.src.out && !op.src.path.empty();
        switch (op.kind) {
        case OpKind::Set:
        case OpKind::Delete:
        case OpKind::Clean:
        case OpKind::When: break;
        case OpKind::Copy: // an object's leaves are copied from the collected ones
            if (reads_record) h.needs = op.src.id, h.copy_to = op.dst_id, h.collected = true;
            break;
        default:
            if (reads_record) h.needs = op.src.id;
            break;
        }
        heads->push_back(h);
        make_heads(op.then, &op.then_heads);
        make_heads(op.otherwise, &op.otherwise_heads);
    }
}

void compile_detection(eq_profiles *p) {
    p->detect_nodes.assign(1, InNode{});
    p->ndetect = 0;
    p->detect_roots.clear();
    for (Profile &pr : p->list)
        for (auto &line : pr.detect)
            for (Cond &c : line) {
                InNode &n = p->detect_nodes[in_node(p->detect_nodes, c.ref.path)];
                if (n.id < 0) n.id = static_cast<int32_t>(p->ndetect++);
                c.ref.id = static_cast<uint32_t>(n.id);
                for (size_t end = c.ref.path.find('.');; end = c.ref.path.find('.', end + 1)) {
                    p->detect_roots.push_back(c.ref.path.substr(0, end));
                    if (end == std::string::npos) break;
                }
            }
    constexpr size_t top = eq_profiles::kRootLengths;
    std::sort(p->detect_roots.begin(), p->detect_roots.end(), [](const std::string &a, const std::string &b) {
        return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    p->detect_roots.erase(std::unique(p->detect_roots.begin(), p->detect_roots.end()), p->detect_roots.end());
    std::memset(p->root_start, 0, sizeof p->root_start);
    std::memset(p->root_first, 0, sizeof p->root_first);
    for (const std::string &r : p->detect_roots) {
        size_t n = std::min(r.size(), top);
        p->root_start[n + 1]++;
        if (!r.empty()) p->root_first[n][static_cast<unsigned char>(r[0]) >> 6] |= uint64_t{1} << (r[0] & 63);
    }
    for (size_t n = 1; n <= top + 1; n++) p->root_start[n] += p->root_start[n - 1];
    // Every profile's walk meets every detect path too (profiles_detect_walked).
    for (Profile &pr : p->list) {
        for (InNode &n : pr.in_nodes) n.detect = -1;
        for (const InNode &d : p->detect_nodes)
            if (d.id >= 0) pr.in_nodes[in_node(pr.in_nodes, d.path)].detect = d.id;
        mark_under_collect(pr, 0, false);
        pack_walk(pr.in_nodes, &pr.walk);
        pr.serial = next_serial(); // the trie changed: KeyMemo forgets
    }
}

} // namespace profile_internal
