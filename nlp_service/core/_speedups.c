/* Compiled inner loops of the comment path (built by setup.py; every caller keeps the
 * pure-Python formulation it replaces as the fallback and as the reference in the tests).
 *
 * Why C: for an unseen comment the Python interpreter's per-operation cost dominated
 * (building a substring and a dict lookup per DAG edge, numpy's ~1 µs per call on rows of a
 * few dozen floats). These functions do the same arithmetic in the same order, with no
 * Python objects in between:
 *
 *   StrTable(mapping)        read-only open-addressing hash table, code-point strings →
 *                            double (None stored as NaN: a prefix that is no word). It
 *                            lives in C memory: after a fork every worker shares its pages,
 *                            since lookups write nothing (a Python dict's lookups bump
 *                            reference counts and so copy the pages they touch).
 *   StrTable.cut_block(s, unknown)   jieba's DAG + maximum log-probability route (no HMM)
 *                            over one block, with jieba's tie-breaking and ASCII gluing.
 *   StrTable.gram_rows(text, max_n)  distinct table values (as int) of the character
 *                            1..max_n-grams of ``text`` with spaces removed.
 *   StrTable.spans(text)    (start, end, value) of every substring that is a key with a value.
 *   StrTable.dump() / StrTable.frombuffer(buf)   the table's arrays as one block of bytes,
 *                            and a table that reads them in place from any buffer (an mmap of
 *                            the start-up cache: no copy, no parsing, and every process that
 *                            maps the file shares its pages).
 *   row_sums(matrix, rows[, tfs])    Σ tf·row and Σ tf²·row over rows of a C-contiguous
 *                            float64 matrix.
 *   normalize_plans(text, plans, plan)  the full normaliser's two passes (normalize.py).
 *   clean_comment(original, text, layout)  whether moderate surely answers clean
 *                            (moderation/clean.py): its gates, walks and classifier at once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <structmember.h>

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

static inline uint64_t fnv_step(uint64_t h, Py_UCS4 c) { return (h ^ (uint64_t)c) * FNV_PRIME; }

typedef struct {
    uint64_t hash;
    uint32_t start; /* offset into pool */
    uint32_t len;
    double value;
} Entry;

typedef struct {
    PyObject_HEAD
    uint32_t *slots;  /* 0 = empty, else entry index + 1 */
    uint64_t mask;
    Entry *entries;
    Py_ssize_t n_entries;
    Py_UCS4 *pool;
    Py_ssize_t max_len;
    Py_ssize_t pool_len;
    int has_view; /* the arrays live in view's buffer (frombuffer), not in our own memory */
    Py_buffer view;
} StrTable;

static void StrTable_dealloc(StrTable *self) {
    if (self->has_view) {
        PyBuffer_Release(&self->view);
    } else {
        PyMem_RawFree(self->slots);
        PyMem_RawFree(self->entries);
        PyMem_RawFree(self->pool);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* dump()'s layout: a header of six uint64 (magic, entries, slots, max_len, pool length in
 * code points, 0), the slots (uint32, padded to 8 bytes), the entries, the pool. */
#define DUMP_MAGIC 0x3130425454525453ULL /* "STRTBL01" */
#define DUMP_HEADER (6 * sizeof(uint64_t))

static size_t dump_slots_bytes(uint64_t size) { return (size_t)((size * sizeof(uint32_t) + 7) & ~(uint64_t)7); }

static PyObject *StrTable_dump(StrTable *self, PyObject *unused) {
    (void)unused;
    uint64_t size = self->mask + 1;
    size_t slots = dump_slots_bytes(size), entries = (size_t)self->n_entries * sizeof(Entry);
    size_t pool = (size_t)self->pool_len * sizeof(Py_UCS4);
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(DUMP_HEADER + slots + entries + pool));
    if (out == NULL) return NULL;
    char *p = PyBytes_AS_STRING(out);
    uint64_t header[6] = {DUMP_MAGIC, (uint64_t)self->n_entries, size, (uint64_t)self->max_len, (uint64_t)self->pool_len, 0};
    memcpy(p, header, DUMP_HEADER);
    p += DUMP_HEADER;
    memset(p, 0, slots);
    memcpy(p, self->slots, size * sizeof(uint32_t));
    p += slots;
    if (entries) memcpy(p, self->entries, entries);
    p += entries;
    if (pool) memcpy(p, self->pool, pool);
    return out;
}

/* A table over the arrays dump() wrote, read in place (the buffer is held until the table
 * goes). The layout is checked in full, so a damaged file raises instead of reading out of
 * bounds: every slot names an entry, every entry's key lies in the pool. */
static PyObject *StrTable_frombuffer(PyTypeObject *type, PyObject *buf) {
    StrTable *self = (StrTable *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    if (PyObject_GetBuffer(buf, &self->view, PyBUF_SIMPLE) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->has_view = 1;
    const char *p = self->view.buf;
    size_t len = (size_t)self->view.len;
    uint64_t header[6];
    if (len < DUMP_HEADER || ((uintptr_t)p & 7) != 0) goto bad;
    memcpy(header, p, DUMP_HEADER);
    uint64_t n = header[1], size = header[2], pool_len = header[4];
    if (header[0] != DUMP_MAGIC || size < 8 || (size & (size - 1)) != 0 || n >= size || n >= UINT32_MAX || pool_len > UINT32_MAX) goto bad;
    size_t slots = dump_slots_bytes(size);
    if (len != DUMP_HEADER + slots + n * sizeof(Entry) + pool_len * sizeof(Py_UCS4)) goto bad;
    self->slots = (uint32_t *)(p + DUMP_HEADER);
    self->entries = (Entry *)(p + DUMP_HEADER + slots);
    self->pool = (Py_UCS4 *)(p + DUMP_HEADER + slots + n * sizeof(Entry));
    self->mask = size - 1;
    self->n_entries = (Py_ssize_t)n;
    self->pool_len = (Py_ssize_t)pool_len;
    self->max_len = (Py_ssize_t)header[3];
    for (uint64_t i = 0; i < size; i++)
        if (self->slots[i] > n) goto bad;
    for (uint64_t i = 0; i < n; i++) {
        const Entry *e = &self->entries[i];
        if ((uint64_t)e->start + e->len > pool_len || e->len > (uint64_t)self->max_len) goto bad;
    }
    return (PyObject *)self;
bad:
    Py_DECREF(self);
    PyErr_SetString(PyExc_ValueError, "not a StrTable dump (damaged or from another version)");
    return NULL;
}

static inline const Entry *table_find(const StrTable *t, const Py_UCS4 *s, Py_ssize_t len, uint64_t h) {
    uint64_t i = h & t->mask;
    for (;;) {
        uint32_t slot = t->slots[i];
        if (slot == 0) return NULL;
        const Entry *e = &t->entries[slot - 1];
        if (e->hash == h && e->len == (uint32_t)len && memcmp(t->pool + e->start, s, (size_t)len * sizeof(Py_UCS4)) == 0)
            return e;
        i = (i + 1) & t->mask;
    }
}

/* The code points of a str in a freshly allocated buffer (PyMem_Free it). */
static Py_UCS4 *ucs4_of(PyObject *s, Py_ssize_t *len) {
    *len = PyUnicode_GET_LENGTH(s);
    return PyUnicode_AsUCS4Copy(s);
}

/* Find prefix + s (the key "w:" + token without building it). */
static inline const Entry *table_find2(const StrTable *t, const Py_UCS4 *pre, Py_ssize_t npre, const Py_UCS4 *s, Py_ssize_t n) {
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t k = 0; k < npre; k++) h = fnv_step(h, pre[k]);
    for (Py_ssize_t k = 0; k < n; k++) h = fnv_step(h, s[k]);
    uint64_t i = h & t->mask;
    for (;;) {
        uint32_t slot = t->slots[i];
        if (slot == 0) return NULL;
        const Entry *e = &t->entries[slot - 1];
        if (e->hash == h && e->len == (uint32_t)(npre + n) && memcmp(t->pool + e->start, pre, (size_t)npre * sizeof(Py_UCS4)) == 0 &&
            memcmp(t->pool + e->start + npre, s, (size_t)n * sizeof(Py_UCS4)) == 0)
            return e;
        i = (i + 1) & t->mask;
    }
}

static PyObject *StrTable_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *mapping;
    static char *kwlist[] = {"mapping", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!", kwlist, &PyDict_Type, &mapping)) return NULL;
    StrTable *self = (StrTable *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    Py_ssize_t n = PyDict_Size(mapping), total = 0, pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(mapping, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "StrTable keys must be str");
            Py_DECREF(self);
            return NULL;
        }
        total += PyUnicode_GET_LENGTH(key);
    }
    if (total > (Py_ssize_t)UINT32_MAX || n >= (Py_ssize_t)(UINT32_MAX / 4)) {
        PyErr_SetString(PyExc_OverflowError, "StrTable too large");
        Py_DECREF(self);
        return NULL;
    }
    uint64_t size = 8;
    while (size < (uint64_t)n * 2) size <<= 1; /* load factor at most 1/2 */
    self->slots = PyMem_RawCalloc(size, sizeof(uint32_t));
    self->entries = PyMem_RawMalloc((n ? n : 1) * sizeof(Entry));
    self->pool = PyMem_RawMalloc((total ? total : 1) * sizeof(Py_UCS4));
    if (!self->slots || !self->entries || !self->pool) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->mask = size - 1;
    Py_ssize_t used = 0;
    pos = 0;
    while (PyDict_Next(mapping, &pos, &key, &value)) {
        Py_ssize_t len = PyUnicode_GET_LENGTH(key);
        if (len == 0) continue; /* an empty key can never be looked up by the walks below */
        double v;
        if (value == Py_None) {
            v = NAN;
        } else {
            v = PyFloat_AsDouble(value);
            if (v == -1.0 && PyErr_Occurred()) {
                Py_DECREF(self);
                return NULL;
            }
        }
        Py_UCS4 *dst = self->pool + used;
        if (!PyUnicode_AsUCS4(key, dst, len, 0)) {
            Py_DECREF(self);
            return NULL;
        }
        uint64_t h = FNV_OFFSET;
        for (Py_ssize_t k = 0; k < len; k++) h = fnv_step(h, dst[k]);
        const Entry *existing = table_find(self, dst, len, h);
        if (existing != NULL) continue; /* dict keys are unique; kept for safety */
        Entry *e = &self->entries[self->n_entries];
        e->hash = h;
        e->start = (uint32_t)used;
        e->len = (uint32_t)len;
        e->value = v;
        uint64_t i = h & self->mask;
        while (self->slots[i] != 0) i = (i + 1) & self->mask;
        self->slots[i] = (uint32_t)(self->n_entries + 1);
        self->n_entries++;
        used += len;
        if (len > self->max_len) self->max_len = len;
    }
    self->pool_len = used;
    return (PyObject *)self;
}

static PyObject *StrTable_get(StrTable *self, PyObject *args) {
    PyObject *key, *dflt = Py_None;
    if (!PyArg_ParseTuple(args, "U|O", &key, &dflt)) return NULL;
    Py_ssize_t len;
    Py_UCS4 *s = ucs4_of(key, &len);
    if (s == NULL) return NULL;
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t k = 0; k < len; k++) h = fnv_step(h, s[k]);
    const Entry *e = len ? table_find(self, s, len, h) : NULL;
    PyMem_Free(s);
    if (e == NULL) return Py_NewRef(dflt);
    if (isnan(e->value)) Py_RETURN_NONE;
    return PyFloat_FromDouble(e->value);
}

