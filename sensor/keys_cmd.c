/* keys_cmd.c — `tokenwatch keys show` and `tokenwatch keys check`: what the configuration trusts,
 * and what is wrong with it (SPEC §5 "Subcommands").
 *
 *   tokenwatch keys show  [-c FILE] [--json]   one row per trusted key (--json: one object a line)
 *   tokenwatch keys check [-c FILE]            one line per finding
 *   tokenwatch keys update [-c FILE] [--ca-file FILE] [--dry-run] [--pidfile FILE]
 *                          [--connect-to HOST:PORT:CONNECT-HOST:CONNECT-PORT]...
 *                                              fetch the keysets' documents (keys_update.c), then
 *                                              SIGHUP the sensor whose pid is in FILE
 *
 * Not on the packet path: main() dispatches here before any capture. The key store is built
 * exactly as the sensor builds it (keystore_build_from_config), so what is shown is what a
 * sensor started with that configuration trusts, refused keys warned about on stderr as at
 * start-up. Owns the configuration and the store for the command's life.
 *
 * Exit status: 0 (show: always; check: no finding), 1 (check: at least one finding), 2 usage or
 * configuration error (the loader's message: file, line and key).
 *
 * keys check's findings: no keyset at all; a live key's certificate (x5c) expired, or not yet valid; a keyset
 * with no key (or, with a URL, whose file `keys update` has not written yet); an issuer (literal or template) listed by two keysets; a key whose private half is
 * published (testkeys.h: tokenwatch's own TEST-ONLY keys, whose public halves are the demo key
 * sets); a revoked key still trusted. Test keys are findings whatever the configuration: the shipped demo
 * configuration (etc/demo/tokenwatch.yaml) trusts them by design and so fails `keys check` by design,
 * naming each one.
 */
#include "keys_cmd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "curve.h"
#include "jb.h"
#include "keys_update.h"
#include "keystore.h"
#include "keystore_build.h"
#include "testkeys.h"

static void iso_time(int64_t t, char *buf, size_t len, int date_only)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) ||
        !strftime(buf, len, date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "%lld", (long long)t);
}

/* "42s", "17m", "5h", "12d" */
static void age_text(int64_t s, char *buf, size_t len)
{
    if (s < 0)
        snprintf(buf, len, "future");
    else if (s < 120)
        snprintf(buf, len, "%llds", (long long)s);
    else if (s < 7200)
        snprintf(buf, len, "%lldm", (long long)(s / 60));
    else if (s < 2 * 86400)
        snprintf(buf, len, "%lldh", (long long)(s / 3600));
    else
        snprintf(buf, len, "%lldd", (long long)(s / 86400));
}

static const char *kty_name(const struct ks_key *k)
{
    switch (k->kty) {
    case KS_KTY_RSA: return "RSA";
    case KS_KTY_EC: return "EC";
    case KS_KTY_OKP: return "OKP";
    }
    return "?";
}

/* "2048" for RSA, the curve's name otherwise. */
static void size_text(const struct ks_key *k, char *buf, size_t len)
{
    const struct curve *cv = curve_by_nid(k->curve_nid);
    if (k->kty == KS_KTY_RSA || !cv)
        snprintf(buf, len, "%d", k->bits);
    else
        snprintf(buf, len, "%s", cv->name);
}

/* The issuers a key may sign for: its JWK `issuer`, else its keyset's list, comma-separated. */
static void scope_text(const struct ks_key *k, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    if (k->issuer) {
        snprintf(buf, len, "%s", k->issuer);
        return;
    }
    for (size_t i = 0; i < k->set->nissuers && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "",
                                 k->set->issuers[i]);
}

/* What a command works on: the configuration, its store, the time. */
struct keys_ctx {
    struct config cfg;
    struct keystore *ks;
    int64_t now;
    int cfg_loaded;
};

/* The JWKS file of ks->sets[i]: the store adds the configured keysets in order. */
static const char *set_source(const struct keys_ctx *c, size_t i)
{
    return i < c->cfg.nkeysets ? c->cfg.keysets[i].jwks : "?";
}

static int set_line(const struct keys_ctx *c, size_t i)
{
    return i < c->cfg.nkeysets ? c->cfg.keysets[i].line : 0;
}

