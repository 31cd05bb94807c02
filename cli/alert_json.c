/* alert_json.c: alerts in the shape of `eqlite query -r` (result_out.c); the
 * cluster test compares the two byte for byte. */
#include "alert_json.h"

#include <string.h>

#include "nats_util.h"
#include "result_out.h"

void alert_json(eq_strbuf *out, const eng_rule *rule, const eqlite_result *r)
{
    /* join keys as plain JSON values: the bytes alerts have always had */
    ro_result_json(out, NULL, 0, rule, r);
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
