// The long jobs of IGPG over a catalogue, shared by the CLI and the studio: training the
// tokenizer and the prior on a zoo, generating weights for an (architecture, dataset)
// pair, reconstructing models through the tokenizer, and evaluating weights. Each job
// records its run (config, per-step metrics, checkpoint, summary) in the catalogue,
// reports progress and honours cancellation through its JobControl.
#pragma once

#include "catalogue/catalogue.h"
#include "evaluation/classifier_eval.h"
#include "evaluation/fine_tuning.h"
#include "jobs/progress.h"
#include "jobs/workspace.h"
#include "prior/conditioning.h"
#include "prior/prior_training.h"
#include "prior/sampler.h"
#include "tokenizer/tokenizer_training.h"

#include <optional>
#include <string>
#include <vector>

namespace igpg {

// --- the zoo as training data -------------------------------------------------------

struct ZooExample {
  ResolvedModel model;
  WeightLayout layout;
  StateDict weights;
};

// Models matching the filter with their weights and resolved architectures. Error(NotFound)
// when nothing matches; Error(Mismatch) naming a model whose architecture is only a label.
std::vector<ZooExample> loadZoo(Catalogue& catalogue, const ModelFilter& filter, const JobControl& job = {});

nlohmann::json filterToJson(const ModelFilter& filter);
ModelFilter filterFromJson(const nlohmann::json& json);

// The run of `kind` with this id, or the newest finished one when id is 0.
RunRecord findRun(Catalogue& catalogue, const std::string& kind, int64_t id);
// The newest finished run of `kind` whose config is exactly `config` and whose checkpoint
// is still on disk: what a re-run of the same job would produce (seeds are in the config).
std::optional<RunRecord> findEquivalentRun(Catalogue& catalogue, const std::string& kind, const nlohmann::json& config);

// --- tokenizer ----------------------------------------------------------------------

struct TokenizerJobOptions {
  ModelFilter zoo;              // default: every model of the catalogue
  TokenizerTrainOptions train;
  std::string name;             // run name; default "tokenizer"
  bool reuse = false;           // return the newest finished run with the same config instead of training
};

struct TokenizerJobResult {
  int64_t runId = 0;
  std::string checkpoint;
  ReconstructionSummary summary;
  int64_t models = 0;
  double seconds = 0;
  bool reused = false;
};

TokenizerJobResult runTokenizerTraining(Catalogue& catalogue, const TokenizerJobOptions& options,
                                        const JobControl& job);
WeightTokenizer loadTokenizerRun(const RunRecord& run, torch::Device device);

// --- conditioning --------------------------------------------------------------------

// Architecture and dataset embeddings for a prior, cached in the catalogue per encoder.
class Conditioner {
 public:
  Conditioner(Catalogue& catalogue, const std::string& archEncoder, const std::string& datasetEncoder);
  const std::string& archEncoderId() const { return archId_; }
  const std::string& datasetEncoderId() const { return datasetId_; }
  // The Remark-1 instruction around the SPEC's description, embedded.
  torch::Tensor architecture(const arch::ArchSpec& spec, int64_t sequenceLength);
  // Five images per class (seed 0), mean-pooled (see conditioning.h).
  torch::Tensor dataset(const Dataset& dataset);

