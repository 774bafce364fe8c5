/*
 * _fastjson: scan a strictly numeric JSON document of nested arrays at C speed.
 *
 * The one function, scan(), reads
 *
 *     [ sequence, sequence, ... ]          (or, in jsonl mode, one sequence per line)
 *
 * where a sequence is [ timestep, ... ] and every timestep of the document is either a
 * bare number or a list of the same count (>= 1) of numbers. It returns the numbers as
 * flat float64 values (a bytearray) plus one int64 length per sequence (a bytearray),
 * without creating a Python object per number. Anything else is "not handled here": the
 * caller gets (None, reason, offset) and takes its exact, slow path.
 *
 * Numbers follow the JSON grammar and convert to exactly what Python's float(token)
 * gives: Clinger's fast path when it is exact (up to 2**53 and 10**+-22), else exact
 * 128-bit integer arithmetic where the compiler has it (the 17 digits of a float repr),
 * else PyOS_string_to_double on a NUL-terminated copy of the token.
 *
 * One exception, to give exactly what the exact path (json.loads, then float()) gives: an
 * integer token (no '.', no exponent) is json's int, so "-0" is 0.0, not float("-0") =
 * -0.0, and an integer too large for a float (float(int) raises OverflowError) is not
 * handled here. A float token keeps its sign: "-0.0" and "-0e0" are -0.0.
 *
 * The GIL is released while scanning large inputs; it is taken back to grow the output
 * bytearrays and, for the rest of the scan, as soon as a number needs the slow path.
 *
 * Memory: the output arrays start small and grow geometrically with what has been parsed,
 * never with the size of the input (a gigabyte of whitespace allocates nothing more). No
 * size is computed from the input without an overflow check.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "_checked.h"

/* Clinger's fast path is exact only when double arithmetic is not carried out in extended
 * precision (x87); elsewhere every number takes the slow, correctly rounded path. */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define FASTJSON_CLINGER 1
#else
#define FASTJSON_CLINGER 0
#endif

#define MODE_NONE 0 /* no timestep seen yet */
#define MODE_BARE 1 /* timesteps are bare numbers */
#define MODE_LIST 2 /* timesteps are lists of numbers */

/* Inputs at least this large are scanned without the GIL. */
#define RELEASE_GIL_BYTES (1 << 16)

/* A token up to this long is copied onto the stack for PyOS_string_to_double. */
#define SMALL_TOKEN 128

static const double POW10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

#define TWO_53 ((uint64_t)1 << 53)

/* Where the compiler has 128-bit integers, mantissas above 2**53 (the 16-17 digits of
 * Python's float repr) with moderate exponents are converted exactly in integer
 * arithmetic, rounded half to even by hand, instead of by the much slower
 * PyOS_string_to_double. */
#if defined(__SIZEOF_INT128__)
#define FASTJSON_INT128 1
__extension__ typedef unsigned __int128 u128;
static u128 POW10_128[39]; /* 10**0 .. 10**38, filled at import */
static int POW10_BITS[39];

static inline int
bitlen64(uint64_t x)
{
    return x ? 64 - __builtin_clzll(x) : 0;
}

static inline int
bitlen128(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64);
    return hi ? 128 - __builtin_clzll(hi) : bitlen64((uint64_t)x);
}

/* The double nearest to (x + f) * 2**scale, ties to even, where 0 <= f < 1 is a fraction
 * known only by whether it is zero (`sticky`). x has at least 55 bits unless sticky is 0;
 * the result must be a normal double. */
static double
round_to_double(u128 x, int sticky, int scale)
{
    int shift = bitlen128(x) - 53;
    uint64_t mant;
    u128 rest, half;

    if (shift <= 0) {
        return ldexp((double)(uint64_t)x, scale); /* exact */
    }
    mant = (uint64_t)(x >> shift);
    rest = x & (((u128)1 << shift) - 1);
    half = (u128)1 << (shift - 1);
    if (rest > half || (rest == half && (sticky || (mant & 1)))) {
        mant++;
        if (mant == TWO_53) {
            mant >>= 1;
            shift++;
        }
    }
    return ldexp((double)mant, shift + scale); /* 53 bits, normal range: exact */
}

