/* hash.c: hashes of bytes and of their case-folded form, equal when the
 * folded bytes are (the exact-value sets of `in` and `:` lists). */
#include "value.h"

#include <string.h>

#include "utf8.h"

/* ---- Hashing --------------------------------------------------------------------- */

/* A wyhash-style hash built from 8-byte blocks, so that eq_hash_fold can feed
 * folded bytes as they come and get the same value as eq_hash of the folded
 * string. One 64x64->128 multiply per block. */
#define HASH_SEED UINT64_C(0xa0761d6478bd642f)
#define HASH_K1 UINT64_C(0xe7037ed1a0b428db)
#define HASH_K2 UINT64_C(0x8ebc6af09c88c6e3)
#define HASH_K3 UINT64_C(0x589965cc75374cc3)

static inline uint64_t mum(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    __extension__ typedef unsigned __int128 u128;
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t ha = a >> 32, la = (uint32_t)a, hb = b >> 32, lb = (uint32_t)b;
    uint64_t rh = ha * hb, rm0 = ha * lb, rm1 = hb * la, rl = la * lb;
    uint64_t t = rl + (rm0 << 32), c = t < rl;
    uint64_t lo = t + (rm1 << 32);
    c += lo < t;
    uint64_t hi = rh + (rm0 >> 32) + (rm1 >> 32) + c;
    return lo ^ hi;
#endif
}

typedef struct hash_state {
    uint64_t h;
    uint64_t total;   /* bytes hashed */
    unsigned char pending[8];
    size_t npending;
} hash_state;

static inline void hash_block(hash_state *st, uint64_t w)
{
    st->h = mum(w ^ HASH_K1, st->h ^ HASH_K2);
    st->total += 8;
}

static inline void hash_byte(hash_state *st, unsigned char c)
{
    st->pending[st->npending++] = c;
    if (st->npending == 8) {
        uint64_t w;
        memcpy(&w, st->pending, 8);
        hash_block(st, w);
        st->npending = 0;
    }
}

static inline uint64_t hash_final(uint64_t h, uint64_t tail, uint64_t len)
{
    return mum(h ^ tail ^ HASH_K3, len ^ HASH_K1);
}

static uint64_t hash_finish(hash_state *st)
{
    uint64_t tail = load_tail((const char *)st->pending, st->npending);
    return hash_final(st->h, tail, st->total + st->npending);
}

uint64_t eq_hash(const char *s, size_t n)
{
    uint64_t h = HASH_SEED;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        h = mum(load64(s + i) ^ HASH_K1, h ^ HASH_K2);
    return hash_final(h, load_tail(s + i, n - i), n);
}

/* Feeds the folded bytes of s. ASCII goes 8 bytes at a time through the
 * SWAR fold while the stream is block-aligned; other characters are folded
 * one by one into the pending block. */
uint64_t eq_hash_fold(const char *s, size_t n)
{
    hash_state st = {HASH_SEED, 0, {0}, 0};
    size_t i = 0;
    while (i < n) {
        if (st.npending == 0) {
            size_t left = n - i;
            uint64_t w = left >= 8 ? load64(s + i) : load_tail(s + i, left);
            if ((w & ASCII_HIGH_BITS) == 0) {
                if (left < 8)
                    return hash_final(st.h, ascii_lower8(w), st.total + left);
                hash_block(&st, ascii_lower8(w));
                i += 8;
                continue;
            }
        }
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            hash_byte(&st, ascii_lower(c));
            i++;
            continue;
        }
        char enc[4];
        size_t len;
        i += fold_encode(s + i, n - i, enc, &len);
        for (size_t k = 0; k < len; k++)
            hash_byte(&st, (unsigned char)enc[k]);
    }
    return hash_finish(&st);
}
