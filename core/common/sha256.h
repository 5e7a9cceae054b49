// SHA-256 for the content-addressed blob store and dataset content hashes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace igpg {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(const std::string& text) { update(text.data(), text.size()); }
  std::string hexDigest();  // finalizes; the object must not be updated afterwards

 private:
  void compress(const uint8_t* block);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t bufferSize_ = 0;
  uint64_t totalBytes_ = 0;
};

std::string sha256Hex(const void* data, size_t size);
std::string sha256Hex(const std::string& text);

}  // namespace igpg
