/* sequence.h: streaming state for sequences, samples and pipes (per matcher). */
#ifndef EQ_SEQUENCE_H
#define EQ_SEQUENCE_H

#include "program.h"

eqlite_status eq_seq_init(eqlite_matcher *m);
void eq_seq_release(eqlite_matcher *m);
eqlite_status eq_seq_feed(eqlite_matcher *m, const eqlite_event *ev, eqlite_callback cb, void *user);
eqlite_status eq_seq_flush(eqlite_matcher *m, eqlite_callback cb, void *user);

#endif
