// A helper server as a child process that cannot outlive the test, with a
// temporary directory of its own for its ready file, log or certificates.

#ifndef SSEKIT_TESTS_SUPPORT_CHILD_PROCESS_H
#define SSEKIT_TESTS_SUPPORT_CHILD_PROCESS_H

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace ssekit_test_support {

// A fresh directory under $TMPDIR (or /tmp) named prefix-XXXXXX, removed
// with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return error_.empty(); }
  // "mkdtemp: <reason>" when the directory could not be made.
  const std::string& error() const { return error_; }
  // Empty when !ok().
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string error_;
};

struct SpawnOptions {
  // Where standard output goes; the file is created or truncated.
  std::string stdout_path = "/dev/null";
  // Send standard error there too, instead of sharing this process's.
  bool merge_stderr = false;
  // Have Stop() send SIGTERM as well as closing standard input, for a child
  // that finishes open streams only when told to.
  bool terminate_on_stop = false;
};

class ChildProcess {
 public:
  enum class WaitResult { kReady, kExited, kTimedOut };

  // Makes the directory (see TempDir) now; Spawn() reports if that failed.
  explicit ChildProcess(const std::string& dir_prefix) : dir_(dir_prefix) {}
  // Stops the child before its directory is removed.
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The child's directory; empty if it could not be made.
  const std::string& dir() const { return dir_.path(); }

  // Runs args[0] (a path, not searched in PATH) with argv args. Its standard
  // input is a pipe whose write end only this process holds, so a child that
  // exits at end of input dies with the test however the test ends. Returns
  // "" on success, else "mkdtemp: <reason>", "pipe2: <reason>" or
  // "posix_spawn <path>: <reason>".
  std::string Spawn(const std::vector<std::string>& args,
                    const SpawnOptions& options);

  // Polls until `path` exists, the child exits (its wait status goes to
  // *wait_status) or `timeout` passes.
  WaitResult WaitForFile(const std::string& path,
                         std::chrono::steady_clock::duration timeout,
                         int* wait_status);

  // Closes standard input (and sends SIGTERM if asked at spawn), waits up to
  // five seconds for the child to exit, then kills it. Safe to repeat.
  void Stop();

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  bool terminate_on_stop_ = false;
};

// The first line of a text file, or "" if it cannot be read.
std::string ReadFirstLine(const std::string& path);

}  // namespace ssekit_test_support

#endif  // SSEKIT_TESTS_SUPPORT_CHILD_PROCESS_H
