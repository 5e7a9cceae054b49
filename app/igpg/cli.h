// The igpg command framework: subcommands register a spec (options, positionals, help)
// and a run function; the parser, --help, --json, the global options and the exit
// statuses (0 ok, 2 usage, 1 anything else) live here once.
#pragma once

#include "common/error.h"
#include "jobs/progress.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace igpg {
struct SamplingOptions;
struct TokenizerConfig;
}

namespace igpg::cli {

struct OptionSpec {
  std::string name;       // without dashes: "arch"
  std::string valueName;  // empty for a flag: "SPEC"
  std::string help;
  bool repeated = false;  // may be given several times; values() returns all
  char shortName = 0;     // e.g. 'n' for -n
};

struct PositionalSpec {
  std::string name;  // "FILE"
  std::string help;
  bool required = true;
  bool variadic = false;  // FILE... (must be last)
};

class ParsedArgs {
 public:
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string value(const std::string& name) const;  // usage error when absent
  std::string valueOr(const std::string& name, const std::string& fallback) const;
  std::vector<std::string> values(const std::string& name) const;
  std::vector<int64_t> intValues(const std::string& name) const;
  int64_t intValue(const std::string& name, int64_t fallback) const;
  double doubleValue(const std::string& name, double fallback) const;
  std::optional<int64_t> optionalInt(const std::string& name) const;
  std::optional<double> optionalDouble(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  friend class Parser;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
};

// What every command receives: the global options, the output mode and the job control
// (Ctrl-C cancels the token; a second Ctrl-C exits at once).
struct Context {
  std::string cataloguePath;  // resolved: --catalogue, $IGPG_CATALOGUE, or the default
  std::string deviceName = "cpu";
  int threads = 0;
  bool json = false;
  bool quiet = false;
  JobControl job;              // progress draws on stderr unless --json/--quiet
  std::ostream* out = nullptr;

  torch::Device device() const;
};

struct Command {
  std::string path;     // "zoo import"
  std::string summary;  // one line for listings
  std::string description;
  std::vector<OptionSpec> options;
  std::vector<PositionalSpec> positionals;
  std::function<int(Context&, const ParsedArgs&)> run;
};

// Self-registration: a file defines `static const Registration r{Command{...}};`.
struct Registration {
  explicit Registration(Command command);
};

int runMain(int argc, char** argv);

// --- output helpers shared by all commands ---------------------------------------

// Prints a table (text mode) or a JSON array of objects (--json).
class Table {
 public:
  explicit Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}
  void add(std::vector<nlohmann::json> row) { rows_.push_back(std::move(row)); }
  void print(const Context& ctx) const;
  nlohmann::json toJson() const;

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<nlohmann::json>> rows_;
};

std::string formatCell(const nlohmann::json& value);
void printJson(const Context& ctx, const nlohmann::json& value);

// The tokenizer's shape (--chunk, --tokens-per-chunk, --codebook, --code-dim, --hidden,
// --dense-hidden, --vectorization), taken by `train tokenizer` and by the experiments.
std::vector<OptionSpec> tokenizerShapeOptions();
void applyTokenizerShape(const ParsedArgs& args, TokenizerConfig& config);

// How the samples of one request draw together (--independent, --branch-temperature),
// taken by `generate` and the experiments.
std::vector<OptionSpec> drawOptions();
void applyDrawOptions(const ParsedArgs& args, SamplingOptions& sampling);

// Usage errors exit with status 2.
[[noreturn]] void usageError(const std::string& where, const std::string& message);

}  // namespace igpg::cli
