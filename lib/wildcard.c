/* wildcard.c: the wildcard match of `:`, like and like~ ('*' any run, '?'
 * one character; whole-value, linear time). */
#include "value.h"

#include "utf8.h"

/* Greedy '*' with backtracking to the last star only: O(plen * n), no
 * recursion. A later star supersedes an earlier one, which is why one
 * backtrack point is enough. */
bool eq_wildcard_match(const char *pat, size_t plen, const char *s, size_t n)
{
    size_t p = 0, i = 0;
    size_t star = SIZE_MAX, mark = 0;
    while (i < n) {
        if (p < plen && pat[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < plen && pat[p] == '?') {
            p++;
            i += char_len(s + i, n - i);
        } else if (p < plen && pat[p] == s[i]) {
            p++;
            i++;
        } else if (star != SIZE_MAX) {
            p = star + 1;
            mark += char_len(s + mark, n - mark);
            i = mark;
        } else {
            return false;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}
