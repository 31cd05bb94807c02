/* publish.c: `eqlite publish` — events from files into a JetStream stream,
 * one subject per partition (nats_util.h has the layout).
 *
 * Each record is published as its JSON text (the bytes `eqlite query` would
 * print for it) with a message id from the record itself (text hash and byte
 * offset), so JetStream drops a record that a re-run publishes again within
 * the stream's duplicate window. Publishes are asynchronous, in batches;
 * what a failure (a server died, a leader moved) kept from being stored is
 * sent again with the same ids, and the stream keeps the records' order
 * (nats_pub.h): a worker never sees a record after a later one because of
 * a re-send. The command ends only when every record is stored or it gives
 * up (exit 2): 60 s without an acknowledgement. */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "nats_pub.h"

typedef struct pub_args {
    const char *urls, *stream, *field, *timestamp_field;
    int partitions, replicas;
    bool partitions_given, field_given;
    long long dedup_seconds;
    char **files;
    size_t nfiles;
} pub_args;

static void usage(FILE *f)
{
    fprintf(f, "usage: eqlite publish --stream NAME [OPTIONS] FILE...\n"
               "Publishes NDJSON (or JSON array, .gz) events to a JetStream stream, one subject per\n"
               "partition (NAME.p.K); creates the stream if it is missing.\n"
               "      --nats URLS             comma-separated server URLs (default nats://127.0.0.1:4222)\n"
               "      --stream NAME           the stream\n"
               "      --partition-by FIELD    default host.id, then host.name where host.id is missing\n"
               "      --partitions N          partitions of a new stream (default 16)\n"
               "      --replicas R            replicas of a new stream (default 1)\n"
               "      --dedup-window SECONDS  duplicate window of a new stream (default 3600)\n"
               "      --timestamp-field NAME  default @timestamp; records without it are not published\n"
               "Message id: hash of the record's text and its offset, so a re-run publishes nothing\n"
               "twice within the duplicate window. Prints one summary line.\n");
}

static int parse_args(int argc, char **argv, pub_args *a)
{
    enum { O_NATS = 256, O_STREAM, O_BY, O_PARTS, O_REPL, O_DEDUP, O_TS };
    static const struct option longs[] = {
        {"nats", required_argument, 0, O_NATS},       {"stream", required_argument, 0, O_STREAM},
        {"partition-by", required_argument, 0, O_BY}, {"partitions", required_argument, 0, O_PARTS},
        {"replicas", required_argument, 0, O_REPL},   {"dedup-window", required_argument, 0, O_DEDUP},
        {"timestamp-field", required_argument, 0, O_TS}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    a->urls = "nats://127.0.0.1:4222";
    a->field = NU_DEFAULT_PARTITION_FIELD;
    a->timestamp_field = "@timestamp";
    a->partitions = 16;
    a->replicas = 1;
    a->dedup_seconds = 3600;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "h", longs, NULL)) != -1;) {
        char *end = NULL;
        switch (c) {
        case O_NATS: a->urls = optarg; break;
        case O_STREAM: a->stream = optarg; break;
        case O_BY: a->field = optarg; a->field_given = true; break;
        case O_PARTS:
            a->partitions = (int)strtol(optarg, &end, 10);
            a->partitions_given = true;
            if (*end || a->partitions < 1 || a->partitions > NU_MAX_PARTITIONS)
                goto bad;
            break;
        case O_REPL:
            a->replicas = (int)strtol(optarg, &end, 10);
            if (*end || a->replicas < 1 || a->replicas > 5)
                goto bad;
            break;
        case O_DEDUP:
            a->dedup_seconds = strtoll(optarg, &end, 10);
            if (*end || a->dedup_seconds < 1)
                goto bad;
            break;
        case O_TS: a->timestamp_field = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!a->stream || optind >= argc) {
        usage(stderr);
        return 2;
    }
    a->files = argv + optind;
    a->nfiles = (size_t)(argc - optind);
    return -1;
bad:
    fprintf(stderr, "eqlite publish: bad value [%s]\n", optarg);
    return 2;
}

