/* yaml_doc.c — builds a yaml_doc tree from libyaml's event stream (see yaml_doc.h).
 *
 * Sits at start-up, under config.c; nothing in the packet path uses it. Owns the nodes it makes.
 * YAML 1.1 (libyaml's dialect, as suricata.yaml): one document, `%YAML` directives and `---`
 * accepted. The tree is built with an explicit stack (depth capped) rather than recursion over
 * events, and anchors are ignored while aliases are refused: an alias would let a few bytes
 * expand into an exponential tree ("billion laughs").
 */
#include "yaml_doc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* Configuration is read once at start-up; there is nothing sensible to do without memory. */
static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("tokenwatch: out of memory reading configuration\n", stderr);
        abort();
    }
    return q;
}

static char *copy_bytes(const void *s, size_t len)
{
    char *p = xrealloc(NULL, len + 1);
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

struct yaml_doc_node *yaml_doc_new(int kind, int line)
{
    struct yaml_doc_node *n = xrealloc(NULL, sizeof(*n));
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->line = line;
    return n;
}

struct yaml_doc_node *yaml_doc_new_scalar(const char *s, size_t len, int plain, int line)
{
    struct yaml_doc_node *n = yaml_doc_new(YAML_DOC_SCALAR, line);
    n->str = copy_bytes(s, len);
    n->len = len;
    n->plain = plain;
    return n;
}

void yaml_doc_free(struct yaml_doc_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nitems; i++)
        yaml_doc_free(n->items[i]);
    for (size_t i = 0; i < n->npairs; i++) {
        free(n->pairs[i].key);
        yaml_doc_free(n->pairs[i].value);
    }
    free(n->items);
    free(n->pairs);
    free(n->str);
    free(n);
}

struct yaml_doc_pair *yaml_doc_map_find(const struct yaml_doc_node *m, const char *key)
{
    if (!m || m->kind != YAML_DOC_MAP)
        return NULL;
    for (size_t i = 0; i < m->npairs; i++)
        if (strcmp(m->pairs[i].key, key) == 0)
            return &m->pairs[i];
    return NULL;
}

static void append_pair(struct yaml_doc_node *m, char *key, int line, struct yaml_doc_node *v)
{
    if (m->npairs == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->pairs = xrealloc(m->pairs, m->cap * sizeof(*m->pairs));
    }
    m->pairs[m->npairs].key = key;
    m->pairs[m->npairs].line = line;
    m->pairs[m->npairs].value = v;
    m->npairs++;
}

void yaml_doc_map_put(struct yaml_doc_node *m, const char *key, int line,
                      struct yaml_doc_node *value)
{
    struct yaml_doc_pair *p = yaml_doc_map_find(m, key);
    if (p) {
        yaml_doc_free(p->value);
        p->value = value;
        return;
    }
    append_pair(m, copy_bytes(key, strlen(key)), line, value);
}

void yaml_doc_seq_append(struct yaml_doc_node *s, struct yaml_doc_node *item)
{
    if (s->nitems == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->items = xrealloc(s->items, s->cap * sizeof(*s->items));
    }
    s->items[s->nitems++] = item;
}

int yaml_doc_is_null(const struct yaml_doc_node *n)
{
    if (!n)
        return 1;
    if (n->kind != YAML_DOC_SCALAR || !n->plain)
        return 0;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

void yaml_doc_set_line(struct yaml_doc_node *n, int line)
{
    if (!n)
        return;
    n->line = line;
    for (size_t i = 0; i < n->nitems; i++)
        yaml_doc_set_line(n->items[i], line);
    for (size_t i = 0; i < n->npairs; i++) {
        n->pairs[i].line = line;
        yaml_doc_set_line(n->pairs[i].value, line);
    }
}

const char *yaml_doc_kind_name(const struct yaml_doc_node *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case YAML_DOC_SEQ: return "a sequence";
    case YAML_DOC_MAP: return "a mapping";
    default: return "a scalar";
    }
}

/* One open collection; `key` is a mapping's key waiting for its value. */
struct frame {
    struct yaml_doc_node *node;
    char *key;
    int key_line;
};

