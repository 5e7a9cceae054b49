#include "catalogue/blob_store.h"

#include "common/error.h"
#include "common/files.h"
#include "common/sha256.h"
#include "formats/safetensors.h"

namespace igpg {

namespace fs = std::filesystem;

namespace {
const std::string kBlobExtension = ".safetensors";
const std::string kTemporaryMarker = kBlobExtension + ".tmp-";  // see TemporaryFile
}

bool BlobStore::isSha256(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string BlobStore::pathFor(const std::string& sha256) const {
  if (!isSha256(sha256)) fail(ErrorKind::Internal, "blob " + sha256, "not a lowercase hex SHA-256");
  return directory_ + "/" + sha256.substr(0, 2) + "/" + sha256 + kBlobExtension;
}

BlobStore::Stored BlobStore::store(const StateDict& weights) const {
  const std::vector<uint8_t> bytes = encodeSafetensors(weights);
  Stored s;
  s.sha256 = sha256Hex(bytes.data(), bytes.size());
  const std::string path = pathFor(s.sha256);
  if (!fileExists(path)) {
    writeFileAtomic(path, bytes.data(), bytes.size());
    s.created = true;
  }
  return s;
}

bool BlobStore::exists(const std::string& sha256) const { return fileExists(pathFor(sha256)); }

StateDict BlobStore::load(const std::string& sha256, const std::string& owner) const {
  const std::string path = pathFor(sha256);
  if (!fileExists(path)) fail(ErrorKind::NotFound, path, owner + ": its weight blob is missing from the blob store");
  const std::vector<uint8_t> bytes = readFileBytes(path);
  const std::string actual = sha256Hex(bytes.data(), bytes.size());
  if (actual != sha256)
    fail(ErrorKind::Catalogue, path, owner + ": the weight blob is corrupted (its content hashes to " + actual + ")");
  return decodeSafetensors(bytes.data(), bytes.size(), path);
}

std::string BlobStore::verify(const std::string& sha256) const {
  const std::string path = pathFor(sha256);
  if (!fileExists(path)) return "missing blob " + path;
  std::vector<uint8_t> bytes;
  try {
    bytes = readFileBytes(path);
  } catch (const Error& e) {
    return e.what();
  }
  const std::string actual = sha256Hex(bytes.data(), bytes.size());
  if (actual != sha256) return "corrupted blob " + path + " (its content hashes to " + actual + ")";
  return {};
}

bool BlobStore::remove(const std::string& sha256) const {
  std::error_code ec;
  const bool removed = fs::remove(pathFor(sha256), ec);
  if (ec) fail(ErrorKind::Io, pathFor(sha256), "cannot delete: " + ec.message());
  return removed;
}

std::vector<BlobStore::File> BlobStore::files() const {
  std::vector<File> out;
  std::error_code ec;
  if (!fs::is_directory(directory_, ec)) return out;
  for (const auto& shard : fs::directory_iterator(directory_, ec)) {
    if (!shard.is_directory(ec)) continue;
    for (const auto& entry : fs::directory_iterator(shard.path(), ec)) {
      if (!entry.is_regular_file(ec)) continue;
      const std::string name = entry.path().filename().string();
      File f;
      f.path = entry.path().string();
      const std::string stem = name.substr(0, 64);
      if (name.size() == 64 + kBlobExtension.size() && name.compare(64, std::string::npos, kBlobExtension) == 0 &&
          isSha256(stem) && shard.path().filename() == stem.substr(0, 2)) {
        f.sha256 = stem;
      } else if (name.find(kTemporaryMarker) == std::string::npos) {
        continue;
      }
      f.size = entry.file_size(ec);
      f.modified = entry.last_write_time(ec);
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace igpg
