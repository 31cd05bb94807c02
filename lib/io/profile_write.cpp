// profile_write.cpp: writes the output document as nested JSON, and its
// scalars as the reader's values.

#include "io/profile_internal.h"

namespace profile_internal {

// ---- writing the document ------------------------------------------------------

void json_string(std::string *out, std::string_view s) {
    out->push_back('"');
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': *out += "\\\""; break;
        case '\\': *out += "\\\\"; break;
        case '\n': *out += "\\n"; break;
        case '\r': *out += "\\r"; break;
        case '\t': *out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                *out += buf;
            } else {
                out->push_back(ch);
            }
        }
    }
    out->push_back('"');
}

void write_scalar(std::string *out, const Scalar &x) {
    if (x.kind == Kind::Str) json_string(out, x.text);
    else *out += x.text;
}

// Path order that keeps each object's fields together: '.' sorts first.
bool path_less(const std::string &a, const std::string &b) {
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; i++) {
        if (a[i] == b[i]) continue;
        if (a[i] == '.') return true;
        if (b[i] == '.') return false;
        return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
    }
    return a.size() < b.size();
}

void write_doc(const Profile &p, ConvertScratch *s, std::string *out) {
    s->order.clear();
    for (uint32_t id : s->touched)
        if (out_present(s, id) && !shadowed(p, s, id)) s->order.push_back(id);
    std::sort(s->order.begin(), s->order.end(),
              [&](size_t a, size_t b) { return path_less(path_of(p, s, a), path_of(p, s, b)); });
    out->clear();
    out->push_back('{');
    std::vector<std::string_view> open; // segments of the objects now open
    bool first = true;
    for (size_t i : s->order) {
        const std::string &path = path_of(p, s, static_cast<uint32_t>(i));
        std::vector<std::string_view> segs;
        for (size_t a = 0; a <= path.size();) {
            size_t dot = path.find('.', a);
            if (dot == std::string::npos) dot = path.size();
            segs.emplace_back(path.data() + a, dot - a);
            a = dot + 1;
        }
        size_t common = 0;
        while (common < open.size() && common + 1 < segs.size() && open[common] == segs[common]) common++;
        while (open.size() > common) {
            out->push_back('}');
            open.pop_back();
        }
        for (size_t k = common; k + 1 < segs.size(); k++) {
            if (!first) out->push_back(',');
            json_string(out, segs[k]);
            *out += ":{";
            open.push_back(segs[k]);
            first = true;
        }
        if (!first) out->push_back(',');
        first = false;
        json_string(out, segs.back());
        out->push_back(':');
        const Val &v = s->vals[i];
        if (v.array) {
            out->push_back('[');
            for (size_t k = 0; k < v.items.size(); k++) {
                if (k) out->push_back(',');
                write_scalar(out, v.items[k]);
            }
            out->push_back(']');
        } else {
            write_scalar(out, v.items[0]);
        }
    }
    while (!open.empty()) {
        out->push_back('}');
        open.pop_back();
    }
    out->push_back('}');
}

} // namespace profile_internal
