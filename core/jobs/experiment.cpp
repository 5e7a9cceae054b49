#include "jobs/experiment.h"

#include "common/error.h"
#include "common/files.h"
#include "common/runtime.h"
#include "common/stopwatch.h"
#include "data/task.h"
#include "evaluation/catalogue_figures.h"
#include "evaluation/csv.h"
#include "evaluation/statistics.h"
#include "jobs/workspace.h"
#include "zoo/zoo_builder.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <iomanip>
#include <map>
#include <optional>
#include <sstream>

namespace igpg {
namespace {

std::string fixed(double v, int digits = 2) {
  if (!std::isfinite(v)) return "n/a";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

// Report CSV numbers: exact, and an empty cell where there is no number.
std::string csvNumber(double v) { return std::isfinite(v) ? exactNumber(v) : std::string(); }

// The distinct (architecture, dataset) pairs of the zoo, in the order of their first model,
// with the checkpoints the experiment holds out.
struct Pair {
  ResolvedModel first;
  std::vector<ModelRecord> models, heldOut;
};

std::vector<Pair> pairsOf(Catalogue& catalogue, const ModelFilter& filter) {
  std::vector<Pair> pairs;
  std::map<std::string, size_t> index;
  for (const auto& m : catalogue.listModels(filter)) {
    const std::string key = m.architecture + "\n" + m.dataset;
    auto it = index.find(key);
    if (it == index.end()) {
      index[key] = pairs.size();
      pairs.push_back({resolveModel(catalogue, m), {m}, {}});
    } else {
      pairs[it->second].models.push_back(m);
    }
  }
  return pairs;
}

// Marks the held-out checkpoints of every pair; returns the ids of the others, the
// training zoo. An entry that matches nothing is a mistake worth stopping for: the
// experiment would silently test nothing.
std::vector<int64_t> applyHoldOut(Catalogue& catalogue, const HoldOut& holdOut, std::vector<Pair>& pairs) {
  std::vector<bool> used(holdOut.architectures.size() + holdOut.datasets.size() + holdOut.seeds.size(), false);
  std::vector<std::string> datasets;
  for (const auto& d : holdOut.datasets) datasets.push_back(canonicalDatasetName(d));
  std::vector<int64_t> training;
  for (auto& pair : pairs) {
    bool whole = false;
    for (size_t a = 0; a < holdOut.architectures.size(); ++a) {
      bool same = false;
      try {
        same = resolveArchitecture(catalogue, holdOut.architectures[a], *pair.first.dataset).canonicalJson() ==
               pair.first.spec.canonicalJson();
      } catch (const Error&) {
        // A SPEC that does not fit this pair's dataset is not this pair's architecture.
      }
      if (same) used[a] = whole = true;
    }
    for (size_t d = 0; d < datasets.size(); ++d)
      if (datasets[d] == pair.first.record.dataset) used[holdOut.architectures.size() + d] = whole = true;
    for (const auto& m : pair.models) {
      const auto seed = std::find(holdOut.seeds.begin(), holdOut.seeds.end(), m.seed);
      if (seed != holdOut.seeds.end())
        used[holdOut.architectures.size() + datasets.size() + size_t(seed - holdOut.seeds.begin())] = true;
      if (whole || seed != holdOut.seeds.end()) {
        pair.heldOut.push_back(m);
      } else {
        training.push_back(m.id);
      }
    }
  }
  for (size_t i = 0; i < used.size(); ++i) {
    if (used[i]) continue;
    const size_t a = holdOut.architectures.size(), d = a + datasets.size();
    const std::string what = i < a   ? "architecture " + holdOut.architectures[i]
                             : i < d ? "dataset " + holdOut.datasets[i - a]
                                     : "seed " + std::to_string(holdOut.seeds[i - d]);
    fail(ErrorKind::Usage, "hold-out", what + " matches no checkpoint of the zoo");
  }
  if (training.empty()) fail(ErrorKind::Usage, "hold-out", "holds out every checkpoint of the zoo: nothing to train on");
  return training;
}

}  // namespace

FineTuneOptions ExperimentOptions::defaultFineTune() {
  FineTuneOptions f;
  f.epochs = 1;
  f.trainSamples = 6000;
  return f;
}

const std::vector<ExperimentPreset>& experimentPresets() {
  static const std::vector<ExperimentPreset> presets = [] {
    auto preset = [](std::string name, std::string recipe, std::string summary) {
      ExperimentPreset p{std::move(name), std::move(summary), {}};
      p.options.name = p.name;
      p.options.recipe = std::move(recipe);
      return p;
    };
    std::vector<ExperimentPreset> all;
    all.push_back(preset("demo", "default",
                         "the default zoo: every pair generated, Pearson r, reconstruction (the README's main job)"));

    // Table 1: 20 seeds per dataset, the last 3 held out (the Tiny Model Zoo's 15% test
    // split); fine-tuning to epoch 25 on the whole train split, shown at 0, 1, 5 and 25.
    ExperimentPreset tiny = preset("tiny", "tiny",
                                   "held-out Tiny CNN seeds, fine-tuned 0/1/5/25 epochs against scratch (the paper's Table 1)");
    tiny.options.holdOut.seeds = {17, 18, 19};
    tiny.options.fineTune->epochs = 25;
    tiny.options.fineTune->trainSamples = 0;
    tiny.options.reportEpochs = {0, 1, 5, 25};
    all.push_back(tiny);

    all.push_back(preset("diverse", "diverse",
                         "four families from 2.5k to 80k parameters (the paper's Table 9 and Figure 4)"));

    // Section 4.4: held out inside the trained range ([1,2,1], [2,3,2]) and deeper than any
    // trained configuration ([4,4,4]); zero-shot only, against random initialization.
    ExperimentPreset archs = preset("unseen-architectures", "resnet-blocks",
                                    "ResNet block configurations never trained on, zero-shot (the paper's section 4.4)");
    for (const char* blocks : {"[1,2,1]", "[2,3,2]", "[4,4,4]"})
      archs.options.holdOut.architectures.push_back(std::string(R"({"family":"resnet","width":8,"blocks":)") + blocks + "}");
    archs.options.fineTune->epochs = 0;
    all.push_back(archs);

    // Section 4.3 and Figure 2: held out a class subset, a transform and the other domain.
    ExperimentPreset tasks = preset("unseen-datasets", "tasks",
                                    "derived tasks never trained on, fine-tuned 1 and 5 epochs (the paper's section 4.3)");
    tasks.options.holdOut.datasets = {"fashion-mnist[classes=1,3,5,7,9]", "fashion-mnist[rot90]", "digits"};
    tasks.options.fineTune->epochs = 5;
    tasks.options.reportEpochs = {0, 1, 5};
    all.push_back(tasks);

    all.push_back(preset("reconstruction", "default",
                         "pretrained vs reconstructed vs best generated per pair (the paper's Table 3)"));
    return all;
  }();
  return presets;
}

const ExperimentPreset* findExperimentPreset(const std::string& name) {
  for (const auto& p : experimentPresets())
    if (p.name == name) return &p;
  return nullptr;
}

namespace {

PairAgreement pairAgreement(const std::vector<PairResult>& pairs, const std::function<bool(const PairResult&)>& keep) {
  PairAgreement a;
  std::vector<double> x, y, gaps;
  for (const auto& row : pairs)
    if (keep(row)) {
      x.push_back(row.pretrainedMean);
      y.push_back(row.generatedMean);
      gaps.push_back(std::abs(row.gap));
      if (std::abs(row.gap) <= 2 * row.samplingNoise) ++a.withinNoise;
    }
  a.pairs = int64_t(x.size());
  if (gaps.empty()) return a;
  a.meanAbsGap = stats::mean(gaps);
  a.maxAbsGap = *std::max_element(gaps.begin(), gaps.end());
  if (x.size() >= 2) {
    a.pearsonR = stats::pearson(x, y);
    const stats::LinearFit fit = stats::linearFit(x, y);
    a.slope = fit.slope;
    a.intercept = fit.intercept;
  }
  return a;
}

}  // namespace

ExperimentResult runExperiment(Catalogue& catalogue, const ExperimentOptions& options, const JobControl& job) {
  if (options.samples < 1) fail(ErrorKind::Usage, "--samples", "must be at least 1");
  const auto start = std::chrono::steady_clock::now();
  ExperimentResult result;
  result.name = options.name;
  result.recipe = options.recipe;
  result.reportDir = options.reportDir.empty() ? "report/" + options.name : options.reportDir;

  // 1. The zoo (finished checkpoints are skipped).
  const Recipe recipe = loadRecipe(options.recipe);
  auto t = std::chrono::steady_clock::now();
  ZooBuildOptions zooOptions;
  zooOptions.device = options.device;
  zooOptions.maxStack = options.maxStack;
  const ZooBuildResult zoo = buildZoo(catalogue, recipe, zooOptions, job);
  result.zooAdded = zoo.added;
  result.zooSkipped = zoo.skipped;
  result.zooSeconds = secondsSince(t);
  ModelFilter filter;
  filter.source = "zoo:" + recipe.name;
  result.models = catalogue.countModels(filter);
  std::vector<Pair> pairs = pairsOf(catalogue, filter);
  ModelFilter trainingFilter = filter;
  if (!options.holdOut.empty()) trainingFilter.ids = applyHoldOut(catalogue, options.holdOut, pairs);
  result.trainingModels = catalogue.countModels(trainingFilter);

  // 2. Tokenizer and prior, reused when trained before with the same settings.
  TokenizerJobOptions tok;
  tok.zoo = trainingFilter;
  tok.train = options.tokenizer;
  tok.train.device = options.device;
  tok.name = options.name + " tokenizer";
  tok.reuse = true;
  const TokenizerJobResult tokenizer = runTokenizerTraining(catalogue, tok, job);
  result.tokenizerRun = tokenizer.runId;
  result.tokenizerReused = tokenizer.reused;
  result.tokenizerSeconds = tokenizer.seconds;
  result.relativeRmse = tokenizer.summary.relativeRmse;
  result.perplexity = tokenizer.summary.codebook.perplexity;
  result.deadCodes = tokenizer.summary.codebook.deadCodes;
  result.codebookSize = int64_t(tokenizer.summary.codebook.usage.size());

  PriorJobOptions pri;
  pri.tokenizerRun = tokenizer.runId;
  pri.zoo = trainingFilter;
  pri.train = options.prior;
  pri.train.device = options.device;
  pri.name = options.name + " prior";
  pri.reuse = true;
  const PriorJobResult prior = runPriorTraining(catalogue, pri, job);
  result.priorRun = prior.runId;
  result.priorReused = prior.reused;
  result.priorSeconds = prior.seconds;

  // 3. Generation for every pair of the zoo.
  t = std::chrono::steady_clock::now();
  const bool anyHeldOut = std::any_of(pairs.begin(), pairs.end(), [](const Pair& p) { return !p.heldOut.empty(); });
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Pair& pair = pairs[i];
    GenerateOptions g;
    g.priorRun = prior.runId;
    g.architecture = pair.first.spec.canonicalJson();
    g.dataset = pair.first.dataset->name();
    g.samples = options.samples;
    g.sampling = options.sampling;
    g.device = options.device;
    g.save = true;  // the studio's Generate and Analyze pages show what the experiment made
    if (!anyHeldOut || !pair.heldOut.empty()) g.fineTune = options.fineTune;
    if (g.fineTune) g.fineTune->device = options.device;
    JobControl pairJob = job;
    if (job.progress)
      pairJob.progress = [&, i](const ProgressEvent& e) {
        ProgressEvent scoped = e;
        scoped.phase = "pair " + std::to_string(i + 1) + "/" + std::to_string(pairs.size()) + ": " + e.phase;
        job.progress(scoped);
      };
    const GenerateResult gen = runGeneration(catalogue, g, pairJob);
    PairResult row;
    row.architecture = gen.architecture;
    row.dataset = gen.dataset;
    row.description = gen.description;
    row.spec = pair.first.spec.canonicalJson();
    row.parameters = gen.parameters;
    row.tokens = gen.tokens;
    row.blocks = gen.blocks;
    row.sampleSeconds = gen.sampleSeconds;
    row.heldOut = !pair.heldOut.empty();
    row.randomInit = NAN;
    if (gen.generatedCurves) {
      row.generatedTuning = *gen.generatedCurves;
      row.scratchTuning = *gen.scratchCurves;
      row.randomInit = 100.0 * meanCurve(row.scratchTuning).front();
    }
    std::vector<double> pretrained, distances, agreements;
    const std::vector<ModelRecord>& reference = row.heldOut ? pair.heldOut : pair.models;
    for (const auto& m : reference) pretrained.push_back(100.0 * m.top1);
    {
      std::vector<StateDict> pretrainedWeights, generatedWeights;
      for (size_t m = 0; m < reference.size() && m < 8; ++m) pretrainedWeights.push_back(catalogue.loadWeights(reference[m]));
      for (const auto& s : gen.samples) generatedWeights.push_back(s.weights);
      // Weight matrices and kernels; a BatchNorm scale has too few values for a histogram.
      for (const auto& e : generatedWeights.front().entries())
        if (e.tensor.dim() >= 2 && e.name.size() > 7 && e.name.compare(e.name.size() - 7, 7, ".weight") == 0)
          row.distributions.emplace_back(
              e.name, layerDistribution(e.name + " \u2014 " + row.architecture + " / " + row.dataset, e.name,
                                        pretrainedWeights, generatedWeights));
    }
    row.pretrainedCount = int64_t(pretrained.size());
    row.pretrainedMean = stats::mean(pretrained);
    row.pretrainedBest = *std::max_element(pretrained.begin(), pretrained.end());
    for (const auto& s : gen.samples) {
      row.generated.push_back(s.metrics ? 100.0 * s.metrics->top1 : NAN);
      if (s.novelty) {
        distances.push_back(s.novelty->relativeDistance);
        agreements.push_back(s.novelty->agreement);
      }
    }
    row.generatedMean = stats::mean(row.generated);
    row.generatedStd = row.generated.size() > 1 ? stats::standardDeviation(row.generated) : 0.0;
    row.generatedBest = *std::max_element(row.generated.begin(), row.generated.end());
    row.gap = row.generatedMean - row.pretrainedMean;
    row.pretrainedStd = stats::standardDeviation(pretrained);
    row.samplingNoise = stats::standardError(pretrained, row.generated.size());
    row.relativeDistance = distances.empty() ? NAN : stats::mean(distances);
    row.agreement = agreements.empty() ? NAN : stats::mean(agreements);
    result.pairs.push_back(std::move(row));
  }
  result.generateSeconds = secondsSince(t);

