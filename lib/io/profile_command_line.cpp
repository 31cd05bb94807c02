// profile_command_line.cpp: the `args` operation's split of a command line.

#include "io/profile_internal.h"

namespace eqio {

// CommandLineToArgvW as Windows (and Wine, which copies it) implements it:
// the program name ends at the first blank outside quotes and takes no
// escapes; after it, 2n backslashes before a quote give n and the quote
// toggles quoting, 2n+1 give n and a literal quote, and inside quotes a
// doubled quote is a literal one.
size_t command_line_to_argv(std::string_view cmd, char *text, std::vector<size_t> *ends) {
    // The argument being read is text[ends->back() (or 0) .. len); it ends
    // when its end is pushed. Each byte written consumes a byte of cmd.
    ends->clear();
    size_t len = 0;
    size_t i = 0, n = cmd.size();
    // program name
    if (i < n && cmd[i] == '"') {
        for (i++; i < n && cmd[i] != '"'; i++) text[len++] = cmd[i];
        if (i < n) i++;
    } else {
        for (; i < n && cmd[i] != ' ' && cmd[i] != '\t'; i++) text[len++] = cmd[i];
    }
    ends->push_back(len);
    while (i < n && (cmd[i] == ' ' || cmd[i] == '\t')) i++;
    if (i >= n) return len;
    int qcount = 0;
    size_t bcount = 0;
    bool in_arg = true;
    while (i < n) {
        char c = cmd[i];
        if ((c == ' ' || c == '\t') && qcount == 0) {
            ends->push_back(len);
            bcount = 0;
            while (i < n && (cmd[i] == ' ' || cmd[i] == '\t')) i++;
            in_arg = i < n;
            continue;
        }
        if (c == '\\') {
            text[len++] = c;
            bcount++;
            i++;
        } else if (c == '"') {
            if ((bcount & 1) == 0) {
                len -= bcount / 2;
                qcount++;
            } else {
                len -= bcount / 2 + 1;
                text[len++] = '"';
            }
            i++;
            bcount = 0;
            while (i < n && cmd[i] == '"') {
                if (++qcount == 3) {
                    text[len++] = '"';
                    qcount = 0;
                }
                i++;
            }
            if (qcount == 2) qcount = 0;
        } else {
            text[len++] = c;
            bcount = 0;
            i++;
        }
    }
    if (in_arg) ends->push_back(len);
    return len;
}

void command_line_to_argv(std::string_view cmd, std::vector<std::string> *args) {
    std::string text(cmd.size(), '\0');
    std::vector<size_t> ends;
    command_line_to_argv(cmd, text.data(), &ends);
    args->clear();
    for (size_t k = 0, from = 0; k < ends.size(); from = ends[k++]) args->push_back(text.substr(from, ends[k] - from));
}

} // namespace eqio
