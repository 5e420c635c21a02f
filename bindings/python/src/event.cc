// ServerSentEvent: immutable (event, data, id, retry), as httpx-sse names them.
#include "event.h"

#include <structmember.h>

namespace ssekit_py {
namespace {

struct EventObject {
  PyObject_HEAD
  PyObject *event;
  PyObject *data;
  PyObject *id;
  PyObject *retry;  // an int or None
};

PyObject *g_message = nullptr;  // "message", the default type
PyObject *g_empty = nullptr;    // ""

void event_dealloc(PyObject *self) {
  auto *e = reinterpret_cast<EventObject *>(self);
  Py_XDECREF(e->event);
  Py_XDECREF(e->data);
  Py_XDECREF(e->id);
  Py_XDECREF(e->retry);
  PyObject_Free(self);
}

PyObject *event_new(PyTypeObject *, PyObject *args, PyObject *kwargs) {
  static const char *kwlist[] = {"event", "data", "id", "retry", nullptr};
  PyObject *event = g_message;
  PyObject *data = g_empty;
  PyObject *id = g_empty;
  PyObject *retry = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|UUUO:ServerSentEvent",
                                   const_cast<char **>(kwlist), &event, &data, &id, &retry))
    return nullptr;
  if (retry != Py_None && !PyLong_Check(retry)) {
    PyErr_SetString(PyExc_TypeError, "ServerSentEvent retry must be an int or None");
    return nullptr;
  }
  return new_event(event, data, id, retry);
}

PyObject *event_repr(PyObject *self) {
  auto *e = reinterpret_cast<EventObject *>(self);
  return PyUnicode_FromFormat("ServerSentEvent(event=%R, data=%R, id=%R, retry=%R)",
                              e->event, e->data, e->id, e->retry);
}

PyObject *as_tuple(EventObject *e) {
  return PyTuple_Pack(4, e->event, e->data, e->id, e->retry);
}

PyObject *event_richcompare(PyObject *a, PyObject *b, int op);

Py_hash_t event_hash(PyObject *self) {
  PyObject *t = as_tuple(reinterpret_cast<EventObject *>(self));
  if (t == nullptr) return -1;
  const Py_hash_t h = PyObject_Hash(t);
  Py_DECREF(t);
  return h;
}

PyObject *event_json(PyObject *self, PyObject *) {
  static PyObject *loads = nullptr;
  if (loads == nullptr) {
    PyObject *json = PyImport_ImportModule("json");
    if (json == nullptr) return nullptr;
    loads = PyObject_GetAttrString(json, "loads");
    Py_DECREF(json);
    if (loads == nullptr) return nullptr;
  }
  return PyObject_CallFunctionObjArgs(loads, reinterpret_cast<EventObject *>(self)->data, nullptr);
}

PyObject *event_reduce(PyObject *self, PyObject *) {
  PyObject *t = as_tuple(reinterpret_cast<EventObject *>(self));
  if (t == nullptr) return nullptr;
  PyObject *r = Py_BuildValue("(ON)", reinterpret_cast<PyObject *>(Py_TYPE(self)), t);
  return r;
}

PyMethodDef event_methods[] = {
    {"json", event_json, METH_NOARGS,
     "json(self) -> Any\n--\n\nThe data parsed as JSON (json.loads)."},
    {"__reduce__", event_reduce, METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr}};

PyMemberDef event_members[] = {
    {"event", T_OBJECT_EX, offsetof(EventObject, event), READONLY,
     "The event type: the last `event` field, or \"message\"."},
    {"data", T_OBJECT_EX, offsetof(EventObject, data), READONLY,
     "The data: the `data` field values joined by \"\\n\"."},
    {"id", T_OBJECT_EX, offsetof(EventObject, id), READONLY,
     "The stream's last event ID when the event was dispatched (\"\" for none)."},
    {"retry", T_OBJECT_EX, offsetof(EventObject, retry), READONLY,
     "The reconnection time in milliseconds that a `retry` field set since the "
     "previous event, or None."},
    {nullptr, 0, 0, 0, nullptr}};

PyTypeObject EventType = {PyVarObject_HEAD_INIT(nullptr, 0)};

PyObject *event_richcompare(PyObject *a, PyObject *b, int op) {
  if ((op != Py_EQ && op != Py_NE) || Py_TYPE(b) != &EventType || Py_TYPE(a) != &EventType)
    Py_RETURN_NOTIMPLEMENTED;
  PyObject *ta = as_tuple(reinterpret_cast<EventObject *>(a));
  if (ta == nullptr) return nullptr;
  PyObject *tb = as_tuple(reinterpret_cast<EventObject *>(b));
  if (tb == nullptr) {
    Py_DECREF(ta);
    return nullptr;
  }
  PyObject *r = PyObject_RichCompare(ta, tb, op);
  Py_DECREF(ta);
  Py_DECREF(tb);
  return r;
}

}  // namespace