struct builder {
    struct yaml_doc_node *root;
    struct frame stack[YAML_DOC_MAX_DEPTH];
    int depth;
    int docs;
    struct yaml_doc_error *e;
};

static int fail(struct builder *b, int line, const char *msg)
{
    b->e->line = line;
    snprintf(b->e->msg, sizeof(b->e->msg), "%s", msg);
    return -1;
}

/* Hangs a finished or just-opened node under the innermost open collection. On error n is freed. */
static int attach(struct builder *b, struct yaml_doc_node *n)
{
    if (b->depth == 0) {
        if (b->root) {
            int line = n->line;
            yaml_doc_free(n);
            return fail(b, line, "more than one top-level node");
        }
        b->root = n;
        return 0;
    }
    struct frame *f = &b->stack[b->depth - 1];
    if (f->node->kind == YAML_DOC_SEQ) {
        yaml_doc_seq_append(f->node, n);
        return 0;
    }
    if (!f->key) {
        int line = n->line;
        if (n->kind != YAML_DOC_SCALAR) {
            yaml_doc_free(n);
            return fail(b, line, "mapping keys must be scalars");
        }
        if (memchr(n->str, '\0', n->len)) {
            yaml_doc_free(n);
            return fail(b, line, "mapping key contains a NUL byte");
        }
        if (yaml_doc_map_find(f->node, n->str)) {
            char msg[160];
            snprintf(msg, sizeof(msg), "duplicate key '%.80s'", n->str);
            yaml_doc_free(n);
            return fail(b, line, msg);
        }
        f->key = n->str;
        f->key_line = line;
        n->str = NULL;
        yaml_doc_free(n);
        return 0;
    }
    append_pair(f->node, f->key, f->key_line, n);
    f->key = NULL;
    return 0;
}

static int open_collection(struct builder *b, int kind, int line)
{
    if (b->depth == YAML_DOC_MAX_DEPTH)
        return fail(b, line, "nesting too deep");
    struct yaml_doc_node *n = yaml_doc_new(kind, line);
    /* Attach first: the root (or parent) then owns n, so every error path frees it. */
    if (attach(b, n) < 0)
        return -1;
    b->stack[b->depth].node = n;
    b->stack[b->depth].key = NULL;
    b->depth++;
    return 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->docs > 0)
            return fail(b, line, "only one YAML document is supported");
        return 0;
    case YAML_DOCUMENT_END_EVENT:
        b->docs++;
        return 0;
    case YAML_ALIAS_EVENT:
        return fail(b, line, "aliases are not supported");
    case YAML_SCALAR_EVENT: {
        const char *tag = (const char *)ev->data.scalar.tag;
        int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                    !(tag && strcmp(tag, YAML_STR_TAG) == 0);
        return attach(b, yaml_doc_new_scalar((const char *)ev->data.scalar.value,
                                             ev->data.scalar.length, plain, line));
    }
    case YAML_SEQUENCE_START_EVENT:
        return open_collection(b, YAML_DOC_SEQ, line);
    case YAML_MAPPING_START_EVENT:
        return open_collection(b, YAML_DOC_MAP, line);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth > 0)
            b->depth--;
        return 0;
    default:
        return 0;
    }
}

int yaml_doc_parse(const char *buf, size_t len, struct yaml_doc_node **root,
                   struct yaml_doc_error *e)
{
    struct builder b;
    memset(&b, 0, sizeof(b));
    b.e = e;
    e->line = 0;
    e->msg[0] = '\0';
    *root = NULL;

    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        fputs("tokenwatch: out of memory reading configuration\n", stderr);
        abort();
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    int rc = 0, done = 0;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            e->line = (int)p.problem_mark.line + 1;
            /* The reader (bad UTF-8, control characters) reports an offset, not a mark. */
            if (p.error == YAML_READER_ERROR) {
                e->line = 1;
                for (size_t i = 0; i < p.problem_offset && i < len; i++)
                    e->line += buf[i] == '\n';
            }
            if (p.context)
                snprintf(e->msg, sizeof(e->msg), "%s %s at line %d",
                         p.problem ? p.problem : "syntax error", p.context,
                         (int)p.context_mark.line + 1);
            else
                snprintf(e->msg, sizeof(e->msg), "%s", p.problem ? p.problem : "syntax error");
            rc = -1;
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
        if (rc < 0)
            break;
    }
    yaml_parser_delete(&p);
    /* Keys waiting for a value are owned by their frame until attached. */
    for (int i = 0; i < b.depth; i++)
        free(b.stack[i].key);
    if (rc < 0) {
        yaml_doc_free(b.root);
        return -1;
    }
    *root = b.root;
    return 0;
}

