// ndjson_input.h: the reader's Input (see ndjson_internal.h).
#pragma once

namespace ndjson_internal {

// ---------------------------------------------------------------------------
// Input: bytes of JSON text from a descriptor or a memory buffer, gunzipped
// when the first bytes are the gzip magic.

class Input {
public:
    ~Input() {
        if (zstream_ready_) inflateEnd(&zs_);
        if (own_fd_ && fd_ >= 0) close(fd_);
    }

    void use_fd(int fd, bool own) { fd_ = fd, own_fd_ = own; }
    void use_memory(const void *data, size_t len) {
        mem_ = static_cast<const unsigned char *>(data), mem_len_ = len, total_in_ = len;
    }
    void set_total(uint64_t n) { total_in_ = n; }

    // Plain text in memory is read in place (see lend_memory); only counted here.
    bool plain_memory() const { return mem_ && !gzip_; }
    const char *memory_text() const { return reinterpret_cast<const char *>(mem_); }
    void count_lent(size_t n) { bytes_in_ = bytes_out_ = n; }

    // Reads the first bytes to look for the gzip magic, and past it the first
    // inflated bytes (EVTX inside gzip). false + error() on failure.
    bool start() {
        if (mem_) { // inflate reads the caller's buffer in place
            gzip_ = mem_len_ >= 2 && mem_[0] == 0x1f && mem_[1] == 0x8b;
            return !gzip_ || (start_inflate() && peek_inflated());
        }
        zin_.resize(kGzipChunk);
        while (zin_len_ < 8) { // gzip magic (2 bytes), EVTX signature (8)
            long n = read_raw(zin_.data() + zin_len_, zin_.size() - zin_len_);
            if (n < 0) return false;
            if (n == 0) break;
            zin_len_ += static_cast<size_t>(n);
        }
        gzip_ = zin_len_ >= 2 && zin_[0] == 0x1f && zin_[1] == 0x8b;
        if (gzip_) return start_inflate() && peek_inflated();
        return true;
    }

    // EVTX is read by libevtx, not as text: is that what the input starts
    // with, once gunzipped?
    bool evtx() const {
        if (gzip_) return eqio::is_evtx_signature(head_, head_len_);
        if (mem_) return eqio::is_evtx_signature(mem_, mem_len_);
        return eqio::is_evtx_signature(zin_.data(), zin_len_);
    }
    const unsigned char *memory() const { return mem_; }
    size_t memory_len() const { return mem_len_; }
    int fd() const { return fd_; }
    const unsigned char *peeked() const { return zin_.data(); }
    size_t peeked_len() const { return zin_len_; }

    // Fills dst with up to cap bytes of JSON text: >0 bytes, 0 at the end, -1 on error.
    long read(char *dst, size_t cap) {
        long n = head_pos_ < head_len_ ? read_head(dst, cap) : gzip_ ? read_gzip(dst, cap) : read_plain(dst, cap);
        if (n > 0) bytes_out_ += static_cast<uint64_t>(n);
        return n;
    }

    const std::string &error() const { return error_; }
    bool gzip() const { return gzip_; }
    uint64_t bytes_in() const { return bytes_in_; }
    uint64_t bytes_out() const { return bytes_out_; }
    uint64_t total_in() const { return total_in_; }

private:
    // Descriptors only: plain memory is lent to the splitter and gzip'ed
    // memory is inflated in place.
    long read_raw(unsigned char *dst, size_t cap) {
        for (;;) {
            ssize_t n = ::read(fd_, dst, cap);
            if (n >= 0) {
                bytes_in_ += static_cast<uint64_t>(n);
                return static_cast<long>(n);
            }
            if (errno != EINTR) return fail(std::string("read error: ") + std::strerror(errno));
        }
    }

    // The bytes read by start() come first.
    long read_plain(char *dst, size_t cap) {
        if (zin_pos_ < zin_len_) {
            size_t n = std::min(cap, zin_len_ - zin_pos_);
            std::memcpy(dst, zin_.data() + zin_pos_, n);
            zin_pos_ += n;
            return static_cast<long>(n);
        }
        return read_raw(reinterpret_cast<unsigned char *>(dst), cap);
    }

    // The first inflated bytes, kept for read() to hand out first. A damaged
    // stream is not an error yet: read() reports it after the text before it.
    bool peek_inflated() {
        while (head_len_ < sizeof head_) {
            long n = read_gzip(head_ + head_len_, sizeof head_ - head_len_);
            if (n <= 0) return error_ != kOutOfMemory;
            head_len_ += static_cast<size_t>(n);
        }
        return true;
    }

