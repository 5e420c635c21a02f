/* ssecat: print the events of a Server-Sent Events stream as text or JSON. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ssekit.h"

enum exit_status {
  SSECAT_OK = 0,
  SSECAT_USAGE = 1,
  SSECAT_IO = 2,
  SSECAT_STREAM = 3,
  SSECAT_INTERNAL = 4
};

#define SSECAT_CHUNK ((size_t)64 * 1024)

enum action { ACTION_RUN, ACTION_HELP, ACTION_VERSION };

struct options {
  enum action action;
  const char *input; /* --input PATH ("-" is stdin), or NULL */
  const char *url;   /* the positional argument, or NULL */
  bool json;
  size_t max_line;
  size_t max_event;
  uint64_t max_events; /* 0: no limit */
};

enum option_id {
  OPT_HELP,
  OPT_VERSION,
  OPT_INPUT,
  OPT_JSON,
  OPT_MAX_LINE,
  OPT_MAX_EVENT,
  OPT_MAX_EVENTS
};

struct option_spec {
  const char *long_name;
  char short_name; /* '\0' for none */
  bool takes_value;
  enum option_id id;
};

static const struct option_spec kOptions[] = {
    {"help", 'h', false, OPT_HELP},
    {"version", '\0', false, OPT_VERSION},
    {"input", '\0', true, OPT_INPUT},
    {"json", '\0', false, OPT_JSON},
    {"max-line", '\0', true, OPT_MAX_LINE},
    {"max-event", '\0', true, OPT_MAX_EVENT},
    {"max-events", '\0', true, OPT_MAX_EVENTS},
};

/* Prints the one-line diagnostic every failure ends with. */
static int fail(int status, const char *what, const char *detail) {
  fprintf(stderr, "ssecat: %s: %s\n", what, detail);
  return status;
}

static int usage_error(const char *what, const char *detail) {
  fprintf(stderr, "ssecat: %s: %s (see 'ssecat --help')\n", what, detail);
  return SSECAT_USAGE;
}

static void print_help(FILE *fp) {
  /* Several literals, because ISO C only promises 4095 characters in one. */
  fputs(
      "Usage: ssecat [OPTIONS] --input PATH\n"
      "\n"
      "Prints the events of a Server-Sent Events (text/event-stream) stream,\n"
      "each one as soon as it is complete.\n"
      "\n"
      "Input:\n"
      "  --input PATH     read the stream from the file PATH, or from\n"
      "                   standard input if PATH is '-'\n"
      "\n"
      "Output:\n"
      "  --json           print JSON Lines instead of text (see below)\n"
      "  --max-events N   stop after N events (0, the default: no limit)\n"
      "\n",
      fp);
  fprintf(fp,
          "Limits, in bytes (0: no limit):\n"
          "  --max-line N     longest line accepted (default %zu)\n"
          "  --max-event N    largest event data accepted (default %zu)\n"
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
      "\n"
      "Exit status:\n"
      "  0  success, also when the reader of the output goes away\n"
      "  1  usage error\n"
      "  2  I/O error reading the input or writing the output\n"
      "  3  the stream was rejected: a line or an event exceeds its limit\n"
      "  4  out of memory or internal error\n",
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

static int apply_option(struct options *opts, const struct option_spec *spec,
                        bool is_long, const char *value) {
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
      break;
    case OPT_MAX_EVENT:
      if (parse_size(value, &opts->max_event)) return SSECAT_OK;
      break;
    case OPT_MAX_EVENTS:
      if (parse_u64(value, &opts->max_events)) return SSECAT_OK;
      break;
  }
  if (is_long)
    fprintf(stderr, "ssecat: --%s", spec->long_name);
  else
    fprintf(stderr, "ssecat: -%c", spec->short_name);
  fprintf(stderr,
          ": '%s' is not a non-negative decimal number (see 'ssecat --help')\n",
          value);
  return SSECAT_USAGE;
}

/* Accepts "--name VALUE", "--name=VALUE", "-x VALUE" and "-xVALUE". Prints
 * the error and returns SSECAT_USAGE on a bad command line. */
static int parse_options(int argc, char **argv, struct options *opts) {
  bool options_done = false;
  memset(opts, 0, sizeof *opts);
  opts->action = ACTION_RUN;
  opts->max_line = SSEKIT_DEFAULT_MAX_LINE;
  opts->max_event = SSEKIT_DEFAULT_MAX_EVENT;

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
    int status = apply_option(opts, spec, is_long, value);
    if (status != SSECAT_OK) return status;
  }

  if (opts->action != ACTION_RUN) return SSECAT_OK;
  if (opts->input != NULL && opts->url != NULL)
    return usage_error(opts->url, "give either a URL or --input, not both");
  if (opts->input == NULL && opts->url == NULL)
    return usage_error("no input", "use --input PATH, or --input - for stdin");
  return SSECAT_OK;
}