static Py_ssize_t StrTable_len(StrTable *self) { return self->n_entries; }

static int StrTable_contains(StrTable *self, PyObject *key) {
    if (!PyUnicode_Check(key)) return 0;
    Py_ssize_t len;
    Py_UCS4 *s = ucs4_of(key, &len);
    if (s == NULL) return -1;
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t k = 0; k < len; k++) h = fnv_step(h, s[k]);
    int found = len && table_find(self, s, len, h) != NULL;
    PyMem_Free(s);
    return found;
}

static inline int ascii_alnum(Py_UCS4 c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int append_sub(PyObject *words, PyObject *text, Py_ssize_t a, Py_ssize_t b) {
    PyObject *w = PyUnicode_Substring(text, a, b);
    if (w == NULL) return -1;
    int rc = PyList_Append(words, w);
    Py_DECREF(w);
    return rc;
}

/* Append jieba's words of the block s[lo:hi] (code points in s, the str in text). */
static int cut_range(const StrTable *self, PyObject *words, PyObject *text, const Py_UCS4 *s, Py_ssize_t lo, Py_ssize_t hi, double unknown) {
    Py_ssize_t n = hi - lo;
    double *route_p = PyMem_Malloc((n + 1) * sizeof(double));
    Py_ssize_t *route_x = PyMem_Malloc((n + 1) * sizeof(Py_ssize_t));
    if (!route_p || !route_x) {
        PyMem_Free(route_p);
        PyMem_Free(route_x);
        PyErr_NoMemory();
        return -1;
    }
    const Py_UCS4 *b = s + lo;
    route_p[n] = 0.0;
    route_x[n] = 0;
    for (Py_ssize_t k = n - 1; k >= 0; k--) {
        int have = 0;
        double best_p = 0.0;
        Py_ssize_t best_x = k;
        uint64_t h = FNV_OFFSET;
        for (Py_ssize_t i = k; i < n; i++) {
            h = fnv_step(h, b[i]);
            const Entry *e = table_find(self, b + k, i - k + 1, h);
            if (e == NULL) break; /* no longer a prefix of any word */
            if (!isnan(e->value)) {
                double p = e->value + route_p[i + 1];
                if (!have || p >= best_p) { /* ties → the longer word, like max() on (p, x) */
                    best_p = p;
                    best_x = i;
                    have = 1;
                }
            }
        }
        route_p[k] = have ? best_p : unknown + route_p[k + 1];
        route_x[k] = best_x;
    }
    int rc = 0;
    Py_ssize_t x = 0, buf_start = -1;
    while (rc == 0 && x < n) {
        Py_ssize_t y = route_x[x] + 1;
        if (y - x == 1 && ascii_alnum(b[x])) {
            if (buf_start < 0) buf_start = x; /* jieba glues single ASCII letters/digits */
        } else {
            if (buf_start >= 0) {
                rc = append_sub(words, text, lo + buf_start, lo + x);
                buf_start = -1;
            }
            if (rc == 0) rc = append_sub(words, text, lo + x, lo + y);
        }
        x = y;
    }
    if (rc == 0 && buf_start >= 0) rc = append_sub(words, text, lo + buf_start, hi);
    PyMem_Free(route_p);
    PyMem_Free(route_x);
    return rc;
}

static PyObject *StrTable_cut_block(StrTable *self, PyObject *args) {
    PyObject *text;
    double unknown;
    if (!PyArg_ParseTuple(args, "Ud", &text, &unknown)) return NULL;
    Py_ssize_t n;
    Py_UCS4 *s = ucs4_of(text, &n);
    if (s == NULL) return NULL;
    PyObject *words = PyList_New(0);
    if (words != NULL && cut_range(self, words, text, s, 0, n, unknown) < 0) Py_CLEAR(words);
    PyMem_Free(s);
    return words;
}

/* jieba's re_han_default: [\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-] */
static inline int han_char(Py_UCS4 c) {
    return (c >= 0x4E00 && c <= 0x9FD5) || ascii_alnum(c) || c == '+' || c == '#' || c == '&' || c == '.' || c == '_' || c == '%' || c == '-';
}

/* Argument checks for the METH_FASTCALL methods below (a new comment calls them ~5 times;
 * PyArg_ParseTuple's format walk cost ~900 instructions a call): the same conversions as
 * the format codes they replace, U (str), n (an index), d (a float), p (truth). */
static int want_args(const char *name, Py_ssize_t nargs, Py_ssize_t least, Py_ssize_t most) {
    if (nargs >= least && nargs <= most) return 0;
    PyErr_Format(PyExc_TypeError, "%s takes %zd to %zd arguments (%zd given)", name, least, most, nargs);
    return -1;
}

static int want_str(const char *name, PyObject *arg) {
    if (PyUnicode_Check(arg)) return PyUnicode_READY(arg);
    PyErr_Format(PyExc_TypeError, "%s: argument must be str, not %.50s", name, Py_TYPE(arg)->tp_name);
    return -1;
}

static int as_index(PyObject *arg, Py_ssize_t *out) {
    PyObject *i = PyNumber_Index(arg);
    if (i == NULL) return -1;
    *out = PyLong_AsSsize_t(i);
    Py_DECREF(i);
    return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

/* words(text, unknown) -> the words of jieba's cut(text, HMM=False) that are not whitespace:
 * runs of re_han_default characters cut as blocks, every other character a word of its own
 * unless it is whitespace (what `[w for w in cut(text) if not w.isspace()]` keeps). */
static PyObject *StrTable_words(StrTable *self, PyObject *const *args, Py_ssize_t nargs) {
    if (want_args("words", nargs, 2, 2) < 0 || want_str("words", args[0]) < 0) return NULL;
    PyObject *text = args[0];
    double unknown = PyFloat_AsDouble(args[1]);
    if (unknown == -1.0 && PyErr_Occurred()) return NULL;
    Py_ssize_t n;
    Py_UCS4 *s = ucs4_of(text, &n);
    if (s == NULL) return NULL;
    PyObject *words = PyList_New(0);
    Py_ssize_t i = 0;
    while (words != NULL && i < n) {
        if (han_char(s[i])) {
            Py_ssize_t j = i + 1;
            while (j < n && han_char(s[j])) j++;
            if (cut_range(self, words, text, s, i, j, unknown) < 0) Py_CLEAR(words);
            i = j;
        } else {
            if (!Py_UNICODE_ISSPACE(s[i]) && append_sub(words, text, i, i + 1) < 0) Py_CLEAR(words);
            i++;
        }
    }
    PyMem_Free(s);
    return words;
}

static PyObject *StrTable_gram_rows(StrTable *self, PyObject *const *args, Py_ssize_t nargs) {
    Py_ssize_t max_n;
    if (want_args("gram_rows", nargs, 2, 2) < 0 || want_str("gram_rows", args[0]) < 0 || as_index(args[1], &max_n) < 0) return NULL;
    PyObject *text = args[0];
    Py_ssize_t len;
    Py_UCS4 *raw = ucs4_of(text, &len);
    if (raw == NULL) return NULL;
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < len; i++)
        if (raw[i] != ' ') raw[n++] = raw[i]; /* spaces dropped: 看 我 主 页 reads as 看我主页 */
    PyObject *rows = PyList_New(0);
    long small[256];
    long *seen = small;
    Py_ssize_t n_seen = 0, cap = 256;
    for (Py_ssize_t i = 0; rows != NULL && i < n; i++) {
        uint64_t h = FNV_OFFSET;
        for (Py_ssize_t k = 0; k < max_n && i + k < n; k++) {
            h = fnv_step(h, raw[i + k]);
            const Entry *e = table_find(self, raw + i, k + 1, h);
            if (e == NULL || isnan(e->value)) continue;
            long j = (long)e->value;
            int dup = 0;
            for (Py_ssize_t q = 0; q < n_seen; q++)
                if (seen[q] == j) {
                    dup = 1;
                    break;
                }
            if (dup) continue;
            if (n_seen == cap) {
                long *bigger = PyMem_Malloc(2 * cap * sizeof(long));
                if (bigger == NULL) {
                    Py_CLEAR(rows);
                    PyErr_NoMemory();
                    break;
                }
                memcpy(bigger, seen, n_seen * sizeof(long));
                if (seen != small) PyMem_Free(seen);
                seen = bigger;
                cap *= 2;
            }
            seen[n_seen++] = j;
            PyObject *v = PyLong_FromLong(j);
            if (v == NULL || PyList_Append(rows, v) < 0) Py_CLEAR(rows);
            Py_XDECREF(v);
            if (rows == NULL) break;
        }
    }
    if (seen != small) PyMem_Free(seen);
    PyMem_Free(raw);
    return rows;
}

/* The rows a comment's features hit, in the walk's order (repeats included). */
typedef struct {
    Py_ssize_t *rows;
    long *counts;  /* after distinct_rows: the count of each row */
    Py_ssize_t n, cap;
} RowList;

static int rows_push(RowList *l, Py_ssize_t row) {
    if (l->n == l->cap) {
        Py_ssize_t cap = l->cap ? 2 * l->cap : 64;
        Py_ssize_t *rows = PyMem_Realloc(l->rows, cap * sizeof(Py_ssize_t));
        if (rows == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        l->rows = rows;
        l->cap = cap;
    }
    l->rows[l->n++] = row;
    return 0;
}

static void rows_free(RowList *l) {
    PyMem_Free(l->rows);
    PyMem_Free(l->counts);
}

/* Keep each row once, in the order of its first hit, with its number of hits (what the
 * {row: count} dict built hit by hit held, in its insertion order). */
static int distinct_rows(RowList *l) {
    Py_ssize_t size = 16;
    while (size < 2 * l->n) size *= 2;
    Py_ssize_t *slots = PyMem_Malloc(size * sizeof(Py_ssize_t));
    l->counts = PyMem_Calloc(l->n ? l->n : 1, sizeof(long));
    if (slots == NULL || l->counts == NULL) {
        PyMem_Free(slots);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < size; i++) slots[i] = -1;
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < l->n; i++) {
        Py_ssize_t row = l->rows[i];
        size_t h = ((size_t)row * 0x9E3779B97F4A7C15ULL) & (size_t)(size - 1);
        while (slots[h] >= 0 && l->rows[slots[h]] != row) h = (h + 1) & (size_t)(size - 1);
        if (slots[h] < 0) {
            slots[h] = kept;
            l->rows[kept] = row;  /* kept <= i: the slot was read already */
            l->counts[kept++] = 1;
        } else {
            l->counts[slots[h]]++;
        }
    }
    l->n = kept;
    PyMem_Free(slots);
    return 0;
}

/* a hit on the row of prefix + s, when the table has it */
static int count_key(const StrTable *t, RowList *hits, const Py_UCS4 *pre, const Py_UCS4 *s, Py_ssize_t n) {
    const Entry *e = table_find2(t, pre, 2, s, n);
    if (e == NULL || isnan(e->value)) return 0;
    return rows_push(hits, (Py_ssize_t)e->value);
}

static int count_str(const StrTable *t, RowList *hits, const Py_UCS4 *pre, PyObject *str, int skip_space) {
    if (!PyUnicode_Check(str)) {
        PyErr_SetString(PyExc_TypeError, "tokens and emojis must be str");
        return -1;
    }
    Py_ssize_t n;
    Py_UCS4 *buf = ucs4_of(str, &n);
    if (buf == NULL) return -1;
    int rc = (skip_space && n == 1 && buf[0] == ' ') ? 0 : count_key(t, hits, pre, buf, n);
    PyMem_Free(buf);
    return rc;
}

/* The rows of "w:" + each token, "c:" + each CJK character and "b:" + each character bigram
 * of text (spaces break them), "e:" + each emoji, and when cut > 0 "p:" + the tokens before
 * tokens[cut] and "a:" + those after it, then "n:" + the tokens at the indices in negated
 * (features.negated_positions; NULL: none); in this order (FusedLinear.count_comment's walk),
 * each row once with its count. */
static int feature_rows(const StrTable *self, PyObject *text, PyObject *tokens, PyObject *emojis, Py_ssize_t cut, PyObject *negated, RowList *hits) {
    static const Py_UCS4 W[2] = {'w', ':'}, C[2] = {'c', ':'}, B[2] = {'b', ':'}, E[2] = {'e', ':'}, P[2] = {'p', ':'}, A[2] = {'a', ':'}, N[2] = {'n', ':'};
    PyObject *toks = PySequence_Fast(tokens, "tokens must be a sequence of str");
    if (toks == NULL) return -1;
    PyObject *ems = PySequence_Fast(emojis, "emojis must be a sequence of str");
    if (ems == NULL) {
        Py_DECREF(toks);
        return -1;
    }
    int rc = 0;
    Py_ssize_t n_tok = PySequence_Fast_GET_SIZE(toks);
    for (Py_ssize_t q = 0; rc == 0 && q < n_tok; q++) rc = count_str(self, hits, W, PySequence_Fast_GET_ITEM(toks, q), 1);
    if (rc == 0) {
        Py_ssize_t n;
        Py_UCS4 *s = ucs4_of(text, &n);
        if (s == NULL) rc = -1;
        Py_ssize_t prev = -1;
        for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
            if (s[i] == ' ') {
                prev = -1;
                continue;
            }
            if (s[i] >= 0x4e00 && s[i] <= 0x9fff) rc = count_key(self, hits, C, s + i, 1);
            if (rc == 0 && prev >= 0) rc = count_key(self, hits, B, s + prev, 2);
            prev = i;
        }
        PyMem_Free(s);
    }
    Py_ssize_t n_em = PySequence_Fast_GET_SIZE(ems);
    for (Py_ssize_t q = 0; rc == 0 && q < n_em; q++) rc = count_str(self, hits, E, PySequence_Fast_GET_ITEM(ems, q), 0);
    if (cut > 0 && cut < n_tok) {
        for (Py_ssize_t q = 0; rc == 0 && q < cut; q++) rc = count_str(self, hits, P, PySequence_Fast_GET_ITEM(toks, q), 1);
        for (Py_ssize_t q = cut + 1; rc == 0 && q < n_tok; q++) rc = count_str(self, hits, A, PySequence_Fast_GET_ITEM(toks, q), 1);
    }
    if (rc == 0 && negated != NULL) {
        PyObject *neg = PySequence_Fast(negated, "negated must be a sequence of token indices");
        if (neg == NULL) rc = -1;
        for (Py_ssize_t q = 0; rc == 0 && q < PySequence_Fast_GET_SIZE(neg); q++) {
            Py_ssize_t at = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(neg, q));
            if (at == -1 && PyErr_Occurred()) {
                rc = -1;
            } else if (at < 0 || at >= n_tok) {
                PyErr_SetString(PyExc_IndexError, "negated token index out of range");
                rc = -1;
            } else {
                rc = count_str(self, hits, N, PySequence_Fast_GET_ITEM(toks, at), 1);
            }
        }
        Py_XDECREF(neg);
    }
    Py_DECREF(toks);
    Py_DECREF(ems);
    return rc == 0 ? distinct_rows(hits) : -1;
}

