/* ssecat: print the events of a Server-Sent Events stream as text or JSON. */
#define _POSIX_C_SOURCE 200809L

#include "ssecat.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "demo_server.h"
#include "live.h"
#include "output.h"
#include "ssekit.h"
#include "wake.h"

#define SSECAT_CHUNK ((size_t)64 * 1024)
/* So that the README's `ssecat --demo` ends by itself. */
#define DEMO_DEFAULT_MAX_EVENTS 20
#define MAX_INTERVAL_MS 3600000u

enum option_id {
  OPT_HELP,
  OPT_VERSION,
  OPT_INPUT,
  OPT_JSON,
  OPT_MAX_LINE,
  OPT_MAX_EVENT,
  OPT_MAX_EVENTS,
  OPT_HEADER,
  OPT_METHOD,
  OPT_DATA,
  OPT_LAST_EVENT_ID,
  OPT_EVENT,
  OPT_TIMEOUT,
  OPT_NO_RECONNECT,
  OPT_INSECURE,
  OPT_CACERT,
  OPT_STATS,
  OPT_VERBOSE,
  OPT_DEMO,
  OPT_SERVE_DEMO,
  OPT_PORT,
  OPT_DEMO_INTERVAL
};

/* Which modes an option belongs to; options of another mode are refused
 * rather than silently ignored. */
enum option_scope { SCOPE_ANY, SCOPE_LIVE, SCOPE_DEMO };

struct option_spec {
  const char *long_name;
  char short_name; /* '\0' for none */
  bool takes_value;
  enum option_id id;
  enum option_scope scope;
};

static const struct option_spec kOptions[] = {
    {"help", 'h', false, OPT_HELP, SCOPE_ANY},
    {"version", '\0', false, OPT_VERSION, SCOPE_ANY},
    {"input", '\0', true, OPT_INPUT, SCOPE_ANY},
    {"json", '\0', false, OPT_JSON, SCOPE_ANY},
    {"max-line", '\0', true, OPT_MAX_LINE, SCOPE_ANY},
    {"max-event", '\0', true, OPT_MAX_EVENT, SCOPE_ANY},
    {"max-events", '\0', true, OPT_MAX_EVENTS, SCOPE_ANY},
    {"header", 'H', true, OPT_HEADER, SCOPE_LIVE},
    {"request", 'X', true, OPT_METHOD, SCOPE_LIVE},
    {"data", 'd', true, OPT_DATA, SCOPE_LIVE},
    {"last-event-id", '\0', true, OPT_LAST_EVENT_ID, SCOPE_LIVE},
    {"event", '\0', true, OPT_EVENT, SCOPE_LIVE},
    {"timeout", '\0', true, OPT_TIMEOUT, SCOPE_LIVE},
    {"no-reconnect", '\0', false, OPT_NO_RECONNECT, SCOPE_LIVE},
    {"insecure", 'k', false, OPT_INSECURE, SCOPE_LIVE},
    {"cacert", '\0', true, OPT_CACERT, SCOPE_LIVE},
    {"stats", '\0', false, OPT_STATS, SCOPE_LIVE},
    {"verbose", 'v', false, OPT_VERBOSE, SCOPE_ANY},
    {"demo", '\0', false, OPT_DEMO, SCOPE_ANY},
    {"serve-demo", '\0', false, OPT_SERVE_DEMO, SCOPE_ANY},
    {"port", '\0', true, OPT_PORT, SCOPE_DEMO},
    {"demo-interval", '\0', true, OPT_DEMO_INTERVAL, SCOPE_DEMO},
};

int ssecat_fail(int status, const char *what, const char *detail) {
  fprintf(stderr, "ssecat: %s: %s\n", what, detail);
  fflush(stderr);
  return status;
}

static int usage_error(const char *what, const char *detail) {
  fprintf(stderr, "ssecat: %s: %s (see 'ssecat --help')\n", what, detail);
  return SSECAT_USAGE;
}