/* Finds the stream or makes it; the layout a worker will read, and the
 * stream's last sequence. */
static int ensure_stream(jsCtx *js, const pub_args *a, nu_layout *layout, uint64_t *last_seq)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    *last_seq = 0;
    natsStatus s = nu_stream_info(js, a->stream, &si, &jerr);
    if (s == NATS_OK) {
        bool ours = nu_layout_parse(si->Config->Description, layout);
        *last_seq = si->State.LastSeq;
        jsStreamInfo_Destroy(si);
        if (!ours) {
            fprintf(stderr, "eqlite publish: stream %s exists but was not made by eqlite publish\n", a->stream);
            return 2;
        }
        if ((a->partitions_given && layout->partitions != a->partitions) ||
            (a->field_given && strcmp(layout->field, a->field))) {
            fprintf(stderr, "eqlite publish: stream %s has %d partitions by %s; the options ask otherwise\n",
                    a->stream, layout->partitions, layout->field);
            return 2;
        }
        return 0;
    }
    if (s != NATS_NOT_FOUND)
        return nu_fail("stream info", s, jerr);
    layout->partitions = a->partitions;
    snprintf(layout->field, sizeof layout->field, "%s", a->field);
    char description[300], subject[300];
    nu_layout_format(layout, description, sizeof description);
    snprintf(subject, sizeof subject, "%s.p.*", a->stream);
    const char *subjects[] = {subject};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = a->stream;
    cfg.Description = description;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = a->replicas;
    cfg.Duplicates = a->dedup_seconds * 1000000000LL;
    s = nu_add_stream(js, &cfg, &jerr);
    return s == NATS_OK || jerr == JSStreamNameExistErr ? 0 : nu_fail("creating the stream", s, jerr);
}

typedef struct pub_run {
    jsCtx *js;
    const pub_args *a;
    nu_layout layout;
    bool fallback; /* default field: host.name where host.id is missing */
    nu_pub *pub;
    int64_t *last_ts; /* per partition: events older than the one before are skipped by workers */
    uint64_t events, bad, out_of_order;
} pub_run;

/* The partition key of an event read with the two fields of partition_schema. */
static size_t key_of(const pub_run *r, const eqlite_event *ev, const char **key, char *numbuf, size_t cap)
{
    size_t klen = ev->nfields > 0 ? nu_key_text(&ev->fields[0], key, numbuf, cap) : 0;
    if (klen == 0 && r->fallback && ev->nfields > 1)
        klen = nu_key_text(&ev->fields[1], key, numbuf, cap);
    return klen;
}

static int publish_record(pub_run *r, const eqlite_event *ev, const eqlite_record *rec)
{
    char numbuf[64], subject[300], id[64];
    const char *key = "";
    size_t klen = key_of(r, ev, &key, numbuf, sizeof numbuf);
    int k = nu_partition_of(key, klen, r->layout.partitions);
    if (ev->timestamp < r->last_ts[k])
        r->out_of_order++;
    else
        r->last_ts[k] = ev->timestamp;
    nu_partition_subject(r->a->stream, k, subject, sizeof subject);
    char hex[33];
    nu_hash_hex(rec->text, rec->len, hex);
    snprintf(id, sizeof id, "%s-%llu", hex, (unsigned long long)rec->offset);
    natsStatus s = nu_pub_add(r->pub, r->js, subject, id, rec->text, rec->len);
    if (s != NATS_OK)
        return nu_fail("publishing", s, 0);
    r->events++;
    return 0;
}

/* The fields a record is partitioned on, as ids 0 and 1 (the fallback; the
 * same name twice is one field), untyped: values as the JSON has them. */
static eqlite_schema *partition_schema(const pub_run *r)
{
    eqlite_schema *schema;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        return NULL;
    const char *names[2] = {r->layout.field, NU_FALLBACK_PARTITION_FIELD};
    for (int k = 0; k < (r->fallback ? 2 : 1); k++)
        if (eqlite_schema_add(schema, names[k], strlen(names[k]), EQLITE_T_UNKNOWN, NULL) != EQLITE_OK) {
            eqlite_schema_free(schema);
            return NULL;
        }
    return schema;
}

