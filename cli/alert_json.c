/* alert_json.c: alerts in the shape of `eqlite query -r` (cli/query.c,
 * write_result with -r); the cluster test compares the two byte for byte. */
#include "alert_json.h"

#include <string.h>

#include "nats_util.h"

static void write_event(eq_strbuf *out, const eqlite_event *ev)
{
    if (!ev) {
        eq_strbuf_str(out, "{\"missing\":true}");
        return;
    }
    const alert_source *src = ev->user;
    eq_strbuf_bytes(out, src->text.text, src->text.len);
}

void alert_json(eq_strbuf *out, const eng_rule *rule, const eqlite_result *r)
{
    bool single = rule->kind == 0 && r->nevents == 1;
    eq_strbuf_str(out, "{\"rule_id\":");
    ob_json_string(out, rule->id, strlen(rule->id));
    eq_strbuf_str(out, ",\"rule_name\":");
    ob_json_string(out, rule->name, rule->name ? strlen(rule->name) : 0);
    if (single) {
        eq_strbuf_str(out, ",\"event\":");
        write_event(out, r->events[0]);
        eq_strbuf_char(out, '}');
        return;
    }
    eq_strbuf_str(out, ",\"join_keys\":[");
    for (size_t k = 0; k < r->nkeys; k++) {
        if (k)
            eq_strbuf_char(out, ',');
        ob_json_value(out, &r->keys[k]);
    }
    eq_strbuf_str(out, "],\"events\":[");
    for (size_t k = 0; k < r->nevents; k++) {
        if (k)
            eq_strbuf_char(out, ',');
        write_event(out, r->events[k]);
    }
    eq_strbuf_str(out, "]}");
}

void alert_id(const eng_rule *rule, const eqlite_result *r, char out[33])
{
    nu_hasher h;
    nu_hash_init(&h);
    nu_hash_add(&h, rule->id, strlen(rule->id) + 1); /* the NUL keeps the parts apart */
    for (size_t k = 0; k < r->nevents; k++) {
        const alert_source *src = r->events[k] ? r->events[k]->user : NULL;
        if (src)
            nu_hash_add(&h, src->id, src->id_len);
        else
            nu_hash_add(&h, "-", 1);
        nu_hash_add(&h, "", 1);
    }
    nu_hash_hex_final(&h, out);
}
