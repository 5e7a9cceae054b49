// The stacked trainer: G models trained at once end where each ends trained alone with
// the same seed; seeds decide everything; epochs are reported; training learns; the
// cosine schedule anneals; bad options and cancellation are handled.
#include "igpg_test.h"

#include "arch/spec.h"
#include "common/error.h"
#include "evaluation/classifier_eval.h"
#include "training/trainer.h"

#include <torch/torch.h>

using igpg::arch::DataShape;

namespace {

// Random images labelled by a fixed random linear teacher: learnable, and the same on
// every machine.
struct Split {
  torch::Tensor images, labels;
};

// Train and test splits of `n` and `m` samples labelled by the same teacher.
std::pair<Split, Split> teacherData(int64_t n, int64_t m, const DataShape& d) {
  auto gen = at::detail::createCPUGenerator(1);
  const auto images = torch::randn({n + m, d.channels, d.height, d.width}, gen);
  const auto teacher = torch::randn({d.channels * d.height * d.width, d.classes}, gen);
  const auto labels = images.flatten(1).matmul(teacher).argmax(1);
  return {Split{images.narrow(0, 0, n), labels.narrow(0, 0, n)}, Split{images.narrow(0, n, m), labels.narrow(0, n, m)}};
}

// The Tiny CNN on `n` teacher-labelled 28x28 samples.
struct TinyCnnCase {
  igpg::arch::Program program;
  Split train;
};

TinyCnnCase tinyCnnCase(int64_t n) {
  const DataShape data{1, 28, 28, 10};
  return {igpg::arch::resolveSpec("tinycnn", data).program(), teacherData(n, 0, data).first};
}

igpg::TrainOptions options(int64_t epochs, int64_t batchSize, std::vector<uint64_t> seeds) {
  igpg::TrainOptions o;
  o.epochs = epochs;
  o.batchSize = batchSize;
  o.seeds = std::move(seeds);
  return o;
}

double maxWeightDiff(const igpg::StateDict& a, const igpg::StateDict& b) {
  double d = 0;
  for (const auto& e : a.entries())
    d = std::max(d, (e.tensor.to(torch::kFloat64) - b.at(e.name).to(torch::kFloat64)).abs().max().item<double>());
  return d;
}

// Trains options.seeds as one stack and each seed alone (the G = 1 path of the same
// code), and checks final weights, training statistics and test accuracies agree.
void expectStackEqualsAlone(const std::string& specText, const DataShape& data, igpg::TrainOptions options,
                            double weightTolerance) {
  const auto spec = igpg::arch::resolveSpec(specText, data);
  const auto [train, test] = teacherData(96, 64, data);
  std::vector<igpg::EpochStats> stackedStats;
  auto stack = igpg::trainModels(spec.program(), train.images, train.labels, options,
                                 [&](const igpg::EpochStats& s, igpg::arch::ModelStack&) { stackedStats.push_back(s); });
  const auto stackedMetrics = igpg::evaluateClassifiers(stack, test.images, test.labels);
  for (size_t g = 0; g < options.seeds.size(); ++g) {
    igpg::TrainOptions alone = options;
    alone.seeds = {options.seeds[g]};
    if (!options.learningRates.empty()) alone.learningRates = {options.learningRates[g]};
    std::vector<igpg::EpochStats> aloneStats;
    auto single = igpg::trainModels(spec.program(), train.images, train.labels, alone,
                                    [&](const igpg::EpochStats& s, igpg::arch::ModelStack&) { aloneStats.push_back(s); });
    const double d = maxWeightDiff(stack->stateDict(int64_t(g)), single->stateDict(0));
    QVERIFY2(d < weightTolerance, (spec.name() + ": weights of model " + std::to_string(g) + " differ by " +
                                   std::to_string(d)).c_str());
    QCOMPARE(aloneStats.size(), stackedStats.size());
    for (size_t e = 0; e < aloneStats.size(); ++e) {
      QVERIFY(std::fabs(aloneStats[e].loss[0] - stackedStats[e].loss[g]) < 1e-4);
      QCOMPARE(aloneStats[e].accuracy[0], stackedStats[e].accuracy[g]);
    }
    const auto metrics = igpg::evaluateClassifiers(single, test.images, test.labels)[0];
    QCOMPARE(metrics.top1, stackedMetrics[g].top1);
    QCOMPARE(metrics.top5, stackedMetrics[g].top5);
    QVERIFY(std::fabs(metrics.loss - stackedMetrics[g].loss) < 1e-4);
    // The counters of batch norm saw every step.
    const auto final = single->stateDict(0);
    if (const auto* tracked = final.find("bn1.num_batches_tracked"))
      QCOMPARE(tracked->item<int64_t>(), options.epochs * ((96 + options.batchSize - 1) / options.batchSize));
  }
}

}  // namespace

class TrainingTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void stackedAdamEqualsAlone();
  void stackedSgdWithBatchNormAndOwnRatesEqualsAlone();
  void stackedAdamWEqualsAlone();
  void seedsDecideEverything();
  void everyEpochIsReported();
  void trainingLearns();
  void cosineScheduleSettlesTheLastEpoch();
  void cancellationStopsBetweenSteps();
  void badOptionsAreRejected();
};

void TrainingTest::stackedAdamEqualsAlone() {
  igpg::TrainOptions o;
  o.optimizer.kind = igpg::OptimizerKind::Adam;
  o.optimizer.learningRate = 3e-3;
  o.batchSize = 20;  // 96 samples: the last minibatch is partial
  o.epochs = 3;
  o.seeds = {1, 2, 3};
  expectStackEqualsAlone("tinycnn", DataShape{1, 28, 28, 10}, o, 1e-4);
}

void TrainingTest::stackedSgdWithBatchNormAndOwnRatesEqualsAlone() {
  igpg::TrainOptions o;
  o.optimizer.kind = igpg::OptimizerKind::Sgd;
  o.optimizer.momentum = 0.9;
  o.optimizer.weightDecay = 5e-4;
  o.learningRates = {0.05, 0.01};
  o.batchSize = 32;
  o.epochs = 2;
  o.seeds = {7, 8};
  expectStackEqualsAlone(R"({"family":"resnet","blocks":[1,1,1],"width":4})", DataShape{1, 12, 12, 5}, o, 1e-4);
}

void TrainingTest::stackedAdamWEqualsAlone() {
  igpg::TrainOptions o;
  o.optimizer.kind = igpg::OptimizerKind::AdamW;
  o.optimizer.weightDecay = 0.01;
  o.schedule = igpg::LrSchedule::Cosine;  // the factor and the decoupled decay follow it
  o.batchSize = 16;
  o.epochs = 2;
  o.seeds = {3, 4};
  expectStackEqualsAlone(R"({"family":"mlp","hidden":[16],"activation":"gelu"})", DataShape{1, 8, 8, 4}, o, 1e-4);
}

void TrainingTest::seedsDecideEverything() {
  const auto [program, train] = tinyCnnCase(64);
  const auto o = options(1, 16, {5, 5, 6});
  auto stack = igpg::trainModels(program, train.images, train.labels, o);
  QCOMPARE(maxWeightDiff(stack->stateDict(0), stack->stateDict(1)), 0.0);  // same seed, same model
  QVERIFY(maxWeightDiff(stack->stateDict(0), stack->stateDict(2)) > 1e-3);
  auto again = igpg::trainModels(program, train.images, train.labels, o);
  QCOMPARE(maxWeightDiff(stack->stateDict(2), again->stateDict(2)), 0.0);  // reproducible
}

void TrainingTest::everyEpochIsReported() {
  const auto [program, train] = tinyCnnCase(48);
  const auto o = options(4, 16, {1, 2});
  std::vector<int64_t> epochs;
  std::vector<igpg::StateDict> kept;
  int64_t lastDone = 0, total = 0;
  bool finished = false;
  igpg::JobControl job;
  job.progress = [&](const igpg::ProgressEvent& e) {
    if (e.phase != "train") return;
    lastDone = e.done;
    total = e.total;
    finished = finished || e.finished;
  };
  auto stack = igpg::trainModels(
      program, train.images, train.labels, o,
      [&](const igpg::EpochStats& s, igpg::arch::ModelStack& st) {
        epochs.push_back(s.epoch);
        QCOMPARE(s.loss.size(), size_t(2));
        QCOMPARE(s.accuracy.size(), size_t(2));
        if (s.epoch == 2 || s.epoch == 3) kept.push_back(st->stateDict(1));  // e.g. a zoo's epochs 21-25
      },
      job);
  QCOMPARE(epochs, (std::vector<int64_t>{1, 2, 3, 4}));
  QCOMPARE(kept.size(), size_t(2));
  QVERIFY(maxWeightDiff(kept[0], kept[1]) > 0);
  QVERIFY(maxWeightDiff(kept[1], stack->stateDict(1)) > 0);
  QCOMPARE(total, int64_t(4 * 3));
  QCOMPARE(lastDone, total);
  QVERIFY(finished);
}

void TrainingTest::trainingLearns() {
  const DataShape data{1, 8, 8, 4};
  const auto program = igpg::arch::resolveSpec(R"({"family":"mlp","hidden":[32]})", data).program();
  const auto [train, test] = teacherData(512, 256, data);
  igpg::TrainOptions o;
  o.optimizer.learningRate = 1e-2;
  o.epochs = 8;
  o.batchSize = 32;
  o.seeds = {1, 2};
  std::vector<igpg::EpochStats> stats;
  auto stack = igpg::trainModels(program, train.images, train.labels, o,
                                 [&](const igpg::EpochStats& s, igpg::arch::ModelStack&) { stats.push_back(s); });
  igpg::arch::ModelStack untrained(program, 2);
  untrained->initialize(o.seeds);
  const auto before = igpg::evaluateClassifiers(untrained, test.images, test.labels);
  const auto after = igpg::evaluateClassifiers(stack, test.images, test.labels);
  for (size_t g = 0; g < 2; ++g) {
    QVERIFY(stats.back().loss[g] < 0.5 * stats.front().loss[g]);
    QVERIFY2(after[g].top1 > 0.7, std::to_string(after[g].top1).c_str());  // chance: 0.25
    QVERIFY(after[g].loss < before[g].loss);
  }
}

