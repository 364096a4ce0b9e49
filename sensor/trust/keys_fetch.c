/* keys_fetch.c — HTTPS GET of a JWKS or an OIDC discovery document with libcurl, for
 * `tokenwatch keys update` (keys_update.c). Never on the packet path, never in the sensor.
 *
 * What it refuses, whatever the server says: any scheme but https (the URL and every redirect),
 * an unverified certificate or host name, more than 3 redirects, a transfer longer than the
 * timeouts, a body over KEYS_FETCH_MAX (the write callback aborts the transfer, so memory stays
 * bounded whatever Content-Length claims), an HTTP status other than 200.
 */
#include "keys_fetch.h"

#include <curl/curl.h>
#include <pthread.h>
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

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
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
    if (!ca_file || !*ca_file)
        ca_file = getenv("CURL_CA_BUNDLE");
    if (!ca_file || !*ca_file)
        ca_file = getenv("SSL_CERT_FILE");
    if (ca_file && !*ca_file)
        ca_file = NULL;

    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "%s: cannot start libcurl", url);
        return -1;
    }
    struct sink s = {0};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)KEYS_FETCH_MAX);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tokenwatch/" TW_VERSION " (keys update)");
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    struct curl_slist *to = NULL;
    for (size_t i = 0; i < nconnect; i++) {
        struct curl_slist *n = curl_slist_append(to, connect_to[i]);
        if (!n) {
            curl_slist_free_all(to);
            curl_easy_cleanup(c);
            snprintf(err, errlen, "%s: out of memory", url);
            return -1;
        }
        to = n;
    }
    if (to)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, to);

    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    char *where = NULL; /* the URL curl stopped at (a redirect's target), curl-owned */
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &where);
    int off_https = rc == CURLE_UNSUPPORTED_PROTOCOL && where && strncmp(where, "https://", 8);
    char target[160];
    snprintf(target, sizeof(target), "%s", off_https ? where : "");
    curl_easy_cleanup(c);
    curl_slist_free_all(to);

    if (off_https) {
        snprintf(err, errlen, "%s: refused: redirected to a URL that is not https (%s)", url,
                 target);
    } else if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, errlen, "%s: refused: document larger than %u bytes", url, KEYS_FETCH_MAX);
    } else if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(rc));
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
