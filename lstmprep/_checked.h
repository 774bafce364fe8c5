/* Overflow-checked arithmetic on Py_ssize_t, shared by the C modules: *res = a + b (or
 * a * b), or return nonzero when that overflows, leaving *res unset. The compiler's builtins
 * where it has them (GCC, Clang), else the same checks by hand. Every size or offset the
 * modules compute from their input goes through these before it is used. */
#ifndef LSTMPREP_CHECKED_H
#define LSTMPREP_CHECKED_H

#include <Python.h>

static inline int
add_overflows(Py_ssize_t a, Py_ssize_t b, Py_ssize_t *res)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_add_overflow(a, b, res);
#else
    if ((b > 0 && a > PY_SSIZE_T_MAX - b) || (b < 0 && a < PY_SSIZE_T_MIN - b)) {
        return 1;
    }
    *res = a + b;
    return 0;
#endif
}

static inline int
mul_overflows(Py_ssize_t a, Py_ssize_t b, Py_ssize_t *res)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_mul_overflow(a, b, res);
#else
    if (a > 0 ? (b > 0 ? a > PY_SSIZE_T_MAX / b : b < PY_SSIZE_T_MIN / a)
              : (b > 0 ? a < PY_SSIZE_T_MIN / b : (a != 0 && b < PY_SSIZE_T_MAX / a))) {
        return 1;
    }
    *res = a * b;
    return 0;
#endif
}

#endif /* LSTMPREP_CHECKED_H */
