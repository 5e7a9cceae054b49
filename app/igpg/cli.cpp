#include "cli.h"

#include "common/files.h"
#include "common/runtime.h"
#include "terminal.h"

#include <csignal>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace igpg::cli {

namespace {

std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

const std::vector<OptionSpec>& globalOptions() {
  static const std::vector<OptionSpec> options = {
      {"catalogue", "PATH", "catalogue database (default $IGPG_CATALOGUE or $XDG_DATA_HOME/igpg/catalogue.db)"},
      {"device", "cpu|cuda", "where tensors live and compute runs (default cpu)"},
      {"threads", "N", "CPU threads for LibTorch (default: one per core)"},
      {"json", "", "machine-readable JSON on stdout instead of tables"},
      {"quiet", "", "no progress output"},
      {"help", "", "show help", false, 'h'},
      {"version", "", "print the version and exit"},
  };
  return options;
}

std::string optionUsage(const OptionSpec& o) {
  std::string s = o.shortName ? std::string("-") + o.shortName + ", " : "    ";
  s += "--" + o.name;
  if (!o.valueName.empty()) s += " " + o.valueName;
  return s;
}

void printOptions(std::ostream& os, const std::vector<OptionSpec>& options) {
  size_t width = 0;
  for (const auto& o : options) width = std::max(width, optionUsage(o).size());
  for (const auto& o : options)
    os << "  " << std::left << std::setw(int(width) + 2) << optionUsage(o) << o.help
       << (o.repeated ? " (repeatable)" : "") << "\n";
}

bool isPrefix(const std::vector<std::string>& prefix, const std::string& path) {
  std::istringstream in(path);
  std::string word;
  for (const auto& p : prefix) {
    if (!(in >> word) || word != p) return false;
  }
  return true;
}

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

void printGroupHelp(std::ostream& os, const std::vector<std::string>& prefix) {
  os << "usage: igpg [global options] " << (prefix.empty() ? "" : join(prefix) + " ") << "COMMAND ...\n\n";
  if (prefix.empty())
    os << "IGPG Studio command line: build model zoos, train the weight tokenizer and the\n"
          "instruction-conditioned prior, and generate network weights.\n\n";
  os << "commands:\n";
  size_t width = 0;
  for (const auto& c : registry())
    if (isPrefix(prefix, c.path)) width = std::max(width, c.path.size());
  for (const auto& c : registry())
    if (isPrefix(prefix, c.path))
      os << "  " << std::left << std::setw(int(width) + 2) << c.path << c.summary << "\n";
  os << "\nglobal options:\n";
  printOptions(os, globalOptions());
  os << "\nRun 'igpg COMMAND --help' for a command's options.\n";
}

void printCommandHelp(std::ostream& os, const Command& c) {
  os << "usage: igpg " << c.path;
  if (!c.options.empty()) os << " [options]";
  for (const auto& p : c.positionals) {
    std::string s = p.name + (p.variadic ? "..." : "");
    os << " " << (p.required ? s : "[" + s + "]");
  }
  os << "\n\n" << c.summary << "\n";
  if (!c.description.empty()) os << "\n" << c.description << "\n";
  if (!c.positionals.empty()) {
    os << "\narguments:\n";
    for (const auto& p : c.positionals) os << "  " << std::left << std::setw(14) << p.name << p.help << "\n";
  }
  if (!c.options.empty()) {
    os << "\noptions:\n";
    printOptions(os, c.options);
  }
  os << "\nglobal options:\n";
  printOptions(os, globalOptions());
}

const OptionSpec* findOption(const std::vector<OptionSpec>& options, const std::string& name, char shortName) {
  for (const auto& o : options)
    if ((!name.empty() && o.name == name) || (shortName && o.shortName == shortName)) return &o;
  return nullptr;
}

CancelToken& interruptToken() {
  static CancelToken token;
  return token;
}

void onInterrupt(int) {
  static volatile sig_atomic_t count = 0;
  if (++count >= 2) {
    static const char msg[] = "\nigpg: interrupted twice, exiting now\n";
    (void)!::write(2, msg, sizeof msg - 1);
    std::_Exit(130);
  }
  static const char msg[] = "\nigpg: cancelling at the next safe point (Ctrl-C again to exit now)\n";
  (void)!::write(2, msg, sizeof msg - 1);
  interruptToken().cancel();
}

}  // namespace

Registration::Registration(Command command) { registry().push_back(std::move(command)); }

void usageError(const std::string& where, const std::string& message) {
  throw Error(ErrorKind::Usage, where, message);
}

std::string ParsedArgs::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) usageError("--" + name, "this option is required");
  return it->second.back();
}

