#define _POSIX_C_SOURCE 200809L

#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wake.h"

/* Why ssecat itself closed the stream. */
enum stop_reason {
  STOP_NONE,
  STOP_MAX_EVENTS, /* --max-events printed */
  STOP_OUTPUT,     /* stdout failed or its reader left */
  STOP_GAVE_UP     /* --no-reconnect: an error the client would retry */
};

/* Shared by the callbacks (the loop thread, one at a time) and the main
 * thread, which reads it after `closed` has run; the lock makes that
 * hand-over explicit. */
struct live {
  const struct options *opts;
  const char *url;
  struct output *out;
  ssekit_stream *stream;
  pthread_mutex_t mu;

  enum stop_reason reason;
  int output_status; /* exit status from the failed flush */
  unsigned attempts; /* connection attempts announced (verbose) */
  int error_code;    /* the last error callback, 0 if none */
  int error_http;
  char error_message[512];
  bool closed;
  int closed_code;
  struct timespec started;
  struct timespec ended;
};

static const char *skip_blanks(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  return p;
}

bool live_split_header(const char *header, size_t *name_len,
                       const char **value, size_t *value_len) {
  static const char kTokenPunct[] = "!#$%&'*+-.^_`|~";
  size_t n = 0;
  for (; header[n] != '\0' && header[n] != ':'; ++n) {
    char c = header[n];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9');
    if (!alnum && strchr(kTokenPunct, c) == NULL) return false;
  }
  if (n == 0 || header[n] != ':') return false;
  const char *end = header + strlen(header);
  const char *v = skip_blanks(header + n + 1, end);
  while (end > v && (end[-1] == ' ' || end[-1] == '\t')) --end;
  for (const char *p = v; p < end; ++p)
    if (*p == '\r' || *p == '\n') return false;
  *name_len = n;
  *value = v;
  *value_len = (size_t)(end - v);
  return true;
}

