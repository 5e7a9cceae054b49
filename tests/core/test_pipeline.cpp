// The IGPG pipeline end to end on a catalogue built in the test: a two-model zoo from a
// recipe (resumed after an interruption), a tokenizer that reconstructs it to the
// accuracy bar, a prior that regenerates it, generation with evaluation, novelty and
// storage, and the run records all of it leaves behind.
#include "igpg_test.h"
#include "test_util.h"

#include "common/error.h"
#include "common/files.h"
#include "evaluation/catalogue_figures.h"
#include "evaluation/statistics.h"
#include "formats/safetensors.h"
#include "jobs/experiment.h"
#include "jobs/pipelines.h"
#include "jobs/workspace.h"
#include "zoo/zoo_builder.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace {

igpg::Recipe twoModelRecipe() {
  return igpg::parseRecipe(nlohmann::json::parse(R"({
      "name": "two",
      "training": {"optimizer": "adam", "learning_rate": 0.005, "batch_size": 64, "epochs": 8, "keep_epochs": [8]},
      "groups": [{"architectures": ["tinycnn"], "datasets": ["digits", "digits[rot90]"], "seeds": [0]}]})"),
                           "test recipe");
}

}  // namespace

class PipelineTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void recipeErrorsComeBeforeTraining();
  void recipeScheduleIsRecordedOnlyWhenNotConstant();
  void zooBuildResumesAfterInterruption();
  void tokenizerReconstructsTheZoo();
  void priorRegeneratesTheZoo();
  void badRequestsAreRefused();
  void catalogueArchitecturesResolveByName();
  void fineTuningCurvesStartFromTheWeights();
  void savedGenerationRecordsItsFineTuning();
  void experimentReportHoldsTheComputedNumbers();
  void heldOutPairsAreGeneratedButNeverTrainedOn();
  void cleanupTestCase();

 private:
  igpg::ExperimentOptions miniExperiment(const std::string& name);
  std::unique_ptr<igpg_test::ScratchDir> dir_;
  std::unique_ptr<igpg::Catalogue> catalogue_;
};

void PipelineTest::initTestCase() {
  torch::set_num_threads(2);
  dir_ = std::make_unique<igpg_test::ScratchDir>("pipeline");
  catalogue_ = igpg::Catalogue::open(dir_->file("catalogue.db"));
}

void PipelineTest::cleanupTestCase() {
  catalogue_.reset();
  dir_.reset();
}

