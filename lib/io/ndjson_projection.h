// ndjson_projection.h: the projection trie of the NDJSON reader (see ndjson_internal.h).
#pragma once

namespace ndjson_internal {

// Keys are short: a plain loop beats a memcmp call here (measured).
inline bool same_bytes(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

// ---------------------------------------------------------------------------
// Projection: a trie over the dotted field names. A JSON key may hold several
// segments ("process.parent" or "parent.name"), so keys are split on '.' as
// they are looked up; a node can be a field (slot >= 0), a parent, or both.

struct Edge {
    std::string segment;
    uint32_t child;
};

struct Node {
    std::vector<Edge> kids;
    int32_t slot = kNoSlot;
    std::string path; // for messages
};

class Projection {
public:
    Projection() { nodes_.emplace_back(); }

    // Returns the node for `dotted`, creating it.
    uint32_t insert(std::string_view dotted) {
        uint32_t node = 0;
        size_t start = 0;
        for (;;) {
            size_t dot = dotted.find('.', start);
            std::string_view seg = dotted.substr(start, dot == std::string_view::npos ? dotted.npos : dot - start);
            node = child_or_new(node, seg);
            if (dot == std::string_view::npos) break;
            start = dot + 1;
        }
        nodes_[node].path.assign(dotted.data(), dotted.size());
        return node;
    }

    uint32_t child(uint32_t node, const char *seg, size_t len) const {
        for (const Edge &e : nodes_[node].kids)
            if (e.segment.size() == len && same_bytes(e.segment.data(), seg, len)) return e.child;
        return kNoNode;
    }

    // Follows the '.'-separated segments of a JSON key from `node`. Each edge
    // is tried against the front of the key (it must end at the key's end or
    // at a '.'), so the key is never scanned for dots on its own: most keys
    // are rejected by a length or first-byte test.
    uint32_t descend(uint32_t node, std::string_view key) const {
        const char *p = key.data();
        size_t rest = key.size();
        for (;;) {
            const Edge *hit = nullptr;
            for (const Edge &e : nodes_[node].kids) {
                size_t n = e.segment.size();
                if (n > rest || (n < rest && p[n] != '.')) continue;
                if (same_bytes(e.segment.data(), p, n)) {
                    hit = &e;
                    break;
                }
            }
            if (!hit) return kNoNode;
            size_t n = hit->segment.size();
            if (n == rest) return hit->child;
            node = hit->child;
            p += n + 1;
            rest -= n + 1;
        }
    }

    Node &operator[](uint32_t i) { return nodes_[i]; }
    const Node &operator[](uint32_t i) const { return nodes_[i]; }

    // The walk's flat copy of the trie, built once every field is inserted
    // (the segment pointers refer to the nodes' strings, which stop moving).
    void compile() {
        fnodes_.assign(nodes_.size(), FastNode{});
        fedges_.clear();
        fbuckets_.clear();
        for (size_t i = 0; i < nodes_.size(); i++) {
            FastNode &f = fnodes_[i];
            f.first = static_cast<uint32_t>(fedges_.size());
            f.count = static_cast<uint32_t>(nodes_[i].kids.size());
            f.slot = nodes_[i].slot;
            for (const Edge &e : nodes_[i].kids) {
                FastEdge fe{};
                size_t n = e.segment.size(), head = n < 8 ? n : 8;
                std::memcpy(&fe.head, e.segment.data(), head);
                fe.mask = head == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * head)) - 1;
                fe.seg = e.segment.data();
                fe.len = n;
                fe.child = e.child;
                fedges_.push_back(fe);
            }
            bucket_edges(f);
        }
    }

    size_t size() const { return nodes_.size(); }
    bool has_kids(uint32_t node) const { return fnodes_[node].count != 0; }
    int32_t slot_of(uint32_t node) const { return fnodes_[node].slot; }

    // descend() for a key in simdjson's string buffer, which has at least
    // SIMDJSON_PADDING readable bytes after any string: each edge is tested
    // with one masked 8-byte load (length, then the first bytes).
    uint32_t descend_padded(uint32_t node, const char *p, size_t rest) const {
        for (;;) {
            const FastNode &fn = fnodes_[node];
            if (fn.count == 0) return kNoNode;
            uint64_t word;
            std::memcpy(&word, p, 8);
            const FastEdge *e = fedges_.data() + fn.first, *stop = e + fn.count;
            if (fn.buckets != kNoBuckets) { // only the edges starting with the key's first byte
                const uint32_t *b = fbuckets_.data() + fn.buckets + static_cast<uint8_t>(p[0]);
                stop = e + b[1];
                e += b[0];
            }
            for (; e != stop; ++e) {
                // The bytes first: they turn away almost every other key.
                if ((word & e->mask) != e->head) continue;
                size_t n = e->len;
                if (n > rest || (n < rest && p[n] != '.')) continue;
                if (n <= 8 || same_bytes(e->seg + 8, p + 8, n - 8)) break;
            }
            if (e == stop) return kNoNode;
            size_t n = e->len;
            if (n == rest) return e->child;
            node = e->child;
            p += n + 1;
            rest -= n + 1;
        }
    }

private:
    struct FastEdge {
        uint64_t head, mask; // the first (up to) 8 bytes of the segment
        const char *seg;
        size_t len;
        uint32_t child;
    };
    static constexpr uint32_t kNoBuckets = UINT32_MAX;
    // A node with more edges than this has them sorted by first byte, with
    // 257 offsets into them: the walk tries only those of the key's first
    // byte (a node like `process` has dozens of children under ECS).
    static constexpr uint32_t kBucketedEdges = 8;
    struct FastNode {
        uint32_t first = 0, count = 0;
        int32_t slot = kNoSlot;
        uint32_t buckets = kNoBuckets; // offset of its 257 entries in fbuckets_
    };

    // At most one edge matches a key (segments hold no '.'), so their order
    // is free. A node with an empty segment keeps the plain scan.
    void bucket_edges(FastNode &f) {
        FastEdge *e = fedges_.data() + f.first;
        if (f.count <= kBucketedEdges) return;
        for (uint32_t i = 0; i < f.count; i++)
            if (e[i].len == 0) return;
        auto first_byte = [](const FastEdge &x) { return static_cast<uint8_t>(x.seg[0]); };
        std::stable_sort(e, e + f.count, [&](const FastEdge &a, const FastEdge &b) { return first_byte(a) < first_byte(b); });
        f.buckets = static_cast<uint32_t>(fbuckets_.size());
        fbuckets_.resize(fbuckets_.size() + 257);
        uint32_t *b = fbuckets_.data() + f.buckets;
        for (uint32_t c = 0, i = 0; c <= 256; c++) {
            while (i < f.count && first_byte(e[i]) < c) i++;
            b[c] = i;
        }
    }

    uint32_t child_or_new(uint32_t node, std::string_view seg) {
        uint32_t found = child(node, seg.data(), seg.size());
        if (found != kNoNode) return found;
        uint32_t id = static_cast<uint32_t>(nodes_.size());
        nodes_.emplace_back();
        nodes_[node].kids.push_back(Edge{std::string(seg), id});
        return id;
    }

    std::vector<Node> nodes_;
    std::vector<FastNode> fnodes_;
    std::vector<FastEdge> fedges_;
    std::vector<uint32_t> fbuckets_;
};
} // namespace ndjson_internal