static double seconds_between(const struct timespec *a,
                              const struct timespec *b) {
  return (double)(b->tv_sec - a->tv_sec) +
         (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* After an event or retry line: pushes it out, and closes the stream (by
 * the non-zero return) if stdout failed. */
static int flush_after(struct live *live) {
  int status = SSECAT_OK;
  if (output_flush(live->out, &status)) return 0;
  pthread_mutex_lock(&live->mu);
  live->reason = STOP_OUTPUT;
  live->output_status = status;
  pthread_mutex_unlock(&live->mu);
  return 1;
}

static int on_event(const ssekit_event *ev, void *userdata) {
  struct live *live = userdata;
  if (output_done(live->out)) return 1;
  output_event(live->out, ev);
  if (flush_after(live) != 0) return 1;
  if (!output_done(live->out)) return 0;
  pthread_mutex_lock(&live->mu);
  live->reason = STOP_MAX_EVENTS;
  pthread_mutex_unlock(&live->mu);
  return 1;
}

static int on_retry(uint64_t retry_ms, void *userdata) {
  struct live *live = userdata;
  /* With --event, only the chosen events are printed. */
  if (live->opts->event_type_count > 0) return 0;
  output_retry(live->out, retry_ms);
  return flush_after(live);
}

static void on_open(const ssekit_response *response, void *userdata) {
  struct live *live = userdata;
  if (!live->opts->verbose) return;
  const char *ctype = ssekit_response_header(response, "Content-Type");
  fprintf(stderr, "ssecat: open: HTTP %d, Content-Type: %s\n",
          ssekit_response_status(response), ctype != NULL ? ctype : "(none)");
  fflush(stderr);
}

/* Verbose only. The hook runs before every connection attempt, so counting
 * its calls tells a reconnect from the first connect. */
static int on_headers(ssekit_headers *headers, void *userdata) {
  (void)headers;
  struct live *live = userdata;
  pthread_mutex_lock(&live->mu);
  unsigned attempt = ++live->attempts;
  pthread_mutex_unlock(&live->mu);

  char url[2048];
  size_t url_len = 0;
  if (ssekit_stream_url(live->stream, url, sizeof url - 1, &url_len) !=
      SSEKIT_OK)
    url_len = 0;
  url[url_len] = '\0';
  char id[256];
  size_t id_len = 0;
  if (ssekit_stream_last_event_id(live->stream, id, sizeof id - 1, &id_len) !=
      SSEKIT_OK)
    id_len = 0;
  id[id_len] = '\0';
  if (attempt == 1)
    fprintf(stderr, "ssecat: connecting to %s", url_len > 0 ? url : live->url);
  else
    fprintf(stderr, "ssecat: reconnecting to %s (reconnect %u)",
            url_len > 0 ? url : live->url, attempt - 1);
  if (id_len > 0) fprintf(stderr, ", Last-Event-ID: %s", id);
  fputc('\n', stderr);
  fflush(stderr);
  return 0;
}

static void on_error(int code, int http_status, const char *message,
                     int will_retry, uint64_t retry_ms, void *userdata) {
  struct live *live = userdata;
  if (message == NULL || *message == '\0') message = ssekit_strerror(code);
  bool give_up = will_retry && live->opts->no_reconnect;
  pthread_mutex_lock(&live->mu);
  live->error_code = code;
  live->error_http = http_status;
  snprintf(live->error_message, sizeof live->error_message, "%s", message);
  if (give_up) live->reason = STOP_GAVE_UP;
  pthread_mutex_unlock(&live->mu);

  if (live->opts->verbose) {
    fprintf(stderr, "ssecat: error: %s (code %d", message, code);
    if (http_status != 0) fprintf(stderr, ", HTTP %d", http_status);
    if (will_retry && !give_up)
      fprintf(stderr, "); will_retry=1, retry_ms=%" PRIu64 "\n", retry_ms);
    else
      fprintf(stderr, "); will_retry=0%s\n",
              give_up ? ", not reconnecting (--no-reconnect)" : "");
    fflush(stderr);
  }
  if (give_up) ssekit_stream_close(live->stream);
}

static void on_closed(int code, void *userdata) {
  struct live *live = userdata;
  pthread_mutex_lock(&live->mu);
  live->closed = true;
  live->closed_code = code;
  clock_gettime(CLOCK_MONOTONIC, &live->ended);
  pthread_mutex_unlock(&live->mu);
  wake_notify();
}

/* Reads -d: the text itself, or the contents of @FILE, or stdin for @-. */
static int load_body(const char *spec, char **body, size_t *len) {
  *body = NULL;
  *len = 0;
  if (spec[0] != '@') {
    *len = strlen(spec);
    *body = malloc(*len + 1);
    if (*body == NULL) return ssecat_fail(SSECAT_INTERNAL, "-d", strerror(ENOMEM));
    memcpy(*body, spec, *len + 1);
    return SSECAT_OK;
  }
  const char *path = spec + 1;
  bool is_stdin = strcmp(path, "-") == 0;
  const char *name = is_stdin ? "stdin" : path;
  int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY);
  if (fd < 0) return ssecat_fail(SSECAT_IO, name, strerror(errno));
  size_t cap = 0;
  int status = SSECAT_OK;
  for (;;) {
    if (*len == cap) {
      size_t new_cap = cap == 0 ? 4096 : cap * 2;
      char *grown = realloc(*body, new_cap);
      if (grown == NULL) {
        status = ssecat_fail(SSECAT_INTERNAL, name, strerror(ENOMEM));
        break;
      }
      *body = grown;
      cap = new_cap;
    }
    ssize_t got = read(fd, *body + *len, cap - *len);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      status = ssecat_fail(SSECAT_IO, name, strerror(errno));
      break;
    }
    if (got == 0) break;
    *len += (size_t)got;
  }
  if (!is_stdin) close(fd);
  if (status != SSECAT_OK) {
    free(*body);
    *body = NULL;
  }
  return status;
}

