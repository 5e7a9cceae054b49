// The IGPG stages on the command line: train tokenizer, train prior, tokenize,
// reconstruct, generate, eval. Thin: every command calls core/jobs/pipelines.h.
#include "cli.h"

#include "arch/model.h"
#include "catalogue/catalogue.h"
#include "common/error.h"
#include "common/files.h"
#include "formats/weights_file.h"
#include "jobs/pipelines.h"

#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace igpg::cli {
namespace {

// --zoo FILTER: "key=value,key=value" over the model filter's fields.
ModelFilter parseZooFilter(const std::string& text) {
  ModelFilter f;
  if (text.empty() || text == "all") return f;
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    const auto eq = part.find('=');
    if (eq == std::string::npos) usageError("--zoo", "expected key=value pairs, got '" + part + "'");
    const std::string key = part.substr(0, eq), value = part.substr(eq + 1);
    if (key == "family") f.family = value;
    else if (key == "arch" || key == "architecture") f.architecture = value;
    else if (key == "dataset") f.dataset = value;
    else if (key == "source") f.source = value;
    else if (key == "search") f.search = value;
    else if (key == "min-acc") f.minTop1 = std::stod(value);
    else usageError("--zoo", "unknown key '" + key + "' (family, arch, dataset, source, search, min-acc)");
  }
  return f;
}

const OptionSpec kZooOption{"zoo", "FILTER",
                            "models to train on: all, or key=value,... with family, arch, dataset, source, search, "
                            "min-acc (e.g. source=zoo:default)"};

void printMetrics(const Context& ctx, const std::string& title, const nlohmann::json& values) {
  if (ctx.json) return printJson(ctx, values);
  *ctx.out << title << "\n";
  for (auto it = values.begin(); it != values.end(); ++it)
    if (!it.value().is_array() && !it.value().is_object()) *ctx.out << "  " << it.key() << ": " << formatCell(it.value()) << "\n";
}

}  // namespace

std::vector<OptionSpec> tokenizerShapeOptions() {
  const GumbelVQVAEOptions vq = TokenizerConfig{}.vq;
  return {{"chunk", "K", "values per chunk (default " + std::to_string(vq.chunkSize) + ")"},
          {"tokens-per-chunk", "L", "tokens per chunk (default " + std::to_string(vq.tokensPerChunk) + ")"},
          {"codebook", "M", "codebook entries (default " + std::to_string(vq.codebookSize) + ")"},
          {"code-dim", "D", "width of a code vector (default " + std::to_string(vq.codeDim) + ")"},
          {"hidden", "C", "channels of the encoder and decoder (default " + std::to_string(vq.hidden) + ")"},
          {"dense-hidden", "W", "width of the dense decoder, 0 for the convolutional one (default " +
                                    std::to_string(vq.denseHidden) + ")"},
          {"vectorization", "architecture|layer", "architecture-wise or layer-wise chunking (default architecture)"}};
}

std::vector<OptionSpec> drawOptions() {
  return {{"independent", "", "draw the samples independently, not spread over the prior's branches by systematic sampling"},
          {"branch-temperature", "T",
           "temperature at which the samples part where they must, choosing between the prior's branches (default " +
               formatCell(SamplingOptions{}.branchTemperature) + "; 1: the prior's own odds; 0: --temperature)"}};
}

void applyDrawOptions(const ParsedArgs& args, SamplingOptions& sampling) {
  sampling.stratified = !args.has("independent");
  sampling.branchTemperature = args.doubleValue("branch-temperature", sampling.branchTemperature);
}

void applyTokenizerShape(const ParsedArgs& args, TokenizerConfig& config) {
  config.vq.chunkSize = args.intValue("chunk", config.vq.chunkSize);
  config.vq.tokensPerChunk = args.intValue("tokens-per-chunk", config.vq.tokensPerChunk);
  config.vq.codebookSize = args.intValue("codebook", config.vq.codebookSize);
  config.vq.codeDim = args.intValue("code-dim", config.vq.codeDim);
  config.vq.hidden = args.intValue("hidden", config.vq.hidden);
  config.vq.denseHidden = args.intValue("dense-hidden", config.vq.denseHidden);
  if (args.has("vectorization")) config.vectorization = parseVectorization(args.value("vectorization"));
}

