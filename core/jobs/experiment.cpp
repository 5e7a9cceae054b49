#include "jobs/experiment.h"

#include "common/error.h"
#include "common/files.h"
#include "common/runtime.h"
#include "common/stopwatch.h"
#include "evaluation/csv.h"
#include "evaluation/statistics.h"
#include "jobs/workspace.h"
#include "zoo/zoo_builder.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <map>
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

// The distinct (architecture, dataset) pairs of the zoo, in the order of their first model.
struct Pair {
  ResolvedModel first;
  std::vector<ModelRecord> models;
};
std::vector<Pair> pairsOf(Catalogue& catalogue, const ModelFilter& filter) {
  std::vector<Pair> pairs;
  std::map<std::string, size_t> index;
  for (const auto& m : catalogue.listModels(filter)) {
    const std::string key = m.architecture + "\n" + m.dataset;
    auto it = index.find(key);
    if (it == index.end()) {
      index[key] = pairs.size();
      pairs.push_back({resolveModel(catalogue, m), {m}});
    } else {
      pairs[it->second].models.push_back(m);
    }
  }
  return pairs;
}

}  // namespace

TokenizerTrainOptions ExperimentOptions::defaultTokenizer() {
  TokenizerTrainOptions t;
  t.steps = 1500;
  t.batchSize = 256;
  return t;
}

PriorTrainOptions ExperimentOptions::defaultPrior() {
  PriorTrainOptions p;
  p.gpt.contextLength = 256;
  p.gpt.layers = 2;
  p.steps = 300;
  p.batchSize = 16;
  p.learningRate = 3e-3;
  return p;
}

FineTuneOptions ExperimentOptions::defaultFineTune() {
  FineTuneOptions f;
  f.epochs = 1;
  f.trainSamples = 6000;
  return f;
}

