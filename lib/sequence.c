/* sequence.c: streaming evaluation for every query kind. Event queries run
 * the filter and pass results through the pipes. */
#include "sequence.h"

#include <string.h>

typedef struct seq_state {
    uint64_t emitted; /* results passed through head */
    uint64_t head;    /* smallest head limit, UINT64_MAX if none */
    bool stopped;
} seq_state;

eqlite_status eq_seq_init(eqlite_matcher *m)
{
    seq_state *s = eq_malloc(m->alloc, sizeof *s);
    if (!s)
        return EQLITE_ENOMEM;
    memset(s, 0, sizeof *s);
    s->head = UINT64_MAX;
    for (uint32_t k = 0; k < m->program->npipes; k++)
        if (!m->program->pipes[k].tail && m->program->pipes[k].n < s->head)
            s->head = m->program->pipes[k].n;
    m->seq = s;
    return EQLITE_OK;
}

void eq_seq_release(eqlite_matcher *m)
{
    if (m->seq)
        eq_free(m->alloc, m->seq);
    m->seq = NULL;
}

eqlite_status eq_seq_feed(eqlite_matcher *m, const eqlite_event *ev, eqlite_callback cb, void *user)
{
    seq_state *s = m->seq;
    const eqlite_program *prog = m->program;
    if (prog->kind != Q_EVENT)
        return EQLITE_EMISUSE; /* sequences and samples: see issue #4 */
    for (uint32_t k = 0; k < prog->npipes; k++)
        if (prog->pipes[k].tail)
            return EQLITE_EMISUSE;
    m->stats.events++;
    if (s->stopped || s->emitted >= s->head)
        return EQLITE_OK;
    eq_vm_reset(m);
    if (eq_vm_run(m, prog->terms[0].filter_pc, ev) != 1)
        return EQLITE_OK;
    m->stats.matches++;
    s->emitted++;
    if (cb) {
        const eqlite_event *events[1] = {ev};
        eqlite_result r = {prog, 1, events, 0, NULL};
        if (cb(user, &r) != 0)
            s->stopped = true;
    }
    return EQLITE_OK;
}

eqlite_status eq_seq_flush(eqlite_matcher *m, eqlite_callback cb, void *user)
{
    (void)m;
    (void)cb;
    (void)user;
    return EQLITE_OK;
}