namespace {

int runTrainTokenizer(Context& ctx, const ParsedArgs& args) {
  TokenizerJobOptions o;
  o.zoo = parseZooFilter(args.valueOr("zoo", "all"));
  o.name = args.valueOr("name", "");
  auto& t = o.train;
  applyTokenizerShape(args, t.config);
  t.steps = args.intValue("steps", t.steps);
  t.batchSize = args.intValue("batch-size", t.batchSize);
  t.learningRate = args.doubleValue("lr", t.learningRate);
  t.seed = uint64_t(args.intValue("seed", int64_t(t.seed)));
  t.device = ctx.device();
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  const auto r = runTokenizerTraining(*catalogue, o, ctx.job);
  printMetrics(ctx, "tokenizer run " + std::to_string(r.runId) + " (" + r.checkpoint + ")",
               {{"run", r.runId}, {"checkpoint", r.checkpoint}, {"models", r.models},
                {"reconstruction_mse", r.summary.mse}, {"relative_rmse", r.summary.relativeRmse},
                {"perplexity", r.summary.codebook.perplexity}, {"dead_codes", r.summary.codebook.deadCodes},
                {"codebook", r.summary.codebook.usage.size()}, {"seconds", r.seconds}});
  return 0;
}

std::vector<OptionSpec> trainTokenizerOptions() {
  const TokenizerTrainOptions defaults;
  std::vector<OptionSpec> options = {kZooOption};
  for (auto& o : tokenizerShapeOptions()) options.push_back(std::move(o));
  options.insert(options.end(),
                 {{"steps", "N", "optimizer steps (default " + std::to_string(defaults.steps) + ")"},
                  {"batch-size", "N", "chunks per step (default " + std::to_string(defaults.batchSize) + ")"},
                  {"lr", "X", "AdamW learning rate"},
                  {"seed", "N", "seed (default 0)"},
                  {"name", "TEXT", "run name"}});
  return options;
}

const Registration trainTokenizer{Command{
    "train tokenizer",
    "train the Gumbel VQ-VAE weight tokenizer on a zoo",
    "Chunks every model's weights (K values per chunk), encodes each chunk into l tokens of a\n"
    "codebook of m entries, and trains with equation 2 of the paper. Interrupted runs resume\n"
    "from their checkpoint when started again with the same options.",
    trainTokenizerOptions(),
    {},
    runTrainTokenizer}};

int runTrainPrior(Context& ctx, const ParsedArgs& args) {
  PriorJobOptions o;
  o.tokenizerRun = args.intValue("tokenizer", 0);
  if (args.has("zoo")) o.zoo = parseZooFilter(args.value("zoo"));
  o.name = args.valueOr("name", "");
  o.archEncoder = args.valueOr("arch-encoder", "builtin");
  o.datasetEncoder = args.valueOr("dataset-encoder", "builtin");
  auto& t = o.train;
  t.gpt.layers = args.intValue("layers", t.gpt.layers);
  t.gpt.heads = args.intValue("heads", t.gpt.heads);
  t.gpt.width = args.intValue("width", t.gpt.width);
  t.gpt.contextLength = args.intValue("context", t.gpt.contextLength);
  t.steps = args.intValue("steps", t.steps);
  t.batchSize = args.intValue("batch-size", t.batchSize);
  t.learningRate = args.doubleValue("lr", t.learningRate);
  t.seed = uint64_t(args.intValue("seed", int64_t(t.seed)));
  t.device = ctx.device();
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  const auto r = runPriorTraining(*catalogue, o, ctx.job);
  printMetrics(ctx, "prior run " + std::to_string(r.runId) + " (" + r.checkpoint + ")",
               {{"run", r.runId}, {"checkpoint", r.checkpoint}, {"sequences", r.sequences},
                {"longest_sequence", r.longestSequence}, {"loss", r.loss}, {"token_accuracy", r.tokenAccuracy},
                {"conditions_on_architecture", r.conditionsOnArchitecture},
                {"conditions_on_dataset", r.conditionsOnDataset}, {"seconds", r.seconds}});
  return 0;
}

const PriorTrainOptions kPriorDefaults;
const Registration trainPrior{Command{
    "train prior",
    "train the instruction-conditioned GPT prior on a tokenizer's token sequences",
    "Conditions on the architecture description (paper Remark 1) and on a dataset embedding\n"
    "(five images per class, mean-pooled); on one alone when the whole zoo shares the other.",
    {{"tokenizer", "RUN", "tokenizer run id (default: the newest finished one)"},
     kZooOption,
     {"layers", "N", "transformer layers (default " + std::to_string(kPriorDefaults.gpt.layers) + ")"},
     {"heads", "N", "attention heads (default " + std::to_string(kPriorDefaults.gpt.heads) + ")"},
     {"width", "N", "model width (default " + std::to_string(kPriorDefaults.gpt.width) + ")"},
     {"context", "N", "N_max, tokens per window (default " + std::to_string(kPriorDefaults.gpt.contextLength) + ")"},
     {"steps", "N", "optimizer steps (default: " + autoPriorStepsText() + ")"},
     {"batch-size", "N", "windows per step (default " + std::to_string(kPriorDefaults.batchSize) + ")"},
     {"lr", "X", "peak learning rate of the linear schedule"},
     {"seed", "N", "seed (default 0)"},
     {"arch-encoder", "FILE.pt", "TorchScript text encoder instead of the built-in one"},
     {"dataset-encoder", "FILE.pt", "TorchScript image encoder instead of the built-in one"},
     {"name", "TEXT", "run name"}},
    {},
    runTrainPrior}};

int runTokenize(Context& ctx, const ParsedArgs& args) {
  auto catalogue = Catalogue::open(ctx.cataloguePath, Catalogue::ReadOnly);
  const RunRecord run = findRun(*catalogue, "tokenizer", args.intValue("tokenizer", 0));
  WeightTokenizer tokenizer = loadTokenizerRun(run, ctx.device());
  ModelFilter filter;
  filter.ids = {std::stoll(args.positionals().at(0))};
  const auto zoo = loadZoo(*catalogue, filter);
  auto tokens = tokenizer.encode(zoo[0].weights, zoo[0].layout);
  std::vector<int64_t> ids(tokens.data_ptr<int64_t>(), tokens.data_ptr<int64_t>() + tokens.numel());
  if (ctx.json) {
    printJson(ctx, {{"model", filter.ids[0]}, {"tokenizer_run", run.id}, {"tokens", ids},
                    {"tokens_per_chunk", tokenizer.config().vq.tokensPerChunk}});
  } else {
    *ctx.out << "model " << filter.ids[0] << " (" << zoo[0].model.spec.name() << " on " << zoo[0].model.dataset->name()
             << "): " << ids.size() << " tokens, " << tokenizer.config().vq.tokensPerChunk << " per chunk\n";
    for (size_t i = 0; i < ids.size(); ++i)
      *ctx.out << ids[i] << ((i + 1) % size_t(tokenizer.config().vq.tokensPerChunk) == 0 || i + 1 == ids.size() ? "\n" : " ");
  }
  return 0;
}

const Registration tokenize{Command{"tokenize",
                                    "print a model's token sequence",
                                    "",
                                    {{"tokenizer", "RUN", "tokenizer run id (default: the newest finished one)"}},
                                    {{"ID", "model id"}},
                                    runTokenize}};

int runReconstruct(Context& ctx, const ParsedArgs& args) {
  auto catalogue = Catalogue::open(ctx.cataloguePath, Catalogue::ReadOnly);
  const std::string what = args.positionals().at(0);
  ModelFilter filter;
  if (!what.empty() && std::all_of(what.begin(), what.end(), ::isdigit)) filter.ids = {std::stoll(what)};
  else filter = parseZooFilter(what);
  const auto rows = runReconstruction(*catalogue, args.intValue("tokenizer", 0), filter, ctx.device(), ctx.job);
  Table table({"model", "architecture", "dataset", "held_out", "tokens", "original_top1", "reconstructed_top1",
               "gap", "calibrated_top1", "relative_rmse"});
  double sumGap = 0, maxGap = 0, sumHeld = 0, sumCalibrated = 0, maxCalibrated = 0;
  int64_t held = 0;
  for (const auto& r : rows) {
    const double gap = 100.0 * (r.reconstructedTop1 - r.originalTop1);
    const double calibratedGap = std::fabs(100.0 * (r.reconstructedTop1 - r.calibratedTop1));
    table.add({r.modelId, r.architecture, r.dataset, !r.inTokenizerZoo, r.tokens, 100.0 * r.originalTop1,
               100.0 * r.reconstructedTop1, gap, 100.0 * r.calibratedTop1, r.relativeRmse});
    sumGap += std::fabs(gap);
    maxGap = std::max(maxGap, std::fabs(gap));
    sumCalibrated += calibratedGap;
    maxCalibrated = std::max(maxCalibrated, calibratedGap);
    if (!r.inTokenizerZoo) {
      sumHeld += std::fabs(gap);
      ++held;
    }
  }
  if (ctx.json) {
    printJson(ctx, {{"rows", table.toJson()},
                    {"mean_abs_gap", sumGap / double(rows.size())},
                    {"max_abs_gap", maxGap},
                    {"mean_abs_gap_to_calibrated", sumCalibrated / double(rows.size())},
                    {"max_abs_gap_to_calibrated", maxCalibrated},
                    {"held_out", held},
                    {"held_out_mean_abs_gap", held ? sumHeld / double(held) : 0.0}});
    return 0;
  }
  table.print(ctx);
  *ctx.out << std::fixed << std::setprecision(3) << "models: " << rows.size() << ", mean |gap| " << sumGap / double(rows.size())
           << " points, max |gap| " << maxGap << " points";
  if (held) *ctx.out << "; held out of tokenizer training: " << held << ", mean |gap| " << sumHeld / double(held);
  *ctx.out << "\nagainst the originals with recalibrated BatchNorm statistics (the tokenizer's own loss): mean |gap| "
           << sumCalibrated / double(rows.size()) << " points, max |gap| " << maxCalibrated << " points\n";
  return 0;
}

const Registration reconstruct{Command{
    "reconstruct",
    "encode and decode models through the tokenizer and compare their test top-1",
    "ID is a model id, FILTER selects several (as --zoo of train tokenizer).",
    {{"tokenizer", "RUN", "tokenizer run id (default: the newest finished one)"}},
    {{"ID|FILTER", "a model id or a filter"}},
    runReconstruct}};

int runGenerate(Context& ctx, const ParsedArgs& args) {
  GenerateOptions o;
  o.priorRun = args.intValue("prior", 0);
  o.architecture = args.value("arch");
  o.dataset = args.value("dataset");
  o.samples = args.intValue("n", 5);
  if (o.samples < 1 || o.samples > 10000) usageError("-n", "must be between 1 and 10000");
  o.sampling.temperature = args.doubleValue("temperature", o.sampling.temperature);
  o.sampling.topK = args.intValue("top-k", o.sampling.topK);
  o.sampling.topP = args.doubleValue("top-p", o.sampling.topP);
  o.sampling.seed = uint64_t(args.intValue("seed", 0));
  o.sampling.streams = args.intValue("streams", o.sampling.streams);
  applyDrawOptions(args, o.sampling);
  if (o.sampling.streams < 1) usageError("--streams", "must be at least 1");
  o.evaluate = args.has("eval");
  o.save = args.has("save");
  o.addToZoo = o.save;
  o.outDir = args.valueOr("out", "");
  o.device = ctx.device();
  if (args.has("finetune")) {
    FineTuneOptions f;
    f.epochs = args.intValue("finetune", f.epochs);
    if (f.epochs < 1) usageError("--finetune", "must be at least 1 epoch");
    f.trainSamples = args.intValue("finetune-samples", f.trainSamples);
    f.optimizer.learningRate = args.doubleValue("finetune-lr", f.optimizer.learningRate);
    f.device = o.device;
    o.fineTune = f;
  }
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  const GenerateResult r = runGeneration(*catalogue, o, ctx.job);
  Table fineTuning({"epoch", "generated_top1", "scratch_top1"});
  if (r.generatedCurves) {
    const auto generated = meanCurve(*r.generatedCurves), scratch = meanCurve(*r.scratchCurves);
    for (size_t e = 0; e < generated.size(); ++e)
      fineTuning.add({r.generatedCurves->epochs[e], 100 * generated[e], 100 * scratch[e]});
  }
  Table table({"sample", "top1", "top5", "gap", "nearest_model", "relative_distance", "agreement", "file"});
  double sum = 0, best = -1, worst = 2;
  for (size_t i = 0; i < r.samples.size(); ++i) {
    const auto& s = r.samples[i];
    const double top1 = s.metrics ? s.metrics->top1 : NAN;
    if (s.metrics) {
      sum += top1;
      best = std::max(best, top1);
      worst = std::min(worst, top1);
    }
    table.add({int64_t(i), s.metrics ? nlohmann::json(100 * top1) : nlohmann::json(),
               s.metrics ? nlohmann::json(100 * s.metrics->top5) : nlohmann::json(),
               s.metrics && !std::isnan(r.pretrainedMeanTop1) ? nlohmann::json(100 * (top1 - r.pretrainedMeanTop1)) : nlohmann::json(),
               s.novelty ? nlohmann::json(s.novelty->nearestModelId) : nlohmann::json(),
               s.novelty ? nlohmann::json(s.novelty->relativeDistance) : nlohmann::json(),
               s.novelty && !std::isnan(s.novelty->agreement) ? nlohmann::json(s.novelty->agreement) : nlohmann::json(),
               s.exportedPath});
  }
  const double n = double(r.samples.size());
  nlohmann::json summary = {{"architecture", r.architecture}, {"dataset", r.dataset}, {"description", r.description},
                            {"parameters", r.parameters},     {"tokens", r.tokens},   {"blocks", r.blocks},
                            {"prior_run", r.priorRun},        {"sample_seconds", r.sampleSeconds},
                            {"decode_seconds", r.decodeSeconds}};
  if (!std::isnan(r.pretrainedMeanTop1)) summary["pretrained_mean_top1"] = 100 * r.pretrainedMeanTop1;
  if (o.evaluate) {
    summary["mean_top1"] = 100 * sum / n;
    summary["best_top1"] = 100 * best;
    summary["worst_top1"] = 100 * worst;
  }
  if (ctx.json) {
    summary["samples"] = table.toJson();
    if (r.generatedCurves) summary["fine_tuning"] = fineTuning.toJson();
    printJson(ctx, summary);
    return 0;
  }
  *ctx.out << r.architecture << " on " << r.dataset << ": " << r.parameters << " parameters, " << r.tokens << " tokens"
           << (r.blocks > 1 ? " in " + std::to_string(r.blocks) + " blocks (Algorithm 1)" : "") << ", prior run "
           << r.priorRun << "\n";
  table.print(ctx);
  *ctx.out << std::fixed << std::setprecision(2);
  if (o.evaluate) *ctx.out << "generated top-1: mean " << 100 * sum / n << ", best " << 100 * best << ", worst " << 100 * worst;
  if (o.evaluate && !std::isnan(r.pretrainedMeanTop1))
    *ctx.out << "; pretrained mean " << 100 * r.pretrainedMeanTop1 << " (" << r.pretrainedIds.size() << " checkpoints)";
  *ctx.out << "\nsampled in " << r.sampleSeconds << " s, decoded in " << r.decodeSeconds << " s\n";
  if (r.generatedCurves) {
    *ctx.out << "\nfine-tuning, mean test top-1 of the " << r.samples.size() << " samples and of as many random "
             << "initializations (" << r.fineTuneSeconds << " s):\n";
    fineTuning.print(ctx);
  }
  return 0;
}

std::vector<OptionSpec> generateOptions() {
  std::vector<OptionSpec> options = {
      {"arch", "SPEC", "architecture: preset, JSON SPEC (igpg arch list) or an architecture of the catalogue (igpg zoo list)"},
      {"dataset", "NAME", "dataset or derived task (igpg datasets list)"},
      {"n", "N", "samples (default 5)", false, 'n'},
      {"temperature", "T", "sampling temperature (default " + formatCell(SamplingOptions{}.temperature) + "; 0: greedy)"},
      {"top-k", "K", "sample among the K most likely tokens (default: all)"},
      {"top-p", "P", "nucleus sampling mass (default 1)"},
      {"seed", "N", "sampling seed (default 0)"},
      {"streams", "S", "networks longer than the prior's context: generate S parts side by side, each by Algorithm 1 "
                       "(default 1; up to S times faster on a GPU, at the cost of context across the seams)"},
      {"prior", "RUN", "prior run id (default: the newest finished one)"},
      {"eval", "", "evaluate every sample on the test split"},
      {"save", "", "store the samples in the catalogue (and in the zoo, source generated:RUN)"},
      {"out", "DIR", "export each sample as DIR/<arch>_<i>.safetensors"},
      {"finetune", "E", "fine-tune the samples and as many random initializations E epochs; print both curves"},
      {"finetune-samples", "N", "fine-tune on a fixed subset of N training images (default: all)"},
      {"finetune-lr", "X", "Adam learning rate of fine-tuning (default " + formatCell(FineTuneOptions{}.optimizer.learningRate) + ")"},
  };
  for (auto& o : drawOptions()) options.push_back(std::move(o));
  return options;
}

const Registration generate{Command{
    "generate",
    "generate weights for an architecture and a dataset",
    "Samples token sequences from a trained prior (block by block, Algorithm 1, when the\n"
    "network needs more tokens than the prior's context) and decodes them into weights.",
    generateOptions(),
    {},
    runGenerate}};

int runEval(Context& ctx, const ParsedArgs& args) {
  const std::string what = args.positionals().at(0);
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  StateDict weights;
  std::string archText = args.valueOr("arch", ""), datasetName = args.valueOr("dataset", "");
  if (!what.empty() && std::all_of(what.begin(), what.end(), ::isdigit) && !fileExists(what)) {
    auto record = catalogue->model(std::stoll(what));
    if (!record) fail(ErrorKind::NotFound, "model " + what, "no such model");
    weights = catalogue->loadWeights(*record);
    if (archText.empty()) {
      const nlohmann::json spec = storedArchitectureSpec(*catalogue, record->architecture);
      archText = spec.is_null() ? record->architecture : spec.dump();
    }
    if (datasetName.empty()) datasetName = record->dataset;
  } else {
    if (archText.empty() || datasetName.empty()) usageError("eval", "a weight file needs --arch SPEC and --dataset NAME");
    weights = loadWeightsFile(what);
  }
  auto dataset = openDataset(*catalogue, datasetName);
  const arch::ArchSpec spec = resolveArchitecture(*catalogue, archText, *dataset);
  arch::Model model(spec.program());
  try {
    model->loadStateDict(weights);
  } catch (const Error& e) {
    rethrowWithContext(e, what);
  }
  EvalOptions options;
  options.device = ctx.device();
  const ClassifierMetrics m = evaluateClassifier(model, dataset->test().images, dataset->test().labels, options, ctx.job);
  printMetrics(ctx, spec.name() + " on " + dataset->name() + " (test split, " + std::to_string(m.samples) + " images)",
               {{"architecture", spec.name()}, {"dataset", dataset->name()}, {"top1", 100 * m.top1},
                {"top5", 100 * m.top5}, {"loss", m.loss}, {"samples", m.samples}});
  return 0;
}

const Registration eval{Command{"eval",
                                "top-1/top-5 of weights on a dataset's test split",
                                "FILE is any weight file (safetensors, .pt, TorchScript); ID a catalogue model,\n"
                                "whose architecture and dataset are the defaults.",
                                {{"arch", "SPEC", "architecture (required for a file)"},
                                 {"dataset", "NAME", "dataset (required for a file)"}},
                                {{"FILE|ID", "weight file or model id"}},
                                runEval}};

}  // namespace
}  // namespace igpg::cli