int yaml_doc_parse_value(const char *text, struct yaml_doc_node **out, struct yaml_doc_error *e)
{
    if (!text[0]) {
        *out = yaml_doc_new_scalar("", 0, 0, 0); /* not plain: not null (see yaml_doc.h) */
        return 0;
    }
    if (!strchr("[{\"'", text[0])) {
        *out = yaml_doc_new_scalar(text, strlen(text), 1, 0);
        return 0;
    }
    if (yaml_doc_parse(text, strlen(text), out, e) < 0)
        return -1;
    if (!*out)
        *out = yaml_doc_new_scalar("", 0, 1, 0);
    yaml_doc_set_line(*out, 0);
    return 0;
}

int yaml_doc_read_file(const char *path, char **buf, size_t *len, const char **what)
{
    FILE *f = fopen(path, "rb");
    *buf = NULL;
    *len = 0;
    *what = "open";
    if (!f)
        return -1;
    size_t cap = 0;
    while (!ferror(f) && !feof(f)) {
        if (cap - *len < 2) {
            cap = cap ? cap * 2 : 65536;
            *buf = xrealloc(*buf, cap);
        }
        *len += fread(*buf + *len, 1, cap - *len - 1, f);
    }
    int bad = ferror(f), saved = errno;
    fclose(f);
    if (bad) {
        free(*buf);
        *buf = NULL;
        *what = "read";
        errno = saved;
        return -1;
    }
    if (!*buf)
        *buf = xrealloc(NULL, 1);
    (*buf)[*len] = '\0';
    return 0;
}

/* ---- editing and writing ------------------------------------------------------------------ */

static int is_synonym(const char *const *syn, const char *a, const char *b)
{
    int ha = 0, hb = 0;
    for (; syn && *syn; syn++) {
        ha |= strcmp(*syn, a) == 0;
        hb |= strcmp(*syn, b) == 0;
    }
    return ha && hb;
}

static struct yaml_doc_pair *find_seg(const struct yaml_doc_node *m, const char *seg,
                                      const char *const *syn)
{
    struct yaml_doc_pair *p = yaml_doc_map_find(m, seg);
    for (size_t i = 0; !p && m->kind == YAML_DOC_MAP && i < m->npairs; i++)
        if (is_synonym(syn, seg, m->pairs[i].key))
            p = &m->pairs[i];
    return p;
}

/* The mapping that should receive `seg`: cur itself, or in a list of mappings the first item
 * having seg (else a new item). NULL when cur is neither. */
static struct yaml_doc_node *holder(struct yaml_doc_node *cur, const char *seg,
                                    const char *const *syn)
{
    if (cur->kind == YAML_DOC_MAP)
        return cur;
    if (cur->kind != YAML_DOC_SEQ)
        return NULL;
    for (size_t i = 0; i < cur->nitems; i++)
        if (cur->items[i]->kind != YAML_DOC_MAP)
            return NULL;
    for (size_t i = 0; i < cur->nitems; i++)
        if (find_seg(cur->items[i], seg, syn))
            return cur->items[i];
    struct yaml_doc_node *m = yaml_doc_new(YAML_DOC_MAP, 0);
    yaml_doc_seq_append(cur, m);
    return m;
}