std::string ParsedArgs::valueOr(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> ParsedArgs::values(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

namespace {
int64_t parseInteger(const std::string& name, const std::string& v) {
  try {
    size_t used = 0;
    long long x = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    usageError("--" + name, "expected an integer, got '" + v + "'");
  }
}
}  // namespace

std::optional<int64_t> ParsedArgs::optionalInt(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  return parseInteger(name, value(name));
}

std::vector<int64_t> ParsedArgs::intValues(const std::string& name) const {
  std::vector<int64_t> out;
  for (const auto& v : values(name)) out.push_back(parseInteger(name, v));
  return out;
}

std::optional<double> ParsedArgs::optionalDouble(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  const std::string v = value(name);
  try {
    size_t used = 0;
    double x = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    usageError("--" + name, "expected a number, got '" + v + "'");
  }
}

int64_t ParsedArgs::intValue(const std::string& name, int64_t fallback) const {
  return optionalInt(name).value_or(fallback);
}

double ParsedArgs::doubleValue(const std::string& name, double fallback) const {
  return optionalDouble(name).value_or(fallback);
}

torch::Device Context::device() const { return resolveDevice(deviceName); }

class Parser {
 public:
  // Splits argv into the command, its arguments and the global options.
  static int run(int argc, char** argv);
};

int Parser::run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> path;
  ParsedArgs globals, parsed;
  const Command* command = nullptr;
  bool help = false;
  std::vector<std::string> rest;

  // Pass 1: global options anywhere before "--"; words before the first option that
  // continue a registered command path select the command.
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      rest.insert(rest.end(), args.begin() + long(i), args.end());
      break;
    }
    std::string name = a, inlineValue;
    bool hasInline = false;
    if (a.rfind("--", 0) == 0) {
      name = a.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inlineValue = name.substr(eq + 1);
        name = name.substr(0, eq);
        hasInline = true;
      }
      if (const OptionSpec* g = findOption(globalOptions(), name, 0)) {
        if (g->name == "help") { help = true; continue; }
        if (g->valueName.empty()) {
          globals.values_[g->name].push_back("1");
        } else if (hasInline) {
          globals.values_[g->name].push_back(inlineValue);
        } else {
          if (i + 1 >= args.size()) usageError("--" + g->name, "needs a value (" + g->valueName + ")");
          globals.values_[g->name].push_back(args[++i]);
        }
        continue;
      }
    } else if (a == "-h") {
      help = true;
      continue;
    }
    if (!command && rest.empty() && a[0] != '-') {
      std::vector<std::string> candidate = path;
      candidate.push_back(a);
      bool any = false;
      for (const auto& c : registry()) {
        if (isPrefix(candidate, c.path)) any = true;
      }
      if (any) {
        path = candidate;
        for (const auto& c : registry())
          if (c.path == join(path)) command = &c;
        continue;
      }
      if (path.empty() || !command) {
        bool group = !path.empty();
        usageError(group ? join(path) : "igpg", "unknown command '" + a + "'; run 'igpg " +
                                                    (group ? join(path) + " " : "") + "--help'");
      }
    }
    rest.push_back(a);
  }

  if (globals.has("version")) {
    std::cout << "igpg " << igpgVersion() << " (LibTorch " << torchVersion()
              << (cudaAvailable() ? ", CUDA available" : ", CPU only") << ", BLAS " << blasBackend() << ")\n";
    return 0;
  }
  // A command path that is a prefix of others ("zoo") may also be a command itself only
  // if registered; otherwise it is a group and shows the group's help.
  if (!command) {
    if (!help && !path.empty()) {
      printGroupHelp(std::cerr, path);
      return 2;
    }
    printGroupHelp(std::cout, path);
    return path.empty() && !help ? 2 : 0;
  }
  if (help) {
    printCommandHelp(std::cout, *command);
    return 0;
  }

  // Pass 2: the command's own options and positionals.
  bool onlyPositionals = false;
  for (size_t i = 0; i < rest.size(); ++i) {
    const std::string& a = rest[i];
    if (!onlyPositionals && a == "--") { onlyPositionals = true; continue; }
    if (!onlyPositionals && a.size() > 1 && a[0] == '-' && !(std::isdigit(static_cast<unsigned char>(a[1])) || a[1] == '.')) {
      std::string name, inlineValue;
      bool hasInline = false;
      const OptionSpec* o = nullptr;
      if (a.rfind("--", 0) == 0) {
        name = a.substr(2);
        if (auto eq = name.find('='); eq != std::string::npos) {
          inlineValue = name.substr(eq + 1);
          name = name.substr(0, eq);
          hasInline = true;
        }
        o = findOption(command->options, name, 0);
      } else if (a.size() == 2) {
        o = findOption(command->options, "", a[1]);
      }
      if (!o) usageError(command->path, "unknown option '" + a + "'; run 'igpg " + command->path + " --help'");
      if (o->valueName.empty()) {
        if (hasInline) usageError("--" + o->name, "takes no value");
        parsed.values_[o->name].push_back("1");
      } else {
        std::string v;
        if (hasInline) v = inlineValue;
        else if (i + 1 < rest.size()) v = rest[++i];
        else usageError("--" + o->name, "needs a value (" + o->valueName + ")");
        if (!o->repeated && parsed.has(o->name))
          usageError("--" + o->name, "given more than once");
        parsed.values_[o->name].push_back(v);
      }
      continue;
    }
    parsed.positionals_.push_back(a);
  }
  size_t required = 0, maximum = 0;
  bool variadic = false;
  for (const auto& p : command->positionals) {
    if (p.required) ++required;
    ++maximum;
    variadic = variadic || p.variadic;
  }
  if (parsed.positionals_.size() < required) {
    std::string missing;
    for (size_t k = parsed.positionals_.size(); k < command->positionals.size(); ++k)
      if (command->positionals[k].required) missing += (missing.empty() ? "" : " ") + command->positionals[k].name;
    usageError(command->path, "missing argument " + missing + "; run 'igpg " + command->path + " --help'");
  }
  if (!variadic && parsed.positionals_.size() > maximum)
    usageError(command->path, "unexpected argument '" + parsed.positionals_[maximum] + "'");

  Context ctx;
  ctx.json = globals.has("json");
  ctx.quiet = globals.has("quiet");
  ctx.deviceName = globals.valueOr("device", "cpu");
  ctx.threads = int(globals.intValue("threads", 0));
  if (ctx.threads < 0) usageError("--threads", "must be >= 0");
  if (globals.has("catalogue")) {
    ctx.cataloguePath = globals.value("catalogue");
  } else if (const char* env = std::getenv("IGPG_CATALOGUE"); env && *env) {
    ctx.cataloguePath = env;
  } else {
    ctx.cataloguePath = defaultDataDirectory() + "/catalogue.db";
  }
  ctx.out = &std::cout;
  ctx.job.cancel = interruptToken();
  if (!ctx.json && !ctx.quiet) ctx.job.progress = makeTerminalProgress();
  setThreads(ctx.threads);
  if (ctx.deviceName != "cpu") (void)ctx.device();  // fail early and clearly on a missing GPU
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);
  return command->run(ctx, parsed);
}

