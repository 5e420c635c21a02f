#define _POSIX_C_SOURCE 200809L

#include "wake.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int g_pipe[2] = {-1, -1};
static volatile sig_atomic_t g_signalled;

static void on_signal(int signo) {
  int saved = errno;
  /* A second signal while the first is being handled (a stuck close) ends
   * the process the default way. */
  if (g_signalled) {
    signal(signo, SIG_DFL);
    raise(signo);
  }
  g_signalled = 1;
  unsigned char byte = (unsigned char)signo;
  ssize_t ignored = write(g_pipe[1], &byte, 1);
  (void)ignored;
  errno = saved;
}

static void signal_set(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
}

int wake_init(void) {
  if (pipe(g_pipe) != 0) return errno;
  for (int i = 0; i < 2; ++i) {
    int flags = fcntl(g_pipe[i], F_GETFL);
    if (flags < 0 || fcntl(g_pipe[i], F_SETFL, flags | O_NONBLOCK) != 0 ||
        fcntl(g_pipe[i], F_SETFD, FD_CLOEXEC) != 0)
      return errno;
  }
  sigset_t set;
  signal_set(&set);
  int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
  if (rc != 0) return rc;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
    return errno;
  return 0;
}

void wake_unblock_signals(void) {
  sigset_t set;
  signal_set(&set);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void wake_notify(void) {
  unsigned char byte = 0;
  ssize_t ignored = write(g_pipe[1], &byte, 1);
  (void)ignored;
}

int wake_wait(void) {
  for (;;) {
    unsigned char byte;
    ssize_t got = read(g_pipe[0], &byte, 1);
    if (got == 1) return byte;
    if (got == 0 || (errno != EINTR && errno != EAGAIN)) return -1;
    struct pollfd pfd = {g_pipe[0], POLLIN, 0};
    if (poll(&pfd, 1, -1) < 0 && errno != EINTR) return -1;
  }
}
