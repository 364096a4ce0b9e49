/* span.c — small helpers over struct span (parse.h). Pure functions, no state. */
#include "parse.h"

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* span_ieq and span_ieq_len are inline in parse.h. */

int span_istarts(struct span a, const char *prefix)
{
    size_t n = strlen(prefix);
    if (a.len < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(a.p[i]) != lower((unsigned char)prefix[i]))
            return 0;
    return 1;
}

struct span span_trim(struct span a)
{
    while (a.len && (a.p[0] == ' ' || a.p[0] == '\t')) {
        a.p++;
        a.len--;
    }
    while (a.len && (a.p[a.len - 1] == ' ' || a.p[a.len - 1] == '\t'))
        a.len--;
    return a;
}
