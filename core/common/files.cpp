#include "common/files.h"

#include "common/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace igpg {

namespace fs = std::filesystem;

static std::string errnoText() { return std::strerror(errno); }

std::ifstream openForReading(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ErrorKind::NotFound, path, "no such file");
  if (fs::is_directory(path, ec)) fail(ErrorKind::Io, path, "is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, path, "cannot open for reading: " + errnoText());
  return in;
}

std::vector<uint8_t> readFileBytes(const std::string& path) {
  std::ifstream in = openForReading(path);
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    fail(ErrorKind::Io, path, "read failed: " + errnoText());
  return bytes;
}

std::string readFileText(const std::string& path) {
  auto bytes = readFileBytes(path);
  return std::string(bytes.begin(), bytes.end());
}

static void fsyncDirectory(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

TemporaryFile::TemporaryFile(const std::string& finalPath) : finalPath_(finalPath) {
  const std::string dir = parentDirectory(finalPath);
  if (!dir.empty()) ensureDirectory(dir);
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  std::ostringstream name;
  name << finalPath << ".tmp-" << ::getpid() << "-" << counter++ << "-" << std::hex << rd();
  tempPath_ = name.str();
}

TemporaryFile::~TemporaryFile() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(tempPath_, ec);
  }
}

void TemporaryFile::commit() {
  int fd = ::open(tempPath_.c_str(), O_RDONLY);
  if (fd < 0) fail(ErrorKind::Io, tempPath_, "cannot reopen temporary file: " + errnoText());
  ::fsync(fd);
  ::close(fd);
  if (::rename(tempPath_.c_str(), finalPath_.c_str()) != 0)
    fail(ErrorKind::Io, finalPath_, "cannot move temporary file into place: " + errnoText());
  committed_ = true;
  fsyncDirectory(parentDirectory(finalPath_));
}

void writeFileAtomic(const std::string& path, const void* data, size_t size) {
  TemporaryFile tmp(path);
  int fd = ::open(tmp.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail(ErrorKind::Io, path, "cannot create: " + errnoText());
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = errnoText();
      ::close(fd);
      fail(ErrorKind::Io, path, "write failed: " + why);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::close(fd) != 0) fail(ErrorKind::Io, path, "close failed: " + errnoText());
  tmp.commit();
}

void writeFileAtomic(const std::string& path, const std::string& text) {
  writeFileAtomic(path, text.data(), text.size());
}

bool fileExists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

void ensureDirectory(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec && !fs::is_directory(path))
    fail(ErrorKind::Io, path, "cannot create folder: " + ec.message());
}

std::string parentDirectory(const std::string& path) {
  return fs::path(path).parent_path().string();
}

std::string fileExtensionLower(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

std::string defaultDataDirectory() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return (fs::path(xdg) / "igpg").string();
  const char* home = std::getenv("HOME");
  if (!home || !*home) fail(ErrorKind::Config, "HOME", "neither XDG_DATA_HOME nor HOME is set");
  return (fs::path(home) / ".local" / "share" / "igpg").string();
}

}  // namespace igpg