static void print_help(FILE *fp) {
  /* Several literals, because ISO C only promises 4095 characters in one. */
  fputs(
      "Usage: ssecat [OPTIONS] URL\n"
      "       ssecat [OPTIONS] --demo [--port N] [--demo-interval MS]\n"
      "       ssecat [OPTIONS] --input PATH\n"
      "       ssecat --serve-demo [--port N] [--demo-interval MS]\n"
      "\n"
      "Prints the events of a Server-Sent Events (text/event-stream) stream,\n"
      "each one as soon as it is complete. A URL (http or https) is streamed\n"
      "like a browser's EventSource does: after a dropped connection or the\n"
      "end of the response, ssecat reconnects with the Last-Event-ID header.\n"
      "\n"
      "Input:\n"
      "  URL              stream from URL\n"
      "  --input PATH     parse a captured stream from the file PATH, or\n"
      "                   from standard input if PATH is '-'\n"
      "  --demo           start a demo server inside ssecat and stream from\n"
      "                   it (default --max-events 20; --max-events 0 runs\n"
      "                   until interrupted)\n"
      "  --serve-demo     only run the demo server, in the foreground, and\n"
      "                   print its URL (stop it with Ctrl-C)\n"
      "  --port N         the demo server's port on 127.0.0.1 (default 0: any\n"
      "                   free port)\n"
      "  --demo-interval MS  time between the demo server's events (default\n"
      "                   200)\n"
      "\n",
      fp);
  fputs(
      "Request (URL and --demo):\n"
      "  -H, --header 'NAME: VALUE'  add a request header (repeatable)\n"
      "  -X, --request METHOD  the request method (default GET, or POST\n"
      "                   with -d)\n"
      "  -d, --data DATA  send DATA as the request body, again on every\n"
      "                   reconnect; @FILE sends the file's contents, @- the\n"
      "                   standard input. Give the body's type with -H\n"
      "                   'Content-Type: ...'.\n"
      "  --last-event-id ID  start from ID (sent as Last-Event-ID)\n"
      "  --timeout SECONDS  reconnect when nothing, not even a comment,\n"
      "                   arrives for SECONDS (decimals allowed; default: wait\n"
      "                   forever)\n"
      "  --no-reconnect   never reconnect: the end of the response finishes\n"
      "                   ssecat (status 0), any error fails it (status 5)\n"
      "  -k, --insecure   do not verify the server's TLS certificate\n"
      "  --cacert FILE    trust the CA certificates in the PEM file FILE\n"
      "\n"
      "Output:\n"
      "  --json           print JSON Lines instead of text (see below)\n"
      "  --max-events N   stop after N printed events (0: no limit; the\n"
      "                   default, except with --demo)\n"
      "  --event TYPE     print only events of type TYPE (repeatable); retry\n"
      "                   fields are then not printed either\n"
      "  --stats          at the end, print the events, bytes, reconnects,\n"
      "                   duration and event rate to standard error\n"
      "  -v, --verbose    report connecting, the response status, errors and\n"
      "                   reconnects on standard error\n"
      "\n",
      fp);
  fprintf(fp,
          "Limits, in bytes (0: no limit):\n"
          "  --max-line N     longest line accepted (default %zu)\n"
          "  --max-event N    largest event data accepted (default %zu)\n"
          "  A live stream that exceeds a limit drops the connection and\n"
          "  reconnects.\n"
          "\n",
          (size_t)SSEKIT_DEFAULT_MAX_LINE, (size_t)SSEKIT_DEFAULT_MAX_EVENT);
  fputs(
      "Other:\n"
      "  -h, --help       print this help and exit\n"
      "  --version        print the ssekit version and exit\n"
      "\n"
      "Text output: one block per event, ended by a blank line: a header\n"
      "'[TYPE] id=ID' (' id=ID' left out when the ID is empty, the whole\n"
      "header left out for a 'message' event without ID), then the data as\n"
      "is. A retry field prints 'retry: N ms' and a blank line. Comments\n"
      "are not printed.\n"
      "\n"
      "JSON output: one object per line, in stream order:\n"
      "  {\"event\": TYPE, \"data\": DATA, \"id\": LAST_EVENT_ID}  each event\n"
      "  {\"retry\": N}"
      "                                        each retry field\n"
      "\n",
      fp);
  fputs(
      "Exit status:\n"
      "  0  success: the stream finished, --max-events were printed, SIGINT\n"
      "     or SIGTERM stopped ssecat, or the reader of the output went away\n"
      "  1  usage error\n"
      "  2  I/O error reading the input or writing the output\n"
      "  3  the stream was rejected: a line or an event exceeds its limit\n"
      "     (live: only with --no-reconnect)\n"
      "  4  out of memory or internal error\n"
      "  5  the live stream failed for good: an HTTP status or content type\n"
      "     that is not retried, TLS, retries exhausted, or any error with\n"
      "     --no-reconnect\n",
      fp);
}

