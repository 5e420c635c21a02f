// The private native module, ssekit._ssekit: thin wrappers over the C API.
// The public API is the Python package around it.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "event.h"
#include "ssekit.h"

namespace py = pybind11;

namespace ssekit_py {

void register_parser(py::module_ &m);
void register_stream(py::module_ &m);

namespace {

// One event as text/event-stream bytes; ValueError for a field that cannot
// be written (a line break in the type or id).
py::bytes encode_event(const std::optional<std::string> &data, const std::string &event,
                       const std::optional<std::string> &id, int64_t retry) {
  const char *d = data ? data->data() : nullptr;
  const size_t dlen = data ? data->size() : 0;
  const char *i = id ? id->data() : nullptr;
  const size_t ilen = id ? id->size() : 0;
  size_t need = 0;
  int rc = ssekit_encode_event(event.data(), event.size(), i, ilen, d, dlen, retry, nullptr, 0, &need);
  if (rc == SSEKIT_E_INVALID) throw py::value_error("event type and id must not hold CR, LF (or NUL in an id)");
  std::string out(need, '\0');
  rc = ssekit_encode_event(event.data(), event.size(), i, ilen, d, dlen, retry, out.data(),
                           out.size(), &need);
  if (rc != SSEKIT_OK) throw py::value_error(ssekit_strerror(rc));
  out.resize(need);
  return py::bytes(out);
}

py::bytes encode_comment(const std::string &text) {
  size_t need = 0;
  int rc = ssekit_encode_comment(text.data(), text.size(), nullptr, 0, &need);
  if (rc == SSEKIT_E_INVALID) throw py::value_error("comment cannot be encoded");
  std::string out(need, '\0');
  rc = ssekit_encode_comment(text.data(), text.size(), out.data(), out.size(), &need);
  if (rc != SSEKIT_OK) throw py::value_error(ssekit_strerror(rc));
  out.resize(need);
  return py::bytes(out);
}

}  // namespace
}  // namespace ssekit_py

PYBIND11_MODULE(_ssekit, m) {
  // The core is linked in, so this only fails for a broken build; checked
  // anyway, as the ABI policy asks of every user of the C API.
  if (ssekit_version_num() < SSEKIT_VERSION_NUM)
    throw py::import_error(std::string("ssekit: the C library is ") + ssekit_version() +
                           ", older than the headers this module was built with");
  m.doc() = "ssekit's native core (private: use the ssekit package)";
  if (!ssekit_py::register_event_type(m.ptr())) throw py::error_already_set();
  ssekit_py::register_parser(m);
  ssekit_py::register_stream(m);
  m.def("encode_event", &ssekit_py::encode_event, py::arg("data"), py::arg("event"),
        py::arg("id"), py::arg("retry"));
  m.def("encode_comment", &ssekit_py::encode_comment);
  m.def("strerror", [](int code) { return std::string(ssekit_strerror(code)); });
  m.attr("version") = ssekit_version();
}