SamplingOptions ExperimentOptions::defaultSampling() {
  SamplingOptions s;
  s.temperature = 0.5;
  return s;
}

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

  // 2. Tokenizer and prior, reused when trained before with the same settings.
  TokenizerJobOptions tok;
  tok.zoo = filter;
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
  pri.zoo = filter;
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
  std::vector<Pair> pairs = pairsOf(catalogue, filter);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Pair& pair = pairs[i];
    GenerateOptions g;
    g.priorRun = prior.runId;
    g.architecture = pair.first.spec.canonicalJson();
    g.dataset = pair.first.dataset->name();
    g.samples = options.samples;
    g.sampling = options.sampling;
    g.device = options.device;
    g.fineTune = options.fineTune;
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
    if (gen.generatedCurves) {
      row.fineTuneEpochs = gen.generatedCurves->epochs;
      for (double v : meanCurve(*gen.generatedCurves)) row.generatedCurve.push_back(100.0 * v);
      for (double v : meanCurve(*gen.scratchCurves)) row.scratchCurve.push_back(100.0 * v);
    }
    std::vector<double> pretrained, distances, agreements;
    for (const auto& m : pair.models) pretrained.push_back(100.0 * m.top1);
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
    row.relativeDistance = distances.empty() ? NAN : stats::mean(distances);
    row.agreement = agreements.empty() ? NAN : stats::mean(agreements);
    result.pairs.push_back(std::move(row));
  }
  result.generateSeconds = secondsSince(t);

  // 4. Reconstruction through the tokenizer (Table 3).
  result.reconstruction = runReconstruction(catalogue, tokenizer.runId, filter, options.device, job);
  std::map<std::string, std::vector<double>> reconstructed;
  for (const auto& r : result.reconstruction)
    reconstructed[r.architecture + "\n" + r.dataset].push_back(100.0 * r.reconstructedTop1);
  for (auto& row : result.pairs) {
    const auto& v = reconstructed[row.architecture + "\n" + row.dataset];
    row.reconstructedMean = v.empty() ? NAN : stats::mean(v);
  }

  std::vector<double> x, y;
  for (const auto& row : result.pairs) {
    x.push_back(row.pretrainedMean);
    y.push_back(row.generatedMean);
    result.meanAbsGap += std::abs(row.gap) / double(result.pairs.size());
    result.maxAbsGap = std::max(result.maxAbsGap, std::abs(row.gap));
  }
  result.pearsonR = x.size() >= 2 ? stats::pearson(x, y) : NAN;
  if (x.size() >= 2) {
    const stats::LinearFit fit = stats::linearFit(x, y);
    result.slope = fit.slope;
    result.intercept = fit.intercept;
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
  pairs << "architecture,dataset,parameters,tokens,blocks,pretrained_models,pretrained_mean_top1,pretrained_best_top1,"
           "generated_mean_top1,generated_std_top1,generated_best_top1,gap,reconstructed_mean_top1,"
           "novelty_relative_distance,novelty_agreement,sample_seconds\n";
  for (const auto& r : result.pairs)
    pairs << csvField(r.architecture) << "," << csvField(r.dataset) << "," << r.parameters << "," << r.tokens << ","
          << r.blocks << "," << r.pretrainedCount << "," << csvNumber(r.pretrainedMean) << ","
          << csvNumber(r.pretrainedBest) << "," << csvNumber(r.generatedMean) << "," << csvNumber(r.generatedStd)
          << "," << csvNumber(r.generatedBest) << "," << csvNumber(r.gap) << "," << csvNumber(r.reconstructedMean)
          << "," << csvNumber(r.relativeDistance) << "," << csvNumber(r.agreement) << ","
          << csvNumber(r.sampleSeconds) << "\n";
  write("pairs.csv", pairs.str());

  std::ostringstream samples;
  samples << "architecture,dataset,sample,top1\n";
  for (const auto& r : result.pairs)
    for (size_t s = 0; s < r.generated.size(); ++s)
      samples << csvField(r.architecture) << "," << csvField(r.dataset) << "," << s << "," << csvNumber(r.generated[s])
              << "\n";
  write("samples.csv", samples.str());

  std::ostringstream recon;
  recon << "model_id,architecture,dataset,original_top1,reconstructed_top1,relative_rmse,tokens\n";
  for (const auto& r : result.reconstruction)
    recon << r.modelId << "," << csvField(r.architecture) << "," << csvField(r.dataset) << ","
          << csvNumber(100.0 * r.originalTop1) << "," << csvNumber(100.0 * r.reconstructedTop1) << ","
          << csvNumber(r.relativeRmse) << "," << r.tokens << "\n";
  write("reconstruction.csv", recon.str());

  std::ostringstream tuning;
  tuning << "architecture,dataset,epoch,generated_mean_top1,scratch_mean_top1\n";
  for (const auto& r : result.pairs)
    for (size_t e = 0; e < r.fineTuneEpochs.size(); ++e)
      tuning << csvField(r.architecture) << "," << csvField(r.dataset) << "," << r.fineTuneEpochs[e] << ","
             << csvNumber(r.generatedCurve[e]) << "," << csvNumber(r.scratchCurve[e]) << "\n";
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
  if (auto run = catalogue.run(result.tokenizerRun); run && run->summary.contains("codebook")) {
    const CodebookStats stats = CodebookStats::fromJson(run->summary["codebook"]);
    std::vector<double> counts(stats.usage.begin(), stats.usage.end());
    figures.emplace_back("codebook_usage", codebookUsage("Codebook usage over the zoo", counts));
  }
  for (auto& [name, spec] : figures) {
    write(name + ".csv", plotSpecToCsv(spec));
    if (options.renderer) {
      options.renderer(spec, result.reportDir + "/" + name + ".png", 1000, 700);
      result.files.push_back(name + ".png");
    }
  }
  result.plotsRendered = bool(options.renderer);

  // The report a person reads.
  std::ostringstream md;
  md << "# IGPG experiment: " << result.name << "\n\n";
  md << "Recipe `" << result.recipe << "`: " << result.models << " checkpoints in " << result.pairs.size()
     << " (architecture, dataset) pairs. IGPG " << igpgVersion() << ", LibTorch " << torchVersion() << ", device "
     << options.device.str() << ". Seeds: tokenizer " << options.tokenizer.seed << ", prior " << options.prior.seed
     << ", sampling " << options.sampling.seed << " (temperature " << options.sampling.temperature << ", top-k "
     << options.sampling.topK << ", top-p " << options.sampling.topP << ").\n\n";
  md << "## Generated vs pretrained\n\n";
  md << "Top-1 test accuracy (%) of " << options.samples
     << " generated networks per pair, with no training, against the zoo's checkpoints of the same pair. "
        "Novelty: distance to the nearest training checkpoint over the median distance between two checkpoints "
        "(near 0 is a copy), and the share of test predictions equal to that checkpoint's.\n\n";
  md << "| architecture | dataset | params | tokens | pretrained | generated mean ± std | best | gap | "
        "reconstructed | novelty dist | agreement |\n";
  md << "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : result.pairs)
    md << "| " << r.architecture << " | " << r.dataset << " | " << r.parameters << " | " << r.tokens << " | "
       << fixed(r.pretrainedMean) << " | " << fixed(r.generatedMean) << " ± " << fixed(r.generatedStd) << " | "
       << fixed(r.generatedBest) << " | " << fixed(r.gap) << " | " << fixed(r.reconstructedMean) << " | "
       << fixed(r.relativeDistance) << " | " << fixed(r.agreement) << " |\n";
  md << "\nPearson r (generated mean vs pretrained mean over pairs) = " << fixed(result.pearsonR, 4)
     << "; regression generated = " << fixed(result.slope, 3) << " x pretrained + " << fixed(result.intercept, 2)
     << "; mean |gap| = " << fixed(result.meanAbsGap) << " points, max |gap| = " << fixed(result.maxAbsGap)
     << " points.\n\n";
  if (options.fineTune) {
    md << "## Fine-tuning\n\n";
    md << "Mean top-1 test accuracy (%) of the generated networks and of as many random initializations, each "
          "trained further with Adam (learning rate "
       << options.fineTune->optimizer.learningRate << ", batch " << options.fineTune->batchSize << ") on "
       << (options.fineTune->trainSamples > 0 ? "a fixed subset of " + std::to_string(options.fineTune->trainSamples) +
                                                    " training images"
                                              : std::string("the training split"))
       << " (the paper's Table 1 comparison). `fine_tuning.csv` has every epoch.\n\n";
    md << "| architecture | dataset |";
    const std::vector<int64_t> epochs = result.pairs.empty() ? std::vector<int64_t>{} : result.pairs[0].fineTuneEpochs;
    for (int64_t e : epochs) md << " generated, epoch " << e << " | scratch, epoch " << e << " |";
    md << "\n|---|---|";
    for (size_t e = 0; e < epochs.size(); ++e) md << "---:|---:|";
    md << "\n";
    for (const auto& r : result.pairs) {
      md << "| " << r.architecture << " | " << r.dataset << " |";
      for (size_t e = 0; e < r.fineTuneEpochs.size(); ++e)
        md << " " << fixed(r.generatedCurve[e]) << " | " << fixed(r.scratchCurve[e]) << " |";
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
  if (!result.plotsRendered)
    md << "\nPlots were skipped: this igpg was built without the GUI (IGPG_BUILD_GUI=OFF); every plotted number is "
          "in the CSV files.\n";
  write("report.md", md.str());
}

}  // namespace igpg
