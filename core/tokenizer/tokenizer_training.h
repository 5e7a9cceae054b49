// Training of the weight tokenizer on a zoo (paper equation 2): masked reconstruction
// (padding excluded) + gamma * commitment + beta * codebook, Gumbel-softmax with a
// cyclical temperature schedule, AdamW. Dead codes are restarted from encoder outputs
// now and then, which keeps the codebook in use (reported as perplexity / dead codes).
#pragma once

#include "jobs/progress.h"
#include "tokenizer/codebook_stats.h"
#include "tokenizer/temperature_schedule.h"
#include "tokenizer/weight_tokenizer.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace igpg {

struct TokenizerTrainOptions {
  TokenizerConfig config;
  // Four temperature cycles. 2000 against 1500 took the default zoo from relative RMSE 0.0133
  // to 0.0075 and its reconstruction gaps under the bar (mean 0.08, max 0.34 point) for 183 s
  // of training on 2 cores; a fifth cycle gained nothing.
  int64_t steps = 2000;
  int64_t batchSize = 256;       // chunks per step
  double learningRate = 2e-3;
  double finalLearningRate = 1e-4;  // cosine decay to it: the codes settle at the end
  double weightDecay = 0.0;
  double gamma = 0.25;           // commitment weight
  double beta = 1.0;             // codebook weight
  int64_t temperatureCycles = 4;
  double tauMax = 1.0;
  double tauMin = 1e-4;
  int64_t restartEvery = 50;     // dead-code restarts; 0 disables
  uint64_t seed = 0;
  torch::Device device = torch::kCPU;
  std::string checkpointPath;    // where to save (and resume from); empty: no checkpoints
  int64_t checkpointEvery = 500;
};

struct TokenizerExample {
  WeightLayout layout;
  StateDict weights;
};

// Called after each step with the step number (1-based) and its metrics.
using StepMetricsSink = std::function<void(int64_t step, const std::vector<std::pair<std::string, double>>&)>;

struct TokenizerTrainResult {
  WeightTokenizer tokenizer;
  CodebookStats codebook;        // usage over the whole training zoo after training
  double finalReconstruction = 0;  // masked MSE on the zoo, normalized units, hard codes
  int64_t steps = 0;
  double seconds = 0;
};

// Resumes from options.checkpointPath when it exists and matches the config.
TokenizerTrainResult trainTokenizer(const std::vector<TokenizerExample>& zoo, const TokenizerTrainOptions& options,
                                    const JobControl& job, const StepMetricsSink& metrics = {});

// Equation 2 on one batch of chunks: masked reconstruction (padding excluded) plus
// gamma * commitment plus beta * codebook.
struct VQLoss {
  torch::Tensor total, reconstruction;
  VQForward forward;
};
VQLoss vqLoss(GumbelVQVAE& model, const torch::Tensor& values, const torch::Tensor& roles, const torch::Tensor& mask,
              double tau, double gamma, double beta);

// Masked reconstruction MSE (normalized units) and token usage of a tokenizer over a zoo.
struct ReconstructionSummary {
  double mse = 0;
  double relativeRmse = 0;  // sqrt(mse) in units of the normalized std (1 = as large as the weights)
  CodebookStats codebook;
};
ReconstructionSummary summarizeReconstruction(WeightTokenizer& tokenizer, const std::vector<TokenizerExample>& zoo);

}  // namespace igpg
