/* privs.c — the privilege drop of a live run (see privs.h): no_new_privs and an empty
 * capability bounding set before any thread exists, then setgroups/setgid/setuid once the
 * interfaces are open, after handing the output files to the new owner.
 */
#include "privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "output.h"
#include "sensor.h"

/* A name or a decimal number. */
static int parse_id(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || !*s || *end || v > 0xfffffffeul)
        return -1;
    *out = v;
    return 0;
}

int privs_limit_exec(void)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        fprintf(stderr, "tokenwatch: cannot set no_new_privs: %s\n", strerror(errno));
        return -1;
    }
    /* up to the kernel's last capability: EINVAL past it */
    for (int cap = 0; cap < 64; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
            if (errno == EINVAL)
                break;
            fprintf(stderr, "tokenwatch: cannot empty the capability bounding set: %s\n",
                    strerror(errno));
            return -1;
        }
    return 0;
}

int privs_drop(const char *user, const char *group, struct sensor *const *sv, size_t n)
{
    if (!user && !group)
        return 0;
    uid_t uid = 0;
    gid_t gid = 0;
    int have_gid = 0;
    unsigned long v;
    if (group) {
        struct group *gr = getgrnam(group);
        if (gr)
            gid = gr->gr_gid;
        else if (parse_id(group, &v) == 0)
            gid = (gid_t)v;
        else {
            fprintf(stderr, "tokenwatch: --group %s: no such group\n", group);
            return -1;
        }
        have_gid = 1;
    }
    if (user) {
        struct passwd *pw = getpwnam(user);
        if (pw) {
            uid = pw->pw_uid;
            if (!have_gid)
                gid = pw->pw_gid;
        } else if (parse_id(user, &v) == 0) {
            uid = (uid_t)v;
            if (!have_gid)
                gid = (gid_t)v;
        } else {
            fprintf(stderr, "tokenwatch: --user %s: no such user\n", user);
            return -1;
        }
        have_gid = 1;
    }
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < sv[j]->noutputs; i++) {
            char err[512];
            if (output_chown(&sv[j]->outputs[i], user ? uid : geteuid(), gid, err,
                             sizeof(err)) != 0) {
                fprintf(stderr, "tokenwatch: %s\n", err);
                return -1;
            }
        }
    /* Supplementary groups first (root's would survive setgid/setuid), then the group while we
     * still may, the user last. */
    if (setgroups(1, &gid) != 0 || setgid(gid) != 0) {
        fprintf(stderr, "tokenwatch: cannot switch to group %lu: %s\n", (unsigned long)gid,
                strerror(errno));
        return -1;
    }
    if (user) {
        if (setuid(uid) != 0) {
            fprintf(stderr, "tokenwatch: cannot switch to user %s: %s\n", user, strerror(errno));
            return -1;
        }
        if (uid != 0 && (setuid(0) == 0 || geteuid() != uid)) {
            fprintf(stderr, "tokenwatch: --user %s: root privileges could be regained\n", user);
            return -1;
        }
    }
    return 0;
}