static int add_headers(ssekit_stream *s, const struct options *opts) {
  for (size_t i = 0; i < opts->header_count; ++i) {
    size_t name_len, value_len;
    const char *value;
    if (!live_split_header(opts->headers[i], &name_len, &value, &value_len))
      return SSEKIT_E_INVALID;
    char *name_copy = strndup(opts->headers[i], name_len);
    char *value_copy = strndup(value, value_len);
    int rc = name_copy == NULL || value_copy == NULL
                 ? SSEKIT_E_NOMEM
                 : ssekit_stream_add_header(s, name_copy, value_copy);
    free(name_copy);
    free(value_copy);
    if (rc != SSEKIT_OK) return rc;
  }
  return SSEKIT_OK;
}

/* Applies the command line to the stream. Returns SSEKIT_OK or the first
 * failing setter's code, with *what naming the option. */
static int configure(struct live *live, ssekit_loop *loop, const char *body,
                     size_t body_len, const char **what) {
  const struct options *opts = live->opts;
  ssekit_stream *s = live->stream;
  int rc;
#define TRY(option, call)                  \
  do {                                     \
    *what = option;                        \
    if ((rc = (call)) != SSEKIT_OK) return rc; \
  } while (0)

  TRY("stream", ssekit_stream_set_loop(s, loop));
  TRY("stream", ssekit_stream_set_userdata(s, live));
  TRY("-H", add_headers(s, opts));
  /* As with curl, -d alone means POST. */
  const char *method = opts->method != NULL ? opts->method
                       : body != NULL       ? "POST"
                                            : NULL;
  if (method != NULL) TRY("-X", ssekit_stream_set_method(s, method));
  if (body != NULL) TRY("-d", ssekit_stream_set_body(s, body, body_len));
  if (opts->last_event_id != NULL)
    TRY("--last-event-id",
        ssekit_stream_set_last_event_id(s, opts->last_event_id,
                                        strlen(opts->last_event_id)));
  if (opts->timeout_ms != 0)
    TRY("--timeout", ssekit_stream_set_read_timeout(s, opts->timeout_ms));
  if (opts->reset_after_ms != 0)
    TRY("stream", ssekit_stream_set_reset_after(s, opts->reset_after_ms));
  if (opts->no_reconnect)
    TRY("--no-reconnect", ssekit_stream_set_on_end(s, SSEKIT_END_FINISH));
  if (opts->insecure) TRY("--insecure", ssekit_stream_set_insecure(s, 1));
  if (opts->cacert != NULL)
    TRY("--cacert", ssekit_stream_set_ca_file(s, opts->cacert));
  TRY("--max-line", ssekit_stream_set_max_line(s, opts->max_line));
  TRY("--max-event", ssekit_stream_set_max_event(s, opts->max_event));

  if (opts->event_type_count == 0) {
    TRY("stream", ssekit_stream_on_event(s, on_event));
  } else {
    for (size_t i = 0; i < opts->event_type_count; ++i)
      TRY("--event", ssekit_stream_add_listener(s, opts->event_types[i],
                                                on_event));
  }
  TRY("stream", ssekit_stream_on_retry(s, on_retry));
  TRY("stream", ssekit_stream_on_open(s, on_open));
  if (opts->verbose) TRY("stream", ssekit_stream_on_headers(s, on_headers));
  TRY("stream", ssekit_stream_on_error(s, on_error));
  TRY("stream", ssekit_stream_on_closed(s, on_closed));
#undef TRY
  return SSEKIT_OK;
}

/* The exit status for how the stream ended, printing the one-line
 * diagnostic for a failure. Called after `closed`, with the lock held. */
