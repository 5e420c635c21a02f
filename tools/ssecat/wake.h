/* Waking the main thread: from a stream callback, or from SIGINT/SIGTERM
 * (a self-pipe, so that no library call ever runs in a signal handler). */
#ifndef SSECAT_WAKE_H
#define SSECAT_WAKE_H

#include <stdbool.h>

/* Creates the pipe, installs the signal handlers and blocks SIGINT and
 * SIGTERM in the calling thread, so that threads created afterwards (the
 * I/O loop, the demo server) inherit the block and the signals only ever
 * reach the main thread once wake_unblock_signals() has run. Returns 0 or
 * an errno value. */
int wake_init(void);
void wake_unblock_signals(void);

/* Wakes wake_wait(). Safe from any thread. */
void wake_notify(void);

/* Waits for wake_notify() or a signal. Returns 0 for a notification, the
 * signal number for a signal, -1 if the pipe failed. */
int wake_wait(void);

#endif
