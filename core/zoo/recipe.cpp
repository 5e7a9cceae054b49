#include "zoo/recipe.h"

#include "common/embedded.h"
#include "common/error.h"
#include "common/files.h"

#include <set>

namespace igpg {

namespace {

using nlohmann::json;

void checkKeys(const json& object, const std::set<std::string>& allowed, const std::string& where) {
  if (!object.is_object()) fail(ErrorKind::Config, where, "must be a JSON object");
  for (auto it = object.begin(); it != object.end(); ++it)
    if (!allowed.count(it.key())) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(ErrorKind::Config, where + "." + it.key(), "unknown field (expected one of: " + list + ")");
    }
}

int64_t positiveInt(const json& v, const std::string& where, bool allowZero = false) {
  if (!v.is_number_integer() || v.get<int64_t>() < (allowZero ? 0 : 1))
    fail(ErrorKind::Config, where, allowZero ? "must be a non-negative integer" : "must be a positive integer");
  return v.get<int64_t>();
}

double positiveNumber(const json& v, const std::string& where, bool allowZero = false) {
  if (!v.is_number() || v.get<double>() < 0 || (!allowZero && v.get<double>() == 0))
    fail(ErrorKind::Config, where, allowZero ? "must be a non-negative number" : "must be a positive number");
  return v.get<double>();
}

std::vector<int64_t> rangeOrList(const json& v, const std::string& where, const char* from, const char* to) {
  std::vector<int64_t> out;
  if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) out.push_back(positiveInt(v[i], where + "[" + std::to_string(i) + "]", true));
  } else if (v.is_object()) {
    checkKeys(v, {from, to}, where);
    if (!v.contains(from) || !v.contains(to)) fail(ErrorKind::Config, where, std::string("needs ") + from + " and " + to);
    const int64_t a = positiveInt(v[from], where + "." + from, true);
    const int64_t b = positiveInt(v[to], where + "." + to, true);
    if (std::string(to) == "count") {
      for (int64_t i = 0; i < b; ++i) out.push_back(a + i);
    } else {
      if (b < a) fail(ErrorKind::Config, where, std::string(to) + " is before " + from);
      for (int64_t i = a; i <= b; ++i) out.push_back(i);
    }
  } else {
    fail(ErrorKind::Config, where, "must be a list or an object");
  }
  if (out.empty()) fail(ErrorKind::Config, where, "is empty");
  return out;
}

void applyTraining(const json& t, RecipeTraining& r, const std::string& where) {
  checkKeys(t, {"optimizer", "learning_rate", "momentum", "weight_decay", "batch_size", "epochs", "keep_epochs",
                "train_samples", "lr_schedule"},
            where);
  if (t.contains("optimizer")) {
    if (!t["optimizer"].is_string()) fail(ErrorKind::Config, where + ".optimizer", "must be a string");
    try {
      r.optimizer.kind = parseOptimizer(t["optimizer"].get<std::string>());
    } catch (const Error& e) {
      fail(ErrorKind::Config, where + ".optimizer", e.message());
    }
  }
  if (t.contains("lr_schedule")) {
    if (!t["lr_schedule"].is_string()) fail(ErrorKind::Config, where + ".lr_schedule", "must be a string");
    try {
      r.schedule = parseLrSchedule(t["lr_schedule"].get<std::string>());
    } catch (const Error& e) {
      fail(ErrorKind::Config, where + ".lr_schedule", e.message());
    }
  }
  if (t.contains("learning_rate")) r.optimizer.learningRate = positiveNumber(t["learning_rate"], where + ".learning_rate");
  if (t.contains("momentum")) r.optimizer.momentum = positiveNumber(t["momentum"], where + ".momentum", true);
  if (t.contains("weight_decay")) r.optimizer.weightDecay = positiveNumber(t["weight_decay"], where + ".weight_decay", true);
  if (t.contains("batch_size")) r.batchSize = positiveInt(t["batch_size"], where + ".batch_size");
  if (t.contains("epochs")) r.epochs = positiveInt(t["epochs"], where + ".epochs");
  if (t.contains("keep_epochs")) r.keepEpochs = rangeOrList(t["keep_epochs"], where + ".keep_epochs", "from", "to");
  if (t.contains("train_samples")) r.trainSamples = positiveInt(t["train_samples"], where + ".train_samples", true);
}

void finishTraining(RecipeTraining& r, const std::string& where) {
  if (r.keepEpochs.empty()) r.keepEpochs = {r.epochs};
  for (int64_t e : r.keepEpochs)
    if (e < 1 || e > r.epochs)
      fail(ErrorKind::Config, where + ".keep_epochs",
           "epoch " + std::to_string(e) + " is outside 1.." + std::to_string(r.epochs));
  std::set<int64_t> unique(r.keepEpochs.begin(), r.keepEpochs.end());
  r.keepEpochs.assign(unique.begin(), unique.end());
  checkOptimizerOptions(r.optimizer);
}

}  // namespace