void PipelineTest::recipeErrorsComeBeforeTraining() {
  auto bad = [&](const char* text) {
    try {
      auto recipe = igpg::parseRecipe(nlohmann::json::parse(text), "bad");
      igpg::buildZoo(*catalogue_, recipe, {}, {});
    } catch (const igpg::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  QVERIFY(bad(R"({"name":"x","groups":[{"architectures":["nosuchnet"],"datasets":["digits"],"seeds":[0]}]})").find("nosuchnet") != std::string::npos);
  QVERIFY(bad(R"({"name":"x","groups":[{"architectures":["tinycnn"],"datasets":["nosuchdata"],"seeds":[0]}]})").find("nosuchdata") != std::string::npos);
  QVERIFY(bad(R"({"name":"x","groups":[{"architectures":["tinycnn"],"datasets":["digits"],"seeds":[]}]})").find("seeds") != std::string::npos);
  QVERIFY(bad(R"({"name":"x","groups":[{"architectures":[{"family":"mlp","hidden":"wide"}],"datasets":["digits"],"seeds":[0]}]})").find("hidden") != std::string::npos);
  QVERIFY(bad(R"({"name":"x","groups":[{"architectures":[{"family":"tinycnn","num_classes":3}],"datasets":["digits"],"seeds":[0]}]})").find("num_classes") != std::string::npos);
  QVERIFY(bad(R"({"name":"x","training":{"epochs":3,"keep_epochs":[5]},"groups":[{"architectures":["tinycnn"],"datasets":["digits"],"seeds":[0]}]})").find("keep_epochs") != std::string::npos);
  QVERIFY(bad(R"({"name":"x","training":{"lr_schedule":"linear"},"groups":[{"architectures":["tinycnn"],"datasets":["digits"],"seeds":[0]}]})").find("training.lr_schedule") != std::string::npos);
  QCOMPARE(catalogue_->countModels(), int64_t(0));  // nothing written
}

// The training JSON keys finished zoo work: recipes written before schedules existed
// must keep their keys, and a cosine recipe must not reuse constant-rate models.
void PipelineTest::recipeScheduleIsRecordedOnlyWhenNotConstant() {
  auto training = [](const char* fields) {
    const auto text = std::string(R"({"name":"x","training":{)") + fields +
                      R"(},"groups":[{"architectures":["tinycnn"],"datasets":["digits"],"seeds":[0]}]})";
    return igpg::parseRecipe(nlohmann::json::parse(text), "x").groups[0].training;
  };
  const auto plain = training(R"("epochs":3)");
  const auto constant = training(R"("epochs":3,"lr_schedule":"constant")");
  const auto cosine = training(R"("epochs":3,"lr_schedule":"cosine")");
  QVERIFY(!plain.toJson().contains("lr_schedule"));
  QCOMPARE(constant.toJson(), plain.toJson());
  QVERIFY(cosine.schedule == igpg::LrSchedule::Cosine);
  QCOMPARE(cosine.toJson()["lr_schedule"].get<std::string>(), std::string("cosine"));
}

void PipelineTest::zooBuildResumesAfterInterruption() {
  const auto recipe = twoModelRecipe();
  igpg::JobControl job;
  job.progress = [&](const igpg::ProgressEvent& e) {
    if (e.message.find("stack 2/2") != std::string::npos) job.cancel.cancel();
  };
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::buildZoo(*catalogue_, recipe, {}, job));
  QCOMPARE(catalogue_->countModels(), int64_t(1));  // the first stack's checkpoint is in
  QVERIFY(catalogue_->integrityCheck(true).ok());
  const auto again = igpg::buildZoo(*catalogue_, recipe, {}, {});
  QCOMPARE(again.added, int64_t(1));
  QCOMPARE(again.skipped, int64_t(1));
  const auto models = catalogue_->listModels();
  QCOMPARE(int(models.size()), 2);
  for (const auto& m : models) {
    QVERIFY2(m.top1 > 0.8, std::to_string(m.top1).c_str());  // trained, not random
    QCOMPARE(m.metadata["recipe"].get<std::string>(), std::string("two"));
    QCOMPARE(m.epoch, int64_t(8));
    QCOMPARE(m.numParams, int64_t(2464));
  }
}

void PipelineTest::tokenizerReconstructsTheZoo() {
  igpg::TokenizerJobOptions o;
  // Small and fast, in the default regime: 4 tokens per 256 weights, a dense decoder.
  o.train.config.vq.codebookSize = 256;
  o.train.config.vq.hidden = 32;
  o.train.config.vq.denseHidden = 256;
  // 400 steps left a relative RMSE of 0.08 on an AVX2-only CPU (two digits images off); 600: 0.006.
  o.train.steps = 600;
  o.train.batchSize = 32;
  const auto r = igpg::runTokenizerTraining(*catalogue_, o, {});
  QCOMPARE(r.models, int64_t(2));
  const auto run = catalogue_->run(r.runId);
  QCOMPARE(run->status, std::string("finished"));
  QVERIFY(!catalogue_->metrics(r.runId, "loss").empty());
  QVERIFY(run->summary["codebook"]["perplexity"].get<double>() > 1);
  // The paper's Table 3 bar: reconstruction keeps accuracy.
  const auto rows = igpg::runReconstruction(*catalogue_, r.runId, {}, torch::kCPU, {});
  QCOMPARE(int(rows.size()), 2);
  double worst = 0;
  std::string worstRow;
  for (const auto& row : rows) {
    QVERIFY(row.inTokenizerZoo);
    QVERIFY(std::isfinite(row.relativeRmse) && row.relativeRmse < 1);  // better than predicting the mean
    QCOMPARE(row.calibratedTop1, row.originalTop1);  // no BatchNorm: calibration changes nothing
    const double gap = 100 * std::fabs(row.reconstructedTop1 - row.originalTop1);
    if (gap >= worst) {
      worst = gap;
      worstRow = row.dataset + " gap " + std::to_string(gap) + " points, relative RMSE " + std::to_string(row.relativeRmse);
    }
  }
  std::printf("largest gap: %s\n", worstRow.c_str());
  QVERIFY2(worst <= 0.5, worstRow.c_str());
}

void PipelineTest::priorRegeneratesTheZoo() {
  igpg::PriorJobOptions o;
  o.train.gpt.width = 64;
  o.train.gpt.layers = 2;
  o.train.gpt.heads = 2;
  o.train.gpt.contextLength = 8;  // a network's 40 tokens are 5 x N_max: Algorithm 1's blocks
  o.train.steps = 200;
  o.train.batchSize = 8;
  o.train.learningRate = 3e-3;
  const auto p = igpg::runPriorTraining(*catalogue_, o, {});
  QVERIFY(p.conditionsOnDataset);
  QVERIFY(!p.conditionsOnArchitecture);  // one architecture in the zoo
  QVERIFY(p.longestSequence >= 4 * 8);   // the issue's bar: at least 4 x N_max
  const auto reconstruction = igpg::runReconstruction(*catalogue_, 0, {}, torch::kCPU, {});
  double worst = 0;
  std::string worstSample;
  for (const std::string dataset : {"digits", "digits[rot90]"}) {
    igpg::GenerateOptions g;
    g.architecture = "tinycnn";
    g.dataset = dataset;
    g.samples = 2;
    g.sampling.temperature = 0.3;
    g.save = true;
    g.addToZoo = true;
    const auto r = igpg::runGeneration(*catalogue_, g, {});
    QVERIFY(r.blocks >= 4);
    QCOMPARE(int(r.samples.size()), 2);
    double reconstructed = 0;
    for (const auto& row : reconstruction)
      if (row.dataset == dataset) reconstructed = row.reconstructedTop1;
    for (const auto& s : r.samples) {
      QVERIFY(s.metrics.has_value());
      QVERIFY(s.novelty.has_value());
      QVERIFY(s.sampleId > 0 && s.modelId > 0);
      const double gap = 100 * std::fabs(s.metrics->top1 - reconstructed);
      if (gap >= worst) {
        worst = gap;
        worstSample = dataset + ": generated " + std::to_string(100 * s.metrics->top1) + ", reconstructed " +
                      std::to_string(100 * reconstructed);
      }
    }
  }
  QCOMPARE(int(catalogue_->samples().size()), 4);
  QVERIFY2(worst <= 1.0, worstSample.c_str());
}

void PipelineTest::badRequestsAreRefused() {
  const auto samplesBefore = catalogue_->samples().size();
  igpg::GenerateOptions g;
  g.architecture = "tinycnn";
  g.dataset = "no-such-dataset";
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::runGeneration(*catalogue_, g, {}));
  g.dataset = "digits";
  g.samples = 0;
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::runGeneration(*catalogue_, g, {}));
  g.samples = 1000000000;
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::runGeneration(*catalogue_, g, {}));
  g.samples = 1;
  g.architecture = R"({"family": "tinycnn", "hidden": -3})";
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::runGeneration(*catalogue_, g, {}));
  igpg::ModelFilter nothing;
  nothing.dataset = "fashion-mnist";
  igpg::TokenizerJobOptions t;
  t.zoo = nothing;
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::runTokenizerTraining(*catalogue_, t, {}));
  QCOMPARE(catalogue_->samples().size(), samplesBefore);
}