static int final_status(const struct live *live) {
  switch (live->reason) {
    case STOP_MAX_EVENTS:
      return SSECAT_OK;
    case STOP_OUTPUT:
      return live->output_status;
    case STOP_GAVE_UP:
    case STOP_NONE:
      break;
  }
  int code = live->reason == STOP_GAVE_UP ? live->error_code
                                          : live->closed_code;
  if (code == SSEKIT_OK || code == SSEKIT_E_CLOSED) return SSECAT_OK;

  /* The error callback before `closed` explains the failure best. */
  const char *message = live->error_code != 0 ? live->error_message
                                              : ssekit_strerror(code);
  char detail[600];
  if (code == SSEKIT_E_HTTP_STATUS && live->error_code == code &&
      live->error_http != 0) {
    char status[16];
    snprintf(status, sizeof status, "%d", live->error_http);
    if (strstr(message, status) == NULL) {
      snprintf(detail, sizeof detail, "%s (HTTP %d)", message,
               live->error_http);
      message = detail;
    }
  }
  int status;
  switch (code) {
    case SSEKIT_E_LINE_TOO_LONG:
    case SSEKIT_E_EVENT_TOO_LARGE:
      status = SSECAT_STREAM;
      break;
    case SSEKIT_E_NOMEM:
    case SSEKIT_E_INTERNAL:
      status = SSECAT_INTERNAL;
      break;
    default:
      status = SSECAT_FAILED;
      break;
  }
  return ssecat_fail(status, live->url, message);
}

static void print_stats(const struct live *live) {
  uint64_t events = ssekit_stream_metric(live->stream, SSEKIT_METRIC_EVENTS);
  uint64_t bytes = ssekit_stream_metric(live->stream, SSEKIT_METRIC_BYTES);
  uint64_t reconnects =
      ssekit_stream_metric(live->stream, SSEKIT_METRIC_RECONNECTS);
  double seconds = seconds_between(&live->started, &live->ended);
  double rate = seconds > 0 ? (double)events / seconds : 0.0;
  fprintf(stderr,
          "ssecat: stats: events=%" PRIu64 " bytes=%" PRIu64
          " reconnects=%" PRIu64 " duration_s=%.3f events_per_s=%.1f\n",
          events, bytes, reconnects, seconds, rate);
  fflush(stderr);
}

int live_run(const struct options *opts, const char *url, struct output *out) {
  char *body = NULL;
  size_t body_len = 0;
  if (opts->data != NULL) {
    int status = load_body(opts->data, &body, &body_len);
    if (status != SSECAT_OK) return status;
  }

  struct live live;
  memset(&live, 0, sizeof live);
  live.opts = opts;
  live.url = url;
  live.out = out;
  pthread_mutex_init(&live.mu, NULL);

  int status = SSECAT_OK;
  ssekit_loop *loop = ssekit_loop_new();
  live.stream = loop != NULL ? ssekit_stream_new(url) : NULL;
  if (live.stream == NULL) {
    status = ssecat_fail(SSECAT_INTERNAL, url,
                         loop == NULL ? "cannot start the I/O thread"
                                      : ssekit_strerror(SSEKIT_E_NOMEM));
    goto done;
  }
  const char *what = "stream";
  int rc = configure(&live, loop, body, body_len, &what);
  if (rc != SSEKIT_OK) {
    status = ssecat_fail(rc == SSEKIT_E_INVALID ? SSECAT_USAGE
                                                : SSECAT_INTERNAL,
                         what, ssekit_strerror(rc));
    goto done;
  }

  clock_gettime(CLOCK_MONOTONIC, &live.started);
  live.ended = live.started;
  rc = ssekit_stream_start(live.stream);
  if (rc != SSEKIT_OK) {
    status = ssecat_fail(SSECAT_FAILED, url, ssekit_strerror(rc));
    goto done;
  }
  /* Every thread of the client exists now and keeps the signals blocked. */
  wake_unblock_signals();

  int signo = 0;
  for (;;) {
    int woke = wake_wait();
    if (woke > 0) {
      signo = woke;
      break;
    }
    pthread_mutex_lock(&live.mu);
    bool closed = live.closed;
    pthread_mutex_unlock(&live.mu);
    if (closed || woke < 0) break;
  }
  /* From the main thread this waits for `closed`, whatever woke us. */
  ssekit_stream_close(live.stream);

  pthread_mutex_lock(&live.mu);
  /* Stopped by SIGINT or SIGTERM: the normal end of an endless stream. */
  status = signo != 0 ? SSECAT_OK : final_status(&live);
  pthread_mutex_unlock(&live.mu);
  if (opts->stats) print_stats(&live);

done:
  ssekit_stream_free(live.stream);
  ssekit_loop_free(loop);
  pthread_mutex_destroy(&live.mu);
  free(body);
  return status;
}
