// Conformance: every constant expression of Elasticsearch's folding and string
// function suites gives its expected value; every verifier failure is rejected.
#include <criterion/criterion.h>
#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <string>

extern "C" {
#include "support.h"
}

static std::string expected_json(simdjson::dom::element e)
{
    switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE: return "null";
    case simdjson::dom::element_type::BOOL: return bool(e) ? "true" : "false";
    case simdjson::dom::element_type::INT64: return std::to_string(int64_t(e));
    case simdjson::dom::element_type::UINT64: return std::to_string(uint64_t(e));
    case simdjson::dom::element_type::DOUBLE: {
        eqlite_value v = {EQLITE_DOUBLE, 0, {}};
        v.u.d = double(e);
        char out[64];
        value_to_json(&v, out, sizeof out);
        return out;
    }
    case simdjson::dom::element_type::STRING: return "\"" + std::string(std::string_view(e)) + "\"";
    default: return "?";
    }
}

static void run_suite(const char *rel)
{
    simdjson::dom::parser parser;
    simdjson::dom::element doc = parser.load(shared_path(rel));
    size_t pass = 0, total = 0;
    for (simdjson::dom::element t : doc["tests"].get_array()) {
        std::string expr{std::string_view(t["expression"])};
        std::string want = expected_json(t["expected"]);
        std::string got = eval_json(expr.c_str());
        total++;
        if (got == want)
            pass++;
        else
            cr_log_error("%s: %s => %s, expected %s", rel, expr.c_str(), got.c_str(), want.c_str());
    }
    size_t rejected = 0, failures = 0;
    for (simdjson::dom::element t : doc["verifier_failures"].get_array()) {
        std::string expr{std::string_view(t["expression"])};
        std::string got = eval_json(expr.c_str());
        failures++;
        if (got.rfind("error:", 0) == 0)
            rejected++;
        else
            cr_log_error("%s: verifier failure %s was accepted (%s)", rel, expr.c_str(), got.c_str());
    }
    cr_log_info("%s: %zu/%zu expressions, %zu/%zu verifier failures rejected", rel, pass, total, rejected, failures);
    cr_expect_gt(total, 0u, "%s holds no expression to check", rel);
    cr_expect_eq(pass, total);
    cr_expect_eq(rejected, failures);
}

Test(conformance_expressions, folding_suite_gives_expected_values)
{
    run_suite("conformance/ready/expressions/test_folding.json");
}

Test(conformance_expressions, string_function_suite_gives_expected_values)
{
    run_suite("conformance/ready/expressions/test_string_functions.json");
}