// `igpg zoo list` shows architecture names such as "mlp_8"; generate and eval take them.
void PipelineTest::catalogueArchitecturesResolveByName() {
  auto digits = igpg::openDataset(*catalogue_, "digits");
  const auto mlp = igpg::resolveArchitecture(*catalogue_, R"({"family": "mlp", "hidden": [8]})", *digits);
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::resolveArchitecture(*catalogue_, mlp.name(), *digits));
  catalogue_->upsertArchitecture(igpg::architectureRecord(mlp));
  const auto byName = igpg::resolveArchitecture(*catalogue_, mlp.name(), *digits);
  QCOMPARE(byName.canonicalJson(), mlp.canonicalJson());
  QCOMPARE(byName.parameterCount(), int64_t(784 * 8 + 8 + 8 * 10 + 10));
  // On a dataset with other classes, the stored SPEC takes that dataset's shape.
  auto five = igpg::openDataset(*catalogue_, "fashion-mnist[classes=0,1,2,3,4]");
  QCOMPARE(igpg::resolveArchitecture(*catalogue_, mlp.name(), *five).parameterCount(), int64_t(784 * 8 + 8 + 8 * 5 + 5));
  // Importing under the stored name checks the files against its SPEC: a tinycnn
  // checkpoint does not become an mlp because of the name it was given.
  const igpg::ImportOptions byStoredName = igpg::importOptionsFor(*catalogue_, mlp.name(), "digits");
  QCOMPARE(byStoredName.architecture.name, mlp.name());
  QVERIFY(byStoredName.conform);
  igpg::StateDict tinycnn = igpg::loadSafetensors(igpg_test::fixture("tinycnn_fmnist.safetensors"));
  const std::string e = igpg_test::thrownBy<igpg::Error>([&] { byStoredName.conform(tinycnn, "t.safetensors"); }).what();
  QVERIFY2(e.find("tensor conv1.") != std::string::npos && e.find("not part of this architecture") != std::string::npos, e.c_str());
  QVERIFY(!igpg::importOptionsFor(*catalogue_, "someone's net", "digits").conform);  // a label stays a label
}