/* count_features(text, tokens, emojis, cut[, negated]) -> {row: count}: feature_rows as a
 * dict (in the walk's order; tested equal to FusedLinear.count_comment_py). */
static PyObject *StrTable_count_features(StrTable *self, PyObject *args) {
    PyObject *text, *tokens, *emojis, *negated = NULL;
    Py_ssize_t cut;
    if (!PyArg_ParseTuple(args, "UOOn|O", &text, &tokens, &emojis, &cut, &negated)) return NULL;
    RowList hits = {0};
    PyObject *counts = NULL;
    if (feature_rows(self, text, tokens, emojis, cut, negated, &hits) == 0 && (counts = PyDict_New()) != NULL) {
        for (Py_ssize_t i = 0; counts != NULL && i < hits.n; i++) {
            PyObject *key = PyLong_FromSsize_t(hits.rows[i]), *value = PyLong_FromLong(hits.counts[i]);
            if (key == NULL || value == NULL || PyDict_SetItem(counts, key, value) < 0) Py_CLEAR(counts);
            Py_XDECREF(key);
            Py_XDECREF(value);
        }
    }
    rows_free(&hits);
    return counts;
}

static PyObject *score_rows(PyObject *matrix, const RowList *hits, int sublinear, PyObject *layout);

/* comment_probs(text, tokens, emojis, cut, matrix, sublinear, layout[, negated]) ->
 * [probabilities per model]: fused_probs(matrix, count_features(text, tokens, emojis, cut,
 * negated), sublinear, layout)
 * in one call, without the dict of counts in between (the same rows in the same order, so
 * the same sums bit for bit). */
static PyObject *StrTable_comment_probs(StrTable *self, PyObject *const *args, Py_ssize_t nargs) {
    Py_ssize_t cut;
    int sublinear;
    if (want_args("comment_probs", nargs, 7, 8) < 0 || want_str("comment_probs", args[0]) < 0 || as_index(args[3], &cut) < 0) return NULL;
    if ((sublinear = PyObject_IsTrue(args[5])) < 0) return NULL;
    if (!PyTuple_Check(args[6])) {
        PyErr_Format(PyExc_TypeError, "comment_probs: layout must be tuple, not %.50s", Py_TYPE(args[6])->tp_name);
        return NULL;
    }
    PyObject *text = args[0], *tokens = args[1], *emojis = args[2], *matrix = args[4], *layout = args[6];
    PyObject *negated = nargs > 7 ? args[7] : NULL;
    RowList hits = {0};
    PyObject *result = feature_rows(self, text, tokens, emojis, cut, negated, &hits) == 0 ? score_rows(matrix, &hits, sublinear, layout) : NULL;
    rows_free(&hits);
    return result;
}

/* spans(text): [(start, end, int value)] of every substring of text that is a key with a
 * value, by start then end: one walk from each position, stopping where the substring is
 * no longer a key or a prefix (None) key. The lexicon's homophone walk over a comment's
 * sounds (moderation/readings.py: one character per reading). */
static PyObject *StrTable_spans(StrTable *self, PyObject *const *args, Py_ssize_t nargs) {
    if (want_args("spans", nargs, 1, 1) < 0 || want_str("spans", args[0]) < 0) return NULL;
    PyObject *text = args[0];
    Py_ssize_t n;
    Py_UCS4 *s = ucs4_of(text, &n);
    if (s == NULL) return NULL;
    PyObject *out = PyList_New(0);
    for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
        uint64_t h = FNV_OFFSET;
        for (Py_ssize_t j = i; j < n && j - i < self->max_len; j++) {
            h = fnv_step(h, s[j]);
            const Entry *e = table_find(self, s + i, j - i + 1, h);
            if (e == NULL) break;
            if (isnan(e->value)) continue;
            PyObject *item = Py_BuildValue("(nnl)", i, j + 1, (long)e->value);
            if (item == NULL || PyList_Append(out, item) < 0) {
                Py_XDECREF(item);
                Py_CLEAR(out);
                break;
            }
            Py_DECREF(item);
        }
    }
    PyMem_Free(s);
    return out;
}

