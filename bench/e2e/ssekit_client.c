/*
 * End-to-end client benchmarks over ssekit's C API, against w1_sender.
 *
 * usage:
 *   ssekit_client_bench version
 *   ssekit_client_bench throughput URL EVENTS DATA_BYTES ITERATIONS WARMUP
 *   ssekit_client_bench queue URL EVENTS DATA_BYTES ITERATIONS WARMUP
 *   ssekit_client_bench latency URL EVENTS
 *   ssekit_client_bench latency-raw URL EVENTS
 *   ssekit_client_bench scale URL STREAMS IDLE_SECONDS OPEN_TIMEOUT_SECONDS
 *
 * Each mode prints one JSON object on stdout and exits non-zero if the
 * stream did not deliver what the sender sent.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <ssekit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void fail(const char *what) {
  fprintf(stderr, "ssekit_client: FAILED: %s\n", what);
  exit(1);
}

/* CLOCK_MONOTONIC is the clock steady_clock and the sender's stamps use. */
static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long context_switches(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* Resident set size in KiB, from /proc/self/status. */
static long vm_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  if (f == NULL) return -1;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "VmRSS:", 6) == 0) {
      kib = strtol(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kib;
}

static uint64_t parse_u64(const char *s, const char *what) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    fprintf(stderr, "ssekit_client: bad %s: %s\n", what, s);
    exit(2);
  }
  return (uint64_t)v;
}

static void raise_fd_limit(void) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

static void on_error(int code, int http_status, const char *message,
                     int will_retry, uint64_t retry_ms, void *userdata) {
  (void)userdata;
  (void)retry_ms;
  fprintf(stderr, "ssekit_client: stream error %s (HTTP %d): %s%s\n",
          ssekit_strerror(code), http_status, message,
          will_retry ? " (retrying)" : "");
}

/* ------------------------------------------------------ one-stream runs */

struct run {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  int code;
  uint64_t events;
  uint64_t data_bytes;
  uint64_t end_ns;
  /* Latency mode: one sample per event. */
  uint64_t *lat_ns;
  uint64_t lat_cap;
  uint64_t bad_stamps;
};

static int count_event(const ssekit_event *ev, void *userdata) {
  struct run *r = userdata;
  r->events++;
  r->data_bytes += ev->data_len;
  return 0;
}

static int stamp_event(const ssekit_event *ev, void *userdata) {
  const uint64_t now = now_ns();
  struct run *r = userdata;
  uint64_t sent = 0;
  size_t i;
  if (ev->data_len == 0) r->bad_stamps++;
  for (i = 0; i < ev->data_len; i++) {
    const char c = ev->data[i];
    if (c < '0' || c > '9') {
      r->bad_stamps++;
      break;
    }
    sent = sent * 10 + (uint64_t)(c - '0');
  }
  if (r->events < r->lat_cap)
    r->lat_ns[r->events] = now >= sent ? now - sent : 0;
  r->events++;
  return 0;
}

