#include "catalogue/import.h"

#include "common/error.h"
#include "formats/weights_file.h"

#include <cctype>
#include <filesystem>

namespace igpg {

namespace {

// The blob holds the tensors only; a file's own metadata goes to the row, so identical
// weights from differently annotated files share one blob.
StateDict readForImport(const std::string& file, const ImportOptions& options, nlohmann::json& fileMetadata) {
  StateDict weights = loadWeightsFile(file);
  if (weights.empty()) fail(ErrorKind::Format, file, "holds no tensors");
  fileMetadata = weights.metadata;
  weights.metadata.clear();
  if (options.conform) {
    try {
      options.conform(weights, file);
    } catch (const Error& e) {
      rethrowWithContext(e, file);
    }
  }
  return weights;
}

}  // namespace

std::string architectureFamilyFromLabel(const std::string& label) {
  std::string family;
  for (char c : label) {
    if (!std::isalpha(static_cast<unsigned char>(c))) break;
    family += char(std::tolower(static_cast<unsigned char>(c)));
  }
  return family.empty() ? label : family;
}

std::vector<ImportedModel> importWeightFiles(Catalogue& catalogue, const std::vector<std::string>& files,
                                             const ImportOptions& options, const JobControl& job) {
  if (files.empty()) fail(ErrorKind::Usage, "import", "no files to import");
  if (options.architecture.name.empty()) fail(ErrorKind::Usage, "import", "the architecture is not given");
  if (options.dataset.name.empty()) fail(ErrorKind::Usage, "import", "the dataset is not given");
  auto cancelled = [&] {
    if (job.cancel.cancelled()) fail(ErrorKind::Cancelled, "import", "cancelled; nothing was imported");
  };

  ProgressReporter progress(job, "import", int64_t(files.size()));
  Catalogue::BlobBatch blobs(catalogue);
  std::vector<ModelRecord> records;
  std::vector<ImportedModel> imported;
  for (size_t i = 0; i < files.size(); ++i) {
    cancelled();
    const std::string& file = files[i];
    nlohmann::json fileMetadata;
    const StateDict weights = readForImport(file, options, fileMetadata);
    ModelRecord r;
    r.architecture = options.architecture.name;
    r.dataset = options.dataset.name;
    r.source = options.source;
    r.seed = options.seed;
    r.epoch = options.epoch;
    r.numParams = weights.numel();
    r.metadata = {{"imported_from", std::filesystem::absolute(file).lexically_normal().string()},
                  {"file_format", weightsFormatName(detectWeightsFormat(file))}};
    if (!fileMetadata.empty()) r.metadata["file_metadata"] = fileMetadata;
    r.blobSha256 = blobs.store(weights);
    records.push_back(r);
    imported.push_back({file, 0, r.blobSha256, r.numParams, int64_t(weights.size()), {}});
    progress.update(int64_t(i + 1));
  }
  cancelled();

  Catalogue::WriteTransaction tx(catalogue);
  if (!catalogue.findArchitecture(options.architecture.name)) {
    ArchitectureRecord a = options.architecture;
    if (a.family.empty()) a.family = architectureFamilyFromLabel(a.name);
    catalogue.upsertArchitecture(a);
  }
  if (!catalogue.findDataset(options.dataset.name)) catalogue.upsertDataset(options.dataset);
  const auto ids = catalogue.addModelRecords(records, [&](size_t i) {
    nlohmann::json ignored;
    return readForImport(files[i], options, ignored);
  });
  for (size_t i = 0; i < imported.size(); ++i) {
    imported[i].id = ids[i];
    ModelFilter same;
    same.blobSha256 = imported[i].blobSha256;
    for (const auto& m : catalogue.listModels(same))
      if (m.id != ids[i]) imported[i].sameWeightsAs.push_back(m.id);
  }
  tx.commit();
  blobs.keep();
  progress.finish({}, "imported " + std::to_string(imported.size()) + " models");
  return imported;
}

StateDict exportableWeights(Catalogue& catalogue, const ModelRecord& model) {
  StateDict weights = catalogue.loadWeights(model);
  if (model.metadata.contains("file_metadata"))
    for (const auto& [key, value] : model.metadata["file_metadata"].items())
      if (value.is_string()) weights.metadata[key] = value.get<std::string>();
  return weights;
}

}  // namespace igpg
