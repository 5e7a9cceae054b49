// igpg arch list | describe: the architecture families, their presets, and what a SPEC
// resolves to (description, canonical JSON, PyTorch parameter layout).
#include "cli.h"

#include "arch/spec.h"

#include <ostream>

namespace igpg::cli {

namespace {

// The shape every listing assumes unless told otherwise: MNIST / Fashion-MNIST.
constexpr arch::DataShape kDefaultShape{1, 28, 28, 10};

std::string dataText(const arch::DataShape& d) {
  return std::to_string(d.channels) + "x" + std::to_string(d.height) + "x" + std::to_string(d.width) + " images, " +
         std::to_string(d.classes) + " classes";
}

arch::DataShape dataShapeFrom(const ParsedArgs& args) {
  arch::DataShape d = kDefaultShape;
  d.channels = args.intValue("channels", d.channels);
  d.classes = args.intValue("classes", d.classes);
  if (args.has("size")) {
    const std::string s = args.value("size");
    const auto x = s.find('x');
    try {
      size_t used = 0;
      d.height = std::stoll(s.substr(0, x), &used);
      if (used != (x == std::string::npos ? s.size() : x)) throw std::invalid_argument(s);
      d.width = x == std::string::npos ? d.height : std::stoll(s.substr(x + 1), &used);
      if (x != std::string::npos && used != s.size() - x - 1) throw std::invalid_argument(s);
    } catch (const std::exception&) {
      usageError("--size", "expected N or HxW, got '" + s + "'");
    }
  }
  if (d.channels < 1) usageError("--channels", "must be at least 1");
  if (d.classes < 1) usageError("--classes", "must be at least 1");
  if (d.height < 1 || d.width < 1) usageError("--size", "must be positive");
  return d;
}

std::string fieldsText(const arch::Family& family) {
  std::string s;
  for (const auto& f : family.fields) {
    s += s.empty() ? "" : ", ";
    s += f.name + (f.data != arch::DataField::None ? "*" : f.defaultValue.is_null() ? "" : "=" + arch::describeValue(f, f.defaultValue));
  }
  return s;
}

int runList(Context& ctx, const ParsedArgs&) {
  Table families({"family", "fields", "summary"});
  for (const auto& f : arch::families()) families.add({f.name, fieldsText(f), f.summary});
  Table presets({"preset", "family", "parameters", "summary"});
  for (const auto& p : arch::presets()) {
    nlohmann::json count;  // null (shown "-") where the preset does not fit the default shape
    try {
      count = arch::resolveSpec(p.name, kDefaultShape).parameterCount();
    } catch (const Error&) {
    }
    presets.add({p.name, p.family, count, p.summary});
  }
  if (ctx.json) {
    printJson(ctx, {{"families", families.toJson()}, {"presets", presets.toJson()},
                    {"parameters_for", dataText(kDefaultShape)}});
    return 0;
  }
  *ctx.out << "Families (fields marked * come from the dataset; = gives the default):\n";
  families.print(ctx);
  *ctx.out << "\nPresets (trainable parameters for " << dataText(kDefaultShape) << "):\n";
  presets.print(ctx);
  *ctx.out << "\nA SPEC is a preset or family name, or a JSON object such as\n"
              "  '{\"family\": \"resnet\", \"blocks\": [4, 4, 4], \"width\": 32}'\n"
              "See 'igpg arch describe SPEC'.\n";
  return 0;
}

int runDescribe(Context& ctx, const ParsedArgs& args) {
  const arch::DataShape data = dataShapeFrom(args);
  const auto spec = arch::resolveSpec(args.positionals().at(0), data);
  const arch::Program& program = spec.program();
  Table layout({"name", "shape", "numel", "kind"});
  for (const auto& s : program.layout())
    layout.add({s.name, s.shape, s.numel(),
                std::string(arch::tensorRoleName(s.role)) + (s.trainable() ? "" : " (buffer)")});
  if (ctx.json) {
    printJson(ctx, {{"name", spec.name()},
                    {"family", spec.family()},
                    {"description", spec.description()},
                    {"canonical", nlohmann::json::parse(spec.canonicalJson())},
                    {"data", dataText(data)},
                    {"parameters", program.parameterCount()},
                    {"buffer_values", program.bufferCount()},
                    {"layout", layout.toJson()}});
    return 0;
  }
  *ctx.out << "name:         " << spec.name() << "\n"
           << "description:  " << spec.description() << "\n"
           << "canonical:    " << spec.canonicalJson() << "\n"
           << "data:         " << dataText(data) << "\n"
           << "parameters:   " << program.parameterCount() << " trainable, " << program.bufferCount()
           << " in buffers (batch norm statistics)\n\n";
  layout.print(ctx);
  return 0;
}

const Registration listCommand{Command{
    "arch list",
    "list architecture families and presets",
    "Families with their fields and defaults, and presets with their parameter counts for\n"
    "28x28 gray images and 10 classes.",
    {},
    {},
    runList,
}};

const Registration describeCommand{Command{
    "arch describe",
    "resolve a SPEC: description, canonical JSON and parameter layout",
    "Resolves SPEC against a dataset shape (default 1x28x28, 10 classes) and prints the\n"
    "description the generator is conditioned on, the canonical JSON, and every tensor of\n"
    "the PyTorch state_dict in order. Example:\n"
    "  igpg arch describe '{\"family\": \"resnet20\", \"num_classes\": 100}' --channels 3 --size 32 --classes 100",
    {{"channels", "C", "image channels of the data (default 1)"},
     {"size", "HxW", "image size, N or HxW (default 28)"},
     {"classes", "K", "number of classes (default 10)"}},
    {{"SPEC", "preset name or JSON object"}},
    runDescribe,
}};

}  // namespace

}  // namespace igpg::cli
