/* main.c — the tokenwatch command line (SPEC §1, Suricata's habits).
 *
 *   tokenwatch -r PATH... | -i IFACE...  [-c FILE] [-l DIR] [-f EXPR] [-j N] [--user U] [--group G]
 *              [--pidfile FILE]
 *              [--set K=V]... [-v|-q]
 *   tokenwatch check-token [-c FILE] [--jwks FILE] [--at ISO8601|EPOCH] TOKEN|-
 *   tokenwatch keys show [-c FILE] [--json] | keys check [-c FILE]   (keys_cmd.c)
 *   tokenwatch --version | --help | --dump-config
 *
 * Exit status: 0 success (findings are not errors), 1 runtime failure, 2 usage or configuration
 * error. Owns the configuration and the sensors for the run, one per worker (-j N, live or
 * reading files: N, sharing one key store and one token_replay table), and the
 * hot-reload control thread (reload.h) that owns the key store; the run loop itself is
 * worker.h's. Signal handlers only set flags: SIGINT/SIGTERM end the run (live capture, or
 * reading files: after the current packet, with the open flows' events and the final stats),
 * SIGHUP asks for the outputs to be reopened (logrotate) and for the key sets and revoked keys
 * to be reread (hot reload); the run loop acts on them between packets, the reload thread
 * builds the new store. At exit a one-line summary goes to stderr (summary.h, not with -q);
 * reading files with stderr on a terminal, capture.c draws a progress line per file.
 *
 * check-token prints the token object the sensor would log, plus "key": the key that matched
 * (keyset, identifiers, type and size, JWK issuer, certificate subject and validity).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/privs.h"
#include "config.h"
#include "config_check.h"
#include "curve.h"
#include "eve.h"
#include "hugeheap.h"
#include "jb.h"
#include "keys_cmd.h"
#include "keystore.h"
#include "keystore_build.h"
#include "policy.h"
#include "reload.h"
#include "sensor.h"
#include "summary.h"
#include "worker.h"

/* Written by the signal handlers, read by the run loop (sig_atomic_t) and by the reload
 * thread (a lock-free atomic, which a handler may write): the only state a handler can reach,
 * hence file-scope. */
static volatile sig_atomic_t stop_flag, reopen_flag;
static atomic_int reload_flag;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        reopen_flag = 1;
        atomic_store(&reload_flag, 1);
    } else {
        stop_flag = 1;
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tokenwatch -r PATH [-r PATH ...] [options]   read pcap/pcapng files or directories\n"
            "       tokenwatch -i IFACE [-i IFACE ...] [options] capture live until SIGINT/SIGTERM\n"
            "       tokenwatch check-token [-c FILE] [--jwks FILE] [--at ISO8601|EPOCH] TOKEN|-\n"
            "       tokenwatch keys show [-c FILE] [--json]     the trusted keys, one row each\n"
            "       tokenwatch keys check [-c FILE]             lint them (exit 1 on a finding)\n"
            "       tokenwatch keys update [-c FILE] [--ca-file FILE] [--dry-run] [--pidfile FILE]\n"
            "                                  fetch the keysets' jwks-uri/discovery, keep history\n"
            "       tokenwatch --version | --help | --dump-config\n"
            "options:\n"
            "  -c FILE        configuration (YAML); default ./tokenwatch.yaml, then %s/tokenwatch.yaml\n"
            "  -l DIR         log directory for eve.json (default: current directory)\n"
            "  -f EXPR        BPF filter\n"
            "  -j N           worker threads, live or reading files (default: the number of CPUs;\n"
            "                 reading files with policy.replay on, one)\n"
            "  --user NAME    live capture: drop to this user once the interfaces are open\n"
            "  --group NAME   ... and this group (default: the user's primary group)\n"
            "  --pidfile FILE write the process id there (keys update --pidfile signals it)\n"
            "  --set KEY=VAL  override one configuration value (e.g. outputs.eve.filename=-)\n"
            "  -v / -q        more / less diagnostics on stderr\n"
            "SIGHUP reopens the EVE outputs and reloads the key sets and revoked keys.\n",
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

/* What only the command line can tell about the configuration (config_check.h), before any output
 * is opened: a refused start must leave no eve.json behind. 0, or -1 with one line on stderr. */
static int check_start(const struct config *cfg, const char *logdir, int logdir_given,
                       const char *bpf, const char *first_read)
{
    char err[1024];
    if (config_check_logdir(cfg, logdir, logdir_given, err, sizeof(err)) != 0 ||
        config_check_outputs(cfg, logdir, err, sizeof(err)) != 0 ||
        config_check_bpf(cfg, bpf, first_read, err, sizeof(err)) != 0) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        return -1;
    }
    config_check_warn(cfg, stderr);
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

static void iso_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "%lld", (long long)t);
}

