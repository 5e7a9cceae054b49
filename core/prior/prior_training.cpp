#include "prior/prior_training.h"

#include "common/error.h"
#include "common/files.h"
#include "common/heap_memory.h"
#include "common/runtime.h"
#include "prior/sampler.h"
#include "prior/structure.h"
#include "training/adamw.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <deque>
#include <optional>

namespace igpg {

double priorLearningRate(const PriorTrainOptions& o, int64_t step) {
  // A short run would spend most of its budget warming up; a tenth of the run is enough.
  const int64_t warmup = std::min(o.warmupSteps, o.steps / 10);
  if (step < warmup) return o.learningRate * double(step + 1) / double(warmup);
  const double progress = double(step - warmup) / double(std::max<int64_t>(1, o.steps - warmup));
  return o.learningRate + (o.finalLearningRate - o.learningRate) * std::min(1.0, progress);
}

namespace {

struct Window {
  size_t example;
  int64_t begin, length;
};

// Block starts of Algorithm 1 for every example; half of the windows use them.
Window drawWindow(const std::vector<PriorExample>& examples, const std::vector<std::vector<SampledBlock>>& blocks,
                  int64_t context, at::Generator& gen) {
  const size_t e = size_t(torch::randint(int64_t(examples.size()), {1}, gen, torch::kInt64).item<int64_t>());
  const int64_t L = examples[e].tokens.size(0);
  if (L <= context) return {e, 0, L};
  const bool aligned = torch::rand({1}, gen).item<double>() < 0.5;
  int64_t begin;
  if (aligned) {
    const auto& b = blocks[e];
    begin = b[size_t(torch::randint(int64_t(b.size()), {1}, gen, torch::kInt64).item<int64_t>())].contextBegin;
  } else {
    begin = torch::randint(L - context + 1, {1}, gen, torch::kInt64).item<int64_t>();
  }
  begin = std::min(begin, L - context);
  return {e, begin, context};
}

}  // namespace

int64_t priorTrainingSteps(const std::vector<PriorExample>& examples, const PriorTrainOptions& options) {
  if (options.steps < 0) fail(ErrorKind::Config, "steps", "must be positive, or 0 to choose from the zoo");
  if (options.steps > 0) return options.steps;
  const int64_t context = options.gpt.contextLength;
  int64_t windows = 0;
  for (const auto& e : examples) windows += (e.tokens.size(0) + context - 1) / context;
  return std::max(kMinimumPriorSteps, (kAutoPriorPasses * windows + options.batchSize - 1) / options.batchSize);
}

std::string autoPriorStepsText() {
  return std::to_string(kAutoPriorPasses) + " passes over the zoo's windows, at least " +
         std::to_string(kMinimumPriorSteps);
}

PriorTrainResult trainPrior(const std::vector<PriorExample>& examples, const PriorTrainOptions& requested,
                            const JobControl& job, const StepMetricsSink& metrics) {
  if (examples.empty()) fail(ErrorKind::Config, "zoo", "no token sequences to train the prior on");
  PriorTrainOptions options = requested;
  options.steps = priorTrainingSteps(examples, requested);
  const auto start = std::chrono::steady_clock::now();
  const torch::Device device = options.device;
  GPTOptions gptOptions = options.gpt;
  gptOptions.archDim = examples[0].archEmbedding.defined() ? examples[0].archEmbedding.numel() : 0;
  gptOptions.datasetDim = examples[0].datasetEmbedding.defined() ? examples[0].datasetEmbedding.numel() : 0;
  gptOptions.structureDim = kStructureFeatures;
  int64_t longest = 0;
  for (const auto& ex : examples) {
    longest = std::max(longest, ex.tokens.size(0));
    if (ex.tokens.numel() == 0 || ex.tokens.max().item<int64_t>() >= gptOptions.vocabSize)
      fail(ErrorKind::Mismatch, "tokens", "a sequence is empty or uses ids beyond the vocabulary");
    if ((gptOptions.archDim > 0) != ex.archEmbedding.defined() ||
        (gptOptions.datasetDim > 0) != ex.datasetEmbedding.defined())
      fail(ErrorKind::Internal, "conditioning", "examples disagree on which embeddings they carry");
  }
  const int64_t context = gptOptions.contextLength;

  std::optional<PriorModel> prior;
  StateDict optimizerState;
  int64_t firstStep = 0;
  if (!options.checkpointPath.empty() && fileExists(options.checkpointPath)) {
    nlohmann::json extra;
    prior.emplace(PriorModel::load(options.checkpointPath, device, &optimizerState, &extra));
    if (PriorModel::optionsToJson(prior->options()) != PriorModel::optionsToJson(gptOptions))
      fail(ErrorKind::Mismatch, options.checkpointPath,
           "checkpoint was trained with another prior configuration; remove it or use the same options");
    firstStep = extra.value("step", int64_t(0));
  } else {
    seedEverything(options.seed);
    PriorInfo info = options.info;
    info.maxSequenceLength = longest;
    prior.emplace(gptOptions, info, device);
  }
  GPT& gpt = prior->gpt();

  std::vector<torch::Tensor> params;
  std::vector<bool> decay;
  for (const auto& p : gpt->named_parameters()) {
    params.push_back(p.value());
    decay.push_back(p.value().dim() >= 2 && p.key().find("embedding") == std::string::npos);
  }
  AdamWOptions adamOptions;
  adamOptions.learningRate = options.learningRate;
  adamOptions.weightDecay = options.weightDecay;
  adamOptions.beta2 = 0.95;
  AdamW optimizer(params, adamOptions, decay);
  if (firstStep > 0) optimizer.loadState(optimizerState, options.checkpointPath);

  std::vector<std::vector<SampledBlock>> blocks;
  for (const auto& ex : examples) blocks.push_back(blockSchedule(ex.tokens.size(0), context, options.contextOverlap));

  auto saveCheckpoint = [&](int64_t step) {
    if (options.checkpointPath.empty()) return;
    StateDict state = optimizer.state();
    prior->save(options.checkpointPath, {{"step", step}}, &state);
  };

  ProgressReporter progress(job, "train prior", options.steps);
  progress.log("prior: " + std::to_string(examples.size()) + " sequences of up to " + std::to_string(longest) +
               " tokens, context " + std::to_string(context) + ", " + std::to_string(gptOptions.layers) + " layers x " +
               std::to_string(gptOptions.width) + ", seed " + std::to_string(options.seed) +
               (firstStep > 0 ? ", resuming at step " + std::to_string(firstStep) : ""));
  std::deque<std::pair<double, double>> recent;  // (loss, accuracy) of the last steps
  gpt->train();
  const KeepFreedMemory keepFreedMemory;
  for (int64_t step = firstStep; step < options.steps; ++step) {
    if (job.cancel.cancelled()) {
      saveCheckpoint(step);
      job.cancel.throwIfCancelled("train prior");
    }
    // Batches come from a generator seeded by (seed, step), so a resumed run draws what the
    // uninterrupted run would have drawn.
    auto generator = at::detail::createCPUGenerator(options.seed * 1000003ULL + uint64_t(step));
    std::vector<Window> windows;
    int64_t width = 0;
    for (int64_t b = 0; b < options.batchSize; ++b) {
      windows.push_back(drawWindow(examples, blocks, context, generator));
      width = std::max(width, windows.back().length);
    }
    const int64_t B = int64_t(windows.size());
    auto tokens = torch::zeros({B, width}, torch::kInt64);
    auto mask = torch::zeros({B, width});
    std::vector<TokenStructure> structures;
    std::vector<torch::Tensor> arch, data;
    for (int64_t b = 0; b < B; ++b) {
      const auto& w = windows[size_t(b)];
      const auto& ex = examples[w.example];
      tokens[b].narrow(0, 0, w.length).copy_(ex.tokens.narrow(0, w.begin, w.length));
      mask[b].narrow(0, 0, w.length).fill_(1.0);
      // Padding positions reuse the window's last structure; they carry no loss.
      TokenStructure s = sliceStructure(ex.structure, w.begin, w.length);
      if (w.length < width) {
        TokenStructure pad = sliceStructure(ex.structure, w.begin + w.length - 1, 1);
        pad = expandStructure(pad, 1);
        s = {torch::cat({s.features, pad.features.expand({1, width - w.length, pad.features.size(2)})}, 1),
             torch::cat({s.roles, pad.roles.expand({1, width - w.length})}, 1),
             torch::cat({s.inChunk, pad.inChunk.expand({1, width - w.length})}, 1)};
      }
      structures.push_back(s);
      if (ex.archEmbedding.defined()) arch.push_back(ex.archEmbedding.reshape({1, -1}));
      if (ex.datasetEmbedding.defined()) data.push_back(ex.datasetEmbedding.reshape({1, -1}));
    }
    auto structure = structureTo(catStructures(structures), device);
    auto archBatch = arch.empty() ? torch::Tensor() : torch::cat(arch).to(device);
    auto dataBatch = data.empty() ? torch::Tensor() : torch::cat(data).to(device);
    tokens = tokens.to(device);
    mask = mask.to(device);

    const double lr = priorLearningRate(options, step);
    optimizer.setLearningRate(lr);
    auto prefix = gpt->conditionPrefix(archBatch, dataBatch, B);
    auto logits = gpt->forward(prefix, tokens, structure);                          // (B, T, V)
    auto losses = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), tokens.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // (B*T)
    auto flatMask = mask.reshape({-1});
    auto loss = (losses * flatMask).sum() / flatMask.sum();
    optimizer.zeroGrad();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(params, 1.0);
    optimizer.step();
    const double accuracy =
        ((logits.argmax(-1).reshape({-1}) == tokens.reshape({-1})).to(torch::kFloat32) * flatMask).sum().item<double>() /
        flatMask.sum().item<double>();
    recent.emplace_back(loss.item<double>(), accuracy);
    if (recent.size() > 50) recent.pop_front();
    std::vector<std::pair<std::string, double>> m = {{"loss", recent.back().first}, {"token_accuracy", accuracy},
                                                     {"lr", lr}};
    if (metrics) metrics(step + 1, m);
    progress.update(step + 1, m);
    if (options.checkpointEvery > 0 && (step + 1) % options.checkpointEvery == 0 && step + 1 < options.steps)
      saveCheckpoint(step + 1);
  }
  double lossSum = 0, accSum = 0;
  for (const auto& [l, a] : recent) {
    lossSum += l;
    accSum += a;
  }
  const double n = std::max<double>(1, double(recent.size()));
  PriorTrainResult result{std::move(*prior), lossSum / n, accSum / n, options.steps, 0};
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish({{"loss", result.finalLoss}, {"token_accuracy", result.tokenAccuracy}});
  return result;
}

}  // namespace igpg
