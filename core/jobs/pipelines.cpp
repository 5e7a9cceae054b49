#include "jobs/pipelines.h"

#include "arch/model.h"
#include "common/error.h"
#include "common/files.h"
#include "common/sha256.h"
#include "common/stopwatch.h"
#include "formats/safetensors.h"
#include "jobs/run_recorder.h"
#include "prior/structure.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <utility>

namespace igpg {

namespace {

std::string fileSha256(const std::string& path) {
  const auto bytes = readFileBytes(path);
  return sha256Hex(bytes.data(), bytes.size());
}

std::vector<float> toVector(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU, torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

std::vector<int64_t> idsOf(const std::vector<ZooExample>& zoo) {
  std::vector<int64_t> ids;
  for (const auto& ex : zoo) ids.push_back(ex.model.record.id);
  return ids;
}

}  // namespace

// --- the zoo -------------------------------------------------------------------------

nlohmann::json filterToJson(const ModelFilter& f) {
  nlohmann::json j = nlohmann::json::object();
  if (!f.family.empty()) j["family"] = f.family;
  if (!f.architecture.empty()) j["architecture"] = f.architecture;
  if (!f.dataset.empty()) j["dataset"] = f.dataset;
  if (!f.source.empty()) j["source"] = f.source;
  if (!f.search.empty()) j["search"] = f.search;
  if (f.minTop1) j["min_top1"] = *f.minTop1;
  if (f.maxTop1) j["max_top1"] = *f.maxTop1;
  if (!f.ids.empty()) j["ids"] = f.ids;
  return j;
}

ModelFilter filterFromJson(const nlohmann::json& j) {
  ModelFilter f;
  f.family = j.value("family", "");
  f.architecture = j.value("architecture", "");
  f.dataset = j.value("dataset", "");
  f.source = j.value("source", "");
  f.search = j.value("search", "");
  if (j.contains("min_top1")) f.minTop1 = j["min_top1"].get<double>();
  if (j.contains("max_top1")) f.maxTop1 = j["max_top1"].get<double>();
  if (j.contains("ids")) f.ids = j["ids"].get<std::vector<int64_t>>();
  return f;
}

std::vector<ZooExample> loadZoo(Catalogue& catalogue, const ModelFilter& filter, const JobControl& job) {
  ModelFilter f = filter;
  f.limit = -1;
  f.offset = 0;
  const auto records = catalogue.listModels(f);
  if (records.empty()) fail(ErrorKind::NotFound, "zoo", "no model in the catalogue matches " + filterToJson(filter).dump());
  std::vector<ZooExample> zoo;
  ProgressReporter progress(job, "load zoo", int64_t(records.size()));
  for (const auto& record : records) {
    job.cancel.throwIfCancelled("load zoo");
    ResolvedModel resolved = resolveModel(catalogue, record);
    WeightLayout layout = weightLayout(resolved.spec.program());
    StateDict weights = catalogue.loadWeights(record);
    // Checks names and shapes against the architecture before anything trains on them.
    (void)flattenWeights(weights, layout);
    for (const auto& e : layout.entries)
      if (!torch::isfinite(weights.at(e.name)).all().item<bool>())
        fail(ErrorKind::Format, "model " + std::to_string(record.id) + ": tensor " + e.name, "holds NaN or inf");
    zoo.push_back({std::move(resolved), std::move(layout), std::move(weights)});
    progress.update(int64_t(zoo.size()));
  }
  return zoo;
}

RunRecord findRun(Catalogue& catalogue, const std::string& kind, int64_t id) {
  if (id > 0) {
    auto run = catalogue.run(id);
    if (!run) fail(ErrorKind::NotFound, "run " + std::to_string(id), "no such run");
    if (run->kind != kind)
      fail(ErrorKind::Mismatch, "run " + std::to_string(id), "is a " + run->kind + " run, not a " + kind + " run");
    if (run->status != "finished")
      fail(ErrorKind::Mismatch, "run " + std::to_string(id), "did not finish (" + run->status + ")");
    return *run;
  }
  const auto runs = catalogue.listRuns(kind);
  for (auto it = runs.rbegin(); it != runs.rend(); ++it)
    if (it->status == "finished") return *it;
  fail(ErrorKind::NotFound, kind, "no finished " + kind + " run in the catalogue; train one first (igpg train " + kind + ")");
}

std::optional<RunRecord> findEquivalentRun(Catalogue& catalogue, const std::string& kind, const nlohmann::json& config) {
  const auto runs = catalogue.listRuns(kind);
  for (auto it = runs.rbegin(); it != runs.rend(); ++it)
    if (it->status == "finished" && it->config == config && !it->checkpointPath.empty() &&
        fileExists(it->checkpointPath))
      return *it;
  return std::nullopt;
}

// --- tokenizer -----------------------------------------------------------------------

TokenizerJobResult runTokenizerTraining(Catalogue& catalogue, const TokenizerJobOptions& options,
                                        const JobControl& job) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<ZooExample> zoo = loadZoo(catalogue, options.zoo, job);
  std::vector<TokenizerExample> examples;
  for (const auto& ex : zoo) examples.push_back({ex.layout, ex.weights});

