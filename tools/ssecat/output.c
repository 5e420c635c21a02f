#define _POSIX_C_SOURCE 200809L

#include "output.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "ssecat.h"

#define OUTPUT_BUFFER ((size_t)64 * 1024)

void output_init(struct output *out, FILE *fp, bool json,
                 uint64_t max_events) {
  static char buffer[OUTPUT_BUFFER];
  memset(out, 0, sizeof *out);
  out->fp = fp;
  out->json = json;
  out->max_events = max_events;
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

void output_event(struct output *out, const ssekit_event *ev) {
  ++out->events;
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

void output_retry(struct output *out, uint64_t retry_ms) {
  char line[64];
  int len = snprintf(line, sizeof line,
                     out->json ? "{\"retry\": %" PRIu64 "}\n"
                               : "retry: %" PRIu64 " ms\n\n",
                     retry_ms);
  if (len > 0) out_bytes(out, line, (size_t)len);
}

bool output_done(const struct output *out) {
  return out->max_events != 0 && out->events >= out->max_events;
}

bool output_flush(struct output *out, int *status) {
  if (out->pending && out->error == 0) {
    errno = 0;
    if (fflush(out->fp) != 0) out->error = errno != 0 ? errno : EIO;
  }
  out->pending = false;
  if (out->error == 0) return true;
  *status = out->error == EPIPE
                ? SSECAT_OK
                : ssecat_fail(SSECAT_IO, "stdout", strerror(out->error));
  return false;
}
