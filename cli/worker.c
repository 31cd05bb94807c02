/* worker.c: `eqlite worker` — runs a rule set over an event stream made by
 * `eqlite publish`, one partition at a time per worker, and publishes each
 * alert to JetStream with an id that makes a repeat a no-op.
 *
 * Ownership. A partition (and the partition-of-all, worker_rules.h) is
 * owned through a lease (worker_leases.h), renewed by a thread of its own.
 * With --partitions auto, each worker owns the partitions for which it wins
 * rendezvous hashing among the live workers: a worker that starts or stops
 * moves only its share.
 *
 * Acknowledgement. Each claim makes a new durable pull consumer for the
 * partition (AckAll, started just after the ack floor of the consumer of
 * the previous owner, which is then deleted): the new owner replays every
 * event after the floor and rebuilds the sequence state from them. Events
 * fed are kept, in stream order, with a count of the copies the engine holds
 * (eqlite_scanner_set_event_hooks). After each round of fetches, once every
 * alert published so far is acknowledged by JetStream, the longest prefix of
 * events that no copy holds is acknowledged with one AckAll. So an event is
 * acknowledged only when its alerts are stored and no partial sequence,
 * sample or tail still holds it.
 *
 * A delivery out of line (a gap in the consumer sequence: a message the
 * server sent that never arrived, as when a server dies mid-fetch) restarts
 * the partition from its ack floor, like a takeover. So does a partition
 * that stays quiet while its consumer says it delivered more than arrived
 * (the lost deliveries were the last ones: no later one shows the gap, and
 * the server would send them again only after the ack wait), or whose
 * consumer is gone (a worker that held the lease meanwhile deleted it). */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert_json.h"
#include "commands.h"
#include "nats_pub.h"
#include "worker_leases.h"
#include "worker_rules.h"

typedef struct wk_args {
    const char *urls, *stream, *rules, *alerts, *alerts_stream, *partitions;
    const char *timestamp_field;
    double lease_ttl, exit_idle;
    long long dedup_seconds;
    int batch;
} wk_args;

/* One fetched event until it is acknowledged. */
typedef struct wk_record {
    alert_source src; /* first: eqlite_event.user points here */
    natsMsg *msg;
    uint64_t seq;   /* stream sequence */
    uint32_t holds; /* copies the engine keeps */
    struct wk_record *next;
    char id[96];
} wk_record;

typedef struct wk_part {
    int index; /* 0..N-1; N = the partition-of-all */
    char key[32], subject[300], consumer[64];
    bool owned, wanted;
    uint64_t claim_rev;
    natsSubscription *sub;
    eng *e;
    eqlite_scanner *sc;
    wk_record *head, *tail; /* fed, not yet acknowledged, in stream order */
    wk_record **batch;
    uint64_t last_seq, last_cseq, acked_seq;
    int resets;
    double next_poll; /* an empty partition is asked again only after this */
    int empty_streak;
    double next_check; /* when a quiet partition asks its consumer how far it got */
    uint64_t suspect_cseq; /* the consumer said it delivered this far, more than arrived */
} wk_part;

typedef struct worker {
    wk_args a;
    natsConnection *nc;
    jsCtx *js;
    wl_keeper keeper;
    wl_lease *leases; /* one per partition, same index */
    wr_rules rules;
    nu_layout layout;
    wk_part *parts;
    int nparts, replicas;
    char id[64];
    nu_pub pub;
    eq_strbuf json;
    double last_tick, last_activity, first_event, last_round;
    double t_engine, t_nats; /* seconds reading + matching, and waiting on fetches, alert and event acks */
    bool all_owned; /* every partition has an owner, this worker all it wants (--exit-idle) */
    uint64_t events, alerts, bad, out_of_order, takeovers, replayed, restarts;
    int status; /* 2 once something cannot go on */
} worker;