/* m * 10**exp10 correctly rounded when it can be done exactly in 128 bits; else 0. */
static inline int
int128_number(uint64_t m, int64_t exp10, double *out)
{
    if (exp10 >= 0 && exp10 <= 38 && bitlen64(m) + POW10_BITS[exp10] <= 128) {
        /* The product is exact and below 2**128. */
        *out = round_to_double((u128)m * POW10_128[exp10], 0, 0);
        return 1;
    }
    if (exp10 < 0 && exp10 >= -21) {
        /* m / 10**k from a 128-bit quotient of at least 57 bits and its remainder. */
        u128 d = POW10_128[-exp10];
        int scale = 128 - bitlen64(m);
        u128 n = (u128)m << scale; /* in [2**127, 2**128) */
        *out = round_to_double(n / d, n % d != 0, -scale);
        return 1;
    }
    return 0;
}
#else
#define FASTJSON_INT128 0
#endif

/* Whitespace tables: JSON's four characters, and the ones allowed inside a jsonl line. */
static unsigned char WS_JSON[256];
static unsigned char WS_INLINE[256];
static unsigned char WS_LINE[256];

typedef struct {
    const unsigned char *begin; /* the whole buffer */
    const unsigned char *end;
    const unsigned char *first; /* where the scan started */
    const unsigned char *ws; /* whitespace table in force inside sequences */

    PyObject *values; /* bytearray of doubles */
    double *vals;
    Py_ssize_t nvals, capvals;

    PyObject *lengths; /* bytearray of int64 */
    int64_t *lens;
    Py_ssize_t nlens, caplens;

    Py_ssize_t features; /* numbers per list timestep; 0 until the first one */
    int mode;

    const char *reason; /* why the document is not handled here */
    const unsigned char *where;
    int error; /* a Python exception is set */

    int release_gil;   /* scan without the GIL (large inputs) */
    PyThreadState *ts; /* non-NULL while the GIL is released */
    int keep_gil;      /* once set, the GIL stays held to the end */
} Scanner;

static void
hold_gil(Scanner *s)
{
    if (s->ts != NULL) {
        PyEval_RestoreThread(s->ts);
        s->ts = NULL;
    }
}

static void
drop_gil(Scanner *s)
{
    if (s->release_gil && s->ts == NULL && !s->keep_gil) {
        s->ts = PyEval_SaveThread();
    }
}

#define NOT_HANDLED(s, msg, at)      \
    do {                             \
        (s)->reason = (msg);         \
        (s)->where = (at);           \
        return -1;                   \
    } while (0)

#define IS_DIGIT(c) ((unsigned char)((c) - '0') < 10)

/* The first capacity of each output array, in items: small, so that what the scanner
 * allocates follows what it has parsed and not the size of the input. */
#define FIRST_CAPACITY 64

/* A larger capacity for an output array of `cap` items that is full at `p`, or -1 if none
 * fits in a Py_ssize_t of bytes. It grows geometrically (x1.5) and, for a homogeneous
 * document, lands close to the final count by extrapolating from the bytes read so far;
 * but never beyond 4x what is already there, so it stays proportional to what has been
 * parsed (with stop_at_end, or a file that is mostly whitespace, the numbers may end long
 * before the data does). */
static Py_ssize_t
next_capacity(const Scanner *s, const unsigned char *p, Py_ssize_t cap, Py_ssize_t itemsize)
{
    const Py_ssize_t limit = PY_SSIZE_T_MAX / itemsize; /* most items whose bytes fit */
    const Py_ssize_t done = p - s->first, total = s->end - s->first;
    Py_ssize_t grown, most;

    if (add_overflows(cap, cap / 2 + FIRST_CAPACITY, &grown) || grown > limit) {
        grown = limit;
    }
    if (done > 4096 && !mul_overflows(cap, 4, &most) && most <= limit) {
        /* cap * total / done, +6%: in double, where it cannot overflow; at most `most`. */
        double guess = (double)cap * ((double)total / (double)done) * 1.0625 + 64.0;
        if (guess > (double)grown) {
            grown = guess < (double)most ? (Py_ssize_t)guess : most;
        }
    }
    return grown > cap ? grown : -1;
}

