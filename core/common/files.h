// File helpers shared by every writer: nothing is ever written in place. Data goes
// to a temporary file in the destination folder, is flushed, then renamed, so a
// crash or a Ctrl-C leaves either the old file or the new one, never half of one.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace igpg {

// Opens a file for binary reading; Error(NotFound) when missing, Error(Io) for a folder
// or a file that cannot be opened (with the system's reason).
std::ifstream openForReading(const std::string& path);

std::vector<uint8_t> readFileBytes(const std::string& path);
std::string readFileText(const std::string& path);

// Writes `size` bytes atomically (temp file + fsync + rename). Creates parent folders.
void writeFileAtomic(const std::string& path, const void* data, size_t size);
void writeFileAtomic(const std::string& path, const std::string& text);

// A temporary path next to `path` that the caller fills and then commits with
// commitTemporary (rename + fsync of the folder). Removed by the destructor unless committed.
class TemporaryFile {
 public:
  explicit TemporaryFile(const std::string& finalPath);
  ~TemporaryFile();
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  const std::string& path() const { return tempPath_; }
  void commit();

 private:
  std::string finalPath_;
  std::string tempPath_;
  bool committed_ = false;
};

bool fileExists(const std::string& path);
void ensureDirectory(const std::string& path);
std::string parentDirectory(const std::string& path);
std::string fileExtensionLower(const std::string& path);

// $XDG_DATA_HOME/igpg, falling back to ~/.local/share/igpg.
std::string defaultDataDirectory();

}  // namespace igpg
