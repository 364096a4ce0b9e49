/* main.c — the tokenwatch command line (SPEC §1, Suricata's habits).
 *
 *   tokenwatch -r PATH... | -i IFACE...  [-c FILE] [-l DIR] [-f EXPR] [-j N] [--set K=V]... [-v|-q]
 *   tokenwatch check-token [-c FILE] [--jwks FILE] [--at ISO8601|EPOCH] TOKEN|-
 *   tokenwatch --version | --help | --dump-config
 *
 * Exit status: 0 success (findings are not errors), 1 runtime failure, 2 usage or configuration
 * error. Owns the configuration and the sensor for the run.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "config.h"
#include "eve.h"
#include "jb.h"
#include "keystore.h"
#include "policy.h"
#include "sensor.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tokenwatch -r PATH [-r PATH ...] [options]   read pcap/pcapng files or directories\n"
            "       tokenwatch -i IFACE [-i IFACE ...] [options] capture live until SIGINT/SIGTERM\n"
            "       tokenwatch check-token [-c FILE] [--jwks FILE] [--at ISO8601|EPOCH] TOKEN|-\n"
            "       tokenwatch --version | --help | --dump-config\n"
            "options:\n"
            "  -c FILE        configuration (YAML); default ./tokenwatch.yaml, then %s/tokenwatch.yaml\n"
            "  -l DIR         log directory for eve.json (default: current directory)\n"
            "  -f EXPR        BPF filter\n"
            "  -j N           worker threads (default 1)\n"
            "  --set KEY=VAL  override one configuration value (e.g. outputs.eve.filename=-)\n"
            "  -v / -q        more / less diagnostics on stderr\n",
            TW_SYSCONFDIR);
}

/* -c FILE, else ./tokenwatch.yaml, else the installed default, else built-in defaults (NULL). */
static const char *find_config(const char *given)
{
    if (given)
        return given;
    if (access("tokenwatch.yaml", R_OK) == 0)
        return "tokenwatch.yaml";
    if (access(TW_SYSCONFDIR "/tokenwatch.yaml", R_OK) == 0)
        return TW_SYSCONFDIR "/tokenwatch.yaml";
    return NULL;
}

static int load_config(struct config *cfg, const char *path, char **sets, size_t nsets)
{
    char err[1024];
    config_defaults(cfg);
    if (config_load(cfg, path, (const char *const *)sets, nsets, err, sizeof(err)) != 0) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        return -1;
    }
    return 0;
}

/* ISO 8601 (2023-06-01T12:00:00Z, optional fraction and offset) or Unix seconds. */
static int parse_time(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!errno && *end == '\0' && end != s) {
        *out = v;
        return 0;
    }
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    int64_t off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh = 0, mm = 0;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) < 1 && sscanf(p + 1, "%2d%2d", &hh, &mm) < 1)
            return -1;
        off = sign * (hh * 3600 + mm * 60);
        p += strlen(p);
    }
    if (*p)
        return -1;
    *out = (int64_t)timegm(&tm) - off;
    return 0;
}

