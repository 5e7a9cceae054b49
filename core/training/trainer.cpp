#include "training/trainer.h"

#include "common/error.h"
#include "common/heap_memory.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>

namespace igpg {

namespace {

// The data-order stream of a seed, kept apart from its initialization stream
// (splitmix64 of the seed, so nearby seeds give unrelated orders).
uint64_t dataOrderSeed(uint64_t seed) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void checkOptions(const TrainOptions& o, int64_t models) {
  if (o.batchSize < 1) fail(ErrorKind::Config, "batch_size", "must be at least 1");
  if (o.epochs < 0) fail(ErrorKind::Config, "epochs", "must be >= 0");
  if (int64_t(o.seeds.size()) != models)
    fail(ErrorKind::Config, "seeds", std::to_string(o.seeds.size()) + " seeds for " + std::to_string(models) + " models");
  checkOptimizerOptions(o.optimizer);
}

}  // namespace

arch::ModelStack trainModels(const arch::Program& program, const torch::Tensor& images, const torch::Tensor& labels,
                             const TrainOptions& options, const EpochCallback& onEpoch, const JobControl& job) {
  if (options.seeds.empty()) fail(ErrorKind::Config, "seeds", "give one seed per model");
  arch::ModelStack stack(program, int64_t(options.seeds.size()));
  stack->initialize(options.seeds);
  trainStack(stack, images, labels, options, onEpoch, job);
  return stack;
}

std::vector<EpochStats> trainStack(arch::ModelStack& stack, const torch::Tensor& images, const torch::Tensor& labels,
                                   const TrainOptions& options, const EpochCallback& onEpoch, const JobControl& job) {
  const int64_t G = stack->size();
  checkOptions(options, G);
  const KeepFreedMemory keepFreedMemory;
  arch::checkClassificationData(stack->program(), images, labels, "training data");
  const torch::Device device = options.device;
  stack->to(device);
  const torch::Tensor x = images.to(device);
  const torch::Tensor y = labels.to(device);
  const int64_t n = x.size(0), B = options.batchSize, K = stack->program().numClasses();
  const int64_t stepsPerEpoch = (n + B - 1) / B;

  std::vector<at::Generator> orderGenerators;
  for (uint64_t seed : options.seeds) orderGenerators.push_back(at::detail::createCPUGenerator(dataOrderSeed(seed)));
  StackOptimizer optimizer(stack->trainableTensors(), options.optimizer, options.learningRates, G);
  ProgressReporter progress(job, "train", options.epochs * stepsPerEpoch);
  std::vector<std::pair<std::string, double>> shownMetrics;
  std::vector<EpochStats> history;

  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    stack->train();
    std::vector<torch::Tensor> orders;
    for (auto& gen : orderGenerators) orders.push_back(torch::randperm(n, gen));
    const torch::Tensor order = torch::stack(orders).to(device);  // (G, n)
    torch::Tensor lossSum = torch::zeros({G}, torch::TensorOptions().dtype(torch::kFloat64).device(device));
    torch::Tensor correct = torch::zeros({G}, torch::TensorOptions().dtype(torch::kInt64).device(device));

    for (int64_t step = 0; step < stepsPerEpoch; ++step) {
      job.cancel.throwIfCancelled("training");
      const int64_t begin = step * B, nb = std::min(B, n - begin);
      const torch::Tensor index = order.narrow(1, begin, nb).reshape({G * nb});
      const torch::Tensor batch = x.index_select(0, index).view({G, nb, x.size(1), x.size(2), x.size(3)});
      const torch::Tensor target = y.index_select(0, index);  // (G*nb)
      const torch::Tensor logits = stack->forward(batch);      // (G, nb, K)
      const torch::Tensor perSample =
          torch::nn::functional::cross_entropy(logits.reshape({G * nb, K}), target,
                                               torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
              .view({G, nb});
      // The sum over models of each model's mean loss: model g's gradient is its own.
      const torch::Tensor loss = perSample.sum() / double(nb);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step(lrScale(options.schedule, (epoch - 1) * stepsPerEpoch + step, options.epochs * stepsPerEpoch));
      {
        torch::NoGradGuard noGrad;
        lossSum += perSample.detach().sum(1).to(torch::kFloat64);
        correct += logits.argmax(-1).eq(target.view({G, nb})).sum(1);
      }
      const int64_t done = (epoch - 1) * stepsPerEpoch + step + 1;
      if (step % 50 == 0 || step + 1 == stepsPerEpoch)
        shownMetrics = {{"loss", (lossSum.sum() / double(G * (begin + nb))).item<double>()}};
      progress.update(done, shownMetrics);
    }

    EpochStats stats;
    stats.epoch = epoch;
    const torch::Tensor meanLoss = (lossSum / double(n)).cpu();
    const torch::Tensor accuracy = (correct.to(torch::kFloat64) / double(n)).cpu();
    for (int64_t g = 0; g < G; ++g) {
      stats.loss.push_back(meanLoss[g].item<double>());
      stats.accuracy.push_back(accuracy[g].item<double>());
    }
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.log("epoch " + std::to_string(epoch) + "/" + std::to_string(options.epochs) + ": mean loss " +
                 std::to_string(meanLoss.mean().item<double>()) + ", mean accuracy " +
                 std::to_string(accuracy.mean().item<double>()));
    if (onEpoch) onEpoch(stats, stack);
    history.push_back(std::move(stats));
  }
  progress.finish(shownMetrics);
  return history;
}

}  // namespace igpg
