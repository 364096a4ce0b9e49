/* keys_fetch.c — HTTPS GET of a JWKS or an OIDC discovery document with libcurl, for
 * `tokenwatch keys update` (keys_update.c). Never on the packet path, never in the sensor.
 *
 * What it refuses, whatever the server says: any scheme but https (the URL and every redirect),
 * an unverified certificate or host name, more than 3 redirects, a transfer longer than the
 * timeouts, a body over KEYS_FETCH_MAX (the write callback aborts the transfer, so memory stays
 * bounded whatever Content-Length claims), an HTTP status other than 200.
 *
 * libcurl is opened on the first fetch (dlopen), not linked: on Debian 12 it brings 27 more
 * libraries (GnuTLS, Kerberos, LDAP, libssh2, ...) whose loading and constructors cost every
 * start of the binary about 8 ms (15 ms against 7 for an empty program linked with our other
 * libraries), for a fetch only `keys update` makes. Its soname has been libcurl.so.4 since
 * 2006; the .deb names the package (packaging/install.cmake).
 */
#include "keys_fetch.h"

#define CURL_DISABLE_TYPECHECK /* its checking macros would name the functions, not ours */
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    char *buf;
    size_t len, cap;
    int too_big;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
    struct sink *s = user;
    size_t n = size * nmemb;
    if (n > KEYS_FETCH_MAX - s->len) {
        s->too_big = 1;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *grown = realloc(s->buf, cap);
        if (!grown)
            return 0;
        s->buf = grown;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

#define LIBCURL "libcurl.so.4"

/* The libcurl functions used here, found in the library once it is opened. */
static struct curl_api {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *c);
    CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *c);
    const char *(*easy_strerror)(CURLcode rc);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
} C;
static int curl_ready;
static char curl_why[256]; /* why it could not be opened */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
    void *h = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(curl_why, sizeof(curl_why), "cannot load libcurl (%s)", e ? e : LIBCURL);
        return;
    }
    static const struct {
        const char *name;
        size_t off;
    } fns[] = {
#define FN(f) {"curl_" #f, offsetof(struct curl_api, f)} /* member f is libcurl's curl_f */
        FN(global_init),   FN(easy_init),     FN(easy_setopt),  FN(easy_perform),
        FN(easy_getinfo),  FN(easy_cleanup),  FN(easy_strerror), FN(slist_append),
        FN(slist_free_all),
#undef FN
    };
    for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        void *f = dlsym(h, fns[i].name);
        if (!f) {
            snprintf(curl_why, sizeof(curl_why), "cannot load libcurl (%s has no %s)", LIBCURL,
                     fns[i].name);
            return; /* h stays open: nothing of it is called */
        }
        memcpy((char *)&C + fns[i].off, &f, sizeof(f));
    }
    if (C.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(curl_why, sizeof(curl_why), "cannot start libcurl");
        return;
    }
    curl_ready = 1;
}

int keys_fetch(const char *url, const char *ca_file, const char *const *connect_to,
               size_t nconnect, char **body, size_t *len, char *err, size_t errlen)
{
    *body = NULL;
    *len = 0;
    if (strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "%s: refused: not an https URL", url);
        return -1;
    }
    pthread_once(&curl_once, curl_init);
    if (!curl_ready) {
        snprintf(err, errlen, "%s: %s", url, curl_why);
        return -1;
    }
    if (!ca_file || !*ca_file)
        ca_file = getenv("CURL_CA_BUNDLE");
    if (!ca_file || !*ca_file)
        ca_file = getenv("SSL_CERT_FILE");
    if (ca_file && !*ca_file)
        ca_file = NULL;

    CURL *c = C.easy_init();
    if (!c) {
        snprintf(err, errlen, "%s: cannot start libcurl", url);
        return -1;
    }
    struct sink s = {0};
    char cerr[CURL_ERROR_SIZE] = "";
    C.easy_setopt(c, CURLOPT_URL, url);
    /* https only, redirects too: a libcurl too old to be told so (before 7.85) is not used */
    if (C.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
        C.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") != CURLE_OK) {
        C.easy_cleanup(c);
        snprintf(err, errlen, "%s: this libcurl cannot be restricted to https (7.85 or later "
                 "needed)", url);
        return -1;
    }
    C.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    C.easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    C.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    C.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    C.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    C.easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    C.easy_setopt(c, CURLOPT_MAXFILESIZE, (long)KEYS_FETCH_MAX);
    C.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    C.easy_setopt(c, CURLOPT_USERAGENT, "tokenwatch/" TW_VERSION " (keys update)");
    C.easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    C.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    C.easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (ca_file)
        C.easy_setopt(c, CURLOPT_CAINFO, ca_file);
    struct curl_slist *to = NULL;
    for (size_t i = 0; i < nconnect; i++) {
        struct curl_slist *n = C.slist_append(to, connect_to[i]);
        if (!n) {
            C.slist_free_all(to);
            C.easy_cleanup(c);
            snprintf(err, errlen, "%s: out of memory", url);
            return -1;
        }
        to = n;
    }
    if (to)
        C.easy_setopt(c, CURLOPT_CONNECT_TO, to);

    CURLcode rc = C.easy_perform(c);
    long status = 0;
    C.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    char *where = NULL; /* the URL curl stopped at (a redirect's target), curl-owned */
    C.easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &where);
    int off_https = rc == CURLE_UNSUPPORTED_PROTOCOL && where && strncmp(where, "https://", 8);
    char target[160];
    snprintf(target, sizeof(target), "%s", off_https ? where : "");
    C.easy_cleanup(c);
    C.slist_free_all(to);

    if (off_https) {
        snprintf(err, errlen, "%s: refused: redirected to a URL that is not https (%s)", url,
                 target);
    } else if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, errlen, "%s: refused: document larger than %u bytes", url, KEYS_FETCH_MAX);
    } else if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url, cerr[0] ? cerr : C.easy_strerror(rc));
    } else if (status != 200) {
        snprintf(err, errlen, "%s: HTTP status %ld", url, status);
    } else {
        if (!s.buf && !(s.buf = calloc(1, 1))) {
            snprintf(err, errlen, "%s: out of memory", url);
            return -1;
        }
        *body = s.buf;
        *len = s.len;
        return 0;
    }
    free(s.buf);
    return -1;
}