void TrainingTest::cosineScheduleSettlesTheLastEpoch() {
  QCOMPARE(igpg::lrScale(igpg::LrSchedule::Cosine, 0, 100), 1.0);
  QVERIFY(std::fabs(igpg::lrScale(igpg::LrSchedule::Cosine, 50, 100) - 0.5) < 1e-12);
  QVERIFY(std::fabs(igpg::lrScale(igpg::LrSchedule::Cosine, 100, 100)) < 1e-12);
  QCOMPARE(igpg::lrScale(igpg::LrSchedule::Constant, 99, 100), 1.0);
  QVERIFY(igpg::parseLrSchedule("cosine") == igpg::LrSchedule::Cosine);
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::parseLrSchedule("linear"));

  // How far the weights move in the last of 4 epochs: the cosine's mean factor there is
  // about 0.05 of the rate, so Adam moves them a small fraction of the constant rate's.
  const DataShape data{1, 8, 8, 4};
  const auto program = igpg::arch::resolveSpec(R"({"family":"mlp","hidden":[32]})", data).program();
  const auto [train, test] = teacherData(256, 0, data);
  auto lastEpochMove = [&](igpg::LrSchedule schedule) {
    igpg::TrainOptions o = options(4, 32, {1});
    o.optimizer.learningRate = 1e-2;
    o.schedule = schedule;
    igpg::StateDict before;
    auto stack = igpg::trainModels(program, train.images, train.labels, o,
                                   [&](const igpg::EpochStats& s, igpg::arch::ModelStack& st) {
                                     if (s.epoch == 3) before = st->stateDict(0);
                                   });
    return maxWeightDiff(before, stack->stateDict(0));
  };
  const double constant = lastEpochMove(igpg::LrSchedule::Constant);
  const double cosine = lastEpochMove(igpg::LrSchedule::Cosine);
  QVERIFY2(cosine < 0.25 * constant, (std::to_string(cosine) + " vs " + std::to_string(constant)).c_str());
}

void TrainingTest::cancellationStopsBetweenSteps() {
  const auto [program, train] = tinyCnnCase(64);
  const auto o = options(100, 8, {0});
  igpg::JobControl job;
  int64_t seen = 0;
  job.progress = [&](const igpg::ProgressEvent& e) {
    seen = e.done;
    if (e.done >= 3) job.cancel.cancel();
  };
  try {
    igpg::trainModels(program, train.images, train.labels, o, {}, job);
    QFAIL("training was not cancelled");
  } catch (const igpg::Error& e) {
    QVERIFY(e.kind() == igpg::ErrorKind::Cancelled);
  }
  QVERIFY(seen < 100 * 8);
}

void TrainingTest::badOptionsAreRejected() {
  const auto tiny = tinyCnnCase(16);
  const Split& train = tiny.train;
  auto rejects = [&](igpg::TrainOptions o, const std::string& where, torch::Tensor images = {}, torch::Tensor labels = {}) {
    try {
      igpg::trainModels(tiny.program, images.defined() ? images : train.images, labels.defined() ? labels : train.labels,
                        o);
    } catch (const igpg::Error& e) {
      QCOMPARE(e.where(), where);
      return;
    }
    QFAIL(("accepted bad " + where).c_str());
  };
  const auto o = options(1, 64, {0});
  auto bad = o;
  bad.batchSize = 0;
  rejects(bad, "batch_size");
  bad = o;
  bad.seeds = {};
  rejects(bad, "seeds");
  bad = o;
  bad.learningRates = {0.1, 0.2};
  rejects(bad, "learning_rates");
  bad = o;
  bad.optimizer.learningRate = -1;
  rejects(bad, "learning_rate");
  bad = o;
  bad.optimizer.momentum = 1.5;
  rejects(bad, "momentum");
  rejects(o, "training data", train.images, train.labels + 10);
  rejects(o, "training data", torch::zeros({16, 3, 28, 28}), train.labels);
  rejects(o, "training data", train.images, train.labels.narrow(0, 0, 8));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::parseOptimizer("rmsprop"));
  QVERIFY(igpg::parseOptimizer("adamw") == igpg::OptimizerKind::AdamW);
}

// Thousands of tiny ops: with the suite's OMP_NUM_THREADS=2 and OpenMP's default
// spin-waiting, a busy 2-core machine made this 30x slower. Results do not depend on it.
void TrainingTest::initTestCase() { torch::set_num_threads(1); }

IGPG_TEST_MAIN(TrainingTest)
#include "test_training.moc"
