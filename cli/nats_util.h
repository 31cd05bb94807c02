/* nats_util.h: what `eqlite publish`, `eqlite worker` and `eqlite alerts`
 * share on NATS JetStream: connecting, the stream layout (partition count
 * and field, kept in the stream's description so that every worker reads the
 * publisher's choice), subjects, hashes and message ids.
 *
 * Layout of a stream NAME made by `eqlite publish`:
 *   subjects   NAME.p.0 ... NAME.p.<N-1>, one per partition
 *   description "eqlite partitions=N by=FIELD"
 *   message id  header Nats-Msg-Id: 32 hex digits of the record's text hash,
 *               '-', the record's byte offset in its (decompressed) input */
#ifndef EQ_CLI_NATS_UTIL_H
#define EQ_CLI_NATS_UTIL_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqlite.h"

#define NU_DEFAULT_PARTITION_FIELD "host.id"
#define NU_FALLBACK_PARTITION_FIELD "host.name" /* used only with the default field */
#define NU_MAX_PARTITIONS 1024

typedef struct nu_layout {
    int partitions;
    char field[256];
} nu_layout;

/* Connects to a comma-separated list of URLs; reconnects for ever (a server
 * of the cluster may die). `name` shows in the server's connection list.
 * Prints why and returns NULL on failure. */
natsConnection *nu_connect(const char *urls, const char *name);

/* "what: status text (JetStream error code)" on stderr; returns 2. */
int nu_fail(const char *what, natsStatus s, jsErrCode jerr);

/* The layout from a stream's description; false if it is not one of ours. */
bool nu_layout_parse(const char *description, nu_layout *out);
void nu_layout_format(const nu_layout *l, char *buf, size_t cap);

/* Stream info, retrying while the cluster elects its leaders (a cluster that
 * has just started answers "JetStream not ready" for a few seconds). Returns
 * NATS_NOT_FOUND when the stream does not exist. */
natsStatus nu_stream_info(jsCtx *js, const char *stream, jsStreamInfo **si, jsErrCode *jerr);
/* js_AddStream with the same retries. */
natsStatus nu_add_stream(jsCtx *js, jsStreamConfig *cfg, jsErrCode *jerr);

/* Subject of partition k of stream (buf of at least 300 bytes). */
void nu_partition_subject(const char *stream, int k, char *buf, size_t cap);

/* The partition of a key value's text. */
int nu_partition_of(const char *key, size_t len, int partitions);
/* The key text of a field value: a string as is, a number in decimal, an
 * array by its first element; "" for null. Writes into buf when needed. */
size_t nu_key_text(const eqlite_value *v, const char **out, char *buf, size_t cap);

/* 128-bit hash of bytes as 32 lowercase hex digits and a NUL. */
void nu_hash_hex(const void *data, size_t len, char out[33]);

/* Incremental form of the same hash (alert ids hash several parts). */
typedef struct nu_hasher {
    uint64_t a, b;
} nu_hasher;
void nu_hash_init(nu_hasher *h);
void nu_hash_add(nu_hasher *h, const void *data, size_t len);
void nu_hash_hex_final(const nu_hasher *h, char out[33]);

double nu_now(void);
void nu_sleep_ms(int ms);

#endif