/* A decimal number without sign or suffix; false if malformed or too big. */
static bool parse_u64(const char *text, uint64_t *value) {
  uint64_t v = 0;
  if (*text == '\0') return false;
  for (const char *p = text; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return false;
    unsigned digit = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *value = v;
  return true;
}

static bool parse_size(const char *text, size_t *value) {
  uint64_t v;
  if (!parse_u64(text, &v) || v > SIZE_MAX) return false;
  *value = (size_t)v;
  return true;
}

/* "SECONDS[.FRACTION]" in milliseconds, rounded up so that a tiny positive
 * timeout does not become "none". */
static bool parse_seconds_ms(const char *text, uint64_t *ms) {
  const char *dot = strchr(text, '.');
  size_t int_len = dot != NULL ? (size_t)(dot - text) : strlen(text);
  if (int_len > 9) return false;
  uint64_t whole = 0, frac = 0;
  bool rest = false, digits = int_len > 0;
  for (size_t i = 0; i < int_len; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    whole = whole * 10 + (uint64_t)(text[i] - '0');
  }
  if (dot != NULL) {
    int place = 0;
    for (const char *p = dot + 1; *p != '\0'; ++p, ++place) {
      if (*p < '0' || *p > '9') return false;
      digits = true;
      if (place < 3)
        frac = frac * 10 + (uint64_t)(*p - '0');
      else if (*p != '0')
        rest = true;
    }
    for (; place < 3; ++place) frac *= 10;
  }
  if (!digits) return false;
  *ms = whole * 1000 + frac + (rest ? 1 : 0);
  return true;
}

static bool is_token(const char *text) {
  if (*text == '\0') return false;
  for (const char *p = text; *p != '\0'; ++p)
    if (*p <= ' ' || *p >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *p) != NULL)
      return false;
  return true;
}

static int bad_value(const struct option_spec *spec, bool is_long,
                     const char *value, const char *expected) {
  if (is_long)
    fprintf(stderr, "ssecat: --%s", spec->long_name);
  else
    fprintf(stderr, "ssecat: -%c", spec->short_name);
  fprintf(stderr, ": '%s' is not %s (see 'ssecat --help')\n", value, expected);
  return SSECAT_USAGE;
}