// Epoch 0 of a curve is the starting weights' own accuracy; training moves it; a random
// initialization starts near chance and learns.
void PipelineTest::fineTuningCurvesStartFromTheWeights() {
  igpg::ModelFilter f;
  f.dataset = "digits";
  f.source = "zoo:two";
  const auto models = catalogue_->listModels(f);
  QCOMPARE(int(models.size()), 1);
  const auto resolved = igpg::resolveModel(*catalogue_, models[0]);
  std::vector<igpg::StateDict> starts = {catalogue_->loadWeights(models[0])};
  for (auto& s : igpg::scratchStarts(resolved.spec.program(), 1, 0)) starts.push_back(std::move(s));
  igpg::FineTuneOptions o;
  o.epochs = 2;
  const auto curves = igpg::fineTuneCurves(resolved.spec.program(), starts, *resolved.dataset, o);
  QCOMPARE(curves.epochs, (std::vector<int64_t>{0, 1, 2}));
  QCOMPARE(int(curves.top1.size()), 2);
  QVERIFY(std::fabs(curves.top1[0][0] - models[0].top1) < 1e-6);
  QVERIFY2(curves.top1[1][0] < 0.3, std::to_string(curves.top1[1][0]).c_str());
  QVERIFY2(curves.top1[1][2] > curves.top1[1][0] + 0.3, std::to_string(curves.top1[1][2]).c_str());
  const auto mean = igpg::meanCurve(curves);
  QVERIFY(std::fabs(mean[2] - (curves.top1[0][2] + curves.top1[1][2]) / 2) < 1e-12);
}

// What the studio's Analyze page plots: each fine-tuned start of a saved generation is a
// "finetune" run holding its curve, grouped by pair and prior.
void PipelineTest::savedGenerationRecordsItsFineTuning() {
  const size_t before = catalogue_->listRuns("finetune").size();
  igpg::GenerateOptions g;
  g.architecture = "tinycnn";
  g.dataset = "digits";
  g.samples = 1;
  g.novelty = false;
  g.save = true;
  g.fineTune = igpg::FineTuneOptions{};
  g.fineTune->epochs = 1;
  g.fineTune->trainSamples = 128;
  const auto r = igpg::runGeneration(*catalogue_, g, {});
  const auto runs = catalogue_->listRuns("finetune");
  QCOMPARE(runs.size(), before + 2);
  for (size_t i = before; i < runs.size(); ++i) {
    const auto& run = runs[i];
    const bool generated = run.config["method"] == "generated";
    QVERIFY(generated || run.config["method"] == "scratch");
    QCOMPARE(run.status, std::string("finished"));
    QCOMPARE(run.parentRunId, r.priorRun);
    QCOMPARE(igpg::fineTuningGroup(run), "tinycnn / digits, prior run " + std::to_string(r.priorRun));
    const auto& curve = (generated ? r.generatedCurves : r.scratchCurves)->top1[0];
    const auto points = catalogue_->metrics(run.id, "top1");
    QCOMPARE(int(points.size()), 2);
    for (const auto& p : points) QCOMPARE(p.value, curve[size_t(p.step)]);
  }
  // Saving the same generation again keeps what is stored; another sampling seed is new.
  const size_t samples = catalogue_->samples().size();
  const auto again = igpg::runGeneration(*catalogue_, g, {});
  QCOMPARE(again.samples[0].sampleId, r.samples[0].sampleId);
  QCOMPARE(catalogue_->samples().size(), samples);
  QCOMPARE(catalogue_->listRuns("finetune").size(), runs.size());
  g.sampling.seed = 1;
  const auto other = igpg::runGeneration(*catalogue_, g, {});
  QVERIFY(other.samples[0].sampleId != r.samples[0].sampleId);
  QCOMPARE(catalogue_->samples().size(), samples + 1);
  QCOMPARE(catalogue_->listRuns("finetune").size(), runs.size() + 2);
  // Sample 0 of a batch of 2 is not sample 0 of a batch of 1: both of the batch are new.
  g.samples = 2;
  const auto batch = igpg::runGeneration(*catalogue_, g, {});
  QVERIFY(batch.samples[0].sampleId != other.samples[0].sampleId);
  QCOMPARE(catalogue_->samples().size(), samples + 3);
  QCOMPARE(catalogue_->listRuns("finetune").size(), runs.size() + 6);
}

