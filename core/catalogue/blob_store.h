// The content-addressed store of weight files beside the catalogue database:
// <dir>/ab/abcdef....safetensors, named by the SHA-256 of the file's bytes. Files are
// written whole (temporary file + rename) and never changed afterwards; identical weights
// are stored once. Which blobs are still referenced, and when one may be deleted, is the
// catalogue's business (catalogue.cpp), not the store's.
#pragma once

#include "formats/state_dict.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace igpg {

class BlobStore {
 public:
  explicit BlobStore(std::string directory) : directory_(std::move(directory)) {}

  const std::string& directory() const { return directory_; }
  std::string pathFor(const std::string& sha256) const;

  struct Stored {
    std::string sha256;
    bool created = false;  // false: an identical blob was already there
  };
  // Encodes the weights as safetensors and writes them unless the blob exists.
  Stored store(const StateDict& weights) const;

  bool exists(const std::string& sha256) const;
  // Reads a blob, checking that its bytes still hash to its name. `owner` ("model 12")
  // goes into error messages.
  StateDict load(const std::string& sha256, const std::string& owner) const;
  // Empty when the blob is present and intact, else what is wrong with it.
  std::string verify(const std::string& sha256) const;
  // Deletes a blob file; true if there was one.
  bool remove(const std::string& sha256) const;

  struct File {
    std::string path;
    std::string sha256;  // empty for a temporary left by an interrupted write
    uint64_t size = 0;
    std::filesystem::file_time_type modified;
  };
  // Blob files and leftover temporaries; anything else in the folder is not ours and is skipped.
  std::vector<File> files() const;

  static bool isSha256(const std::string& text);

 private:
  std::string directory_;
};

}  // namespace igpg