/* The key that matched, as check-token's "key" object. */
static void key_object(struct jb *j, const struct ks_key *k)
{
    static const char *const kty[] = {[KS_KTY_RSA] = "RSA", [KS_KTY_EC] = "EC",
                                      [KS_KTY_OKP] = "OKP"};
    const struct curve *cv = curve_by_nid(k->curve_nid);
    char t[40];
    jb_open_object(j, NULL);
    if (k->set && k->set->name)
        jb_str(j, "keyset", k->set->name);
    if (k->kid)
        jb_str(j, "kid", k->kid);
    if (k->x5t)
        jb_str(j, "x5t", k->x5t);
    if (k->x5t256)
        jb_str(j, "x5t#S256", k->x5t256);
    if (k->jkt)
        jb_str(j, "jkt", k->jkt);
    if (k->kty >= KS_KTY_RSA && k->kty <= KS_KTY_OKP)
        jb_str(j, "kty", kty[k->kty]);
    if (k->kty == KS_KTY_RSA)
        jb_int(j, "bits", k->bits);
    else if (cv)
        jb_str(j, "crv", cv->name);
    if (k->issuer)
        jb_str(j, "issuer", k->issuer);
    if (k->subject)
        jb_str(j, "subject", k->subject);
    if (k->has_validity) {
        iso_time(k->not_before, t, sizeof(t));
        jb_str(j, "not_before", t);
        iso_time(k->not_after, t, sizeof(t));
        jb_str(j, "not_after", t);
    }
    jb_close(j);
}

/* Prints the token object, with "key" inside it when a key matched. 0, or -1 out of memory. */
static int print_token(struct verdict *v, uint32_t findings, const struct ks_key *key)
{
    struct jb j, kj;
    jb_init(&j, 1024);
    jb_init(&kj, 512);
    eve_token_object(&j, NULL, v, NULL, findings, 0, -1);
    if (key)
        key_object(&kj, key);
    int rc = -1;
    if (!j.err && !kj.err && j.len && j.buf[j.len - 1] == '}') {
        /* The object always has members (findings at least): the key goes in before its '}'. */
        fwrite(j.buf, 1, j.len - 1, stdout);
        if (key) {
            fputs(",\"key\":", stdout);
            fwrite(kj.buf, 1, kj.len, stdout);
        }
        fputs("}\n", stdout);
        rc = 0;
    }
    jb_release(&j);
    jb_release(&kj);
    return rc;
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
    if (keystore_build_from_config(&cfg, &ks, err, sizeof(err)) != 0) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    if (jwks) {
        if (keystore_add_cli_jwks(ks, jwks, err, sizeof(err)) != 0) {
            fprintf(stderr, "tokenwatch: --jwks: %s\n", err);
            keystore_free(ks);
            config_free(&cfg);
            return 2;
        }
    }
    char *tok = strcmp(token_arg, "-") == 0 ? read_stdin_token() : strdup(token_arg);
    int rc = 1;
    struct policy_cfg pol = {0};
    sensor_policy_from_config(&cfg, &pol);
    const struct ks_key *key = NULL;
    struct verdict *v =
        tok ? policy_judge_key(ks, &pol, (const uint8_t *)tok, strlen(tok), &key) : NULL;
    if (v) {
        uint32_t findings = v->findings | policy_time_findings(v, &pol, now);
        rc = print_token(v, findings, key) == 0 ? 0 : 1;
        verdict_unref(v);
    }
    free(tok);
    keystore_free(ks);
    config_free(&cfg);
    return rc;
}

/* SIGHUP restarts interrupted calls: a read blocked on a FIFO given to -r must resume, not fail
 * (poll and nanosleep are cut short regardless). SIGINT/SIGTERM do not: offline, the same
 * blocked read must fail so the run can end (capture.h), and live the loops poll anyway. */
static void install_signals(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    /* A reader gone (stdout into `| head`) is a write error the output reports and counts, and
     * the run exits 1, rather than a silent death by SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
}

/* Where a reload reads from: the configuration file and --set overrides of the start. */
struct reload_src {
    const char *path;
    char **sets;
    size_t nsets;
};

/* The key store of cfg, in a reload exchange for nreaders workers. NULL with one line on stderr
 * and *code: 2 a key set file at fault, 1 out of memory. */
static struct reload *new_reload(const struct config *cfg, size_t nreaders,
                                 const struct reload_src *src, int verbose, int *code)
{
    *code = 2;
    char err[1024];
    struct keystore *ks = NULL;
    if (keystore_build_from_config(cfg, &ks, err, sizeof(err)) != 0) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        return NULL;
    }
    if (keystore_refuse_test_keys(cfg, ks, err, sizeof(err)) != 0) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        keystore_free(ks);
        return NULL;
    }
    struct reload *rl = reload_new(ks, nreaders);
    if (!rl) {
        fprintf(stderr, "tokenwatch: out of memory\n");
        *code = 1;
        return NULL;
    }
    reload_set_source(rl, src->path, (const char *const *)src->sets, src->nsets, cfg, verbose);
    return rl;
}