static int apply_option(struct options *opts, const struct option_spec *spec,
                        bool is_long, const char *value) {
  static const char kNumber[] = "a non-negative decimal number";
  uint64_t n;
  size_t name_len, value_len;
  const char *header_value;
  switch (spec->id) {
    case OPT_HELP:
      opts->action = ACTION_HELP;
      return SSECAT_OK;
    case OPT_VERSION:
      opts->action = ACTION_VERSION;
      return SSECAT_OK;
    case OPT_INPUT:
      opts->input = value;
      return SSECAT_OK;
    case OPT_JSON:
      opts->json = true;
      return SSECAT_OK;
    case OPT_MAX_LINE:
      if (parse_size(value, &opts->max_line)) return SSECAT_OK;
      return bad_value(spec, is_long, value, kNumber);
    case OPT_MAX_EVENT:
      if (parse_size(value, &opts->max_event)) return SSECAT_OK;
      return bad_value(spec, is_long, value, kNumber);
    case OPT_MAX_EVENTS:
      if (!parse_u64(value, &opts->max_events))
        return bad_value(spec, is_long, value, kNumber);
      opts->max_events_set = true;
      return SSECAT_OK;
    case OPT_HEADER:
      if (!live_split_header(value, &name_len, &header_value, &value_len))
        return bad_value(spec, is_long, value, "a header 'Name: value'");
      opts->headers[opts->header_count++] = value;
      return SSECAT_OK;
    case OPT_METHOD:
      if (!is_token(value))
        return bad_value(spec, is_long, value, "a method name");
      opts->method = value;
      return SSECAT_OK;
    case OPT_DATA:
      opts->data = value;
      return SSECAT_OK;
    case OPT_LAST_EVENT_ID:
      opts->last_event_id = value;
      return SSECAT_OK;
    case OPT_EVENT:
      if (*value == '\0') return bad_value(spec, is_long, value, "an event type");
      opts->event_types[opts->event_type_count++] = value;
      return SSECAT_OK;
    case OPT_TIMEOUT:
      if (parse_seconds_ms(value, &opts->timeout_ms)) return SSECAT_OK;
      return bad_value(spec, is_long, value, "a number of seconds");
    case OPT_NO_RECONNECT:
      opts->no_reconnect = true;
      return SSECAT_OK;
    case OPT_INSECURE:
      opts->insecure = true;
      return SSECAT_OK;
    case OPT_CACERT:
      opts->cacert = value;
      return SSECAT_OK;
    case OPT_STATS:
      opts->stats = true;
      return SSECAT_OK;
    case OPT_VERBOSE:
      opts->verbose = true;
      return SSECAT_OK;
    case OPT_DEMO:
      opts->demo = true;
      return SSECAT_OK;
    case OPT_SERVE_DEMO:
      opts->serve_demo = true;
      return SSECAT_OK;
    case OPT_PORT:
      if (!parse_u64(value, &n) || n > 65535)
        return bad_value(spec, is_long, value, "a port number (0 to 65535)");
      opts->port = (uint16_t)n;
      return SSECAT_OK;
    case OPT_DEMO_INTERVAL:
      if (!parse_u64(value, &n) || n == 0 || n > MAX_INTERVAL_MS)
        return bad_value(spec, is_long, value,
                         "a number of milliseconds (1 to 3600000)");
      opts->demo_interval_ms = (uint32_t)n;
      return SSECAT_OK;
  }
  return SSECAT_INTERNAL;
}

static bool has_http_scheme(const char *url) {
  return strncasecmp(url, "http://", 7) == 0 ||
         strncasecmp(url, "https://", 8) == 0;
}

/* Checks that the options fit the one mode chosen. */
static int check_mode(const struct options *opts) {
  int modes = (opts->input != NULL) + (opts->url != NULL) + opts->demo +
              opts->serve_demo;
  if (modes > 1)
    return usage_error(opts->url != NULL ? opts->url : "input",
                       "give only one of URL, --input, --demo and "
                       "--serve-demo");
  if (modes == 0)
    return usage_error("no input",
                       "give a URL, --demo, or --input PATH (- for stdin)");
  if (opts->url != NULL && !has_http_scheme(opts->url))
    return usage_error(opts->url, "not an http:// or https:// URL");
  if (opts->live_option != NULL && (opts->input != NULL || opts->serve_demo))
    return usage_error(opts->live_option, "only with a URL or --demo");
  if (opts->demo_option != NULL && !opts->demo && !opts->serve_demo)
    return usage_error(opts->demo_option,
                       "only with --demo or --serve-demo");
  if (opts->serve_demo && (opts->json || opts->max_events_set))
    return usage_error(opts->json ? "--json" : "--max-events",
                       "not with --serve-demo");
  return SSECAT_OK;
}

/* Accepts "--name VALUE", "--name=VALUE", "-x VALUE" and "-xVALUE". Prints
 * the error and returns SSECAT_USAGE on a bad command line. */
