/* nats_pub.h: asynchronous publishing to JetStream with acknowledgements.
 *
 * Messages are published asynchronously in batches whose text is kept here
 * until JetStream has stored every one of them. Every message carries a
 * Nats-Msg-Id. When an acknowledgement fails (a server died, a leader moved,
 * an ack timed out), the messages not yet stored are sent again in their
 * order, with the same ids: JetStream drops any it already has.
 *
 * Order: a message sent again can land after later messages of the same
 * subject that were stored on their first try. Chaining each message to
 * its predecessor's predicted sequence (Nats-Expected-Last-Subject-Sequence)
 * would prevent that; it works on one server, but on an R3 stream of
 * nats-server 2.9.10 pipelined messages with that header are rejected over
 * and over (191,693 re-sends for 3,000 events), so it is not used. */
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
    pthread_mutex_t lock; /* the library's ack thread writes acked, failed, stored */
    pthread_cond_t changed;
    uint64_t acked, failed;                        /* answers in the current round */
    uint64_t stored_new, duplicates, resent, sent; /* totals */
    char *buf;
    size_t len, cap;
    nu_pub_msg *msgs;
    size_t n, capmsgs;
    int32_t slots[NU_PUB_BATCH * 4]; /* message id hash -> index + 1, to match acks */
    uint64_t round_count;            /* messages sent in the current round */
    natsStatus last_error;
} nu_pub;

void nu_pub_init(nu_pub *p);
void nu_pub_free(nu_pub *p);
/* Fills the JetStream options that route acknowledgements to `p`. */
void nu_pub_options(nu_pub *p, jsOptions *jo);
/* Publishes one message; a full batch is waited for (nu_pub_flush).
 * NATS_OK or the error. */
natsStatus nu_pub_add(nu_pub *p, jsCtx *js, const char *subject, const char *id, const void *data, size_t len);
/* Until JetStream has stored every message of the batch, sending again what
 * failed. False after `give_up` seconds without an acknowledgement. */
bool nu_pub_flush(nu_pub *p, jsCtx *js, double give_up);

#endif