    long read_head(char *dst, size_t cap) {
        size_t n = std::min(cap, head_len_ - head_pos_);
        std::memcpy(dst, head_ + head_pos_, n);
        head_pos_ += n;
        return static_cast<long>(n);
    }

    bool start_inflate() {
        std::memset(&zs_, 0, sizeof zs_);
        zs_.zalloc = zlib_alloc; // zlib's memory comes from the same heap as ours
        zs_.zfree = zlib_free;
        int rc = inflateInit2(&zs_, 16 + MAX_WBITS);
        if (rc == Z_MEM_ERROR) return fail(kOutOfMemory) >= 0;
        if (rc != Z_OK) return fail("cannot initialise zlib") >= 0;
        zstream_ready_ = true;
        zs_.next_in = zin_.data();
        zs_.avail_in = static_cast<uInt>(zin_len_);
        return true;
    }

    // Loops until some output, the clean end of the last member, or an error;
    // every turn either consumes input, produces output or stops, so a
    // truncated or corrupt stream cannot spin.
    // A damaged stream still yields the text before the damage: the error is
    // kept and returned by the next call.
    long read_gzip(char *dst, size_t cap) {
        if (!error_.empty()) return -1;
        if (cap > UINT32_MAX) cap = UINT32_MAX;
        zs_.next_out = reinterpret_cast<Bytef *>(dst);
        zs_.avail_out = static_cast<uInt>(cap);
        while (zs_.avail_out == cap) {
            if (zs_.avail_in == 0 && !raw_eof_ && !refill_gzip_input()) break;
            if (member_done_) {
                if (zs_.avail_in == 0) break; // clean end after the last member
                if (!start_next_member()) break;
            }
            if (zs_.avail_in == 0) {
                fail(truncated_message());
                break;
            }
            int rc = inflate(&zs_, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) {
                member_done_ = true;
            } else if (rc == Z_MEM_ERROR) {
                fail(kOutOfMemory); // not the data's fault: fatal, never a corrupt record
                break;
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                fail(corrupt_message(rc));
                break;
            }
        }
        long produced = static_cast<long>(cap - zs_.avail_out);
        return produced > 0 || error_.empty() ? produced : -1;
    }

    bool refill_gzip_input() {
        if (mem_) {
            size_t n = std::min<size_t>(mem_len_ - mem_pos_, UINT32_MAX);
            zs_.next_in = const_cast<Bytef *>(mem_ + mem_pos_);
            zs_.avail_in = static_cast<uInt>(n);
            mem_pos_ += n;
            bytes_in_ += n;
            if (n == 0) raw_eof_ = true;
            return true;
        }
        long n = read_raw(zin_.data(), zin_.size());
        if (n < 0) return false;
        if (n == 0) raw_eof_ = true;
        zs_.next_in = zin_.data();
        zs_.avail_in = static_cast<uInt>(n);
        return true;
    }

    // Concatenated .gz files (cat a.gz b.gz) are one valid stream.
    bool start_next_member() {
        if (zs_.next_in[0] != 0x1f) {
            fail("unexpected data after the gzip stream at compressed byte " +
                 std::to_string(compressed_pos()));
            return false;
        }
        inflateReset(&zs_);
        member_done_ = false;
        return true;
    }

    uint64_t compressed_pos() const { return bytes_in_ - zs_.avail_in; }

    std::string truncated_message() const {
        return "truncated gzip input: the compressed stream ends at byte " +
               std::to_string(compressed_pos()) + " (after " + std::to_string(bytes_out_) +
               " bytes of text) before its end marker";
    }

    static voidpf zlib_alloc(voidpf, uInt n, uInt size) { return std::calloc(n, size); }
    static void zlib_free(voidpf, voidpf p) { std::free(p); }

    std::string corrupt_message(int) const {
        const char *why = zs_.msg ? zs_.msg : "corrupt data";
        return std::string("corrupt gzip input at compressed byte ") + std::to_string(compressed_pos()) +
               ": " + why;
    }

    long fail(const std::string &message) {
        error_ = message;
        return -1;
    }

    int fd_ = -1;
    bool own_fd_ = false;
    const unsigned char *mem_ = nullptr;
    size_t mem_len_ = 0, mem_pos_ = 0;
    std::vector<unsigned char> zin_; // gzip input, and the bytes start() peeked
    size_t zin_len_ = 0, zin_pos_ = 0;
    char head_[8];                   // the first inflated bytes (EVTX signature)
    size_t head_len_ = 0, head_pos_ = 0;
    bool gzip_ = false, zstream_ready_ = false, raw_eof_ = false, member_done_ = false;
    z_stream zs_{};
    uint64_t bytes_in_ = 0, bytes_out_ = 0, total_in_ = 0;
    std::string error_;
};
} // namespace ndjson_internal