/* Output shared by every input mode. Writes go through stdio and are pushed
 * out by output_flush() once per chunk of input, so a slow stream shows each
 * event at once while a fast one is not written one event at a time. */
struct output {
  FILE *fp;
  bool json;
  uint64_t max_events; /* 0: no limit */
  uint64_t events;     /* events printed so far */
  bool pending;        /* something was written since the last flush */
  int error;           /* errno of the first failed write, 0 if none */
};

static void output_init(struct output *out, FILE *fp,
                        const struct options *opts) {
  static char buffer[SSECAT_CHUNK];
  memset(out, 0, sizeof *out);
  out->fp = fp;
  out->json = opts->json;
  out->max_events = opts->max_events;
  setvbuf(fp, buffer, _IOFBF, sizeof buffer);
}

static void out_bytes(struct output *out, const char *bytes, size_t len) {
  if (out->error != 0 || len == 0) return;
  out->pending = true;
  errno = 0;
  if (fwrite(bytes, 1, len, out->fp) != len)
    out->error = errno != 0 ? errno : EIO;
}

static void out_text(struct output *out, const char *text) {
  out_bytes(out, text, strlen(text));
}

/* A JSON string. The text is valid UTF-8 already, so only the characters
 * JSON forbids raw (and DEL, which terminals mangle) are escaped. */
static void out_json_string(struct output *out, const char *s, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  size_t clean = 0; /* start of the bytes not written yet */
  out_bytes(out, "\"", 1);
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)s[i];
    char unicode[] = "\\u00XX";
    const char *escape;
    switch (c) {
      case '"': escape = "\\\""; break;
      case '\\': escape = "\\\\"; break;
      case '\b': escape = "\\b"; break;
      case '\f': escape = "\\f"; break;
      case '\n': escape = "\\n"; break;
      case '\r': escape = "\\r"; break;
      case '\t': escape = "\\t"; break;
      default:
        if (c >= 0x20 && c != 0x7f) continue;
        unicode[4] = kHex[c >> 4];
        unicode[5] = kHex[c & 0xf];
        escape = unicode;
        break;
    }
    out_bytes(out, s + clean, i - clean);
    out_text(out, escape);
    clean = i + 1;
  }
  /* An empty string may come as a NULL pointer, which takes no offset. */
  if (clean < len) out_bytes(out, s + clean, len - clean);
  out_bytes(out, "\"", 1);
}