/* Seconds a partition stays quiet before it asks its consumer (check_quiet). */
#define QUIET_CHECK 1.0

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static void usage(FILE *f)
{
    fprintf(f, "usage: eqlite worker --stream NAME -r RULES --alerts SUBJECT [OPTIONS]\n"
               "Runs RULES over a stream made by `eqlite publish`; publishes each alert (the JSON\n"
               "line `eqlite query -r` prints) to SUBJECT, stored in stream NAME_ALERTS.\n"
               "      --nats URLS             comma-separated server URLs (default nats://127.0.0.1:4222)\n"
               "      --stream NAME           the event stream\n"
               "  -r, --rules RULES           .eql file, directory, JSON Lines (as eqlite query -r)\n"
               "      --alerts SUBJECT        where alerts go\n"
               "      --alerts-stream NAME    stream that stores them (default NAME_ALERTS; made if missing)\n"
               "      --partitions LIST|auto  partitions to own: 0,3,all ... or auto (default): a share\n"
               "                              of all, rebalanced as workers come and go\n"
               "      --lease-ttl SECONDS     a dead worker's partitions move after this (default 10)\n"
               "      --dedup-window SECONDS  duplicate window of a new alert stream (default 3600)\n"
               "      --batch N               events per fetch (default 512)\n"
               "      --timestamp-field NAME  default @timestamp\n"
               "      --exit-idle SECONDS     end of stream: once every partition is owned, nothing came\n"
               "                              for SECONDS and the consumers have nothing left, settle\n"
               "                              (flush) the rules and exit\n"
               "SIGTERM/SIGINT: hand the partitions over (no flush) and exit.\n");
}

static int parse_args(int argc, char **argv, wk_args *a)
{
    enum { O_NATS = 256, O_STREAM, O_ALERTS, O_ASTREAM, O_PARTS, O_TTL, O_DEDUP, O_BATCH, O_TS, O_IDLE };
    static const struct option longs[] = {
        {"nats", required_argument, 0, O_NATS},        {"stream", required_argument, 0, O_STREAM},
        {"rules", required_argument, 0, 'r'},          {"alerts", required_argument, 0, O_ALERTS},
        {"alerts-stream", required_argument, 0, O_ASTREAM}, {"partitions", required_argument, 0, O_PARTS},
        {"lease-ttl", required_argument, 0, O_TTL},    {"dedup-window", required_argument, 0, O_DEDUP},
        {"batch", required_argument, 0, O_BATCH},      {"timestamp-field", required_argument, 0, O_TS},
        {"exit-idle", required_argument, 0, O_IDLE},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    a->urls = "nats://127.0.0.1:4222";
    a->partitions = "auto";
    a->lease_ttl = 10;
    a->dedup_seconds = 3600;
    a->batch = 512;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "r:h", longs, NULL)) != -1;) {
        char *end = NULL;
        switch (c) {
        case O_NATS: a->urls = optarg; break;
        case O_STREAM: a->stream = optarg; break;
        case 'r': a->rules = optarg; break;
        case O_ALERTS: a->alerts = optarg; break;
        case O_ASTREAM: a->alerts_stream = optarg; break;
        case O_PARTS: a->partitions = optarg; break;
        case O_TTL:
            a->lease_ttl = strtod(optarg, &end);
            if (*end || a->lease_ttl < 1 || a->lease_ttl > 3600)
                goto bad;
            break;
        case O_DEDUP:
            a->dedup_seconds = strtoll(optarg, &end, 10);
            if (*end || a->dedup_seconds < 1)
                goto bad;
            break;
        case O_BATCH:
            a->batch = (int)strtol(optarg, &end, 10);
            if (*end || a->batch < 1 || a->batch > 65536)
                goto bad;
            break;
        case O_TS: a->timestamp_field = optarg; break;
        case O_IDLE:
            a->exit_idle = strtod(optarg, &end);
            if (*end || a->exit_idle <= 0)
                goto bad;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!a->stream || !a->rules || !a->alerts || optind != argc) {
        usage(stderr);
        return 2;
    }
    return -1;
bad:
    fprintf(stderr, "eqlite worker: bad value [%s]\n", optarg);
    return 2;
}

/* ---- alerts ------------------------------------------------------------ */

static int on_alert(void *user, const eqlite_rule_info *info, const eqlite_result *r)
{
    wk_part *part = ((void **)user)[0];
    worker *w = ((void **)user)[1];
    const eng_rule *rule = &part->e->rules[info->index];
    w->json.len = 0;
    alert_json(&w->json, rule, r);
    char id[33];
    alert_id(rule, r, id);
    natsStatus s = w->json.failed ? NATS_NO_MEMORY : nu_pub_add(&w->pub, w->js, w->a.alerts, id, w->json.data, w->json.len);
    if (s != NATS_OK) {
        nu_fail("publishing an alert", s, 0);
        w->status = 2; /* nothing is acknowledged after this: the events replay */
        return 1;
    }
    w->alerts++;
    return 0;
}

/* Waits until JetStream has stored every alert published so far (the
 * lease thread renews meanwhile). False when some could not be stored (a
 * minute without progress): nothing is acknowledged after that, the events
 * replay. */
static bool alerts_stored(worker *w)
{
    if (nu_pub_flush(&w->pub, w->js, 60))
        return true;
    if (w->status == 0)
        fprintf(stderr, "eqlite worker: alerts could not be stored (%s); their events stay unacknowledged\n",
                natsStatus_GetText(w->pub.last_error));
    w->status = 2;
    return false;
}

