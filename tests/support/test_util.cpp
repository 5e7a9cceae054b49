#include "test_util.h"

#include "test_paths.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace igpg_test {

namespace fs = std::filesystem;

ScratchDir::ScratchDir(const std::string& label) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  std::ostringstream name;
  name << kScratchDir << "/" << label << "-" << ::getpid() << "-" << counter++ << "-" << std::hex << rd();
  path_ = name.str();
  fs::create_directories(path_);
}

// Removal with POSIX calls, not std::filesystem::remove_all: the pip LibTorch's libtorch.so
// exports a remove_all of its own, the test binaries bind to it, and it crashed (a call
// through a null pointer) on the accelerator machine.
static int removeEntry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }

ScratchDir::~ScratchDir() {
  if (std::getenv("IGPG_KEEP_SCRATCH")) return;
  std::error_code ec;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
  for (auto& entry : fs::recursive_directory_iterator(path_, ec))
    if (entry.is_directory(ec)) fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add, ec);
  ::nftw(path_.c_str(), removeEntry, 16, FTW_DEPTH | FTW_PHYS);
}

static std::string drain(int fd) {
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) text.append(buf, size_t(n));
    else if (n == 0 || errno != EINTR) break;
  }
  return text;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env)
    : io_("proc") {
  // stdout/stderr go to temporary files so that large outputs cannot dead-lock on pipes.
  const std::string outPath = io_.file("out"), errPath = io_.file("err");
  // The environment: this process's, with the extra "K=V" entries replacing or adding,
  // and a bare "K" removing K.
  std::vector<std::string> entries;
  for (char** e = environ; *e; ++e) entries.emplace_back(*e);
  for (const auto& kv : env) {
    const auto eq = kv.find('=');
    const std::string key = eq == std::string::npos ? kv + "=" : kv.substr(0, eq + 1);
    auto same = std::find_if(entries.begin(), entries.end(), [&](const std::string& e) { return e.rfind(key, 0) == 0; });
    if (eq == std::string::npos) {
      if (same != entries.end()) entries.erase(same);
    } else if (same != entries.end()) {
      *same = kv;
    } else {
      entries.push_back(kv);
    }
  }
  std::vector<char*> envp, args;
  for (auto& e : entries) envp.push_back(e.data());
  envp.push_back(nullptr);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // posix_spawn, not fork: fork runs the pthread_atfork handlers in this process, and
  // OpenBLAS's handler tears down its thread pool under any thread that is inside a
  // matrix product at that moment (a studio job, in the UI tests), which then spins
  // forever waiting for workers that are gone.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    // Like a shell: a program that cannot be started exits 127.
    reaped_ = true;
    status_ = 127 << 8;
  }
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
}

void ChildProcess::signal(int sig) {
  if (!reaped_) ::kill(pid_, sig);
}

bool ChildProcess::running() {
  if (!reaped_ && ::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

ProcessResult ChildProcess::wait(double timeoutSeconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeoutSeconds);
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      reaped_ = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ProcessResult result;
  if (WIFEXITED(status_)) result.exitCode = WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) result.signal = WTERMSIG(status_);
  int fo = ::open(io_.file("out").c_str(), O_RDONLY), fe = ::open(io_.file("err").c_str(), O_RDONLY);
  result.out = drain(fo);
  result.err = drain(fe);
  ::close(fo);
  ::close(fe);
  return result;
}

ProcessResult runProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         double timeoutSeconds) {
  return ChildProcess(argv, env).wait(timeoutSeconds);
}

std::string binary(const std::string& name) { return std::string(kBinDir) + "/" + name; }
std::string fixture(const std::string& name) { return std::string(kFixturesDir) + "/" + name; }

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

std::string readBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace igpg_test
