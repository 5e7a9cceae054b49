// Experiments: the whole IGPG pipeline on a recipe's zoo, from building the zoo to a
// report a person can read. `igpg demo` (the README's main job) and `igpg experiment NAME`
// run the same function; the studio can too.
//
// Stages, each reused when it already exists with the same settings (zoo checkpoints by
// unit key, tokenizer and prior runs by exact config), so a second run only regenerates
// and evaluates:
//   1. build the recipe's zoo (zoo/zoo_builder.h);
//   2. train the tokenizer on it, then the prior on its tokens, both without the
//      checkpoints the experiment holds out;
//   3. for every (architecture, dataset) pair of the zoo, sample `samples` networks with
//      Algorithm 1, decode and evaluate them, with the novelty measures, and fine-tune
//      them against random initializations;
//   4. reconstruct every checkpoint through the tokenizer (the paper's Table 3);
//   5. write report/NAME/: report.md, CSV files of every number, PNG plots when a renderer
//      is given (the GUI build), their CSV either way.
#pragma once

#include "catalogue/catalogue.h"
#include "evaluation/fine_tuning.h"
#include "evaluation/plot_spec.h"
#include "jobs/pipelines.h"
#include "jobs/progress.h"

#include <string>
#include <vector>

namespace igpg {

// Checkpoints the tokenizer and the prior never see. Generation still covers their pairs,
// and a pair with held-out checkpoints is compared with those alone: the paper's tests of
// generalization to unseen models (Table 1), datasets (section 4.3) and architectures
// (section 4.4). Each entry must match a checkpoint of the zoo.
struct HoldOut {
  std::vector<std::string> architectures;  // SPECs or catalogue names, matched after resolution
  std::vector<std::string> datasets;       // dataset NAMEs, matched in canonical form
  std::vector<int64_t> seeds;              // zoo training seeds
  bool empty() const { return architectures.empty() && datasets.empty() && seeds.empty(); }
};

struct ExperimentOptions {
  std::string name = "demo";       // names the report folder and the runs
  std::string recipe = "default";  // embedded recipe name or file
  std::string reportDir;           // default: report/<name>
  int64_t samples = 5;             // generated networks per pair
  torch::Device device = torch::kCPU;
  TokenizerTrainOptions tokenizer;
  PriorTrainOptions prior;
  SamplingOptions sampling;
  HoldOut holdOut;
  // Fine-tuning of the generated networks against as many random initializations; with a
  // hold-out, of the held-out pairs only (generalization is the question there). Epoch 0
  // alone still measures random initialization. None: no fine-tuning columns.
  std::optional<FineTuneOptions> fineTune = defaultFineTune();
  std::vector<int64_t> reportEpochs;  // fine-tuning epochs in report.md (empty: all); the CSV has all
  int64_t maxStack = 32;
  PlotRenderer renderer;           // empty: the report keeps CSV files and says plots were skipped

  // One epoch on a fixed 6,000-image subset: the paper's epoch-1 comparison of generated
  // weights against training from scratch, at a cost the demo's budget allows.
  static FineTuneOptions defaultFineTune();
};

struct PairResult {
  std::string architecture, dataset, description, spec;  // spec: canonical JSON
  int64_t parameters = 0, tokens = 0, blocks = 0;
  bool heldOut = false;                              // some of its checkpoints were held out
  int64_t pretrainedCount = 0;                       // the held-out checkpoints when heldOut, else all
  double pretrainedMean = 0, pretrainedBest = 0;     // top-1, percent
  double pretrainedStd = 0;                          // over those checkpoints
  // pretrainedStd / sqrt(samples): the standard error of the generated mean if the
  // generator returned checkpoints of the pair drawn at random. A gap of this size is
  // what sampling alone gives, however faithful the generator.
  double samplingNoise = 0;
  std::vector<double> generated;                     // top-1 per sample, percent
  double generatedMean = 0, generatedStd = 0, generatedBest = 0;
  double gap = 0;                                    // generated mean - pretrained mean
  double reconstructedMean = 0;                      // top-1 of the tokenizer's reconstructions, percent
  double relativeDistance = 0;                       // novelty: nearest / typical checkpoint distance, mean
  double agreement = 0;                              // novelty: prediction agreement with the nearest, mean
  double sampleSeconds = 0;
  // Fine-tuning of the samples and of as many random initializations, top-1 fractions
  // (no epochs: not fine-tuned).
  FineTuneCurves generatedTuning, scratchTuning;
  double randomInit = 0;                             // scratch mean at epoch 0, percent; NaN when not fine-tuned
  // Each weight matrix or kernel, generated samples vs (at most 8) compared checkpoints:
  // (tensor name, histogram figure).
  std::vector<std::pair<std::string, PlotSpec>> distributions;
};

// How generated accuracy follows pretrained accuracy over a set of pairs (the paper's
// Figure 4): Pearson r and the least-squares line of generated mean against pretrained
// mean, and the gaps. r and the line need two pairs (NaN otherwise).
struct PairAgreement {
  int64_t pairs = 0;
  double pearsonR = NAN, slope = NAN, intercept = NAN;
  double meanAbsGap = NAN, maxAbsGap = NAN;
  int64_t withinNoise = 0;  // pairs whose |gap| is at most twice their sampling noise
};

struct ExperimentResult {
  std::string name, recipe, reportDir;
  std::vector<PairResult> pairs;
  std::vector<ReconstructionRow> reconstruction;
  // Over every pair; with a hold-out also over the seen and the held-out pairs apart
  // (one r over both mixes memorization with generalization; reported when both exist).
  PairAgreement agreement, seenAgreement, heldOutAgreement;
  int64_t models = 0, trainingModels = 0;
  int64_t tokenizerRun = 0, priorRun = 0;
  bool tokenizerReused = false, priorReused = false;
  int64_t zooAdded = 0, zooSkipped = 0;
  double zooSeconds = 0, tokenizerSeconds = 0, priorSeconds = 0, generateSeconds = 0, totalSeconds = 0;
  double relativeRmse = 0, perplexity = 0;
  int64_t deadCodes = 0, codebookSize = 0;
  std::vector<std::string> files;  // written into reportDir
  bool plotsRendered = false;
};

// The named experiments of `igpg experiment NAME` (demo first), each a recipe and the
// options that make it one of the paper's evaluations.
struct ExperimentPreset {
  std::string name, summary;
  ExperimentOptions options;
};
const std::vector<ExperimentPreset>& experimentPresets();
const ExperimentPreset* findExperimentPreset(const std::string& name);

ExperimentResult runExperiment(Catalogue& catalogue, const ExperimentOptions& options, const JobControl& job);

// Writes report.md, the CSV files and the plots of a finished experiment into
// result.reportDir (atomically, file by file) and records their names in result.files.
void writeExperimentReport(Catalogue& catalogue, ExperimentResult& result, const ExperimentOptions& options);

}  // namespace igpg
