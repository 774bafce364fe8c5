/* The inner copy of lstmprep.padding: each sequence's kept timesteps, one memcpy per
 * sequence, into its row of the padded output. Optional: lstmprep.padding falls back to a
 * numpy masked copy when this module is not built.
 *
 * copy_rows(out, values, lengths, maxlen, pre_padding, pre_truncating)
 *   out      writable C-contiguous buffer of n * maxlen rows (padding already filled in)
 *   values   C-contiguous buffer of sum(lengths) rows of the same row size and dtype
 *   lengths  int64 buffer of n non-negative lengths
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static PyObject *copy_rows(PyObject *self, PyObject *args) {
    Py_buffer out, values, lengths;
    Py_ssize_t maxlen;
    int pre_padding, pre_truncating;
    if (!PyArg_ParseTuple(args, "w*y*y*npp", &out, &values, &lengths, &maxlen, &pre_padding,
                          &pre_truncating))
        return NULL;
    PyObject *result = NULL;
    const Py_ssize_t n = lengths.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *len = (const int64_t *)lengths.buf;
    Py_ssize_t row_bytes = 0;
    int64_t total = 0;

    if (lengths.len % (Py_ssize_t)sizeof(int64_t) || maxlen < 0) {
        PyErr_SetString(PyExc_ValueError, "lengths must be int64 and maxlen >= 0");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (len[i] < 0) {
            PyErr_SetString(PyExc_ValueError, "lengths must not be negative");
            goto done;
        }
        total += len[i];
    }
    if (n && maxlen) {
        row_bytes = out.len / (n * maxlen);
        if (row_bytes * n * maxlen != out.len) {
            PyErr_SetString(PyExc_ValueError, "out is not n * maxlen rows");
            goto done;
        }
    }
    if (row_bytes ? total * row_bytes != values.len : total && values.len) {
        PyErr_SetString(PyExc_ValueError, "values do not hold sum(lengths) rows of out's size");
        goto done;
    }

    Py_BEGIN_ALLOW_THREADS
    const char *src = (const char *)values.buf;
    char *dst = (char *)out.buf;
    for (Py_ssize_t i = 0; i < n && row_bytes; i++) {
        const int64_t kept = len[i] < maxlen ? len[i] : maxlen;
        const char *from = src + (pre_truncating ? len[i] - kept : 0) * row_bytes;
        char *to = dst + ((Py_ssize_t)i * maxlen + (pre_padding ? maxlen - kept : 0)) * row_bytes;
        memcpy(to, from, (size_t)(kept * row_bytes));
        src += len[i] * row_bytes;
    }
    Py_END_ALLOW_THREADS
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
     "sequence's kept timesteps into its row of out."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_padcore", NULL, -1, methods};

PyMODINIT_FUNC PyInit__padcore(void) { return PyModule_Create(&module); }
