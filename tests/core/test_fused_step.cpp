// The fused decoding step's kernels (core/prior/fused_step_kernels.cu) against LibTorch's
// step of the same prior, one step at a time: the token drawn, the next logits, the
// key/value cache and the counters. Where the build has no CUDA kernels (the CI machines)
// the kernels run on the CPU through tests/support/cuda_host_emulation.h; in a build with
// them, on the GPU.
#include "igpg_test.h"

#include "prior/fused_step.h"
#include "prior/sampler.h"
#include "prior/structure.h"

#include <torch/torch.h>

namespace {

igpg::GPTOptions options() {
  igpg::GPTOptions o;
  o.vocabSize = 40;
  o.contextLength = 140;  // with the 2 prefix positions, a cache of 142: two attention splits of 128
  o.layers = 2;
  o.heads = 2;            // heads of 16 values
  o.width = 32;
  o.datasetDim = 6;
  o.structureDim = igpg::kStructureFeatures;
  o.tokensPerChunk = 4;
  return o;
}

igpg::TokenStructure randomStructure(const igpg::GPTOptions& o, int64_t batch, int64_t n, torch::Device device) {
  auto i = torch::TensorOptions().dtype(torch::kInt64).device(device);
  return {torch::randn({batch, n, o.structureDim}, torch::TensorOptions().device(device)),
          torch::randint(o.numRoles, {batch, n}, i), torch::randint(o.tokensPerChunk, {batch, n}, i)};
}

// The sampler's buffers after GPT::start over `context` random tokens, ready for `steps` steps.
igpg::DecodeBuffers startedBuffers(igpg::GPT& gpt, const torch::Tensor& prefix, int64_t context, int64_t steps,
                                   torch::Device device) {
  const auto& o = gpt->options();
  const int64_t B = prefix.size(0), P = prefix.size(1);
  auto f = prefix.options();
  auto b = igpg::newDecodeBuffers(gpt, B, context + steps, P, f);
  b.counters.copy_(torch::tensor({context, int64_t(0)}));
  auto tokens = torch::randint(o.vocabSize, {B, context}, f.dtype(torch::kInt64));
  b.tokens.narrow(1, 0, context).copy_(tokens);
  b.logits.copy_(
      gpt->start(b.cache, prefix, context > 0 ? tokens : torch::Tensor(), randomStructure(o, B, context + 1, device)));
  b.inputs.narrow(1, 0, steps).copy_(gpt->stepInputs(randomStructure(o, B, steps, device), P + context));
  auto generator = at::globalContext().defaultGenerator(device).clone();
  generator.set_current_seed(17);
  b.gumbel.narrow(0, 0, steps).copy_(igpg::gumbelNoise(steps, B, o.vocabSize, generator));
  return b;
}

igpg::DecodeBuffers copyOf(const igpg::DecodeBuffers& b) {
  igpg::DecodeBuffers c = b;
  for (torch::Tensor* t : {&c.tokens, &c.logits, &c.gumbel, &c.inputs, &c.counters, &c.cache.length, &c.cache.bias})
    *t = t->clone();
  for (auto* list : {&c.cache.keys, &c.cache.values})
    for (auto& t : *list) t = t.clone();
  return c;
}

void fusedStep(igpg::FusedStepPlan& plan, igpg::DecodeBuffers& b) {
  const auto io = plan.prepare(b);
  const char* error = igpg::fused::decodeStep(plan.shapes, io, plan.layers.data(), int(plan.layers.size()),
                                              plan.inverseTemperature(), plan.greedy(), nullptr);
  if (error) throw std::runtime_error(error);
  b.cache.filled += 1;
}

std::string describe(const torch::Tensor& a, const torch::Tensor& b) {
  return "largest difference " + std::to_string((a - b).abs().max().item<double>());
}

}  // namespace

class FusedStepTest : public QObject {
  Q_OBJECT
 private slots:
  void kernelsStepLikeLibTorch();
  void refusesWhatTheyCannotRun();
};

