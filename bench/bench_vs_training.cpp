// bench_vs_training: the time to generate weights for a pair against the time to train
// that pair from scratch to the same accuracy, on the same machine. For every pair of a
// recipe: the newest prior in the catalogue generates --samples networks (timed without
// their evaluation), then one network of a seed outside the zoo is trained with the
// recipe's own settings for the pair, evaluated after every epoch, until its test top-1
// reaches the generated mean (timed without the evaluations).
//
//   build/bin/bench_vs_training --catalogue DEMO_CATALOGUE [--recipe default]
#include "bench_common.h"

#include "catalogue/catalogue.h"
#include "common/runtime.h"
#include "common/stopwatch.h"
#include "evaluation/classifier_eval.h"
#include "jobs/pipelines.h"
#include "jobs/workspace.h"
#include "training/trainer.h"
#include "zoo/recipe.h"
#include "zoo/zoo_builder.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>

namespace {

int run(int argc, char** argv) {
  std::map<std::string, std::string> flags = {{"catalogue", ""}, {"recipe", "default"}, {"seed", "1000"},
                                              {"samples", "5"},  {"device", "cpu"},      {"threads", "0"}};
  if (!bench::parseFlags(argc, argv, "bench_vs_training", flags) || flags["catalogue"].empty()) {
    std::fprintf(stderr, "bench_vs_training needs --catalogue: one where `igpg demo` (or a prior run) has finished\n");
    return 2;
  }
  igpg::setThreads(std::stoi(flags["threads"]));
  const torch::Device device = igpg::resolveDevice(flags["device"]);
  auto catalogue = igpg::Catalogue::open(flags["catalogue"]);
  // The recipe's pairs and settings, with the one seed that no zoo model has.
  igpg::Recipe recipe = igpg::loadRecipe(flags["recipe"]);
  for (auto& group : recipe.groups) {
    group.seeds = {std::stoull(flags["seed"])};
    group.learningRates.resize(std::min<size_t>(group.learningRates.size(), 1));
  }
  const igpg::ZooPlan plan = igpg::planZoo(*catalogue, recipe, 1);

  std::printf("bench_vs_training: recipe %s, catalogue %s\n", recipe.name.c_str(), flags["catalogue"].c_str());
  std::printf("LibTorch %s, device %s, %d intra-op threads, BLAS %s; generation: newest prior, %s samples, "
              "seed 0; scratch: seed %s with the recipe's training\n\n",
              igpg::torchVersion().c_str(), device.str().c_str(), at::get_num_threads(), igpg::blasBackend().c_str(),
              flags["samples"].c_str(), flags["seed"].c_str());
  std::printf("%-24s %-34s %7s %10s %12s %13s %12s %8s\n", "architecture", "dataset", "params", "generated",
              "generate s", "scratch epoch", "scratch s", "ratio");
  for (const auto& stack : plan.stacks) {
    igpg::GenerateOptions g;
    g.architecture = stack.spec.name();
    g.dataset = stack.dataset;
    g.samples = std::stoll(flags["samples"]);
    g.novelty = false;
    g.device = device;
    const auto t0 = std::chrono::steady_clock::now();
    const igpg::GenerateResult generated = igpg::runGeneration(*catalogue, g, {});
    const double generateSeconds = igpg::secondsSince(t0) - generated.evaluateSeconds;
    double target = 0;
    for (const auto& s : generated.samples) target += s.metrics->top1 / double(generated.samples.size());

    auto dataset = igpg::openDataset(*catalogue, stack.dataset);
    const igpg::TensorSplit train = igpg::trainingSubset(*dataset, stack.training.trainSamples);
    const igpg::TensorSplit& test = dataset->test();
    igpg::TrainOptions t;
    t.optimizer = stack.training.optimizer;
    t.schedule = stack.training.schedule;
    t.batchSize = stack.training.batchSize;
    t.epochs = stack.training.epochs;
    t.device = device;
    t.seeds = stack.seeds;
    t.learningRates = stack.learningRates;
    double trainSeconds = 0, best = 0;
    int64_t reached = 0;
    igpg::trainModels(stack.spec.program(), train.images, train.labels, t,
                      [&](const igpg::EpochStats& stats, igpg::arch::ModelStack& models) {
                        if (reached) return;
                        trainSeconds += stats.seconds;
                        const double top1 = igpg::evaluateClassifiers(models, test.images, test.labels)[0].top1;
                        best = std::max(best, top1);
                        if (top1 >= target) reached = stats.epoch;
                      });
    std::printf("%-24s %-34s %7lld %9.2f%% %12.2f ", stack.spec.name().c_str(), stack.dataset.c_str(),
                (long long)stack.spec.parameterCount(), 100 * target, generateSeconds);
    if (reached)
      std::printf("%13lld %12.2f %7.1fx\n", (long long)reached, trainSeconds, trainSeconds / generateSeconds);
    else
      std::printf("%13s %12.2f %8s  (best %.2f%% in %lld epochs)\n", "never", trainSeconds, "-", 100 * best,
                  (long long)t.epochs);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return bench::mainOf("bench_vs_training", run, argc, argv); }
