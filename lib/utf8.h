/* utf8.h: the character-level pieces the text primitives share (fold.c,
 * strings.c, wildcard.c, hash.c, value.c): UTF-8 decoding with invalid bytes
 * as opaque characters, one-character case folding, and 8-byte word loads
 * for the ASCII fast paths. Internal to lib/. */
#ifndef EQ_UTF8_H
#define EQ_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

/* ---- UTF-8 decoding -------------------------------------------------------- */

#define INVALID_BYTE_BASE 0x200000 /* beyond Unicode: invalid bytes fold to themselves */

/* Decodes one character at s (n > 0). Invalid bytes decode as
 * INVALID_BYTE_BASE + byte, length 1. Returns the bytes consumed. */
static inline size_t utf8_next(const char *s, size_t n, int32_t *cp)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    utf8proc_int32_t v;
    utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &v);
    if (len <= 0) {
        *cp = INVALID_BYTE_BASE + c;
        return 1;
    }
    *cp = v;
    return (size_t)len;
}

/* Java counts characters in UTF-16 code units. */
static inline int64_t utf16_units(int32_t cp) { return (cp >= 0x10000 && cp < INVALID_BYTE_BASE) ? 2 : 1; }

static inline size_t utf8_encode(int32_t cp, char *out)
{
    if (cp >= INVALID_BYTE_BASE) {
        out[0] = (char)(cp - INVALID_BYTE_BASE);
        return 1;
    }
    return (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)out);
}

/* ---- Case folding ---------------------------------------------------------- */

static inline unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Simple lower-case mapping of one code point. Final sigma folds to sigma:
 * Java lower-cases a word-final capital sigma to U+03C2, so treating both
 * small sigmas as one keeps every pair Java calls equal also equal here. */
static inline int32_t fold_cp(int32_t cp)
{
    if (cp < 0x80)
        return ascii_lower((unsigned char)cp);
    if (cp >= INVALID_BYTE_BASE)
        return cp;
    if (cp == 0x3C2)
        return 0x3C3;
    return utf8proc_tolower(cp);
}

/* Next folded code point of s; returns bytes consumed. */
static inline size_t fold_next(const char *s, size_t n, int32_t *cp)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80) {
        *cp = ascii_lower(c);
        return 1;
    }
    size_t len = utf8_next(s, n, cp);
    *cp = fold_cp(*cp);
    return len;
}

/* The folded form of the character at s (n > 0), UTF-8 encoded into enc:
 * returns the bytes of s consumed, *len the bytes of enc. */
static inline size_t fold_encode(const char *s, size_t n, char enc[4], size_t *len)
{
    int32_t cp;
    size_t used = fold_next(s, n, &cp);
    *len = utf8_encode(cp, enc);
    return used;
}

#define ASCII_HIGH_BITS UINT64_C(0x8080808080808080)
#define BYTES_OF(x) (UINT64_C(0x0101010101010101) * (uint64_t)(x))

static inline uint64_t load64(const char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

/* The n < 8 bytes at s as one zero-padded little-endian word; on
 * little-endian hosts without a memcpy call (two overlapping 4-byte loads,
 * or three single bytes). */
static inline uint64_t load_tail(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        return (uint64_t)lo | ((uint64_t)hi << (8 * (n - 4)));
    }
    if (n == 0)
        return 0;
    return (uint64_t)p[0] | ((uint64_t)p[n / 2] << (8 * (n / 2))) |
           ((uint64_t)p[n - 1] << (8 * (n - 1)));
#else
    uint64_t w = 0;
    for (size_t k = 0; k < n; k++)
        w |= (uint64_t)p[k] << (8 * k);
    return w;
#endif
}

/* Lower-cases 8 ASCII bytes at once (SWAR): sets bit 5 of each 'A'..'Z'. */
static inline uint64_t ascii_lower8(uint64_t w)
{
    uint64_t ge_a = w + BYTES_OF(0x80 - 'A');
    uint64_t gt_z = w + BYTES_OF(0x7f - 'Z');
    uint64_t upper = (ge_a ^ gt_z) & ASCII_HIGH_BITS;
    return w | (upper >> 2);
}

/* Bytes of the character at s (n > 0). */
static inline size_t char_len(const char *s, size_t n)
{
    int32_t cp;
    return utf8_next(s, n, &cp);
}

#endif