/* ---- a partition's events ---------------------------------------------- */

/* Event hooks: a sequence, sample or tail keeps a copy of an event (a
 * record may not be acknowledged while any copy lives). */
static void *on_retain(void *ctx, const eqlite_event *ev)
{
    (void)ctx;
    wk_record *rec = ev->user;
    rec->holds++;
    return rec;
}

static void on_release(void *ctx, void *user)
{
    (void)ctx;
    ((wk_record *)user)->holds--;
}

static const eqlite_event_hooks hold_hooks = {on_retain, on_release, NULL};

static void free_records(wk_part *p)
{
    for (wk_record *r = p->head, *next; r; r = next) {
        next = r->next;
        natsMsg_Destroy(r->msg);
        free(r);
    }
    p->head = p->tail = NULL;
}

/* Acknowledges the longest prefix of events nothing holds (one AckAll);
 * call only once every alert so far is stored. */
static void ack_floor(wk_part *p)
{
    wk_record *last = NULL;
    while (p->head && p->head->holds == 0) {
        wk_record *r = p->head;
        p->head = r->next;
        if (last) {
            natsMsg_Destroy(last->msg);
            free(last);
        }
        last = r;
    }
    if (!p->head)
        p->tail = NULL;
    if (last) {
        natsMsg_Ack(last->msg, NULL); /* a lost ack only means a longer replay */
        p->acked_seq = last->seq;
        natsMsg_Destroy(last->msg);
        free(last);
    }
}

/* Stops working on a partition without acknowledging anything more. */
static void drop(wk_part *p)
{
    natsSubscription_Unsubscribe(p->sub);
    natsSubscription_Destroy(p->sub);
    p->sub = NULL;
    eqlite_scanner_free(p->sc); /* lets go of every held copy first */
    p->sc = NULL;
    free_records(p);
    p->owned = false;
}

static int newest_first(const void *a, const void *b)
{
    return strcmp(*(const char *const *)b, *(const char *const *)a);
}

/* The consumers of earlier owners of a partition (names start with
 * `prefix`): the newest one that answers gives the floor the replay starts
 * from; all of them are deleted. False, with nothing deleted, when the
 * cluster does not answer: the claim is tried again later (a floor of 0
 * would replay the whole partition). */
static bool take_over_floor(worker *w, const char *prefix, uint64_t *floor)
{
    jsConsumerNamesList *names = NULL;
    jsErrCode jerr = 0;
    *floor = 0;
    natsStatus s = js_ConsumerNames(&names, w->js, w->a.stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND)
        return true; /* no consumer at all yet */
    if (s != NATS_OK || !names)
        return false;
    size_t plen = strlen(prefix);
    int n = 0;
    const char **mine = malloc(((size_t)names->Count + 1) * sizeof *mine);
    if (!mine) {
        jsConsumerNamesList_Destroy(names);
        return false;
    }
    for (int k = 0; k < names->Count; k++)
        if (!strncmp(names->List[k], prefix, plen))
            mine[n++] = names->List[k];
    qsort(mine, (size_t)n, sizeof *mine, newest_first);
    bool answered = n == 0;
    for (int k = 0; k < n && !answered; k++) {
        jsConsumerInfo *ci = NULL;
        s = js_GetConsumerInfo(&ci, w->js, w->a.stream, mine[k], NULL, &jerr);
        if (s == NATS_OK) {
            unsigned long long start = 0;
            if (ci->Config->Description)
                sscanf(ci->Config->Description, "eqlite start=%llu", &start);
            *floor = ci->AckFloor.Stream;
            if (start > 0 && start - 1 > *floor) /* nothing acknowledged since it started */
                *floor = start - 1;
            answered = true;
        } else if (s != NATS_NOT_FOUND) {
            break;
        }
        jsConsumerInfo_Destroy(ci);
    }
    for (int k = 0; k < n && answered; k++)
        js_DeleteConsumer(w->js, w->a.stream, mine[k], NULL, &jerr);
    free(mine);
    jsConsumerNamesList_Destroy(names);
    return answered;
}

