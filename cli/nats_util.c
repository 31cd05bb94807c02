/* nats_util.c: connecting, stream layout, subjects, hashes (nats_util.h). */
#define _DEFAULT_SOURCE
#include "nats_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

natsConnection *nu_connect(const char *urls, const char *name)
{
    natsOptions *opts = NULL;
    natsConnection *nc = NULL;
    char list[4096];
    const char *servers[32];
    int n = 0;
    snprintf(list, sizeof list, "%s", urls);
    for (char *save = NULL, *u = strtok_r(list, ", ", &save); u && n < 32; u = strtok_r(NULL, ", ", &save))
        servers[n++] = u;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = n ? natsOptions_SetServers(opts, servers, n) : NATS_INVALID_ARG;
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, name);
    if (s == NATS_OK) /* a dead server of the cluster is not the end of the run */
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 250);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(opts, 64 << 20);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, 5000);
    /* a server that has just started may turn clients away for a moment */
    for (int attempt = 0; s == NATS_OK || s == NATS_NO_SERVER; attempt++) {
        s = natsConnection_Connect(&nc, opts);
        if (s != NATS_NO_SERVER || attempt == 40)
            break;
        nu_sleep_ms(250);
    }
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        fprintf(stderr, "eqlite: cannot connect to %s: %s\n", urls, natsStatus_GetText(s));
        return NULL;
    }
    return nc;
}

int nu_fail(const char *what, natsStatus s, jsErrCode jerr)
{
    natsStatus last_status = NATS_OK;
    const char *last = nats_GetLastError(&last_status);
    if (last_status != s) /* the thread's last error is older: not this one's cause */
        last = NULL;
    if (jerr)
        fprintf(stderr, "eqlite: %s: %s (JetStream error %d)%s%s\n", what, natsStatus_GetText(s), (int)jerr,
                last ? ": " : "", last ? last : "");
    else
        fprintf(stderr, "eqlite: %s: %s%s%s\n", what, natsStatus_GetText(s), last ? ": " : "", last ? last : "");
    return 2;
}

bool nu_layout_parse(const char *description, nu_layout *out)
{
    int n = 0, used = 0;
    if (!description || sscanf(description, "eqlite partitions=%d by=%255s%n", &n, out->field, &used) != 2)
        return false;
    out->partitions = n;
    return n >= 1 && n <= NU_MAX_PARTITIONS;
}

void nu_layout_format(const nu_layout *l, char *buf, size_t cap)
{
    snprintf(buf, cap, "eqlite partitions=%d by=%s", l->partitions, l->field);
}

/* Errors a cluster gives while it elects leaders or a member restarts. */
static bool transient(natsStatus s, jsErrCode jerr)
{
    return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_CONNECTION_DISCONNECTED ||
           jerr == JSClusterNotAvailErr || jerr == JSClusterNotLeaderErr || jerr == JSClusterNoPeersErr ||
           jerr == JSInsufficientResourcesErr ||
           (s == NATS_ERR && jerr == 0);
}

natsStatus nu_stream_info(jsCtx *js, const char *stream, jsStreamInfo **si, jsErrCode *jerr)
{
    natsStatus s = NATS_ERR;
    for (int attempt = 0; attempt < 60; attempt++) {
        *jerr = 0;
        *si = NULL;
        s = js_GetStreamInfo(si, js, stream, NULL, jerr);
        if (s == NATS_OK || s == NATS_NOT_FOUND || !transient(s, *jerr))
            return s;
        nu_sleep_ms(250);
    }
    return s;
}

natsStatus nu_add_stream(jsCtx *js, jsStreamConfig *cfg, jsErrCode *jerr)
{
    natsStatus s = NATS_ERR;
    for (int attempt = 0; attempt < 60; attempt++) {
        *jerr = 0;
        jsStreamInfo *si = NULL;
        s = js_AddStream(&si, js, cfg, NULL, jerr);
        jsStreamInfo_Destroy(si);
        if (s == NATS_OK || !transient(s, *jerr))
            return s;
        nu_sleep_ms(250);
    }
    return s;
}

void nu_partition_subject(const char *stream, int k, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s.p.%d", stream, k);
}

static uint64_t mix64(uint64_t x) /* splitmix64's finalizer */
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void nu_hash_init(nu_hasher *h)
{
    h->a = 0xcbf29ce484222325ULL; /* FNV-1a offset basis */
    h->b = 0x9e3779b97f4a7c15ULL;
}

/* Two independent lanes: FNV-1a and a multiply-rotate; not cryptographic,
 * ids only need to differ for different records. */
void nu_hash_add(nu_hasher *h, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t a = h->a, b = h->b;
    for (size_t i = 0; i < len; i++) {
        a = (a ^ p[i]) * 0x100000001b3ULL;
        b = (b ^ p[i]) * 0xff51afd7ed558ccdULL;
        b = (b << 29) | (b >> 35);
    }
    h->a = a;
    h->b = b;
}

void nu_hash_hex_final(const nu_hasher *h, char out[33])
{
    uint64_t x = mix64(h->a ^ mix64(h->b)), y = mix64(h->b + 0x632be59bd9b4e019ULL) ^ h->a;
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)x, (unsigned long long)mix64(y));
}

void nu_hash_hex(const void *data, size_t len, char out[33])
{
    nu_hasher h;
    nu_hash_init(&h);
    nu_hash_add(&h, data, len);
    nu_hash_hex_final(&h, out);
}

int nu_partition_of(const char *key, size_t len, int partitions)
{
    uint64_t a = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        a = (a ^ (unsigned char)key[i]) * 0x100000001b3ULL;
    return (int)(mix64(a) % (uint64_t)partitions);
}

size_t nu_key_text(const eqlite_value *v, const char **out, char *buf, size_t cap)
{
    if (v->kind == EQLITE_ARRAY)
        v = v->len ? &v->u.a[0] : NULL;
    if (!v || v->kind == EQLITE_NULL) {
        *out = "";
        return 0;
    }
    int n = 0;
    switch (v->kind) {
    case EQLITE_STRING: *out = v->u.s; return v->len;
    case EQLITE_INT: n = snprintf(buf, cap, "%lld", (long long)v->u.i); break;
    case EQLITE_DOUBLE: n = snprintf(buf, cap, "%.17g", v->u.d); break;
    case EQLITE_BOOL: n = snprintf(buf, cap, "%s", v->u.b ? "true" : "false"); break;
    default: n = 0;
    }
    *out = buf;
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

double nu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void nu_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
