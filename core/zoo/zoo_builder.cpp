#include "zoo/zoo_builder.h"

#include "common/error.h"
#include "common/sha256.h"
#include "evaluation/classifier_eval.h"
#include "jobs/workspace.h"
#include "training/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <map>
#include <set>

namespace igpg {

namespace {

std::string sourceOf(const Recipe& recipe) { return "zoo:" + recipe.name; }

std::string unitKey(const Recipe& recipe, const arch::ArchSpec& spec, const std::string& dataset, uint64_t seed,
                    double lr, const RecipeTraining& training) {
  nlohmann::json key = {{"recipe", recipe.name}, {"architecture", spec.canonicalJson()}, {"dataset", dataset},
                        {"seed", seed},          {"learning_rate", lr},                  {"training", training.toJson()}};
  return sha256Hex(key.dump()).substr(0, 16);
}

double meanTop1(const std::vector<ClassifierMetrics>& metrics, const std::vector<size_t>& which) {
  double sum = 0;
  for (size_t i : which) sum += metrics[i].top1;
  return which.empty() ? 0 : sum / double(which.size());
}

}  // namespace

ZooPlan planZoo(Catalogue& catalogue, const Recipe& recipe, int64_t maxStack) {
  if (maxStack < 1) fail(ErrorKind::Config, "max-stack", "must be at least 1");
  ZooPlan plan;
  plan.recipe = recipe;
  std::map<std::string, std::set<int64_t>> have;
  ModelFilter filter;
  filter.source = sourceOf(recipe);
  for (const auto& m : catalogue.listModels(filter))
    if (m.metadata.contains("unit")) have[m.metadata["unit"].get<std::string>()].insert(m.epoch);

  for (size_t g = 0; g < recipe.groups.size(); ++g) {
    const RecipeGroup& group = recipe.groups[g];
    const std::string where = "groups[" + std::to_string(g) + "]";
    for (const auto& datasetName : group.datasets) {
      std::shared_ptr<const Dataset> dataset;
      try {
        dataset = openDataset(catalogue, datasetName);
      } catch (const Error& e) {
        rethrowWithContext(e, recipe.name + ": " + where + ".datasets");
      }
      for (size_t a = 0; a < group.architectures.size(); ++a) {
        const auto& specJson = group.architectures[a];
        std::optional<arch::ArchSpec> spec;
        try {
          spec = specJson.is_string() ? arch::resolveSpec(specJson.get<std::string>(), dataShapeOf(*dataset))
                                      : arch::resolveSpecJson(specJson, dataShapeOf(*dataset));
        } catch (const Error& e) {
          rethrowWithContext(e, recipe.name + ": " + where + ".architectures[" + std::to_string(a) + "] on " +
                                    dataset->name());
        }
        const std::vector<double> rates =
            group.learningRates.empty() ? std::vector<double>{group.training.optimizer.learningRate} : group.learningRates;
        ZooStackPlan stack{g, *spec, dataset->name(), group.training, {}, {}, {}, {}, 0};
        const int64_t samples = trainingSubset(*dataset, group.training.trainSamples).size();
        stack.stepsPerEpoch = (samples + group.training.batchSize - 1) / group.training.batchSize;
        // Pending models are trained maxStack at a time.
        auto flush = [&] {
          for (size_t first = 0; first < stack.seeds.size(); first += size_t(maxStack)) {
            const auto count = long(std::min(stack.seeds.size() - first, size_t(maxStack)));
            const auto from = long(first);
            ZooStackPlan part{g, stack.spec, stack.dataset, stack.training, {}, {}, {}, {}, stack.stepsPerEpoch};
            part.seeds.assign(stack.seeds.begin() + from, stack.seeds.begin() + from + count);
            part.learningRates.assign(stack.learningRates.begin() + from, stack.learningRates.begin() + from + count);
            part.units.assign(stack.units.begin() + from, stack.units.begin() + from + count);
            part.missing.assign(stack.missing.begin() + from, stack.missing.begin() + from + count);
            plan.totalSteps += part.stepsPerEpoch * part.training.epochs;
            plan.stacks.push_back(std::move(part));
          }
        };
        for (uint64_t seed : group.seeds) {
          for (double lr : rates) {
            const std::string unit = unitKey(recipe, *spec, dataset->name(), seed, lr, group.training);
            std::vector<int64_t> missing;
            for (int64_t e : group.training.keepEpochs) {
              ++plan.checkpoints;
              if (have[unit].count(e)) ++plan.existing;
              else missing.push_back(e);
            }
            if (missing.empty()) continue;
            stack.seeds.push_back(seed);
            stack.learningRates.push_back(lr);
            stack.units.push_back(unit);
            stack.missing.push_back(missing);
          }
        }
        flush();
      }
    }
  }
  return plan;
}

ZooBuildResult buildZoo(Catalogue& catalogue, const Recipe& recipe, const ZooBuildOptions& options,
                        const JobControl& job) {
  const auto start = std::chrono::steady_clock::now();
  ZooPlan plan = planZoo(catalogue, recipe, options.maxStack);
  ZooBuildResult result;
  result.skipped = plan.existing;
  ProgressReporter progress(job, "build zoo " + recipe.name, plan.totalSteps);
  progress.log("zoo " + recipe.name + ": " + std::to_string(plan.checkpoints) + " checkpoints, " +
               std::to_string(plan.existing) + " already in the catalogue, " + std::to_string(plan.stacks.size()) +
               " stacks to train");
  int64_t stepsDone = 0;
  for (size_t s = 0; s < plan.stacks.size(); ++s) {
    const ZooStackPlan& stackPlan = plan.stacks[s];
    auto dataset = openDataset(catalogue, stackPlan.dataset);
    registerPair(catalogue, stackPlan.spec, *dataset);
    const TensorSplit train = trainingSubset(*dataset, stackPlan.training.trainSamples);
    const TensorSplit& test = dataset->test();
    const size_t count = stackPlan.seeds.size();
    TrainOptions trainOptions;
    trainOptions.optimizer = stackPlan.training.optimizer;
    trainOptions.schedule = stackPlan.training.schedule;
    trainOptions.batchSize = stackPlan.training.batchSize;
    trainOptions.epochs = stackPlan.training.epochs;
    trainOptions.device = options.device;
    trainOptions.seeds = stackPlan.seeds;
    trainOptions.learningRates = stackPlan.learningRates;
    progress.log("stack " + std::to_string(s + 1) + "/" + std::to_string(plan.stacks.size()) + ": " +
                 stackPlan.spec.name() + " on " + stackPlan.dataset + ", " + std::to_string(count) + " models (seeds " +
                 std::to_string(stackPlan.seeds.front()) + ".." + std::to_string(stackPlan.seeds.back()) + "), " +
                 std::to_string(stackPlan.training.epochs) + " epochs");
    JobControl inner;
    inner.cancel = job.cancel;
    const int64_t offset = stepsDone;
    inner.progress = [&](const ProgressEvent& e) {
      if (e.phase == "train" && !e.finished) progress.update(offset + e.done, e.metrics);
    };
    auto onEpoch = [&](const EpochStats& stats, arch::ModelStack& stack) {
      std::vector<size_t> keep;
      for (size_t i = 0; i < count; ++i) {
        const auto& missing = stackPlan.missing[i];
        if (std::find(missing.begin(), missing.end(), stats.epoch) != missing.end()) keep.push_back(i);
      }
      if (keep.empty()) return;
      const auto metrics = evaluateClassifiers(stack, test.images, test.labels, EvalOptions{}, JobControl{{}, job.cancel});
      std::vector<ModelWeights> batch;
      for (size_t i : keep) {
        ModelRecord r;
        r.architecture = stackPlan.spec.name();
        r.family = stackPlan.spec.family();
        r.dataset = stackPlan.dataset;
        r.source = sourceOf(recipe);
        r.seed = int64_t(stackPlan.seeds[i]);
        r.epoch = stats.epoch;
        r.top1 = metrics[i].top1;
        r.top5 = metrics[i].top5;
        r.loss = metrics[i].loss;
        r.numParams = stackPlan.spec.parameterCount();
        r.metadata = {{"recipe", recipe.name},
                      {"group", stackPlan.group},
                      {"unit", stackPlan.units[i]},
                      {"learning_rate", stackPlan.learningRates[i]},
                      {"training", stackPlan.training.toJson()},
                      {"train_loss", stats.loss[i]},
                      {"train_accuracy", stats.accuracy[i]},
                      {"train_samples", train.size()}};
        batch.push_back({r, stack->stateDict(int64_t(i))});
      }
      catalogue.addModels(batch);
      result.added += int64_t(batch.size());
      progress.log("  epoch " + std::to_string(stats.epoch) + ": kept " + std::to_string(batch.size()) +
                   " checkpoints, mean test top-1 " + std::to_string(meanTop1(metrics, keep)));
    };
    trainModels(stackPlan.spec.program(), train.images, train.labels, trainOptions, onEpoch, inner);
    stepsDone += stackPlan.stepsPerEpoch * stackPlan.training.epochs;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish({{"added", double(result.added)}, {"skipped", double(result.skipped)}});
  return result;
}

}  // namespace igpg