static const char *cfg_where(const struct keys_ctx *c)
{
    return c->cfg.path ? c->cfg.path : "--set";
}

/* 0, or 2 with the loader's message on stderr. */
static int load(struct keys_ctx *c, const char *path)
{
    char err[1024];
    config_defaults(&c->cfg);
    c->cfg_loaded = 1;
    if (config_load(&c->cfg, path, NULL, 0, err, sizeof(err)) != 0) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        return 2;
    }
    if (keystore_build_from_config(&c->cfg, &c->ks, err, sizeof(err)) != 0) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        return 2;
    }
    c->now = (int64_t)time(NULL);
    return 0;
}

static void unload(struct keys_ctx *c)
{
    keystore_free(c->ks);
    if (c->cfg_loaded)
        config_free(&c->cfg);
}

/* The key's state words: live, retired, revoked, expired, not-yet-valid, test-key. */
static void state_text(const struct keys_ctx *c, const struct ks_key *k, char *buf, size_t len)
{
    size_t used = 0;
    const char *w[6];
    size_t n = 0;
    if (k->retired)
        w[n++] = "retired";
    if (keystore_revoked(c->ks, k, NULL, NULL))
        w[n++] = "revoked";
    if (k->has_validity && k->not_after < c->now)
        w[n++] = "expired";
    if (k->has_validity && k->not_before > c->now)
        w[n++] = "not-yet-valid";
    if (testkey_source(k->jkt))
        w[n++] = "test-key";
    if (!n)
        w[n++] = "live";
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", w[i]);
}

/* ---- keys show ------------------------------------------------------------------------------ */

enum { COLS = 12, CELL = 512 };
static const char *const heads[COLS] = {"KEYSET", "KID", "KTY", "SIZE", "ISSUER", "NOT-BEFORE",
                                        "NOT-AFTER", "JKT", "X5T", "SOURCE", "AGE", "STATE"};

/* One row's cells for key k of set si (k NULL: the keyset has no key). */
static void row_cells(const struct keys_ctx *c, size_t si, const struct ks_key *k,
                      char cells[COLS][CELL])
{
    const struct ks_keyset *set = &c->ks->sets[si];
    struct stat st;
    const char *src = set_source(c, si);
    for (int i = 0; i < COLS; i++)
        snprintf(cells[i], CELL, "-");
    snprintf(cells[0], CELL, "%s", set->name);
    snprintf(cells[9], CELL, "%s", src);
    if (stat(src, &st) == 0)
        age_text(c->now - (int64_t)st.st_mtime, cells[10], CELL);
    if (!k) {
        snprintf(cells[1], CELL, "(no key)");
        snprintf(cells[11], CELL, "empty");
        return;
    }
    if (k->kid)
        snprintf(cells[1], CELL, "%s", k->kid);
    snprintf(cells[2], CELL, "%s", kty_name(k));
    size_text(k, cells[3], CELL);
    scope_text(k, cells[4], CELL);
    if (k->has_validity) {
        iso_time(k->not_before, cells[5], CELL, 1);
        iso_time(k->not_after, cells[6], CELL, 1);
    }
    snprintf(cells[7], CELL, "%s", k->jkt ? k->jkt : "-");
    if (k->x5t)
        snprintf(cells[8], CELL, "%s", k->x5t);
    state_text(c, k, cells[11], CELL);
}

static void show_table(const struct keys_ctx *c)
{
    size_t width[COLS];
    char cells[COLS][CELL];
    for (int i = 0; i < COLS; i++)
        width[i] = strlen(heads[i]);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            for (int i = 0; i < COLS; i++)
                printf("%-*s%s", i + 1 < COLS ? (int)width[i] : 0, heads[i],
                       i + 1 < COLS ? "  " : "\n");
        }
        for (size_t si = 0; si < c->ks->nsets; si++) {
            const struct ks_keyset *set = &c->ks->sets[si];
            for (size_t ki = 0; ki < (set->nkeys ? set->nkeys : 1); ki++) {
                row_cells(c, si, set->nkeys ? &set->keys[ki] : NULL, cells);
                for (int i = 0; i < COLS; i++) {
                    if (pass == 0 && strlen(cells[i]) > width[i])
                        width[i] = strlen(cells[i]);
                    if (pass == 1)
                        printf("%-*s%s", i + 1 < COLS ? (int)width[i] : 0, cells[i],
                               i + 1 < COLS ? "  " : "\n");
                }
            }
        }
    }
}

