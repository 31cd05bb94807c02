/* fold.c: Unicode case folding (Java String.toLowerCase(Locale.ROOT)-like):
 * an ASCII check, folding into a buffer, and caseless equality without
 * allocating. Pure: inputs are pointer + length, outputs go to caller
 * buffers; an invalid UTF-8 byte is one character that only equals itself. */
#include "value.h"

#include <string.h>

#include "utf8.h"

bool eq_is_ascii(const char *s, size_t n)
{
    size_t i = 0;
    uint64_t acc = 0;
    for (; i + 8 <= n; i += 8)
        acc |= load64(s + i);
    for (; i < n; i++)
        acc |= (unsigned char)s[i];
    return (acc & ASCII_HIGH_BITS) == 0;
}

size_t eq_fold(const char *s, size_t n, char *out, size_t cap)
{
    size_t need = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (need < cap)
                out[need] = (char)ascii_lower(c);
            need++;
            i++;
            continue;
        }
        char enc[4];
        size_t len;
        i += fold_encode(s + i, n - i, enc, &len);
        for (size_t k = 0; k < len; k++, need++)
            if (need < cap)
                out[need] = enc[k];
    }
    return need;
}

bool eq_equals_fold(const char *a, size_t an, const char *b, size_t bn)
{
    if (an == bn && memcmp(a, b, an) == 0)
        return true;
    size_t i = 0, j = 0;
    while (i < an && j < bn) {
        unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[j];
        if ((ca | cb) < 0x80) {
            if (ascii_lower(ca) != ascii_lower(cb))
                return false;
            i++;
            j++;
            continue;
        }
        int32_t fa, fb;
        i += fold_next(a + i, an - i, &fa);
        j += fold_next(b + j, bn - j, &fb);
        if (fa != fb)
            return false;
    }
    return i == an && j == bn;
}
