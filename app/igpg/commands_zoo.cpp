// igpg zoo ...: the model catalogue from the command line. Thin: the work is done by
// core/catalogue (Catalogue, importWeightFiles) and core/formats, as in the studio.
#include "cli.h"

#include "catalogue/catalogue.h"
#include "catalogue/import.h"
#include "common/files.h"
#include "formats/tensor_stats.h"
#include "formats/weights_file.h"
#include "jobs/workspace.h"

#include <iomanip>
#include <ostream>

namespace igpg::cli {

namespace {

int64_t parseId(const std::string& text) {
  try {
    size_t used = 0;
    const long long id = std::stoll(text, &used);
    if (used == text.size() && id > 0) return id;
  } catch (const std::exception&) {
  }
  usageError("ID", "expected a model id (a positive integer), got '" + text + "'");
}

ModelRecord requireModel(Catalogue& catalogue, int64_t id) {
  auto m = catalogue.model(id);
  if (!m) fail(ErrorKind::NotFound, "model " + std::to_string(id), "no such model in " + catalogue.path());
  return *m;
}

nlohmann::json optionalNumber(int64_t v) { return v < 0 ? nlohmann::json() : nlohmann::json(v); }

int runImport(Context& ctx, const ParsedArgs& args) {
  const int64_t seed = args.intValue("seed", -1), epoch = args.intValue("epoch", -1);
  if (args.has("epoch") && epoch < 0) usageError("--epoch", "must be >= 0");
  if (args.has("seed") && seed < 0) usageError("--seed", "must be >= 0");
  const std::string arch = args.value("arch"), dataset = args.value("dataset");
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  ImportOptions options = importOptionsFor(*catalogue, arch, dataset);
  options.source = args.valueOr("source", options.source);
  options.seed = seed;
  options.epoch = epoch;
  const auto imported = importWeightFiles(*catalogue, args.positionals(), options, ctx.job);
  Table table({"id", "file", "architecture", "dataset", "params", "tensors", "sha256", "same_weights_as"});
  for (const auto& m : imported)
    table.add({m.id, m.file, options.architecture.name, options.dataset.name, m.numParams, m.tensors,
               ctx.json ? m.blobSha256 : m.blobSha256.substr(0, 12),
               m.sameWeightsAs.empty() ? nlohmann::json() : nlohmann::json(m.sameWeightsAs)});
  table.print(ctx);
  return 0;
}

int runList(Context& ctx, const ParsedArgs& args) {
  ModelFilter filter;
  filter.dataset = args.valueOr("dataset", "");
  filter.minTop1 = args.optionalDouble("min-acc");
  if (filter.minTop1 && !(*filter.minTop1 >= 0 && *filter.minTop1 <= 1))
    usageError("--min-acc", "accuracy is a fraction between 0 and 1, e.g. 0.85");
  filter.limit = args.intValue("limit", -1);
  if (args.has("limit") && filter.limit < 1) usageError("--limit", "must be >= 1");
  filter.orderBy = args.valueOr("sort", "id");
  filter.descending = args.has("desc");
  Catalogue::checkFilter(filter);
  std::vector<ModelRecord> models;
  // A catalogue that does not exist yet simply has no models.
  if (fileExists(ctx.cataloguePath)) {
    auto catalogue = Catalogue::open(ctx.cataloguePath, Catalogue::ReadOnly);
    if (args.has("arch")) {
      const std::string arch = args.value("arch");
      (catalogue->findArchitecture(arch) ? filter.architecture : filter.family) = arch;
    }
    models = catalogue->listModels(filter);
  }
  if (ctx.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& m : models) rows.push_back(toJson(m));
    printJson(ctx, rows);
    return 0;
  }
  Table table({"id", "architecture", "dataset", "source", "epoch", "seed", "top1", "top5", "params", "created"});
  for (const auto& m : models)
    table.add({m.id, m.architecture, m.dataset, m.source, optionalNumber(m.epoch), optionalNumber(m.seed), m.top1,
               m.top5, m.numParams, m.createdAt});
  table.print(ctx);
  return 0;
}

int runShow(Context& ctx, const ParsedArgs& args) {
  const int64_t id = parseId(args.positionals()[0]);
  auto catalogue = Catalogue::open(ctx.cataloguePath, Catalogue::ReadOnly);
  const ModelRecord m = requireModel(*catalogue, id);
  const StateDict weights = catalogue->loadWeights(m);
  Table layers({"name", "dtype", "shape", "numel", "mean", "std", "min", "max"});
  for (const auto& s : tensorStats(weights))
    layers.add({s.name, s.dtype, s.shape, s.numel, s.mean, s.std, s.min, s.max});
  const nlohmann::json fields = toJson(m);
  if (ctx.json) {
    printJson(ctx, {{"model", fields}, {"layers", layers.toJson()}});
    return 0;
  }
  for (const char* key : {"id", "architecture", "family", "dataset", "source", "seed", "epoch", "top1", "top5", "loss",
                          "num_params", "blob_sha256", "created_at", "metadata"})
    *ctx.out << std::left << std::setw(14) << key << formatCell(fields.at(key)) << "\n";
  *ctx.out << "\n";
  layers.print(ctx);
  return 0;
}

int runExport(Context& ctx, const ParsedArgs& args) {
  const int64_t id = parseId(args.positionals()[0]);
  const std::string out = args.value("out");
  if (fileExists(out) && !args.has("force")) fail(ErrorKind::Io, out, "already exists; use --force to overwrite it");
  auto catalogue = Catalogue::open(ctx.cataloguePath, Catalogue::ReadOnly);
  const ModelRecord m = requireModel(*catalogue, id);
  const StateDict weights = exportableWeights(*catalogue, m);
  saveWeightsFile(out, weights);
  if (ctx.json) {
    printJson(ctx, {{"id", id}, {"out", out}, {"tensors", weights.size()}, {"num_params", weights.numel()}});
  } else {
    *ctx.out << "exported model " << id << " (" << weights.size() << " tensors, " << weights.numel()
             << " parameters) to " << out << "\n";
  }
  return 0;
}

int runRemove(Context& ctx, const ParsedArgs& args) {
  std::vector<int64_t> ids;
  for (const auto& text : args.positionals()) ids.push_back(parseId(text));
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  Catalogue::WriteTransaction tx(*catalogue);
  for (int64_t id : ids) catalogue->removeModel(id);
  tx.commit();
  if (ctx.json) printJson(ctx, {{"removed", ids}});
  else *ctx.out << "removed " << ids.size() << (ids.size() == 1 ? " model" : " models") << "\n";
  return 0;
}

int runCheck(Context& ctx, const ParsedArgs& args) {
  auto catalogue = Catalogue::open(ctx.cataloguePath, Catalogue::ReadOnly);
  const IntegrityReport r = catalogue->integrityCheck(args.has("verify-blobs"));
  if (ctx.json) {
    printJson(ctx, {{"ok", r.ok()},
                    {"problems", r.problems},
                    {"models", r.modelsChecked},
                    {"samples", r.samplesChecked},
                    {"blobs", r.blobsChecked},
                    {"orphan_blobs", r.orphanBlobs}});
  } else {
    *ctx.out << r.modelsChecked << " models, " << r.samplesChecked << " samples, " << r.blobsChecked
             << " blobs checked" << (args.has("verify-blobs") ? " and re-hashed" : "") << "; " << r.orphanBlobs
             << " orphan blob files (igpg zoo gc removes them)\n";
    for (const auto& p : r.problems) *ctx.out << "problem: " << p << "\n";
  }
  if (!r.ok())
    fail(ErrorKind::Catalogue, catalogue->path(), std::to_string(r.problems.size()) + " integrity problems found");
  return 0;
}

int runGc(Context& ctx, const ParsedArgs& args) {
  const int64_t minutes = args.intValue("min-age", 60);
  if (minutes < 0) usageError("--min-age", "must be >= 0");
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  const BlobCleanup c = catalogue->cleanupOrphanBlobs(std::chrono::minutes(minutes));
  if (ctx.json)
    printJson(ctx, {{"files_removed", c.filesRemoved}, {"bytes_removed", c.bytesRemoved}});
  else
    *ctx.out << "removed " << c.filesRemoved << " orphan blob files (" << c.bytesRemoved << " bytes)\n";
  return 0;
}

const Registration kImport{Command{
    "zoo import",
    "add weight files (safetensors, PyTorch, TorchScript) to the catalogue",
    "All files or none: every file is read and checked first, then all rows are added in\n"
    "one transaction. Missing architecture and dataset names are added to the catalogue.",
    {{"arch", "SPEC", "the architecture the weights belong to"},
     {"dataset", "NAME", "the dataset they were trained on"},
     {"epoch", "N", "training epoch of the checkpoint"},
     {"seed", "N", "training seed"},
     {"source", "TEXT", "where the weights come from (default: import)"}},
    {{"FILE", "weight files", true, true}},
    runImport}};

const Registration kList{Command{
    "zoo list",
    "list the models in the catalogue",
    "",
    {{"arch", "NAME|FAMILY", "only this architecture, or this architecture family"},
     {"dataset", "NAME", "only models trained on this dataset"},
     {"min-acc", "X", "only models with top-1 test accuracy >= X (a fraction, e.g. 0.85)"},
     {"limit", "N", "at most N models"},
     {"sort", "COLUMN", "id (default), top1, top5, loss, epoch, seed, num_params, architecture, dataset, ..."},
     {"desc", "", "sort in descending order"}},
    {},
    runList}};

const Registration kShow{Command{
    "zoo show",
    "a model's fields and per-layer weight statistics",
    "",
    {},
    {{"ID", "model id"}},
    runShow}};

const Registration kExport{Command{
    "zoo export",
    "write a model's weights to a .safetensors or .pt file",
    "",
    {{"out", "FILE", "output file; the extension picks the format"},
     {"force", "", "overwrite an existing file"}},
    {{"ID", "model id"}},
    runExport}};

const Registration kRemove{Command{
    "zoo rm",
    "remove models (and the weight blobs nothing else uses)",
    "",
    {},
    {{"ID", "model ids", true, true}},
    runRemove}};

const Registration kCheck{Command{
    "zoo check",
    "check the catalogue's database and that every weight blob is present",
    "",
    {{"verify-blobs", "", "also re-hash every blob (reads all weight files)"}},
    {},
    runCheck}};

const Registration kGc{Command{
    "zoo gc",
    "delete weight blobs that no model or sample references",
    "Blobs younger than --min-age are kept, so that imports still in progress are safe.",
    {{"min-age", "MINUTES", "only blobs older than this (default 60)"}},
    {},
    runGc}};

}  // namespace

}  // namespace igpg::cli
