#include "data/task.h"

#include "common/error.h"

#include <torch/torch.h>

#include <algorithm>
#include <cctype>

namespace igpg {

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> splitOn(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

constexpr const char* kKnownTransforms = "rot90, rot180, rot270, hflip, invert";

class NameParser {
 public:
  explicit NameParser(const std::string& name) : name_(name) {}

  TaskSpec parse() {
    const std::string text = trim(name_);
    const size_t open = text.find('[');
    TaskSpec spec;
    spec.base = trim(text.substr(0, open));
    if (spec.base.empty()) bad("no base dataset before the modifiers");
    if (!isValidBaseName(spec.base))
      bad("'" + spec.base + "' is not a dataset name (a letter or digit, then letters, digits, '.', '_', '-'" +
          (open == std::string::npos ? "; modifiers go in [...]" : "") + ")");
    if (open == std::string::npos) return spec;
    if (text.back() != ']') bad("missing ']' at the end");
    const std::string inside = text.substr(open + 1, text.size() - open - 2);
    if (auto stray = inside.find_first_of("[]"); stray != std::string::npos)
      bad(std::string("unexpected '") + inside[stray] + "' inside [...]");
    if (trim(inside).empty()) bad("empty modifier list '[]'");
    bool haveClasses = false;
    for (const std::string& raw : splitOn(inside, ';')) {
      const std::string item = trim(raw);
      if (item.empty()) bad("empty modifier (a ';' with nothing before or after it)");
      if (auto eq = item.find('='); eq != std::string::npos) {
        const std::string key = lower(trim(item.substr(0, eq)));
        if (key != "classes") bad("unknown modifier '" + item + "' (known: classes=..., " + kKnownTransforms + ")");
        if (haveClasses) bad("'classes=' given twice");
        haveClasses = true;
        spec.classes = parseClasses(item.substr(eq + 1));
      } else {
        applyTransform(spec, lower(item), item);
      }
    }
    return spec;
  }

 private:
  [[noreturn]] void bad(const std::string& message) const {
    fail(ErrorKind::Usage, "dataset name '" + name_ + "'", message);
  }

  std::vector<int64_t> parseClasses(const std::string& list) const {
    std::vector<int64_t> classes;
    for (const std::string& raw : splitOn(list, ',')) {
      const std::string cell = trim(raw);
      if (cell.empty()) bad("empty entry in 'classes=" + trim(list) + "'");
      if (!std::all_of(cell.begin(), cell.end(), [](char c) { return c >= '0' && c <= '9'; }))
        bad("class '" + cell + "' is not a non-negative integer");
      const size_t firstNonZero = std::min(cell.find_first_not_of('0'), cell.size() - 1);
      if (cell.size() - firstNonZero > 9) bad("class '" + cell + "' is out of range");
      const int64_t c = std::stoll(cell);
      if (std::find(classes.begin(), classes.end(), c) != classes.end())
        bad("class " + std::to_string(c) + " is listed twice");
      classes.push_back(c);
    }
    if (classes.size() < 2) bad("a task needs at least two classes, got 'classes=" + trim(list) + "'");
    return classes;
  }

  // Composes one more step after the ones so far. The state maps x to R^t(F^m(x)) (R a
  // counter-clockwise quarter turn, F the mirror); since F R F = R^-1, mirroring after it
  // gives F R^t F^m = R^-t F^(m+1).
  void applyTransform(TaskSpec& spec, const std::string& keyword, const std::string& asWritten) const {
    if (keyword == "rot90" || keyword == "rot180" || keyword == "rot270") {
      spec.quarterTurns = (spec.quarterTurns + std::stoi(keyword.substr(3)) / 90) % 4;
    } else if (keyword == "hflip") {
      spec.mirrored = !spec.mirrored;
      spec.quarterTurns = (4 - spec.quarterTurns) % 4;
    } else if (keyword == "invert") {
      spec.inverted = !spec.inverted;
    } else {
      bad("unknown transform '" + asWritten + "' (known: classes=..., " + kKnownTransforms + ")");
    }
  }

  const std::string& name_;
};

}  // namespace

bool TaskSpec::derived() const { return !classes.empty() || transformsImages(); }

std::vector<std::string> TaskSpec::transformNames() const {
  std::vector<std::string> names;
  if (mirrored) names.push_back("hflip");
  if (quarterTurns != 0) names.push_back("rot" + std::to_string(90 * quarterTurns));
  if (inverted) names.push_back("invert");
  return names;
}

std::string TaskSpec::canonicalModifiers() const {
  std::vector<std::string> parts;
  if (!classes.empty()) {
    std::string list;
    for (int64_t c : classes) list += (list.empty() ? "" : ",") + std::to_string(c);
    parts.push_back("classes=" + list);
  }
  for (auto& t : transformNames()) parts.push_back(t);
  std::string joined;
  for (const auto& p : parts) joined += (joined.empty() ? "" : ";") + p;
  return joined;
}

std::string TaskSpec::canonicalName() const { return derived() ? base + "[" + canonicalModifiers() + "]" : base; }

TaskSpec parseTaskName(const std::string& name) { return NameParser(name).parse(); }

std::string canonicalDatasetName(const std::string& name) { return parseTaskName(name).canonicalName(); }

bool isValidBaseName(const std::string& name) {
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

torch::Tensor applyTaskTransforms(const torch::Tensor& images, const TaskSpec& spec, const std::vector<double>& mean,
                                  const std::vector<double>& std) {
  TORCH_CHECK(images.dim() == 4, "applyTaskTransforms: images must be (N, C, H, W), got ", images.sizes());
  torch::Tensor out = images;
  if (spec.mirrored) out = out.flip({3});
  // rot90 over (H, W) turns from rows towards columns: counter-clockwise as displayed.
  if (spec.quarterTurns != 0) out = torch::rot90(out, spec.quarterTurns, {2, 3});
  if (spec.inverted) {
    const int64_t channels = out.size(1);
    TORCH_CHECK(int64_t(mean.size()) == channels && int64_t(std.size()) == channels,
                "applyTaskTransforms: normalization has ", mean.size(), " channels, images ", channels);
    std::vector<float> offset(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) offset[size_t(c)] = float((1.0 - 2.0 * mean[size_t(c)]) / std[size_t(c)]);
    out = torch::tensor(offset, out.options()).view({1, channels, 1, 1}) - out;  // (N, C, H, W)
  }
  return out.is_same(images) ? images : out.contiguous();
}

}  // namespace igpg
