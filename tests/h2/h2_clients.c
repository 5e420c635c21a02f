/* Runs N one-shot streams at once on one loop and checks each receives its
 * events: usage h2_clients URL N EVENTS CA_FILE. Whether they shared one
 * connection is for the caller to check on the server side. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <ssekit.h>

struct tally {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int closed;
  int failed;
  int events[64];
};

struct ctx {
  struct tally *t;
  int index;
};

static int on_event(const ssekit_event *ev, void *ud) {
  struct ctx *c = ud;
  (void)ev;
  pthread_mutex_lock(&c->t->mu);
  c->t->events[c->index]++;
  pthread_mutex_unlock(&c->t->mu);
  return 0;
}

static void on_error(int code, int status, const char *msg, int will_retry, uint64_t ms,
                     void *ud) {
  struct ctx *c = ud;
  (void)ms;
  fprintf(stderr, "stream %d: error %d (%s), status %d: %s%s\n", c->index, code,
          ssekit_strerror(code), status, msg, will_retry ? " (retrying)" : "");
}

static void on_closed(int code, void *ud) {
  struct ctx *c = ud;
  pthread_mutex_lock(&c->t->mu);
  c->t->closed++;
  if (code != SSEKIT_OK) c->t->failed++;
  pthread_cond_signal(&c->t->cv);
  pthread_mutex_unlock(&c->t->mu);
}

int main(int argc, char **argv) {
  static struct tally t = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, {0}};
  struct ctx ctxs[64];
  ssekit_stream *streams[64];
  ssekit_loop *loop;
  int n, want, i, ok = 1;
  if (argc != 5) {
    fprintf(stderr, "usage: %s URL N EVENTS CA_FILE\n", argv[0]);
    return 2;
  }
  n = atoi(argv[2]);
  want = atoi(argv[3]);
  if (n < 1 || n > 64) return 2;
  loop = ssekit_loop_new();
  for (i = 0; i < n; ++i) {
    ctxs[i].t = &t;
    ctxs[i].index = i;
    streams[i] = ssekit_stream_new(argv[1]);
    ssekit_stream_set_loop(streams[i], loop);
    ssekit_stream_set_userdata(streams[i], &ctxs[i]);
    ssekit_stream_set_ca_file(streams[i], argv[4]);
    ssekit_stream_set_on_end(streams[i], SSEKIT_END_FINISH);
    ssekit_stream_set_max_attempts(streams[i], 1);
    ssekit_stream_set_initial_delay(streams[i], 50);
    ssekit_stream_on_event(streams[i], on_event);
    ssekit_stream_on_error(streams[i], on_error);
    ssekit_stream_on_closed(streams[i], on_closed);
  }
  for (i = 0; i < n; ++i) ssekit_stream_start(streams[i]);
  pthread_mutex_lock(&t.mu);
  while (t.closed < n) pthread_cond_wait(&t.cv, &t.mu);
  pthread_mutex_unlock(&t.mu);
  for (i = 0; i < n; ++i) {
    if (t.events[i] != want) {
      fprintf(stderr, "stream %d: %d events, want %d\n", i, t.events[i], want);
      ok = 0;
    }
    ssekit_stream_free(streams[i]);
  }
  ssekit_loop_free(loop);
  if (t.failed != 0) ok = 0;
  printf("%s: %d streams, %d events each\n", ok ? "ok" : "FAILED", n, want);
  return ok ? 0 : 1;
}
