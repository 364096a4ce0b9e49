/* privs.h — giving up root for a live capture (--user/--group).
 *
 * Pipeline: none; start-up of a live run. main.c limits what an exec could gain before any
 * thread exists (privs_limit_exec); the run loop (worker.c) drops to the user and group once
 * every interface is open and before it starts a thread (privs_drop). Private to sensor/capture
 * and main.c.
 */
#ifndef TW_PRIVS_H
#define TW_PRIVS_H

#include <stddef.h>

struct sensor;

/* Before any thread exists, when a privilege drop is coming: sets PR_SET_NO_NEW_PRIVS and
 * empties the capability bounding set (both per thread, inherited by the threads created
 * later), so that nothing the sensor runs after the drop, nor an exec, can gain privileges
 * back. The effective capabilities are untouched (the interfaces are opened later). 0, or -1
 * with one line on stderr. */
int privs_limit_exec(void);

/* setgroups, setgid, setuid to user/group (names or numbers; either may be NULL, both NULL: a
 * no-op; the user's primary group when only the user is given). First the output files the n
 * sensors sv created are handed to that user and group (output_chown), so SIGHUP can reopen them
 * after the drop. Returns 0, or -1 with one line on stderr: the caller must then refuse to run. */
int privs_drop(const char *user, const char *group, struct sensor *const *sv, size_t n);

#endif