static PyMethodDef StrTable_methods[] = {
    {"comment_probs", (PyCFunction)(void (*)(void))StrTable_comment_probs, METH_FASTCALL, "comment_probs(text, tokens, emojis, cut, matrix, sublinear, layout[, negated]): fused_probs of count_features"},
    {"count_features", (PyCFunction)StrTable_count_features, METH_VARARGS, "count_features(text, tokens, emojis, cut[, negated]): {row: count} (see the C comment)"},
    {"get", (PyCFunction)StrTable_get, METH_VARARGS, "get(key, default=None): the value (None for a prefix-only key), or default"},
    {"cut_block", (PyCFunction)StrTable_cut_block, METH_VARARGS, "cut_block(block, unknown): jieba's words of one block (no HMM)"},
    {"words", (PyCFunction)(void (*)(void))StrTable_words, METH_FASTCALL, "words(text, unknown): jieba's non-space words of text (no HMM)"},
    {"spans", (PyCFunction)(void (*)(void))StrTable_spans, METH_FASTCALL, "spans(text): [(start, end, int value)] of the substrings that are keys with a value"},
    {"gram_rows", (PyCFunction)(void (*)(void))StrTable_gram_rows, METH_FASTCALL, "gram_rows(text, max_n): distinct int values of the 1..max_n-grams, spaces removed"},
    {"dump", (PyCFunction)StrTable_dump, METH_NOARGS, "dump(): the table as bytes, for frombuffer"},
    {"frombuffer", (PyCFunction)StrTable_frombuffer, METH_O | METH_CLASS, "frombuffer(buf): the table dump() wrote, read in place from buf (bytes, mmap, memoryview)"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods StrTable_as_sequence = {
    .sq_length = (lenfunc)StrTable_len,
    .sq_contains = (objobjproc)StrTable_contains,
};

static PyTypeObject StrTableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "nlp_service.core._speedups.StrTable",
    .tp_basicsize = sizeof(StrTable),
    .tp_dealloc = (destructor)StrTable_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Read-only hash table: str → float (None for a key stored without a value).",
    .tp_new = StrTable_new,
    .tp_methods = StrTable_methods,
    .tp_as_sequence = &StrTable_as_sequence,
};

/* row_sums(matrix, rows, tfs=None) -> (lin, sq): lin[c] = Σ tf·m[r][c], sq[c] = Σ tf²·m[r][c]
 * (sq only when tfs is given; otherwise tf = 1 and lin alone is returned as a list). */
static PyObject *row_sums(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *matrix, *rows, *tfs = Py_None;
    if (!PyArg_ParseTuple(args, "OO|O", &matrix, &rows, &tfs)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(matrix, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    PyObject *result = NULL;
    double small_lin[64], small_sq[64];
    double *lin = small_lin, *sq = small_sq;
    if (view.ndim != 2 || view.format == NULL || strcmp(view.format, "d") != 0) {
        PyErr_SetString(PyExc_TypeError, "row_sums needs a C-contiguous 2-D float64 matrix");
        goto done;
    }
    Py_ssize_t n_rows = view.shape[0], n_cols = view.shape[1];
    const double *data = (const double *)view.buf;
    PyObject *rows_fast = PySequence_Fast(rows, "rows must be a sequence of ints");
    if (rows_fast == NULL) goto done;
    PyObject *tfs_fast = NULL;
    if (tfs != Py_None) {
        tfs_fast = PySequence_Fast(tfs, "tfs must be a sequence of floats");
        if (tfs_fast == NULL || PySequence_Fast_GET_SIZE(tfs_fast) != PySequence_Fast_GET_SIZE(rows_fast)) {
            if (tfs_fast != NULL) PyErr_SetString(PyExc_ValueError, "rows and tfs differ in length");
            Py_DECREF(rows_fast);
            Py_XDECREF(tfs_fast);
            goto done;
        }
    }
    if (n_cols > 64) {
        lin = PyMem_Calloc(n_cols, sizeof(double));
        sq = PyMem_Calloc(n_cols, sizeof(double));
        if (!lin || !sq) {
            PyErr_NoMemory();
            Py_DECREF(rows_fast);
            Py_XDECREF(tfs_fast);
            goto done;
        }
    } else {
        memset(small_lin, 0, sizeof small_lin);
        memset(small_sq, 0, sizeof small_sq);
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(rows_fast);
    for (Py_ssize_t q = 0; q < count; q++) {
        Py_ssize_t r = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(rows_fast, q));
        if (r == -1 && PyErr_Occurred()) break;
        if (r < 0 || r >= n_rows) {
            PyErr_SetString(PyExc_IndexError, "row index out of range");
            break;
        }
        const double *row = data + r * n_cols;
        if (tfs_fast == NULL) {
            for (Py_ssize_t c = 0; c < n_cols; c++) lin[c] += row[c];
        } else {
            double tf = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(tfs_fast, q));
            if (tf == -1.0 && PyErr_Occurred()) break;
            double tf2 = tf * tf;
            for (Py_ssize_t c = 0; c < n_cols; c++) {
                lin[c] += tf * row[c];
                sq[c] += tf2 * row[c];
            }
        }
    }
    Py_DECREF(rows_fast);
    if (!PyErr_Occurred()) {
        PyObject *a = PyList_New(n_cols), *b = tfs_fast ? PyList_New(n_cols) : NULL;
        if (a != NULL && (tfs_fast == NULL || b != NULL)) {
            for (Py_ssize_t c = 0; c < n_cols; c++) {
                PyList_SET_ITEM(a, c, PyFloat_FromDouble(lin[c]));
                if (b) PyList_SET_ITEM(b, c, PyFloat_FromDouble(sq[c]));
            }
            result = b ? PyTuple_Pack(2, a, b) : Py_NewRef(a);
        }
        Py_XDECREF(a);
        Py_XDECREF(b);
    }
    Py_XDECREF(tfs_fast);
done:
    if (lin != small_lin) PyMem_Free(lin);
    if (sq != small_sq) PyMem_Free(sq);
    PyBuffer_Release(&view);
    return result;
}

/* fused_probs(matrix, counts, sublinear, layout) -> [probabilities per model]: FusedLinear's
 * scoring from {row: count}. tf = 1 + log(count) when sublinear, else count; per model
 * (sq_col, first, width, biases, binary) of layout: z = Σ tf·row[first:first+width] /
 * √(Σ tf²·row[sq_col]) + biases (biases alone when that norm is 0), then the sigmoid
 * ([1 - p, p]) or the softmax, with the arithmetic of linear._probabilities. */
static PyObject *fused_probs(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *matrix, *counts, *layout;
    int sublinear;
    if (!PyArg_ParseTuple(args, "OO!pO!", &matrix, &PyDict_Type, &counts, &sublinear, &PyTuple_Type, &layout)) return NULL;
    Py_ssize_t n = PyDict_GET_SIZE(counts), pos = 0, i = 0;
    RowList hits = {PyMem_Malloc((n ? n : 1) * sizeof(Py_ssize_t)), PyMem_Malloc((n ? n : 1) * sizeof(long)), n, n};
    PyObject *key, *value, *result = NULL;
    if (hits.rows == NULL || hits.counts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    while (PyDict_Next(counts, &pos, &key, &value)) {
        hits.rows[i] = PyLong_AsSsize_t(key);
        hits.counts[i] = PyLong_AsLong(value);
        if ((hits.rows[i] == -1 || hits.counts[i] == -1) && PyErr_Occurred()) goto done;
        i++;
    }
    result = score_rows(matrix, &hits, sublinear, layout);
done:
    rows_free(&hits);
    return result;
}

/* One model's (sq_col, first, width, biases, binary) of a fused layout, as the format
 * "nnnO!p" read it (PyArg_ParseTuple's format walk was ~2 k instructions a comment for the
 * three models; the layout is the same tuple every call). */
static int layout_entry(PyObject *entry, Py_ssize_t *sq_col, Py_ssize_t *first, Py_ssize_t *width, PyObject **biases, int *binary) {
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 5) {
        PyErr_SetString(PyExc_TypeError, "a layout entry must be a tuple (sq_col, first, width, biases, binary)");
        return -1;
    }
    if (as_index(PyTuple_GET_ITEM(entry, 0), sq_col) < 0 || as_index(PyTuple_GET_ITEM(entry, 1), first) < 0 ||
        as_index(PyTuple_GET_ITEM(entry, 2), width) < 0)
        return -1;
    *biases = PyTuple_GET_ITEM(entry, 3);
    if (!PyTuple_Check(*biases)) {
        PyErr_Format(PyExc_TypeError, "a layout's biases must be a tuple, not %.50s", Py_TYPE(*biases)->tp_name);
        return -1;
    }
    *binary = PyObject_IsTrue(PyTuple_GET_ITEM(entry, 4));
    return *binary < 0 ? -1 : 0;
}

/* fused_probs' arithmetic over rows with their counts (in their order) */
static PyObject *score_rows(PyObject *matrix, const RowList *hits, int sublinear, PyObject *layout) {
    Py_buffer view;
    if (PyObject_GetBuffer(matrix, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    PyObject *result = NULL;
    double *lin = NULL, *sq = NULL, *z = NULL;
    Py_ssize_t *sq_cols = NULL;
    if (view.ndim != 2 || view.format == NULL || strcmp(view.format, "d") != 0) {
        PyErr_SetString(PyExc_TypeError, "fused_probs needs a C-contiguous 2-D float64 matrix");
        goto done;
    }
    Py_ssize_t n_rows = view.shape[0], n_cols = view.shape[1];
    const double *data = (const double *)view.buf;
    lin = PyMem_Calloc(n_cols, sizeof(double));
    sq = PyMem_Calloc(n_cols, sizeof(double));
    z = PyMem_Calloc(n_cols, sizeof(double));
    if (!lin || !sq || !z) {
        PyErr_NoMemory();
        goto done;
    }
    /* Σ tf²·row is read only at the models' idf² columns (3 of 20 for the service's three
     * models): summed there alone, in the same order, so those sums are the same bit for
     * bit; Σ tf·row over every column (about half the instructions of this walk were the
     * squared sums nobody read). */
    Py_ssize_t n_models = PyTuple_GET_SIZE(layout), n_sq = 0;
    sq_cols = PyMem_Calloc(n_models ? n_models : 1, sizeof(Py_ssize_t));
    if (sq_cols == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t m = 0; m < n_models; m++) {
        PyObject *entry = PyTuple_GET_ITEM(layout, m);
        Py_ssize_t col;
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) < 1) continue; /* refused with its message below */
        if (as_index(PyTuple_GET_ITEM(entry, 0), &col) < 0) goto done;
        if (col < 0 || col >= n_cols) continue;
        int seen = 0;
        for (Py_ssize_t j = 0; j < n_sq; j++) seen |= sq_cols[j] == col;
        if (!seen) sq_cols[n_sq++] = col;
    }
    for (Py_ssize_t i = 0; i < hits->n; i++) {
        Py_ssize_t r = hits->rows[i];
        long c = hits->counts[i];
        if (r < 0 || r >= n_rows) {
            PyErr_SetString(PyExc_IndexError, "row index out of range");
            goto done;
        }
        double tf = sublinear ? 1.0 + log((double)c) : (double)c, tf2 = tf * tf;
        const double *row = data + r * n_cols;
        for (Py_ssize_t k = 0; k < n_cols; k++) lin[k] += tf * row[k];
        for (Py_ssize_t j = 0; j < n_sq; j++) sq[sq_cols[j]] += tf2 * row[sq_cols[j]];
    }
    result = PyList_New(n_models);
    for (Py_ssize_t m = 0; result != NULL && m < n_models; m++) {
        Py_ssize_t sq_col, first, width;
        PyObject *biases;
        int binary;
        if (layout_entry(PyTuple_GET_ITEM(layout, m), &sq_col, &first, &width, &biases, &binary) < 0 ||
            PyTuple_GET_SIZE(biases) != width || sq_col < 0 || first < 0 || width < 1 || first + width > n_cols || sq_col >= n_cols) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "bad layout");
            Py_CLEAR(result);
            break;
        }
        double norm2 = sq[sq_col], inv = norm2 <= 0.0 ? 0.0 : 1.0 / sqrt(norm2);
        for (Py_ssize_t k = 0; k < width; k++) {
            double b = PyFloat_AsDouble(PyTuple_GET_ITEM(biases, k));
            z[k] = norm2 <= 0.0 ? b : lin[first + k] * inv + b;
        }
        if (PyErr_Occurred()) {
            Py_CLEAR(result);
            break;
        }
        PyObject *probs;
        if (binary) {
            double p = 1.0 / (1.0 + exp(-z[0]));
            /* [1 - p, p] without Py_BuildValue's format walk (~1.3 k instructions a model) */
            PyObject *q = PyFloat_FromDouble(1.0 - p), *pp = q != NULL ? PyFloat_FromDouble(p) : NULL;
            probs = pp != NULL ? PyList_New(2) : NULL;
            if (probs == NULL) {
                Py_XDECREF(q);
                Py_XDECREF(pp);
            } else {
                PyList_SET_ITEM(probs, 0, q);
                PyList_SET_ITEM(probs, 1, pp);
            }
        } else {
            double top = z[0], total = 0.0;
            for (Py_ssize_t k = 1; k < width; k++)
                if (z[k] > top) top = z[k];
            for (Py_ssize_t k = 0; k < width; k++) {
                z[k] = exp(z[k] - top);
                total += z[k];
            }
            probs = PyList_New(width);
            for (Py_ssize_t k = 0; probs != NULL && k < width; k++) {
                PyObject *f = PyFloat_FromDouble(z[k] / total);
                if (f == NULL) Py_CLEAR(probs);
                else PyList_SET_ITEM(probs, k, f);
            }
        }
        if (probs == NULL) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, m, probs);
    }
done:
    PyMem_Free(sq_cols);
    PyMem_Free(lin);
    PyMem_Free(sq);
    PyMem_Free(z);
    PyBuffer_Release(&view);
    return result;
}

/* The moderation classifier's matrix checked (float64, 1 + len(biases) columns, one threshold
 * per bias) and its column sums zeroed: in ``small`` (64 doubles) when they fit, else
 * allocated (PyMem_Free it when *sum != small); -1 with an exception set. */
static int logit_sums(const Py_buffer *view, PyObject *biases, PyObject *thresholds, const char *who, double *small, double **sum) {
    Py_ssize_t width = PyTuple_GET_SIZE(biases), n_cols = view->ndim == 2 ? view->shape[1] : 0;
    *sum = small;
    if (view->ndim != 2 || view->format == NULL || strcmp(view->format, "d") != 0 || n_cols != width + 1 || PyTuple_GET_SIZE(thresholds) != width) {
        PyErr_Format(PyExc_TypeError, "%s needs a float64 matrix of 1 + len(biases) columns and one threshold per bias", who);
        return -1;
    }
    if (n_cols > 64) {
        if ((*sum = PyMem_Calloc(n_cols, sizeof(double))) == NULL) {
            *sum = small;
            PyErr_NoMemory();
            return -1;
        }
    } else {
        memset(small, 0, 64 * sizeof(double));
    }
    return 0;
}