/* A new consumer from the ack floor and a fresh engine state. */
static bool start_consumer(worker *w, wk_part *p)
{
    char prefix[32];
    if (p->index < w->layout.partitions)
        snprintf(prefix, sizeof prefix, "p%d-", p->index);
    else
        snprintf(prefix, sizeof prefix, "pall-");
    uint64_t floor = 0;
    if (!take_over_floor(w, prefix, &floor))
        return false;
    snprintf(p->consumer, sizeof p->consumer, "%s%012llu-%04d", prefix, (unsigned long long)p->claim_rev,
             p->resets % 10000);
    char description[64];
    snprintf(description, sizeof description, "eqlite start=%llu", (unsigned long long)floor + 1);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = p->consumer;
    cc.Description = description;
    cc.AckPolicy = js_AckAll;
    cc.AckWait = (int64_t)(w->a.lease_ttl * 30) * 1000000000LL; /* the owner drops redeliveries anyway */
    cc.MaxDeliver = -1;
    cc.MaxAckPending = 1 << 20;
    cc.FilterSubject = p->subject;
    cc.DeliverPolicy = floor ? js_DeliverByStartSequence : js_DeliverAll;
    cc.OptStartSeq = floor ? floor + 1 : 0;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddConsumer(&ci, w->js, w->a.stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s != NATS_OK) {
        nu_fail("creating a consumer", s, jerr);
        return false;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = w->a.stream;
    so.Consumer = p->consumer;
    so.ManualAck = true;
    s = js_PullSubscribe(&p->sub, w->js, p->subject, p->consumer, NULL, &so, &jerr);
    if (s != NATS_OK) {
        nu_fail("subscribing", s, jerr);
        return false;
    }
    if (eqlite_scanner_new(p->e->rs, &p->e->opt.limits, &p->sc) != EQLITE_OK ||
        eqlite_scanner_set_event_hooks(p->sc, &hold_hooks) != EQLITE_OK) {
        fprintf(stderr, "eqlite worker: out of memory starting the rules\n");
        drop(p);
        return false;
    }
    p->last_seq = p->acked_seq = floor;
    p->last_cseq = 0;
    p->next_poll = 0;
    p->empty_streak = 0;
    p->next_check = nu_now() + QUIET_CHECK;
    p->suspect_cseq = 0;
    return true;
}

/* Replays partition p from its ack floor (a delivery went missing, or
 * its consumer is gone), if the lease is still this worker's. */
static void restart(worker *w, wk_part *p)
{
    drop(p);
    if (!wl_still_mine(&w->keeper, p->index)) {
        fprintf(stderr, "eqlite worker %s: %s is no longer this worker's\n", w->id, p->key);
        wl_give_up(&w->keeper, p->index);
        return;
    }
    p->resets++;
    w->restarts++;
    p->owned = start_consumer(w, p);
    if (!p->owned)
        wl_give_up(&w->keeper, p->index);
}

/* Claims a free lease (missing, expired, or given up with an empty value). */
static bool claim(worker *w, wk_part *p)
{
    if (!wl_claim(&w->keeper, p->index, &p->claim_rev))
        return false;
    p->resets = 0;
    p->owned = start_consumer(w, p);
    if (!p->owned) {
        wl_give_up(&w->keeper, p->index);
        return false;
    }
    w->takeovers++;
    w->last_activity = nu_now();
    fprintf(stderr, "eqlite worker %s: owns %s from stream sequence %llu\n", w->id, p->key,
            (unsigned long long)p->acked_seq + 1);
    return true;
}

/* Hands a partition over: what can be acknowledged is, the rest replays
 * on the next owner. */
static void release(worker *w, wk_part *p)
{
    if (alerts_stored(w) && p->owned)
        ack_floor(p);
    if (!p->owned) /* lost while waiting */
        return;
    drop(p);
    wl_give_up(&w->keeper, p->index);
    fprintf(stderr, "eqlite worker %s: hands %s over\n", w->id, p->key);
}

/* ---- ownership ------------------------------------------------------- */

static uint64_t rendezvous(const char *worker_id, const char *key)
{
    nu_hasher h;
    nu_hash_init(&h);
    nu_hash_add(&h, worker_id, strlen(worker_id) + 1);
    nu_hash_add(&h, key, strlen(key));
    return h.a ^ (h.b * 0x9e3779b97f4a7c15ULL);
}

/* Which partitions this worker should own now. */
static void decide(worker *w)
{
    if (strcmp(w->a.partitions, "auto")) {
        for (int k = 0; k < w->nparts; k++) {
            wk_part *p = &w->parts[k];
            char list[1024];
            snprintf(list, sizeof list, ",%s,", w->a.partitions);
            char item[40];
            snprintf(item, sizeof item, ",%s,", p->key + 2);
            p->wanted = strstr(list, item) != NULL;
        }
        return;
    }
    char **ids = NULL;
    int count = 0;
    if (!wl_live_workers(&w->keeper, &ids, &count))
        return; /* keep what we have until the bucket answers */
    for (int k = 0; k < w->nparts; k++) {
        wk_part *p = &w->parts[k];
        uint64_t best = rendezvous(w->id, p->key);
        p->wanted = true;
        for (int j = 0; j < count && p->wanted; j++)
            if (strcmp(ids[j], w->id) && rendezvous(ids[j], p->key) > best)
                p->wanted = false;
    }
    wl_ids_free(ids, count);
}

/* Lets go of the partitions whose leases the lease thread found lost. */
static void drop_lost(worker *w)
{
    for (int k; (k = wl_take_lost(&w->keeper)) >= 0;)
        if (w->parts[k].owned) {
            fprintf(stderr, "eqlite worker %s: stops work on %s\n", w->id, w->parts[k].key);
            drop(&w->parts[k]);
        }
}

/* Claims and hands over partitions. */
static void tick(worker *w)
{
    w->last_tick = nu_now();
    drop_lost(w);
    decide(w);
    for (int k = 0; k < w->nparts && !g_stop; k++) {
        wk_part *p = &w->parts[k];
        wl_alive(&w->keeper);
        if (p->owned && !p->wanted && strcmp(w->a.partitions, "auto") == 0)
            release(w, p);
        else if (!p->owned && p->wanted)
            claim(w, p);
    }
    bool all = true;
    for (int k = 0; k < w->nparts && all; k++) {
        if (w->parts[k].owned)
            continue;
        if (w->parts[k].wanted) { /* not settled while it waits for its share */
            all = false;
            break;
        }
        all = wl_taken(&w->keeper, k);
    }
    w->all_owned = all;
}

/* ---- fetching and feeding --------------------------------------------- */

static void append(wk_part *p, wk_record *r)
{
    if (p->tail)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
}

static bool in_queue(const wk_part *p, uint64_t seq)
{
    for (const wk_record *r = p->head; r; r = r->next)
        if (r->seq == seq)
            return true;
    return false;
}

/* Feeds the new records of one fetch through one reader over their text,
 * one line each. Returns 0, or 2 on an engine error. */
static int feed(worker *w, wk_part *p, wk_record **recs, int n)
{
    size_t total = 0;
    for (int k = 0; k < n; k++)
        total += recs[k]->src.text.len + 1;
    char *buf = malloc(total + 1);
    if (!buf)
        return eng_out_of_memory("reading a batch");
    size_t at = 0;
    for (int k = 0; k < n; k++) {
        const char *t = recs[k]->src.text.text;
        size_t len = recs[k]->src.text.len;
        size_t lead = 0;
        while (lead < len && (t[lead] == ' ' || t[lead] == '\t'))
            lead++;
        if (lead < len && t[lead] == '[') /* one message, one event: an array would swallow the batch */
            len = 0;
        for (size_t i = 0; i < len; i++)
            buf[at + i] = t[i] == '\n' || t[i] == '\r' ? ' ' : t[i];
        at += len;
        buf[at++] = '\n';
    }
    eqlite_reader_options o;
    char name[400];
    snprintf(name, sizeof name, "%s/%s", w->a.stream, p->key);
    eng_reader_options(p->e, &o, name);
    eqlite_reader *rd;
    char err[512];
    if (eqlite_reader_open_memory(buf, at, &o, &rd, err, sizeof err) != EQLITE_OK) {
        free(buf);
        fprintf(stderr, "eqlite worker: %s: %s\n", name, err);
        return 2;
    }
    void *ctx[2] = {p, w};
    int status = 0;
    for (;;) {
        eqlite_event ev;
        eqlite_record rec;
        int k = eqlite_reader_next(rd, &ev, &rec);
        if (k == EQLITE_READ_EOF || k == EQLITE_READ_FATAL)
            break;
        if (rec.number < 1 || rec.number > (uint64_t)n)
            continue;
        wk_record *r = recs[rec.number - 1];
        if (k == EQLITE_READ_BAD) {
            eng_report_bad(p->e, r->id, r->seq, rec.reason);
            w->bad++;
            continue;
        }
        ev.user = r;
        w->events++;
        if (rec.notice[0]) /* a value ignored (ignore_malformed): said once per field, as query does */
            eng_note_malformed(p->e, r->id, r->seq, rec.notice);
        eqlite_status st = eqlite_scanner_match(p->sc, &ev, on_alert, ctx);
        if (st == EQLITE_EORDER) {
            w->out_of_order++;
            eng_report_bad(p->e, name, r->seq, "event out of (timestamp, tiebreaker) order");
        } else if (st != EQLITE_OK) {
            fprintf(stderr, "eqlite worker: %s: stream sequence %llu: cannot evaluate the rules: %s\n", name,
                    (unsigned long long)r->seq, eqlite_strerror(st));
            status = 2;
            break;
        }
        if (w->status)
            break;
    }
    eqlite_reader_close(rd);
    free(buf);
    return status ? status : w->status;
}

/* Acknowledges what it can, then replays partition p from its ack floor. */
static void replay(worker *w, wk_part *p, const char *why)
{
    fprintf(stderr, "eqlite worker %s: %s: %s; replaying from stream sequence %llu\n", w->id, p->key, why,
            (unsigned long long)p->acked_seq + 1);
    if (alerts_stored(w))
        ack_floor(p);
    restart(w, p);
}

/* Partition p got nothing for a while: does its consumer say it delivered
 * more than arrived (twice, QUIET_CHECK apart: a fetch's answer may still
 * be on its way), or is the consumer gone? */
static void check_quiet(worker *w, wk_part *p)
{
    p->next_check = nu_now() + QUIET_CHECK;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, w->js, w->a.stream, p->consumer, NULL, &jerr);
    uint64_t delivered = s == NATS_OK ? ci->Delivered.Consumer : 0;
    jsConsumerInfo_Destroy(ci);
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) {
        replay(w, p, "its consumer is gone");
    } else if (s != NATS_OK || delivered <= p->last_cseq) { /* no answer, or nothing missing */
        p->suspect_cseq = 0;
    } else if (p->suspect_cseq > p->last_cseq) {
        replay(w, p, "the last deliveries went missing");
    } else {
        p->suspect_cseq = delivered;
    }
}

