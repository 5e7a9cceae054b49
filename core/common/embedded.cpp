#include "common/embedded.h"

#include <algorithm>

namespace igpg {

std::optional<std::string> embeddedFile(const std::string& name) {
  for (const auto& f : embeddedFiles())
    if (name == f.name) return std::string(f.data, f.size);
  return std::nullopt;
}

std::vector<std::string> embeddedFilesUnder(const std::string& prefix) {
  std::vector<std::string> names;
  for (const auto& f : embeddedFiles()) {
    std::string n = f.name;
    if (n.compare(0, prefix.size(), prefix) == 0) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace igpg
