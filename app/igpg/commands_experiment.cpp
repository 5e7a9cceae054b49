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

nlohmann::json jsonNumber(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

nlohmann::json agreementJson(const PairAgreement& a) {
  return {{"pairs", a.pairs},
          {"pearson_r", jsonNumber(a.pearsonR)},
          {"slope", jsonNumber(a.slope)},
          {"intercept", jsonNumber(a.intercept)},
          {"mean_abs_gap", jsonNumber(a.meanAbsGap)},
          {"max_abs_gap", jsonNumber(a.maxAbsGap)},
          {"within_noise", a.withinNoise}};
}

int runNamedExperiment(Context& ctx, const ParsedArgs& args, const ExperimentPreset& preset) {
  ExperimentOptions o = preset.options;
  o.recipe = args.valueOr("recipe", o.recipe);
  o.reportDir = args.valueOr("report", "report/" + preset.name);
  if (args.has("hold-out-arch") || args.has("hold-out-dataset") || args.has("hold-out-seed")) {
    o.holdOut = {};
    o.holdOut.architectures = args.values("hold-out-arch");
    o.holdOut.datasets = args.values("hold-out-dataset");
    o.holdOut.seeds = args.intValues("hold-out-seed");
  }
  if (auto epochs = args.optionalInt("finetune")) {
    if (*epochs < 0) usageError("--finetune", "must not be negative");
    if (!o.fineTune) o.fineTune = ExperimentOptions::defaultFineTune();
    o.fineTune->epochs = *epochs;
    o.reportEpochs.clear();
  }
  o.samples = args.intValue("samples", o.samples);
  if (o.samples < 1 || o.samples > 1000) usageError("--samples", "must be between 1 and 1000");
  applyTokenizerShape(args, o.tokenizer.config);
  o.tokenizer.steps = args.intValue("tokenizer-steps", o.tokenizer.steps);
  o.prior.steps = args.intValue("prior-steps", o.prior.steps);
  o.sampling.temperature = args.doubleValue("temperature", o.sampling.temperature);
  o.sampling.topK = args.intValue("top-k", o.sampling.topK);
  o.sampling.seed = uint64_t(args.intValue("seed", 0));
  applyDrawOptions(args, o.sampling);
  o.device = ctx.device();
#ifdef IGPG_WITH_PLOTS
  if (!args.has("no-plots")) o.renderer = ui::offscreenPlotRenderer();
#endif
  auto catalogue = Catalogue::open(ctx.cataloguePath);
  if (!ctx.quiet && !ctx.json)
    *ctx.out << "experiment " << preset.name << " on recipe " << o.recipe << ", catalogue " << ctx.cataloguePath
             << "\nseeds: tokenizer " << o.tokenizer.seed << ", prior " << o.prior.seed << ", sampling "
             << o.sampling.seed << std::endl;
  ExperimentResult r = runExperiment(*catalogue, o, ctx.job);

  Table table({"architecture", "dataset", "held_out", "params", "pretrained", "generated", "std", "best", "gap",
               "noise", "random_init", "reconstructed", "novelty", "agreement"});
  for (const auto& p : r.pairs)
    table.add({p.architecture, p.dataset, p.heldOut ? "yes" : "", p.parameters, jsonNumber(p.pretrainedMean),
               jsonNumber(p.generatedMean), jsonNumber(p.generatedStd), jsonNumber(p.generatedBest), jsonNumber(p.gap),
               jsonNumber(p.samplingNoise), jsonNumber(p.randomInit), jsonNumber(p.reconstructedMean),
               jsonNumber(p.relativeDistance), jsonNumber(p.agreement)});
  if (ctx.json) {
    printJson(ctx, {{"experiment", r.name},
                    {"recipe", r.recipe},
                    {"pairs", table.toJson()},
                    {"pearson_r", jsonNumber(r.agreement.pearsonR)},
                    {"mean_abs_gap", jsonNumber(r.agreement.meanAbsGap)},
                    {"max_abs_gap", jsonNumber(r.agreement.maxAbsGap)},
                    {"within_noise", r.agreement.withinNoise},
                    {"seen", agreementJson(r.seenAgreement)},
                    {"held_out", agreementJson(r.heldOutAgreement)},
                    {"models", r.models},
                    {"training_models", r.trainingModels},
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
  const auto agreementLine = [&](const char* over, const PairAgreement& a) {
    *ctx.out << std::fixed << std::setprecision(4) << "Pearson r = " << a.pearsonR << std::setprecision(2)
             << ", mean |gap| = " << a.meanAbsGap << " points, max |gap| = " << a.maxAbsGap << " points over " << over
             << " (" << a.pairs << "); " << a.withinNoise << " within twice their sampling noise\n";
  };
  *ctx.out << "\n";
  agreementLine("all pairs", r.agreement);
  if (r.seenAgreement.pairs > 0 && r.heldOutAgreement.pairs > 0) {
    agreementLine("the seen pairs", r.seenAgreement);
    agreementLine("the held-out pairs", r.heldOutAgreement);
  }
  *ctx.out << std::setprecision(2) << r.models << " checkpoints, top-1 in %; "
           << "tokenizer run " << r.tokenizerRun << (r.tokenizerReused ? " (reused)" : "") << ", prior run "
           << r.priorRun << (r.priorReused ? " (reused)" : "") << "; " << std::setprecision(1) << r.totalSeconds
           << " s in total\n"
           << "report: " << r.reportDir << "/report.md"
           << (r.plotsRendered ? std::string()
                               : std::string(" (plots skipped: ") +
                                     (args.has("no-plots") ? "--no-plots" : "built without the GUI") +
                                     "; their numbers are in the CSV files)")
           << "\nbrowse it in the studio: igpg-studio --catalogue " << ctx.cataloguePath << "\n";
  return 0;
}

const std::vector<OptionSpec> kExperimentOptions = [] {
  std::vector<OptionSpec> options = {
    {"samples", "N", "generated networks per pair (default 5)"},
    {"recipe", "RECIPE", "zoo recipe, embedded name or file (default: the experiment's)"},
    {"report", "DIR", "report folder (default report/NAME)"},
    {"tokenizer-steps", "N", "tokenizer training steps"},
    {"prior-steps", "N", "prior training steps (default: " + autoPriorStepsText() + ")"},
    {"temperature", "T", "sampling temperature (default " + formatCell(SamplingOptions{}.temperature) + ")"},
    {"top-k", "K", "sample among the K most likely tokens (default: all)"},
    {"seed", "N", "sampling seed (default 0)"},
    {"hold-out-arch", "SPEC", "train without this architecture's checkpoints (replaces the experiment's hold-out)", true},
    {"hold-out-dataset", "NAME", "train without this dataset's checkpoints", true},
    {"hold-out-seed", "N", "train without the checkpoints of this zoo seed", true},
    {"finetune", "E", "fine-tune generated and scratch networks E epochs (0: random-init baseline only)"},
    {"no-plots", "", "write the CSV files only"},
  };
  for (auto& o : drawOptions()) options.push_back(std::move(o));
  for (auto& o : tokenizerShapeOptions()) options.push_back(std::move(o));
  return options;
}();

int runDemo(Context& ctx, const ParsedArgs& args) { return runNamedExperiment(ctx, args, experimentPresets().front()); }

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
  if (const ExperimentPreset* preset = findExperimentPreset(name)) return runNamedExperiment(ctx, args, *preset);
  std::string known;
  for (const auto& preset : experimentPresets()) known += (known.empty() ? "" : ", ") + preset.name;
  usageError("experiment", "unknown experiment '" + name + "' (this build runs: " + known + ")");
}

std::string experimentList() {
  std::string s = "Experiments:\n";
  for (const auto& preset : experimentPresets()) s += "  " + preset.name + ": " + preset.summary + "\n";
  return s + "Each builds or reuses its zoo, tokenizer and prior, and writes report/NAME/.";
}

const Registration experiment{Command{"experiment", "run one of the paper's evaluations and write its report",
                                       experimentList(), kExperimentOptions, {{"NAME", "experiment name"}},
                                       runExperimentCommand}};

}  // namespace
}  // namespace igpg::cli