  // 4. Reconstruction through the tokenizer (Table 3).
  result.reconstruction = runReconstruction(catalogue, tokenizer.runId, filter, options.device, job);
  // Per pair, over the checkpoints its pretrained column stands for.
  std::map<int64_t, double> reconstructed;
  for (const auto& r : result.reconstruction) reconstructed[r.modelId] = 100.0 * r.reconstructedTop1;
  for (size_t i = 0; i < pairs.size(); ++i) {
    std::vector<double> v;
    for (const auto& m : pairs[i].heldOut.empty() ? pairs[i].models : pairs[i].heldOut)
      if (auto it = reconstructed.find(m.id); it != reconstructed.end()) v.push_back(it->second);
    result.pairs[i].reconstructedMean = v.empty() ? NAN : stats::mean(v);
  }

  result.agreement = pairAgreement(result.pairs, [](const PairResult&) { return true; });
  if (anyHeldOut) {
    result.seenAgreement = pairAgreement(result.pairs, [](const PairResult& r) { return !r.heldOut; });
    result.heldOutAgreement = pairAgreement(result.pairs, [](const PairResult& r) { return r.heldOut; });
  }
  result.totalSeconds = secondsSince(start);
  writeExperimentReport(catalogue, result, options);
  return result;
}

namespace {

std::vector<CurveData> runCurves(Catalogue& catalogue, int64_t runId, const std::string& metric, const std::string& label) {
  CurveData c;
  c.name = label;
  for (const auto& p : catalogue.metrics(runId, metric)) {
    c.x.push_back(double(p.step));
    c.y.push_back(p.value);
  }
  return {c};
}

bool fineTuned(const PairResult& r) { return !r.generatedTuning.epochs.empty(); }

// Share of the held-out pretrained accuracy that the generated networks reach, percent.
double shareOfPretrained(const PairResult& r) { return 100.0 * r.generatedMean / r.pretrainedMean; }

// Where `epoch` lies in fine-tuning curves; none when it was not measured.
std::optional<size_t> epochIndex(const FineTuneCurves& curves, int64_t epoch) {
  const auto it = std::find(curves.epochs.begin(), curves.epochs.end(), epoch);
  if (it == curves.epochs.end()) return std::nullopt;
  return size_t(it - curves.epochs.begin());
}

// The paper's Figure 2 measure: how much better generated starts are than random ones
// after `epoch` epochs of fine-tuning, relative to random, percent; NaN without that epoch.
double improvementOverScratch(const PairResult& r, int64_t epoch) {
  const auto e = epochIndex(r.generatedTuning, epoch);
  if (!e) return NAN;
  const double generated = meanCurve(r.generatedTuning)[*e], scratch = meanCurve(r.scratchTuning)[*e];
  return 100.0 * (generated - scratch) / scratch;
}

std::string describeHoldOut(const HoldOut& h) {
  std::vector<std::string> parts;
  for (const auto& a : h.architectures) parts.push_back("architecture `" + a + "`");
  for (const auto& d : h.datasets) parts.push_back("dataset `" + d + "`");
  if (!h.seeds.empty()) {
    std::string seeds;
    for (int64_t seed : h.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(seed);
    parts.push_back("seeds " + seeds);
  }
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) text += (i == 0 ? "" : i + 1 == parts.size() ? " and " : ", ") + parts[i];
  return text;
}

}  // namespace

void writeExperimentReport(Catalogue& catalogue, ExperimentResult& result, const ExperimentOptions& options) {
  ensureDirectory(result.reportDir);
  result.files.clear();
  auto write = [&](const std::string& name, const std::string& text) {
    writeFileAtomic(result.reportDir + "/" + name, text);
    result.files.push_back(name);
  };

  // Every number, one CSV per table.
  std::ostringstream pairs;
  pairs << "architecture,dataset,held_out,parameters,tokens,blocks,pretrained_models,pretrained_mean_top1,"
           "pretrained_std_top1,pretrained_best_top1,generated_mean_top1,generated_std_top1,generated_best_top1,gap,"
           "sampling_noise,random_init_top1,reconstructed_mean_top1,novelty_relative_distance,novelty_agreement,"
           "sample_seconds\n";
  for (const auto& r : result.pairs)
    pairs << csvField(r.architecture) << "," << csvField(r.dataset) << "," << (r.heldOut ? 1 : 0) << ","
          << r.parameters << "," << r.tokens << "," << r.blocks << "," << r.pretrainedCount << ","
          << csvNumber(r.pretrainedMean) << "," << csvNumber(r.pretrainedStd) << "," << csvNumber(r.pretrainedBest)
          << "," << csvNumber(r.generatedMean) << "," << csvNumber(r.generatedStd) << "," << csvNumber(r.generatedBest)
          << "," << csvNumber(r.gap) << "," << csvNumber(r.samplingNoise) << "," << csvNumber(r.randomInit) << ","
          << csvNumber(r.reconstructedMean) << "," << csvNumber(r.relativeDistance) << "," << csvNumber(r.agreement)
          << "," << csvNumber(r.sampleSeconds) << "\n";
  write("pairs.csv", pairs.str());

  std::ostringstream samples;
  samples << "architecture,dataset,sample,top1\n";
  for (const auto& r : result.pairs)
    for (size_t s = 0; s < r.generated.size(); ++s)
      samples << csvField(r.architecture) << "," << csvField(r.dataset) << "," << s << "," << csvNumber(r.generated[s])
              << "\n";
  write("samples.csv", samples.str());

  std::ostringstream recon;
  recon << "model_id,architecture,dataset,in_tokenizer_zoo,original_top1,reconstructed_top1,calibrated_top1,relative_rmse,tokens\n";
  for (const auto& r : result.reconstruction)
    recon << r.modelId << "," << csvField(r.architecture) << "," << csvField(r.dataset) << ","
          << (r.inTokenizerZoo ? 1 : 0) << ","
          << csvNumber(100.0 * r.originalTop1) << "," << csvNumber(100.0 * r.reconstructedTop1) << ","
          << csvNumber(100.0 * r.calibratedTop1) << "," << csvNumber(r.relativeRmse) << "," << r.tokens << "\n";
  write("reconstruction.csv", recon.str());

  std::ostringstream tuning;
  tuning << "architecture,dataset,epoch,generated_mean_top1,generated_std_top1,scratch_mean_top1,scratch_std_top1\n";
  for (const auto& r : result.pairs) {
    const auto gm = meanCurve(r.generatedTuning), gs = stdCurve(r.generatedTuning);
    const auto sm = meanCurve(r.scratchTuning), ss = stdCurve(r.scratchTuning);
    for (size_t e = 0; e < r.generatedTuning.epochs.size(); ++e)
      tuning << csvField(r.architecture) << "," << csvField(r.dataset) << "," << r.generatedTuning.epochs[e] << ","
             << csvNumber(100.0 * gm[e]) << "," << csvNumber(100.0 * gs[e]) << "," << csvNumber(100.0 * sm[e]) << ","
             << csvNumber(100.0 * ss[e]) << "\n";
  }
  if (options.fineTune) write("fine_tuning.csv", tuning.str());

  // Figures: the CSV always, the PNG when there is a renderer.
  std::vector<std::pair<std::string, PlotSpec>> figures;
  {
    std::vector<double> x, y;
    std::vector<std::string> labels;
    for (const auto& r : result.pairs) {
      x.push_back(r.pretrainedMean);
      y.push_back(r.generatedMean);
      labels.push_back(r.architecture + " / " + r.dataset);
    }
    if (x.size() >= 2)
      figures.emplace_back("accuracy_scatter",
                           accuracyScatter("Generated vs pretrained top-1 (%), mean per pair", x, y, labels));
  }
  figures.emplace_back("tokenizer_training", trainingCurves("Tokenizer training", "step", "reconstruction (normalized MSE)",
                                                            runCurves(catalogue, result.tokenizerRun, "reconstruction",
                                                                      "reconstruction")));
  figures.emplace_back("prior_training", trainingCurves("Prior training", "step", "cross-entropy",
                                                        runCurves(catalogue, result.priorRun, "loss", "loss")));
  {
    // Every fine-tuned start of every pair, one run each: the spread the paper's error bars show.
    RepeatedRuns generated{"generated", {}}, scratch{"random initialization", {}};
    std::vector<int64_t> epochs;
    for (const auto& r : result.pairs) {
      if (!fineTuned(r) || (!epochs.empty() && r.generatedTuning.epochs != epochs)) continue;
      epochs = r.generatedTuning.epochs;
      for (const auto& run : r.generatedTuning.top1) generated.runs.push_back(run);
      for (const auto& run : r.scratchTuning.top1) scratch.runs.push_back(run);
    }
    for (auto* method : {&generated, &scratch})
      for (auto& run : method->runs)
        for (double& v : run) v *= 100.0;
    if (epochs.size() >= 2)
      figures.emplace_back("fine_tuning_curves", fineTuningCurves("Fine-tuning: generated vs random initialization, every "
                                                           "fine-tuned pair",
                                                           "test top-1 (%)",
                                                           std::vector<double>(epochs.begin(), epochs.end()),
                                                           {generated, scratch}));
  }
  if (auto run = catalogue.run(result.tokenizerRun); run && run->summary.contains("codebook")) {
    const CodebookStats stats = CodebookStats::fromJson(run->summary["codebook"]);
    std::vector<double> counts(stats.usage.begin(), stats.usage.end());
    figures.emplace_back("codebook_usage", codebookUsage("Codebook usage over the zoo", counts));
  }
  auto writeFigure = [&](const std::string& name, const PlotSpec& spec) {
    write(name + ".csv", plotSpecToCsv(spec));
    if (options.renderer) {
      options.renderer(spec, result.reportDir + "/" + name + ".png", 1000, 700);
      result.files.push_back(name + ".png");
    }
  };
  for (const auto& [name, spec] : figures) writeFigure(name, spec);
  // Named by pair number, as dataset names hold brackets and commas.
  auto distributionFile = [](size_t pair, const std::string& tensor) {
    return "distribution_" + std::to_string(pair + 1) + "_" + tensor;
  };
  for (size_t p = 0; p < result.pairs.size(); ++p)
    for (const auto& [tensor, spec] : result.pairs[p].distributions) writeFigure(distributionFile(p, tensor), spec);
  result.plotsRendered = bool(options.renderer);

  // The report a person reads.
  std::ostringstream md;
  md << "# IGPG experiment: " << result.name << "\n\n";
  md << "Recipe `" << result.recipe << "`: " << result.models << " checkpoints in " << result.pairs.size()
     << " (architecture, dataset) pairs. IGPG " << igpgVersion() << ", LibTorch " << torchVersion() << " (BLAS "
     << blasBackend() << "), device " << options.device.str() << ". Seeds: tokenizer " << options.tokenizer.seed << ", prior " << options.prior.seed
     << ", sampling " << options.sampling.seed << " (temperature " << options.sampling.temperature << ", top-k "
     << options.sampling.topK << ", top-p " << options.sampling.topP << ", "
     << (options.sampling.stratified ? "the samples of a pair spread over the prior's branches by systematic "
                                       "sampling, parting at temperature "
                                     : "independent draws");
  if (options.sampling.stratified)
    md << partingTemperature(options.sampling);
  md << ").\n\n";
  const bool holdOut = !options.holdOut.empty();
  if (holdOut)
    md << "Held out of tokenizer and prior training: " << describeHoldOut(options.holdOut) << ". They trained on "
       << result.trainingModels << " of the " << result.models
       << " checkpoints; a pair with held-out checkpoints is compared with those alone.\n\n";
  md << "## Generated vs pretrained\n\n";
  md << "Top-1 test accuracy (%) of " << options.samples
     << " generated networks per pair, with no training, against the zoo's checkpoints of the same pair. "
        "Novelty: distance to the nearest training checkpoint over the median distance between two checkpoints "
        "(near 0 is a copy), and the share of test predictions equal to that checkpoint's. Reconstructed: the "
        "same checkpoints encoded and decoded by the tokenizer. Noise: the pretrained standard deviation over the "
        "square root of the number of samples, the standard error of the generated mean if the generator returned "
        "the pair's checkpoints drawn at random; a gap of that size is sampling, not the generator.\n\n";
  md << "| architecture | dataset |" << (holdOut ? " held out |" : "")
     << " params | tokens | pretrained | generated mean ± std | best | gap | noise | reconstructed | novelty dist | "
        "agreement |\n";
  md << "|---|---|" << (holdOut ? "---|" : "") << "---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : result.pairs)
    md << "| " << r.architecture << " | " << r.dataset << " |" << (holdOut ? (r.heldOut ? " yes |" : " |") : "")
       << " " << r.parameters << " | " << r.tokens << " | "
       << fixed(r.pretrainedMean) << " | " << fixed(r.generatedMean) << " ± " << fixed(r.generatedStd) << " | "
       << fixed(r.generatedBest) << " | " << fixed(r.gap) << " | " << fixed(r.samplingNoise) << " | "
       << fixed(r.reconstructedMean) << " | "
       << fixed(r.relativeDistance) << " | " << fixed(r.agreement) << " |\n";
  const auto agreementLine = [&](const char* over, const PairAgreement& a) {
    md << "\nPearson r (generated mean vs pretrained mean over " << over << ", " << a.pairs
       << ") = " << fixed(a.pearsonR, 4) << "; regression generated = " << fixed(a.slope, 3) << " x pretrained + "
       << fixed(a.intercept, 2) << "; mean |gap| = " << fixed(a.meanAbsGap) << " points, max |gap| = "
       << fixed(a.maxAbsGap) << " points; " << a.withinNoise << " of " << a.pairs
       << " pairs within twice their sampling noise.\n";
  };
  agreementLine("all pairs", result.agreement);
  if (result.seenAgreement.pairs > 0 && result.heldOutAgreement.pairs > 0) {
    agreementLine("the seen pairs", result.seenAgreement);
    agreementLine("the held-out pairs", result.heldOutAgreement);
  }
  md << "\n";
  if (holdOut) {
    md << "## Held out\n\n";
    const bool tuned = options.fineTune && options.fineTune->epochs >= 1;
    md << "Generated networks for the held-out pairs, with no training, against the held-out checkpoints and "
          "against random initialization (PyTorch's default, as many networks as samples); share of pretrained = "
          "generated mean / pretrained mean."
       << (tuned ? " Improvement after 1 epoch = (generated - random) / random after one epoch of fine-tuning both "
                   "(the paper's Figure 2)."
                 : "")
       << "\n\n";
    md << "| architecture | dataset | pretrained | generated mean ± std | best | share of pretrained | random init |"
       << (tuned ? " improvement after 1 epoch |" : "") << "\n|---|---|---:|---:|---:|---:|---:|"
       << (tuned ? "---:|" : "") << "\n";
    std::vector<double> shares, improvements;
    for (const auto& r : result.pairs) {
      if (!r.heldOut) continue;
      shares.push_back(shareOfPretrained(r));
      const double improvement = improvementOverScratch(r, 1);
      if (std::isfinite(improvement)) improvements.push_back(improvement);
      md << "| " << r.architecture << " | " << r.dataset << " | " << fixed(r.pretrainedMean) << " | "
         << fixed(r.generatedMean) << " ± " << fixed(r.generatedStd) << " | " << fixed(r.generatedBest) << " | "
         << fixed(shares.back(), 1) << "% | " << fixed(r.randomInit) << " |";
      if (tuned) md << " " << fixed(improvement, 1) << (std::isfinite(improvement) ? "%" : "") << " |";
      md << "\n";
    }
    if (!shares.empty()) {
      md << "\nOver the " << shares.size() << " held-out pairs: generated networks reach "
         << fixed(stats::mean(shares), 1) << "% of the pretrained accuracy on average (worst "
         << fixed(*std::min_element(shares.begin(), shares.end()), 1) << "%)";
      if (!improvements.empty())
        md << "; after 1 epoch, their improvement over random initialization averages "
           << fixed(stats::mean(improvements), 1) << "%";
      md << ".\n";
    }
    md << "\n";
  }
  if (options.fineTune) {
    md << "## Fine-tuning\n\n";
    md << "Top-1 test accuracy (%), mean ± std, of the generated networks and of as many random initializations, "
          "each trained further with Adam (learning rate "
       << options.fineTune->optimizer.learningRate << ", batch " << options.fineTune->batchSize << ") on "
       << (options.fineTune->trainSamples > 0 ? "a fixed subset of " + std::to_string(options.fineTune->trainSamples) +
                                                    " training images"
                                              : std::string("the training split"))
       << " (the paper's Table 1 comparison)" << (holdOut ? ", for the held-out pairs" : "")
       << ". `fine_tuning.csv` has every epoch.\n\n";
    std::vector<int64_t> epochs = options.reportEpochs;
    if (epochs.empty())
      for (int64_t e = 0; e <= options.fineTune->epochs; ++e) epochs.push_back(e);
    md << "| architecture | dataset |";
    for (int64_t e : epochs) md << " generated, epoch " << e << " | scratch, epoch " << e << " |";
    md << "\n|---|---|";
    for (size_t e = 0; e < epochs.size(); ++e) md << "---:|---:|";
    md << "\n";
    for (const auto& r : result.pairs) {
      if (!fineTuned(r)) continue;
      const auto gm = meanCurve(r.generatedTuning), gs = stdCurve(r.generatedTuning);
      const auto sm = meanCurve(r.scratchTuning), ss = stdCurve(r.scratchTuning);
      md << "| " << r.architecture << " | " << r.dataset << " |";
      for (int64_t epoch : epochs) {
        const auto e = epochIndex(r.generatedTuning, epoch);
        if (!e) {
          md << " n/a | n/a |";
          continue;
        }
        md << " " << fixed(100.0 * gm[*e]) << " ± " << fixed(100.0 * gs[*e]) << " | " << fixed(100.0 * sm[*e]) << " ± "
           << fixed(100.0 * ss[*e]) << " |";
      }
      md << "\n";
    }
    md << "\n";
  }
  md << "## Tokenizer\n\n";
  md << "Run " << result.tokenizerRun << (result.tokenizerReused ? " (reused)" : "") << ": relative RMSE "
     << fixed(result.relativeRmse, 4) << " of the normalized weights, codebook perplexity " << fixed(result.perplexity, 1)
     << " of " << result.codebookSize << " codes, " << result.deadCodes << " unused. Reconstruction per checkpoint in "
     << "`reconstruction.csv` (the paper's Table 3).\n\n";
  md << "## Prior\n\nRun " << result.priorRun << (result.priorReused ? " (reused)" : "") << ".\n\n";
  md << "## Time\n\n| stage | seconds |\n|---|---:|\n";
  md << "| zoo (" << result.zooAdded << " checkpoints trained, " << result.zooSkipped << " reused) | "
     << fixed(result.zooSeconds, 1) << " |\n";
  md << "| tokenizer" << (result.tokenizerReused ? " (reused; time of the original run)" : "") << " | "
     << fixed(result.tokenizerSeconds, 1) << " |\n";
  md << "| prior" << (result.priorReused ? " (reused; time of the original run)" : "") << " | "
     << fixed(result.priorSeconds, 1) << " |\n";
  md << "| generation and evaluation | " << fixed(result.generateSeconds, 1) << " |\n";
  md << "| this run, in total | " << fixed(result.totalSeconds, 1) << " |\n\n";
  md << "## Figures\n\n";
  for (const auto& [name, spec] : figures) {
    if (result.plotsRendered) md << "![" << spec.title << "](" << name << ".png)\n\n";
    else md << "- " << spec.title << ": `" << name << ".csv`\n";
  }
  md << "\n## Parameter distributions\n\nEach weight matrix's or kernel's values over the generated networks against the "
        "compared checkpoints (at most 8), per pair:\n\n";
  for (size_t p = 0; p < result.pairs.size(); ++p) {
    const auto& r = result.pairs[p];
    md << "- " << r.architecture << " / " << r.dataset << ":";
    for (const auto& [tensor, spec] : r.distributions)
      md << " [" << tensor << "](" << distributionFile(p, tensor) << (result.plotsRendered ? ".png" : ".csv") << ")";
    md << "\n";
  }
  if (!result.plotsRendered)
    md << "\nPlots were skipped (`--no-plots`, or an igpg built without the GUI: IGPG_BUILD_GUI=OFF); every "
          "plotted number is in the CSV files.\n";
  write("report.md", md.str());
}

}  // namespace igpg
