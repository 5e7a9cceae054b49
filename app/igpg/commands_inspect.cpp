// igpg inspect FILE: a weight file's format and its tensors with their statistics,
// without a catalogue.
#include "cli.h"

#include "formats/weights_summary.h"

#include <ostream>

namespace igpg::cli {
namespace {

nlohmann::json optionalNumber(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

int runInspect(Context& ctx, const ParsedArgs& args) {
  const WeightsFileSummary summary = summarizeWeightsFile(args.positionals().at(0));
  Table table({"name", "dtype", "shape", "numel", "mean", "std", "min", "max", "nonfinite"});
  for (const auto& t : summary.tensors)
    table.add({t.name, t.dtype, t.shape, t.numel, optionalNumber(t.mean), optionalNumber(t.std),
               optionalNumber(t.min), optionalNumber(t.max), t.nonFinite});
  if (ctx.json) {
    printJson(ctx, {{"file", summary.path},
                    {"format", weightsFormatName(summary.format)},
                    {"tensor_count", summary.tensors.size()},
                    {"numel", summary.numel},
                    {"metadata", summary.metadata},
                    {"tensors", table.toJson()}});
    return 0;
  }
  *ctx.out << summary.path << ": " << weightsFormatName(summary.format) << ", " << summary.tensors.size()
           << " tensors, " << summary.numel << " values\n";
  for (const auto& [key, value] : summary.metadata) *ctx.out << "  " << key << ": " << value << "\n";
  *ctx.out << "\n";
  table.print(ctx);
  return 0;
}

const Registration registration{Command{
    "inspect",
    "list a weight file's tensors with their statistics",
    "Reads safetensors, PyTorch .pt/.pth state dicts (torch.save, read without running its\n"
    "pickle) and TorchScript modules. For each tensor: dtype, shape, element count, and the\n"
    "mean, std (Bessel-corrected, as torch.std), min and max of its finite values; nonfinite\n"
    "counts NaN and infinite values. No catalogue is needed.",
    {},
    {{"FILE", "weight file: .safetensors, .pt/.pth or TorchScript"}},
    runInspect,
}};

}  // namespace
}  // namespace igpg::cli
