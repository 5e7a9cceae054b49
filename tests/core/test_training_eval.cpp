// Classifier evaluation on a hand-made linear classifier whose top-1, top-5 and loss are
// known, in any batch size, for single models and stacks, in eval mode.
#include "igpg_test.h"

#include "arch/spec.h"
#include "common/error.h"
#include "evaluation/classifier_eval.h"

#include <torch/torch.h>

#include <cmath>

namespace {

// A linear classifier of 2 inputs (1x1x2 "images") into 7 classes.
const igpg::arch::DataShape kShape{1, 1, 2, 7};
const std::vector<std::array<double, 2>> kWeights = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}, {1, 1}, {0.5, -0.25}, {0, 0}};
const std::vector<double> kBias = {0, 0, 0, 0, 0, 0, 0.3};
// Scores for (2, 0.5) rank the classes 4, 0, 5, 1, 6, 3, 2; for (-1, -3): 3, 2, 6, 5, 0, 1, 4.
const std::vector<std::array<double, 2>> kInputs = {{2, 0.5}, {2, 0.5}, {2, 0.5}, {-1, -3}, {-1, -3}};
const std::vector<int64_t> kLabels = {4, 0, 2, 3, 1};  // top-1: 1st, 4th; top-5 also the 2nd

igpg::StateDict linearWeights(double sign) {
  igpg::StateDict w;
  torch::Tensor weight = torch::zeros({7, 2}), bias = torch::zeros({7});
  for (int c = 0; c < 7; ++c) {
    weight[c][0] = sign * kWeights[size_t(c)][0];
    weight[c][1] = sign * kWeights[size_t(c)][1];
    bias[c] = sign * kBias[size_t(c)];
  }
  w.add("fc1.weight", weight);
  w.add("fc1.bias", bias);
  return w;
}

torch::Tensor images() {
  torch::Tensor x = torch::zeros({int64_t(kInputs.size()), 1, 1, 2});
  for (size_t i = 0; i < kInputs.size(); ++i) {
    x[int64_t(i)][0][0][0] = kInputs[i][0];
    x[int64_t(i)][0][0][1] = kInputs[i][1];
  }
  return x;
}

torch::Tensor labels() { return torch::tensor(kLabels, torch::kInt64); }

// Mean cross-entropy of the linear classifier, in double precision, without LibTorch.
double referenceLoss(double sign) {
  double total = 0;
  for (size_t i = 0; i < kInputs.size(); ++i) {
    double scores[7], maxScore = -1e300;
    for (int c = 0; c < 7; ++c) {
      scores[c] = sign * (kWeights[size_t(c)][0] * kInputs[i][0] + kWeights[size_t(c)][1] * kInputs[i][1] + kBias[size_t(c)]);
      maxScore = std::max(maxScore, scores[c]);
    }
    double sum = 0;
    for (double s : scores) sum += std::exp(s - maxScore);
    total += maxScore + std::log(sum) - scores[kLabels[i]];
  }
  return total / double(kInputs.size());
}

}  // namespace

class TrainingEvalTest : public QObject {
  Q_OBJECT
 private slots:
  void handMadeLinearClassifier();
  void batchSizeDoesNotMatter();
  void stackEqualsEachModel();
  void predictionsAreEachModelsTopClass();
  void evaluatesInEvalMode();
  void badDataIsRejected();
};

void TrainingEvalTest::handMadeLinearClassifier() {
  igpg::arch::Model model(igpg::arch::resolveSpec(R"({"family":"mlp","hidden":[]})", kShape).program());
  model->loadStateDict(linearWeights(1));
  const auto m = igpg::evaluateClassifier(model, images(), labels());
  QCOMPARE(m.samples, int64_t(5));
  QCOMPARE(m.top1, 0.4);
  QCOMPARE(m.top5, 0.6);
  QVERIFY2(std::fabs(m.loss - referenceLoss(1)) < 1e-6, std::to_string(m.loss).c_str());
}

void TrainingEvalTest::batchSizeDoesNotMatter() {
  igpg::arch::Model model(igpg::arch::resolveSpec(R"({"family":"mlp","hidden":[]})", kShape).program());
  model->loadStateDict(linearWeights(1));
  igpg::EvalOptions small;
  small.batchSize = 2;  // batches of 2, 2, 1
  const auto a = igpg::evaluateClassifier(model, images(), labels(), small);
  QCOMPARE(a.top1, 0.4);
  QCOMPARE(a.top5, 0.6);
  QVERIFY(std::fabs(a.loss - referenceLoss(1)) < 1e-6);
}

