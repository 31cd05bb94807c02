/* functions.h: THE function list (one X-macro): id, ES name (lower case, as
 * ES prints it), spelling for fmt, min and max arity (-1 = unbounded), whether
 * a `~` variant exists, and the arity phrase of ES's error message. */
#ifndef EQ_FUNCTIONS_H
#define EQ_FUNCTIONS_H

#define EQ_FUNCTIONS(X)                                                                            \
    X(ADD, "add", "add", 2, 2, 0, "expects exactly two arguments")                                 \
    X(BETWEEN, "between", "between", 3, 4, 1, "expects three or four arguments")                   \
    X(CIDRMATCH, "cidrmatch", "cidrMatch", 2, -1, 0, "expects at least two arguments")             \
    X(CONCAT, "concat", "concat", 1, -1, 0, "expects at least one argument")                       \
    X(DIVIDE, "divide", "divide", 2, 2, 0, "expects exactly two arguments")                        \
    X(ENDSWITH, "endswith", "endsWith", 2, 2, 1, "expects exactly two arguments")                  \
    X(INDEXOF, "indexof", "indexOf", 2, 3, 1, "expects two or three arguments")                    \
    X(LENGTH, "length", "length", 1, 1, 0, "expects exactly one argument")                         \
    X(MODULO, "modulo", "modulo", 2, 2, 0, "expects exactly two arguments")                        \
    X(MULTIPLY, "multiply", "multiply", 2, 2, 0, "expects exactly two arguments")                  \
    X(NUMBER, "number", "number", 1, 2, 0, "expects one or two arguments")                         \
    X(STARTSWITH, "startswith", "startsWith", 2, 2, 1, "expects exactly two arguments")            \
    X(STRING, "string", "string", 1, 1, 0, "expects exactly one argument")                         \
    X(STRINGCONTAINS, "stringcontains", "stringContains", 2, 2, 1, "expects exactly two arguments") \
    X(SUBSTRING, "substring", "substring", 2, 3, 0, "expects two or three arguments")              \
    X(SUBTRACT, "subtract", "subtract", 2, 2, 0, "expects exactly two arguments")

typedef enum eq_function {
#define EQ_FN_ENUM(id, name, spelling, min, max, tilde, arity) FN_##id,
    EQ_FUNCTIONS(EQ_FN_ENUM)
#undef EQ_FN_ENUM
        FN__COUNT
} eq_function;

typedef struct eq_function_info {
    const char *name;
    const char *spelling;
    int min_args, max_args;
    int has_tilde;
    const char *arity_message;
} eq_function_info;

extern const eq_function_info eq_functions[FN__COUNT];

#endif