static void on_closed(int code, void *userdata) {
  struct run *r = userdata;
  const uint64_t t = now_ns();
  pthread_mutex_lock(&r->mu);
  r->end_ns = t;
  r->code = code;
  r->done = 1;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

/* Runs one stream to its end; returns the start time. bytes gets the body
 * bytes the stream received. */
static uint64_t run_stream(ssekit_loop *loop, const char *url, struct run *r,
                           ssekit_event_cb cb, uint64_t *bytes) {
  ssekit_stream *s = ssekit_stream_new(url);
  uint64_t start;
  if (s == NULL) fail("ssekit_stream_new");
  r->done = 0;
  r->code = SSEKIT_OK;
  r->events = 0;
  r->data_bytes = 0;
  if (ssekit_stream_set_loop(s, loop) != SSEKIT_OK ||
      ssekit_stream_set_userdata(s, r) != SSEKIT_OK ||
      ssekit_stream_set_on_end(s, SSEKIT_END_FINISH) != SSEKIT_OK ||
      /* No reconnect fits in 1 ms, so a failure ends the run at once. */
      ssekit_stream_set_max_retry_time(s, 1) != SSEKIT_OK ||
      ssekit_stream_on_event(s, cb) != SSEKIT_OK ||
      ssekit_stream_on_error(s, on_error) != SSEKIT_OK ||
      ssekit_stream_on_closed(s, on_closed) != SSEKIT_OK) {
    fail("configuring the stream");
  }
  start = now_ns();
  if (ssekit_stream_start(s) != SSEKIT_OK) fail("ssekit_stream_start");
  pthread_mutex_lock(&r->mu);
  while (!r->done) pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
  *bytes = ssekit_stream_metric(s, SSEKIT_METRIC_BYTES);
  ssekit_stream_free(s);
  if (r->code != SSEKIT_OK) {
    fprintf(stderr, "ssekit_client: stream closed with %s\n",
            ssekit_strerror(r->code));
    fail("the stream did not finish cleanly");
  }
  return start;
}

static void run_init(struct run *r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
}

static int throughput(const char *url, uint64_t events, uint64_t data_bytes,
                      uint64_t iterations, uint64_t warmup) {
  ssekit_loop *loop = ssekit_loop_new();
  struct run r;
  uint64_t i;
  if (loop == NULL) fail("ssekit_loop_new");
  run_init(&r);
  printf("{\"contender\": \"ssekit\", \"runs\": [");
  for (i = 0; i < warmup + iterations; i++) {
    uint64_t bytes = 0;
    const double cpu0 = cpu_seconds();
    const uint64_t start = run_stream(loop, url, &r, count_event, &bytes);
    const double cpu = cpu_seconds() - cpu0;
    if (r.events != events || r.data_bytes != data_bytes) {
      fprintf(stderr,
              "ssekit_client: got %llu events with %llu data bytes, "
              "expected %llu and %llu\n",
              (unsigned long long)r.events, (unsigned long long)r.data_bytes,
              (unsigned long long)events, (unsigned long long)data_bytes);
      fail("wrong event count");
    }
    if (i < warmup) continue;
    printf("%s{\"seconds\": %.6f, \"events\": %llu, \"bytes\": %llu, "
           "\"cpu_seconds\": %.6f}",
           i == warmup ? "" : ", ", (double)(r.end_ns - start) / 1e9,
           (unsigned long long)r.events, (unsigned long long)bytes, cpu);
    fflush(stdout);
  }
  printf("]}\n");
  ssekit_loop_free(loop);
  return 0;
}

/* Queue mode: the stream delivers to a queue; this thread (not the loop's)
 * takes batches and touches every event's data, as a binding would. */
static uint64_t run_queued(ssekit_loop *loop, const char *url, struct run *r,
                           uint64_t *bytes, uint64_t *batches) {
  ssekit_queue *q = ssekit_queue_new(0, 0);
  ssekit_stream *s = ssekit_stream_new(url);
  uint64_t start;
  int done = 0;
  if (q == NULL || s == NULL) fail("ssekit_queue_new / ssekit_stream_new");
  r->code = SSEKIT_OK;
  r->events = 0;
  r->data_bytes = 0;
  *batches = 0;
  if (ssekit_stream_set_loop(s, loop) != SSEKIT_OK ||
      ssekit_stream_set_on_end(s, SSEKIT_END_FINISH) != SSEKIT_OK ||
      ssekit_stream_set_max_retry_time(s, 1) != SSEKIT_OK ||
      ssekit_stream_set_queue(s, q) != SSEKIT_OK) {
    fail("configuring the stream");
  }
  start = now_ns();
  if (ssekit_stream_start(s) != SSEKIT_OK) fail("ssekit_stream_start");
  while (!done) {
    ssekit_batch *b = NULL;
    size_t i, n;
    if (ssekit_queue_take(q, -1, &b) != SSEKIT_OK || b == NULL) fail("ssekit_queue_take");
    n = ssekit_batch_count(b);
    (*batches)++;
    for (i = 0; i < n; i++) {
      const ssekit_item *it = ssekit_batch_item(b, i);
      if (it->kind == SSEKIT_ITEM_EVENT) {
        r->events++;
        r->data_bytes += it->data_len;
      } else if (it->kind == SSEKIT_ITEM_ERROR) {
        on_error(it->code, it->status, ssekit_failure_message(it->failure), it->will_retry,
                 it->value, NULL);
      } else if (it->kind == SSEKIT_ITEM_CLOSED) {
        r->code = it->code;
        r->end_ns = now_ns();
        done = 1;
      }
    }
    ssekit_batch_free(b);
  }
  *bytes = ssekit_stream_metric(s, SSEKIT_METRIC_BYTES);
  ssekit_stream_free(s);
  ssekit_queue_free(q);
  if (r->code != SSEKIT_OK) fail("the stream did not finish cleanly");
  return start;
}

static int throughput_queued(const char *url, uint64_t events, uint64_t data_bytes,
                             uint64_t iterations, uint64_t warmup) {
  ssekit_loop *loop = ssekit_loop_new();
  struct run r;
  uint64_t i;
  if (loop == NULL) fail("ssekit_loop_new");
  run_init(&r);
  printf("{\"contender\": \"ssekit-queue\", \"runs\": [");
  for (i = 0; i < warmup + iterations; i++) {
    uint64_t bytes = 0, batches = 0;
    const double cpu0 = cpu_seconds();
    const uint64_t start = run_queued(loop, url, &r, &bytes, &batches);
    const double cpu = cpu_seconds() - cpu0;
    if (r.events != events || r.data_bytes != data_bytes) fail("wrong event count");
    if (i < warmup) continue;
    printf("%s{\"seconds\": %.6f, \"events\": %llu, \"bytes\": %llu, "
           "\"cpu_seconds\": %.6f, \"batches\": %llu}",
           i == warmup ? "" : ", ", (double)(r.end_ns - start) / 1e9,
           (unsigned long long)r.events, (unsigned long long)bytes, cpu,
           (unsigned long long)batches);
    fflush(stdout);
  }
  printf("]}\n");
  ssekit_loop_free(loop);
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples, in microseconds. */
static double pct_us(const uint64_t *sorted, uint64_t n, double p) {
  uint64_t rank = (uint64_t)(p / 100.0 * (double)n + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return (double)sorted[rank - 1] / 1e3;
}

static void print_latency(const char *client, uint64_t *lat_ns,
                          uint64_t events) {
  uint64_t i, sum = 0;
  qsort(lat_ns, events, sizeof *lat_ns, cmp_u64);
  for (i = 0; i < events; i++) sum += lat_ns[i];
  printf("{\"client\": \"%s\", \"events\": %llu, \"mean_us\": %.1f, "
         "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
         "\"p999_us\": %.1f, \"max_us\": %.1f}\n",
         client, (unsigned long long)events,
         (double)sum / (double)events / 1e3, pct_us(lat_ns, events, 50),
         pct_us(lat_ns, events, 90), pct_us(lat_ns, events, 99),
         pct_us(lat_ns, events, 99.9), (double)lat_ns[events - 1] / 1e3);
}

static int latency(const char *url, uint64_t events) {
  ssekit_loop *loop = ssekit_loop_new();
  struct run r;
  uint64_t bytes = 0;
  if (loop == NULL) fail("ssekit_loop_new");
  run_init(&r);
  r.lat_cap = events;
  r.lat_ns = calloc(events, sizeof *r.lat_ns);
  if (r.lat_ns == NULL) fail("out of memory");
  run_stream(loop, url, &r, stamp_event, &bytes);
  ssekit_loop_free(loop);
  if (r.events != events) fail("wrong event count");
  if (r.bad_stamps != 0) fail("an event did not carry a time stamp");
  print_latency("ssekit", r.lat_ns, events);
  free(r.lat_ns);
  return 0;
}

/* The floor for the latency test: a blocking socket read by the calling
 * thread, with just enough HTTP to skip the response head. Only for the
 * sender's "data: <ns>" ticks on http://127.0.0.1:PORT/... URLs. */
static int latency_raw(const char *url, uint64_t events) {
  static const char prefix[] = "http://127.0.0.1:";
  char req[1024], buf[65536];
  const char *path;
  struct sockaddr_in addr;
  size_t have = 0;
  uint64_t got = 0, *lat_ns;
  int fd, in_body = 0;
  long port;
  if (strncmp(url, prefix, sizeof prefix - 1) != 0)
    fail("raw: the URL must be http://127.0.0.1:PORT/...");
  port = strtol(url + sizeof prefix - 1, NULL, 10);
  path = strchr(url + sizeof prefix - 1, '/');
  if (path == NULL || port <= 0 || port > 65535) fail("raw: bad URL");
  lat_ns = calloc(events, sizeof *lat_ns);
  if (lat_ns == NULL) fail("out of memory");
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
    fail("raw: connect");
  snprintf(req, sizeof req,
           "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Accept: text/event-stream\r\n\r\n",
           path);
  if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req))
    fail("raw: send");
  for (;;) {
    char *p, *end;
    uint64_t now;
    const ssize_t n = recv(fd, buf + have, sizeof buf - have - 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    now = now_ns();
    have += (size_t)n;
    buf[have] = '\0';
    p = buf;
    if (!in_body) {
      char *head_end = strstr(buf, "\r\n\r\n");
      if (head_end == NULL) continue;
      in_body = 1;
      p = head_end + 4;
    }
    /* Each tick is "data: <ns>\n\n". */
    while ((end = strstr(p, "\n\n")) != NULL) {
      if (strncmp(p, "data: ", 6) != 0) fail("raw: unexpected line");
      if (got < events) {
        const uint64_t sent = strtoull(p + 6, NULL, 10);
        lat_ns[got] = now >= sent ? now - sent : 0;
      }
      got++;
      p = end + 2;
    }
    have -= (size_t)(p - buf);
    memmove(buf, p, have);
  }
  close(fd);
  if (got != events) fail("raw: wrong event count");
  print_latency("raw socket", lat_ns, events);
  free(lat_ns);
  return 0;
}

/* ------------------------------------------------------------ many streams */

struct scale {
  pthread_mutex_t mu;
  uint64_t opened;
  uint64_t events;
  uint64_t errors;
};

static void scale_open(const ssekit_response *response, void *userdata) {
  struct scale *sc = userdata;
  (void)response;
  pthread_mutex_lock(&sc->mu);
  sc->opened++;
  pthread_mutex_unlock(&sc->mu);
}

static int scale_event(const ssekit_event *ev, void *userdata) {
  struct scale *sc = userdata;
  (void)ev;
  pthread_mutex_lock(&sc->mu);
  sc->events++;
  pthread_mutex_unlock(&sc->mu);
  return 0;
}

static void scale_error(int code, int http_status, const char *message,
                        int will_retry, uint64_t retry_ms, void *userdata) {
  struct scale *sc = userdata;
  uint64_t n;
  pthread_mutex_lock(&sc->mu);
  n = ++sc->errors;
  pthread_mutex_unlock(&sc->mu);
  if (n <= 5) on_error(code, http_status, message, will_retry, retry_ms, NULL);
}

static int scale(const char *url, uint64_t n, uint64_t idle_seconds,
                 uint64_t open_timeout) {
  struct scale sc;
  ssekit_stream **streams;
  ssekit_loop *loop;
  uint64_t i, t0, t_open, t_closed, opened = 0, events = 0, errors = 0;
  long rss_before, rss_open, rss_idle, csw0;
  double cpu0, cpu_idle;
  /* Opening stalled for this long means it never finishes. */
  const uint64_t stall_s = 10;
  uint64_t progress = 0, progress_ns;

  raise_fd_limit();
  memset(&sc, 0, sizeof sc);
  pthread_mutex_init(&sc.mu, NULL);
  streams = calloc(n == 0 ? 1 : n, sizeof *streams);
  if (streams == NULL) fail("out of memory");
  /* Touch the handle array now so it is not counted against the streams. */
  memset(streams, 0xff, n * sizeof *streams);
  memset(streams, 0, n * sizeof *streams);
  loop = ssekit_loop_new();
  if (loop == NULL) fail("ssekit_loop_new");
  /* Let the loop thread reach its first wait before the baseline. */
  usleep(100000);
  rss_before = vm_rss_kib();

  t0 = now_ns();
  progress_ns = t0;
  for (i = 0; i < n; i++) {
    ssekit_stream *s = ssekit_stream_new(url);
    if (s == NULL) fail("ssekit_stream_new");
    if (ssekit_stream_set_loop(s, loop) != SSEKIT_OK ||
        ssekit_stream_set_userdata(s, &sc) != SSEKIT_OK ||
        ssekit_stream_on_open(s, scale_open) != SSEKIT_OK ||
        ssekit_stream_on_event(s, scale_event) != SSEKIT_OK ||
        ssekit_stream_on_error(s, scale_error) != SSEKIT_OK ||
        ssekit_stream_start(s) != SSEKIT_OK) {
      fail("starting a stream");
    }
    streams[i] = s;
  }
  for (;;) {
    pthread_mutex_lock(&sc.mu);
    opened = sc.opened;
    events = sc.events;
    errors = sc.errors;
    pthread_mutex_unlock(&sc.mu);
    if (opened >= n && events >= n) break;
    if (opened + events != progress) {
      progress = opened + events;
      progress_ns = now_ns();
    }
    if (now_ns() - t0 > open_timeout * 1000000000u ||
        now_ns() - progress_ns > stall_s * 1000000000u) {
      for (i = 0; i < n; i++) ssekit_stream_free(streams[i]);
      ssekit_loop_free(loop);
      free(streams);
      printf("{\"streams\": %llu, \"error\": \"only %llu of %llu streams "
             "opened (%llu got their event) in %.0f s, none more in the "
             "last %.0f s\", \"opened\": %llu, \"events\": %llu, "
             "\"errors\": %llu}\n",
             (unsigned long long)n, (unsigned long long)opened,
             (unsigned long long)n, (unsigned long long)events,
             (double)(now_ns() - t0) / 1e9,
             (double)(now_ns() - progress_ns) / 1e9,
             (unsigned long long)opened, (unsigned long long)events,
             (unsigned long long)errors);
      return 1;
    }
    usleep(1000);
  }
  t_open = now_ns();
  rss_open = vm_rss_kib();

  /* The loop may still be finishing the pass that opened the last streams:
   * idle starts a second later. */
  sleep(1);
  cpu0 = cpu_seconds();
  csw0 = context_switches();
  sleep((unsigned)idle_seconds);
  cpu_idle = cpu_seconds() - cpu0;
  rss_idle = vm_rss_kib();
  {
    const long csw = context_switches() - csw0;
    pthread_mutex_lock(&sc.mu);
    errors = sc.errors;
    opened = sc.opened;
    pthread_mutex_unlock(&sc.mu);

    t_closed = now_ns();
    for (i = 0; i < n; i++) ssekit_stream_free(streams[i]);
    t_closed = now_ns() - t_closed;
    ssekit_loop_free(loop);
    free(streams);

    printf("{\"streams\": %llu, \"open_seconds\": %.3f, "
           "\"rss_before_kib\": %ld, \"rss_open_kib\": %ld, "
           "\"rss_idle_kib\": %ld, \"rss_per_stream_kib\": %.2f, "
           "\"idle_seconds\": %llu, \"idle_cpu_seconds\": %.4f, "
           "\"idle_context_switches\": %ld, \"close_seconds\": %.3f, "
           "\"errors\": %llu, \"connections\": %llu}\n",
           (unsigned long long)n, (double)(t_open - t0) / 1e9, rss_before,
           rss_open, rss_idle,
           n == 0 ? 0.0 : (double)(rss_open - rss_before) / (double)n,
           (unsigned long long)idle_seconds, cpu_idle, csw,
           (double)t_closed / 1e9, (unsigned long long)errors,
           (unsigned long long)opened);
  }
  if (opened != n) fail("a stream reconnected while idle");
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "version") == 0 && argc == 2) {
    printf("{\"ssekit\": \"%s\", \"libcurl\": \"%s\"}\n", ssekit_version(),
           curl_version_info(CURLVERSION_NOW)->version);
    return 0;
  }
  if (strcmp(mode, "throughput") == 0 && argc == 7) {
    return throughput(argv[2], parse_u64(argv[3], "EVENTS"),
                      parse_u64(argv[4], "DATA_BYTES"),
                      parse_u64(argv[5], "ITERATIONS"),
                      parse_u64(argv[6], "WARMUP"));
  }
  if (strcmp(mode, "queue") == 0 && argc == 7) {
    return throughput_queued(argv[2], parse_u64(argv[3], "EVENTS"),
                             parse_u64(argv[4], "DATA_BYTES"),
                             parse_u64(argv[5], "ITERATIONS"),
                             parse_u64(argv[6], "WARMUP"));
  }
  if (strcmp(mode, "latency") == 0 && argc == 4) {
    const uint64_t events = parse_u64(argv[3], "EVENTS");
    if (events == 0) fail("EVENTS must be positive");
    return latency(argv[2], events);
  }
  if (strcmp(mode, "latency-raw") == 0 && argc == 4) {
    const uint64_t events = parse_u64(argv[3], "EVENTS");
    if (events == 0) fail("EVENTS must be positive");
    return latency_raw(argv[2], events);
  }
  if (strcmp(mode, "scale") == 0 && argc == 6) {
    return scale(argv[2], parse_u64(argv[3], "STREAMS"),
                 parse_u64(argv[4], "IDLE_SECONDS"),
                 parse_u64(argv[5], "OPEN_TIMEOUT_SECONDS"));
  }
  fprintf(stderr,
          "usage: %s version\n"
          "       %s throughput URL EVENTS DATA_BYTES ITERATIONS WARMUP\n"
          "       %s queue URL EVENTS DATA_BYTES ITERATIONS WARMUP\n"
          "       %s latency URL EVENTS\n"
          "       %s latency-raw URL EVENTS\n"
          "       %s scale URL STREAMS IDLE_SECONDS OPEN_TIMEOUT_SECONDS\n",
          argv[0], argv[0], argv[0], argv[0], argv[0], argv[0]);
  return 2;
}