/* One JSON object (a line) for key k of set si. */
static void show_json_key(const struct keys_ctx *c, size_t si, const struct ks_key *k,
                          struct jb *j)
{
    const struct ks_keyset *set = &c->ks->sets[si];
    const char *src = set_source(c, si);
    char t[64];
    struct stat st;
    jb_reset(j);
    jb_open_object(j, NULL);
    jb_str(j, "keyset", set->name);
    if (k->kid)
        jb_str(j, "kid", k->kid);
    jb_str(j, "kty", kty_name(k));
    const struct curve *cv = curve_by_nid(k->curve_nid);
    if (k->kty == KS_KTY_RSA || !cv)
        jb_int(j, "bits", k->bits);
    else
        jb_str(j, "crv", cv->name);
    if (k->alg)
        jb_str(j, "alg", k->alg);
    jb_open_array(j, "issuers");
    if (k->issuer)
        jb_str(j, NULL, k->issuer);
    else
        for (size_t i = 0; i < set->nissuers; i++)
            jb_str(j, NULL, set->issuers[i]);
    jb_close(j);
    if (k->issuer)
        jb_str(j, "jwk_issuer", k->issuer);
    if (k->subject)
        jb_str(j, "subject", k->subject);
    if (k->has_validity) {
        iso_time(k->not_before, t, sizeof(t), 0);
        jb_str(j, "not_before", t);
        iso_time(k->not_after, t, sizeof(t), 0);
        jb_str(j, "not_after", t);
        jb_bool(j, "expired", k->not_after < c->now);
    }
    if (k->jkt)
        jb_str(j, "jkt", k->jkt);
    if (k->x5t)
        jb_str(j, "x5t", k->x5t);
    if (k->x5t256)
        jb_str(j, "x5t#S256", k->x5t256);
    if (k->cert_sha1)
        jb_str(j, "cert_sha1", k->cert_sha1);
    jb_str(j, "source", src);
    if (stat(src, &st) == 0) {
        iso_time((int64_t)st.st_mtime, t, sizeof(t), 0);
        jb_str(j, "source_mtime", t);
        jb_int(j, "source_age", c->now - (int64_t)st.st_mtime);
    }
    const struct ks_revoked *r = keystore_revoked(c->ks, k, NULL, NULL);
    jb_bool(j, "revoked", r != NULL);
    if (r && r->reason)
        jb_str(j, "revoked_reason", r->reason);
    const char *tk = testkey_source(k->jkt);
    if (tk)
        jb_str(j, "test_key", tk);
    state_text(c, k, t, sizeof(t));
    jb_str(j, "state", t);
    jb_close(j);
}

static int show_json(const struct keys_ctx *c)
{
    struct jb j;
    jb_init(&j, 1024);
    int rc = 0;
    for (size_t si = 0; si < c->ks->nsets && !rc; si++)
        for (size_t ki = 0; ki < c->ks->sets[si].nkeys; ki++) {
            show_json_key(c, si, &c->ks->sets[si].keys[ki], &j);
            if (j.err) {
                fprintf(stderr, "tokenwatch: out of memory\n");
                rc = 1;
                break;
            }
            fwrite(j.buf, 1, j.len, stdout);
            fputc('\n', stdout);
        }
    jb_release(&j);
    return rc;
}

/* ---- keys check ----------------------------------------------------------------------------- */

/* Prints one finding about key k of set si: "SOURCE: keyset NAME: kid KID: what". */
static void key_finding(const struct keys_ctx *c, size_t si, const struct ks_key *k,
                        const char *what)
{
    printf("%s: keyset %s: kid %s: %s\n", set_source(c, si), c->ks->sets[si].name,
           k->kid ? k->kid : (k->jkt ? k->jkt : "-"), what);
}

