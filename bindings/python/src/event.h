// ServerSentEvent, the one object made per event: a plain CPython type
// (not a pybind11 class) so that building one costs an allocation and four
// references. Every function here runs with the GIL held.
#ifndef SSEKIT_PYTHON_EVENT_H
#define SSEKIT_PYTHON_EVENT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstddef>
#include <string_view>

namespace ssekit_py {

// Adds the type to the module as ServerSentEvent. Returns false with a
// Python error set on failure.
bool register_event_type(PyObject *module);

// A new event; steals nothing (every argument is borrowed). retry may be
// nullptr for None. Returns nullptr with a Python error set on failure.
PyObject *new_event(PyObject *type, PyObject *data, PyObject *id, PyObject *retry);

bool is_event(PyObject *o);

// Turns a run of events' strings into Python objects, reusing the previous
// type and id objects while they repeat (they nearly always do).
class EventBuilder {
 public:
  EventBuilder();
  ~EventBuilder();
  EventBuilder(const EventBuilder &) = delete;
  EventBuilder &operator=(const EventBuilder &) = delete;

  // The next event; nullptr with a Python error set on failure.
  PyObject *build(std::string_view type, std::string_view data, std::string_view id);
  // The reconnection time to attach to the next event built (the `retry`
  // field of its block).
  void set_pending_retry(unsigned long long ms);
  void clear();

 private:
  PyObject *type_ = nullptr;
  PyObject *id_ = nullptr;
  PyObject *retry_ = nullptr;
};

// A str from UTF-8 that the core already made valid; nullptr on error.
PyObject *str_from(std::string_view s);

}  // namespace ssekit_py

#endif  // SSEKIT_PYTHON_EVENT_H