void FusedStepTest::kernelsStepLikeLibTorch() {
#ifdef IGPG_FUSED_KERNELS_ON_HOST
  const torch::Device device(torch::kCPU);
#else
  if (!torch::cuda::is_available()) QSKIP("the kernels of this build run on a GPU, and there is none");
  const torch::Device device(torch::kCUDA);
#endif
  torch::NoGradGuard noGrad;
  torch::manual_seed(5);
  igpg::GPT gpt(options());
  for (auto& p : gpt->parameters()) p.normal_(0.0, 0.3);  // wide weights: tokens vary with the input
  gpt->to(device);
  gpt->eval();
  const int64_t B = 3, steps = 3;
  auto prefix = gpt->conditionPrefix({}, torch::randn({B, 6}).to(device), B);  // (B, 2, C)

  struct Case {
    double temperature;
    int64_t topK;
    int64_t context;  // 126: the steps write positions 128-130, the second attention split
  };
  int64_t distinct = 0;
  for (const Case& c : {Case{0.0, 0, 0}, Case{0.7, 0, 126}, Case{1.0, 5, 3}}) {
    igpg::SamplingOptions s;
    s.temperature = c.temperature;
    s.topK = c.topK;
    auto reference = startedBuffers(gpt, prefix, c.context, steps, device);
    auto fused = copyOf(reference);
    std::string why;
    auto plan = igpg::planFusedStep(gpt, fused, s, &why);
    QVERIFY2(plan.has_value(), why.c_str());
    QCOMPARE(plan->filtered, c.topK > 0);
    for (int64_t i = 0; i < steps; ++i) {
      const std::string at = "context " + std::to_string(c.context) + ", step " + std::to_string(i) + ": ";
      igpg::decodeStepOnLibTorch(gpt, reference, s);
      fusedStep(*plan, fused);
      QVERIFY2(torch::equal(fused.tokens.cpu(), reference.tokens.cpu()), (at + "different tokens").c_str());
      QVERIFY2(torch::allclose(fused.logits, reference.logits, 1e-4, 1e-4),
               (at + "logits, " + describe(fused.logits, reference.logits)).c_str());
      QVERIFY(torch::equal(fused.counters.cpu(), reference.counters.cpu()));
      QVERIFY(torch::equal(fused.cache.length.cpu(), reference.cache.length.cpu()));
      QCOMPARE(fused.cache.filled, reference.cache.filled);
      for (size_t l = 0; l < fused.cache.keys.size(); ++l) {
        QVERIFY2(torch::allclose(fused.cache.keys[l], reference.cache.keys[l], 1e-4, 1e-4),
                 (at + "keys, " + describe(fused.cache.keys[l], reference.cache.keys[l])).c_str());
        QVERIFY2(torch::allclose(fused.cache.values[l], reference.cache.values[l], 1e-4, 1e-4),
                 (at + "values, " + describe(fused.cache.values[l], reference.cache.values[l])).c_str());
      }
    }
    distinct += std::get<0>(at::_unique(reference.tokens.narrow(1, c.context, steps))).numel();
  }
  QVERIFY(distinct > 4);  // the tokens vary: a step that ignored its input would be caught
}

void FusedStepTest::refusesWhatTheyCannotRun() {
  torch::NoGradGuard noGrad;
  torch::manual_seed(5);
  auto o = options();
  igpg::GPT gpt(o);
  auto prefix = gpt->conditionPrefix({}, torch::randn({1, 6}), 1);
  igpg::SamplingOptions s;
  std::string why;
  auto b = startedBuffers(gpt, prefix, 0, 1, torch::kCPU);
  QVERIFY(igpg::planFusedStep(gpt, b, s, &why).has_value());
  QVERIFY(!igpg::FusedDecodeStep::create(gpt, b, s, &why));  // the CPU is never the kernels' device
  QVERIFY(!why.empty());
  gpt->to(torch::kFloat64);
  auto wide = startedBuffers(gpt, prefix.to(torch::kFloat64), 0, 1, torch::kCPU);
  QVERIFY(!igpg::planFusedStep(gpt, wide, s, &why));
  QVERIFY2(why.find("float32") != std::string::npos, why.c_str());
  o.heads = 4;  // heads of 8 values are fine, of 6 are not
  o.width = 24;
  igpg::GPT odd(o);
  auto oddPrefix = odd->conditionPrefix({}, torch::randn({1, 6}), 1);
  auto oddBuffers = startedBuffers(odd, oddPrefix, 0, 1, torch::kCPU);
  QVERIFY(!igpg::planFusedStep(odd, oddBuffers, s, &why));
  QVERIFY2(why.find("heads of 6") != std::string::npos, why.c_str());
}

IGPG_TEST_MAIN(FusedStepTest)
#include "test_fused_step.moc"
