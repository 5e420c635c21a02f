/* The C API as a C11 program sees it: handles, codes, callbacks, encoder. */
#include <ssekit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (cond) {                                                          \
      ++passed;                                                          \
    } else {                                                             \
      ++failed;                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                    \
  } while (0)

#define FEED(p, lit) ssekit_parser_feed((p), (lit), sizeof(lit) - 1)

struct log {
  char text[4096];
  size_t len;
  int stop_after; /* stop when this many events were seen; 0 = never */
  int events;
};

static void append(struct log *l, const char *s, size_t n) {
  if (l->len + n < sizeof l->text) {
    memcpy(l->text + l->len, s, n);
    l->len += n;
    l->text[l->len] = '\0';
  }
}

static int on_event(const ssekit_event *ev, void *userdata) {
  struct log *l = userdata;
  append(l, "[", 1);
  append(l, ev->type, ev->type_len);
  append(l, "|", 1);
  append(l, ev->data, ev->data_len);
  append(l, "|", 1);
  append(l, ev->id, ev->id_len);
  append(l, "]", 1);
  ++l->events;
  return l->stop_after != 0 && l->events >= l->stop_after;
}

static int on_comment(const char *text, size_t len, void *userdata) {
  append(userdata, "(", 1);
  append(userdata, text, len);
  append(userdata, ")", 1);
  return 0;
}

static int on_retry(uint64_t ms, void *userdata) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "<%llu>", (unsigned long long)ms);
  append(userdata, buf, (size_t)n);
  return 0;
}

static ssekit_parser *logging_parser(struct log *l) {
  ssekit_parser *p = ssekit_parser_new();
  memset(l, 0, sizeof *l);
  ssekit_parser_set_userdata(p, l);
  ssekit_parser_on_event(p, on_event);
  ssekit_parser_on_comment(p, on_comment);
  ssekit_parser_on_retry(p, on_retry);
  return p;
}

static void test_version_and_errors(void) {
  int code;
  CHECK(strcmp(ssekit_version(), SSEKIT_VERSION_STRING) == 0);
  CHECK(ssekit_version_num() == SSEKIT_VERSION_NUM);
  CHECK(SSEKIT_VERSION_NUM == ((SSEKIT_VERSION_MAJOR << 16) |
                               (SSEKIT_VERSION_MINOR << 8) | SSEKIT_VERSION_PATCH));
  for (code = SSEKIT_E_EVENT_TIMEOUT; code <= SSEKIT_OK; ++code) {
    const char *s = ssekit_strerror(code);
    CHECK(s != NULL && *s != '\0' && strcmp(s, "unknown error code") != 0);
  }
  CHECK(strcmp(ssekit_strerror(-1000), "unknown error code") == 0);
  CHECK(strcmp(ssekit_strerror(1), "unknown error code") == 0);
}

static void test_null_handles(void) {
  size_t len = 99;
  CHECK(ssekit_parser_feed(NULL, "x", 1) == SSEKIT_E_INVALID);
  CHECK(ssekit_parser_finish(NULL) == SSEKIT_E_INVALID);
  CHECK(ssekit_parser_reset(NULL) == SSEKIT_E_INVALID);
  CHECK(ssekit_parser_set_userdata(NULL, NULL) == SSEKIT_E_INVALID);
  CHECK(ssekit_parser_on_event(NULL, on_event) == SSEKIT_E_INVALID);
  CHECK(ssekit_parser_set_max_line(NULL, 1) == SSEKIT_E_INVALID);
  CHECK(strcmp(ssekit_parser_last_event_id(NULL, &len), "") == 0 && len == 0);
  CHECK(strcmp(ssekit_parser_error_message(NULL), "") == 0);
  ssekit_parser_free(NULL); /* allowed */
  {
    ssekit_parser *p = ssekit_parser_new();
    CHECK(ssekit_parser_feed(p, NULL, 5) == SSEKIT_E_INVALID);
    CHECK(ssekit_parser_feed(p, NULL, 0) == SSEKIT_OK);
    ssekit_parser_free(p);
  }
}

static void test_parse_and_callbacks(void) {
  struct log l;
  ssekit_parser *p = logging_parser(&l);
  size_t len;
  const char *id;
  CHECK(FEED(p, ": hi\nretry: 250\nid: 1\nevent: a\ndata: x\ndata:  y\n\n") == SSEKIT_OK);
  CHECK(FEED(p, "data: \0z\n\ndata: tail") == SSEKIT_OK);
  CHECK(ssekit_parser_finish(p) == SSEKIT_OK);
  CHECK(l.len == strlen("(hi)<250>[a|x\n y|1][message|") + 2 + strlen("|1]"));
  CHECK(memcmp(l.text, "(hi)<250>[a|x\n y|1][message|\0z|1]", l.len) == 0);
  id = ssekit_parser_last_event_id(p, &len);
  CHECK(len == 1 && id[0] == '1');
  /* Finished: no more bytes until reset, and reset forgets the id. */
  CHECK(FEED(p, "data: late\n\n") == SSEKIT_E_STATE);
  CHECK(ssekit_parser_reset(p) == SSEKIT_OK);
  (void)ssekit_parser_last_event_id(p, &len);
  CHECK(len == 0);
  l.len = 0;
  CHECK(FEED(p, "data: again\n\n") == SSEKIT_OK);
  CHECK(strcmp(l.text, "[message|again|]") == 0);
  ssekit_parser_free(p);
}

