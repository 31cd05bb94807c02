/* opcodes.h: THE opcode list. One X-macro generates the enum, the name
 * table, the disassembler's operand formats and the VM's dispatch table.
 * Operands: a (field id / jump target / constant), b (constant / pattern set),
 * x and y small operands. Format letters: F field a, K constant b, P pattern
 * set b, L label a, x/y small operands, C call (x fn, y argc, b aux).
 * Stack effect is in values; acc is the tri-state register (0 F, 1 T, 2 null). */
#ifndef EQ_OPCODES_H
#define EQ_OPCODES_H

#define EQ_OPCODES(X)                                                                              \
    X(RET, "", 0)            /* return acc */                                                      \
    X(RET_VALUE, "", -1)     /* return the top value (constant folding, eval) */                   \
    X(JUMP, "L", 0)                                                                                \
    X(JF, "L", 0)            /* jump if acc is false */                                            \
    X(JNT, "L", 0)           /* jump if acc is not true (null counts as false) */                  \
    X(JT, "L", 0)            /* jump if acc is true */                                             \
    X(SET_ACC, "x", 0)                                                                             \
    X(NOT, "", 0)            /* three-valued not */                                                \
    X(PUSH_ACC, "", 1)       /* acc as a boolean/null value */                                     \
    X(AND3, "", -1)          /* acc = pop and acc */                                               \
    X(OR3, "", -1)           /* acc = pop or acc */                                                \
    X(TRUTH, "", -1)         /* acc = pop as a condition */                                        \
    X(LOAD_FIELD, "F", 1)                                                                          \
    X(LOAD_TS, "", 1)                                                                              \
    X(LOAD_CONST, "K", 1)                                                                          \
    X(CMP, "x", -2)          /* acc = pop2 compared by op x (y=2: nulls equal)*/                    \
    X(IS_NULL, "", -1)                                                                             \
    X(NOT_NULL, "", -1)                                                                            \
    X(IN, "Kn", -1)          /* acc = pop == any of y constants from b */                          \
    X(MATCH, "P", -1)        /* acc = pop matches pattern set b */                                 \
    X(ARITH, "x", -1)                                                                              \
    X(NEG, "", 0)                                                                                  \
    X(CALL, "C", 0)          /* pops y arguments, pushes the result */                             \
    X(F_IS_NULL, "F", 0)                                                                           \
    X(F_NOT_NULL, "F", 0)                                                                          \
    X(F_STR_EQ, "FK", 0)     /* field == "constant" (any element); x=1: guard, see below */        \
    X(F_STR_EQ_I, "FK", 0)   /* field : "constant" without wildcards (folded); x=1: guard */       \
    X(F_MATCH, "FP", 0)      /* field in / : / like / regex pattern set b */                       \
    X(F_CMP, "FKx", 0)       /* field <op x> constant (y=1: as dates) */                           \
    X(F_IN, "FKn", 0)        /* field == any of y constants from b */

/* Guards: codegen sets x = 1 on the leading F_STR_EQ / F_STR_EQ_I of a
 * filter that are each followed by a JNT whose target is a RET. The VM's
 * entry (eq_vm_run, eqlite_match) runs such a prefix in a tight loop before
 * entering the interpreter; the instructions mean the same either way, and
 * the disassembly does not show the mark. */

typedef enum eq_opcode {
#define EQ_OP_ENUM(name, fmt, effect) OP_##name,
    EQ_OPCODES(EQ_OP_ENUM)
#undef EQ_OP_ENUM
        OP__COUNT
} eq_opcode;

#endif