void TrainingEvalTest::stackEqualsEachModel() {
  const auto program = igpg::arch::resolveSpec(R"({"family":"mlp","hidden":[]})", kShape).program();
  auto stack = igpg::arch::stackFromStateDicts(program, {linearWeights(1), linearWeights(-1)});
  const auto both = igpg::evaluateClassifiers(stack, images(), labels());
  QCOMPARE(both.size(), size_t(2));
  QCOMPARE(both[0].top1, 0.4);
  QVERIFY(std::fabs(both[0].loss - referenceLoss(1)) < 1e-6);
  // Negated scores reverse the ranking: (2, 0.5) -> 2, 3, 6, 1, 5, 0, 4; (-1, -3) -> 4, 1, 0, 5, 6, 2, 3.
  QCOMPARE(both[1].top1, 0.2);  // the 3rd sample
  QCOMPARE(both[1].top5, 0.4);  // the 3rd and 5th samples
  QVERIFY(std::fabs(both[1].loss - referenceLoss(-1)) < 1e-6);
  igpg::arch::Model second(program);
  second->loadStateDict(linearWeights(-1));
  const auto alone = igpg::evaluateClassifier(second, images(), labels());
  QCOMPARE(alone.top5, both[1].top5);
  QVERIFY(std::fabs(alone.loss - both[1].loss) < 1e-6);
}

void TrainingEvalTest::predictionsAreEachModelsTopClass() {
  const auto program = igpg::arch::resolveSpec(R"({"family":"mlp","hidden":[]})", kShape).program();
  auto stack = igpg::arch::stackFromStateDicts(program, {linearWeights(1), linearWeights(-1)});
  igpg::EvalOptions options;
  options.batchSize = 2;  // predictions of batches 2, 2, 1 joined in order
  QVERIFY(!igpg::evaluateClassifiers(stack, images(), labels(), options)[0].predictions.defined());
  options.keepPredictions = true;
  const auto both = igpg::evaluateClassifiers(stack, images(), labels(), options);
  // The top classes of the rankings above: 4 for (2, 0.5) and 3 for (-1, -3); negated, 2 and 4.
  QCOMPARE(both[0].predictions.dtype(), torch::kInt64);
  QVERIFY(torch::equal(both[0].predictions, torch::tensor({4, 4, 4, 3, 3}, torch::kInt64)));
  QVERIFY(torch::equal(both[1].predictions, torch::tensor({2, 2, 2, 4, 4}, torch::kInt64)));
}

void TrainingEvalTest::evaluatesInEvalMode() {
  const igpg::arch::DataShape shape{1, 28, 28, 10};
  igpg::arch::Model model(igpg::arch::resolveSpec("vgg4_bn", shape).program());
  auto weights = model->stateDict();
  weights.set("features.1.running_mean", torch::full({16}, 3.0));
  weights.set("features.1.running_var", torch::full({16}, 0.25));
  model->loadStateDict(weights);
  const auto x = torch::randn({40, 1, 28, 28}, torch::Generator(at::detail::createCPUGenerator(3)));
  const auto y = torch::randint(10, {40}, torch::Generator(at::detail::createCPUGenerator(4)));
  model->train();
  const auto m = igpg::evaluateClassifier(model, x, y);
  QVERIFY(model->is_training());  // restored
  torch::Tensor evalLogits, trainLogits;
  {
    torch::NoGradGuard noGrad;
    model->eval();
    evalLogits = model->forward(x);
    model->train();
    trainLogits = model->forward(x);
  }
  const double evalLoss = torch::nn::functional::cross_entropy(evalLogits, y).item<double>();
  const double trainLoss = torch::nn::functional::cross_entropy(trainLogits, y).item<double>();
  QVERIFY(std::fabs(evalLoss - trainLoss) > 1e-3);  // the running statistics matter here
  QVERIFY(std::fabs(m.loss - evalLoss) < 1e-5);
  QCOMPARE(m.top1, evalLogits.argmax(1).eq(y).to(torch::kFloat64).mean().item<double>());
}

void TrainingEvalTest::badDataIsRejected() {
  igpg::arch::Model model(igpg::arch::resolveSpec(R"({"family":"mlp","hidden":[]})", kShape).program());
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::evaluateClassifier(model, images(), labels() + 7));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::evaluateClassifier(model, images(), labels().narrow(0, 0, 3)));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::evaluateClassifier(model, images().squeeze(1), labels()));
  igpg::EvalOptions none;
  none.batchSize = 0;
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::evaluateClassifier(model, images(), labels(), none));
}

IGPG_TEST_MAIN(TrainingEvalTest)
#include "test_training_eval.moc"