/* One fetch from partition p; returns the number of new events fed. */
static int pull(worker *w, wk_part *p)
{
    natsMsgList list = {0};
    jsFetchRequest fr;
    jsFetchRequest_Init(&fr);
    fr.Batch = w->a.batch;
    fr.NoWait = true;
    fr.Expires = 0; /* with NoWait: the server answers at once with what it has */
    double t0 = nu_now();
    natsStatus s = natsSubscription_FetchRequest(&list, p->sub, &fr);
    w->t_nats += nu_now() - t0;
    if (s != NATS_OK && list.Count == 0) {
        /* nothing there (or a server is away): ask again later, sooner once busy */
        p->next_poll = nu_now() + 0.01 * (1 << (p->empty_streak < 5 ? p->empty_streak : 5));
        p->empty_streak++;
        if (nu_now() >= p->next_check)
            check_quiet(w, p);
        return 0;
    }
    p->empty_streak = 0;
    p->next_check = nu_now() + QUIET_CHECK;
    int n = 0;
    bool gap = false;
    for (int k = 0; k < list.Count; k++) {
        natsMsg *m = list.Msgs[k];
        list.Msgs[k] = NULL; /* ours now: kept or destroyed here */
        jsMsgMetaData *meta = NULL;
        if (gap || natsMsg_GetMetaData(&meta, m) != NATS_OK) {
            natsMsg_Destroy(m);
            continue;
        }
        uint64_t seq = meta->Sequence.Stream, cseq = meta->Sequence.Consumer;
        jsMsgMetaData_Destroy(meta);
        if (cseq != p->last_cseq + 1) {
            gap = cseq > p->last_cseq + 1; /* a delivery never arrived: restart from the floor */
            natsMsg_Destroy(m);
            continue;
        }
        p->last_cseq = cseq;
        if (seq <= p->last_seq) { /* a redelivery of an event already fed */
            if (seq > p->acked_seq && !in_queue(p, seq))
                gap = true;
            natsMsg_Destroy(m);
            continue;
        }
        wk_record *r = calloc(1, sizeof *r);
        if (!r) {
            natsMsg_Destroy(m);
            gap = true; /* replay it later rather than lose it */
            continue;
        }
        const char *id = NULL;
        if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id)
            snprintf(r->id, sizeof r->id, "%s", id);
        else
            snprintf(r->id, sizeof r->id, "seq-%llu", (unsigned long long)seq);
        r->msg = m;
        r->seq = seq;
        r->src.text.text = natsMsg_GetData(m);
        r->src.text.len = (size_t)natsMsg_GetDataLength(m);
        r->src.id = r->id;
        r->src.id_len = strlen(r->id);
        append(p, r);
        p->batch[n++] = r;
        p->last_seq = seq;
    }
    natsMsgList_Destroy(&list);
    if (n && w->first_event == 0)
        w->first_event = nu_now();
    t0 = nu_now();
    int fs = n ? feed(w, p, p->batch, n) : 0;
    w->t_engine += nu_now() - t0;
    if (fs != 0 && w->status == 0)
        w->status = 2;
    if (gap && w->status == 0)
        replay(w, p, "a delivery went missing");
    return n;
}