static int
resize(Scanner *s, PyObject *array, Py_ssize_t nbytes)
{
    int rc;
    hold_gil(s);
    rc = PyByteArray_Resize(array, nbytes);
    drop_gil(s);
    if (rc < 0) {
        s->error = 1;
    }
    return rc;
}

static int
grow_values(Scanner *s, const unsigned char *p)
{
    Py_ssize_t cap = next_capacity(s, p, s->capvals, (Py_ssize_t)sizeof(double)), nbytes;
    if (cap < 0 || mul_overflows(cap, (Py_ssize_t)sizeof(double), &nbytes) ||
        resize(s, s->values, nbytes) < 0) {
        if (!s->error) {
            hold_gil(s);
            PyErr_NoMemory();
            s->error = 1;
        }
        return -1;
    }
    s->vals = (double *)PyByteArray_AS_STRING(s->values);
    s->capvals = cap;
    return 0;
}

static int
push_length(Scanner *s, const unsigned char *p, int64_t length)
{
    if (s->nlens == s->caplens) {
        Py_ssize_t cap = next_capacity(s, p, s->caplens, (Py_ssize_t)sizeof(int64_t)), nbytes;
        if (cap < 0 || mul_overflows(cap, (Py_ssize_t)sizeof(int64_t), &nbytes) ||
            resize(s, s->lengths, nbytes) < 0) {
            if (!s->error) {
                hold_gil(s);
                PyErr_NoMemory();
                s->error = 1;
            }
            return -1;
        }
        s->lens = (int64_t *)PyByteArray_AS_STRING(s->lengths);
        s->caplens = cap;
    }
    s->lens[s->nlens++] = length;
    return 0;
}

/* Why the character at `p` cannot start a number. */
static const char *
not_a_number(const unsigned char *p, const unsigned char *end)
{
    if (p == end) {
        return "unexpected end of input";
    }
    switch (*p) {
    case '"':
        return "a string where a number was expected";
    case 't':
    case 'f':
    case 'n':
        return "true, false or null where a number was expected";
    case 'N':
    case 'I':
        return "NaN or Infinity where a number was expected";
    case '{':
        return "an object where a number was expected";
    case '[':
        return "a list nested deeper than sequences of timesteps of numbers";
    case ']':
        return "a trailing comma or a missing number";
    case '+':
    case '.':
        return "invalid number: JSON numbers start with '-' or a digit";
    default:
        return "a character that cannot start a number";
    }
}

/* The exact conversion of a validated token [tok, stop), as Python's float(token). */
static int
slow_number(Scanner *s, const unsigned char *tok, const unsigned char *stop, double *out)
{
    char small[SMALL_TOKEN];
    char *text = small, *parsed = NULL;
    size_t n = (size_t)(stop - tok);
    double x;

    hold_gil(s); /* PyOS_string_to_double needs it; keep it rather than juggle it */
    s->keep_gil = 1;
    if (n >= SMALL_TOKEN) {
        text = n < (size_t)PY_SSIZE_T_MAX ? PyMem_Malloc(n + 1) : NULL; /* n + 1: no wrap */
        if (text == NULL) {
            PyErr_NoMemory();
            s->error = 1;
            return -1;
        }
    }
    memcpy(text, tok, n);
    text[n] = '\0';
    /* With overflow_exception NULL, an overflow gives +-inf, as float('1e400') does. */
    x = PyOS_string_to_double(text, &parsed, NULL);
    if (x == -1.0 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
            s->error = 1;
        }
        else {
            PyErr_Clear();
            s->reason = "a number Python cannot convert";
            s->where = tok;
        }
        parsed = NULL;
    }
    else if (parsed != text + n) {
        s->reason = "a number Python cannot convert";
        s->where = tok;
        parsed = NULL;
    }
    if (text != small) {
        PyMem_Free(text);
    }
    if (parsed == NULL) {
        return -1;
    }
    *out = x;
    return 0;
}

