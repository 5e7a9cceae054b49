#include "tokenizer/tokenizer_training.h"

#include "common/error.h"
#include "common/files.h"
#include "common/heap_memory.h"
#include "common/runtime.h"
#include "training/adamw.h"
#include "training/lr_schedule.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

namespace igpg {

namespace {

struct ZooChunks {
  torch::Tensor values, roles, mask;  // (N, K)
};

ZooChunks chunkZoo(const WeightTokenizer& tokenizer, const std::vector<TokenizerExample>& zoo) {
  std::vector<torch::Tensor> values, roles, mask;
  for (const auto& ex : zoo) {
    auto c = tokenizer.chunkNormalized(ex.weights, ex.layout);
    values.push_back(c.values);
    roles.push_back(c.roles);
    mask.push_back(c.mask);
  }
  return {torch::cat(values), torch::cat(roles), torch::cat(mask)};
}

torch::Tensor maskedMse(const torch::Tensor& prediction, const torch::Tensor& target, const torch::Tensor& mask) {
  return ((prediction - target).pow(2) * mask).sum() / mask.sum().clamp_min(1.0);
}

std::vector<torch::Tensor> parametersOf(GumbelVQVAE& model) {
  std::vector<torch::Tensor> params;
  for (auto& p : model->parameters()) params.push_back(p);
  return params;
}

// Codes unused during the last window are moved onto encoder outputs of the current
// batch: a code nobody picks gets no gradient and would stay dead forever.
int64_t restartDeadCodes(GumbelVQVAE& model, const torch::Tensor& usage, const torch::Tensor& latents,
                         at::Generator& generator) {
  torch::NoGradGuard noGrad;
  auto dead = (usage == 0).nonzero().reshape({-1});
  const int64_t n = dead.numel();
  if (n == 0) return 0;
  auto z = latents.reshape({-1, latents.size(-1)});                                     // (B*l, D)
  auto pick = torch::randint(z.size(0), {n}, generator, torch::kInt64).to(z.device());
  auto noise = torch::randn({n, z.size(1)}, generator, torch::kFloat32).to(z.device()) * 0.01;
  auto weights = model->codebookWeights();
  weights.index_copy_(0, dead.to(z.device()), z.index_select(0, pick) + noise);
  return n;
}

}  // namespace

VQLoss vqLoss(GumbelVQVAE& model, const torch::Tensor& values, const torch::Tensor& roles, const torch::Tensor& mask,
              double tau, double gamma, double beta) {
  VQLoss l;
  l.forward = model->forward(values, roles, tau, /*hard=*/false);
  l.reconstruction = maskedMse(l.forward.reconstruction, values, mask);
  l.total = l.reconstruction + gamma * l.forward.commitment + beta * l.forward.codebook;
  return l;
}

ReconstructionSummary summarizeReconstruction(WeightTokenizer& tokenizer, const std::vector<TokenizerExample>& zoo) {
  torch::NoGradGuard noGrad;
  auto& model = tokenizer.model();
  model->eval();
  const auto dev = tokenizer.device();
  ZooChunks chunks = chunkZoo(tokenizer, zoo);
  double sse = 0, count = 0;
  std::vector<torch::Tensor> tokens;
  const int64_t n = chunks.values.size(0), batch = 1024;
  for (int64_t i = 0; i < n; i += batch) {
    const int64_t len = std::min(batch, n - i);
    auto v = chunks.values.narrow(0, i, len).to(dev);
    auto r = chunks.roles.narrow(0, i, len).to(dev);
    auto m = chunks.mask.narrow(0, i, len).to(dev);
    auto idx = model->tokenize(v, r);
    auto rec = model->decodeIndices(idx, r);
    sse += ((rec - v).pow(2) * m).sum().item<double>();
    count += m.sum().item<double>();
    tokens.push_back(idx.to(torch::kCPU));
  }
  ReconstructionSummary s;
  s.mse = count > 0 ? sse / count : 0;
  s.relativeRmse = std::sqrt(s.mse);
  s.codebook = codebookStats(torch::cat(tokens), tokenizer.config().vq.codebookSize);
  return s;
}

TokenizerTrainResult trainTokenizer(const std::vector<TokenizerExample>& zoo, const TokenizerTrainOptions& options,
                                    const JobControl& job, const StepMetricsSink& metrics) {
  if (zoo.empty()) fail(ErrorKind::Config, "zoo", "no models to train the tokenizer on");
  if (options.steps <= 0) fail(ErrorKind::Config, "steps", "must be positive");
  if (options.batchSize <= 0) fail(ErrorKind::Config, "batch-size", "must be positive");
  const auto start = std::chrono::steady_clock::now();
  const torch::Device device = options.device;

  // Fresh tokenizer, or the checkpoint of an interrupted run with the same configuration.
  std::optional<WeightTokenizer> tokenizer;
  StateDict optimizerState;
  int64_t firstStep = 0;
  if (!options.checkpointPath.empty() && fileExists(options.checkpointPath)) {
    nlohmann::json extra;
    tokenizer.emplace(WeightTokenizer::load(options.checkpointPath, device, &optimizerState, &extra));
    if (tokenizer->config().toJson() != options.config.toJson())
      fail(ErrorKind::Mismatch, options.checkpointPath,
           "checkpoint was trained with another tokenizer configuration; remove it or use the same options");
    firstStep = extra.value("step", int64_t(0));
  } else {
    std::vector<std::pair<const WeightLayout*, torch::Tensor>> vectors;
    for (const auto& ex : zoo) vectors.emplace_back(&ex.layout, flattenWeights(ex.weights, ex.layout));
    WeightNormalizer normalizer;
    normalizer.fit(vectors);
    seedEverything(options.seed);
    tokenizer.emplace(options.config, std::move(normalizer), device);
  }
  auto& model = tokenizer->model();
  ZooChunks chunks = chunkZoo(*tokenizer, zoo);
  const int64_t numChunks = chunks.values.size(0);
  chunks.values = chunks.values.to(device);
  chunks.roles = chunks.roles.to(device);
  chunks.mask = chunks.mask.to(device);

  AdamWOptions adamOptions;
  adamOptions.learningRate = options.learningRate;
  adamOptions.weightDecay = options.weightDecay;
  AdamW optimizer(parametersOf(model), adamOptions);
  if (firstStep > 0) {
    optimizer.loadState(optimizerState, options.checkpointPath);
  } else {
    // Codebook starts on encoder outputs, so every code begins near the data.
    torch::NoGradGuard noGrad;
    auto generator = at::detail::createCPUGenerator(options.seed);
    auto pick = torch::randint(numChunks, {std::min<int64_t>(numChunks, 4096)}, generator, torch::kInt64).to(device);
    auto z = model->encode(chunks.values.index_select(0, pick), chunks.roles.index_select(0, pick));
    restartDeadCodes(model, torch::zeros({options.config.vq.codebookSize}), z, generator);
  }

  TemperatureSchedule schedule;
  schedule.tauMax = options.tauMax;
  schedule.tauMin = options.tauMin;
  schedule.totalSteps = options.steps;
  schedule.cycles = options.temperatureCycles;

  auto saveCheckpoint = [&](int64_t step) {
    if (options.checkpointPath.empty()) return;
    StateDict state = optimizer.state();
    tokenizer->save(options.checkpointPath, {{"step", step}}, &state);
  };

  ProgressReporter progress(job, "train tokenizer", options.steps);
  auto usage = torch::zeros({options.config.vq.codebookSize}, torch::kInt64);
  const double chunksPerModel = double(numChunks) / double(zoo.size());
  progress.log("tokenizer: " + std::to_string(zoo.size()) + " models, " + std::to_string(numChunks) +
               " chunks of " + std::to_string(options.config.vq.chunkSize) + " (" +
               std::to_string(int64_t(chunksPerModel * double(options.config.vq.tokensPerChunk))) +
               " tokens per model on average), seed " + std::to_string(options.seed) +
               (firstStep > 0 ? ", resuming at step " + std::to_string(firstStep) : ""));
  model->train();
  const KeepFreedMemory keepFreedMemory;
  for (int64_t step = firstStep; step < options.steps; ++step) {
    if (job.cancel.cancelled()) {
      saveCheckpoint(step);
      job.cancel.throwIfCancelled("train tokenizer");
    }
    // Every step draws from generators seeded by (seed, step): a resumed run continues
    // exactly as the uninterrupted one would have.
    seedEverything(options.seed * 1000003ULL + uint64_t(step));
    auto generator = at::detail::createCPUGenerator(options.seed * 1000003ULL + uint64_t(step));
    auto pick = torch::randint(numChunks, {options.batchSize}, generator, torch::kInt64).to(device);
    auto values = chunks.values.index_select(0, pick);
    auto roles = chunks.roles.index_select(0, pick);
    auto mask = chunks.mask.index_select(0, pick);
    const double tau = schedule.at(step);
    const double lr = cosineAnnealing(options.learningRate, options.finalLearningRate, step, options.steps);
    optimizer.setLearningRate(lr);
    VQLoss l = vqLoss(model, values, roles, mask, tau, options.gamma, options.beta);
    const VQForward& out = l.forward;
    auto& recon = l.reconstruction;
    auto& loss = l.total;
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    usage += torch::bincount(out.indices.reshape({-1}).to(torch::kCPU), {}, options.config.vq.codebookSize);
    int64_t restarted = 0;
    if (options.restartEvery > 0 && (step + 1) % options.restartEvery == 0 && step + 1 < options.steps * 9 / 10) {
      torch::NoGradGuard noGrad;
      restarted = restartDeadCodes(model, usage, model->encode(values, roles), generator);
      usage.zero_();
    }
    std::vector<std::pair<std::string, double>> m = {{"loss", loss.item<double>()},
                                                     {"reconstruction", recon.item<double>()},
                                                     {"commitment", out.commitment.item<double>()},
                                                     {"tau", tau},
                                                     {"lr", lr}};
    if (restarted > 0) m.emplace_back("restarted_codes", double(restarted));
    if (metrics) metrics(step + 1, m);
    progress.update(step + 1, m);
    if (options.checkpointEvery > 0 && (step + 1) % options.checkpointEvery == 0 && step + 1 < options.steps)
      saveCheckpoint(step + 1);
  }
  TokenizerTrainResult result{std::move(*tokenizer), {}, 0, options.steps, 0};
  ReconstructionSummary summary = summarizeReconstruction(result.tokenizer, zoo);
  result.codebook = summary.codebook;
  result.finalReconstruction = summary.mse;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish({{"reconstruction", summary.mse},
                   {"perplexity", summary.codebook.perplexity},
                   {"dead_codes", double(summary.codebook.deadCodes)}});
  return result;
}

}  // namespace igpg