static char *read_stdin_token(void)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t r;
    while ((r = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
        len += r;
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    buf[len] = '\0';
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    return buf;
}

static int cmd_check_token(int argc, char **argv)
{
    const char *cfg_path = NULL, *jwks = NULL, *at = NULL, *token_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            cfg_path = argv[++i];
        else if (strcmp(argv[i], "--jwks") == 0 && i + 1 < argc)
            jwks = argv[++i];
        else if (strcmp(argv[i], "--at") == 0 && i + 1 < argc)
            at = argv[++i];
        else if ((argv[i][0] != '-' || strcmp(argv[i], "-") == 0) && !token_arg)
            token_arg = argv[i];
        else {
            fprintf(stderr, "tokenwatch: check-token: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!token_arg) {
        fprintf(stderr, "tokenwatch: check-token: no token given (TOKEN or - for stdin)\n");
        return 2;
    }
    int64_t now = (int64_t)time(NULL); /* the one place the wall clock is the right clock */
    if (at && parse_time(at, &now) != 0) {
        fprintf(stderr, "tokenwatch: check-token: --at '%s': expected ISO 8601 or Unix seconds\n", at);
        return 2;
    }
    struct config cfg;
    if (load_config(&cfg, find_config(cfg_path), NULL, 0) != 0) {
        config_free(&cfg);
        return 2;
    }
    struct keystore *ks = NULL;
    char err[1024];
    if (sensor_build_keystore(&cfg, &ks, err, sizeof(err)) != 0) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    if (jwks) {
        const char *any[] = {"*"};
        if (keystore_add_jwks_file(ks, "cli", jwks, any, 1, err, sizeof(err)) != 0) {
            fprintf(stderr, "tokenwatch: --jwks: %s\n", err);
            keystore_free(ks);
            config_free(&cfg);
            return 2;
        }
    }
    char *tok = strcmp(token_arg, "-") == 0 ? read_stdin_token() : strdup(token_arg);
    int rc = 1;
    struct policy_cfg pol;
    sensor_policy_from_config(&cfg, &pol);
    struct verdict *v = tok ? policy_judge(ks, &pol, (const uint8_t *)tok, strlen(tok)) : NULL;
    if (v) {
        uint32_t findings = v->findings | policy_time_findings(v, &pol, now);
        struct jb j;
        jb_init(&j, 1024);
        eve_token_object(&j, NULL, v, NULL, findings, 0);
        if (!j.err) {
            fwrite(j.buf, 1, j.len, stdout);
            fputc('\n', stdout);
            rc = 0;
        }
        jb_release(&j);
        verdict_unref(v);
    }
    free(tok);
    keystore_free(ks);
    config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "check-token") == 0)
        return cmd_check_token(argc - 1, argv + 1);

    enum { OPT_SET = 1000, OPT_VERSION, OPT_DUMP };
    static const struct option longopts[] = {
        {"set", required_argument, NULL, OPT_SET},
        {"version", no_argument, NULL, OPT_VERSION},
        {"dump-config", no_argument, NULL, OPT_DUMP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char **reads = calloc((size_t)argc, sizeof(char *));
    char **ifaces = calloc((size_t)argc, sizeof(char *));
    char **sets = calloc((size_t)argc, sizeof(char *));
    size_t nreads = 0, nifaces = 0, nsets = 0;
    const char *cfg_path = NULL, *logdir = ".", *bpf = NULL;
    int verbose = 0, dump = 0, rc = 0, opt;
    if (!reads || !ifaces || !sets)
        return 1;
    while ((opt = getopt_long(argc, argv, "r:i:c:l:f:j:vqh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'r': reads[nreads++] = optarg; break;
        case 'i': ifaces[nifaces++] = optarg; break;
        case 'c': cfg_path = optarg; break;
        case 'l': logdir = optarg; break;
        case 'f': bpf = optarg; break;
        case 'j': {
            char *end;
            long j = strtol(optarg, &end, 10);
            if (*end || j < 1 || j > 1024) {
                fprintf(stderr, "tokenwatch: -j: expected a number of workers, got '%s'\n", optarg);
                rc = 2;
                goto out;
            }
            if (j > 1 && verbose >= 0)
                fprintf(stderr, "tokenwatch: -j %ld: this build runs one worker\n", j);
            break;
        }
        case 'v': verbose++; break;
        case 'q': verbose--; break;
        case OPT_SET: sets[nsets++] = optarg; break;
        case OPT_VERSION: printf("tokenwatch %s\n", TW_VERSION); goto out;
        case OPT_DUMP: dump = 1; break;
        case 'h': usage(stdout); goto out;
        default: usage(stderr); rc = 2; goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tokenwatch: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        rc = 2;
        goto out;
    }
    struct config cfg;
    if (load_config(&cfg, find_config(cfg_path), sets, nsets) != 0) {
        config_free(&cfg);
        rc = 2;
        goto out;
    }
    if (dump) {
        config_dump(&cfg, stdout);
        config_free(&cfg);
        goto out;
    }
    if ((nreads == 0) == (nifaces == 0)) {
        fprintf(stderr, "tokenwatch: give -r PATH (offline) or -i IFACE (live), not both or neither\n");
        usage(stderr);
        config_free(&cfg);
        rc = 2;
        goto out;
    }
    char err[1024];
    int code = 1;
    struct sensor *s = sensor_new(&cfg, logdir, err, sizeof(err), &code);
    if (!s) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        config_free(&cfg);
        rc = code;
        goto out;
    }
    struct capture_opts co = {bpf ? bpf : cfg.bpf, verbose};
    if (nreads) {
        rc = capture_offline(s, reads, nreads, &co);
    } else {
        struct sigaction sa = {0};
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        rc = capture_live(s, ifaces, nifaces, &co, &stop_flag);
    }
    sensor_finish(s);
    /* On failure the one error line above is all stderr says (SPEC §1). */
    if (verbose >= 0 && rc == 0)
        fprintf(stderr,
                "tokenwatch: %llu packets, %llu tokens, %llu alerts, %llu capture errors\n",
                (unsigned long long)s->st.pkts, (unsigned long long)s->st.tokens_seen,
                (unsigned long long)s->st.alerts_total, (unsigned long long)s->st.capture_errors);
    sensor_free(s);
    config_free(&cfg);
out:
    free(reads);
    free(ifaces);
    free(sets);
    return rc;
}
