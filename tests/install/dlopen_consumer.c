/* Loads libssekit.so.0 at run time, as FFI users and plugins do, and drives
 * the parser through dlsym'd functions only. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <ssekit.h>

typedef ssekit_parser *(*new_fn)(void);
typedef void (*free_fn)(ssekit_parser *);
typedef int (*on_event_fn)(ssekit_parser *, ssekit_event_cb);
typedef int (*userdata_fn)(ssekit_parser *, void *);
typedef int (*feed_fn)(ssekit_parser *, const void *, size_t);
typedef int (*finish_fn)(ssekit_parser *);
typedef const char *(*version_fn)(void);

static int on_event(const ssekit_event *ev, void *userdata) {
  int *count = userdata;
  if (ev->data_len == 2 && memcmp(ev->data, "hi", 2) == 0) ++*count;
  return 0;
}

#define LOAD(type, var, name)                                    \
  type var;                                                      \
  *(void **)(&var) = dlsym(lib, name);                           \
  if (var == NULL) {                                             \
    fprintf(stderr, "dlsym %s: %s\n", name, dlerror());          \
    return 1;                                                    \
  }

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "libssekit.so.0";
  void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  int count = 0;
  ssekit_parser *p;
  if (lib == NULL) {
    fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
    return 1;
  }
  {
    LOAD(new_fn, parser_new, "ssekit_parser_new")
    LOAD(free_fn, parser_free, "ssekit_parser_free")
    LOAD(on_event_fn, parser_on_event, "ssekit_parser_on_event")
    LOAD(userdata_fn, parser_set_userdata, "ssekit_parser_set_userdata")
    LOAD(feed_fn, parser_feed, "ssekit_parser_feed")
    LOAD(finish_fn, parser_finish, "ssekit_parser_finish")
    LOAD(version_fn, version, "ssekit_version")

    /* The C++ core stays hidden: only the C API is exported. */
    if (dlsym(lib, "_ZN6ssekit6Parser4feedEPKcm") != NULL) {
      fprintf(stderr, "internal C++ symbol is exported\n");
      return 1;
    }
    p = parser_new();
    parser_set_userdata(p, &count);
    parser_on_event(p, on_event);
    if (parser_feed(p, "data: hi\r\n\r\ndata: hi\n\n", 22) != SSEKIT_OK ||
        parser_finish(p) != SSEKIT_OK || count != 2) {
      fprintf(stderr, "parsed %d events, want 2\n", count);
      return 1;
    }
    parser_free(p);
    printf("dlopen ok: ssekit %s\n", version());
  }
  dlclose(lib);
  return 0;
}
