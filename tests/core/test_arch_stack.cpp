// A stack of G models computes what G single models compute: the same initial weights
// for the same seeds, the same logits, running statistics and gradients, for every family.
#include "igpg_test.h"

#include "arch/model.h"
#include "arch/spec.h"
#include "common/error.h"

#include <torch/torch.h>

using igpg::arch::DataShape;
using igpg::arch::Model;
using igpg::arch::ModelStack;

namespace {

const std::vector<std::string> kSpecs = {
    "tinycnn",
    R"({"family":"mlp","hidden":[32,16],"activation":"gelu"})",
    R"({"family":"mlp","hidden":[24],"activation":"tanh"})",
    "resnet20",
    "vgg4_bn",
    R"({"family":"vgg","layers":[8,"M",16,"M"],"batch_norm":false,"classifier":[12]})",
    "mobilenetv2_x0_5",
};
const DataShape kData{1, 28, 28, 10};
const std::vector<uint64_t> kSeeds = {11, 12, 13};

torch::Tensor inputs(int64_t models, int64_t n, uint64_t seed) {
  return torch::randn({models, n, kData.channels, kData.height, kData.width},
                      torch::Generator(at::detail::createCPUGenerator(seed)));
}

double maxDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

struct Pair {
  ModelStack stack{nullptr};
  std::vector<Model> singles;
};

Pair makePair(const igpg::arch::Program& program) {
  Pair p;
  p.stack = ModelStack(program, int64_t(kSeeds.size()));
  p.stack->initialize(kSeeds);
  for (uint64_t seed : kSeeds) {
    Model m(program);
    m->initialize(seed);
    p.singles.push_back(m);
  }
  return p;
}

}  // namespace

class ArchStackTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void stackInitEqualsSingleInit();
  void stackedForwardEqualsSingleForEveryFamily();
  void stackedTrainingStepEqualsSingleExactly();
  void handBuiltProgramStacks();
  void stateDictsRoundTrip();
  void batchNormWithoutMomentumAveragesEveryBatch();
  void badInputsAreRejected();
};

void ArchStackTest::stackInitEqualsSingleInit() {
  const auto program = igpg::arch::resolveSpec("resnet20", kData).program();
  Pair p = makePair(program);
  for (size_t g = 0; g < kSeeds.size(); ++g) {
    const auto fromStack = p.stack->stateDict(int64_t(g));
    const auto alone = p.singles[g]->stateDict();
    for (const auto& e : alone.entries()) QVERIFY2(torch::equal(fromStack.at(e.name), e.tensor), e.name.c_str());
  }
  // Different seeds give different models; PyTorch's bounds hold.
  QVERIFY(!torch::equal(p.stack->stateDict(0).at("conv1.weight"), p.stack->stateDict(1).at("conv1.weight")));
  const auto fc = p.stack->stateDict(0).at("fc.weight");
  QVERIFY(fc.abs().max().item<double>() <= 1.0 / std::sqrt(64.0));
  QVERIFY(fc.abs().max().item<double>() > 0.9 / std::sqrt(64.0));
  QVERIFY(torch::equal(p.stack->stateDict(0).at("bn1.weight"), torch::ones({16})));
  QCOMPARE(p.stack->stateDict(0).at("bn1.num_batches_tracked").item<int64_t>(), int64_t(0));
}

void ArchStackTest::stackedForwardEqualsSingleForEveryFamily() {
  const int64_t G = int64_t(kSeeds.size()), N = 4;
  for (const auto& text : kSpecs) {
    const auto spec = igpg::arch::resolveSpec(text, kData);
    Pair p = makePair(spec.program());
    torch::NoGradGuard noGrad;
    for (bool training : {true, false}) {
      p.stack->train(training);
      const auto x = inputs(G, N, training ? 1 : 2);
      const auto stacked = p.stack->forward(x);  // (G, N, K)
      QCOMPARE(stacked.sizes().vec(), (std::vector<int64_t>{G, N, 10}));
      for (int64_t g = 0; g < G; ++g) {
        p.singles[size_t(g)]->train(training);
        const double d = maxDiff(stacked[g], p.singles[size_t(g)]->forward(x[g]));
        QVERIFY2(d < 1e-5, (spec.name() + " logits differ by " + std::to_string(d)).c_str());
      }
    }
  }
}

