/* nats_pub.c: asynchronous, ordered publishing with acknowledgements (nats_pub.h). */
#define _DEFAULT_SOURCE
#include "nats_pub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSLOTS ((uint32_t)(sizeof ((nu_pub *)0)->slots / sizeof(int32_t)))

void nu_pub_init(nu_pub *p)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
}

void nu_pub_free(nu_pub *p)
{
    free(p->buf);
    free(p->msgs);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->changed);
}

void nu_pub_order(nu_pub *p, uint64_t stream_last)
{
    p->ordered = true;
    p->stream_last = stream_last;
}

static const char *msg_id(const nu_pub *p, size_t k)
{
    const char *subject = p->buf + p->msgs[k].off;
    return subject + strlen(subject) + 1;
}

static uint32_t id_slot(const char *id)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 0x100000001b3ULL;
    return (uint32_t)(h % NSLOTS);
}

/* The batch index of the message with this id, the first not yet stored
 * when the batch holds it twice; -1 if none (lock held). */
static int find(const nu_pub *p, const char *id)
{
    int found = -1;
    for (uint32_t s = id_slot(id), probes = 0; probes < NSLOTS && p->slots[s]; s = (s + 1) % NSLOTS, probes++) {
        int k = p->slots[s] - 1;
        if (!strcmp(msg_id(p, (size_t)k), id)) {
            if (!p->msgs[k].stored)
                return k;
            found = k;
        }
    }
    return found;
}

static void remember(nu_pub *p, size_t k)
{
    uint32_t s = id_slot(msg_id(p, k));
    while (p->slots[s])
        s = (s + 1) % NSLOTS;
    p->slots[s] = (int32_t)k + 1;
}

/* The library's ack thread. */
static void on_pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    nu_pub *p = closure;
    (void)js;
    const char *id = NULL;
    natsMsgHeader_Get(msg, "Nats-Msg-Id", &id);
    pthread_mutex_lock(&p->lock);
    if (pa) {
        p->acked++;
        int k = id ? find(p, id) : -1;
        if (k >= 0 && !p->msgs[k].stored) { /* counted once, by its first success */
            p->msgs[k].stored = true;
            if (pa->Duplicate)
                p->duplicates++;
            else
                p->stored_new++;
        }
        if (pa->Sequence > p->stream_last)
            p->stream_last = pa->Sequence;
    } else {
        p->failed++;
        p->last_error = pae ? pae->Err : NATS_ERR;
    }
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    natsMsg_Destroy(msg); /* this handler owns it; a failed one is sent again from our copy */
}

void nu_pub_options(nu_pub *p, jsOptions *jo)
{
    jo->PublishAsync.MaxPending = NU_PUB_BATCH;
    jo->PublishAsync.StallWait = 1000;
    jo->PublishAsync.AckHandler = on_pub_ack;
    jo->PublishAsync.AckHandlerClosure = p;
}

/* A publish that failed this way goes again: a stall while a leader is
 * elected, or a write on a connection the server reset before the client saw
 * it close (the client reconnects; the message id drops a copy that landed). */
static bool retryable(natsStatus s)
{
    return s == NATS_TIMEOUT || s == NATS_IO_ERROR || s == NATS_CONNECTION_DISCONNECTED || s == NATS_STALE_CONNECTION;
}