/* |value| of the validated token [tok, stop) into *out (the caller applies the sign), as
 * float(token) gives it: m * 10**exp10 when no digit was dropped, else the slow path
 * (which parses the sign itself, so its result is made positive here). */
static inline int
convert_number(Scanner *s, const unsigned char *tok, const unsigned char *stop, uint64_t m,
               int64_t exp10, int dropped, double *out)
{
    if (!dropped) {
        double x;
        if (m == 0) {
            *out = 0.0;
            return 0;
        }
#if FASTJSON_CLINGER
        if (m <= TWO_53) {
            /* Exact operands, one rounding: correctly rounded (Clinger 1990). */
            if (exp10 >= 0 && exp10 <= 22) {
                *out = (double)m * POW10[exp10];
                return 0;
            }
            if (exp10 < 0 && exp10 >= -22) {
                *out = (double)m / POW10[-exp10];
                return 0;
            }
            if (exp10 > 22 && exp10 <= 22 + 15) {
                /* 123e30 = 123000000e22: still exact if the mantissa stays <= 2**53. */
                uint64_t mm = m;
                int64_t k;
                for (k = exp10 - 22; k > 0 && mm <= TWO_53 / 10; k--) {
                    mm *= 10;
                }
                if (k == 0) {
                    *out = (double)mm * POW10[22];
                    return 0;
                }
            }
        }
#endif
#if FASTJSON_INT128
        if (int128_number(m, exp10, &x)) {
            *out = x;
            return 0;
        }
#endif
        (void)x;
    }
    if (slow_number(s, tok, stop, out) < 0) {
        return -1;
    }
    *out = fabs(*out);
    return 0;
}

/* Parse one JSON number at *pp into *out and advance *pp past it. */
static inline int
parse_number(Scanner *s, const unsigned char **pp, double *out)
{
    const unsigned char *p = *pp, *end = s->end, *tok = p;
    uint64_t m = 0;      /* the first 19 significant digits */
    int nsig = 0;        /* how many of them */
    int dropped = 0;     /* more significant digits than m holds */
    int neg = 0;
    int integer = 1;     /* no fraction, no exponent: json.loads makes it an int */
    int64_t exp10 = 0;   /* value = m * 10**exp10 when nothing was dropped */

    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p == end || !IS_DIGIT(*p)) {
        NOT_HANDLED(s, neg ? "invalid number: '-' without digits" : not_a_number(p, end), tok);
    }
    if (*p == '0') {
        p++; /* a leading zero stands alone: "01" ends here and fails at the caller */
    }
    else {
        /* Up to 19 digits go into m without overflow; any more are only skipped. */
        const unsigned char *q = p, *lim = end - p > 19 ? p + 19 : end;
        do {
            m = m * 10 + (uint64_t)(*q - '0');
            q++;
        } while (q < lim && IS_DIGIT(*q));
        nsig = (int)(q - p);
        for (p = q; p < end && IS_DIGIT(*p); p++) {
            dropped = 1;
        }
    }
    if (p < end && *p == '.') {
        const unsigned char *frac, *q, *lim;
        integer = 0;
        p++;
        if (p == end || !IS_DIGIT(*p)) {
            NOT_HANDLED(s, "invalid number: no digit after '.'", tok);
        }
        frac = p;
        if (m == 0) {
            while (p < end && *p == '0') {
                p++; /* leading zeros of 0.000123 are not significant */
            }
        }
        q = p;
        lim = end - p > 19 - nsig ? p + (19 - nsig) : end;
        while (q < lim && IS_DIGIT(*q)) {
            m = m * 10 + (uint64_t)(*q - '0');
            q++;
        }
        nsig += (int)(q - p);
        exp10 = -(int64_t)(q - frac);
        for (p = q; p < end && IS_DIGIT(*p); p++) {
            dropped = 1;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        int64_t e = 0;
        integer = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end || !IS_DIGIT(*p)) {
            NOT_HANDLED(s, "invalid number: no digit in the exponent", tok);
        }
        do {
            if (e < 100000000) {
                e = e * 10 + (*p - '0'); /* saturates: such exponents take the slow path */
            }
            p++;
        } while (p < end && IS_DIGIT(*p));
        exp10 += eneg ? -e : e;
    }
    *pp = p;

    if (convert_number(s, tok, p, m, exp10, dropped, out) < 0) {
        return -1;
    }
    if (neg) {
        *out = -*out;
    }
    if (integer) {
        /* json.loads gives an int, and float(int): "-0" is 0.0, and an integer beyond the
         * largest float raises OverflowError there; leave that to the exact path. */
        if (*out == 0.0) {
            *out = 0.0;
        }
        else if (isinf(*out)) {
            NOT_HANDLED(s, "an integer too large for a float", tok);
        }
    }
    return 0;
}

