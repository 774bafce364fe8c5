/* The inner copy of lstmprep.padding: each sequence's kept timesteps, one memcpy per
 * sequence, into its row of the padded output. Optional: lstmprep.padding falls back to a
 * numpy masked copy when this module is not built.
 *
 * copy_rows(out, values, lengths, maxlen, pre_padding, pre_truncating)
 *   out      writable C-contiguous buffer of n * maxlen rows (padding already filled in)
 *   values   C-contiguous buffer of sum(lengths) rows of the same row size and dtype
 *   lengths  int64 buffer of n non-negative lengths
 *
 * Every argument is checked before anything is copied, and no size or offset is computed
 * without an overflow check: a hostile call raises ValueError or OverflowError, it never
 * reads or writes outside a buffer. Lengths whose sum wraps around 2**64 back to the
 * number of rows in `values` (issue #8) fail the overflow check on the running total.
 * As a second line of defence, each memcpy is checked against the buffers' sizes right
 * before it runs: the lengths are read again during the copy, without the GIL, and another
 * thread could have changed them since they were checked.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Overflow-checked arithmetic on Py_ssize_t: *res = a + b (or a * b), or return nonzero
 * when that overflows. The compiler's builtins where it has them (GCC, Clang), else the
 * same checks by hand. */
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

/* lengths[i], read with memcpy: the buffer need not be aligned for int64. */
static inline int64_t
length_at(const Py_buffer *lengths, Py_ssize_t i)
{
    int64_t v;
    memcpy(&v, (const char *)lengths->buf + i * (Py_ssize_t)sizeof(int64_t), sizeof(v));
    return v;
}

/* Whether [a, a + alen) and [b, b + blen) share a byte (memcpy must not see overlap). */
static int
overlaps(const void *a, Py_ssize_t alen, const void *b, Py_ssize_t blen)
{
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    if (alen == 0 || blen == 0) {
        return 0;
    }
    return pa < pb + (uintptr_t)blen && pb < pa + (uintptr_t)alen;
}

/* Where the copy of sequence `length` goes: `*from` bytes into values, `*to` bytes into
 * out, `*nbytes` bytes long; `src` is where the sequence starts in values (bytes). Returns
 * -1 if any of it overflows or falls outside the buffers. */
static int
plan_copy(Py_ssize_t i, int64_t length, Py_ssize_t src, Py_ssize_t maxlen, Py_ssize_t row_bytes,
          int pre_padding, int pre_truncating, Py_ssize_t values_len, Py_ssize_t out_len,
          Py_ssize_t *from, Py_ssize_t *to, Py_ssize_t *nbytes)
{
    Py_ssize_t kept, skip, cell, skip_bytes, end;
    if (length < 0 || (uint64_t)length > (uint64_t)PY_SSIZE_T_MAX) {
        return -1;
    }
    kept = (Py_ssize_t)length < maxlen ? (Py_ssize_t)length : maxlen;
    skip = pre_truncating ? (Py_ssize_t)length - kept : 0; /* timesteps dropped in front */
    /* from = src + skip * row_bytes */
    if (mul_overflows(skip, row_bytes, &skip_bytes) || add_overflows(src, skip_bytes, from)) {
        return -1;
    }
    /* to = (i * maxlen + padding in front) * row_bytes */
    if (mul_overflows(i, maxlen, &cell) ||
        add_overflows(cell, pre_padding ? maxlen - kept : 0, &cell) ||
        mul_overflows(cell, row_bytes, to)) {
        return -1;
    }
    /* nbytes = kept * row_bytes; both ends inside their buffers */
    if (mul_overflows(kept, row_bytes, nbytes)) {
        return -1;
    }
    if (src < 0 || *from < 0 || add_overflows(*from, *nbytes, &end) || end > values_len) {
        return -1;
    }
    if (*to < 0 || add_overflows(*to, *nbytes, &end) || end > out_len) {
        return -1;
    }
    return 0;
}

