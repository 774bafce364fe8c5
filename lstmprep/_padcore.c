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
 *
 * The Keras drop-in lstmprep.padding.pad_sequences takes what users have, a list, and the
 * two functions below pad it without first stacking it into one array:
 *
 * copy_arrays(out, sequences, pre_padding, pre_truncating)
 *   out        writable C-contiguous ndarray (n, maxlen, *sample_shape), padding filled in
 *   sequences  list or tuple of n sequences
 *   Each non-empty sequence must be a C-contiguous ndarray of out's dtype and sample shape:
 *   its kept timesteps are copied into its row with one memcpy.
 *
 * fill_lists(out, sequences, pre_padding, pre_truncating, check_all)
 *   out        writable aligned C-contiguous ndarray (n, maxlen) or (n, maxlen, features) of
 *              int32, int64, float32 or float64, padding filled in
 *   sequences  list or tuple of n sequences
 *   Each non-empty sequence must be a list or tuple of timesteps: Python ints and floats (out
 *   2-D) or lists or tuples of `features` of them (out 3-D). Each kept number is converted
 *   as numpy converts it (an int to a float through a double) and written straight into out.
 *   check_all: also check the numbers that truncation drops (to infer a dtype from them all).
 *
 * longest(sequences)
 *   The length of the longest sequence of a list or tuple of arrays (of one dimension or
 *   more), lists and tuples, or None if another item is among them: maxlen for the two
 *   functions below without a Python call per sequence.
 *
 * copy_arrays and fill_lists return None when every sequence was padded, or (reason, i) for the first sequence i
 * they do not handle, leaving out partly written: the caller takes its general path. reason
 * (fill_lists): 1 a float where out is an integer dtype, 2 an int outside out's integer
 * range (or, with check_all, outside int64), 3 anything else. Both hold the GIL throughout
 * and run no Python code, so the lists cannot change under them. Arguments that do not fit
 * together raise TypeError, ValueError or OverflowError, before anything is written.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include "_checked.h"

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


/* The size of one timestep of `out` (an ndarray of ndim >= 2) in bytes, and its number of
 * rows n * maxlen, checked against out's own size; -1 with an exception if they overflow or
 * do not add up. */
static int
out_layout(PyArrayObject *out, Py_ssize_t *row_bytes, Py_ssize_t *items_per_row)
{
    const int ndim = PyArray_NDIM(out);
    const npy_intp *dims = PyArray_DIMS(out);
    Py_ssize_t items = 1, cells, total;
    for (int d = 2; d < ndim; d++) {
        if (mul_overflows(items, (Py_ssize_t)dims[d], &items)) {
            PyErr_SetString(PyExc_OverflowError, "out's sample shape overflows");
            return -1;
        }
    }
    if (mul_overflows(items, (Py_ssize_t)PyArray_ITEMSIZE(out), row_bytes) ||
        mul_overflows((Py_ssize_t)dims[0], (Py_ssize_t)dims[1], &cells) ||
        mul_overflows(cells, *row_bytes, &total)) {
        PyErr_SetString(PyExc_OverflowError, "out's size overflows");
        return -1;
    }
    if (total != (Py_ssize_t)PyArray_NBYTES(out)) {
        PyErr_Format(PyExc_ValueError, "out has %zd bytes, its shape says %zd",
                     (Py_ssize_t)PyArray_NBYTES(out), total);
        return -1;
    }
    *items_per_row = items;
    return 0;
}

/* out and sequences as both functions need them: a writable C-contiguous ndarray of
 * ndim >= min_ndim whose first dimension is the number of sequences, a list or a tuple. */