// A miniature of `igpg experiment`: the zoo is the one built above (reused), tokenizer
// and prior are tiny; the report's numbers must be the evaluation's, and a second run
// must reuse both trainings.
igpg::ExperimentOptions PipelineTest::miniExperiment(const std::string& name) {
  const std::string recipePath = dir_->file("two.json");
  igpg::writeFileAtomic(recipePath, R"({
      "name": "two",
      "training": {"optimizer": "adam", "learning_rate": 0.005, "batch_size": 64, "epochs": 8, "keep_epochs": [8]},
      "groups": [{"architectures": ["tinycnn"], "datasets": ["digits", "digits[rot90]"], "seeds": [0]}]})");
  igpg::ExperimentOptions o;
  o.name = name;
  o.recipe = recipePath;
  o.reportDir = dir_->file(name);
  o.samples = 2;
  o.tokenizer.config.vq.chunkSize = 32;
  o.tokenizer.config.vq.tokensPerChunk = 16;
  o.tokenizer.config.vq.codebookSize = 128;
  o.tokenizer.config.vq.hidden = 16;
  o.tokenizer.steps = 60;
  o.tokenizer.batchSize = 64;
  o.prior.gpt.width = 32;
  o.prior.gpt.layers = 1;
  o.prior.gpt.heads = 2;
  o.prior.gpt.contextLength = 128;
  o.prior.steps = 20;
  o.sampling.seed = 7;
  o.fineTune.reset();
  return o;
}

