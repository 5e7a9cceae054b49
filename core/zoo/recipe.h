// Zoo recipes (zoo_db/recipes/*.json): which (architecture, dataset, seed, learning
// rate) combinations to train, how, and which epochs to keep.
//
//   {
//     "name": "tiny",
//     "description": "Tiny Model Zoo protocol",
//     "training": {"optimizer": "adam", "learning_rate": 0.001, "batch_size": 64,
//                  "epochs": 50, "keep_epochs": [21, 22, 23, 24, 25],
//                  "weight_decay": 0, "train_samples": 0, "lr_schedule": "constant"},
//     "groups": [
//       {"architectures": ["tinycnn"], "datasets": ["fashion-mnist", "digits"],
//        "seeds": {"start": 0, "count": 20}, "learning_rates": [0.001],
//        "training": {"epochs": 30}}
//     ]
//   }
//
// Every group trains the product architectures x datasets x seeds x learning_rates with
// the recipe's training settings, overridden field by field by the group's own.
// `lr_schedule` is "constant" or "cosine" (annealed to 0 over all the run's minibatches).
// `seeds` is a list or {"start", "count"}; `train_samples` > 0 trains on a seeded subset
// of the train split (0: all of it); `keep_epochs` may be a list or {"from", "to"}.
#pragma once

#include "training/lr_schedule.h"
#include "training/optimizer.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace igpg {

struct RecipeTraining {
  OptimizerOptions optimizer;
  LrSchedule schedule = LrSchedule::Constant;
  int64_t batchSize = 64;
  int64_t epochs = 10;
  std::vector<int64_t> keepEpochs;  // default: the last epoch
  int64_t trainSamples = 0;         // 0: the whole train split

  nlohmann::json toJson() const;
};

struct RecipeGroup {
  std::vector<nlohmann::json> architectures;  // SPECs as written (strings or objects)
  std::vector<std::string> datasets;
  std::vector<uint64_t> seeds;
  std::vector<double> learningRates;          // empty: training.optimizer.learningRate
  RecipeTraining training;
};

struct Recipe {
  std::string name;
  std::string description;
  std::vector<RecipeGroup> groups;
};

// Parses and checks the structure (field names and types, non-empty lists, epochs);
// Error(Config) naming the field ("groups[1].seeds", "training.keep_epochs"). Whether the
// architectures fit the datasets is checked by the zoo builder's planning step.
Recipe parseRecipe(const nlohmann::json& json, const std::string& source);
// A file path, or the name of an embedded recipe ("default", "tiny", ...).
Recipe loadRecipe(const std::string& nameOrPath);
std::vector<std::string> embeddedRecipeNames();

}  // namespace igpg
