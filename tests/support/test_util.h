// Helpers shared by the tests; plain C++ so the core tests build without Qt.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace igpg_test {

// A fresh folder under the build tree's tests/scratch, removed when the object dies
// unless IGPG_KEEP_SCRATCH is set (handy when a test fails).
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& label = "t");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct ProcessResult {
  int exitCode = -1;       // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs a program with arguments (no shell), optional extra environment "K=V" entries
// (a bare "K" removes K).
ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {}, double timeoutSeconds = 120);

// A program started without waiting for it, for tests that run several at once or
// signal one part-way. The destructor kills and reaps it if it still runs.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  void signal(int sig);
  bool running();
  // Waits for the exit (SIGKILL after the timeout) and collects the output.
  ProcessResult wait(double timeoutSeconds = 120);

 private:
  ScratchDir io_;
  int pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

// Path of a binary built into build/bin (e.g. "igpg").
std::string binary(const std::string& name);
std::string fixture(const std::string& name);

void writeBytes(const std::string& path, const std::string& bytes);
std::string readBytes(const std::string& path);

// The exception of type E that `call` throws, to check its kind and message; a call
// that throws none fails the test with std::runtime_error.
template <typename E, typename F>
E thrownBy(F&& call) {
  try {
    call();
  } catch (const E& e) {
    return e;
  }
  throw std::runtime_error("expected an exception, none was thrown");
}

}  // namespace igpg_test
