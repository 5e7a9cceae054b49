// What every job needs to turn catalogue rows and user text into concrete objects:
// datasets (built-ins and those registered in the catalogue), architecture SPECs
// resolved against a dataset, the weight layout of an architecture, and the catalogue
// records describing both. The CLI and the studio resolve names through these
// functions only.
#pragma once

#include "arch/spec.h"
#include "catalogue/catalogue.h"
#include "catalogue/import.h"
#include "data/dataset.h"
#include "tokenizer/weight_layout.h"

#include <memory>
#include <string>

namespace igpg {

// Datasets registered in the catalogue (imports) by their base name.
DatasetResolver catalogueDatasetResolver(Catalogue& catalogue);
std::shared_ptr<const Dataset> openDataset(Catalogue& catalogue, const std::string& name);

arch::DataShape dataShapeOf(const Dataset& dataset);
// A preset, a family name, a JSON SPEC, or the name of an architecture stored in the
// catalogue with its SPEC (what `igpg zoo list` shows, e.g. "mlp_8"), for the dataset.
arch::ArchSpec resolveArchitecture(Catalogue& catalogue, const std::string& spec, const Dataset& dataset);

// Floating-point tensors in the program's (PyTorch) order; integer buffers noted.
WeightLayout weightLayout(const arch::Program& program);

ArchitectureRecord architectureRecord(const arch::ArchSpec& spec);
DatasetRecord datasetRecord(const Dataset& dataset);
DatasetRecord datasetRecord(const DatasetSummary& summary);

// Upserts the rows a model of (spec, dataset) refers to; returns nothing, rows are by name.
void registerPair(Catalogue& catalogue, const arch::ArchSpec& spec, const Dataset& dataset);

// The resolved architecture of a catalogue model: its architecture row's SPEC resolved
// against its dataset. Error(Mismatch) naming the model when the row is only a label
// (an import without a known architecture).
struct ResolvedModel {
  ModelRecord record;
  std::shared_ptr<const Dataset> dataset;
  arch::ArchSpec spec;
};
ResolvedModel resolveModel(Catalogue& catalogue, const ModelRecord& record);

// The SPEC stored for an architecture name without the fields a dataset determines
// (channels, input size, classes): one name ("tinycnn") covers the 10-class and the
// 5-class network, and the model's dataset fills them in. Null for a label.
nlohmann::json storedArchitectureSpec(Catalogue& catalogue, const std::string& name);

// Import settings for weight files of architecture `arch` trained on `dataset`, what
// `igpg zoo import` and the studio's import dialog use. When `arch` is a SPEC (a preset,
// a family or a JSON object) or the name of a catalogue architecture that has one, it
// must fit the dataset, and every file is checked against the architecture: a missing,
// extra or misshapen tensor rejects the import, naming the file and the tensor. A SPEC's
// rows get the resolved architecture. Any other text is kept as a label (networks this
// build cannot run are still worth cataloguing; the pipelines refuse them later with a
// message).
ImportOptions importOptionsFor(Catalogue& catalogue, const std::string& arch, const std::string& dataset);

// The directory for a run's files: <catalogue dir>/runs/<id>.
std::string runDirectory(const Catalogue& catalogue, int64_t runId);

}  // namespace igpg
