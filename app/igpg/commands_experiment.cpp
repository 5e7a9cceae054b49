// igpg demo and igpg experiment NAME: the whole pipeline on a recipe's zoo, with a
// report. Thin: core/jobs/experiment.h does the work; this file picks the recipe, prints
// the table and says where the report is.
#include "cli.h"

#include "catalogue/catalogue.h"
#include "common/error.h"
#include "jobs/experiment.h"

#ifdef IGPG_WITH_PLOTS
#include "plots/plot_render.h"
#endif

#include <cmath>
#include <iomanip>
#include <iostream>

namespace igpg::cli {
namespace {

struct ExperimentKind {
  std::string name, recipe, summary;
};

// The experiments this build runs, with the recipe each builds its zoo from.
const std::vector<ExperimentKind>& experimentKinds() {
  static const std::vector<ExperimentKind> kinds = {
      {"demo", "default", "the default zoo: every pair generated, Pearson r, reconstruction (the README's main job)"},
      {"diverse", "diverse", "four families from 2.5k to 80k parameters (the paper's Table 9 and Figure 4)"},
      {"reconstruction", "default", "pretrained vs reconstructed vs best generated per pair (the paper's Table 3)"},
  };
  return kinds;
}

nlohmann::json jsonNumber(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

int runNamedExperiment(Context& ctx, const ParsedArgs& args, const ExperimentKind& kind) {
  ExperimentOptions o;
  o.name = kind.name;
  o.recipe = args.valueOr("recipe", kind.recipe);
  o.reportDir = args.valueOr("report", "report/" + kind.name);
  o.samples = args.intValue("samples", o.samples);
  if (o.samples < 1 || o.samples > 1000) usageError("--samples", "must be between 1 and 1000");
  o.tokenizer.steps = args.intValue("tokenizer-steps", o.tokenizer.steps);
  o.prior.steps = args.intValue("prior-steps", o.prior.steps);
  o.sampling.temperature = args.doubleValue("temperature", o.sampling.temperature);
  o.sampling.topK = args.intValue("top-k", o.sampling.topK);
  o.sampling.seed = uint64_t(args.intValue("seed", 0));
  o.device = ctx.device();
#ifdef IGPG_WITH_PLOTS
  if (!args.has("no-plots")) o.renderer = ui::offscreenPlotRenderer();
#endif
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  if (!ctx.quiet && !ctx.json)
    *ctx.out << "experiment " << kind.name << " on recipe " << o.recipe << ", catalogue " << ctx.cataloguePath
             << "\nseeds: tokenizer " << o.tokenizer.seed << ", prior " << o.prior.seed << ", sampling "
             << o.sampling.seed << std::endl;
  ExperimentResult r = runExperiment(*catalogue, o, ctx.job);

  Table table({"architecture", "dataset", "params", "pretrained", "generated", "std", "best", "gap", "reconstructed",
               "novelty", "agreement"});
  for (const auto& p : r.pairs)
    table.add({p.architecture, p.dataset, p.parameters, jsonNumber(p.pretrainedMean), jsonNumber(p.generatedMean),
               jsonNumber(p.generatedStd), jsonNumber(p.generatedBest), jsonNumber(p.gap),
               jsonNumber(p.reconstructedMean), jsonNumber(p.relativeDistance), jsonNumber(p.agreement)});
  if (ctx.json) {
    printJson(ctx, {{"experiment", r.name},
                    {"recipe", r.recipe},
                    {"pairs", table.toJson()},
                    {"pearson_r", jsonNumber(r.pearsonR)},
                    {"mean_abs_gap", r.meanAbsGap},
                    {"max_abs_gap", r.maxAbsGap},
                    {"tokenizer_run", r.tokenizerRun},
                    {"prior_run", r.priorRun},
                    {"relative_rmse", r.relativeRmse},
                    {"seconds", r.totalSeconds},
                    {"report", r.reportDir},
                    {"files", r.files}});
    return 0;
  }
  *ctx.out << "\n";
  table.print(ctx);
  *ctx.out << std::fixed << std::setprecision(4) << "\nPearson r = " << r.pearsonR << std::setprecision(2)
           << ", mean |gap| = " << r.meanAbsGap << " points, max |gap| = " << r.maxAbsGap << " points ("
           << r.models << " checkpoints, top-1 in %)\n"
           << "tokenizer run " << r.tokenizerRun << (r.tokenizerReused ? " (reused)" : "") << ", prior run "
           << r.priorRun << (r.priorReused ? " (reused)" : "") << "; " << std::setprecision(1) << r.totalSeconds
           << " s in total\n"
           << "report: " << r.reportDir << "/report.md"
           << (r.plotsRendered ? "" : " (plots skipped: built without the GUI; their numbers are in the CSV files)")
           << "\nbrowse it in the studio: igpg-studio --catalogue " << ctx.cataloguePath << "\n";
  return 0;
}

const std::vector<OptionSpec> kExperimentOptions = {
    {"samples", "N", "generated networks per pair (default 5)"},
    {"recipe", "RECIPE", "zoo recipe, embedded name or file (default: the experiment's)"},
    {"report", "DIR", "report folder (default report/NAME)"},
    {"tokenizer-steps", "N", "tokenizer training steps"},
    {"prior-steps", "N", "prior training steps"},
    {"temperature", "T", "sampling temperature (default " + formatCell(ExperimentOptions::defaultSampling().temperature) + ")"},
    {"top-k", "K", "sample among the K most likely tokens (default: all)"},
    {"seed", "N", "sampling seed (default 0)"},
    {"no-plots", "", "write the CSV files only"},
};

int runDemo(Context& ctx, const ParsedArgs& args) { return runNamedExperiment(ctx, args, experimentKinds().front()); }

const Registration demo{Command{
    "demo",
    "the README's main job: default zoo, tokenizer, prior, generation, report",
    "Builds the embedded default zoo (default.json), trains the tokenizer and the prior on it,\n"
    "generates 5 networks for every (architecture, dataset) pair, evaluates them and writes\n"
    "report/demo/. Every stage that exists with the same settings is reused, so a second run\n"
    "only generates and evaluates.",
    kExperimentOptions,
    {},
    runDemo}};

int runExperimentCommand(Context& ctx, const ParsedArgs& args) {
  const std::string name = args.positionals().at(0);
  std::string known;
  for (const auto& kind : experimentKinds()) {
    if (kind.name == name) return runNamedExperiment(ctx, args, kind);
    known += (known.empty() ? "" : ", ") + kind.name;
  }
  usageError("experiment", "unknown experiment '" + name + "' (this build runs: " + known + ")");
}

std::string experimentList() {
  std::string s = "Experiments:\n";
  for (const auto& kind : experimentKinds()) s += "  " + kind.name + ": " + kind.summary + "\n";
  return s + "Each builds or reuses its zoo, tokenizer and prior, and writes report/NAME/.";
}

const Registration experiment{Command{"experiment", "run one of the paper's evaluations and write its report",
                                       experimentList(), kExperimentOptions, {{"NAME", "experiment name"}},
                                       runExperimentCommand}};

}  // namespace
}  // namespace igpg::cli