static size_t check_keys(const struct keys_ctx *c, size_t si)
{
    const struct ks_keyset *set = &c->ks->sets[si];
    char what[512], t[40];
    size_t n = 0;
    for (size_t ki = 0; ki < set->nkeys; ki++) {
        const struct ks_key *k = &set->keys[ki];
        /* A retired key (kept by keys update for tokens of its time) outlives its
         * certificate by design; a live one must not. */
        if (k->has_validity && k->not_after < c->now && !k->retired) {
            iso_time(k->not_after, t, sizeof(t), 0);
            snprintf(what, sizeof(what), "certificate expired (not after %s)", t);
            key_finding(c, si, k, what);
            n++;
        }
        if (k->has_validity && k->not_before > c->now) {
            iso_time(k->not_before, t, sizeof(t), 0);
            snprintf(what, sizeof(what), "certificate not yet valid (not before %s)", t);
            key_finding(c, si, k, what);
            n++;
        }
        const char *tk = testkey_source(k->jkt);
        if (tk) {
            snprintf(what, sizeof(what), "test key: its private half is published (%s), anyone "
                     "can mint tokens it verifies", tk);
            key_finding(c, si, k, what);
            n++;
        }
        const struct ks_revoked *r = keystore_revoked(c->ks, k, NULL, NULL);
        if (r) {
            snprintf(what, sizeof(what), "revoked key still trusted%s%s", r->reason ? ": " : "",
                     r->reason ? r->reason : "");
            key_finding(c, si, k, what);
            n++;
        }
    }
    return n;
}

static size_t check_sets(const struct keys_ctx *c)
{
    size_t n = 0;
    if (c->ks->nsets == 0) {
        /* The sensor only warns (keysets: []): every JWT would be issuer_untrusted. */
        printf("%s: no keyset: nothing is trusted, every token is judged issuer_untrusted\n",
               cfg_where(c));
        n++;
    }
    for (size_t si = 0; si < c->ks->nsets; si++) {
        const struct ks_keyset *set = &c->ks->sets[si];
        const struct keyset_cfg *kc = si < c->cfg.nkeysets ? &c->cfg.keysets[si] : NULL;
        if (set->nkeys == 0 && kc && (kc->jwks_uri || kc->discovery) &&
            access(kc->jwks, F_OK) != 0) {
            printf("%s:%d: keyset %s: %s not fetched yet: run `tokenwatch keys update` (until "
                   "then tokens of its issuers are judged key_unknown)\n", cfg_where(c),
                   set_line(c, si), set->name, kc->jwks);
            n++;
        } else if (set->nkeys == 0) {
            printf("%s:%d: keyset %s: no key in %s: tokens of its issuers are judged "
                   "key_unknown\n", cfg_where(c), set_line(c, si), set->name,
                   set_source(c, si));
            n++;
        }
        for (size_t ii = 0; ii < set->nissuers; ii++)
            for (size_t sj = 0; sj < si; sj++) {
                const struct ks_keyset *o = &c->ks->sets[sj];
                for (size_t oi = 0; oi < o->nissuers; oi++)
                    if (strcmp(set->issuers[ii], o->issuers[oi]) == 0) {
                        printf("%s:%d: keyset %s: issuer %s is also claimed by keyset %s "
                               "(line %d)\n", cfg_where(c), set_line(c, si), set->name,
                               set->issuers[ii], o->name, set_line(c, sj));
                        n++;
                    }
            }
        n += check_keys(c, si);
    }
    return n;
}

/* ---- the command line ----------------------------------------------------------------------- */

static void keys_usage(FILE *f)
{
    fprintf(f, "usage: tokenwatch keys show [-c FILE] [--json]   the trusted keys\n"
               "       tokenwatch keys check [-c FILE]           lint them: exit 0 clean, 1 findings\n"
               "       tokenwatch keys update [-c FILE] [--ca-file FILE] [--dry-run] [--pidfile FILE]\n"
               "                          [--connect-to HOST:PORT:CONNECT-HOST:CONNECT-PORT]...\n"
               "                                  fetch the keysets' jwks-uri / discovery documents\n");
}

/* ---- keys update ---------------------------------------------------------------------------- */