int yaml_doc_set_path(struct yaml_doc_node **root, const char *path, struct yaml_doc_node *value,
                      const char *const *synonyms, char *why, size_t whylen)
{
    char buf[256];
    char *segs[YAML_DOC_MAX_PATH], *save = NULL;
    size_t nseg = 0, len = strlen(path);
    const char *problem = NULL;
    if (len == 0 || len >= sizeof(buf) || path[0] == '.' || path[len - 1] == '.' ||
        strstr(path, ".."))
        problem = "malformed key";
    else {
        memcpy(buf, path, len + 1);
        for (char *s = strtok_r(buf, ".", &save); s && !problem; s = strtok_r(NULL, ".", &save)) {
            if (nseg == YAML_DOC_MAX_PATH)
                problem = "key nested too deep";
            else
                segs[nseg++] = s;
        }
    }
    if (!problem && yaml_doc_is_null(*root)) {
        yaml_doc_free(*root);
        *root = yaml_doc_new(YAML_DOC_MAP, 0);
    }
    struct yaml_doc_node *cur = problem ? NULL : *root;
    for (size_t i = 0; cur && i < nseg; i++) {
        struct yaml_doc_node *m = holder(cur, segs[i], synonyms);
        if (!m) {
            snprintf(why, whylen, "%s%s is not a mapping", i ? "the value under " : "the document",
                     i ? segs[i - 1] : "");
            break;
        }
        struct yaml_doc_pair *p = find_seg(m, segs[i], synonyms);
        if (i + 1 == nseg) {
            yaml_doc_map_put(m, p ? p->key : segs[i], 0, value);
            return 0;
        }
        if (!p || yaml_doc_is_null(p->value)) {
            yaml_doc_map_put(m, p ? p->key : segs[i], 0, yaml_doc_new(YAML_DOC_MAP, 0));
            p = find_seg(m, segs[i], synonyms);
        }
        cur = p->value;
    }
    if (problem)
        snprintf(why, whylen, "%s", problem);
    yaml_doc_free(value);
    return -1;
}

/* Length of the UTF-8 sequence at s and its code point; 0 when s does not start one. */
static size_t utf8_decode(const unsigned char *s, unsigned long *cp)
{
    size_t n = s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0)
        return 0;
    unsigned long c = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    static const unsigned long min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

void yaml_doc_write_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        unsigned long cp;
        size_t n;
        if (*p == '"' || *p == '\\') {
            fputc('\\', f);
            fputc(*p++, f);
        } else if (*p >= 0x20 && *p < 0x7f) {
            fputc(*p++, f);
        } else if (*p < 0x80 || (n = utf8_decode(p, &cp)) == 0) {
            fprintf(f, "\\x%02x", *p++);
        } else {
            fprintf(f, cp > 0xffff ? "\\U%08lx" : "\\u%04lx", cp);
            p += n;
        }
    }
    fputc('"', f);
}

/* ---- typed scalars ------------------------------------------------------------------------ */

static int is_text(const struct yaml_doc_node *n)
{
    return n && n->kind == YAML_DOC_SCALAR && strlen(n->str) == n->len;
}

int yaml_doc_bool(const struct yaml_doc_node *n, int *out)
{
    static const char *const words[] = {"no", "yes", "false", "true", "off", "on"};
    for (size_t i = 0; is_text(n) && i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcasecmp(n->str, words[i]) == 0) {
            *out = (int)(i & 1);
            return 0;
        }
    }
    return -1;
}

int yaml_doc_uint(const struct yaml_doc_node *n, int size, uint64_t *out)
{
    if (!is_text(n) || !isdigit((unsigned char)n->str[0]))
        return -1;
    const char *p = n->str;
    uint64_t v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (size) {
        while (*p == ' ')
            p++;
        const char *units = "kmg", *u = *p ? strchr(units, tolower((unsigned char)*p)) : NULL;
        if (u) {
            if (tolower((unsigned char)p[1]) != 'b')
                return -1;
            unsigned shift = 10u * (unsigned)(u - units + 1);
            if (v > (UINT64_MAX >> shift))
                return -1;
            v <<= shift;
            p += 2;
        }
    }
    if (*p)
        return -1;
    *out = v;
    return 0;
}