 private:
  Catalogue& catalogue_;
  std::unique_ptr<TextEncoder> text_;
  std::unique_ptr<ImageEncoder> image_;
  std::string archId_, datasetId_;
};

// --- prior ---------------------------------------------------------------------------

struct PriorJobOptions {
  int64_t tokenizerRun = 0;             // 0: the newest finished tokenizer run
  std::optional<ModelFilter> zoo;       // default: the tokenizer run's zoo
  PriorTrainOptions train;
  std::string archEncoder = "builtin";  // or a TorchScript file
  std::string datasetEncoder = "builtin";
  std::string name;                     // default "prior"
  bool reuse = false;                   // as TokenizerJobOptions::reuse
};

struct PriorJobResult {
  int64_t runId = 0;
  std::string checkpoint;
  double loss = 0;
  double tokenAccuracy = 0;
  int64_t sequences = 0;
  int64_t longestSequence = 0;
  bool conditionsOnArchitecture = false;
  bool conditionsOnDataset = false;
  double seconds = 0;
  bool reused = false;
};

PriorJobResult runPriorTraining(Catalogue& catalogue, const PriorJobOptions& options, const JobControl& job);

// --- generation ----------------------------------------------------------------------

struct GenerateOptions {
  int64_t priorRun = 0;          // 0: the newest finished prior run
  std::string architecture;      // SPEC
  std::string dataset;           // NAME
  int64_t samples = 5;
  SamplingOptions sampling;
  bool evaluate = true;          // top-1/top-5 on the test split
  bool novelty = true;           // distance and agreement to the nearest training checkpoint
  bool calibrateBatchNorm = true;  // recompute decoded BatchNorm statistics (calibrateBatchNorm below)
  // Store the samples (weights, sampling, metrics) in the catalogue; a sample already
  // stored for the same prior run, pair, seed and sampling is kept, not added again.
  bool save = false;
  bool addToZoo = false;         // with save: also add each sample to the zoo as a model
  std::string outDir;            // export each sample as safetensors there
  torch::Device device = torch::kCPU;
  std::string archEncoder;       // override the prior's encoders (must have the same id)
  std::string datasetEncoder;
  // Fine-tune every sample and as many random initializations (seeds 0, 1, ...) side by
  // side on the dataset, the paper's generated-vs-scratch comparison. None: no fine-tuning.
  std::optional<FineTuneOptions> fineTune;
};

// How new a generated model is: published weight generators have been shown to mostly
// return copies of their training checkpoints.
struct Novelty {
  int64_t nearestModelId = 0;
  double nearestDistance = 0;    // L2 over all weights to the nearest training checkpoint of the architecture
  double typicalDistance = 0;    // median L2 between two training checkpoints of the pair (or the architecture)
  double relativeDistance = 0;   // nearest / typical: near 0 is a copy
  double agreement = 0;          // fraction of test predictions equal to the nearest checkpoint's
};

struct GeneratedSample {
  StateDict weights;
  std::optional<ClassifierMetrics> metrics;
  std::optional<Novelty> novelty;
  int64_t sampleId = 0;
  int64_t modelId = 0;
  std::string exportedPath;
};

struct GenerateResult {
  std::string architecture, dataset, description;
  int64_t parameters = 0;
  int64_t tokens = 0;             // per network
  int64_t blocks = 0;             // Algorithm 1 blocks (1 when the network fits the context)
  int64_t priorRun = 0;
  std::vector<int64_t> pretrainedIds;  // zoo checkpoints of the same pair
  double pretrainedMeanTop1 = 0;  // NaN when the pair is not in the zoo
  std::vector<GeneratedSample> samples;
  std::optional<FineTuneCurves> generatedCurves, scratchCurves;  // with options.fineTune
  double sampleSeconds = 0, decodeSeconds = 0, evaluateSeconds = 0, fineTuneSeconds = 0;
};

GenerateResult runGeneration(Catalogue& catalogue, const GenerateOptions& options, const JobControl& job);

// Adds a stored sample to the zoo as a model (source "generated:<prior run>") and links
// the two; returns the model's id (the existing one when it was added before).
int64_t addSampleToZoo(Catalogue& catalogue, int64_t sampleId);

// --- reconstruction and evaluation ---------------------------------------------------

struct ReconstructionRow {
  int64_t modelId = 0;
  std::string architecture, dataset;
  bool inTokenizerZoo = false;   // false: held out of tokenizer training
  double originalTop1 = 0, reconstructedTop1 = 0;
  // The original with its BatchNorm statistics recomputed as the reconstruction's are
  // (equal to originalTop1 without BatchNorm): a checkpoint saved with stale running
  // statistics gains from that pass alone, up to 7.2 points on a ResNet-8 of the diverse
  // zoo, which the gap to the original would charge to the tokenizer.
  double calibratedTop1 = 0;
  double relativeRmse = 0;       // normalized-weight RMSE of the reconstruction
  int64_t tokens = 0;
};

std::vector<ReconstructionRow> runReconstruction(Catalogue& catalogue, int64_t tokenizerRun, const ModelFilter& filter,
                                                 torch::Device device, const JobControl& job);

// The BatchNorm running statistics of decoded weights recomputed on the dataset's first
// `batches` x 256 training images (the network in training mode, no gradient, their
// cumulative average); weights without BatchNorm come back unchanged. Decoded statistics
// carry the tokenizer's error into every normalized activation, and a running variance
// off by a few percent of its scale moves a whole channel; the statistics are a function
// of the other weights and the data, so the calibration pass recovers them.
// Reconstruction and generation both apply it.
StateDict calibrateBatchNorm(const arch::ArchSpec& spec, const StateDict& weights, const Dataset& dataset,
                             torch::Device device, int64_t batches = 20);

// Test-split metrics of networks of one architecture, all of them in one pass as a stack.
std::vector<ClassifierMetrics> evaluateWeights(const arch::ArchSpec& spec, const std::vector<StateDict>& weights,
                                               const Dataset& dataset, torch::Device device,
                                               bool keepPredictions = false, const JobControl& job = {});
ClassifierMetrics evaluateWeights(const arch::ArchSpec& spec, const StateDict& weights, const Dataset& dataset,
                                  torch::Device device, const JobControl& job = {});

}  // namespace igpg
