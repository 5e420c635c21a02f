/* Built against an installed ssekit, the way a user's C program is: through
 * pkg-config or find_package. Exits non-zero if the library misbehaves. */
#include <ssekit.h>
#include <stdio.h>
#include <string.h>

struct seen {
  int events;
  char last[64];
};

static int on_event(const ssekit_event *ev, void *userdata) {
  struct seen *s = userdata;
  s->events++;
  if (ev->data_len < sizeof s->last) {
    memcpy(s->last, ev->data, ev->data_len);
    s->last[ev->data_len] = '\0';
  }
  return 0;
}

int main(void) {
  static const char stream[] = "id: 7\ndata: hello\n\nevent: x\ndata: a\ndata: b\n\n";
  struct seen s = {0, ""};
  ssekit_parser *p;
  size_t id_len;
  const char *id;

  if (ssekit_version_num() != SSEKIT_VERSION_NUM ||
      strcmp(ssekit_version(), SSEKIT_VERSION_STRING) != 0) {
    fprintf(stderr, "header %s, library %s\n", SSEKIT_VERSION_STRING,
            ssekit_version());
    return 1;
  }
  p = ssekit_parser_new();
  if (p == NULL) return 1;
  ssekit_parser_set_userdata(p, &s);
  ssekit_parser_on_event(p, on_event);
  if (ssekit_parser_feed(p, stream, sizeof stream - 1) != SSEKIT_OK) return 1;
  if (ssekit_parser_finish(p) != SSEKIT_OK) return 1;
  id = ssekit_parser_last_event_id(p, &id_len);
  if (s.events != 2 || strcmp(s.last, "a\nb") != 0 || id_len != 1 || id[0] != '7') {
    fprintf(stderr, "unexpected: %d events, last \"%s\"\n", s.events, s.last);
    return 1;
  }
  ssekit_parser_free(p);
  printf("consumer ok: ssekit %s\n", ssekit_version());
  return 0;
}
