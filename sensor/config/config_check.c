/* config_check.c — start-up checks of the configuration against the command line (see
 * config_check.h).
 *
 * Start-up only, between config_load() and the first output being opened: main() exits 2 on any
 * failure here, before eve.json exists, so a refused start cannot be mistaken for a run that saw
 * nothing. Owns nothing beyond each call. Split from config.c, which checks one key at a time
 * while it parses; these need several keys, the log directory or libpcap.
 */
#include "config_check.h"

#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "FILE:LINE: KEY" for a value from the file, "--set KEY" for one an override gave (line 0, as
 * config.c says it). Built-in defaults never reach here: one default output cannot clash. */
static void where(const struct config *c, int line, const char *key, char *buf, size_t n)
{
    if (line > 0)
        snprintf(buf, n, "%s:%d: %s", c->path ? c->path : "(built-in)", line, key);
    else
        snprintf(buf, n, "--set %s", key);
}

/* A regular output that writes into the log directory (not stdout, not an absolute path). */
static int in_logdir(const struct eve_output_cfg *o)
{
    return o->filetype == EVE_FT_REGULAR && o->filename && strcmp(o->filename, "-") != 0 &&
           o->filename[0] != '/';
}

int config_check_logdir(const struct config *c, const char *logdir, int given, char *err,
                        size_t errlen)
{
    int needed = given;
    for (size_t i = 0; i < c->noutputs && !needed; i++)
        needed = in_logdir(&c->outputs[i]);
    if (!needed)
        return 0;
    const char *opt = given ? "-l" : "log directory (-l, default the working directory)";
    struct stat st;
    if (stat(logdir, &st) != 0) {
        snprintf(err, errlen, "%s %s: %s", opt, logdir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a directory", opt, logdir);
        return -1;
    }
    /* Writable by us now; a live run's --user is given the files before the drop (output.c). */
    if (access(logdir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "%s %s: cannot write there: %s", opt, logdir, strerror(errno));
        return -1;
    }
    return 0;
}

/* The file an output writes, as a comparable string: "-" for stdout, else the real path of its
 * directory plus its name. Empty when it writes no file (sockets, syslog, redis). */
static void resolved(const struct eve_output_cfg *o, const char *logdir, char *out, size_t n)
{
    char joined[PATH_MAX * 2], dir[PATH_MAX * 2], real[PATH_MAX];
    out[0] = '\0';
    if (o->filetype != EVE_FT_REGULAR)
        return;
    const char *name = o->filename ? o->filename : "eve.json";
    if (strcmp(name, "-") == 0) {
        snprintf(out, n, "-");
        return;
    }
    if (name[0] == '/')
        snprintf(joined, sizeof(joined), "%s", name);
    else
        snprintf(joined, sizeof(joined), "%s/%s", logdir, name);
    const char *slash = strrchr(joined, '/');
    snprintf(dir, sizeof(dir), "%.*s", slash == joined ? 1 : (int)(slash - joined), joined);
    if (realpath(dir, real))
        snprintf(out, n, "%s/%s", strcmp(real, "/") == 0 ? "" : real, slash + 1);
    else
        snprintf(out, n, "%s", joined); /* the open will fail and say why */
}

static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, b) == 0)
        return 1;
    return strcmp(a, "-") != 0 && strcmp(b, "-") != 0 && stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int config_check_outputs(const struct config *c, const char *logdir, char *err, size_t errlen)
{
    char a[PATH_MAX * 2 + 2], b[PATH_MAX * 2 + 2], key[100], at[PATH_MAX + 200];
    for (size_t i = 1; i < c->noutputs; i++) {
        resolved(&c->outputs[i], logdir, a, sizeof(a));
        for (size_t j = 0; a[0] && j < i; j++) {
            resolved(&c->outputs[j], logdir, b, sizeof(b));
            if (!b[0] || !same_file(a, b))
                continue;
            snprintf(key, sizeof(key), "%s.filename", c->outputs[i].key);
            where(c, c->outputs[i].line, key, at, sizeof(at));
            char other[PATH_MAX + 200];
            snprintf(key, sizeof(key), "%s.filename", c->outputs[j].key);
            where(c, c->outputs[j].line, key, other, sizeof(other));
            snprintf(err, errlen, "%s: %s is also written by %s (every record would be written "
                     "twice)", at, strcmp(a, "-") == 0 ? "stdout" : a, other);
            return -1;
        }
    }
    return 0;
}

int config_check_bpf(const struct config *c, const char *cli_bpf, const char *first_read,
                     char *err, size_t errlen)
{
    const char *bpf = cli_bpf ? cli_bpf : c->bpf;
    if (!bpf)
        return 0;
    char ebuf[PCAP_ERRBUF_SIZE] = "", name[PATH_MAX + 100];
    int linktype = DLT_EN10MB;
    struct stat st;
    /* A FIFO or a directory cannot be peeked at without consuming it: Ethernet stands in, and a
     * filter that only that capture's link type refuses is still caught when it is opened. */
    if (first_read && stat(first_read, &st) == 0 && S_ISREG(st.st_mode)) {
        pcap_t *f = pcap_open_offline(first_read, ebuf);
        if (f) {
            linktype = pcap_datalink(f);
            pcap_close(f);
        }
    }
    pcap_t *p = pcap_open_dead(linktype, c->snaplen ? (int)c->snaplen : 262144);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct bpf_program prog;
    int rc = 0;
    if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        if (cli_bpf)
            snprintf(name, sizeof(name), "-f");
        else
            where(c, c->bpf_line, "capture.bpf", name, sizeof(name));
        snprintf(err, errlen, "%s: bad BPF filter '%.200s': %s", name, bpf, pcap_geterr(p));
        rc = -1;
    } else {
        pcap_freecode(&prog);
    }
    pcap_close(p);
    return rc;
}

int config_check_warn(const struct config *c, FILE *f)
{
    char at[PATH_MAX + 100];
    int n = 0;
    if (c->keysets_line >= 0 && c->nkeysets == 0) {
        where(c, c->keysets_line, "keysets", at, sizeof(at));
        fprintf(f, "tokenwatch: warning: %s: empty: no issuer is trusted, every JWT will be "
                   "judged issuer_untrusted\n", at);
        n++;
    }
    return n;
}