static int
check_out(PyObject *out_obj, PyObject *sequences, int min_ndim, int max_ndim)
{
    if (!PyArray_Check(out_obj)) {
        PyErr_SetString(PyExc_TypeError, "out must be a numpy array");
        return -1;
    }
    PyArrayObject *out = (PyArrayObject *)out_obj;
    if (PyArray_NDIM(out) < min_ndim || PyArray_NDIM(out) > max_ndim) {
        PyErr_Format(PyExc_ValueError, "out must have %d to %d dimensions, not %d", min_ndim,
                     max_ndim, PyArray_NDIM(out));
        return -1;
    }
    if (!PyArray_IS_C_CONTIGUOUS(out) || !PyArray_ISWRITEABLE(out) || !PyArray_ISALIGNED(out)) {
        PyErr_SetString(PyExc_ValueError, "out must be writable, aligned and C-contiguous");
        return -1;
    }
    if (!PyList_CheckExact(sequences) && !PyTuple_CheckExact(sequences)) {
        PyErr_SetString(PyExc_TypeError, "sequences must be a list or a tuple");
        return -1;
    }
    if ((Py_ssize_t)PyArray_DIM(out, 0) != PySequence_Fast_GET_SIZE(sequences)) {
        PyErr_Format(PyExc_ValueError, "out has %zd rows for %zd sequences",
                     (Py_ssize_t)PyArray_DIM(out, 0), PySequence_Fast_GET_SIZE(sequences));
        return -1;
    }
    return 0;
}

static PyObject *
not_handled(int reason, Py_ssize_t i)
{
    return Py_BuildValue("(in)", reason, i);
}

static PyObject *
longest(PyObject *Py_UNUSED(self), PyObject *sequences)
{
    if (!PyList_CheckExact(sequences) && !PyTuple_CheckExact(sequences)) {
        PyErr_SetString(PyExc_TypeError, "sequences must be a list or a tuple");
        return NULL;
    }
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(sequences);
    PyObject **items = PySequence_Fast_ITEMS(sequences);
    Py_ssize_t most = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = items[i];
        Py_ssize_t length;
        if (PyArray_Check(item) && PyArray_NDIM((PyArrayObject *)item) >= 1)
            length = (Py_ssize_t)PyArray_DIM((PyArrayObject *)item, 0);
        else if (PyList_CheckExact(item) || PyTuple_CheckExact(item))
            length = PySequence_Fast_GET_SIZE(item);
        else
            Py_RETURN_NONE;
        if (length > most)
            most = length;
    }
    return PyLong_FromSsize_t(most);
}

static PyObject *
copy_arrays(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *out_obj, *sequences;
    int pre_padding, pre_truncating;
    if (!PyArg_ParseTuple(args, "OOpp", &out_obj, &sequences, &pre_padding, &pre_truncating))
        return NULL;
    if (check_out(out_obj, sequences, 2, NPY_MAXDIMS) < 0)
        return NULL;
    PyArrayObject *out = (PyArrayObject *)out_obj;
    const int ndim = PyArray_NDIM(out);
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(sequences);
    const Py_ssize_t maxlen = (Py_ssize_t)PyArray_DIM(out, 1);
    const Py_ssize_t out_len = (Py_ssize_t)PyArray_NBYTES(out);
    PyObject **items = PySequence_Fast_ITEMS(sequences);
    PyArray_Descr *descr = PyArray_DESCR(out);
    char *dst = PyArray_BYTES(out);
    Py_ssize_t row_bytes, per_row;
    if (out_layout(out, &row_bytes, &per_row) < 0)
        return NULL;

    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = items[i];
        if (!PyArray_Check(item))
            return not_handled(3, i);
        PyArrayObject *a = (PyArrayObject *)item;
        if (PyArray_NDIM(a) >= 1 && PyArray_DIM(a, 0) == 0)
            continue; /* an empty sequence: nothing to copy, its shape is not checked */
        if (PyArray_NDIM(a) != ndim - 1 || !PyArray_IS_C_CONTIGUOUS(a) ||
            !PyArray_EquivTypes(PyArray_DESCR(a), descr))
            return not_handled(3, i);
        for (int d = 1; d < ndim - 1; d++) {
            if (PyArray_DIM(a, d) != PyArray_DIM(out, d + 1))
                return not_handled(3, i);
        }
        const Py_ssize_t length = (Py_ssize_t)PyArray_DIM(a, 0);
        const Py_ssize_t a_len = (Py_ssize_t)PyArray_NBYTES(a);
        Py_ssize_t from, to, nbytes;
        if (plan_copy(i, length, 0, maxlen, row_bytes, pre_padding, pre_truncating, a_len,
                      out_len, &from, &to, &nbytes) < 0) {
            PyErr_Format(PyExc_ValueError, "sequence %zd does not fit its row of out", i);
            return NULL;
        }
        if (overlaps(dst + to, nbytes, PyArray_BYTES(a) + from, nbytes)) {
            PyErr_Format(PyExc_ValueError, "sequence %zd and out overlap in memory", i);
            return NULL;
        }
        memcpy(dst + to, PyArray_BYTES(a) + from, (size_t)nbytes);
    }
    Py_RETURN_NONE;
}

