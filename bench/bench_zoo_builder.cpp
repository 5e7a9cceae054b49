// Zoo-building throughput: models x epochs per second for the Tiny Model Zoo CNN trained
// G at a time in a stack (G = 8, 16, 32, 64) versus one at a time, measured in the same
// run, and whether the stacked models end with the weights and accuracies of the same
// seeds trained alone. One-at-a-time runs both with the bench's threads and with one
// thread, which is faster for a tiny network on a busy machine, so the speedup is given
// against both.
//
//   bench_zoo_builder [--threads 2] [--stacks 8,16,32,64] [--alone 2] [--epochs 1]
//                     [--batch-size 32] [--train-size 60000] [--test-size 10000]
//                     [--spec tinycnn] [--device cpu]
#include "bench_common.h"

#include "arch/spec.h"
#include "common/error.h"
#include "common/runtime.h"
#include "common/stopwatch.h"
#include "data/dataset.h"
#include "evaluation/classifier_eval.h"
#include "training/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace {

struct BenchData {
  torch::Tensor trainImages, trainLabels, testImages, testLabels;
  std::string description;
};

// Real Fashion-MNIST (the Debian package dataset-fashion-mnist): the first trainSize images
// of the train split and testSize of the test split.
BenchData loadData(int64_t trainSize, int64_t testSize) {
  auto fmnist = igpg::openDataset("fashion-mnist");
  const auto& train = fmnist->train();
  const auto& test = fmnist->test();
  trainSize = std::min(trainSize, train.size());
  testSize = std::min(testSize, test.size());
  BenchData d;
  d.trainImages = train.images.narrow(0, 0, trainSize);
  d.trainLabels = train.labels.narrow(0, 0, trainSize);
  d.testImages = test.images.narrow(0, 0, testSize);
  d.testLabels = test.labels.narrow(0, 0, testSize);
  d.description = "Fashion-MNIST: " + std::to_string(trainSize) + " train / " + std::to_string(testSize) + " test images";
  return d;
}

struct Run {
  igpg::arch::ModelStack stack{nullptr};
  double seconds = 0;
  std::vector<igpg::ClassifierMetrics> metrics;
};

Run train(const igpg::arch::Program& program, const BenchData& d, igpg::TrainOptions options) {
  Run r;
  const auto start = std::chrono::steady_clock::now();
  r.stack = igpg::trainModels(program, d.trainImages, d.trainLabels, options);
  r.seconds = igpg::secondsSince(start);
  r.metrics = igpg::evaluateClassifiers(r.stack, d.testImages, d.testLabels);
  return r;
}

double maxWeightDiff(const igpg::StateDict& a, const igpg::StateDict& b) {
  double m = 0;
  for (const auto& e : a.entries())
    m = std::max(m, (e.tensor.to(torch::kFloat64) - b.at(e.name).to(torch::kFloat64)).abs().max().item<double>());
  return m;
}

