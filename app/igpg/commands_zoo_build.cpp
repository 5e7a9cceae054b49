// igpg zoo build: train a recipe's zoo into the catalogue.
#include "cli.h"

#include "catalogue/catalogue.h"
#include "zoo/zoo_builder.h"

#include <iostream>

namespace igpg::cli {
namespace {

int runBuild(Context& ctx, const ParsedArgs& args) {
  const Recipe recipe = loadRecipe(args.positionals().at(0));
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  if (args.has("plan")) {
    const ZooPlan plan = planZoo(*catalogue, recipe, args.intValue("max-stack", 32));
    Table table({"architecture", "dataset", "models", "epochs", "missing_checkpoints"});
    for (const auto& s : plan.stacks) {
      int64_t missing = 0;
      for (const auto& m : s.missing) missing += int64_t(m.size());
      table.add({s.spec.name(), s.dataset, int64_t(s.seeds.size()), s.training.epochs, missing});
    }
    table.print(ctx);
    if (!ctx.json)
      *ctx.out << plan.checkpoints << " checkpoints in recipe " << recipe.name << ", " << plan.existing
               << " already in the catalogue\n";
    return 0;
  }
  ZooBuildOptions options;
  options.device = ctx.device();
  options.maxStack = args.intValue("max-stack", options.maxStack);
  const ZooBuildResult result = buildZoo(*catalogue, recipe, options, ctx.job);
  if (ctx.json) {
    printJson(ctx, {{"recipe", recipe.name}, {"added", result.added}, {"skipped", result.skipped},
                    {"seconds", result.seconds}});
  } else {
    *ctx.out << "zoo " << recipe.name << ": " << result.added << " checkpoints added, " << result.skipped
             << " already present, " << result.seconds << " s\n";
  }
  return 0;
}

std::string recipeHelp() {
  std::string names;
  for (const auto& n : embeddedRecipeNames()) names += (names.empty() ? "" : ", ") + n;
  return "RECIPE is a built-in recipe (" + names + ") or a recipe file\n";
}

const Registration build{Command{
    "zoo build",
    "train a recipe's zoo into the catalogue (resumable)",
    recipeHelp() +
    "(format: core/zoo/recipe.h). Models of one architecture and dataset train together as\n"
    "one stack. Re-running skips finished models; Ctrl-C stops after the current step and\n"
    "leaves the catalogue consistent.",
    {{"plan", "", "show what would be trained, train nothing"},
     {"max-stack", "N", "models trained together at most (default 32)"}},
    {{"RECIPE", "recipe name or file"}},
    runBuild}};

}  // namespace
}  // namespace igpg::cli