// In float64, where rounding cannot hide a mistake: training-mode batch norm statistics
// and every gradient of the summed loss equal those of each model alone. Smaller images
// and a narrower MobileNet keep float64 fast.
void ArchStackTest::stackedTrainingStepEqualsSingleExactly() {
  const int64_t G = int64_t(kSeeds.size()), N = 4;
  std::vector<std::string> specs = kSpecs;
  specs.back() = R"({"family":"mobilenetv2","width_multiplier":0.25,"final_layer_channels":64})";
  const DataShape data{1, 20, 20, 10};
  for (const auto& text : specs) {
    const auto spec = igpg::arch::resolveSpec(text, data);
    Pair p = makePair(spec.program());
    p.stack->to(torch::kFloat64);
    for (auto& m : p.singles) m->to(torch::kFloat64);
    const auto x = torch::randn({G, N, 1, 20, 20}, torch::Generator(at::detail::createCPUGenerator(3))).to(torch::kFloat64);
    const auto y = torch::randint(10, {G, N}, torch::Generator(at::detail::createCPUGenerator(4)));
    const auto logits = p.stack->forward(x);
    // The sum over models of each model's mean loss: each model's gradient is its own.
    (torch::nn::functional::cross_entropy(logits.reshape({G * N, 10}), y.reshape({G * N}),
                                          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
     double(N))
        .backward();
    const auto stacked = p.stack->tensors();
    for (int64_t g = 0; g < G; ++g) {
      auto& single = p.singles[size_t(g)];
      torch::nn::functional::cross_entropy(single->forward(x[g]), y[g]).backward();
      const auto alone = single->tensors();
      for (size_t i = 0; i < alone.size(); ++i) {
        const std::string name = spec.name() + " " + spec.program().layout()[i].name;
        const double scale = alone[i].abs().max().item<double>();
        QVERIFY2(maxDiff(stacked[i][g], alone[i]) <= 1e-12 * scale + 1e-15, (name + " after the step").c_str());
        if (!spec.program().layout()[i].trainable()) continue;
        const auto& a = stacked[i].grad()[g];
        const auto& b = alone[i].grad();
        // Gradients that are zero in exact arithmetic (a bias followed by a batch norm)
        // are rounding noise: hence the absolute floor.
        const double gradScale = b.abs().max().item<double>();
        QVERIFY2(maxDiff(a, b) <= 1e-9 * gradScale + 1e-13, (name + " gradient differs by " + std::to_string(maxDiff(a, b)) +
                                                     " at scale " + std::to_string(gradScale)).c_str());
      }
    }
  }
}

// The IR beyond the families: average pooling, a residual around a pool-free branch,
// grouped convolutions, GELU.
void ArchStackTest::handBuiltProgramStacks() {
  igpg::arch::ProgramBuilder b({2, 12, 12}, "test");
  b.conv("stem", 8, 3, 1, 1);
  b.pool(igpg::arch::OpKind::AvgPool2d, 2, 2, "pool");
  b.copy("x", "skip");
  b.conv("branch.0", 8, 3, 1, 1, 4, false);  // 4 groups
  b.batchNorm("branch.1");
  b.activation(igpg::arch::OpKind::Gelu);
  b.add("skip", "x");
  b.adaptiveAvgPool(2);
  b.flatten();
  b.linear("head", 3);
  const auto program = b.finish(3);
  QCOMPARE(program.parameterCount(), int64_t(8 * 2 * 9 + 8 + 8 * 2 * 9 + 2 * 8 + 32 * 3 + 3));
  const int64_t G = 3, N = 5;
  Pair p = makePair(program);
  p.stack->to(torch::kFloat64);
  const auto x = torch::randn({G, N, 2, 12, 12}, torch::kFloat64);
  const auto y = p.stack->forward(x);
  QCOMPARE(y.sizes().vec(), (std::vector<int64_t>{G, N, 3}));
  for (int64_t g = 0; g < G; ++g) {
    p.singles[size_t(g)]->to(torch::kFloat64);
    QVERIFY(maxDiff(y[g], p.singles[size_t(g)]->forward(x[g])) < 1e-12);
  }
  igpg::arch::ProgramBuilder wrong({1, 4, 4}, "test");
  wrong.flatten();
  wrong.linear("fc", 3);
  QVERIFY_THROWS_EXCEPTION(igpg::Error, wrong.finish(4));  // the output is 3 logits, not 4
}

// The calibration pass after decoding relies on it: with no momentum the running
// statistics are the plain average of the batches' statistics, whatever they were reset to.
void ArchStackTest::batchNormWithoutMomentumAveragesEveryBatch() {
  igpg::arch::ProgramBuilder b({2, 4, 4}, "test");
  b.batchNorm("bn");
  b.flatten();
  b.linear("head", 3);
  Model model(b.finish(3));
  model->to(torch::kFloat64);
  model->setBatchNormMomentum(std::nullopt);
  model->train();
  std::vector<torch::Tensor> batches;
  for (int i = 0; i < 3; ++i) batches.push_back(torch::randn({6, 2, 4, 4}, torch::kFloat64) * (i + 1) + 3 * i);
  {
    torch::NoGradGuard noGrad;
    for (const auto& x : batches) model->forward(x);
  }
  auto means = torch::zeros({2}, torch::kFloat64), vars = torch::zeros({2}, torch::kFloat64);
  for (const auto& x : batches) {
    means += x.mean({0, 2, 3}) / 3;
    vars += x.transpose(0, 1).reshape({2, -1}).var(1, /*unbiased=*/true) / 3;
  }
  const auto state = model->stateDict();
  QVERIFY(maxDiff(state.at("bn.running_mean"), means) < 1e-12);
  QVERIFY(maxDiff(state.at("bn.running_var"), vars) < 1e-12);
  QCOMPARE(state.at("bn.num_batches_tracked").item<int64_t>(), int64_t(3));
}

void ArchStackTest::stateDictsRoundTrip() {
  const auto program = igpg::arch::resolveSpec("vgg4_bn", kData).program();
  Pair p = makePair(program);
  {
    torch::NoGradGuard noGrad;
    p.stack->forward(inputs(3, 4, 5));  // moves the running statistics away from their init
  }
  const auto dicts = p.stack->stateDicts();
  QCOMPARE(dicts.size(), kSeeds.size());
  QVERIFY(dicts[1].at("features.1.num_batches_tracked").scalar_type() == torch::kInt64);
  QVERIFY(dicts[1].at("features.1.num_batches_tracked").sizes().empty());
  QCOMPARE(dicts[1].at("features.1.num_batches_tracked").item<int64_t>(), int64_t(1));
  QVERIFY(dicts[1].at("features.1.running_mean").abs().sum().item<double>() > 0);
  auto rebuilt = igpg::arch::stackFromStateDicts(program, dicts);
  for (size_t g = 0; g < dicts.size(); ++g) {
    const auto again = rebuilt->stateDict(int64_t(g));
    for (const auto& e : dicts[g].entries()) QVERIFY(torch::equal(again.at(e.name), e.tensor));
    // Each exported model is a single model.
    Model m(program);
    m->loadStateDict(dicts[g]);
    for (const auto& e : dicts[g].entries()) QVERIFY(torch::equal(m->stateDict().at(e.name), e.tensor));
  }
  // Exports are copies: later training does not change a saved checkpoint.
  {
    torch::NoGradGuard noGrad;
    p.stack->trainableTensors()[0].add_(1);
  }
  QVERIFY(torch::equal(dicts[0].at("features.0.weight"), p.singles[0]->stateDict().at("features.0.weight")));
}

void ArchStackTest::badInputsAreRejected() {
  const auto program = igpg::arch::resolveSpec("tinycnn", kData).program();
  ModelStack stack(program, 2);
  Model model(program);
  QVERIFY_THROWS_EXCEPTION(igpg::Error, stack->forward(torch::zeros({3, 4, 1, 28, 28})));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, stack->forward(torch::zeros({2, 4, 3, 28, 28})));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, model->forward(torch::zeros({4, 1, 32, 32})));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, model->forward(torch::zeros({4, 1, 28, 28}, torch::kFloat64)));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, ModelStack(program, 0));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, stack->initialize({1, 2, 3}));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::arch::stackFromStateDicts(program, {model->stateDict(), igpg::StateDict()}));
}

// Thousands of tiny ops: with the suite's OMP_NUM_THREADS=2 and OpenMP's default
// spin-waiting, a busy 2-core machine made this 30x slower. Results do not depend on it.
void ArchStackTest::initTestCase() { torch::set_num_threads(1); }

IGPG_TEST_MAIN(ArchStackTest)
#include "test_arch_stack.moc"
