/* nats_pub.h: asynchronous publishing to JetStream with acknowledgements.
 *
 * Messages are published asynchronously in batches whose text is kept here
 * until JetStream has stored every one of them. Every message carries a
 * Nats-Msg-Id. When an acknowledgement fails (a server died, a leader moved,
 * an ack timed out), the messages not yet stored are sent again in their
 * order, with the same ids: JetStream drops any it already has.
 *
 * Ordered publishing (nu_pub_order) keeps the stream in the order messages
 * were added, even when a failure hits the middle of a batch. Each message
 * of a round but the first carries Nats-Expected-Last-Sequence: the
 * stream's last sequence if every message sent before it in the round was
 * stored (the last sequence known at the round's start plus its position).
 * If one was lost, the stream's sequence differs and JetStream rejects the
 * message rather than store it ahead of the lost one; the next round sends
 * what is missing, in order. The first message of a round needs no header
 * (everything before it is stored), so every round makes progress. A wrong
 * guess (a duplicate takes no sequence; another publisher's messages take
 * some) only costs a round. The per-subject header would serve a stream
 * shared by several publishers better, but nats-server rejects it on a
 * clustered stream while an earlier message of the subject is in flight
 * (191,693 re-sends for 3,000 events on an R3 stream). */
#ifndef EQ_CLI_NATS_PUB_H
#define EQ_CLI_NATS_PUB_H

#include <pthread.h>

#include "nats_util.h"

#define NU_PUB_BATCH 1024

typedef struct nu_pub_msg {
    size_t off;  /* subject, id, body in buf, each NUL-terminated */
    bool stored; /* acknowledged (new or duplicate) */
} nu_pub_msg;

typedef struct nu_pub {
    pthread_mutex_t lock; /* the library's ack thread writes acked, failed, stored, stream_last */
    pthread_cond_t changed;
    uint64_t acked, failed;                        /* answers in the current round */
    uint64_t stored_new, duplicates, resent, sent; /* totals */
    char *buf;
    size_t len, cap;
    nu_pub_msg *msgs;
    size_t n, capmsgs;
    int32_t slots[NU_PUB_BATCH * 4]; /* message id hash -> index + 1, to match acks */
    bool ordered;
    uint64_t stream_last;            /* highest stream sequence acknowledged */
    uint64_t round_base, round_count; /* the chain's start, messages sent in the current round */
    natsStatus last_error;
} nu_pub;

void nu_pub_init(nu_pub *p);
void nu_pub_free(nu_pub *p);
/* Fills the JetStream options that route acknowledgements to `p`. */
void nu_pub_options(nu_pub *p, jsOptions *jo);
/* Keeps the stream in the order of nu_pub_add (see above); `stream_last`
 * is the stream's last sequence now. */
void nu_pub_order(nu_pub *p, uint64_t stream_last);
/* Publishes one message; a full batch is waited for (nu_pub_flush).
 * NATS_OK or the error. */
natsStatus nu_pub_add(nu_pub *p, jsCtx *js, const char *subject, const char *id, const void *data, size_t len);
/* Until JetStream has stored every message of the batch, sending again what
 * failed. False after `give_up` seconds without an acknowledgement. */
bool nu_pub_flush(nu_pub *p, jsCtx *js, double give_up);

#endif