/* flagged_logits(matrix, rows, biases, logit_thresholds) -> [(k, z)] for the columns k whose
 * z = Σ row[1 + k] / √(Σ row[0]) + biases[k] (biases[k] alone without rows) reaches its
 * threshold: the moderation classifier's flags() on a clean comment returns an empty list
 * without one Python float made (binary tf: each row counted once, see classifier.py). */
static PyObject *flagged_logits(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *matrix, *rows, *biases, *thresholds;
    if (!PyArg_ParseTuple(args, "OO!O!O!", &matrix, &PyList_Type, &rows, &PyTuple_Type, &biases, &PyTuple_Type, &thresholds)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(matrix, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    PyObject *result = NULL;
    double small[64];
    double *sum = small;
    Py_ssize_t n_rows = view.ndim == 2 ? view.shape[0] : 0, n_cols = view.ndim == 2 ? view.shape[1] : 0;
    Py_ssize_t width = PyTuple_GET_SIZE(biases);
    if (logit_sums(&view, biases, thresholds, "flagged_logits", small, &sum) < 0) goto done;
    const double *data = (const double *)view.buf;
    Py_ssize_t count = PyList_GET_SIZE(rows);
    for (Py_ssize_t q = 0; q < count; q++) {
        Py_ssize_t r = PyLong_AsSsize_t(PyList_GET_ITEM(rows, q));
        if (r == -1 && PyErr_Occurred()) goto done;
        if (r < 0 || r >= n_rows) {
            PyErr_SetString(PyExc_IndexError, "row index out of range");
            goto done;
        }
        const double *row = data + r * n_cols;
        for (Py_ssize_t c = 0; c < n_cols; c++) sum[c] += row[c];
    }
    double inv = count ? 1.0 / sqrt(sum[0]) : 0.0;
    result = PyList_New(0);
    for (Py_ssize_t k = 0; result != NULL && k < width; k++) {
        double b = PyFloat_AsDouble(PyTuple_GET_ITEM(biases, k)), t = PyFloat_AsDouble(PyTuple_GET_ITEM(thresholds, k));
        if (PyErr_Occurred()) {
            Py_CLEAR(result);
            break;
        }
        double z = count ? sum[1 + k] * inv + b : b;
        if (z >= t) {
            PyObject *item = Py_BuildValue("(nd)", k, z);
            if (item == NULL || PyList_Append(result, item) < 0) Py_CLEAR(result);
            Py_XDECREF(item);
        }
    }
done:
    if (sum != small) PyMem_Free(sum);
    PyBuffer_Release(&view);
    return result;
}

/* normalize_plans(text, plans, plan) -> (matching form, offsets, emojis), or None when
 * nothing visible is left: normalize.py's _normalize_full (kept as the reference and the
 * fallback) with the same two passes. Pass 1 looks each character's plan, a tuple of
 * (one-character str, kind), up in the dict ``plans`` (calling ``plan(ch)``, which fills it,
 * on a miss); pass 2 collapses separator runs and compresses runs of four or more. */
enum { K_CJK = 0, K_WORD = 1, K_SEP = 2, K_EMOJI = 3 };

typedef struct {
    Py_UCS4 *ch;
    unsigned char *kind;
    Py_ssize_t *origin;
    Py_ssize_t n, cap;
} CharBuf;

static int charbuf_push(CharBuf *b, Py_UCS4 c, int kind, Py_ssize_t origin) {
    if (b->n == b->cap) {
        Py_ssize_t cap = b->cap ? 2 * b->cap : 64;
        Py_UCS4 *ch = PyMem_Realloc(b->ch, cap * sizeof(Py_UCS4));
        if (ch == NULL) return -1;
        b->ch = ch;
        unsigned char *kinds = PyMem_Realloc(b->kind, cap);
        if (kinds == NULL) return -1;
        b->kind = kinds;
        Py_ssize_t *orig = PyMem_Realloc(b->origin, cap * sizeof(Py_ssize_t));
        if (orig == NULL) return -1;
        b->origin = orig;
        b->cap = cap;
    }
    b->ch[b->n] = c;
    b->kind[b->n] = (unsigned char)kind;
    b->origin[b->n] = origin;
    b->n++;
    return 0;
}

static void charbuf_free(CharBuf *b) {
    PyMem_Free(b->ch);
    PyMem_Free(b->kind);
    PyMem_Free(b->origin);
}

/* _append_compressed: a fourth equal character in a row is dropped */
static int push_compressed(CharBuf *out, Py_UCS4 c, Py_ssize_t origin) {
    Py_ssize_t n = out->n;
    if (n >= 3 && out->ch[n - 1] == c && out->ch[n - 2] == c && out->ch[n - 3] == c) return 0;
    return charbuf_push(out, c, 0, origin);
}

/* table[key] as a new reference, or fn(key) when the dict has no such key (the callee stores
   it, as a __missing__ does); NULL with an exception set on error. */
static PyObject *get_or_call(PyObject *table, PyObject *key, PyObject *fn) {
    PyObject *value = PyDict_GetItemWithError(table, key); /* borrowed */
    if (value != NULL) return Py_NewRef(value);
    if (PyErr_Occurred()) return NULL;
    return PyObject_CallOneArg(fn, key);
}

/* The one-character str of each BMP code point, made once and kept (as code_point_key's
 * ints): the plans dict is keyed by characters, and a fresh str per character cost an
 * allocation, a SipHash of it and a free (~300 instructions); a kept one has its hash cached. */
static PyObject *bmp_chars[0x10000];

static PyObject *char_key(Py_UCS4 cp) {
    if (cp >= 0x10000) return PyUnicode_FromOrdinal((int)cp);
    if (bmp_chars[cp] == NULL && (bmp_chars[cp] = PyUnicode_FromOrdinal((int)cp)) == NULL) return NULL;
    return Py_NewRef(bmp_chars[cp]);
}

static int plan_chars(PyObject *text, PyObject *plans, PyObject *plan_fn, CharBuf *buf, PyObject *emojis) {
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *ch = char_key(PyUnicode_READ(kind, data, i));
        if (ch == NULL) return -1;
        PyObject *plan = get_or_call(plans, ch, plan_fn);
        Py_DECREF(ch);
        if (plan == NULL) return -1;
        if (!PyTuple_Check(plan)) {
            Py_DECREF(plan);
            PyErr_SetString(PyExc_TypeError, "a character's plan must be a tuple of (str, kind)");
            return -1;
        }
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(plan); k++) {
            PyObject *step = PyTuple_GET_ITEM(plan, k);
            PyObject *out = PyTuple_Check(step) && PyTuple_GET_SIZE(step) == 2 ? PyTuple_GET_ITEM(step, 0) : NULL;
            long kd = out != NULL ? PyLong_AsLong(PyTuple_GET_ITEM(step, 1)) : -1;
            if (out == NULL || !PyUnicode_Check(out) || PyUnicode_GET_LENGTH(out) != 1 || kd < K_CJK || kd > K_EMOJI) {
                Py_DECREF(plan);
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "a plan step must be (one-character str, kind 0..3)");
                return -1;
            }
            if ((kd == K_EMOJI && PyList_Append(emojis, out) < 0) || charbuf_push(buf, PyUnicode_READ_CHAR(out, 0), (int)kd, i) < 0) {
                Py_DECREF(plan);
                if (!PyErr_Occurred()) PyErr_NoMemory();
                return -1;
            }
        }
        Py_DECREF(plan);
    }
    return 0;
}

static int collapse(const CharBuf *in, CharBuf *out) {
    Py_ssize_t n = in->n, i = 0;
    int prev_kind = K_SEP;  /* acts like the start of text */
    while (i < n) {
        int kd = in->kind[i];
        if (kd == K_CJK || kd == K_WORD) {
            if (push_compressed(out, in->ch[i], in->origin[i]) < 0) return -1;
            prev_kind = kd;
            i++;
            continue;
        }
        Py_ssize_t j = i;
        int has_emoji = 0, filler = 1, all_space = 1;
        while (j < n && (in->kind[j] == K_SEP || in->kind[j] == K_EMOJI)) {
            Py_UCS4 c = in->ch[j];
            has_emoji |= in->kind[j] == K_EMOJI;
            filler &= c != '?' && c != '!';
            all_space &= c == ' ';
            j++;
        }
        int next_kind = j < n ? in->kind[j] : K_SEP;
        int between_words = (prev_kind == K_CJK || prev_kind == K_WORD) && (next_kind == K_CJK || next_kind == K_WORD);
        if (between_words && filler && (prev_kind == K_CJK || next_kind == K_CJK) && j - i <= 3) {
            i = j;  /* 微.信 / 微 信 / 加❤微: a short filler run between characters is dropped */
            continue;
        }
        if (!has_emoji && all_space) {
            if (out->n > 0 && j < n && charbuf_push(out, ' ', 0, in->origin[i]) < 0) return -1;
        } else {
            for (Py_ssize_t k = i; k < j; k++)
                if (in->ch[k] != ' ' && push_compressed(out, in->ch[k], in->origin[k]) < 0) return -1;
        }
        prev_kind = K_SEP;
        i = j;
    }
    return 0;
}

static PyObject *normalize_plans(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    (void)mod;
    /* "UO!O" checked by hand (METH_FASTCALL: the format walk was ~1.2 k instructions a comment) */
    if (want_args("normalize_plans", nargs, 3, 3) < 0 || want_str("normalize_plans", args[0]) < 0) return NULL;
    PyObject *text = args[0], *plans = args[1], *plan_fn = args[2];
    if (!PyDict_Check(plans)) {
        PyErr_Format(PyExc_TypeError, "normalize_plans: plans must be dict, not %.50s", Py_TYPE(plans)->tp_name);
        return NULL;
    }
    CharBuf buf = {0}, out = {0};
    PyObject *result = NULL, *emojis = PyList_New(0);
    if (emojis == NULL || plan_chars(text, plans, plan_fn, &buf, emojis) < 0) goto done;
    int visible = PyList_GET_SIZE(emojis) > 0;
    for (Py_ssize_t k = 0; !visible && k < buf.n; k++) visible = buf.kind[k] != K_SEP || buf.ch[k] != ' ';
    if (!visible) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    if (collapse(&buf, &out) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *joined = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out.ch, out.n);
    PyObject *offsets = PyTuple_New(out.n);
    PyObject *emoji_tuple = PyList_AsTuple(emojis);
    for (Py_ssize_t k = 0; offsets != NULL && k < out.n; k++) {
        PyObject *o = PyLong_FromSsize_t(out.origin[k]);
        if (o == NULL) Py_CLEAR(offsets);
        else PyTuple_SET_ITEM(offsets, k, o);
    }
    if (joined != NULL && offsets != NULL && emoji_tuple != NULL) result = PyTuple_Pack(3, joined, offsets, emoji_tuple);
    Py_XDECREF(joined);
    Py_XDECREF(offsets);
    Py_XDECREF(emoji_tuple);
done:
    Py_XDECREF(emojis);
    charbuf_free(&buf);
    charbuf_free(&out);
    return result;
}