int run(int argc, char** argv) {
  std::map<std::string, std::string> opt = {{"threads", "2"},     {"stacks", "8,16,32,64"},
                                            {"alone", "2"},       {"epochs", "1"},          {"batch-size", "32"},
                                            {"train-size", "60000"}, {"test-size", "10000"}, {"spec", "tinycnn"},
                                            {"device", "cpu"}};
  if (!bench::parseFlags(argc, argv, "bench_zoo_builder", opt)) return 2;
  const int threads = std::stoi(opt["threads"]);
  torch::set_num_threads(threads);  // Debian's LibTorch defaults to one intra-op thread
  const torch::Device device = igpg::resolveDevice(opt["device"]);
  const int64_t alone = std::stoll(opt["alone"]);

  const BenchData data = loadData(std::stoll(opt["train-size"]), std::stoll(opt["test-size"]));
  const auto spec = igpg::arch::resolveSpec(opt["spec"], igpg::arch::DataShape{1, 28, 28, 10});
  igpg::TrainOptions base;
  base.optimizer.kind = igpg::OptimizerKind::Adam;
  base.optimizer.learningRate = 1e-3;
  base.batchSize = std::stoll(opt["batch-size"]);
  base.epochs = std::stoll(opt["epochs"]);
  base.device = device;

  std::printf("bench_zoo_builder: %s (%lld parameters), stacked vs one at a time\n", spec.name().c_str(),
              (long long)spec.parameterCount());
  const char* waitPolicy = std::getenv("OMP_WAIT_POLICY");
  std::printf("LibTorch %s, %d intra-op threads (%s, OMP_WAIT_POLICY=%s), BLAS %s, device %s\n",
              igpg::torchVersion().c_str(), at::get_num_threads(),
              at::get_parallel_info().find("OpenMP") != std::string::npos ? "OpenMP" : "native",
              waitPolicy ? waitPolicy : "unset", igpg::blasBackend().c_str(), device.str().c_str());
  std::printf("data: %s\n", data.description.c_str());
  std::printf("training: Adam lr %g, batch %lld, %lld epoch(s); model g has seed g (init and data order)\n",
              base.optimizer.learningRate, (long long)base.batchSize, (long long)base.epochs);
  std::printf("alone: seeds 0..%lld trained one at a time (the G = 1 path of the same trainer)\n\n",
              (long long)alone - 1);

  // Models trained one at a time: the baseline rates and the reference weights.
  auto trainAlone = [&](int threadsAlone, std::vector<Run>* keep) {
    torch::set_num_threads(threadsAlone);
    double total = 0;
    for (int64_t s = 0; s < alone; ++s) {
      igpg::TrainOptions o = base;
      o.seeds = {uint64_t(s)};
      Run r = train(spec.program(), data, o);
      total += r.seconds;
      if (keep) keep->push_back(std::move(r));
    }
    torch::set_num_threads(threads);
    return double(alone * base.epochs) / total;
  };
  std::vector<Run> singles;
  const double aloneRate = trainAlone(threads, &singles);
  const double aloneRate1 = threads == 1 ? aloneRate : trainAlone(1, nullptr);
  std::string aloneTop1;
  for (const auto& s : singles) aloneTop1 += (aloneTop1.empty() ? "" : " ") + std::to_string(s.metrics[0].top1).substr(0, 6);

  std::printf("%-22s %4s %16s %11s %12s %14s  %s\n", "run", "G", "model-epochs/s", "vs alone", "vs alone@1t",
              "max|dw| alone", "top-1, seeds 0..k");
  std::printf("%-22s %4d %16.4f %11.2f %12.2f %14s  %s\n", ("alone, " + std::to_string(threads) + (threads == 1 ? " thread" : " threads")).c_str(), 1,
              aloneRate, 1.0, aloneRate / aloneRate1, "-", aloneTop1.c_str());
  if (threads != 1)
    std::printf("%-22s %4d %16.4f %11.2f %12.2f %14s\n", "alone, 1 thread", 1, aloneRate1, aloneRate1 / aloneRate, 1.0, "-");
  std::fflush(stdout);

  for (const int64_t G : bench::intList(opt["stacks"])) {
    igpg::TrainOptions o = base;
    o.seeds.clear();
    for (int64_t s = 0; s < G; ++s) o.seeds.push_back(uint64_t(s));
    const Run r = train(spec.program(), data, o);
    const double rate = double(G * base.epochs) / r.seconds;
    // Rounding differs between a grouped and a dense convolution; over many Adam steps the
    // difference grows, so this reports how far apart the same seeds end, not a verdict.
    double diff = 0, top1Gap = 0;
    std::string top1;
    for (int64_t s = 0; s < std::min(G, alone); ++s) {
      diff = std::max(diff, maxWeightDiff(r.stack->stateDict(s), singles[size_t(s)].stack->stateDict(0)));
      top1Gap = std::max(top1Gap, std::fabs(r.metrics[size_t(s)].top1 - singles[size_t(s)].metrics[0].top1));
      top1 += (top1.empty() ? "" : " ") + std::to_string(r.metrics[size_t(s)].top1).substr(0, 6);
    }
    std::printf("%-22s %4lld %16.4f %11.2f %12.2f %14.2e  %s (max gap to alone %.2f points)\n",
                ("stacked, " + std::to_string(threads) + (threads == 1 ? " thread" : " threads")).c_str(), (long long)G, rate, rate / aloneRate,
                rate / aloneRate1, diff, top1.c_str(), 100 * top1Gap);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return bench::mainOf("bench_zoo_builder", run, argc, argv); }