static void output_event(struct output *out, const ssekit_event *ev) {
  if (out->json) {
    out_text(out, "{\"event\": ");
    out_json_string(out, ev->type, ev->type_len);
    out_text(out, ", \"data\": ");
    out_json_string(out, ev->data, ev->data_len);
    out_text(out, ", \"id\": ");
    out_json_string(out, ev->id, ev->id_len);
    out_text(out, "}\n");
    return;
  }
  bool is_message = ev->type_len == 7 && memcmp(ev->type, "message", 7) == 0;
  if (!is_message || ev->id_len > 0) {
    out_text(out, "[");
    out_bytes(out, ev->type, ev->type_len);
    out_text(out, "]");
    if (ev->id_len > 0) {
      out_text(out, " id=");
      out_bytes(out, ev->id, ev->id_len);
    }
    out_text(out, "\n");
  }
  out_bytes(out, ev->data, ev->data_len);
  out_text(out, "\n\n");
}

static void output_retry(struct output *out, uint64_t retry_ms) {
  char line[64];
  int len = snprintf(line, sizeof line,
                     out->json ? "{\"retry\": %" PRIu64 "}\n"
                               : "retry: %" PRIu64 " ms\n\n",
                     retry_ms);
  if (len > 0) out_bytes(out, line, (size_t)len);
}

/* True when the requested number of events has been printed. */
static bool output_done(const struct output *out) {
  return out->max_events != 0 && out->events >= out->max_events;
}

/* Pushes the pending output out. Returns true while the output works;
 * otherwise *status receives the exit status: SSECAT_OK when the reader went
 * away (EPIPE: nobody is left to tell), SSECAT_IO after reporting any other
 * write error. */
static bool output_flush(struct output *out, int *status) {
  if (out->pending && out->error == 0) {
    errno = 0;
    if (fflush(out->fp) != 0) out->error = errno != 0 ? errno : EIO;
  }
  out->pending = false;
  if (out->error == 0) return true;
  *status = out->error == EPIPE
                ? SSECAT_OK
                : fail(SSECAT_IO, "stdout", strerror(out->error));
  return false;
}

static int on_event(const ssekit_event *ev, void *userdata) {
  struct output *out = userdata;
  output_event(out, ev);
  ++out->events;
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
  return fail(limit ? SSECAT_STREAM : SSECAT_INTERNAL, name, message);
}

/* Offline mode: parse a file or stdin, printing events chunk by chunk so
 * that a pipe shows each event as soon as its blank line arrives. */
static int run_input(const struct options *opts, struct output *out) {
  static unsigned char chunk[SSECAT_CHUNK];
  bool is_stdin = strcmp(opts->input, "-") == 0;
  const char *name = is_stdin ? "stdin" : opts->input;
  int fd = is_stdin ? STDIN_FILENO : open(opts->input, O_RDONLY);
  if (fd < 0) return fail(SSECAT_IO, name, strerror(errno));

  int status = SSECAT_OK;
  ssekit_parser *parser = new_parser(opts, out);
  if (parser == NULL) {
    status = fail(SSECAT_INTERNAL, "parser", ssekit_strerror(SSEKIT_E_NOMEM));
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
      status = fail(SSECAT_IO, name, strerror(read_errno));
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

/* For --help and --version: a vanished reader is not an error either. */
static int finish_stdout(void) {
  errno = 0;
  if (fflush(stdout) != 0 && errno != EPIPE)
    return fail(SSECAT_IO, "stdout", strerror(errno != 0 ? errno : EIO));
  return SSECAT_OK;
}

int main(int argc, char **argv) {
  struct options opts;
  struct output out;

  /* A closed stdout must surface as EPIPE so that ssecat ends quietly. */
  signal(SIGPIPE, SIG_IGN);

  int status = parse_options(argc, argv, &opts);
  if (status != SSECAT_OK) return status;
  switch (opts.action) {
    case ACTION_HELP:
      print_help(stdout);
      return finish_stdout();
    case ACTION_VERSION:
      printf("ssecat %s\n", ssekit_version());
      return finish_stdout();
    case ACTION_RUN:
      break;
  }

  if (opts.url != NULL) {
    return usage_error(opts.url,
                       "reading from a URL is not supported yet; use --input");
  }
  output_init(&out, stdout, &opts);
  return run_input(&opts, &out);
}
