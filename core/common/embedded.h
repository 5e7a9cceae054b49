// Files compiled into the binary from zoo_db/ (schema migrations, recipes).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace igpg {

struct EmbeddedFile {
  const char* name;  // path relative to zoo_db/, e.g. "migrations/0001_initial.sql"
  const char* data;
  size_t size;
};

const std::vector<EmbeddedFile>& embeddedFiles();

std::optional<std::string> embeddedFile(const std::string& name);

// Names under a folder prefix ("recipes/"), sorted.
std::vector<std::string> embeddedFilesUnder(const std::string& prefix);

}  // namespace igpg
