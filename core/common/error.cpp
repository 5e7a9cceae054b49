#include "common/error.h"

namespace igpg {

const char* errorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Usage: return "usage";
    case ErrorKind::NotFound: return "not found";
    case ErrorKind::Io: return "i/o";
    case ErrorKind::Format: return "format";
    case ErrorKind::Unsafe: return "unsafe";
    case ErrorKind::Mismatch: return "mismatch";
    case ErrorKind::Config: return "config";
    case ErrorKind::Catalogue: return "catalogue";
    case ErrorKind::Cancelled: return "cancelled";
    case ErrorKind::Device: return "device";
    case ErrorKind::Internal: return "internal";
  }
  return "unknown";
}

static std::string joinWhere(const std::string& where, const std::string& message) {
  return where.empty() ? message : where + ": " + message;
}

Error::Error(ErrorKind kind, std::string where, const std::string& message)
    : std::runtime_error(joinWhere(where, message)),
      kind_(kind),
      where_(std::move(where)),
      message_(message) {}

void fail(ErrorKind kind, const std::string& where, const std::string& message) {
  throw Error(kind, where, message);
}

void rethrowWithContext(const Error& e, const std::string& outer) {
  if (e.where().empty()) throw Error(e.kind(), outer, e.message());
  throw Error(e.kind(), outer + ": " + e.where(), e.message());
}

}  // namespace igpg