/* End of stream (--exit-idle): settles sequences, samples and tail. */
static void settle(worker *w)
{
    for (int k = 0; k < w->nparts; k++) {
        wk_part *p = &w->parts[k];
        void *ctx[2] = {p, w};
        if (p->owned && eqlite_scanner_flush(p->sc, on_alert, ctx) != EQLITE_OK && w->status == 0)
            w->status = 2;
    }
}

/* ---- setup ----------------------------------------------------------- */

static int open_stream(worker *w)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = nu_stream_info(w->js, w->a.stream, &si, &jerr);
    if (s == NATS_NOT_FOUND) {
        fprintf(stderr, "eqlite worker: no stream %s (eqlite publish makes it)\n", w->a.stream);
        return 2;
    }
    if (s != NATS_OK)
        return nu_fail("stream info", s, jerr);
    bool ours = nu_layout_parse(si->Config->Description, &w->layout);
    int64_t replicas = si->Config->Replicas;
    jsStreamInfo_Destroy(si);
    if (!ours) {
        fprintf(stderr, "eqlite worker: stream %s was not made by eqlite publish\n", w->a.stream);
        return 2;
    }
    char name[300];
    snprintf(name, sizeof name, "%s_ALERTS", w->a.stream);
    const char *alerts_stream = w->a.alerts_stream ? w->a.alerts_stream : name;
    s = nu_stream_info(w->js, alerts_stream, &si, &jerr);
    jsStreamInfo_Destroy(si);
    if (s == NATS_NOT_FOUND) {
        const char *subjects[] = {w->a.alerts};
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        cfg.Name = alerts_stream;
        cfg.Description = "eqlite alerts";
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Replicas = replicas;
        cfg.Duplicates = w->a.dedup_seconds * 1000000000LL;
        s = nu_add_stream(w->js, &cfg, &jerr);
        if (s != NATS_OK && jerr != JSStreamNameExistErr)
            return nu_fail("creating the alert stream", s, jerr);
    } else if (s != NATS_OK) {
        return nu_fail("alert stream info", s, jerr);
    }
    w->replicas = (int)replicas;
    return 0;
}