static PyObject *
copy_rows(PyObject *Py_UNUSED(self), PyObject *args)
{
    Py_buffer out, values, lengths;
    Py_ssize_t maxlen;
    int pre_padding, pre_truncating;
    if (!PyArg_ParseTuple(args, "w*y*y*npp", &out, &values, &lengths, &maxlen, &pre_padding,
                          &pre_truncating))
        return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n = lengths.len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t cells = 0, row_bytes = 0, total = 0, values_needed, check;
    int failed = 0;

    if (lengths.len % (Py_ssize_t)sizeof(int64_t)) {
        PyErr_Format(PyExc_ValueError, "lengths must be int64: %zd bytes is not a whole number",
                     lengths.len);
        goto done;
    }
    if (maxlen < 0) {
        PyErr_Format(PyExc_ValueError, "maxlen must be >= 0, got %zd", maxlen);
        goto done;
    }
    /* Each length non-negative, and their sum (in timesteps) without overflow. */
    for (Py_ssize_t i = 0; i < n; i++) {
        const int64_t length = length_at(&lengths, i);
        if (length < 0) {
            PyErr_Format(PyExc_ValueError, "lengths[%zd] = %lld is negative", i,
                         (long long)length);
            goto done;
        }
        if ((uint64_t)length > (uint64_t)PY_SSIZE_T_MAX ||
            add_overflows(total, (Py_ssize_t)length, &total)) {
            PyErr_Format(PyExc_OverflowError,
                         "lengths overflow: their sum passes 2**63 - 1 at lengths[%zd] = %lld", i,
                         (long long)length);
            goto done;
        }
    }
    /* out holds n * maxlen rows: the row size is out's size divided by that. */
    if (mul_overflows(n, maxlen, &cells)) {
        PyErr_Format(PyExc_OverflowError, "n * maxlen overflows: %zd sequences of maxlen %zd", n,
                     maxlen);
        goto done;
    }
    if (cells == 0) {
        /* No row to fill, so nothing to copy (and no row size to check values against). */
        if (out.len != 0) {
            PyErr_Format(PyExc_ValueError, "out has %zd bytes for %zd * %zd = 0 rows", out.len, n,
                         maxlen);
            goto done;
        }
        result = Py_NewRef(Py_None);
        goto done;
    }
    row_bytes = out.len / cells;
    if (mul_overflows(row_bytes, cells, &check) || check != out.len) {
        PyErr_Format(PyExc_ValueError, "out has %zd bytes: not a whole number of %zd * %zd rows",
                     out.len, n, maxlen);
        goto done;
    }
    if (mul_overflows(total, row_bytes, &values_needed)) {
        PyErr_Format(PyExc_OverflowError,
                     "sum(lengths) = %zd rows of %zd bytes overflows: values cannot hold them",
                     total, row_bytes);
        goto done;
    }
    if (values_needed != values.len) {
        PyErr_Format(PyExc_ValueError,
                     "values has %zd bytes, but sum(lengths) = %zd rows of %zd bytes is %zd",
                     values.len, total, row_bytes, values_needed);
        goto done;
    }
    if (overlaps(out.buf, out.len, values.buf, values.len)) {
        PyErr_SetString(PyExc_ValueError, "out and values overlap in memory");
        goto done;
    }

    Py_BEGIN_ALLOW_THREADS
    const char *src = (const char *)values.buf;
    char *dst = (char *)out.buf;
    Py_ssize_t start = 0; /* where sequence i starts in values, in bytes */
    for (Py_ssize_t i = 0; i < n && row_bytes; i++) {
        const int64_t length = length_at(&lengths, i);
        Py_ssize_t from, to, nbytes, whole;
        if (plan_copy(i, length, start, maxlen, row_bytes, pre_padding, pre_truncating,
                      values.len, out.len, &from, &to, &nbytes) < 0 ||
            mul_overflows((Py_ssize_t)length, row_bytes, &whole) ||
            add_overflows(start, whole, &start)) {
            failed = 1; /* only if lengths changed under us: checked above */
            break;
        }
        memcpy(dst + to, src + from, (size_t)nbytes);
    }
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_SetString(PyExc_ValueError,
                        "lengths changed during copy_rows: a copy would leave its buffer");
        goto done;
    }
    result = Py_NewRef(Py_None);

done:
    PyBuffer_Release(&out);
    PyBuffer_Release(&values);
    PyBuffer_Release(&lengths);
    return result;
}

static PyMethodDef methods[] = {
    {"copy_rows", copy_rows, METH_VARARGS,
     "copy_rows(out, values, lengths, maxlen, pre_padding, pre_truncating): copy each "
     "sequence's kept timesteps into its row of out. Raises ValueError or OverflowError for "
     "arguments that do not fit together, before copying anything."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_padcore", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__padcore(void) { return PyModule_Create(&module); }