static int parse_options(int argc, char **argv, struct options *opts) {
  bool options_done = false;
  opts->action = ACTION_RUN;
  opts->max_line = SSEKIT_DEFAULT_MAX_LINE;
  opts->max_event = SSEKIT_DEFAULT_MAX_EVENT;
  opts->demo_interval_ms = DEMO_DEFAULT_INTERVAL_MS;

  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (options_done || arg[0] != '-' || arg[1] == '\0') {
      if (opts->url != NULL) return usage_error(arg, "unexpected argument");
      opts->url = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      options_done = true;
      continue;
    }

    const struct option_spec *spec = NULL;
    const char *value = NULL;
    bool is_long = arg[1] == '-';
    size_t name_len = 0;
    if (is_long) {
      const char *eq = strchr(arg + 2, '=');
      name_len = eq != NULL ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
      if (eq != NULL) value = eq + 1;
    }
    for (size_t k = 0; k < sizeof kOptions / sizeof kOptions[0]; ++k) {
      const struct option_spec *s = &kOptions[k];
      if (is_long ? strlen(s->long_name) == name_len &&
                        strncmp(s->long_name, arg + 2, name_len) == 0
                  : s->short_name != '\0' && s->short_name == arg[1]) {
        spec = s;
        break;
      }
    }
    if (spec == NULL) return usage_error(arg, "unknown option");

    if (!is_long && arg[2] != '\0') {
      if (!spec->takes_value) return usage_error(arg, "unknown option");
      value = arg + 2;
    }
    if (spec->takes_value && value == NULL) {
      if (i + 1 >= argc) return usage_error(arg, "missing value");
      value = argv[++i];
    } else if (!spec->takes_value && value != NULL) {
      return usage_error(arg, "takes no value");
    }
    if (spec->scope == SCOPE_LIVE && opts->live_option == NULL)
      opts->live_option = arg;
    if (spec->scope == SCOPE_DEMO && opts->demo_option == NULL)
      opts->demo_option = arg;
    int status = apply_option(opts, spec, is_long, value);
    if (status != SSECAT_OK) return status;
  }

  if (opts->action != ACTION_RUN) return SSECAT_OK;
  return check_mode(opts);
}

static int on_event(const ssekit_event *ev, void *userdata) {
  struct output *out = userdata;
  output_event(out, ev);
  return out->error != 0 || output_done(out);
}

static int on_retry(uint64_t retry_ms, void *userdata) {
  struct output *out = userdata;
  output_retry(out, retry_ms);
  return out->error != 0;
}

static ssekit_parser *new_parser(const struct options *opts,
                                 struct output *out) {
  ssekit_parser *parser = ssekit_parser_new();
  if (parser == NULL) return NULL;
  if (ssekit_parser_set_userdata(parser, out) != SSEKIT_OK ||
      ssekit_parser_on_event(parser, on_event) != SSEKIT_OK ||
      ssekit_parser_on_retry(parser, on_retry) != SSEKIT_OK ||
      ssekit_parser_set_max_line(parser, opts->max_line) != SSEKIT_OK ||
      ssekit_parser_set_max_event(parser, opts->max_event) != SSEKIT_OK) {
    ssekit_parser_free(parser);
    return NULL;
  }
  return parser;
}

static int stream_error(const ssekit_parser *parser, int code,
                        const char *name) {
  const char *message = ssekit_parser_error_message(parser);
  if (message == NULL || *message == '\0') message = ssekit_strerror(code);
  bool limit =
      code == SSEKIT_E_LINE_TOO_LONG || code == SSEKIT_E_EVENT_TOO_LARGE;
  return ssecat_fail(limit ? SSECAT_STREAM : SSECAT_INTERNAL, name, message);
}

/* Offline mode: parse a file or stdin, printing events chunk by chunk so
 * that a pipe shows each event as soon as its blank line arrives, while a
 * fast input is not written one event at a time. */
static int run_input(const struct options *opts, struct output *out) {
  static unsigned char chunk[SSECAT_CHUNK];
  bool is_stdin = strcmp(opts->input, "-") == 0;
  const char *name = is_stdin ? "stdin" : opts->input;
  int fd = is_stdin ? STDIN_FILENO : open(opts->input, O_RDONLY);
  if (fd < 0) return ssecat_fail(SSECAT_IO, name, strerror(errno));

  int status = SSECAT_OK;
  ssekit_parser *parser = new_parser(opts, out);
  if (parser == NULL) {
    status = ssecat_fail(SSECAT_INTERNAL, "parser",
                         ssekit_strerror(SSEKIT_E_NOMEM));
  }
  while (parser != NULL) {
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    int read_errno = errno;
    int rc = got > 0   ? ssekit_parser_feed(parser, chunk, (size_t)got)
             : got == 0 ? ssekit_parser_finish(parser)
                        : SSEKIT_OK;
    /* Whatever the chunk produced goes out before any error is reported. */
    if (!output_flush(out, &status) || rc == SSEKIT_E_CALLBACK) break;
    if (got < 0) {
      status = ssecat_fail(SSECAT_IO, name, strerror(read_errno));
      break;
    }
    if (rc != SSEKIT_OK) {
      status = stream_error(parser, rc, name);
      break;
    }
    if (got == 0) break;
  }
  ssekit_parser_free(parser);
  if (!is_stdin) close(fd);
  return status;
}