  RunRecord run;
  run.kind = "tokenizer";
  run.name = options.name.empty() ? "tokenizer" : options.name;
  run.config = {{"tokenizer", options.train.config.toJson()},
                {"steps", options.train.steps},
                {"batch_size", options.train.batchSize},
                {"learning_rate", options.train.learningRate},
                {"final_learning_rate", options.train.finalLearningRate},
                {"restart_every", options.train.restartEvery},
                {"gamma", options.train.gamma},
                {"beta", options.train.beta},
                {"temperature_cycles", options.train.temperatureCycles},
                {"tau", {options.train.tauMax, options.train.tauMin}},
                {"seed", options.train.seed},
                {"device", options.train.device.str()},
                {"zoo", filterToJson(options.zoo)},
                {"models", idsOf(zoo)}};
  if (options.reuse)
    if (auto done = findEquivalentRun(catalogue, "tokenizer", run.config)) {
      TokenizerJobResult out;
      out.runId = done->id;
      out.checkpoint = done->checkpointPath;
      WeightTokenizer tokenizer = loadTokenizerRun(*done, options.train.device);
      out.summary = summarizeReconstruction(tokenizer, examples);
      out.models = int64_t(zoo.size());
      out.seconds = done->summary.value("seconds", 0.0);
      out.reused = true;
      return out;
    }
  RunRecorder recorder(catalogue, run);
  return recorder.guard([&] {
    TokenizerTrainOptions train = options.train;
    const std::string dir = runDirectory(catalogue, recorder.id());
    train.checkpointPath = dir + "/training.safetensors";
    const std::string checkpoint = dir + "/tokenizer.safetensors";
    auto result = trainTokenizer(examples, train, job, [&](int64_t step, const auto& metrics) {
      recorder.metric(step, metrics);
    });
    result.tokenizer.save(checkpoint);
    std::filesystem::remove(train.checkpointPath);
    recorder.setCheckpoint(checkpoint);
    TokenizerJobResult out;
    out.runId = recorder.id();
    out.checkpoint = checkpoint;
    out.summary = summarizeReconstruction(result.tokenizer, examples);
    out.models = int64_t(zoo.size());
    out.seconds = secondsSince(start);
    recorder.finish({{"reconstruction_mse", out.summary.mse},
                     {"relative_rmse", out.summary.relativeRmse},
                     {"codebook", out.summary.codebook.toJson()},
                     {"models", out.models},
                     {"seconds", out.seconds},
                     {"checkpoint_sha256", fileSha256(checkpoint)}});
    return out;
  });
}

WeightTokenizer loadTokenizerRun(const RunRecord& run, torch::Device device) {
  if (run.checkpointPath.empty())
    fail(ErrorKind::NotFound, "run " + std::to_string(run.id), "has no tokenizer checkpoint");
  return WeightTokenizer::load(run.checkpointPath, device);
}

// --- conditioning --------------------------------------------------------------------

Conditioner::Conditioner(Catalogue& catalogue, const std::string& archEncoder, const std::string& datasetEncoder)
    : catalogue_(catalogue), text_(makeTextEncoder(archEncoder)), image_(makeImageEncoder(datasetEncoder)) {
  archId_ = text_->id();
  datasetId_ = image_->id();
}

torch::Tensor Conditioner::architecture(const arch::ArchSpec& spec, int64_t sequenceLength) {
  const std::string text = architectureInstruction(spec.family(), spec.description(), sequenceLength);
  if (auto cached = catalogue_.cachedEmbedding("architecture", text, archId_))
    return torch::tensor(*cached, torch::kFloat32);
  auto v = text_->encode(text);
  catalogue_.storeEmbedding("architecture", text, archId_, toVector(v));
  return v;
}

torch::Tensor Conditioner::dataset(const Dataset& dataset) {
  const std::string key = dataset.name() + "@" + dataset.contentHash();
  if (auto cached = catalogue_.cachedEmbedding("dataset", key, datasetId_))
    return torch::tensor(*cached, torch::kFloat32);
  const TensorSplit sample = dataset.balancedSample(5, 0);
  auto v = datasetEmbedding(*image_, sample.images, sample.labels, dataset.numClasses());
  catalogue_.storeEmbedding("dataset", key, datasetId_, toVector(v));
  return v;
}

// --- prior ---------------------------------------------------------------------------

namespace {

struct PriorInputs {
  std::vector<PriorExample> examples;
  bool useArch = false, useDataset = false;
};

// Token sequences of the zoo with their structure and conditioning; structures are
// shared between models of one architecture.
PriorInputs priorInputs(const std::vector<ZooExample>& zoo, WeightTokenizer& tokenizer, Conditioner& conditioner,
                        const JobControl& job) {
  PriorInputs in;
  std::set<std::string> architectures, datasets;
  for (const auto& ex : zoo) {
    architectures.insert(ex.model.spec.canonicalJson());
    datasets.insert(ex.model.dataset->name());
  }
  // The paper conditions on one alone when every model shares the other.
  in.useArch = architectures.size() > 1;
  in.useDataset = datasets.size() > 1;
  if (!in.useArch && !in.useDataset) in.useDataset = true;  // one pair: condition on its dataset
  std::map<std::string, TokenStructure> structures;
  std::map<std::string, torch::Tensor> archEmbeddings, datasetEmbeddings;
  ProgressReporter progress(job, "tokenize zoo", int64_t(zoo.size()));
  for (const auto& ex : zoo) {
    job.cancel.throwIfCancelled("tokenize zoo");
    const std::string archKey = ex.model.spec.canonicalJson();
    PriorExample p;
    p.tokens = tokenizer.encode(ex.weights, ex.layout);
    if (!structures.count(archKey))
      structures[archKey] = tokenStructure(tokenizer.plan(ex.layout), tokenizer.config().vq.tokensPerChunk,
                                           ex.layout.numLayers);
    p.structure = structures[archKey];
    if (in.useArch) {
      if (!archEmbeddings.count(archKey))
        archEmbeddings[archKey] = conditioner.architecture(ex.model.spec, p.tokens.numel());
      p.archEmbedding = archEmbeddings[archKey];
    }
    if (in.useDataset) {
      const std::string& name = ex.model.dataset->name();
      if (!datasetEmbeddings.count(name)) datasetEmbeddings[name] = conditioner.dataset(*ex.model.dataset);
      p.datasetEmbedding = datasetEmbeddings[name];
    }
    in.examples.push_back(std::move(p));
    progress.update(int64_t(in.examples.size()));
  }
  return in;
}

}  // namespace

PriorJobResult runPriorTraining(Catalogue& catalogue, const PriorJobOptions& options, const JobControl& job) {
  const auto start = std::chrono::steady_clock::now();
  const RunRecord tokenizerRun = findRun(catalogue, "tokenizer", options.tokenizerRun);
  const ModelFilter filter = options.zoo ? *options.zoo : filterFromJson(tokenizerRun.config.value("zoo", nlohmann::json::object()));
  WeightTokenizer tokenizer = loadTokenizerRun(tokenizerRun, options.train.device);
  std::vector<ZooExample> zoo = loadZoo(catalogue, filter, job);
  Conditioner conditioner(catalogue, options.archEncoder, options.datasetEncoder);
  PriorInputs inputs = priorInputs(zoo, tokenizer, conditioner, job);
  if (!inputs.useArch)
    for (auto& e : inputs.examples) e.archEmbedding = torch::Tensor();
  if (!inputs.useDataset)
    for (auto& e : inputs.examples) e.datasetEmbedding = torch::Tensor();

  PriorTrainOptions train = options.train;
  train.gpt.vocabSize = tokenizer.config().vq.codebookSize;
  train.gpt.tokensPerChunk = tokenizer.config().vq.tokensPerChunk;
  train.info.tokenizerHash = tokenizerRun.summary.value("checkpoint_sha256", "");
  train.info.archEncoder = inputs.useArch ? conditioner.archEncoderId() : "";
  train.info.datasetEncoder = inputs.useDataset ? conditioner.datasetEncoderId() : "";
  train.info.extra = {{"tokenizer_run", tokenizerRun.id}, {"models", idsOf(zoo)}};
  train.steps = priorTrainingSteps(inputs.examples, train);

  RunRecord run;
  run.kind = "prior";
  run.name = options.name.empty() ? "prior" : options.name;
  run.parentRunId = tokenizerRun.id;
  run.config = {{"gpt", PriorModel::optionsToJson(train.gpt)},
                {"steps", train.steps},
                {"batch_size", train.batchSize},
                {"learning_rate", train.learningRate},
                {"final_learning_rate", train.finalLearningRate},
                {"warmup_steps", train.warmupSteps},
                {"weight_decay", train.weightDecay},
                {"context_overlap", train.contextOverlap},
                {"seed", train.seed},
                {"device", train.device.str()},
                {"tokenizer_run", tokenizerRun.id},
                {"arch_encoder", options.archEncoder},
                {"dataset_encoder", options.datasetEncoder},
                {"zoo", filterToJson(filter)},
                {"models", idsOf(zoo)}};
  if (options.reuse)
    if (auto done = findEquivalentRun(catalogue, "prior", run.config)) {
      PriorJobResult out;
      out.runId = done->id;
      out.checkpoint = done->checkpointPath;
      out.loss = done->summary.value("loss", 0.0);
      out.tokenAccuracy = done->summary.value("token_accuracy", 0.0);
      out.sequences = done->summary.value("sequences", int64_t(0));
      out.longestSequence = done->summary.value("longest_sequence", int64_t(0));
      out.conditionsOnArchitecture = done->summary.value("conditions_on_architecture", false);
      out.conditionsOnDataset = done->summary.value("conditions_on_dataset", false);
      out.seconds = done->summary.value("seconds", 0.0);
      out.reused = true;
      return out;
    }
  RunRecorder recorder(catalogue, run);
  return recorder.guard([&] {
    const std::string dir = runDirectory(catalogue, recorder.id());
    train.checkpointPath = dir + "/training.safetensors";
    const std::string checkpoint = dir + "/prior.safetensors";
    auto result = trainPrior(inputs.examples, train, job, [&](int64_t step, const auto& metrics) {
      recorder.metric(step, metrics);
    });
    result.prior.save(checkpoint);
    std::filesystem::remove(train.checkpointPath);
    recorder.setCheckpoint(checkpoint);
    PriorJobResult out;
    out.runId = recorder.id();
    out.checkpoint = checkpoint;
    out.loss = result.finalLoss;
    out.tokenAccuracy = result.tokenAccuracy;
    out.sequences = int64_t(inputs.examples.size());
    out.longestSequence = result.prior.info().maxSequenceLength;
    out.conditionsOnArchitecture = inputs.useArch;
    out.conditionsOnDataset = inputs.useDataset;
    out.seconds = secondsSince(start);
    recorder.finish({{"loss", out.loss},
                     {"token_accuracy", out.tokenAccuracy},
                     {"sequences", out.sequences},
                     {"longest_sequence", out.longestSequence},
                     {"conditions_on_architecture", out.conditionsOnArchitecture},
                     {"conditions_on_dataset", out.conditionsOnDataset},
                     {"seconds", out.seconds}});
    return out;
  });
}

// --- generation ----------------------------------------------------------------------

std::vector<ClassifierMetrics> evaluateWeights(const arch::ArchSpec& spec, const std::vector<StateDict>& weights,
                                               const Dataset& dataset, torch::Device device, bool keepPredictions,
                                               const JobControl& job) {
  if (weights.empty()) return {};
  arch::ModelStack stack = arch::stackFromStateDicts(spec.program(), weights);
  EvalOptions options;
  options.device = device;
  options.keepPredictions = keepPredictions;
  return evaluateClassifiers(stack, dataset.test().images, dataset.test().labels, options, job);
}

ClassifierMetrics evaluateWeights(const arch::ArchSpec& spec, const StateDict& weights, const Dataset& dataset,
                                  torch::Device device, const JobControl& job) {
  return evaluateWeights(spec, std::vector<StateDict>{weights}, dataset, device, false, job).front();
}

namespace {

const std::string kRunningMean = "running_mean";

bool isRunningMean(const std::string& name) {
  return name.size() >= kRunningMean.size() &&
         name.compare(name.size() - kRunningMean.size(), kRunningMean.size(), kRunningMean) == 0;
}

bool hasBatchNormStatistics(const StateDict& weights) {
  const auto& entries = weights.entries();
  return std::any_of(entries.begin(), entries.end(), [](const auto& e) { return isRunningMean(e.name); });
}

}  // namespace

StateDict calibrateBatchNorm(const arch::ArchSpec& spec, const StateDict& weights, const Dataset& dataset,
                            torch::Device device, int64_t batches) {
  if (!hasBatchNormStatistics(weights)) return weights;
  StateDict restarted = weights;
  for (const auto& e : weights.entries()) {
    if (!isRunningMean(e.name)) continue;
    const std::string count = e.name.substr(0, e.name.size() - kRunningMean.size()) + "num_batches_tracked";
    if (const torch::Tensor* t = weights.find(count)) restarted.set(count, torch::zeros_like(*t));
  }
  arch::Model model(spec.program());
  model->loadStateDict(restarted);
  // The cumulative average (no momentum) over batches counted from zero: the first batch
  // replaces the decoded statistics outright, and every batch weighs the same. An
  // exponential average would keep a share of the decoded values (0.9^5 after the five
  // batches of a small dataset).
  model->setBatchNormMomentum(std::nullopt);
  model->to(device);
  model->train();
  torch::NoGradGuard noGrad;
  const auto& images = dataset.train().images;
  const int64_t batch = 256;
  for (int64_t b = 0; b < batches && b * batch < images.size(0); ++b)
    model->forward(images.narrow(0, b * batch, std::min(batch, images.size(0) - b * batch)).to(device));
  StateDict out = model->stateDict();
  out.metadata = weights.metadata;
  return out;
}

namespace {

// Every fine-tuned start as a finished "finetune" run: config {method, seed} and the pair
// (fineTuningGroup), metric "top1" per epoch, the form the studio's Analyze page plots.
// A start whose run is already recorded with the same configuration (the same generation
// saved again) is not recorded twice.
void recordFineTuning(Catalogue& catalogue, const GenerateResult& result, const FineTuneOptions& options,
                      const nlohmann::json& sampling) {
  const std::pair<const char*, const FineTuneCurves*> methods[] = {{"generated", &*result.generatedCurves},
                                                                   {"scratch", &*result.scratchCurves}};
  const std::vector<RunRecord> recorded = catalogue.listRuns("finetune");
  for (const auto& [method, curves] : methods)
    for (size_t start = 0; start < curves->top1.size(); ++start) {
      RunRecord run;
      run.kind = "finetune";
      run.name = result.architecture + " on " + result.dataset + ": " + method + " " + std::to_string(start);
      run.parentRunId = result.priorRun;
      run.config = {{"method", method},
                    {"seed", start},
                    {"architecture", result.architecture},
                    {"dataset", result.dataset},
                    {"prior_run", result.priorRun},
                    {"epochs", options.epochs},
                    {"learning_rate", options.optimizer.learningRate},
                    {"batch_size", options.batchSize},
                    {"train_samples", options.trainSamples},
                    {"sampling", sampling}};
      if (std::any_of(recorded.begin(), recorded.end(), [&](const RunRecord& r) {
            return r.parentRunId == run.parentRunId && r.config == run.config && r.status == "finished";
          }))
        continue;
      const int64_t id = catalogue.createRun(run);
      std::vector<MetricPoint> points;
      for (size_t e = 0; e < curves->epochs.size(); ++e) points.push_back({curves->epochs[e], "top1", curves->top1[start][e]});
      catalogue.addMetrics(id, points);
      catalogue.finishRun(id, "finished", {{"top1", curves->top1[start].back()}});
    }
}

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

}  // namespace

GenerateResult runGeneration(Catalogue& catalogue, const GenerateOptions& options, const JobControl& job) {
  if (options.samples < 1 || options.samples > 10000)
    fail(ErrorKind::Usage, "-n", "the number of samples must be between 1 and 10000, got " +
                                     std::to_string(options.samples));
  const RunRecord priorRun = findRun(catalogue, "prior", options.priorRun);
  const RunRecord tokenizerRun = findRun(catalogue, "tokenizer", priorRun.parentRunId);
  auto dataset = openDataset(catalogue, options.dataset);
  const arch::ArchSpec spec = resolveArchitecture(catalogue, options.architecture, *dataset);
  WeightTokenizer tokenizer = loadTokenizerRun(tokenizerRun, options.device);
  PriorModel prior = PriorModel::load(priorRun.checkpointPath, options.device);
  if (!prior.info().tokenizerHash.empty() &&
      prior.info().tokenizerHash != tokenizerRun.summary.value("checkpoint_sha256", ""))
    fail(ErrorKind::Mismatch, priorRun.checkpointPath,
         "this prior was trained on the tokens of another tokenizer checkpoint");
  const WeightLayout layout = weightLayout(spec.program());
  const ChunkPlan plan = tokenizer.plan(layout);
  const int64_t length = plan.numChunks() * tokenizer.config().vq.tokensPerChunk;

  // Conditioning with the encoders the prior was trained with.
  const std::string archEncoder = options.archEncoder.empty() ? priorRun.config.value("arch_encoder", "builtin") : options.archEncoder;
  const std::string datasetEncoder =
      options.datasetEncoder.empty() ? priorRun.config.value("dataset_encoder", "builtin") : options.datasetEncoder;
  Conditioner conditioner(catalogue, archEncoder, datasetEncoder);
  torch::Tensor archEmbedding, datasetEmbeddingVector;
  if (prior.conditionsOnArchitecture()) {
    if (conditioner.archEncoderId() != prior.info().archEncoder)
      fail(ErrorKind::Mismatch, "--arch-encoder", "the prior was trained with architecture encoder " +
                                                      prior.info().archEncoder + ", not " + conditioner.archEncoderId());
    archEmbedding = conditioner.architecture(spec, length).to(options.device);
  }
  if (prior.conditionsOnDataset()) {
    if (conditioner.datasetEncoderId() != prior.info().datasetEncoder)
      fail(ErrorKind::Mismatch, "--dataset-encoder", "the prior was trained with dataset encoder " +
                                                         prior.info().datasetEncoder + ", not " +
                                                         conditioner.datasetEncoderId());
    datasetEmbeddingVector = conditioner.dataset(*dataset).to(options.device);
  }

  GenerateResult result;
  result.architecture = spec.name();
  result.dataset = dataset->name();
  result.description = spec.description();
  result.parameters = spec.parameterCount();
  result.tokens = length;
  result.priorRun = priorRun.id;

  // Sampling (Algorithm 1 when the sequence exceeds the prior's context).
  auto t0 = std::chrono::steady_clock::now();
  torch::Tensor tokens;
  {
    torch::NoGradGuard noGrad;
    GPT& gpt = prior.gpt();
    auto prefix = gpt->conditionPrefix(archEmbedding, datasetEmbeddingVector, options.samples);
    auto structure = tokenStructure(plan, tokenizer.config().vq.tokensPerChunk, layout.numLayers);
    SampleResult sampled = sampleSequence(gpt, prefix, structure, length, options.sampling, job);
    tokens = sampled.tokens;
    result.blocks = int64_t(sampled.blocks.size());
  }
  result.sampleSeconds = secondsSince(t0);
  t0 = std::chrono::steady_clock::now();
  std::vector<StateDict> decoded = tokenizer.decode(tokens, layout);
  result.decodeSeconds = secondsSince(t0);

  // The pair's pretrained checkpoints, for the gap and the novelty measures.
  const std::vector<int64_t> trainingIds = priorRun.config.value("models", std::vector<int64_t>{});
  ModelFilter pairFilter;
  pairFilter.architecture = spec.name();
  pairFilter.dataset = dataset->name();
  double sumTop1 = 0;
  std::vector<ModelRecord> pretrained;
  for (const auto& m : catalogue.listModels(pairFilter)) {
    if (m.source.rfind("generated", 0) == 0) continue;
    pretrained.push_back(m);
    result.pretrainedIds.push_back(m.id);
    sumTop1 += m.top1;
  }
  result.pretrainedMeanTop1 = pretrained.empty() ? std::numeric_limits<double>::quiet_NaN() : sumTop1 / double(pretrained.size());

  // Training checkpoints of this architecture (the novelty reference set).
  std::vector<std::pair<ModelRecord, torch::Tensor>> references;
  if (options.novelty) {
    ModelFilter archFilter;
    archFilter.architecture = spec.name();
    archFilter.ids = trainingIds;
    for (const auto& m : trainingIds.empty() ? std::vector<ModelRecord>{} : catalogue.listModels(archFilter)) {
      StateDict w = catalogue.loadWeights(m);
      // One architecture name covers every class count; only same-shaped networks compare.
      const bool sameShapes = std::all_of(layout.entries.begin(), layout.entries.end(), [&](const LayoutEntry& e) {
        const torch::Tensor* t = w.find(e.name);
        return t && t->sizes().vec() == e.shape;
      });
      if (sameShapes) references.emplace_back(m, flattenWeights(w, layout));
    }
  }
  std::vector<double> pairDistances, archDistances;
  for (size_t i = 0; i < references.size(); ++i)
    for (size_t j = i + 1; j < references.size(); ++j) {
      const double d = (references[i].second - references[j].second).norm().item<double>();
      archDistances.push_back(d);
      if (references[i].first.dataset == dataset->name() && references[j].first.dataset == dataset->name())
        pairDistances.push_back(d);
    }
  const double typical = median(pairDistances.size() >= 1 ? pairDistances : archDistances);

  t0 = std::chrono::steady_clock::now();
  // Calibrate every sample, then evaluate them together, one pass over the test split
  // that also yields the predictions the agreement with the nearest checkpoint compares.
  ProgressReporter progress(job, "calibrate samples", options.samples);
  std::vector<StateDict> calibrated;
  for (int64_t s = 0; s < options.samples; ++s) {
    job.cancel.throwIfCancelled("generate");
    calibrated.push_back(options.calibrateBatchNorm ? calibrateBatchNorm(spec, decoded[size_t(s)], *dataset, options.device)
                                                    : std::move(decoded[size_t(s)]));
    progress.update(s + 1);
  }
  progress.finish();
  const bool agreement = !references.empty();
  std::vector<ClassifierMetrics> metrics;
  if (options.evaluate || agreement) metrics = evaluateWeights(spec, calibrated, *dataset, options.device, agreement, job);
  std::map<int64_t, torch::Tensor> nearestPredictions;  // samples often share their nearest checkpoint
  if (!options.outDir.empty()) ensureDirectory(options.outDir);
  for (int64_t s = 0; s < options.samples; ++s) {
    GeneratedSample sample;
    sample.weights = std::move(calibrated[size_t(s)]);
    torch::Tensor mine;
    if (!metrics.empty()) mine = std::exchange(metrics[size_t(s)].predictions, torch::Tensor());
    if (options.evaluate) sample.metrics = metrics[size_t(s)];
    if (agreement) {
      auto v = flattenWeights(sample.weights, layout);
      Novelty n;
      n.nearestDistance = std::numeric_limits<double>::infinity();
      const ModelRecord* nearest = nullptr;
      for (const auto& [record, vector] : references) {
        const double d = (v - vector).norm().item<double>();
        if (d < n.nearestDistance) {
          n.nearestDistance = d;
          n.nearestModelId = record.id;
          nearest = &record;
        }
      }
      n.typicalDistance = typical;
      n.relativeDistance = std::isfinite(typical) && typical > 0 ? n.nearestDistance / typical
                                                                 : std::numeric_limits<double>::quiet_NaN();
      if (nearest && nearest->dataset == dataset->name()) {
        torch::Tensor& theirs = nearestPredictions[nearest->id];
        if (!theirs.defined())
          theirs = evaluateWeights(spec, std::vector<StateDict>{catalogue.loadWeights(*nearest)}, *dataset, options.device, true)
                       .front()
                       .predictions;
        n.agreement = (mine == theirs).to(torch::kFloat64).mean().item<double>();
      } else {
        n.agreement = std::numeric_limits<double>::quiet_NaN();
      }
      sample.novelty = n;
    }
    if (!options.outDir.empty()) {
      sample.exportedPath = options.outDir + "/" + spec.name() + "_" + std::to_string(s) + ".safetensors";
      StateDict out = sample.weights;
      out.metadata["architecture"] = spec.canonicalJson();
      out.metadata["dataset"] = dataset->name();
      out.metadata["prior_run"] = std::to_string(priorRun.id);
      out.metadata["seed"] = std::to_string(options.sampling.seed);
      out.metadata["sample"] = std::to_string(s);
      saveSafetensors(sample.exportedPath, out);
    }
    result.samples.push_back(std::move(sample));
  }
  result.evaluateSeconds = secondsSince(t0);

  if (options.fineTune) {
    t0 = std::chrono::steady_clock::now();
    std::vector<StateDict> starts;
    for (const auto& sample : result.samples) starts.push_back(sample.weights);
    for (auto& scratch : scratchStarts(spec.program(), options.samples, 0)) starts.push_back(std::move(scratch));
    const FineTuneCurves all = fineTuneCurves(spec.program(), starts, *dataset, *options.fineTune, job);
    const auto split = all.top1.begin() + long(options.samples);
    result.generatedCurves = FineTuneCurves{all.epochs, {all.top1.begin(), split}};
    result.scratchCurves = FineTuneCurves{all.epochs, {split, all.top1.end()}};
    result.fineTuneSeconds = secondsSince(t0);
  }

  if (options.save) {
    registerPair(catalogue, spec, *dataset);
    Catalogue::WriteTransaction tx(catalogue);
    const std::vector<SampleRecord> stored = catalogue.samples(priorRun.id);
    // How the samples were drawn. The batch size belongs to it: the samples of one batch
    // share the random stream, so sample i of 2 and sample i of 5 differ.
    const nlohmann::json sampling = {{"temperature", options.sampling.temperature},
                                     {"top_k", options.sampling.topK},
                                     {"top_p", options.sampling.topP},
                                     {"seed", options.sampling.seed},
                                     {"stratified", options.sampling.stratified},
                                     {"branch_temperature", options.sampling.branchTemperature},
                                     {"batch", options.samples},
                                     {"context_overlap", options.sampling.contextOverlap}};
    for (size_t s = 0; s < result.samples.size(); ++s) {
      auto& sample = result.samples[s];
      SampleRecord rec;
      rec.runId = priorRun.id;
      rec.architecture = spec.name();
      rec.dataset = dataset->name();
      rec.seed = int64_t(options.sampling.seed);
      rec.sampling = sampling;
      rec.sampling["index"] = s;
      rec.conditioning = {{"architecture", spec.canonicalJson()},
                          {"description", spec.description()},
                          {"dataset", dataset->name()},
                          {"arch_encoder", prior.info().archEncoder},
                          {"dataset_encoder", prior.info().datasetEncoder},
                          {"tokens", length},
                          {"blocks", result.blocks}};
      if (sample.metrics) {
        rec.top1 = sample.metrics->top1;
        rec.top5 = sample.metrics->top5;
      }
      if (sample.novelty)
        rec.novelty = {{"nearest_model", sample.novelty->nearestModelId},
                       {"nearest_distance", sample.novelty->nearestDistance},
                       {"typical_distance", sample.novelty->typicalDistance},
                       {"relative_distance", sample.novelty->relativeDistance},
                       {"agreement", sample.novelty->agreement}};
      // The same request saved again (an experiment rerun, `generate --save` repeated)
      // draws the same sample: keep the stored one instead of adding a copy.
      const auto same = std::find_if(stored.begin(), stored.end(), [&](const SampleRecord& old) {
        return old.architecture == rec.architecture && old.dataset == rec.dataset && old.seed == rec.seed &&
               old.sampling == rec.sampling && std::isnan(old.top1) == std::isnan(rec.top1);
      });
      sample.sampleId = same != stored.end() ? same->id : catalogue.addSample(rec, sample.weights);
      if (options.addToZoo) sample.modelId = addSampleToZoo(catalogue, sample.sampleId);
    }
    if (result.generatedCurves) recordFineTuning(catalogue, result, *options.fineTune, sampling);
    tx.commit();
  }
  return result;
}

int64_t addSampleToZoo(Catalogue& catalogue, int64_t sampleId) {
  const auto rec = catalogue.sample(sampleId);
  if (!rec) fail(ErrorKind::NotFound, "sample " + std::to_string(sampleId), "no such sample");
  if (rec->modelId > 0) return rec->modelId;
  ModelRecord model;
  model.architecture = rec->architecture;
  model.dataset = rec->dataset;
  model.source = "generated:" + std::to_string(rec->runId);
  model.seed = rec->seed;
  model.epoch = 0;
  model.top1 = rec->top1;
  model.top5 = rec->top5;
  model.metadata = {{"sample", sampleId}, {"prior_run", rec->runId}, {"sampling", rec->sampling}};
  Catalogue::WriteTransaction tx(catalogue);
  const int64_t id = catalogue.addModel(model, catalogue.loadWeights(*rec));
  catalogue.linkSampleToModel(sampleId, id);
  tx.commit();
  return id;
}

// --- reconstruction ------------------------------------------------------------------

std::vector<ReconstructionRow> runReconstruction(Catalogue& catalogue, int64_t tokenizerRunId, const ModelFilter& filter,
                                                 torch::Device device, const JobControl& job) {
  const RunRecord run = findRun(catalogue, "tokenizer", tokenizerRunId);
  WeightTokenizer tokenizer = loadTokenizerRun(run, device);
  const std::vector<int64_t> trained = run.config.value("models", std::vector<int64_t>{});
  const std::set<int64_t> trainedSet(trained.begin(), trained.end());
  std::vector<ZooExample> zoo = loadZoo(catalogue, filter, job);
  std::vector<ReconstructionRow> rows;
  ProgressReporter progress(job, "reconstruct", int64_t(zoo.size()));
  for (const auto& ex : zoo) {
    job.cancel.throwIfCancelled("reconstruct");
    ReconstructionRow row;
    row.modelId = ex.model.record.id;
    row.architecture = ex.model.spec.name();
    row.dataset = ex.model.dataset->name();
    row.inTokenizerZoo = trainedSet.count(row.modelId) > 0;
    auto tokens = tokenizer.encode(ex.weights, ex.layout);
    row.tokens = tokens.numel();
    StateDict rebuilt = calibrateBatchNorm(ex.model.spec, tokenizer.decode(tokens, ex.layout)[0], *ex.model.dataset, device);
    const auto& n = tokenizer.normalizer();
    auto a = n.normalize(flattenWeights(ex.weights, ex.layout), ex.layout);
    auto b = n.normalize(flattenWeights(rebuilt, ex.layout), ex.layout);
    row.relativeRmse = (a - b).pow(2).mean().sqrt().item<double>();
    // Without BatchNorm the calibrated original is the original: not evaluated twice.
    std::vector<StateDict> networks{ex.weights, rebuilt};
    if (hasBatchNormStatistics(ex.weights))
      networks.push_back(calibrateBatchNorm(ex.model.spec, ex.weights, *ex.model.dataset, device));
    const auto metrics = evaluateWeights(ex.model.spec, networks, *ex.model.dataset, device);
    row.originalTop1 = metrics[0].top1;
    row.reconstructedTop1 = metrics[1].top1;
    row.calibratedTop1 = networks.size() == 3 ? metrics[2].top1 : row.originalTop1;
    rows.push_back(row);
    progress.update(int64_t(rows.size()));
  }
  return rows;
}

}  // namespace igpg