/* The exit summary (summary.h), unless -q or the run failed: on failure the one error line
 * already printed is all stderr says, except when an output failed (exit 1): then the summary
 * follows that line, naming the output errors and drops with every other loss. */
static void summary(const struct worker_result *res, int live, int verbose, int rc)
{
    if (verbose < 0 || (rc != 0 && !res->outputs_failed))
        return;
    summary_print(stderr, &res->total, live, !live && stop_flag);
}

/* --pidfile: our pid and a newline, for `keys update --pidfile` (SIGHUP). 0, or -1 with a line. */
static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    int ok = f && fprintf(f, "%ld\n", (long)getpid()) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "tokenwatch: --pidfile %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* One run: nw sensors, sharing the key store of the hot reload and the replay table; the reload
 * thread; the run loop (worker.h); the exit summary. */
static int run(struct config *cfg, const char *logdir, size_t nw, char **reads, size_t nreads,
               char **ifaces, size_t nifaces, const struct worker_opts *wo,
               const struct reload_src *src, const char *pidfile)
{
    char err[1024];
    int code = 1, rc;
    /* Before the sensors' tables are made: they come from the advised heap (hugeheap.h). */
    if (cfg->huge_pages == HUGE_PAGES_AUTO)
        hugeheap_init(HUGEHEAP_MAIN_RESERVE);
    struct sensor **sv = calloc(nw, sizeof(*sv));
    if (!sv) {
        fprintf(stderr, "tokenwatch: out of memory\n");
        return 1;
    }
    struct reload *rl = new_reload(cfg, nw, src, wo->cap.verbose, &code);
    if (!rl) {
        free(sv);
        return code;
    }
    /* The outputs' writer threads start here, with SIGINT/SIGTERM/SIGHUP blocked
     * (thread_start): those must interrupt this thread's read of a FIFO given to -r. */
    rc = worker_sensors_new(cfg, logdir, rl, nw, sv, err, sizeof(err), &code);
    if (rc != 0) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        free(sv);
        reload_free(rl);
        return code;
    }
    hugeheap_settle(); /* the sensors are made: the next 2 MiB step of the heap, paid now */
    for (size_t j = 0; nifaces && j < nw; j++)
        sensor_set_live(sv[j]); /* engine.verify-shed: auto sheds live only */
    install_signals();
    if (reload_start(rl, &reload_flag) != 0 && wo->cap.verbose >= 0)
        fprintf(stderr, "tokenwatch: cannot start the reload thread: SIGHUP reopens only\n");
    struct worker_result res;
    /* The pid is published once SIGHUP is handled, and before privileges are dropped. */
    if (pidfile && write_pidfile(pidfile) != 0) {
        reload_stop(rl);
        worker_sensors_free(sv, nw);
        free(sv);
        reload_free(rl);
        return 2;
    }
    rc = nreads ? worker_offline(sv, nw, reads, nreads, wo, &stop_flag, &res)
                : worker_live(sv, nw, ifaces, nifaces, wo, &stop_flag, &res);
    if (pidfile)
        unlink(pidfile); /* may fail once privileges are dropped: a stale file names a dead pid */
    reload_stop(rl);
    summary(&res, nifaces > 0, wo->cap.verbose, rc);
    if (SENSOR_FREE_AT_EXIT) {
        worker_sensors_free(sv, nw);
        free(sv);
        reload_free(rl);
    } else {
        /* Every record is written and every thread joined: the memory goes with the process
         * (sensor.h, sensor_quit). sv and rl stay reachable from here to the exit. */
        static struct sensor **kept_sv;
        static struct reload *kept_rl;
        worker_sensors_quit(sv, nw);
        kept_sv = sv;
        kept_rl = rl;
        (void)kept_sv;
        (void)kept_rl;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "check-token") == 0)
        return cmd_check_token(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "keys") == 0)
        return keys_cmd(argc - 1, argv + 1, find_config);

    enum { OPT_SET = 1000, OPT_VERSION, OPT_DUMP, OPT_USER, OPT_GROUP, OPT_PIDFILE };
    static const struct option longopts[] = {
        {"set", required_argument, NULL, OPT_SET},
        {"user", required_argument, NULL, OPT_USER},
        {"group", required_argument, NULL, OPT_GROUP},
        {"pidfile", required_argument, NULL, OPT_PIDFILE},
        {"version", no_argument, NULL, OPT_VERSION},
        {"dump-config", no_argument, NULL, OPT_DUMP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char **reads = calloc((size_t)argc, sizeof(char *));
    char **ifaces = calloc((size_t)argc, sizeof(char *));
    char **sets = calloc((size_t)argc, sizeof(char *));
    size_t nreads = 0, nifaces = 0, nsets = 0;
    const char *cfg_path = NULL, *logdir = ".", *bpf = NULL, *user = NULL, *group = NULL;
    const char *pidfile = NULL;
    int verbose = 0, dump = 0, rc = 0, opt, logdir_given = 0;
    long jobs = 0; /* 0: not given */
    if (!reads || !ifaces || !sets)
        return 1;
    while ((opt = getopt_long(argc, argv, "r:i:c:l:f:j:vqh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'r': reads[nreads++] = optarg; break;
        case 'i': ifaces[nifaces++] = optarg; break;
        case 'c': cfg_path = optarg; break;
        case 'l': logdir = optarg; logdir_given = 1; break;
        case 'f': bpf = optarg; break;
        case 'j': {
            char *end;
            long j = strtol(optarg, &end, 10);
            if (*end || j < 1 || j > 1024) {
                fprintf(stderr, "tokenwatch: -j: expected a number of workers, got '%s'\n", optarg);
                rc = 2;
                goto out;
            }
            jobs = j;
            break;
        }
        case 'v': verbose++; break;
        case 'q': verbose--; break;
        case OPT_SET: sets[nsets++] = optarg; break;
        case OPT_USER: user = optarg; break;
        case OPT_GROUP: group = optarg; break;
        case OPT_PIDFILE: pidfile = optarg; break;
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
    const char *cfg_file = find_config(cfg_path);
    if (load_config(&cfg, cfg_file, sets, nsets) != 0) {
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
    if (nreads && (user || group)) {
        fprintf(stderr, "tokenwatch: --user/--group apply to live capture (-i) only\n");
        config_free(&cfg);
        rc = 2;
        goto out;
    }
    if (check_start(&cfg, logdir, logdir_given, bpf, nreads ? reads[0] : NULL) != 0) {
        config_free(&cfg);
        rc = 2;
        goto out;
    }
    struct worker_opts wo = {
        .cap = {.bpf = bpf ? bpf : cfg.bpf, .verbose = verbose, .snaplen = cfg.snaplen,
                .buffer_size = cfg.buffer_size, .promisc = cfg.promisc,
                .immediate = cfg.immediate,
                .progress = nreads && verbose >= 0 && isatty(STDERR_FILENO)},
        .stats_interval = cfg.stats_interval, .user = user, .group = group,
        .reopen = &reopen_flag, .fanout = cfg.fanout,
    };
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nw = (size_t)(jobs ? jobs : ncpu > 0 ? ncpu : 1);
    const char *one = NULL; /* why this run uses one worker whatever -j says */
    for (size_t i = 0; i < cfg.noutputs; i++) {
        /* Appends to a pipe are atomic only up to PIPE_BUF: records of several workers could
         * interleave on stdout. */
        if (cfg.outputs[i].filename && strcmp(cfg.outputs[i].filename, "-") == 0)
            one = "eve output on stdout";
        /* Reading files, a record whose content depends on what other flows showed must come
         * out as with one sensor; observed key sets are per worker: keyset records (new or
         * changed documents) and verdicts by observed keys would depend on the worker. */
        else if (nreads && (cfg.outputs[i].types & EVE_T_KEYSET))
            one = "keyset records (observed key sets are per worker)";
    }
    if (nreads && cfg.verify_observed)
        one = "policy.verify-observed-keys (observed key sets are per worker)";
    if (one && nw > 1) {
        if ((verbose >= 0 && jobs > 1) || verbose > 0)
            fprintf(stderr, "tokenwatch: %s: using one worker\n", one);
        nw = 1;
    }
    if (nifaces && (user || group) && privs_limit_exec() != 0) {
        config_free(&cfg);
        rc = 1;
        goto out;
    }
    struct reload_src src = {.path = cfg_file, .sets = sets, .nsets = nsets};
    rc = run(&cfg, logdir, nw, reads, nreads, ifaces, nifaces, &wo, &src, pidfile);
    config_free(&cfg);
out:
    free(reads);
    free(ifaces);
    free(sets);
    return rc;
}