/* ---- translate through a lazily filled table (core/lazytable.py) -------------------------
 * translate_memo(text, table, missing): text.translate(table) for a dict table whose values
 * are one-character strings, with missing(cp) (the table's __missing__, which fills it) for a
 * code point not in it yet. str.translate reaches a dict subclass's items through
 * __getitem__ as a Python-level slot (a method lookup and call per character, ~400
 * instructions); here one dict lookup. None when a value is anything but a one-character
 * string (None, an int, a longer string): the caller then runs str.translate itself. */

/* The int of each BMP code point, made once and kept: a table's key stored by missing(key)
 * is then this very object, and the dict lookup matches it by identity (a fresh int each
 * time cost an allocation and a rich comparison per character). */
static PyObject *bmp_keys[0x10000];

static PyObject *code_point_key(Py_UCS4 cp) {
    if (cp >= 0x10000) return PyLong_FromLong((long)cp);
    if (bmp_keys[cp] == NULL && (bmp_keys[cp] = PyLong_FromLong((long)cp)) == NULL) return NULL;
    return Py_NewRef(bmp_keys[cp]);
}

static PyObject *translate_memo(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    (void)mod;
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "translate_memo(text: str, table: dict, missing)");
        return NULL;
    }
    PyObject *text = args[0], *table = args[1], *missing = args[2];
    if (PyUnicode_READY(text) < 0) return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 small[256];
    Py_UCS4 *out = n <= 256 ? small : PyMem_New(Py_UCS4, n);
    if (out == NULL) return PyErr_NoMemory();
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key = code_point_key(PyUnicode_READ(kind, data, i));
        if (key == NULL) goto done;
        PyObject *value = get_or_call(table, key, missing);
        Py_DECREF(key);
        if (value == NULL) goto done;
        int one = PyUnicode_Check(value) && PyUnicode_GET_LENGTH(value) == 1;
        if (one) out[i] = PyUnicode_READ_CHAR(value, 0);
        Py_DECREF(value);
        if (!one) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, n);
done:
    if (out != small) PyMem_Free(out);
    return result;
}

/* ---- a clean comment's moderation in one call (moderation/clean.py) ---------------------
 * clean_comment(original, text, layout) -> bool: True when detect.moderate surely ends in
 * its clean answer: no contact pattern can match (find_patterns' gates, on the original
 * text), the lexicon's exact and homophone walks find nothing and there is no Latin word
 * (the matching form ``text``), the classifier flags nothing and no group of people is
 * named. False means "not sure": the caller runs moderate's general path, which decides.
 * layout: (gate_bits, gate_missing, address_pairs, sound_codes, sound_missing, terms,
 * sounds, groups, vocabulary, matrix, biases, thresholds); the StrTables may be None (no
 * such list), and vocabulary is None without a classifier (matrix: a memoryview). The
 * per-character answers are lazily filled bytearrays indexed by code point, read here
 * and filled by their missing(cp) in Python (a dict lookup cost ~240 instructions a
 * character): gate_bits holds GATE_* | GATE_KNOWN, worked out from the very regexes
 * find_patterns uses, so both read the same character classes; sound_codes holds
 * readings.sounds' character as a native uint16 (0: not known yet). */
enum { GATE_DIGITISH = 1, GATE_LATIN = 2, GATE_ADDRESS = 4, GATE_ANY = 8, GATE_SOME_FOLDED = 16, GATE_DIGIT_FOLDED = 32, GATE_KNOWN = 128 };

/* The value of code point cp in a lazy per-character bytearray (see above), or missing(cp);
 * -1 on error. */
static long lazy_value(PyObject *codes, int width, PyObject *missing, Py_UCS4 cp) {
    const unsigned char *at = (const unsigned char *)PyByteArray_AS_STRING(codes) + (size_t)cp * width;
    if (width == 1 && (at[0] & GATE_KNOWN)) return at[0] & ~GATE_KNOWN;
    if (width == 2) {
        uint16_t v;
        memcpy(&v, at, 2);
        if (v) return v;
    }
    PyObject *key = code_point_key(cp);
    if (key == NULL) return -1;
    PyObject *value = PyObject_CallOneArg(missing, key);
    Py_DECREF(key);
    if (value == NULL) return -1;
    long v = PyLong_AsLong(value);
    Py_DECREF(value);
    if (v < 0 && !PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "clean_comment: a negative table value");
    return v;
}

/* whether some substring of s is a key with a value (StrTable.spans would be non-empty) */
static int any_span(const StrTable *t, const Py_UCS4 *s, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t h = FNV_OFFSET;
        for (Py_ssize_t j = i; j < n && j - i < t->max_len; j++) {
            h = fnv_step(h, s[j]);
            const Entry *e = table_find(t, s + i, j - i + 1, h);
            if (e == NULL) break;
            if (!isnan(e->value)) return 1;
        }
    }
    return 0;
}

/* 1 when one of find_patterns' three gates turns the text away (it then returns []),
 * 0 when a detector may run, -1 on error */
static int patterns_gated(PyObject *original, PyObject *bits_of, PyObject *missing, PyObject *pairs) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(original);
    int kind = PyUnicode_KIND(original);
    const void *data = PyUnicode_DATA(original);
    long any = 0, digitish = 0, folded_digits = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        long bits = lazy_value(bits_of, 1, missing, PyUnicode_READ(kind, data, i));
        if (bits < 0) return -1;
        any |= bits;
        digitish += (bits & GATE_DIGITISH) != 0;
        folded_digits += (bits & GATE_DIGIT_FOLDED) != 0;
    }
    if (!(any & GATE_ANY)) return 1; /* _ANY_GATE_CHAR */
    int address = (any & GATE_ADDRESS) != 0;
    for (Py_ssize_t p = 0; !address && p < PyTuple_GET_SIZE(pairs); p++) /* 小区, 花园, … */
        address = PyUnicode_Find(original, PyTuple_GET_ITEM(pairs, p), 0, n, 1) >= 0;
    if (digitish < 5 && !(any & GATE_LATIN) && !address) return 1; /* _FIVE_DIGITISH, _LATIN, _ADDRESS_WORDS */
    if (!(any & GATE_SOME_FOLDED) && folded_digits < 11) return 1; /* _may_hold_a_detail */
    return 0;
}

/* 1 when the classifier's flagged_logits of the text's n-gram rows is empty */
static int classifier_quiet(const StrTable *vocab, PyObject *matrix, PyObject *biases, PyObject *thresholds, Py_UCS4 *raw, Py_ssize_t len) {
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < len; i++)
        if (raw[i] != ' ') raw[n++] = raw[i]; /* as gram_rows: spaces dropped */
    Py_buffer view;
    if (PyObject_GetBuffer(matrix, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    int result = -1;
    double small[64];
    long seen_small[256];
    double *sum = small;
    long *seen = seen_small;
    Py_ssize_t n_seen = 0, cap = 256;
    Py_ssize_t n_rows = view.ndim == 2 ? view.shape[0] : 0, n_cols = view.ndim == 2 ? view.shape[1] : 0;
    Py_ssize_t width = PyTuple_GET_SIZE(biases);
    if (logit_sums(&view, biases, thresholds, "clean_comment", small, &sum) < 0) goto done;
    const double *data = (const double *)view.buf;
    /* the rows in gram_rows' order (first hit first, each once), summed in that order as
     * flagged_logits sums them: the same floats, so the same verdict at a threshold */
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t h = FNV_OFFSET;
        for (Py_ssize_t k = 0; k < 3 && i + k < n; k++) { /* classifier.MAX_NGRAM */
            h = fnv_step(h, raw[i + k]);
            const Entry *e = table_find(vocab, raw + i, k + 1, h);
            if (e == NULL || isnan(e->value)) continue;
            long j = (long)e->value;
            int dup = 0;
            for (Py_ssize_t q = 0; q < n_seen && !dup; q++) dup = seen[q] == j;
            if (dup) continue;
            if (j < 0 || j >= n_rows) {
                PyErr_SetString(PyExc_IndexError, "row index out of range");
                goto done;
            }
            if (n_seen == cap) {
                long *bigger = PyMem_Malloc(2 * cap * sizeof(long));
                if (bigger == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                memcpy(bigger, seen, n_seen * sizeof(long));
                if (seen != seen_small) PyMem_Free(seen);
                seen = bigger;
                cap *= 2;
            }
            seen[n_seen++] = j;
            const double *row = data + j * n_cols;
            for (Py_ssize_t c = 0; c < n_cols; c++) sum[c] += row[c];
        }
    }
    double inv = n_seen ? 1.0 / sqrt(sum[0]) : 0.0;
    result = 1;
    for (Py_ssize_t k = 0; k < width; k++) {
        double b = PyFloat_AsDouble(PyTuple_GET_ITEM(biases, k)), t = PyFloat_AsDouble(PyTuple_GET_ITEM(thresholds, k));
        if (PyErr_Occurred()) {
            result = -1;
            break;
        }
        if ((n_seen ? sum[1 + k] * inv + b : b) >= t) {
            result = 0;
            break;
        }
    }
done:
    if (sum != small) PyMem_Free(sum);
    if (seen != seen_small) PyMem_Free(seen);
    PyBuffer_Release(&view);
    return result;
}

static const StrTable *table_or_null(PyObject *o, int *bad) {
    if (o == Py_None) return NULL;
    if (!PyObject_TypeCheck(o, &StrTableType)) *bad = 1;
    return (const StrTable *)o;
}

static PyObject *clean_comment(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    (void)mod;
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1]) || !PyTuple_Check(args[2]) || PyTuple_GET_SIZE(args[2]) != 12) {
        PyErr_SetString(PyExc_TypeError, "clean_comment(original: str, text: str, layout: 12-tuple)");
        return NULL;
    }
    PyObject *original = args[0], *text = args[1], *const *l = &PyTuple_GET_ITEM(args[2], 0);
    int bad = 0;
    const StrTable *terms = table_or_null(l[5], &bad), *sounds = table_or_null(l[6], &bad), *groups = table_or_null(l[7], &bad);
    const StrTable *vocab = table_or_null(l[8], &bad);
    if (bad || !PyByteArray_Check(l[0]) || PyByteArray_GET_SIZE(l[0]) < 0x110000 || !PyTuple_Check(l[2]) || !PyByteArray_Check(l[3]) ||
        PyByteArray_GET_SIZE(l[3]) < 2 * 0x110000 || (vocab && (!PyTuple_Check(l[10]) || !PyTuple_Check(l[11])))) {
        PyErr_SetString(PyExc_TypeError, "clean_comment: a malformed layout (see moderation/clean.py)");
        return NULL;
    }
    if (PyUnicode_READY(original) < 0 || PyUnicode_READY(text) < 0) return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c >= 'a' && c <= 'z') Py_RETURN_FALSE; /* a Latin word: the pinyin and mixed walks decide */
    }
    int gated = patterns_gated(original, l[0], l[1], l[2]);
    if (gated <= 0) return gated < 0 ? NULL : Py_NewRef(Py_False);
    Py_UCS4 small[256];
    Py_UCS4 *s = n <= 256 ? small : PyMem_New(Py_UCS4, n);
    if (s == NULL) return PyErr_NoMemory();
    int clean = 0;
    if (!PyUnicode_AsUCS4(text, s, n, 0)) goto done;
    if ((terms && any_span(terms, s, n)) || (groups && any_span(groups, s, n))) {
        clean = 0;
        goto done;
    }
    if (sounds) { /* readings.sounds(text): one character per reading, through the lazy table */
        Py_UCS4 heard_small[256];
        Py_UCS4 *heard = n <= 256 ? heard_small : PyMem_New(Py_UCS4, n);
        if (heard == NULL) {
            PyErr_NoMemory();
            clean = -1;
            goto done;
        }
        int found = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            long code = lazy_value(l[3], 2, l[4], s[i]);
            if (code < 0) {
                found = -1;
                break;
            }
            heard[i] = (Py_UCS4)code;
        }
        if (found == 0) found = any_span(sounds, heard, n);
        if (heard != heard_small) PyMem_Free(heard);
        if (found) {
            clean = found < 0 ? -1 : 0;
            goto done;
        }
    }
    clean = vocab ? classifier_quiet(vocab, l[9], l[10], l[11], s, n) : 1; /* last: it drops the spaces of s */