static inline int
push_number(Scanner *s, const unsigned char **pp)
{
    if (s->nvals == s->capvals && grow_values(s, *pp) < 0) {
        return -1;
    }
    if (parse_number(s, pp, &s->vals[s->nvals]) < 0) {
        return -1;
    }
    s->nvals++;
    return 0;
}

#define SKIP_WS(p, end, ws)             \
    while ((p) < (end) && (ws)[*(p)]) { \
        (p)++;                          \
    }

/* After an element of a list: white space, then ',' (returns 1, *pp past it and the white
 * space after it) or ']' (returns 0, *pp past it); anything else is not handled (-1). */
static int
after_element(Scanner *s, const unsigned char **pp, const unsigned char *ws, const char *expected)
{
    const unsigned char *p = *pp, *end = s->end;
    SKIP_WS(p, end, ws);
    if (p < end && *p == ',') {
        p++;
        SKIP_WS(p, end, ws);
        *pp = p;
        return 1;
    }
    if (p < end && *p == ']') {
        *pp = p + 1;
        return 0;
    }
    NOT_HANDLED(s, p == end ? "unexpected end of input" : expected, p);
}

/* Parse the sequence starting at *pp (which is '[') and record its length. */
static int
parse_sequence(Scanner *s, const unsigned char **pp)
{
    const unsigned char *p = *pp, *end = s->end, *ws = s->ws;
    int64_t length = 0;

    p++; /* '[' */
    SKIP_WS(p, end, ws);
    if (p < end && *p == ']') {
        p++;
        goto done;
    }
    for (;;) {
        if (p < end && *p == '[') {
            const unsigned char *step = p;
            Py_ssize_t n = 0;
            if (s->mode == MODE_BARE) {
                NOT_HANDLED(s, "a list timestep after bare-number timesteps", p);
            }
            s->mode = MODE_LIST;
            p++;
            SKIP_WS(p, end, ws);
            if (p < end && *p == ']') {
                NOT_HANDLED(s, "an empty timestep []", step);
            }
            for (;;) {
                if (push_number(s, &p) < 0) {
                    return -1;
                }
                n++;
                const int more = after_element(s, &p, ws, "expected ',' or ']' after a number");
                if (more < 0) {
                    return -1;
                }
                if (!more) {
                    break;
                }
            }
            if (s->features == 0) {
                s->features = n;
            }
            else if (n != s->features) {
                NOT_HANDLED(s, "timesteps with different numbers of features", step);
            }
        }
        else {
            if (s->mode == MODE_LIST && p < end && (*p == '-' || IS_DIGIT(*p))) {
                NOT_HANDLED(s, "a bare-number timestep after list timesteps", p);
            }
            if (s->mode == MODE_LIST) {
                NOT_HANDLED(s, not_a_number(p, end), p);
            }
            s->mode = MODE_BARE;
            if (push_number(s, &p) < 0) {
                return -1;
            }
        }
        length++;
        const int more = after_element(s, &p, ws, "expected ',' or ']' after a timestep");
        if (more < 0) {
            return -1;
        }
        if (!more) {
            break;
        }
    }
done:
    *pp = p;
    return push_length(s, p, length);
}