/* The kinds of out fill_lists writes. */
enum { OUT_I32, OUT_I64, OUT_F32, OUT_F64 };

/* Writes the real number d into *dst as float32 (numpy's rounding: double -> float) or
 * float64, as `kind` says; nothing with dst NULL. */
static inline void
store_real(char *dst, int kind, double d)
{
    if (dst && kind == OUT_F32) {
        const float f = (float)d;
        memcpy(dst, &f, sizeof f);
    }
    else if (dst) {
        memcpy(dst, &d, sizeof d);
    }
}

/* Writes the number `v` into *dst as `kind`, or, with dst NULL, only checks it. Returns 0,
 * or the not-handled reason. */
static inline int
put_number(PyObject *v, int kind, char *dst, int check_all)
{
    if (PyLong_CheckExact(v)) {
        int overflow;
        const long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow) {
            if (kind <= OUT_I64 || check_all)
                return 2;
            const double d = PyLong_AsDouble(v); /* numpy: int -> double -> float */
            if (d == -1.0 && PyErr_Occurred()) {
                PyErr_Clear();
                return 2;
            }
            store_real(dst, kind, d);
            return 0;
        }
        if (x == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 3;
        }
        if (!dst)
            return kind == OUT_I32 && (x < INT32_MIN || x > INT32_MAX) ? 2 : 0;
        switch (kind) {
        case OUT_I32: {
            if (x < INT32_MIN || x > INT32_MAX)
                return 2;
            const int32_t y = (int32_t)x;
            memcpy(dst, &y, sizeof y);
            break;
        }
        case OUT_I64: {
            const int64_t y = (int64_t)x;
            memcpy(dst, &y, sizeof y);
            break;
        }
        default:
            store_real(dst, kind, (double)x);
        }
        return 0;
    }
    if (PyFloat_CheckExact(v)) {
        if (kind <= OUT_I64)
            return 1;
        store_real(dst, kind, PyFloat_AS_DOUBLE(v));
        return 0;
    }
    return 3;
}