done:
    if (s != small) PyMem_Free(s);
    if (clean < 0 || PyErr_Occurred()) return NULL;
    return PyBool_FromLong(clean);
}

/* ---- building frozen slotted dataclasses (core/slots.py) --------------------------------
 * A frozen dataclass's __init__ sets each field through object.__setattr__ (the frozen
 * class refuses plain assignment): ~1,500 instructions a field, 10K for an Analysis, paid
 * for every new comment. slot_offsets(cls, names) reads where each named slot lives (its
 * member descriptor), once; new_slotted(cls, offsets, *values) allocates an instance and
 * stores the values there, as __init__ would have (tests/core/test_slots.py). */

static PyObject *slot_offsets(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *cls, *names;
    if (!PyArg_ParseTuple(args, "O!O!", &PyType_Type, &cls, &PyTuple_Type, &names)) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    PyObject *out = PyTuple_New(n);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *descr = PyObject_GetAttr(cls, PyTuple_GET_ITEM(names, i));
        if (descr == NULL) goto fail;
        int ok = Py_IS_TYPE(descr, &PyMemberDescr_Type) && ((PyMemberDescrObject *)descr)->d_common.d_type == (PyTypeObject *)cls
                 && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX && !(((PyMemberDescrObject *)descr)->d_member->flags & READONLY);
        Py_ssize_t offset = ok ? ((PyMemberDescrObject *)descr)->d_member->offset : 0;
        Py_DECREF(descr);
        if (!ok) {
            PyErr_Format(PyExc_TypeError, "%R is not a slot of %R itself", PyTuple_GET_ITEM(names, i), cls);
            goto fail;
        }
        PyObject *o = PyLong_FromSsize_t(offset);
        if (o == NULL) goto fail;
        PyTuple_SET_ITEM(out, i, o);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyObject *new_slotted(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    (void)mod;
    if (nargs < 2 || !PyType_Check(args[0]) || !PyTuple_Check(args[1]) || PyTuple_GET_SIZE(args[1]) != nargs - 2) {
        PyErr_SetString(PyExc_TypeError, "new_slotted(cls, offsets, *values): one value per offset");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    PyObject *offsets = args[1];
    PyObject *obj = cls->tp_alloc(cls, 0);
    if (obj == NULL) return NULL;
    for (Py_ssize_t i = 2; i < nargs; i++) {
        Py_ssize_t offset = PyLong_AsSsize_t(PyTuple_GET_ITEM(offsets, i - 2));
        if (offset < (Py_ssize_t)sizeof(PyObject) || offset > cls->tp_basicsize - (Py_ssize_t)sizeof(PyObject *)) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "new_slotted: an offset outside the instance (use slot_offsets)");
            Py_DECREF(obj);
            return NULL;
        }
        PyObject **slot = (PyObject **)((char *)obj + offset);
        Py_XSETREF(*slot, Py_NewRef(args[i]));
    }
    return obj;
}

/* ---- RESP packing (store/wire.py) ------------------------------------------------------
 * pack_commands(commands): the RESP bytes of a list of argument tuples, as redis-py and
 * hiredis write them: "*<n>\r\n" then "$<len>\r\n<arg>\r\n" per argument, a str as UTF-8, an
 * int as str(int), a float as repr(float). hiredis formats every length with sprintf, which
 * was most of its cost on the reply path's pipelines (hundreds of arguments each). Any other
 * type (bool, None, bytearray, memoryview, ...) or a command name with a space raises
 * TypeError: the caller then packs the old way (tests/store/test_wire.py compares the bytes). */

static char *put_count(char *w, char mark, Py_ssize_t n) {
    char digits[24];
    int k = 0;
    *w++ = mark;
    do { digits[k++] = (char)('0' + n % 10); n /= 10; } while (n > 0);
    while (k > 0) *w++ = digits[--k];
    *w++ = '\r';
    *w++ = '\n';
    return w;
}

static Py_ssize_t count_len(Py_ssize_t n) {
    Py_ssize_t k = 1;
    while (n >= 10) { n /= 10; k++; }
    return k + 3; /* mark, digits, \r\n */
}

static PyObject *pack_commands(PyObject *self, PyObject *args) {
    PyObject *commands;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &commands)) return NULL;
    Py_ssize_t n_commands = PyList_GET_SIZE(commands);
    /* every argument as bytes-like (pointer, length), with the temporary objects kept alive */
    PyObject *keep = PyList_New(0);
    if (keep == NULL) return NULL;
    Py_ssize_t total = 0, n_args = 0;
    for (Py_ssize_t c = 0; c < n_commands; c++) {
        PyObject *cmd = PyList_GET_ITEM(commands, c);
        if (!PyTuple_Check(cmd) || PyTuple_GET_SIZE(cmd) == 0) goto type_error;
        n_args += PyTuple_GET_SIZE(cmd);
    }
    const char **ptrs = PyMem_Malloc(sizeof(char *) * (size_t)(n_args + 1));
    Py_ssize_t *lens = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(n_args + 1));
    if (ptrs == NULL || lens == NULL) {
        PyMem_Free(ptrs);
        PyMem_Free(lens);
        Py_DECREF(keep);
        return PyErr_NoMemory();
    }
    Py_ssize_t a = 0;
    for (Py_ssize_t c = 0; c < n_commands; c++) {
        PyObject *cmd = PyList_GET_ITEM(commands, c);
        Py_ssize_t n = PyTuple_GET_SIZE(cmd);
        total += count_len(n);
        for (Py_ssize_t i = 0; i < n; i++, a++) {
            PyObject *arg = PyTuple_GET_ITEM(cmd, i);
            const char *p;
            Py_ssize_t len;
            if (PyUnicode_CheckExact(arg)) {
                p = PyUnicode_AsUTF8AndSize(arg, &len);
                if (p == NULL) goto fail;
                if (i == 0 && memchr(p, ' ', (size_t)len) != NULL) goto type_error_free; /* "SCRIPT LOAD": redis-py splits it */
            } else if (PyBytes_CheckExact(arg)) {
                p = PyBytes_AS_STRING(arg);
                len = PyBytes_GET_SIZE(arg);
            } else if (PyLong_CheckExact(arg) || PyFloat_CheckExact(arg)) {
                PyObject *text = PyLong_CheckExact(arg) ? PyObject_Str(arg) : PyObject_Repr(arg);
                if (text == NULL) goto fail;
                int kept = PyList_Append(keep, text);
                Py_DECREF(text);
                if (kept < 0) goto fail;
                p = PyUnicode_AsUTF8AndSize(text, &len);
                if (p == NULL) goto fail;
            } else {
                goto type_error_free;
            }
            ptrs[a] = p;
            lens[a] = len;
            total += count_len(len) + len + 2;
        }
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) goto fail;
    char *w = PyBytes_AS_STRING(out);
    a = 0;
    for (Py_ssize_t c = 0; c < n_commands; c++) {
        Py_ssize_t n = PyTuple_GET_SIZE(PyList_GET_ITEM(commands, c));
        w = put_count(w, '*', n);
        for (Py_ssize_t i = 0; i < n; i++, a++) {
            w = put_count(w, '$', lens[a]);
            memcpy(w, ptrs[a], (size_t)lens[a]);
            w += lens[a];
            *w++ = '\r';
            *w++ = '\n';
        }
    }
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    Py_DECREF(keep);
    return out;
type_error_free:
    PyErr_SetString(PyExc_TypeError, "an argument pack_commands does not pack (the caller packs it the old way)");
fail:
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    Py_DECREF(keep);
    return NULL;
type_error:
    Py_DECREF(keep);
    PyErr_SetString(PyExc_TypeError, "commands must be non-empty tuples");
    return NULL;
}

/* Python's round(x, 4): the same correctly rounded decimal digits (dtoa mode 3, as
 * float.__round__ uses) read back as a double. Away from a tie the digits are those of
 * rint(x·10⁴) (the product is within 2⁻⁵³·|x·10⁴| of the exact one, far less than its
 * distance to a tie), and reading d/10⁴ back is one correctly rounded division of two
 * exact doubles, as strtod of "d/10⁴" is correctly rounded: the same double, without
 * formatting and parsing a string (~1K instructions, twice a comment). Near a tie, or
 * for large x, the string path decides (round4_py; tests/core/test_speedups.py). */
static int round4_py(double x, double *out);

static int round4(double x, double *out) {
    double y = x * 10000.0;
    if (fabs(y) < 1e9) {
        double d = rint(y);
        if (fabs(fabs(y - d) - 0.5) > 1e-6) {
            *out = d / 10000.0;
            return 0;
        }
    }
    return round4_py(x, out);
}

