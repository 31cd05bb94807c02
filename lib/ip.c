/* ip.c: IP addresses and CIDR blocks as Elasticsearch reads and prints
 * them (cidrMatch, ip-typed fields). Its own file so that the core and the
 * intake library (which converts ip values as it reads them) share it, the
 * way they share date.c. */
#define _DEFAULT_SOURCE /* inet_pton under -std=c11 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "value.h"

static const uint8_t V4_MAPPED_PREFIX[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_v4_mapped(const uint8_t addr[16])
{
    return memcmp(addr, V4_MAPPED_PREFIX, sizeof V4_MAPPED_PREFIX) == 0;
}

/* Parses an address; *is_v4_text tells whether it was written as IPv4. */
static bool parse_ip_text(const char *s, size_t n, uint8_t out[16], bool *is_v4_text)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf || memchr(s, '\0', n))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (memchr(s, ':', n)) {
        *is_v4_text = false;
        return inet_pton(AF_INET6, buf, out) == 1;
    }
    *is_v4_text = true;
    memcpy(out, V4_MAPPED_PREFIX, sizeof V4_MAPPED_PREFIX);
    return inet_pton(AF_INET, buf, out + 12) == 1;
}

bool eq_ip_parse(const char *s, size_t n, uint8_t out[16])
{
    bool v4;
    return parse_ip_text(s, n, out, &v4);
}

static bool parse_prefix_len(const char *s, size_t n, int max, int *out)
{
    if (n == 0 || n > 3)
        return false;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static void mask_host_bits(uint8_t addr[16], int prefix)
{
    for (int bit = prefix; bit < 128; bit++)
        addr[bit >> 3] &= (uint8_t) ~(1u << (7 - (bit & 7)));
}

bool eq_cidr_parse(const char *s, size_t n, eq_cidr *out)
{
    if (n == 0)
        return false;
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    bool v4;
    if (!parse_ip_text(s, alen, out->addr, &v4))
        return false;
    if (!slash) {
        out->prefix = 128;
        return true;
    }
    /* Like Elasticsearch: a v4-mapped address written in IPv6 notation
     * makes the prefix length ambiguous (v4 or v6 bits?), so refuse it. */
    if (!v4 && is_v4_mapped(out->addr))
        return false;
    int bits;
    if (!parse_prefix_len(slash + 1, n - alen - 1, v4 ? 32 : 128, &bits))
        return false;
    out->prefix = v4 ? bits + 96 : bits;
    mask_host_bits(out->addr, out->prefix);
    return true;
}

/* IPv4 lives in ::ffff:0:0/96, so a v4 address is inside a v6 block only
 * when the block covers that range (as Elasticsearch's CIDRUtils encodes). */
bool eq_cidr_contains(const eq_cidr *cidr, const uint8_t ip[16])
{
    int full = cidr->prefix >> 3, rest = cidr->prefix & 7;
    if (memcmp(cidr->addr, ip, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (cidr->addr[full] & mask) == (ip[full] & mask);
}

/* Decimal digits of one octet; returns how many. */
static size_t octet_text(unsigned v, char *out)
{
    size_t n = 0;
    if (v >= 100)
        out[n++] = (char)('0' + v / 100);
    if (v >= 10)
        out[n++] = (char)('0' + v / 10 % 10);
    out[n++] = (char)('0' + v % 10);
    return n;
}

size_t eq_ip_format(const uint8_t ip[16], char out[40])
{
    if (is_v4_mapped(ip)) { /* most addresses: by hand, as snprintf's "%u.%u.%u.%u" would */
        size_t n = 0;
        for (int i = 12; i < 16; i++) {
            if (i > 12)
                out[n++] = '.';
            n += octet_text(ip[i], out + n);
        }
        out[n] = '\0';
        return n;
    }
    unsigned groups[8];
    for (int i = 0; i < 8; i++)
        groups[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
    int best = -1, best_len = 1; /* runs of two or more, the first longest */
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && groups[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            n += (size_t)snprintf(out + n, 40 - n, "::");
            i += best_len - 1;
            continue;
        }
        n += (size_t)snprintf(out + n, 40 - n, "%s%x", n && out[n - 1] != ':' ? ":" : "", groups[i]);
    }
    return n;
}

