/* libFuzzer target for the rule-file readers: any bytes read as a
 * detection-rules TOML file (toml11) and as a JSON rule record must end in
 * rules or an error, never a crash, a hang or a leak. */
#include <stdint.h>
#include <string.h>

#include "cli/rule_record.h"
#include "cli/rules_toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[256];
    eq_toml_file file;
    if (eq_toml_file_parse("fuzz.toml", text, size, &file, err, sizeof err) == 0) {
        for (size_t k = 0; k < file.n; k++) /* query_len bytes and a terminator (ASan checks the reads) */
            if (memchr(file.queries[k].query, 0, file.queries[k].query_len + 1) == NULL)
                __builtin_trap();
        eq_toml_file_free(&file);
    }
    eq_rule_record rec;
    if (eq_rule_record_parse(text, size, &rec, err, sizeof err) == 0)
        eq_rule_record_free(&rec);
    eq_rule_kind kind;
    eq_rule_record_kind(text, size, &kind);
    return 0;
}