static void test_callback_stops(void) {
  struct log l;
  ssekit_parser *p = logging_parser(&l);
  l.stop_after = 1;
  CHECK(FEED(p, "data: 1\n\ndata: 2\n\n") == SSEKIT_E_CALLBACK);
  CHECK(l.events == 1);
  CHECK(strstr(ssekit_parser_error_message(p), "callback") != NULL);
  /* The error sticks until reset. */
  CHECK(FEED(p, "data: 3\n\n") == SSEKIT_E_CALLBACK);
  CHECK(ssekit_parser_finish(p) == SSEKIT_E_CALLBACK);
  CHECK(l.events == 1);
  CHECK(ssekit_parser_reset(p) == SSEKIT_OK);
  CHECK(*ssekit_parser_error_message(p) == '\0');
  l.stop_after = 0;
  CHECK(FEED(p, "data: 4\n\n") == SSEKIT_OK && l.events == 2);
  ssekit_parser_free(p);
}

static void test_limits(void) {
  struct log l;
  ssekit_parser *p = logging_parser(&l);
  CHECK(ssekit_parser_set_max_line(p, 8) == SSEKIT_OK);
  /* The line limit is for lines other than data lines (those count toward
   * the event limit). */
  CHECK(FEED(p, "event: o\ndata: x\n\n") == SSEKIT_OK); /* 8 bytes: allowed */
  CHECK(FEED(p, "event: no\n\n") == SSEKIT_E_LINE_TOO_LONG);
  CHECK(strstr(ssekit_parser_error_message(p), "offset 18") != NULL);
  CHECK(l.events == 1);
  ssekit_parser_reset(p);
  ssekit_parser_set_max_line(p, 0);
  ssekit_parser_set_max_event(p, 3);
  CHECK(FEED(p, "data: a\ndata: b\n\n") == SSEKIT_OK); /* "a\nb" */
  CHECK(FEED(p, "data: ab\ndata: c\n\n") == SSEKIT_E_EVENT_TOO_LARGE);
  CHECK(l.events == 2);
  ssekit_parser_free(p);
}

static void test_encoder(void) {
  char buf[256];
  size_t n = 0;
  static const char want[] = "event: up\nid: 7\nretry: 100\ndata: a\ndata:\ndata:  b\n\n";
  CHECK(ssekit_encode_event("up", 2, "7", 1, "a\n\r\n b", 6, 100, NULL, 0, &n) ==
        SSEKIT_E_BUFFER_TOO_SMALL);
  CHECK(n == sizeof want - 1);
  memset(buf, 'Z', sizeof buf);
  CHECK(ssekit_encode_event("up", 2, "7", 1, "a\n\r\n b", 6, 100, buf, n - 1, &n) ==
        SSEKIT_E_BUFFER_TOO_SMALL);
  CHECK(buf[0] == 'Z'); /* untouched */
  CHECK(ssekit_encode_event("up", 2, "7", 1, "a\n\r\n b", 6, 100, buf, sizeof buf, &n) ==
        SSEKIT_OK);
  CHECK(n == sizeof want - 1 && memcmp(buf, want, n) == 0);

  CHECK(ssekit_encode_event(NULL, 0, NULL, 0, "", 0, -1, buf, sizeof buf, &n) == SSEKIT_OK);
  CHECK(n == 7 && memcmp(buf, "data:\n\n", 7) == 0);
  CHECK(ssekit_encode_event(NULL, 0, "", 0, NULL, 0, -1, buf, sizeof buf, &n) == SSEKIT_OK);
  CHECK(n == 5 && memcmp(buf, "id:\n\n", 5) == 0);

  CHECK(ssekit_encode_event("a\nb", 3, NULL, 0, "x", 1, -1, buf, sizeof buf, &n) ==
        SSEKIT_E_INVALID);
  CHECK(ssekit_encode_event(NULL, 0, "1\r", 2, "x", 1, -1, buf, sizeof buf, &n) ==
        SSEKIT_E_INVALID);
  CHECK(ssekit_encode_event(NULL, 0, "1\0", 2, "x", 1, -1, buf, sizeof buf, &n) ==
        SSEKIT_E_INVALID);
  CHECK(ssekit_encode_event(NULL, 0, NULL, 0, "x", 1, -1, buf, sizeof buf, NULL) ==
        SSEKIT_E_INVALID);
  CHECK(ssekit_encode_event(NULL, 3, NULL, 0, "x", 1, -1, buf, sizeof buf, &n) ==
        SSEKIT_E_INVALID);

  CHECK(ssekit_encode_comment("keep-alive", 10, buf, sizeof buf, &n) == SSEKIT_OK);
  CHECK(n == 13 && memcmp(buf, ": keep-alive\n", 13) == 0);
  CHECK(ssekit_encode_comment("a\nb", 3, buf, sizeof buf, &n) == SSEKIT_OK);
  CHECK(n == 8 && memcmp(buf, ": a\n: b\n", 8) == 0);
  CHECK(ssekit_encode_comment(NULL, 0, buf, sizeof buf, &n) == SSEKIT_OK);
  CHECK(n == 2 && memcmp(buf, ":\n", 2) == 0);
}

static void test_encoder_parser_agree(void) {
  char buf[256];
  size_t n;
  struct log l;
  ssekit_parser *p = logging_parser(&l);
  CHECK(ssekit_encode_event("t", 1, "9", 1, " lead\n\ntrail ", 13, 5, buf, sizeof buf, &n) ==
        SSEKIT_OK);
  CHECK(ssekit_parser_feed(p, buf, n) == SSEKIT_OK);
  CHECK(strcmp(l.text, "<5>[t| lead\n\ntrail |9]") == 0);
  ssekit_parser_free(p);
}

int main(void) {
  test_version_and_errors();
  test_null_handles();
  test_parse_and_callbacks();
  test_callback_stops();
  test_limits();
  test_encoder();
  test_encoder_parser_agree();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