/* Live mode, from a URL or from the embedded demo server. */
static int run_live(struct options *opts) {
  int err = wake_init();
  if (err != 0) return ssecat_fail(SSECAT_INTERNAL, "signals", strerror(err));

  demo_server *server = NULL;
  char demo_url[64];
  const char *url = opts->url;
  if (opts->demo) {
    err = demo_server_start(opts->port, opts->demo_interval_ms,
                            opts->verbose ? stderr : NULL, &server);
    if (err != 0) return ssecat_fail(SSECAT_IO, "demo server", strerror(err));
    snprintf(demo_url, sizeof demo_url, "http://127.0.0.1:%u/",
             (unsigned)demo_server_port(server));
    url = demo_url;
    if (!opts->max_events_set) opts->max_events = DEMO_DEFAULT_MAX_EVENTS;
    /* The demo server ends every connection after a few events; counting
     * a connection as healthy halfway through keeps the reconnect delay at
     * the server's `retry` instead of backing off towards the maximum. */
    opts->reset_after_ms = (uint64_t)opts->demo_interval_ms *
                           (DEMO_EVENTS_PER_CONNECTION - 1) / 2;
    if (opts->reset_after_ms == 0) opts->reset_after_ms = 1;
  }
  struct output out;
  output_init(&out, stdout, opts->json, opts->max_events);
  int status = live_run(opts, url, &out);
  demo_server_stop(server);
  return status;
}

static int run_serve_demo(const struct options *opts) {
  int err = wake_init();
  if (err != 0) return ssecat_fail(SSECAT_INTERNAL, "signals", strerror(err));
  demo_server *server = NULL;
  err = demo_server_start(opts->port, opts->demo_interval_ms, stderr, &server);
  if (err != 0) return ssecat_fail(SSECAT_IO, "demo server", strerror(err));
  printf("listening on http://127.0.0.1:%u/\n",
         (unsigned)demo_server_port(server));
  fflush(stdout);
  wake_unblock_signals();
  while (wake_wait() == 0) {
  }
  demo_server_stop(server);
  return SSECAT_OK;
}

/* For --help and --version: a vanished reader is not an error either. */
static int finish_stdout(void) {
  errno = 0;
  if (fflush(stdout) != 0 && errno != EPIPE)
    return ssecat_fail(SSECAT_IO, "stdout",
                       strerror(errno != 0 ? errno : EIO));
  return SSECAT_OK;
}

int main(int argc, char **argv) {
  /* A closed stdout must surface as EPIPE so that ssecat ends quietly. */
  signal(SIGPIPE, SIG_IGN);

  struct options opts;
  memset(&opts, 0, sizeof opts);
  /* Repeatable options: never more values than arguments. */
  opts.headers = calloc((size_t)argc, sizeof *opts.headers);
  opts.event_types = calloc((size_t)argc, sizeof *opts.event_types);
  if (opts.headers == NULL || opts.event_types == NULL)
    return ssecat_fail(SSECAT_INTERNAL, "ssecat", strerror(ENOMEM));

  int status = parse_options(argc, argv, &opts);
  if (status == SSECAT_OK) {
    switch (opts.action) {
      case ACTION_HELP:
        print_help(stdout);
        status = finish_stdout();
        break;
      case ACTION_VERSION:
        printf("ssecat %s\n", ssekit_version());
        status = finish_stdout();
        break;
      case ACTION_RUN:
        if (opts.input != NULL) {
          struct output out;
          output_init(&out, stdout, opts.json, opts.max_events);
          status = run_input(&opts, &out);
        } else if (opts.serve_demo) {
          status = run_serve_demo(&opts);
        } else {
          status = run_live(&opts);
        }
        break;
    }
  }
  free(opts.headers);
  free(opts.event_types);
  return status;
}