bool register_event_type(PyObject *module) {
  g_message = PyUnicode_InternFromString("message");
  g_empty = PyUnicode_FromStringAndSize("", 0);
  if (g_message == nullptr || g_empty == nullptr) return false;
  EventType.tp_name = "ssekit.ServerSentEvent";
  EventType.tp_basicsize = sizeof(EventObject);
  EventType.tp_dealloc = event_dealloc;
  EventType.tp_repr = event_repr;
  EventType.tp_hash = event_hash;
  EventType.tp_flags = Py_TPFLAGS_DEFAULT;
  EventType.tp_doc =
      "ServerSentEvent(event='message', data='', id='', retry=None)\n--\n\n"
      "One dispatched event. Immutable; compares and hashes by its fields.";
  EventType.tp_richcompare = event_richcompare;
  EventType.tp_methods = event_methods;
  EventType.tp_members = event_members;
  EventType.tp_new = event_new;
  if (PyType_Ready(&EventType) < 0) return false;
  PyObject *match_args = Py_BuildValue("(ssss)", "event", "data", "id", "retry");
  if (match_args == nullptr ||
      PyDict_SetItemString(EventType.tp_dict, "__match_args__", match_args) < 0) {
    Py_XDECREF(match_args);
    return false;
  }
  Py_DECREF(match_args);
  PyType_Modified(&EventType);
  Py_INCREF(&EventType);
  if (PyModule_AddObject(module, "ServerSentEvent", reinterpret_cast<PyObject *>(&EventType)) < 0) {
    Py_DECREF(&EventType);
    return false;
  }
  return true;
}

bool is_event(PyObject *o) { return Py_TYPE(o) == &EventType; }

PyObject *new_event(PyObject *type, PyObject *data, PyObject *id, PyObject *retry) {
  EventObject *e = PyObject_New(EventObject, &EventType);
  if (e == nullptr) return nullptr;
  Py_INCREF(type);
  Py_INCREF(data);
  Py_INCREF(id);
  if (retry == nullptr) retry = Py_None;
  Py_INCREF(retry);
  e->event = type;
  e->data = data;
  e->id = id;
  e->retry = retry;
  return reinterpret_cast<PyObject *>(e);
}

PyObject *str_from(std::string_view s) {
  // The core replaces invalid UTF-8 with U+FFFD, so this never replaces.
  return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
}

namespace {

// Whether the cached str o holds exactly the UTF-8 bytes s.
bool same(PyObject *o, std::string_view s) {
  if (o == nullptr) return false;
  if (PyUnicode_IS_COMPACT_ASCII(o)) {
    return static_cast<size_t>(PyUnicode_GET_LENGTH(o)) == s.size() &&
           std::string_view(static_cast<const char *>(PyUnicode_DATA(o)), s.size()) == s;
  }
  Py_ssize_t n = 0;
  const char *u = PyUnicode_AsUTF8AndSize(o, &n);
  return u != nullptr && std::string_view(u, static_cast<size_t>(n)) == s;
}

bool refresh(PyObject *&cache, std::string_view s) {
  if (same(cache, s)) return true;
  PyObject *fresh = s == "message" ? (Py_INCREF(g_message), g_message) : str_from(s);
  if (fresh == nullptr) return false;
  Py_XSETREF(cache, fresh);
  return true;
}

}  // namespace

EventBuilder::EventBuilder() = default;

EventBuilder::~EventBuilder() { clear(); }

void EventBuilder::clear() {
  Py_CLEAR(type_);
  Py_CLEAR(id_);
  Py_CLEAR(retry_);
}

void EventBuilder::set_pending_retry(unsigned long long ms) {
  PyObject *r = PyLong_FromUnsignedLongLong(ms);
  if (r == nullptr) {
    PyErr_Clear();  // an unusual number is not worth losing the stream for
    return;
  }
  Py_XSETREF(retry_, r);
}

PyObject *EventBuilder::build(std::string_view type, std::string_view data, std::string_view id) {
  if (!refresh(type_, type) || !refresh(id_, id)) return nullptr;
  PyObject *d = str_from(data);
  if (d == nullptr) return nullptr;
  PyObject *e = new_event(type_, d, id_, retry_);
  Py_DECREF(d);
  if (e != nullptr) Py_CLEAR(retry_);
  return e;
}

}  // namespace ssekit_py