int runMain(int argc, char** argv) {
  try {
    return Parser::run(argc, argv);
  } catch (const Error& e) {
    finishTerminalProgress();
    std::cerr << "igpg: error: " << e.what() << "\n";
    if (e.kind() == ErrorKind::Usage) return 2;
    if (e.kind() == ErrorKind::Cancelled) return 130;
    return 1;
  } catch (const c10::Error& e) {
    finishTerminalProgress();
    std::cerr << "igpg: error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    finishTerminalProgress();
    std::cerr << "igpg: error: " << e.what() << "\n";
    return 1;
  }
}

std::string formatCell(const nlohmann::json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    std::ostringstream s;
    double d = v.get<double>();
    if (std::isnan(d)) return "-";
    s << std::fixed << std::setprecision(std::fabs(d) >= 100 || d == std::floor(d) ? 2 : 4) << d;
    return s.str();
  }
  return v.dump();
}

nlohmann::json Table::toJson() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : rows_) {
    nlohmann::json obj = nlohmann::json::object();
    for (size_t i = 0; i < columns_.size() && i < r.size(); ++i) obj[columns_[i]] = r[i];
    rows.push_back(obj);
  }
  return rows;
}

void Table::print(const Context& ctx) const {
  if (ctx.json) {
    printJson(ctx, toJson());
    return;
  }
  std::vector<size_t> width(columns_.size());
  std::vector<std::vector<std::string>> cells;
  for (size_t i = 0; i < columns_.size(); ++i) width[i] = columns_[i].size();
  for (const auto& r : rows_) {
    std::vector<std::string> line;
    for (size_t i = 0; i < columns_.size(); ++i) {
      line.push_back(i < r.size() ? formatCell(r[i]) : "");
      width[i] = std::max(width[i], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  auto emit = [&](const std::vector<std::string>& line, const std::vector<bool>& numeric) {
    std::string s;
    for (size_t i = 0; i < line.size(); ++i) {
      std::string cell = line[i];
      std::string pad(width[i] - cell.size(), ' ');
      s += numeric[i] ? pad + cell : cell + (i + 1 < line.size() ? pad : "");
      if (i + 1 < line.size()) s += "  ";
    }
    *ctx.out << s << "\n";
  };
  std::vector<bool> numeric(columns_.size(), false);
  for (size_t i = 0; i < columns_.size(); ++i) {
    bool any = false, all = true;
    for (const auto& r : rows_) {
      if (i >= r.size() || r[i].is_null()) continue;
      any = true;
      all = all && r[i].is_number();
    }
    numeric[i] = any && all;
  }
  emit(columns_, numeric);
  std::vector<std::string> rule;
  for (size_t w : width) rule.push_back(std::string(w, '-'));
  emit(rule, std::vector<bool>(columns_.size(), false));
  for (const auto& line : cells) emit(line, numeric);
}

void printJson(const Context& ctx, const nlohmann::json& value) { *ctx.out << value.dump(2) << "\n"; }

}  // namespace igpg::cli
