/* alert_json.h: an alert as the JSON line `eqlite query -r` prints for a
 * result, and its message id (JetStream drops a repeat of the same alert).
 *
 * Events carry an alert_source in eqlite_event.user: the event's JSON text
 * (first member, so the layout is that of eng_text) and the event's id (its
 * message id in the event stream). */
#ifndef EQ_CLI_ALERT_JSON_H
#define EQ_CLI_ALERT_JSON_H

#include "engine.h"
#include "outbuf.h"

typedef struct alert_source {
    eng_text text;
    const char *id;
    size_t id_len;
} alert_source;

/* {"rule_id":...,"rule_name":...,"event":EVENT} or
 * {"rule_id":...,"rule_name":...,"join_keys":[...],"events":[...]}, no newline. */
void alert_json(eq_strbuf *out, const eng_rule *rule, const eqlite_result *r);

/* 32 hex digits from the rule id and the ids of the events in order ("-"
 * for a missing position): a replayed event stream gives the same ids. */
void alert_id(const eng_rule *rule, const eqlite_result *r, char out[33]);

#endif