/* Sends message k of the batch in the current round. */
static natsStatus send_one(nu_pub *p, jsCtx *js, size_t k)
{
    nu_pub_msg *m = &p->msgs[k];
    const char *subject = p->buf + m->off;
    const char *id = subject + strlen(subject) + 1;
    const char *body = id + strlen(id) + 1;
    size_t end = k + 1 < p->n ? p->msgs[k + 1].off : p->len;
    natsMsg *msg = NULL;
    natsStatus s = natsMsg_Create(&msg, subject, NULL, body, (int)(end - 1 - (size_t)(body - p->buf)));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(msg, "Nats-Msg-Id", id);
    pthread_mutex_lock(&p->lock);
    uint64_t position = ++p->round_count, base = p->round_base;
    pthread_mutex_unlock(&p->lock);
    if (s == NATS_OK && p->ordered && position > 1) { /* the round's first has all before it stored */
        char seq[24];
        snprintf(seq, sizeof seq, "%llu", (unsigned long long)(base + position - 1));
        s = natsMsgHeader_Set(msg, "Nats-Expected-Last-Sequence", seq);
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 5000; /* an ack that never comes is a failure: the message goes again */
    for (int attempt = 0; s == NATS_OK || (retryable(s) && attempt < 120); attempt++) {
        if (s != NATS_OK && s != NATS_TIMEOUT)
            nu_sleep_ms(250); /* the client reconnects meanwhile */
        s = js_PublishMsgAsync(js, &msg, &po); /* stalls while a leader is elected */
        if (!retryable(s))
            break;
    }
    natsMsg_Destroy(msg); /* NULL once the library has it */
    if (s == NATS_OK)
        p->sent++;
    return s;
}

static bool reserve(void **ptr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *grown = realloc(*ptr, c * size);
    if (!grown)
        return false;
    *ptr = grown;
    *cap = c;
    return true;
}

natsStatus nu_pub_add(nu_pub *p, jsCtx *js, const char *subject, const char *id, const void *data, size_t len)
{
    size_t ls = strlen(subject) + 1, li = strlen(id) + 1;
    /* the ack thread reads buf and msgs (matching ids): they move only under the lock */
    pthread_mutex_lock(&p->lock);
    if (!reserve((void **)&p->buf, &p->cap, p->len + ls + li + len + 1, 1) ||
        !reserve((void **)&p->msgs, &p->capmsgs, p->n + 1, sizeof *p->msgs)) {
        pthread_mutex_unlock(&p->lock);
        return NATS_NO_MEMORY;
    }
    if (p->n == 0) { /* a new batch: its first round */
        memset(p->slots, 0, sizeof p->slots);
        p->round_base = p->stream_last;
        p->round_count = 0;
    }
    nu_pub_msg *m = &p->msgs[p->n];
    memset(m, 0, sizeof *m);
    m->off = p->len;
    memcpy(p->buf + p->len, subject, ls);
    memcpy(p->buf + p->len + ls, id, li);
    memcpy(p->buf + p->len + ls + li, data, len);
    p->len += ls + li + len;
    p->buf[p->len++] = '\0';
    p->n++;
    remember(p, p->n - 1);
    pthread_mutex_unlock(&p->lock);
    natsStatus s = send_one(p, js, p->n - 1);
    if (s == NATS_OK && p->n >= NU_PUB_BATCH && !nu_pub_flush(p, js, 60))
        s = p->last_error ? p->last_error : NATS_TIMEOUT;
    return s;
}

bool nu_pub_flush(nu_pub *p, jsCtx *js, double give_up)
{
    double since = nu_now();
    bool ok = true;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        uint64_t want = p->round_count, seen = p->acked + p->failed;
        while (p->acked + p->failed < want && nu_now() - since < give_up) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->changed, &p->lock, &until);
            if (p->acked + p->failed != seen) {
                seen = p->acked + p->failed;
                since = nu_now();
            }
        }
        bool answered = p->acked + p->failed >= want;
        size_t left = 0;
        for (size_t k = 0; k < p->n; k++)
            left += !p->msgs[k].stored;
        p->acked = p->failed = 0;
        p->round_base = p->stream_last; /* the next round's chain starts here */
        p->round_count = 0;
        pthread_mutex_unlock(&p->lock);
        if (left == 0)
            break;
        if (!answered) { /* a minute without an answer: give up, nothing is lost upstream */
            ok = false;
            break;
        }
        nu_sleep_ms(100); /* let a new leader settle, then what is missing, in order */
        natsStatus s = NATS_OK;
        for (size_t k = 0; k < p->n && s == NATS_OK; k++)
            if (!p->msgs[k].stored) { /* no ack is in flight: all were answered */
                s = send_one(p, js, k);
                p->resent++;
            }
        if (s != NATS_OK) {
            p->last_error = s;
            ok = false;
            break;
        }
    }
    pthread_mutex_lock(&p->lock);
    p->n = p->len = 0;
    pthread_mutex_unlock(&p->lock);
    return ok;
}