/* SIGHUP to the pid in pidfile: 0, or 1 with one line on stderr. */
static int signal_sensor(const char *pidfile)
{
    FILE *f = fopen(pidfile, "r");
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
        fprintf(stderr, "tokenwatch: keys update: %s: %s\n", pidfile,
                f ? "no process id in it" : strerror(errno));
        if (f)
            fclose(f);
        return 1;
    }
    fclose(f);
    if (kill((pid_t)pid, SIGHUP) != 0) {
        fprintf(stderr, "tokenwatch: keys update: cannot signal the sensor (pid %ld from %s): %s\n",
                pid, pidfile, strerror(errno));
        return 1;
    }
    fprintf(stderr, "tokenwatch: keys update: sensor (pid %ld) told to reload\n", pid);
    return 0;
}

/* Exit status: 0 every provider fetched, 1 one failed (or the sensor could not be signalled),
 * 2 usage or configuration. */
static int keys_update_cmd(int argc, char **argv, const char *(*find_config)(const char *given))
{
    const char *cfg_path = NULL, *pidfile = NULL;
    struct keys_update_opts o = {.now = (int64_t)time(NULL)};
    const char *connect_to[16];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (strcmp(argv[i], "--ca-file") == 0 && i + 1 < argc) {
            o.ca_file = argv[++i];
        } else if (strcmp(argv[i], "--pidfile") == 0 && i + 1 < argc) {
            pidfile = argv[++i];
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            o.dry_run = 1;
        } else if (strcmp(argv[i], "--connect-to") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            int colons = 0;
            for (const char *p = v; *p; p++)
                colons += *p == ':';
            if (colons != 3 || o.nconnect == sizeof(connect_to) / sizeof(connect_to[0])) {
                fprintf(stderr, "tokenwatch: keys update: --connect-to '%s': %s\n", v,
                        colons != 3 ? "expected HOST:PORT:CONNECT-HOST:CONNECT-PORT"
                                    : "at most 16 of them");
                return 2;
            }
            connect_to[o.nconnect++] = v;
            o.connect_to = connect_to;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            keys_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "tokenwatch: keys update: unexpected argument '%s'\n", argv[i]);
            keys_usage(stderr);
            return 2;
        }
    }
    struct config cfg;
    char err[1024];
    config_defaults(&cfg);
    if (config_load(&cfg, find_config(cfg_path), NULL, 0, err, sizeof(err)) != 0) {
        fprintf(stderr, "tokenwatch: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    size_t updated = 0;
    int failed = keys_update_run(&cfg, &o, stdout, stderr, &updated);
    config_free(&cfg);
    int rc = failed < 0 ? 2 : failed > 0 ? 1 : 0;
    if (fflush(stdout) != 0 && rc == 0)
        rc = 1;
    if (pidfile && updated && !o.dry_run && signal_sensor(pidfile) != 0 && rc == 0)
        rc = 1;
    return rc;
}

int keys_cmd(int argc, char **argv, const char *(*find_config)(const char *given))
{
    if (argc >= 2 && strcmp(argv[1], "update") == 0)
        return keys_update_cmd(argc, argv, find_config);
    if (argc < 2 || (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "check") != 0)) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            keys_usage(stdout);
            return 0;
        }
        fprintf(stderr, "tokenwatch: keys: expected show, check or update%s%s\n",
                argc >= 2 ? ", got " : "", argc >= 2 ? argv[1] : "");
        keys_usage(stderr);
        return 2;
    }
    int show = strcmp(argv[1], "show") == 0, json = 0;
    const char *cfg_path = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            cfg_path = argv[++i];
        } else if (show && strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            keys_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "tokenwatch: keys %s: unexpected argument '%s'\n", argv[1], argv[i]);
            keys_usage(stderr);
            return 2;
        }
    }
    struct keys_ctx c = {0};
    int rc = load(&c, find_config(cfg_path));
    if (rc == 0) {
        if (show) {
            rc = json ? show_json(&c) : (show_table(&c), 0);
        } else {
            size_t n = check_sets(&c);
            fprintf(stderr, "tokenwatch: keys check: %zu finding%s (%s)\n", n, n == 1 ? "" : "s",
                    c.cfg.path ? c.cfg.path : "built-in defaults");
            rc = n ? 1 : 0;
        }
    }
    if (fflush(stdout) != 0 && rc == 0)
        rc = 1;
    unload(&c);
    return rc;
}
