// Typed errors for every file and user boundary. Each carries where the problem is
// (a file, a tensor, a field) so that a single line tells the user what to fix.
#pragma once

#include <stdexcept>
#include <string>

namespace igpg {

enum class ErrorKind {
  Usage,        // bad command-line usage or option value (CLI exit status 2)
  NotFound,     // a file, model, run or dataset that does not exist
  Io,           // a file that cannot be read or written
  Format,       // a file whose content is malformed or unsupported
  Unsafe,       // a file that asks for something we refuse to do (e.g. arbitrary pickle globals)
  Mismatch,     // shapes, architectures or versions that do not fit together
  Config,       // an invalid recipe, spec or option struct
  Catalogue,    // SQLite errors, locked or read-only catalogues
  Cancelled,    // the user cancelled a long job
  Device,       // CUDA asked for and not available, or similar
  Internal,     // a bug: an invariant that should have held did not
};

const char* errorKindName(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  // `where` names the place (file path, "tensor conv1.weight", "field blocks");
  // what() is "where: message", or just the message when where is empty.
  Error(ErrorKind kind, std::string where, const std::string& message);

  ErrorKind kind() const { return kind_; }
  const std::string& where() const { return where_; }
  const std::string& message() const { return message_; }

 private:
  ErrorKind kind_;
  std::string where_;
  std::string message_;
};

[[noreturn]] void fail(ErrorKind kind, const std::string& where, const std::string& message);

// Re-throws `e` with `outer` (for example the file a tensor came from) prepended to where().
[[noreturn]] void rethrowWithContext(const Error& e, const std::string& outer);

}  // namespace igpg
