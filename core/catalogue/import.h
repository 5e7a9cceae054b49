// Importing weight files into the catalogue: what `igpg zoo import` and the studio's
// import dialog both call. All files or none: each file is read, checked and stored as
// a blob first, then every row is added in one transaction, so a bad file, a cancel or
// a crash part-way leaves the catalogue as it was.
#pragma once

#include "catalogue/catalogue.h"
#include "jobs/progress.h"

#include <functional>
#include <string>
#include <vector>

namespace igpg {

struct ImportOptions {
  // Created with these fields when the catalogue does not have them yet (an architecture
  // without a family gets architectureFamilyFromLabel(name)); existing rows are kept as
  // they are. Only the names are required.
  ArchitectureRecord architecture;
  DatasetRecord dataset;
  std::string source = "import";
  int64_t seed = -1, epoch = -1;
  // Optional: makes a file's tensors conform to the architecture. It checks names, shapes
  // and dtypes, and may rename or reorder the tensors into the architecture's layout
  // (e.g. strip a "module." prefix); what it leaves is what is stored. Throws igpg::Error
  // to reject the file; the error is prefixed with the file's path.
  std::function<void(StateDict& weights, const std::string& file)> conform;
};

struct ImportedModel {
  std::string file;
  int64_t id = 0;
  std::string blobSha256;
  int64_t numParams = 0;
  int64_t tensors = 0;
  std::vector<int64_t> sameWeightsAs;  // other models whose weights are identical
};

// Reads each file with loadWeightsFile (safetensors, PyTorch, TorchScript). Reports
// progress per file and honours cancellation until the rows are written (Error Cancelled,
// nothing imported). Errors name the file.
std::vector<ImportedModel> importWeightFiles(Catalogue& catalogue, const std::vector<std::string>& files,
                                             const ImportOptions& options, const JobControl& job = {});

// A model's weights as a file of their own: the stored tensors with the metadata of the
// file they were imported from put back, what `igpg zoo export` and the studio write out
// with saveWeightsFile.
StateDict exportableWeights(Catalogue& catalogue, const ModelRecord& model);

// The family of an architecture label: its leading letters, lower-cased ("resnet18" ->
// "resnet", "mlp-64-32" -> "mlp"); the whole label when it does not start with a letter.
std::string architectureFamilyFromLabel(const std::string& label);

}  // namespace igpg