static int round4_py(double x, double *out) {
    char *s = PyOS_double_to_string(x, 'f', 4, 0, NULL);
    if (s == NULL) return -1;
    *out = PyOS_string_to_double(s, NULL, NULL);
    PyMem_Free(s);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

/* round4(x) -> round(x, 4) as decide computes it (for the tests) */
static PyObject *round4_of(PyObject *mod, PyObject *arg) {
    (void)mod;
    double x = PyFloat_AsDouble(arg), r;
    if ((x == -1.0 && PyErr_Occurred()) || round4(x, &r) < 0) return NULL;
    return PyFloat_FromDouble(r);
}

/* A NamedTuple of two fields built as its __new__ does (tuple.__new__(cls, (a, b))), with
 * the references to a and b stolen. */
static PyObject *pair_of(PyObject *cls, PyObject *a, PyObject *b) {
    if (a == NULL || b == NULL) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        return NULL;
    }
    /* what tuple.__new__ does for a subclass (tuple_subtype_new): tp_alloc of the class,
     * then the items, without the two argument tuples */
    PyObject *made = ((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, 2);
    if (made == NULL) {
        Py_DECREF(a);
        Py_DECREF(b);
        return NULL;
    }
    PyTuple_SET_ITEM(made, 0, a);
    PyTuple_SET_ITEM(made, 1, b);
    return made;
}

static int prob_at(PyObject *probs, Py_ssize_t i, double *out) {
    if (i < 0 || i >= PyList_GET_SIZE(probs)) {
        PyErr_SetString(PyExc_IndexError, "class index out of range");
        return -1;
    }
    *out = PyFloat_AsDouble(PyList_GET_ITEM(probs, i));
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

/* decide(subjectivity, polarity, intent, layout) -> (Sentiment, Intent): SentimentModel.decide
 * and IntentModel.decide (apply_threshold) of the fused scorer's probability lists in one call.
 * layout = (Sentiment, opinion, positive, threshold, (neutral, positive, negative),
 *           Intent, classes, threshold, fallback); see analysis.py, which keeps the Python
 * decisions as the fallback and the reference (tests/core/test_speedups.py). */
static PyObject *decide(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    (void)mod;
    /* the arguments as the format "O!O!O!(OnndO!OO!dO)" read them, checked by hand (its walk
     * was ~2 k instructions a comment) */
    if (want_args("decide", nargs, 4, 4) < 0) return NULL;
    PyObject *subj = args[0], *pol = args[1], *intent = args[2], *layout = args[3];
    if (!PyList_Check(subj) || !PyList_Check(pol) || !PyList_Check(intent)) {
        PyErr_SetString(PyExc_TypeError, "decide: the probabilities must be lists");
        return NULL;
    }
    if (!PyTuple_Check(layout) || PyTuple_GET_SIZE(layout) != 9) {
        PyErr_SetString(PyExc_TypeError, "decide: layout must be a tuple of 9");
        return NULL;
    }
    PyObject *sent_cls = PyTuple_GET_ITEM(layout, 0), *names = PyTuple_GET_ITEM(layout, 4), *intent_cls = PyTuple_GET_ITEM(layout, 5),
             *classes = PyTuple_GET_ITEM(layout, 6), *fallback = PyTuple_GET_ITEM(layout, 8);
    Py_ssize_t opinion, positive;
    if (as_index(PyTuple_GET_ITEM(layout, 1), &opinion) < 0 || as_index(PyTuple_GET_ITEM(layout, 2), &positive) < 0) return NULL;
    double sent_threshold = PyFloat_AsDouble(PyTuple_GET_ITEM(layout, 3)), intent_threshold = PyFloat_AsDouble(PyTuple_GET_ITEM(layout, 7));
    if ((sent_threshold == -1.0 || intent_threshold == -1.0) && PyErr_Occurred()) return NULL;
    if (!PyTuple_Check(names) || !PyTuple_Check(classes)) {
        PyErr_SetString(PyExc_TypeError, "decide: the layout's names and classes must be tuples");
        return NULL;
    }
    if (PyTuple_GET_SIZE(names) != 3 || PyTuple_GET_SIZE(classes) != PyList_GET_SIZE(intent) || !PyType_Check(sent_cls) || !PyType_Check(intent_cls) ||
        !PyType_IsSubtype((PyTypeObject *)sent_cls, &PyTuple_Type) || !PyType_IsSubtype((PyTypeObject *)intent_cls, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "decide: layout does not match the probabilities");
        return NULL;
    }
    double s, p, score;
    if (prob_at(subj, opinion, &s) < 0 || prob_at(pol, positive, &p) < 0 || round4(s * p + 0.5 * (1.0 - s), &score) < 0) return NULL;
    /* polar_probability(s, p) < threshold: neutral; else positive when p >= 0.5 */
    PyObject *label = PyTuple_GET_ITEM(names, s * (p > 1.0 - p ? p : 1.0 - p) < sent_threshold ? 0 : (p >= 0.5 ? 1 : 2));
    Py_INCREF(label);
    PyObject *sentiment = pair_of(sent_cls, label, PyFloat_FromDouble(score));
    if (sentiment == NULL) return NULL;
    /* argmax: the first of the largest (list.index(max(list))) */
    Py_ssize_t n = PyList_GET_SIZE(intent), best = 0;
    double top = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double v;
        if (prob_at(intent, i, &v) < 0) {
            Py_DECREF(sentiment);
            return NULL;
        }
        if (i == 0 || v > top) top = v, best = i;
    }
    PyObject *name = n ? PyTuple_GET_ITEM(classes, best) : NULL;
    if (name == NULL) {
        Py_DECREF(sentiment);
        PyErr_SetString(PyExc_ValueError, "decide: no intent classes");
        return NULL;
    }
    int is_fallback = PyObject_RichCompareBool(name, fallback, Py_EQ);
    double confidence;
    if (is_fallback < 0) {
        Py_DECREF(sentiment);
        return NULL;
    }
    if (top < intent_threshold && !is_fallback) name = fallback, top = 1.0 - top;
    if (round4(top, &confidence) < 0) {
        Py_DECREF(sentiment);
        return NULL;
    }
    Py_INCREF(name);
    PyObject *decided = pair_of(intent_cls, name, PyFloat_FromDouble(confidence));
    if (decided == NULL) {
        Py_DECREF(sentiment);
        return NULL;
    }
    PyObject *both = PyTuple_Pack(2, sentiment, decided);
    Py_DECREF(sentiment);
    Py_DECREF(decided);
    return both;
}

/* rank_keywords(tokens, top_k, weights, stopwords, idf, median, limit) -> [str], or None:
 * keywords.comment_keywords (kept as the reference and the fallback) in one call. Each
 * token's weight is read from the dict ``weights``; a token not seen before is weighed as
 * KeywordTables.weight does (idf.get(token, median) for a candidate: two characters or more,
 * not in ``stopwords``, some alphabetic character; else 0.0) and remembered
 * there while it holds fewer than ``limit``. The nonzero weights are summed per distinct
 * token in order of first appearance, and the tokens ranked by their sums, best first, ties
 * in that order (a stable sort, as sorted(reverse=True)), the first top_k kept (a single one
 * always). None, for the Python walk, past KEYWORD_SLOTS distinct candidates. */
static int is_keyword_candidate(PyObject *t, PyObject *stopwords) {
    if (!PyUnicode_Check(t) || PyUnicode_GET_LENGTH(t) < 2) return 0;
    int stop = PySequence_Contains(stopwords, t);
    if (stop != 0) return stop < 0 ? -1 : 0;
    int kind = PyUnicode_KIND(t);
    const void *data = PyUnicode_DATA(t);
    for (Py_ssize_t i = 0, n = PyUnicode_GET_LENGTH(t); i < n; i++)
        if (Py_UNICODE_ISALPHA(PyUnicode_READ(kind, data, i))) return 1;
    return 0;
}

/* The weight of a token not in ``weights`` yet (a new reference), remembered there. */
static PyObject *weigh_token(PyObject *t, PyObject *weights, PyObject *stopwords, PyObject *idf, PyObject *median, Py_ssize_t limit) {
    int candidate = is_keyword_candidate(t, stopwords);
    if (candidate < 0) return NULL;
    PyObject *w = candidate ? PyObject_CallMethod(idf, "get", "OO", t, median) : PyFloat_FromDouble(0.0);
    if (w != NULL && PyDict_GET_SIZE(weights) < limit && PyDict_SetItem(weights, t, w) < 0) Py_CLEAR(w);
    return w;
}

enum { KEYWORD_SLOTS = 64 };

static PyObject *rank_keywords(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *tokens, *weights, *stopwords, *idf, *median;
    Py_ssize_t top_k, limit;
    if (!PyArg_ParseTuple(args, "OnO!OOOn", &tokens, &top_k, &PyDict_Type, &weights, &stopwords, &idf, &median, &limit)) return NULL;
    PyObject *seq = PySequence_Fast(tokens, "tokens must be a sequence");
    if (seq == NULL) return NULL;
    PyObject *tok[KEYWORD_SLOTS];
    Py_hash_t hash[KEYWORD_SLOTS];
    double sum[KEYWORD_SLOTS];
    Py_ssize_t n = 0, count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *t = items[i];
        PyObject *w = PyDict_GetItemWithError(weights, t); /* borrowed */
        PyObject *owned = NULL;
        if (w == NULL) {
            if (PyErr_Occurred() || (w = owned = weigh_token(t, weights, stopwords, idf, median, limit)) == NULL) goto done;
        }
        int truth = PyObject_IsTrue(w); /* `if w:` (an IDF table answers None for a prefix-only key) */
        double v = truth > 0 ? PyFloat_AsDouble(w) : 0.0;
        Py_XDECREF(owned);
        if (truth < 0 || (v == -1.0 && PyErr_Occurred())) goto done;
        if (!truth) continue;
        Py_hash_t h = PyObject_Hash(t); /* cached: the dict lookup computed it */
        if (h == -1) goto done;
        Py_ssize_t j = 0;
        for (; j < n; j++) {
            if (hash[j] != h) continue;
            int same = tok[j] == t ? 1 : PyObject_RichCompareBool(tok[j], t, Py_EQ);
            if (same < 0) goto done;
            if (same) break;
        }
        if (j < n) {
            sum[j] += v;
            continue;
        }
        if (n == KEYWORD_SLOTS) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        tok[n] = t, hash[n] = h, sum[n] = 0.0 + v, n++;
    }
    if (n > 1) { /* stable insertion sort, largest first */
        for (Py_ssize_t i = 1; i < n; i++) {
            PyObject *t = tok[i];
            double v = sum[i];
            Py_ssize_t j = i;
            for (; j > 0 && sum[j - 1] < v; j--) tok[j] = tok[j - 1], sum[j] = sum[j - 1];
            tok[j] = t, sum[j] = v;
        }
        if (top_k < 0) top_k = n + top_k > 0 ? n + top_k : 0; /* a slice's [:top_k] */
        if (top_k < n) n = top_k;
    }
    result = PyList_New(n);
    for (Py_ssize_t i = 0; result != NULL && i < n; i++) PyList_SET_ITEM(result, i, Py_NewRef(tok[i]));
done:
    Py_DECREF(seq);
    return result;
}

static PyMethodDef module_methods[] = {
    {"slot_offsets", slot_offsets, METH_VARARGS, "slot_offsets(cls, names): where each named slot of cls lives, for new_slotted"},
    {"new_slotted", (PyCFunction)(void (*)(void))new_slotted, METH_FASTCALL, "new_slotted(cls, offsets, *values): an instance of cls with the values in those slots, no __init__"},
    {"clean_comment", (PyCFunction)(void (*)(void))clean_comment, METH_FASTCALL, "clean_comment(original, text, layout): whether moderate surely ends clean (see the C comment)"},
    {"translate_memo", (PyCFunction)(void (*)(void))translate_memo, METH_FASTCALL, "translate_memo(text, table, missing): text.translate(table), missing(cp) filling the table; None unless every value is one character"},
    {"round4", round4_of, METH_O, "round4(x): round(x, 4), as decide computes it (for the tests)"},
    {"decide", (PyCFunction)(void (*)(void))decide, METH_FASTCALL, "decide(subjectivity, polarity, intent, layout): (Sentiment, Intent) of the fused probabilities (see the C comment)"},
    {"rank_keywords", rank_keywords, METH_VARARGS, "rank_keywords(tokens, top_k, weights, stopwords, idf, median, limit): comment_keywords of tokens, or None past 64 candidates"},
    {"pack_commands", pack_commands, METH_VARARGS, "pack_commands(commands): the RESP bytes of a list of argument tuples (str, bytes, int, float)"},
    {"normalize_plans", (PyCFunction)(void (*)(void))normalize_plans, METH_FASTCALL, "normalize_plans(text, plans, plan): (text, offsets, emojis) of the matching form, or None when empty"},
    {"flagged_logits", flagged_logits, METH_VARARGS, "flagged_logits(matrix, rows, biases, thresholds): [(k, z)] at or over threshold"},
    {"fused_probs", fused_probs, METH_VARARGS, "fused_probs(matrix, counts, sublinear, layout): probabilities per model"},
    {"row_sums", row_sums, METH_VARARGS, "row_sums(matrix, rows, tfs=None): Σ rows (or (Σ tf·row, Σ tf²·row))"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "Compiled inner loops of the comment path.", -1, module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    if (PyType_Ready(&StrTableType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "StrTable", (PyObject *)&StrTableType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
