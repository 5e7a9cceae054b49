// The zoo builder: trains every (architecture, dataset, seed, learning rate) of a recipe,
// keeps the checkpoints of the epochs it asks for, evaluates each on the test split and
// records them in the catalogue with what made them (recipe, seed, optimizer, learning
// rate, epoch). Models of one architecture and dataset are trained together as one
// stack (training/trainer.h), which is what makes tiny networks use the cores.
//
// Resumable: every checkpoint row carries its unit's key (a hash of the recipe name, the
// canonical architecture, the dataset, the seed, the learning rate and the training
// settings); a re-run skips finished units and retrains unfinished ones (deterministic
// per seed), adding only the checkpoints that are missing. Cancellable: each kept epoch
// is committed in one transaction, so Ctrl-C leaves a consistent, resumable catalogue.
#pragma once

#include "arch/spec.h"
#include "catalogue/catalogue.h"
#include "jobs/progress.h"
#include "zoo/recipe.h"

#include <torch/types.h>

#include <string>
#include <vector>

namespace igpg {

struct ZooBuildOptions {
  torch::Device device = torch::kCPU;
  int64_t maxStack = 32;  // models trained together at most
};

// One stack to train: same architecture, dataset and training settings, at most
// maxStack models.
struct ZooStackPlan {
  size_t group = 0;
  arch::ArchSpec spec;
  std::string dataset;
  RecipeTraining training;
  std::vector<uint64_t> seeds;
  std::vector<double> learningRates;         // one per model
  std::vector<std::string> units;            // one per model
  std::vector<std::vector<int64_t>> missing;  // per model: kept epochs not in the catalogue yet
  int64_t stepsPerEpoch = 0;
};

struct ZooPlan {
  Recipe recipe;
  std::vector<ZooStackPlan> stacks;  // only stacks with missing checkpoints
  int64_t checkpoints = 0;           // kept checkpoints the recipe asks for in total
  int64_t existing = 0;              // already in the catalogue
  int64_t totalSteps = 0;            // optimizer steps still to run (for progress)
};

// Resolves every architecture against every dataset and compares with the catalogue.
// Any problem (unknown family or dataset, wrong field type, an architecture that does not
// fit a dataset) is an Error before anything is trained or written.
ZooPlan planZoo(Catalogue& catalogue, const Recipe& recipe, int64_t maxStack = 32);

struct ZooBuildResult {
  int64_t added = 0;
  int64_t skipped = 0;  // checkpoints that were already there
  double seconds = 0;
};

ZooBuildResult buildZoo(Catalogue& catalogue, const Recipe& recipe, const ZooBuildOptions& options,
                        const JobControl& job);

}  // namespace igpg
