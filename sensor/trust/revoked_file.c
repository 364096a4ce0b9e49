/* revoked_file.c — revocation indicators from a file (revoked-keys-file), into the key store.
 *
 * Pipeline: start-up, hot reload and the one-shot commands (config ─► keystore_build ─►
 * [revoked_file] ─► keystore), never per packet. Owns nothing once it returns: each indicator is
 * copied into the store by keystore_add_revoked().
 *
 * The format, one indicator a line (README "Configuration"):
 *
 *     # comment                      blank lines and lines starting with '#' are skipped
 *     KIND VALUE [REASON...]         KIND: kid | x5t | sha1 | jkt; REASON: the rest of the line
 *
 *   kid   the JWK / JOSE header kid, any text without blanks
 *   x5t   base64url SHA-1 of the certificate (27 characters, RFC 7515 §4.1.7)
 *   sha1  hex SHA-1 of the certificate, any case, colons allowed (openssl, PowerShell)
 *   jkt   RFC 7638 JWK thumbprint, base64url SHA-256 (43 characters)
 *
 * A line that is none of these fails the whole file with its path and line, as a broken key set
 * does: the start is refused (exit 2), a reload keeps the running store. The file is bounded
 * (REVOKED_FILE_MAX bytes, REVOKED_LINE_MAX per line): it is configuration, not a feed.
 */
#include "keystore.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { REVOKED_FILE_MAX = 4 << 20, REVOKED_LINE_MAX = 4096 };

static int is_b64url(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

/* 40 hex digits once colons are left out. */
static int is_sha1(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        if (*s == ':')
            continue;
        if (!isxdigit((unsigned char)*s))
            return 0;
        n++;
    }
    return n == 40;
}

/* One line (NUL-terminated, no newline): 0 added or nothing to add, -1 with why filled. */
static int add_line(struct keystore *ks, char *line, char *why, size_t whylen)
{
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
        p[--n] = '\0';
    if (!*p || *p == '#')
        return 0;
    char *kind = p;
    p += strcspn(p, " \t");
    if (!*p) {
        snprintf(why, whylen, "expected KIND VALUE (kid, x5t, sha1 or jkt), got '%.40s'", kind);
        return -1;
    }
    *p++ = '\0';
    p += strspn(p, " \t");
    char *value = p;
    p += strcspn(p, " \t");
    if (*p) {
        *p++ = '\0';
        p += strspn(p, " \t");
    }
    const char *reason = *p && *p != '#' ? p : NULL;
    const char *kid = NULL, *x5t = NULL, *sha1 = NULL, *jkt = NULL;
    size_t vl = strlen(value);
    if (strcmp(kind, "kid") == 0) {
        kid = value;
    } else if (strcmp(kind, "x5t") == 0) {
        if (vl != 27 || !is_b64url(value, vl)) {
            snprintf(why, whylen, "x5t: expected 27 base64url characters, got '%.40s'", value);
            return -1;
        }
        x5t = value;
    } else if (strcmp(kind, "sha1") == 0) {
        if (!is_sha1(value)) {
            snprintf(why, whylen, "sha1: expected 40 hex digits (colons allowed), got '%.64s'",
                     value);
            return -1;
        }
        sha1 = value;
    } else if (strcmp(kind, "jkt") == 0) {
        if (vl != 43 || !is_b64url(value, vl)) {
            snprintf(why, whylen, "jkt: expected 43 base64url characters, got '%.48s'", value);
            return -1;
        }
        jkt = value;
    } else {
        snprintf(why, whylen, "unknown indicator '%.40s' (kid, x5t, sha1 or jkt)", kind);
        return -1;
    }
    if (keystore_add_revoked(ks, kid, x5t, sha1, jkt, reason) != 0) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    return 0;
}

int keystore_add_revoked_file(struct keystore *ks, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = malloc(REVOKED_LINE_MAX + 2);
    if (!line) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0, lineno = 0;
    size_t total = 0;
    char why[256];
    while (fgets(line, REVOKED_LINE_MAX + 2, f)) {
        lineno++;
        size_t n = strlen(line);
        total += n;
        if (total > REVOKED_FILE_MAX) {
            snprintf(err, errlen, "%s: larger than %d bytes", path, REVOKED_FILE_MAX);
            rc = -1;
            break;
        }
        if (n && line[n - 1] == '\n')
            line[--n] = '\0';
        else if (n > REVOKED_LINE_MAX) {
            snprintf(err, errlen, "%s:%d: line longer than %d bytes", path, lineno,
                     REVOKED_LINE_MAX);
            rc = -1;
            break;
        }
        if (add_line(ks, line, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}
