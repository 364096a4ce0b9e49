/* summary.c — the exit summary line (see summary.h).
 *
 * Pipeline: after the run (main, once the sensors are finished) ─► [summary] ─► stderr. Owns
 * nothing. Reads only the counters the final stats record prints (struct sensor_counters), so
 * the line and the record never disagree; every loss the record counts is named here, because
 * an analyst who reads "0 dropped" must be able to trust that no traffic went unexamined.
 */
#include "summary.h"

#include "policy.h"

uint64_t summary_losses(const struct sensor_counters *c, struct summary_loss out[SUMMARY_NLOSSES])
{
    const struct sensor_stats *st = &c->st;
    const struct summary_loss all[SUMMARY_NLOSSES] = {
        {"kernel", st->kernel_drops},
        {"interface", st->kernel_ifdrops},
        {"worker queue", st->worker_drops},
        {"flow memcap", c->fs.memcap},
        {"stream memcap", c->ss.memcap_drops},
        {"defrag memcap", c->ds.memcap_drops},
        {"body limit", st->body_truncated},
        {"http memcap", st->http_memcap},
        {"http head overflow", st->http_head_overflow},
        {"output dropped", c->os.dropped},
        {"output errors", c->os.errors},
    };
    uint64_t sum = 0;
    for (size_t i = 0; i < SUMMARY_NLOSSES; i++) {
        out[i] = all[i];
        sum += all[i].n;
    }
    return sum;
}

static const char *plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

void summary_print(FILE *f, const struct sensor_counters *c, int live, int stopped)
{
    const struct sensor_stats *st = &c->st;
    struct summary_loss loss[SUMMARY_NLOSSES];
    unsigned long long pk = st->pkts, dr = summary_losses(c, loss), fl = c->fs.total,
                       tk = st->tokens_seen, di = c->tokens_distinct, al = st->alerts_total;
    fprintf(f, "tokenwatch: %llu packet%s, %llu dropped", pk, plural(pk), dr);
    const char *sep = " (";
    for (size_t i = 0; i < SUMMARY_NLOSSES; i++)
        if (loss[i].n) {
            fprintf(f, "%s%s %llu", sep, loss[i].name, (unsigned long long)loss[i].n);
            sep = ", ";
        }
    if (dr)
        fputc(')', f);
    fprintf(f, ", %llu flow%s, %llu token%s (%llu distinct), %llu alert%s", fl, plural(fl), tk,
            plural(tk), di, al, plural(al));
    sep = " (findings: ";
    for (int i = 0; i < F__COUNT; i++)
        if (st->alerts[i]) {
            fprintf(f, "%s%s %llu", sep, policy_findings[i].code,
                    (unsigned long long)st->alerts[i]);
            sep = ", ";
        }
    if (sep[0] == ',')
        fputc(')', f);
    if (st->capture_errors)
        fprintf(f, "; %llu capture error%s", (unsigned long long)st->capture_errors,
                plural(st->capture_errors));
    if (stopped)
        fputs("; stopped by a signal before the end of the input", f);
    if (live)
        fprintf(f, "; kernel: %llu packets, %llu drops, %llu interface drops; "
                "%llu worker drops",
                (unsigned long long)st->kernel_packets, (unsigned long long)st->kernel_drops,
                (unsigned long long)st->kernel_ifdrops, (unsigned long long)st->worker_drops);
    fputc('\n', f);
}