static int make_parts(worker *w)
{
    w->nparts = w->layout.partitions + (w->rules.nall ? 1 : 0);
    w->parts = calloc((size_t)w->nparts, sizeof *w->parts);
    if (!w->parts)
        return eng_out_of_memory("setting up the partitions");
    for (int k = 0; k < w->nparts; k++) {
        wk_part *p = &w->parts[k];
        p->index = k;
        if (k < w->layout.partitions) {
            snprintf(p->key, sizeof p->key, "p.%d", k);
            nu_partition_subject(w->a.stream, k, p->subject, sizeof p->subject);
            p->e = &w->rules.part;
        } else {
            snprintf(p->key, sizeof p->key, "p.all");
            snprintf(p->subject, sizeof p->subject, "%s.p.*", w->a.stream);
            p->e = &w->rules.all;
        }
        if (!(p->batch = calloc((size_t)w->a.batch, sizeof *p->batch)))
            return eng_out_of_memory("setting up the partitions");
    }
    if (!(w->leases = calloc((size_t)w->nparts, sizeof *w->leases)))
        return eng_out_of_memory("setting up the partitions");
    for (int k = 0; k < w->nparts; k++)
        snprintf(w->leases[k].key, sizeof w->leases[k].key, "%s", w->parts[k].key);
    return 0;
}

/* Whether every owned partition's consumer positively says nothing is left
 * to deliver (a server that does not answer, say during a leader election,
 * is not "nothing left"). */
static bool drained(worker *w)
{
    for (int k = 0; k < w->nparts; k++) {
        wk_part *p = &w->parts[k];
        if (!p->owned)
            continue;
        jsConsumerInfo *ci = NULL;
        jsErrCode jerr = 0;
        bool empty = js_GetConsumerInfo(&ci, w->js, w->a.stream, p->consumer, NULL, &jerr) == NATS_OK &&
                     ci->NumPending == 0 && ci->Delivered.Consumer <= p->last_cseq;
        jsConsumerInfo_Destroy(ci);
        if (!empty)
            return false;
    }
    return true;
}

/* Once every alert so far is stored, acknowledges what each partition can. */
static void ack_round(worker *w)
{
    if (alerts_stored(w))
        for (int k = 0; k < w->nparts; k++)
            if (w->parts[k].owned)
                ack_floor(&w->parts[k]);
}