static PyObject *
fill_lists(PyObject *Py_UNUSED(self), PyObject *args)
{
    PyObject *out_obj, *sequences;
    int pre_padding, pre_truncating, check_all;
    if (!PyArg_ParseTuple(args, "OOppp", &out_obj, &sequences, &pre_padding, &pre_truncating,
                          &check_all))
        return NULL;
    if (check_out(out_obj, sequences, 2, 3) < 0)
        return NULL;
    PyArrayObject *out = (PyArrayObject *)out_obj;
    int kind;
    switch (PyArray_TYPE(out)) {
    case NPY_INT32: kind = OUT_I32; break;
    case NPY_INT64: kind = OUT_I64; break;
    case NPY_FLOAT32: kind = OUT_F32; break;
    case NPY_FLOAT64: kind = OUT_F64; break;
    default:
        PyErr_SetString(PyExc_TypeError, "out must be int32, int64, float32 or float64");
        return NULL;
    }
    if (!PyArray_ISNOTSWAPPED(out)) {
        PyErr_SetString(PyExc_ValueError, "out must be in the machine's byte order");
        return NULL;
    }
    const int nested = PyArray_NDIM(out) == 3;
    const Py_ssize_t n = PySequence_Fast_GET_SIZE(sequences);
    const Py_ssize_t maxlen = (Py_ssize_t)PyArray_DIM(out, 1);
    const Py_ssize_t out_len = (Py_ssize_t)PyArray_NBYTES(out);
    const Py_ssize_t itemsize = (Py_ssize_t)PyArray_ITEMSIZE(out);
    PyObject **seqs = PySequence_Fast_ITEMS(sequences);
    char *dst = PyArray_BYTES(out);
    Py_ssize_t row_bytes, features;
    if (out_layout(out, &row_bytes, &features) < 0)
        return NULL;
    if (nested && features == 0) {
        PyErr_SetString(PyExc_ValueError, "out has timesteps of no features");
        return NULL;
    }

    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *seq = seqs[i];
        if (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq))
            return not_handled(3, i);
        const Py_ssize_t length = PySequence_Fast_GET_SIZE(seq);
        if (length == 0)
            continue;
        PyObject **steps = PySequence_Fast_ITEMS(seq);
        /* where the kept timesteps go: bytes [to, to + nbytes) of out, checked */
        Py_ssize_t from, to, nbytes, values_len;
        if (mul_overflows(length, row_bytes, &values_len) ||
            plan_copy(i, length, 0, maxlen, row_bytes, pre_padding, pre_truncating, values_len,
                      out_len, &from, &to, &nbytes) < 0) {
            PyErr_Format(PyExc_ValueError, "sequence %zd does not fit its row of out", i);
            return NULL;
        }
        const Py_ssize_t kept = row_bytes ? nbytes / row_bytes : 0;
        const Py_ssize_t first = row_bytes ? from / row_bytes : 0; /* first kept timestep */
        for (Py_ssize_t t = 0; t < length; t++) {
            const int keep = t >= first && t - first < kept;
            if (!keep && !check_all)
                continue;
            char *at = keep ? dst + to + (t - first) * row_bytes : NULL;
            PyObject *step = steps[t];
            int reason;
            if (!nested) {
                reason = put_number(step, kind, at, check_all);
            }
            else if ((PyList_CheckExact(step) || PyTuple_CheckExact(step)) &&
                     PySequence_Fast_GET_SIZE(step) == features) {
                PyObject **numbers = PySequence_Fast_ITEMS(step);
                reason = 0;
                for (Py_ssize_t f = 0; f < features && !reason; f++)
                    reason = put_number(numbers[f], kind, at ? at + f * itemsize : NULL,
                                        check_all);
            }
            else {
                reason = 3;
            }
            if (reason)
                return not_handled(reason, i);
        }
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"copy_rows", copy_rows, METH_VARARGS,
     "copy_rows(out, values, lengths, maxlen, pre_padding, pre_truncating): copy each "
     "sequence's kept timesteps into its row of out. Raises ValueError or OverflowError for "
     "arguments that do not fit together, before copying anything."},
    {"longest", longest, METH_O,
     "longest(sequences): the length of the longest array, list or tuple in sequences, or "
     "None if something else is among them."},
    {"copy_arrays", copy_arrays, METH_VARARGS,
     "copy_arrays(out, sequences, pre_padding, pre_truncating): copy each array of sequences "
     "into its row of out; None, or (3, i) for the first sequence it does not handle."},
    {"fill_lists", fill_lists, METH_VARARGS,
     "fill_lists(out, sequences, pre_padding, pre_truncating, check_all): write the numbers "
     "of lists of Python numbers into the rows of out; None, or (reason, i)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_padcore", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__padcore(void)
{
    import_array();
    return PyModule_Create(&module);
}