/* Why the character at `p` cannot start a sequence. */
static const char *
not_a_sequence(const unsigned char *p, const unsigned char *end)
{
    if (p == end) {
        return "unexpected end of input";
    }
    if (*p == '-' || IS_DIGIT(*p)) {
        return "a number where a sequence [...] was expected";
    }
    if (*p == ']') {
        return "a trailing comma or a missing sequence";
    }
    return "expected a sequence [...]";
}

/* `[ sequence, ... ]` from *pp; *pp ends just past the closing bracket. */
static int
parse_array(Scanner *s, const unsigned char **pp)
{
    const unsigned char *p = *pp, *end = s->end;

    SKIP_WS(p, end, WS_JSON);
    if (p == end || *p != '[') {
        NOT_HANDLED(s, p == end ? "no JSON array in the input" : "the document is not a JSON array", p);
    }
    p++;
    SKIP_WS(p, end, WS_JSON);
    if (p < end && *p == ']') {
        *pp = p + 1;
        return 0;
    }
    for (;;) {
        if (p == end || *p != '[') {
            NOT_HANDLED(s, not_a_sequence(p, end), p);
        }
        if (parse_sequence(s, &p) < 0) {
            return -1;
        }
        const int more = after_element(s, &p, WS_JSON, "expected ',' or ']' after a sequence");
        if (more < 0) {
            return -1;
        }
        if (!more) {
            *pp = p;
            return 0;
        }
    }
}

/* One sequence per line, blank lines allowed, to the end of the buffer. */
static int
parse_lines(Scanner *s, const unsigned char **pp)
{
    const unsigned char *p = *pp, *end = s->end;

    for (;;) {
        SKIP_WS(p, end, WS_LINE);
        if (p == end) {
            break;
        }
        if (*p == '\n') {
            p++;
            continue;
        }
        if (*p != '[') {
            NOT_HANDLED(s, not_a_sequence(p, end), p);
        }
        if (parse_sequence(s, &p) < 0) {
            if (s->reason != NULL && s->where < end && (*s->where == '\n' || *s->where == '\r')) {
                s->reason = "a line break inside a sequence (jsonl has one sequence per line)";
            }
            return -1;
        }
        SKIP_WS(p, end, WS_LINE);
        if (p < end && *p != '\n') {
            NOT_HANDLED(s, *p == '[' ? "more than one sequence on a line"
                                     : "data after the sequence on its line", p);
        }
    }
    *pp = p;
    return 0;
}