nlohmann::json RecipeTraining::toJson() const {
  nlohmann::json j = {{"optimizer", optimizerName(optimizer.kind)},
          {"learning_rate", optimizer.learningRate},
          {"momentum", optimizer.momentum},
          {"weight_decay", optimizer.weightDecay},
          {"batch_size", batchSize},
          {"epochs", epochs},
          {"keep_epochs", keepEpochs},
          {"train_samples", trainSamples}};
  // Absent when constant: the zoo builder keys finished work by this JSON, and zoos
  // built before schedules existed trained with a constant rate.
  if (schedule != LrSchedule::Constant) j["lr_schedule"] = lrScheduleName(schedule);
  return j;
}

Recipe parseRecipe(const nlohmann::json& j, const std::string& source) {
  checkKeys(j, {"name", "description", "training", "groups"}, source);
  Recipe r;
  if (!j.contains("name") || !j["name"].is_string() || j["name"].get<std::string>().empty())
    fail(ErrorKind::Config, source + ".name", "a recipe needs a name");
  r.name = j["name"].get<std::string>();
  r.description = j.value("description", "");
  RecipeTraining base;
  if (j.contains("training")) applyTraining(j["training"], base, source + ".training");
  if (!j.contains("groups") || !j["groups"].is_array() || j["groups"].empty())
    fail(ErrorKind::Config, source + ".groups", "needs at least one group");
  for (size_t g = 0; g < j["groups"].size(); ++g) {
    const auto& gj = j["groups"][g];
    const std::string where = source + ".groups[" + std::to_string(g) + "]";
    checkKeys(gj, {"architectures", "datasets", "seeds", "learning_rates", "training"}, where);
    RecipeGroup group;
    group.training = base;
    if (gj.contains("training")) applyTraining(gj["training"], group.training, where + ".training");
    finishTraining(group.training, where + ".training");
    if (!gj.contains("architectures") || !gj["architectures"].is_array() || gj["architectures"].empty())
      fail(ErrorKind::Config, where + ".architectures", "needs at least one architecture SPEC");
    for (size_t a = 0; a < gj["architectures"].size(); ++a) {
      const auto& spec = gj["architectures"][a];
      if (!spec.is_string() && !spec.is_object())
        fail(ErrorKind::Config, where + ".architectures[" + std::to_string(a) + "]",
             "must be a preset name or a SPEC object");
      group.architectures.push_back(spec);
    }
    if (!gj.contains("datasets") || !gj["datasets"].is_array() || gj["datasets"].empty())
      fail(ErrorKind::Config, where + ".datasets", "needs at least one dataset name");
    for (size_t d = 0; d < gj["datasets"].size(); ++d) {
      if (!gj["datasets"][d].is_string())
        fail(ErrorKind::Config, where + ".datasets[" + std::to_string(d) + "]", "must be a dataset name");
      group.datasets.push_back(gj["datasets"][d].get<std::string>());
    }
    if (!gj.contains("seeds")) fail(ErrorKind::Config, where + ".seeds", "needs at least one seed");
    for (int64_t s : rangeOrList(gj["seeds"], where + ".seeds", "start", "count")) group.seeds.push_back(uint64_t(s));
    if (gj.contains("learning_rates")) {
      if (!gj["learning_rates"].is_array() || gj["learning_rates"].empty())
        fail(ErrorKind::Config, where + ".learning_rates", "must be a non-empty list");
      for (size_t i = 0; i < gj["learning_rates"].size(); ++i)
        group.learningRates.push_back(
            positiveNumber(gj["learning_rates"][i], where + ".learning_rates[" + std::to_string(i) + "]"));
    }
    r.groups.push_back(std::move(group));
  }
  return r;
}

std::vector<std::string> embeddedRecipeNames() {
  std::vector<std::string> names;
  for (const auto& file : embeddedFilesUnder("recipes/")) {
    std::string n = file.substr(8);
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) names.push_back(n.substr(0, n.size() - 5));
  }
  return names;
}

Recipe loadRecipe(const std::string& nameOrPath) {
  std::string text, source;
  if (auto embedded = embeddedFile("recipes/" + nameOrPath + ".json")) {
    text = *embedded;
    source = "recipe " + nameOrPath;
  } else if (fileExists(nameOrPath)) {
    text = readFileText(nameOrPath);
    source = nameOrPath;
  } else {
    std::string known;
    for (const auto& n : embeddedRecipeNames()) known += (known.empty() ? "" : ", ") + n;
    fail(ErrorKind::NotFound, nameOrPath, "no such recipe file or built-in recipe (built-in: " + known + ")");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Config, source, std::string("not valid JSON: ") + e.what());
  }
  return parseRecipe(j, source);
}

}  // namespace igpg