void PipelineTest::experimentReportHoldsTheComputedNumbers() {
  const igpg::ExperimentOptions o = miniExperiment("mini");
  const auto r = igpg::runExperiment(*catalogue_, o, {});
  QCOMPARE(r.zooAdded, int64_t(0));  // built by zooBuildResumesAfterInterruption
  QCOMPARE(int(r.pairs.size()), 2);
  QCOMPARE(int(r.reconstruction.size()), 2);
  for (const char* name : {"report.md", "pairs.csv", "samples.csv", "reconstruction.csv", "accuracy_scatter.csv",
                           "tokenizer_training.csv", "prior_training.csv", "codebook_usage.csv"})
    QVERIFY2(igpg::fileExists(o.reportDir + "/" + name), name);

  // The pretrained column is the zoo's accuracy; the generated one is what generation
  // with the same prior and seed evaluates to.
  const std::string csv = igpg::readFileText(o.reportDir + "/pairs.csv");
  for (const auto& pair : r.pairs) {
    igpg::ModelFilter f;
    f.source = "zoo:two";
    f.architecture = pair.architecture;
    f.dataset = pair.dataset;
    const auto models = catalogue_->listModels(f);
    QCOMPARE(int(models.size()), 1);
    QCOMPARE(pair.pretrainedMean, 100.0 * models[0].top1);
    igpg::GenerateOptions g;
    g.priorRun = r.priorRun;
    g.architecture = pair.spec;
    g.dataset = pair.dataset;
    g.samples = 2;
    g.sampling = o.sampling;  // the experiment's temperature and seed
    g.novelty = false;
    const auto again = igpg::runGeneration(*catalogue_, g, {});
    const double mean = 50.0 * (again.samples[0].metrics->top1 + again.samples[1].metrics->top1);
    QVERIFY2(std::fabs(mean - pair.generatedMean) < 1e-9, (std::to_string(mean) + " vs " + std::to_string(pair.generatedMean)).c_str());
    QVERIFY2(csv.find(pair.dataset) != std::string::npos, csv.c_str());

    // The distributions are those of these samples against the pair's checkpoint, one per
    // weight tensor of the Tiny CNN, each written as the CSV of its figure.
    QCOMPARE(int(pair.distributions.size()), 5);
    const auto& [tensor, spec] = pair.distributions.front();
    QCOMPARE(tensor, std::string("conv1.weight"));
    const auto expected = igpg::layerDistribution(spec.title, tensor, {catalogue_->loadWeights(models[0])},
                                                  {again.samples[0].weights, again.samples[1].weights});
    QCOMPARE(spec.series.size(), size_t(2));
    for (size_t i = 0; i < 2; ++i) QVERIFY(spec.series[i].y == expected.series[i].y);
    const size_t index = size_t(&pair - r.pairs.data()) + 1;
    QCOMPARE(igpg::readFileText(o.reportDir + "/distribution_" + std::to_string(index) + "_conv1.weight.csv"),
             igpg::plotSpecToCsv(spec));
  }
  const std::string md = igpg::readFileText(o.reportDir + "/report.md");
  QVERIFY(md.find("Pearson r") != std::string::npos);
  QVERIFY(md.find("over the seen pairs") == std::string::npos);  // no hold-out, one group
  QCOMPARE(r.agreement.pairs, int64_t(2));
  QCOMPARE(r.agreement.meanAbsGap, 0.5 * (std::abs(r.pairs[0].gap) + std::abs(r.pairs[1].gap)));
  // One checkpoint per pair: no spread, so no sampling noise, and only an exact match
  // counts as within it.
  for (const auto& pair : r.pairs) QCOMPARE(pair.samplingNoise, 0.0);
  QCOMPARE(r.agreement.withinNoise, int64_t(std::count_if(r.pairs.begin(), r.pairs.end(),
                                                          [](const igpg::PairResult& p) { return p.gap == 0; })));
  QVERIFY(md.find("pairs within twice their sampling noise") != std::string::npos);
  QCOMPARE(r.heldOutAgreement.pairs, int64_t(0));

  // The samples are in the catalogue with the prior run that made them, each pair's with
  // the accuracies the report averaged, so the studio shows the experiment.
  const auto stored = catalogue_->samples(r.priorRun);
  QCOMPARE(int64_t(stored.size()), 2 * o.samples);
  for (const auto& pair : r.pairs) {
    std::vector<double> top1;
    for (const auto& sample : stored)
      if (sample.dataset == pair.dataset) top1.push_back(100.0 * sample.top1);
    QCOMPARE(int64_t(top1.size()), o.samples);
    QVERIFY(std::fabs(igpg::stats::mean(top1) - pair.generatedMean) < 1e-9);
  }

  const auto second = igpg::runExperiment(*catalogue_, o, {});
  QCOMPARE(catalogue_->samples(r.priorRun).size(), stored.size());  // the rerun's samples are the stored ones
  QVERIFY(second.tokenizerReused);
  QVERIFY(second.priorReused);
  QCOMPARE(second.tokenizerRun, r.tokenizerRun);
  QCOMPARE(second.pairs[0].generatedMean, r.pairs[0].generatedMean);  // same seeds, same numbers
}