static int publish_file(pub_run *r, const char *path)
{
    eqlite_schema *schema = partition_schema(r);
    if (!schema) {
        fprintf(stderr, "eqlite publish: out of memory\n");
        return 2;
    }
    /* raw records, as workers convert them */
    eqlite_reader_options o = {.schema = schema, .timestamp_field = r->a->timestamp_field, .source = "none"};
    eqlite_reader *rd;
    char err[512];
    if (eqlite_reader_open_path(path, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite publish: cannot read %s: %s\n", path, err);
        eqlite_schema_free(schema);
        return 2;
    }
    int status = 0;
    for (;;) {
        eqlite_event ev;
        eqlite_record rec;
        int k = eqlite_reader_next(rd, &ev, &rec);
        if (k == EQLITE_READ_EOF)
            break;
        if (k == EQLITE_READ_FATAL) {
            fprintf(stderr, "%s: %s\n", rec.file, rec.reason);
            status = 2;
            break;
        }
        if (k == EQLITE_READ_BAD) { /* a worker would reject it too */
            if (++r->bad <= 5)
                fprintf(stderr, "%s:%llu: %s\n", rec.file, (unsigned long long)rec.number, rec.reason);
            continue;
        }
        if ((status = publish_record(r, &ev, &rec)) != 0)
            break;
    }
    eqlite_reader_close(rd);
    eqlite_schema_free(schema);
    return status;
}

int cmd_publish(int argc, char **argv)
{
    pub_args a = {0};
    int status = parse_args(argc, argv, &a);
    if (status >= 0)
        return status;
    nu_pub pub;
    nu_pub_init(&pub);
    natsConnection *nc = nu_connect(a.urls, "eqlite publish");
    if (!nc) {
        nu_pub_free(&pub);
        return 2;
    }
    jsCtx *js = NULL;
    jsOptions jo;
    jsOptions_Init(&jo);
    nu_pub_options(&pub, &jo);
    natsStatus s = natsConnection_JetStream(&js, nc, &jo);
    pub_run r = {.js = js, .a = &a, .pub = &pub};
    double start = nu_now();
    uint64_t last_seq = 0;
    status = s == NATS_OK ? ensure_stream(js, &a, &r.layout, &last_seq) : nu_fail("JetStream", s, 0);
    if (status == 0) {
        nu_pub_order(&pub, last_seq);
        r.fallback = !strcmp(r.layout.field, NU_DEFAULT_PARTITION_FIELD);
        r.last_ts = calloc((size_t)r.layout.partitions, sizeof *r.last_ts);
        if (!r.last_ts)
            status = (fprintf(stderr, "eqlite publish: out of memory\n"), 2);
        for (size_t k = 0; k < a.nfiles && status == 0; k++)
            status = publish_file(&r, a.files[k]);
        if (status == 0 && !nu_pub_flush(&pub, js, 60)) {
            fprintf(stderr, "eqlite publish: the last events were not all stored (%s)\n",
                    natsStatus_GetText(pub.last_error));
            status = 2;
        }
    }
    double secs = nu_now() - start;
    if (status == 0) {
        if (r.out_of_order)
            fprintf(stderr, "eqlite publish: %llu events are older than the one before them in their partition; "
                            "workers skip them (sort the input by @timestamp first)\n",
                    (unsigned long long)r.out_of_order);
        printf("published %llu events to %s (%d partitions by %s): %llu acknowledged as new, %llu as duplicates, "
               "%llu bad, %llu sent again, %.3f s, %.0f events/s\n",
               (unsigned long long)r.events, a.stream, r.layout.partitions, r.layout.field,
               (unsigned long long)pub.stored_new, (unsigned long long)pub.duplicates,
               (unsigned long long)r.bad, (unsigned long long)pub.resent, secs, secs > 0 ? (double)r.events / secs : 0.0);
    }
    free(r.last_ts);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nu_pub_free(&pub);
    return status;
}