static PyObject *
fastjson_scan(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"buffer", "start", "jsonl", "stop_at_end", NULL};
    Py_buffer view;
    Py_ssize_t start = 0;
    int jsonl = 0, stop_at_end = 0, rc;
    const unsigned char *p;
    Scanner s;
    PyObject *result = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|npp:scan", kwlist, &view, &start, &jsonl,
                                     &stop_at_end)) {
        return NULL;
    }
    if (start < 0 || start > view.len) {
        PyErr_Format(PyExc_ValueError, "start=%zd is outside the buffer of %zd bytes", start,
                     view.len);
        PyBuffer_Release(&view);
        return NULL;
    }
    if (jsonl && stop_at_end) {
        PyErr_SetString(PyExc_ValueError, "stop_at_end applies to a JSON array, not to jsonl");
        PyBuffer_Release(&view);
        return NULL;
    }

    memset(&s, 0, sizeof(s));
    s.begin = (const unsigned char *)view.buf;
    s.end = s.begin + view.len;
    s.ws = jsonl ? WS_INLINE : WS_JSON;

    /* Small arrays to start with: next_capacity() grows them with what is parsed. */
    s.capvals = FIRST_CAPACITY;
    s.caplens = FIRST_CAPACITY;
    s.values = PyByteArray_FromStringAndSize(NULL, s.capvals * (Py_ssize_t)sizeof(double));
    s.lengths = PyByteArray_FromStringAndSize(NULL, s.caplens * (Py_ssize_t)sizeof(int64_t));
    if (s.values == NULL || s.lengths == NULL) {
        goto finally;
    }
    s.vals = (double *)PyByteArray_AS_STRING(s.values);
    s.lens = (int64_t *)PyByteArray_AS_STRING(s.lengths);

    p = s.first = s.begin + start;
    s.release_gil = view.len - start >= RELEASE_GIL_BYTES;
    drop_gil(&s);
    if (jsonl) {
        rc = parse_lines(&s, &p);
    }
    else {
        rc = parse_array(&s, &p);
        if (rc == 0 && !stop_at_end) {
            const unsigned char *q = p;
            SKIP_WS(q, s.end, WS_JSON);
            if (q != s.end) {
                s.reason = "data after the closing ']'";
                s.where = q;
                rc = -1;
            }
        }
    }
    hold_gil(&s);

    if (s.error) {
        goto finally;
    }
    if (rc < 0) {
        result = Py_BuildValue("(Osn)", Py_None, s.reason, (Py_ssize_t)(s.where - s.begin));
        goto finally;
    }
    /* nvals <= capvals and nlens <= caplens, whose byte sizes were checked: no overflow. */
    if (PyByteArray_Resize(s.values, s.nvals * (Py_ssize_t)sizeof(double)) < 0 ||
        PyByteArray_Resize(s.lengths, s.nlens * (Py_ssize_t)sizeof(int64_t)) < 0) {
        goto finally;
    }
    result = PyTuple_New(5);
    if (result == NULL) {
        goto finally;
    }
    PyTuple_SET_ITEM(result, 0, s.values);
    PyTuple_SET_ITEM(result, 1, s.lengths);
    s.values = s.lengths = NULL; /* now the tuple's */
    PyTuple_SET_ITEM(result, 2, PyLong_FromSsize_t(s.mode == MODE_LIST ? s.features : 1));
    PyTuple_SET_ITEM(result, 3, PyBool_FromLong(s.mode != MODE_LIST));
    PyTuple_SET_ITEM(result, 4, PyLong_FromSsize_t((Py_ssize_t)(p - s.begin)));
    if (PyTuple_GET_ITEM(result, 2) == NULL || PyTuple_GET_ITEM(result, 4) == NULL) {
        Py_CLEAR(result);
    }

finally:
    Py_XDECREF(s.values);
    Py_XDECREF(s.lengths);
    PyBuffer_Release(&view);
    return result;
}

PyDoc_STRVAR(scan_doc,
"scan(buffer, start=0, jsonl=False, stop_at_end=False)\n"
"--\n"
"\n"
"Scan a strictly numeric JSON document of sequences of timesteps.\n"
"\n"
"Returns (values, lengths, features, univariate, end): values a bytearray of\n"
"float64, lengths a bytearray of int64 (one per sequence), features the numbers per\n"
"timestep, univariate whether timesteps were bare numbers, end the offset just past\n"
"the top-level array (the buffer's length in jsonl mode). For anything it does not\n"
"handle, returns (None, reason, offset).");

static PyMethodDef fastjson_methods[] = {
    {"scan", (PyCFunction)(void (*)(void))fastjson_scan, METH_VARARGS | METH_KEYWORDS, scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastjson_module = {
    PyModuleDef_HEAD_INIT,
    "_fastjson",
    "C scanner for strictly numeric JSON arrays of sequences (see lstmprep.fastjson).",
    -1,
    fastjson_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__fastjson(void)
{
    WS_JSON[' '] = WS_JSON['\t'] = WS_JSON['\n'] = WS_JSON['\r'] = 1;
    WS_INLINE[' '] = WS_INLINE['\t'] = 1;
    WS_LINE[' '] = WS_LINE['\t'] = WS_LINE['\r'] = 1;
#if FASTJSON_INT128
    {
        int i;
        POW10_128[0] = 1;
        POW10_BITS[0] = 1;
        for (i = 1; i < 39; i++) {
            POW10_128[i] = POW10_128[i - 1] * 10;
            POW10_BITS[i] = bitlen128(POW10_128[i]);
        }
    }
#endif
    return PyModule_Create(&fastjson_module);
}