// The generalization experiments: a held-out dataset never reaches the tokenizer or the
// prior, is still generated for, and is compared with its own checkpoints and with random
// initialization.
void PipelineTest::heldOutPairsAreGeneratedButNeverTrainedOn() {
  igpg::ExperimentOptions o = miniExperiment("held");
  auto refused = [&](igpg::HoldOut holdOut) {
    igpg::ExperimentOptions bad = o;
    bad.holdOut = std::move(holdOut);
    try {
      igpg::runExperiment(*catalogue_, bad, {});
    } catch (const igpg::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  QVERIFY(refused({{}, {"fashion-mnist"}, {}}).find("dataset fashion-mnist matches no checkpoint") != std::string::npos);
  QVERIFY(refused({{}, {}, {3}}).find("seed 3 matches no checkpoint") != std::string::npos);
  // "tinycnn" resolves against each pair's dataset and so matches both pairs.
  QVERIFY(refused({{"tinycnn"}, {}, {}}).find("nothing to train on") != std::string::npos);

  o.holdOut.datasets = {"digits[ ROT90 ]"};  // matched in canonical form
  o.fineTune = igpg::FineTuneOptions{};
  o.fineTune->epochs = 1;
  o.fineTune->trainSamples = 256;
  const auto r = igpg::runExperiment(*catalogue_, o, {});
  QCOMPARE(r.models, int64_t(2));
  QCOMPARE(r.trainingModels, int64_t(1));
  igpg::ModelFilter digits;
  digits.dataset = "digits";
  digits.source = "zoo:two";
  const int64_t seenId = catalogue_->listModels(digits).at(0).id;
  for (int64_t run : {r.tokenizerRun, r.priorRun})
    QCOMPARE(catalogue_->run(run)->config["models"].get<std::vector<int64_t>>(), std::vector<int64_t>{seenId});
  for (const auto& row : r.reconstruction) QCOMPARE(row.inTokenizerZoo, row.modelId == seenId);

  QCOMPARE(int(r.pairs.size()), 2);
  const auto& seen = r.pairs[0].dataset == "digits" ? r.pairs[0] : r.pairs[1];
  const auto& held = r.pairs[0].dataset == "digits" ? r.pairs[1] : r.pairs[0];
  QCOMPARE(held.dataset, std::string("digits[rot90]"));
  QVERIFY(held.heldOut && !seen.heldOut);
  for (const auto& row : r.reconstruction)  // each pair's reconstruction column is its own checkpoint's
    QCOMPARE((row.modelId == seenId ? seen : held).reconstructedMean, 100.0 * row.reconstructedTop1);
  QVERIFY(seen.generatedTuning.epochs.empty() && std::isnan(seen.randomInit));  // fine-tuned: held-out pairs only
  QCOMPARE(held.generatedTuning.epochs, (std::vector<int64_t>{0, 1}));
  QCOMPARE(int(held.generatedTuning.top1.size()), 2);
  // Epoch 0 of the generated curve is the zero-shot accuracy; of the scratch curve, the
  // accuracy of PyTorch's default initialization from seeds 0 and 1.
  QVERIFY(std::fabs(100.0 * igpg::meanCurve(held.generatedTuning)[0] - held.generatedMean) < 1e-9);
  auto dataset = igpg::openDataset(*catalogue_, held.dataset);
  const auto spec = igpg::resolveArchitecture(*catalogue_, held.spec, *dataset);
  double random = 0;
  for (const auto& w : igpg::scratchStarts(spec.program(), 2, 0))
    random += 50.0 * igpg::evaluateWeights(spec, w, *dataset, torch::kCPU).top1;
  QVERIFY2(std::fabs(random - held.randomInit) < 1e-9, (std::to_string(random) + " vs " + std::to_string(held.randomInit)).c_str());
  // The gaps per group: one pair each, so no r; over all pairs, both gaps.
  QCOMPARE(r.seenAgreement.pairs, int64_t(1));
  QCOMPARE(r.heldOutAgreement.pairs, int64_t(1));
  QCOMPARE(r.seenAgreement.meanAbsGap, std::abs(seen.gap));
  QCOMPARE(r.heldOutAgreement.maxAbsGap, std::abs(held.gap));
  QVERIFY(std::isnan(r.heldOutAgreement.pearsonR));
  QCOMPARE(r.agreement.pairs, int64_t(2));
  QCOMPARE(r.agreement.maxAbsGap, std::max(std::abs(seen.gap), std::abs(held.gap)));
  QVERIFY(std::isfinite(r.agreement.pearsonR));

  const std::string md = igpg::readFileText(o.reportDir + "/report.md");
  QVERIFY(md.find("## Held out") != std::string::npos);
  QVERIFY(md.find("over the held-out pairs, 1) = ") != std::string::npos);
  QVERIFY(md.find("They trained on 1 of the 2 checkpoints") != std::string::npos);
  std::ostringstream share;
  share << std::fixed << std::setprecision(1) << 100.0 * held.generatedMean / held.pretrainedMean << "% |";
  QVERIFY2(md.find(share.str()) != std::string::npos, md.c_str());
  const std::string tuning = igpg::readFileText(o.reportDir + "/fine_tuning.csv");
  QCOMPARE(int(std::count(tuning.begin(), tuning.end(), '\n')), 3);  // header, epochs 0 and 1 of the held-out pair
  QVERIFY(igpg::fileExists(o.reportDir + "/fine_tuning_curves.csv"));
  QVERIFY(igpg::readFileText(o.reportDir + "/pairs.csv").find("digits[rot90],1,") != std::string::npos);
}

IGPG_TEST_MAIN(PipelineTest)
#include "test_pipeline.moc"