static int run(worker *w)
{
    /* workers started together see each other before the first claims,
     * rather than one taking every partition and handing most back */
    nu_sleep_ms((int)(w->a.lease_ttl * 1000 / 6));
    tick(w);
    while (!g_stop && w->status == 0) {
        wl_alive(&w->keeper);
        if (nu_now() - w->last_tick >= w->a.lease_ttl / 3)
            tick(w);
        drop_lost(w);
        int got = 0;
        for (int k = 0; k < w->nparts && w->status == 0; k++)
            if (w->parts[k].owned && nu_now() >= w->parts[k].next_poll)
                got += pull(w, &w->parts[k]);
        if (got) {
            double t0 = nu_now();
            ack_round(w);
            w->last_activity = w->last_round = nu_now();
            w->t_nats += w->last_round - t0;
            continue;
        }
        if (w->a.exit_idle > 0 && w->all_owned && nu_now() - w->last_activity >= w->a.exit_idle && drained(w)) {
            settle(w);
            ack_round(w);
            break;
        }
        nu_sleep_ms(20);
    }
    for (int k = 0; k < w->nparts; k++)
        if (w->parts[k].owned)
            release(w, &w->parts[k]);
    return w->status;
}

int cmd_worker(int argc, char **argv)
{
    worker w;
    memset(&w, 0, sizeof w);
    int status = parse_args(argc, argv, &w.a);
    if (status >= 0)
        return status;
    nu_pub_init(&w.pub);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    for (char *c = host; *c; c++) /* lease keys allow [-_=/.a-zA-Z0-9] */
        if (!(*c == '-' || *c == '_' || (*c >= '0' && *c <= '9') || ((*c | 32) >= 'a' && (*c | 32) <= 'z')))
            *c = '_';
    snprintf(w.id, sizeof w.id, "%.40s-%ld-%lx", host, (long)getpid(), (unsigned long)(nu_now() * 1e6) & 0xffffff);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    w.nc = nu_connect(w.a.urls, "eqlite worker");
    if (!w.nc) {
        nu_pub_free(&w.pub);
        return 2;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    nu_pub_options(&w.pub, &jo);
    natsStatus s = natsConnection_JetStream(&w.js, w.nc, &jo);
    status = s == NATS_OK ? open_stream(&w) : nu_fail("JetStream", s, 0);
    eng_options opt = {0};
    opt.timestamp_field = w.a.timestamp_field;
    if (status == 0)
        status = wr_load(&w.rules, w.a.rules, &opt, w.layout.field);
    if (status == 0) {
        fprintf(stderr,
                "eqlite worker %s: %zu rules: %zu event queries and %zu sequences/samples joined by %s run per "
                "partition (%d); %zu cross partitions and run on the partition-of-all\n",
                w.id, w.rules.npart + w.rules.nall, w.rules.event_queries, w.rules.joined_by_field, w.layout.field,
                w.layout.partitions, w.rules.cross_partition);
        status = make_parts(&w);
    }
    if (status == 0)
        status = wl_open(&w.keeper, w.a.urls, w.a.stream, w.replicas, w.id, w.a.lease_ttl, w.leases, w.nparts);
    double start = nu_now();
    w.last_activity = start;
    if (status == 0)
        status = run(&w);
    double busy = w.last_round > w.first_event ? w.last_round - w.first_event : 0;
    fprintf(stderr,
            "eqlite worker %s: events %llu, alerts %llu (JetStream dropped %llu repeats), bad %llu, out of order "
            "%llu, partitions taken %llu, restarts %llu; %.3f s first event to last acknowledged round, %.0f "
            "events/s; rules %.3f s, NATS round trips %.3f s\n",
            w.id, (unsigned long long)w.events, (unsigned long long)w.alerts, (unsigned long long)w.pub.duplicates,
            (unsigned long long)w.bad, (unsigned long long)w.out_of_order, (unsigned long long)w.takeovers,
            (unsigned long long)w.restarts, busy, busy > 0 ? (double)w.events / busy : 0.0, w.t_engine, w.t_nats);
    for (int k = 0; k < w.nparts; k++) {
        if (w.parts[k].owned)
            drop(&w.parts[k]);
        free(w.parts[k].batch);
    }
    free(w.parts);
    wl_close(&w.keeper); /* after the hand-overs: leases are renewed until then */
    free(w.leases);
    eq_strbuf_free(&w.json);
    wr_free(&w.rules);
    jsCtx_Destroy(w.js);
    natsConnection_Destroy(w.nc);
    nu_pub_free(&w.pub);
    return status;
}
