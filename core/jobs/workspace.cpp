#include "jobs/workspace.h"

#include "arch/model.h"
#include "common/error.h"
#include "common/files.h"

#include <filesystem>

namespace igpg {

DatasetResolver catalogueDatasetResolver(Catalogue& catalogue) {
  return [&catalogue](const std::string& base) -> std::optional<nlohmann::json> {
    if (auto record = catalogue.findDataset(base); record && record->kind != "builtin" && record->kind != "derived")
      return record->definition;
    return std::nullopt;
  };
}

std::shared_ptr<const Dataset> openDataset(Catalogue& catalogue, const std::string& name) {
  return openDataset(name, catalogueDatasetResolver(catalogue));
}

arch::DataShape dataShapeOf(const Dataset& dataset) {
  const ImageShape s = dataset.shape();
  return {s.channels, s.height, s.width, dataset.numClasses()};
}

namespace {
bool isSpecText(const std::string& text) {
  return text.find('{') != std::string::npos || arch::findPreset(text) || arch::findFamily(text);
}
}  // namespace

arch::ArchSpec resolveArchitecture(Catalogue& catalogue, const std::string& spec, const Dataset& dataset) {
  if (!isSpecText(spec)) {
    const nlohmann::json stored = storedArchitectureSpec(catalogue, spec);
    if (!stored.is_null()) return arch::resolveSpecJson(stored, dataShapeOf(dataset));
  }
  return arch::resolveSpec(spec, dataShapeOf(dataset));
}

WeightLayout weightLayout(const arch::Program& program) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> floats;
  std::vector<WeightLayout::IntegerBuffer> integers;
  for (const auto& slot : program.layout()) {
    if (slot.integral()) integers.push_back({slot.name, slot.shape, floats.size()});
    else floats.emplace_back(slot.name, slot.shape);
  }
  return WeightLayout::fromShapes(floats, std::move(integers));
}

ArchitectureRecord architectureRecord(const arch::ArchSpec& spec) {
  ArchitectureRecord r;
  r.name = spec.name();
  r.family = spec.family();
  r.spec = nlohmann::json::parse(spec.canonicalJson());
  r.description = spec.description();
  r.numParams = spec.parameterCount();
  return r;
}

DatasetRecord datasetRecord(const Dataset& dataset) { return datasetRecord(summarizeDataset(dataset)); }

DatasetRecord datasetRecord(const DatasetSummary& s) {
  DatasetRecord r;
  r.name = s.name;
  r.kind = s.kind;
  r.definition = s.definition;
  r.numClasses = s.numClasses;
  r.channels = s.shape.channels;
  r.height = s.shape.height;
  r.width = s.shape.width;
  r.trainCount = s.trainCount + s.validationCount;  // the source's train split, validation included
  r.testCount = s.testCount;
  r.contentHash = s.contentHash;
  return r;
}

void registerPair(Catalogue& catalogue, const arch::ArchSpec& spec, const Dataset& dataset) {
  catalogue.upsertArchitecture(architectureRecord(spec));
  if (!catalogue.findDataset(dataset.name())) catalogue.upsertDataset(datasetRecord(dataset));
}

nlohmann::json storedArchitectureSpec(Catalogue& catalogue, const std::string& name) {
  auto arch = catalogue.findArchitecture(name);
  if (!arch || !arch->spec.is_object()) return nullptr;
  nlohmann::json spec = arch->spec;
  if (const arch::Family* family = arch::findFamily(spec.value("family", "")))
    for (const auto& field : family->fields)
      if (field.data != arch::DataField::None) spec.erase(field.name);
  return spec;
}

ResolvedModel resolveModel(Catalogue& catalogue, const ModelRecord& record) {
  const nlohmann::json spec = storedArchitectureSpec(catalogue, record.architecture);
  if (spec.is_null())
    fail(ErrorKind::Mismatch, "model " + std::to_string(record.id),
         "architecture '" + record.architecture + "' is only a label; import it with a SPEC (igpg arch list)");
  auto dataset = openDataset(catalogue, record.dataset);
  return {record, dataset, arch::resolveSpecJson(spec, dataShapeOf(*dataset))};
}

ImportOptions importOptionsFor(Catalogue& catalogue, const std::string& arch, const std::string& dataset) {
  ImportOptions options;
  options.architecture.name = arch;
  options.dataset.name = dataset;
  const bool specText = isSpecText(arch);
  if (!specText && storedArchitectureSpec(catalogue, arch).is_null()) return options;
  auto data = openDataset(catalogue, dataset);
  const arch::ArchSpec spec = resolveArchitecture(catalogue, arch, *data);
  // A catalogue architecture keeps its name and row; a SPEC gets its canonical record.
  if (specText) options.architecture = architectureRecord(spec);
  options.dataset = datasetRecord(*data);
  options.conform = [spec](StateDict& weights, const std::string&) {
    arch::Model model(spec.program());
    try {
      model->loadStateDict(weights);
    } catch (const Error& e) {
      rethrowWithContext(e, "architecture " + spec.name());
    }
  };
  return options;
}

std::string runDirectory(const Catalogue& catalogue, int64_t runId) {
  const std::string dir =
      (std::filesystem::path(catalogue.path()).parent_path() / "runs" / std::to_string(runId)).string();
  ensureDirectory(dir);
  return dir;
}

}  // namespace igpg
