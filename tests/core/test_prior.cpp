// The autoregressive prior: KV-cached sampling, Algorithm 1's block schedule, sampling
// filters, conditioning encoders (built-in and TorchScript drop-ins), training that
// really conditions, checkpoints and resume.
#include "igpg_test.h"
#include "test_util.h"

#include "common/error.h"
#include "prior/conditioning.h"
#include "prior/fused_step.h"
#include "prior/fused_step_kernels.h"
#include "prior/prior_training.h"
#include "prior/sampler.h"
#include "prior/structure.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <random>

namespace {

igpg::WeightLayout smallLayout(int64_t hidden) {
  return igpg::WeightLayout::fromShapes({{"fc1.weight", {hidden, 8}}, {"fc1.bias", {hidden}},
                                         {"fc2.weight", {3, hidden}}, {"fc2.bias", {3}}});
}

igpg::TokenStructure structureFor(const igpg::WeightLayout& layout, int64_t chunk, int64_t tokensPerChunk) {
  igpg::ChunkPlan plan(layout, igpg::Vectorization::ArchitectureWise, chunk);
  return igpg::tokenStructure(plan, tokensPerChunk, layout.numLayers);
}

igpg::GPTOptions tinyOptions() {
  igpg::GPTOptions o;
  o.vocabSize = 16;
  o.contextLength = 24;
  o.layers = 2;
  o.heads = 2;
  o.width = 32;
  o.datasetDim = 6;
  o.structureDim = igpg::kStructureFeatures;
  o.tokensPerChunk = 4;
  return o;
}

}  // namespace

class PriorTest : public QObject {
  Q_OBJECT
 private slots:
  void blockScheduleStitchesWithoutGapsOrOverlaps();
  void cachedSamplingEqualsUncached();
  void streamsGenerateEachPartFromItsOwnStart();
  void samplingFilters();
  void fusedStepSamplesWhatLibTorchSamples();
  void gumbelDrawsFollowTheSoftmax();
  void systematicDrawsCoverTheDistribution();
  void samplesOfOneRequestCoverThePriorsBranches();
  void builtinTextEncoderIsSmoothInNumbers();
  void datasetEmbeddingSeesLabelsAndClasses();
  void torchScriptEncodersDropIn();
  void trainedPriorConditionsAndRegenerates();
  void resumeContinuesExactly();
};

void PriorTest::blockScheduleStitchesWithoutGapsOrOverlaps() {
  for (int64_t length : {1, 5, 24, 25, 100, 97 * 4 + 3}) {
    for (int64_t overlap : {0, 1, 12, 23}) {
      auto blocks = igpg::blockSchedule(length, 24, overlap);
      QCOMPARE(blocks.front().begin, int64_t(0));
      QCOMPARE(blocks.front().contextBegin, int64_t(0));
      QCOMPARE(blocks.back().end, length);
      for (size_t i = 0; i < blocks.size(); ++i) {
        QVERIFY(blocks[i].end > blocks[i].begin);
        QVERIFY(blocks[i].end - blocks[i].contextBegin <= 24);  // a block fits the context
        if (i > 0) {
          QCOMPARE(blocks[i].begin, blocks[i - 1].end);  // no gap, no overlap of generated tokens
          QCOMPARE(blocks[i].begin - blocks[i].contextBegin, overlap);
        }
      }
    }
  }
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::blockSchedule(100, 24, 24));
}

void PriorTest::cachedSamplingEqualsUncached() {
  torch::manual_seed(3);
  igpg::GPT gpt(tinyOptions());
  gpt->to(torch::kFloat64);  // float64 so that both paths round identically
  auto layout = smallLayout(10);                  // 80 + 10 + 30 + 3 = 123 values
  auto structure = structureFor(layout, 8, 4);   // 16 chunks x 4 = 64 tokens: 4+ blocks of 24
  const int64_t length = structure.roles.size(1);
  QVERIFY(length > 2 * 24);
  auto prefix = gpt->conditionPrefix({}, torch::randn({6}, torch::kFloat64), 3);
  for (int64_t overlap : {8, 12}) {
    igpg::SamplingOptions o;
    o.seed = 11;
    o.temperature = 1.0;
    o.topK = 8;
    o.contextOverlap = overlap;
    auto cached = igpg::sampleSequence(gpt, prefix, structure, length, o);
    o.useCache = false;
    auto uncached = igpg::sampleSequence(gpt, prefix, structure, length, o);
    QVERIFY(torch::equal(cached.tokens, uncached.tokens));
    QCOMPARE(cached.tokens.size(0), int64_t(3));
    QCOMPARE(cached.tokens.size(1), length);
    QVERIFY(cached.blocks.size() >= 3);
  }
}

void PriorTest::streamsGenerateEachPartFromItsOwnStart() {
  // Greedy in float64: with two streams, each half of the sequence is exactly what one
  // stream generates from the half's start with no tokens before it, for each sample.
  torch::manual_seed(4);
  igpg::GPT gpt(tinyOptions());
  gpt->to(torch::kFloat64);
  {
    // Wide weights: at the usual initialization greedy decoding repeats one token whatever
    // the input, and the comparisons below could not fail.
    torch::NoGradGuard noGrad;
    for (auto& p : gpt->parameters()) p.normal_(0.0, 0.5);
  }
  auto structure = structureFor(smallLayout(10), 8, 4);  // 64 tokens, chunks of 4
  const int64_t length = structure.roles.size(1);
  auto prefix = gpt->conditionPrefix({}, torch::randn({2, 6}, torch::kFloat64), 2);  // two different samples
  igpg::SamplingOptions o;
  o.temperature = 0;
  o.streams = 2;
  auto parallel = igpg::sampleSequence(gpt, prefix, structure, length, o);
  QCOMPARE(parallel.tokens.sizes().vec(), (std::vector<int64_t>{2, length}));
  QVERIFY(std::get<0>(at::_unique(parallel.tokens)).numel() > 2);  // the comparison below can fail
  QVERIFY(!torch::equal(parallel.tokens[0], parallel.tokens[1]));
  // Each stream's 32 tokens exceed the context of 24: every stream runs Algorithm 1's blocks.
  QCOMPARE(parallel.blocks.size(), size_t(4));
  QCOMPARE(parallel.blocks[2].begin, int64_t(32));
  QCOMPARE(parallel.blocks[2].contextBegin, int64_t(32));
  QCOMPARE(parallel.blocks.back().end, length);
  o.streams = 1;
  for (int64_t begin : {0, 32}) {
    auto alone = igpg::sampleSequence(gpt, prefix, igpg::sliceStructure(structure, begin, 32), 32, o);
    QVERIFY(torch::equal(parallel.tokens.narrow(1, begin, 32), alone.tokens));
  }
  // A part that does not fill its stream: three streams of 24 tokens, the last one 16.
  o.streams = 3;
  auto three = igpg::sampleSequence(gpt, prefix, structure, length, o);
  QCOMPARE(three.tokens.size(1), length);
  o.streams = 1;
  auto last = igpg::sampleSequence(gpt, prefix, igpg::sliceStructure(structure, 48, 16), 16, o);
  QVERIFY(torch::equal(three.tokens.narrow(1, 48, 16), last.tokens));
  // Parts are never shorter than the context: 24 tokens with 4 streams are one stream.
  o.streams = 4;
  auto window = igpg::sampleSequence(gpt, prefix, igpg::sliceStructure(structure, 0, 24), 24, o);
  QCOMPARE(window.blocks.size(), size_t(1));
  QVERIFY(torch::equal(window.tokens, parallel.tokens.narrow(1, 0, 24)));
  o.streams = 0;
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::sampleSequence(gpt, prefix, structure, length, o));
}

void PriorTest::samplingFilters() {
  auto gen = at::detail::createCPUGenerator(0);
  auto noise = [&] { return igpg::gumbelNoise(1, 2, 4, gen)[0]; };
  auto logits = torch::tensor({{0.1, 3.0, 0.5, 2.9}, {5.0, 0.0, 0.0, 0.0}});
  igpg::SamplingOptions o;
  o.topK = 1;
  for (int i = 0; i < 20; ++i) QVERIFY(torch::equal(igpg::sampleNext(logits, o, noise()), torch::tensor({1, 0})));
  o.topK = 0;
  o.topP = 0.01;
  for (int i = 0; i < 20; ++i) QVERIFY(torch::equal(igpg::sampleNext(logits, o, noise()), torch::tensor({1, 0})));
  o.topP = 1.0;
  o.temperature = 0;
  QVERIFY(torch::equal(igpg::sampleNext(logits, o, noise()), torch::tensor({1, 0})));
  // top-k = 2 never draws outside the two best.
  o.temperature = 5.0;
  o.topK = 2;
  for (int i = 0; i < 50; ++i) {
    auto t = igpg::sampleNext(logits, o, noise());
    QVERIFY(t[0].item<int64_t>() == 1 || t[0].item<int64_t>() == 3);
  }
}

void PriorTest::fusedStepSamplesWhatLibTorchSamples() {
  // The fused CUDA kernels (fused_step.h) replace the whole decoding step, sampling
  // included: with the same noise they must draw the same tokens as LibTorch's kernels,
  // through Algorithm 1's blocks, with and without top-k, recorded as a graph or not.
  torch::manual_seed(6);
  auto o = tinyOptions();
  o.width = 64;  // 4 heads of 16
  o.heads = 4;
  o.vocabSize = 40;
  igpg::GPT gpt(o);
  {
    torch::NoGradGuard noGrad;  // wide weights, so that the tokens vary (see above)
    for (auto& p : gpt->parameters()) p.normal_(0.0, 0.3);
  }
  auto structure = structureFor(smallLayout(10), 8, 4);  // 64 tokens: Algorithm 1's blocks
  const int64_t length = structure.roles.size(1);
  auto prefixFor = [&](int64_t batch, torch::Device device) {
    torch::manual_seed(7);
    return gpt->conditionPrefix({}, torch::randn({batch, 6}).to(device), batch);
  };
  auto buffersFor = [&](int64_t batch, torch::Device device) {
    return igpg::newDecodeBuffers(gpt, batch, length, 2, torch::TensorOptions().device(device));
  };
  igpg::SamplingOptions options;
  std::string why;
  QVERIFY(!igpg::FusedDecodeStep::create(gpt, buffersFor(3, torch::kCPU), options, &why));
  QVERIFY(!why.empty());
  if (!igpg::FusedDecodeStep::available() || !torch::cuda::is_available())
    QSKIP("needs a build with the CUDA kernels and a GPU");

  const torch::Device cuda(torch::kCUDA);
  gpt->to(cuda);
  gpt->eval();
  why.clear();
  QVERIFY2(igpg::FusedDecodeStep::create(gpt, buffersFor(3, cuda), options, &why), why.c_str());
  QVERIFY(!igpg::FusedDecodeStep::create(gpt, buffersFor(igpg::fused::kMaxBatch + 1, cuda), options));
  auto onDevice = igpg::structureTo(structure, cuda);
  struct Case {
    double temperature;
    int64_t topK;
    bool graph;
  };
  for (const Case& c : {Case{0.0, 0, true}, Case{1.0, 0, true}, Case{0.7, 8, true}, Case{1.0, 0, false}}) {
    for (int64_t batch : {int64_t(1), int64_t(3)}) {
      auto prefix = prefixFor(batch, cuda);
      igpg::SamplingOptions s;
      s.seed = 12;
      s.temperature = c.temperature;
      s.topK = c.topK;
      s.cudaGraph = c.graph;
      s.fusedStep = true;
      auto fused = igpg::sampleSequence(gpt, prefix, onDevice, length, s);
      s.fusedStep = false;
      auto reference = igpg::sampleSequence(gpt, prefix, onDevice, length, s);
      QVERIFY(std::get<0>(at::_unique(reference.tokens)).numel() > 4);  // the comparison can fail
      const auto same = fused.tokens.eq(reference.tokens).sum().item<int64_t>();
      QVERIFY2(same == reference.tokens.numel(),
               ("temperature " + std::to_string(c.temperature) + ", top-k " + std::to_string(c.topK) + ", batch " +
                std::to_string(batch) + ": " + std::to_string(same) + " of " +
                std::to_string(reference.tokens.numel()) + " tokens agree")
                   .c_str());
    }
  }
}

void PriorTest::gumbelDrawsFollowTheSoftmax() {
  // Probabilities 0.1, 0.2, 0.3, 0.4 at temperature 0.5 (logits halved back): 20,000 draws
  // put each within 0.012 of it (over 4 standard errors).
  auto gen = at::detail::createCPUGenerator(5);
  const int64_t draws = 20000;
  auto logits = (0.5 * torch::log(torch::tensor({0.1, 0.2, 0.3, 0.4}))).expand({draws, 4});
  igpg::SamplingOptions o;
  o.temperature = 0.5;
  auto tokens = igpg::sampleNext(logits, o, igpg::gumbelNoise(1, draws, 4, gen)[0]);
  auto frequency = torch::bincount(tokens, {}, 4).to(torch::kFloat64) / double(draws);
  QVERIFY2(torch::allclose(frequency, torch::tensor({0.1, 0.2, 0.3, 0.4}, torch::kFloat64), 0, 0.012),
           torch::str(frequency).c_str());
}

void PriorTest::systematicDrawsCoverTheDistribution() {
  auto probs = torch::tensor({0.5, 0.3, 0.0, 0.2}, torch::kFloat64);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    std::mt19937_64 rng(seed);
    auto draws = igpg::systematicDraws(probs, 10, rng);
    auto counts = torch::bincount(torch::tensor(draws), {}, 4);
    QVERIFY2(torch::equal(counts, torch::tensor({5, 3, 0, 2})), torch::str(counts).c_str());
  }
  // 7 draws from 0.45 / 0.35 / 0.2: 3.15, 2.45 and 1.4 expected, each count one of the two
  // integers around it.
  auto uneven = torch::tensor({0.45, 0.35, 0.2}, torch::kFloat64);
  for (uint64_t seed = 0; seed < 50; ++seed) {
    std::mt19937_64 rng(seed);
    auto counts = torch::bincount(torch::tensor(igpg::systematicDraws(uneven, 7, rng)), {}, 3);
    QVERIFY2(counts[0].item<int64_t>() >= 3 && counts[0].item<int64_t>() <= 4 && counts[1].item<int64_t>() >= 2 &&
                 counts[1].item<int64_t>() <= 3 && counts[2].item<int64_t>() >= 1 && counts[2].item<int64_t>() <= 2,
             torch::str(counts).c_str());
  }
  // Each draw alone follows the distribution: the first of 3 over 20,000 seeds, within
  // 0.012 (over 4 standard errors).
  std::mt19937_64 rng(1);
  std::vector<int64_t> first;
  for (int i = 0; i < 20000; ++i) first.push_back(igpg::systematicDraws(uneven, 3, rng).front());
  auto frequency = torch::bincount(torch::tensor(first), {}, 3).to(torch::kFloat64) / 20000.0;
  QVERIFY2(torch::allclose(frequency, uneven, 0, 0.012), torch::str(frequency).c_str());
}

void PriorTest::samplesOfOneRequestCoverThePriorsBranches() {
  // Twelve samples of one conditioning draw their first token together, at branch
  // temperature 1: a token the prior gives probability p starts floor(12 p) or ceil(12 p)
  // of them, though each sample's later tokens are drawn at 0.5. Independent draws miss
  // that on this distribution for nearly every seed.
  torch::manual_seed(8);
  igpg::GPT gpt(tinyOptions());
  gpt->to(torch::kFloat64);
  {
    torch::NoGradGuard noGrad;  // wide weights: a first-token distribution far from uniform
    for (auto& p : gpt->parameters()) p.normal_(0.0, 0.5);
  }
  gpt->eval();
  auto structure = structureFor(smallLayout(10), 8, 4);
  const int64_t rows = 12, length = 8;
  auto prefix = gpt->conditionPrefix({}, torch::randn({6}, torch::kFloat64), rows);
  auto firstToken = igpg::sliceStructure(structure, 0, 1);
  torch::Tensor logits;
  {
    torch::NoGradGuard noGrad;
    logits = gpt->forward(prefix.narrow(0, 0, 1), torch::zeros({1, 1}, torch::kInt64), firstToken)[0][0];  // (V)
  }
  const auto probs = torch::softmax(logits, -1), tempered = torch::softmax(logits / 0.5, -1);
  QVERIFY2((probs > 0.1).sum().item<int64_t>() >= 3, torch::str(probs).c_str());  // the counts below can miss
  // The rows must part at 0.5 (no token takes all twelve), so they part at the branch
  // temperature: drawn at 0.5, the counts would follow `tempered` and miss `probs`.
  QVERIFY(tempered.max().item<double>() * rows < rows - 1);
  QVERIFY(((tempered - probs).abs() * rows >= 2.0).any().item<bool>());
  auto firstTokenCounts = [&](const igpg::SamplingOptions& o) {
    auto tokens = igpg::sampleSequence(gpt, prefix, igpg::sliceStructure(structure, 0, length), length, o).tokens;
    return torch::bincount(tokens.select(1, 0), {}, probs.size(0)).to(torch::kFloat64);  // (V)
  };
  int64_t independentMisses = 0;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    igpg::SamplingOptions o;
    o.seed = seed;
    o.temperature = 0.5;
    o.branchTemperature = 1.0;
    for (bool stratified : {true, false}) {
      o.stratified = stratified;
      auto counts = firstTokenCounts(o);
      const bool covered = ((counts - rows * probs).abs() < 1.0).all().item<bool>();
      if (stratified)
        QVERIFY2(covered, (torch::str(counts) + " against " + torch::str(rows * probs)).c_str());
      else
        independentMisses += covered ? 0 : 1;
    }
    // A nucleus at the sampling temperature bounds which tokens may start a sample; within
    // it the branch temperature sets their odds.
    o.stratified = true;
    o.topP = 0.8;
    auto sorted = tempered.sort(-1, /*descending=*/true);
    auto keptSorted = (std::get<0>(sorted).cumsum(-1) - std::get<0>(sorted)) < o.topP;
    auto kept = torch::zeros_like(keptSorted).scatter(-1, std::get<1>(sorted), keptSorted);  // (V)
    QVERIFY(kept.sum().item<int64_t>() >= 2);
    auto nucleus = probs * kept;
    nucleus = nucleus / nucleus.sum();
    auto counts = firstTokenCounts(o);
    QVERIFY2(((counts - rows * nucleus).abs() < 1.0).all().item<bool>(),
             (torch::str(counts) + " against " + torch::str(rows * nucleus)).c_str());
    // So sure at 0.05 that one token may take all the rows: they draw at 0.05, not hotter.
    o.topP = 1.0;
    o.temperature = 0.05;
    const auto cold = torch::softmax(logits / o.temperature, -1);
    QVERIFY(cold.max().item<double>() * rows >= rows - 1);
    counts = firstTokenCounts(o);
    QVERIFY2(((counts - rows * cold).abs() < 1.0).all().item<bool>(),
             (torch::str(counts) + " against " + torch::str(rows * cold)).c_str());
  }
  QVERIFY(independentMisses >= 8);
}

void PriorTest::builtinTextEncoderIsSmoothInNumbers() {
  auto enc = igpg::makeBuiltinTextEncoder();
  auto e = [&](const std::string& blocks) { return enc->encode("resnet layers: [" + blocks + "], width: 16"); };
  auto d = [](const torch::Tensor& a, const torch::Tensor& b) { return (a - b).norm().item<double>(); };
  auto b232 = e("2, 3, 2"), b222 = e("2, 2, 2"), b333 = e("3, 3, 3"), b888 = e("8, 8, 8"), b111 = e("1, 1, 1");
  QCOMPARE(b232.numel(), enc->dim());
  QVERIFY(torch::equal(b232, e("2, 3, 2")));  // deterministic
  QVERIFY(d(b232, b222) < d(b232, b888));
  QVERIFY(d(b232, b333) < d(b232, b888));
  QVERIFY(d(b222, b333) < d(b222, b888));
  QVERIFY(d(b111, b222) < d(b111, b888));
  // The field name matters: the same numbers under another field are elsewhere.
  QVERIFY(d(b232, enc->encode("resnet depth: [2, 3, 2], width: 16")) > 0.1 * d(b232, b888));
  // Words matter too.
  QVERIFY(d(enc->encode("vgg layers: [2, 3, 2], width: 16"), b232) > 0);
}

void PriorTest::datasetEmbeddingSeesLabelsAndClasses() {
  auto enc = igpg::makeBuiltinImageEncoder();
  torch::manual_seed(0);
  auto images = torch::randn({12, 1, 28, 28});
  auto labels = torch::tensor({0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  auto a = igpg::datasetEmbedding(*enc, images, labels, 3);
  QCOMPARE(a.numel(), igpg::datasetEmbeddingDim(*enc));
  QVERIFY(torch::equal(a, igpg::datasetEmbedding(*enc, images, labels, 3)));
  // The same images with classes relabelled (a different task) embed differently...
  auto swapped = torch::tensor({1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 2, 2});
  QVERIFY(!torch::allclose(a, igpg::datasetEmbedding(*enc, images, swapped, 3)));
  // ... and so do transformed images (rot90) and other class counts.
  QVERIFY(!torch::allclose(a, igpg::datasetEmbedding(*enc, images.rot90(1, {2, 3}), labels, 3)));
  QVERIFY(!torch::allclose(a, igpg::datasetEmbedding(*enc, images, labels, 4)));
  // Other image sizes are resized, not refused.
  QCOMPARE(enc->encode(torch::randn({2, 1, 8, 8})).size(1), enc->dim());
}

void PriorTest::torchScriptEncodersDropIn() {
  igpg_test::ScratchDir dir;
  torch::jit::Module text("TextEnc");
  text.define(R"(
    def forward(self, text: str):
        v = torch.zeros(5)
        v[0] = float(len(text))
        return v
  )");
  text.save(dir.file("text.pt"));
  auto te = igpg::makeTextEncoder(dir.file("text.pt"));
  QCOMPARE(te->dim(), int64_t(5));
  QCOMPARE(te->encode("abcd")[0].item<double>(), 4.0);
  QVERIFY(te->id().rfind("torchscript:", 0) == 0);

  torch::jit::Module image("ImageEnc");
  image.define(R"(
    def forward(self, x):
        return x.flatten(1).mean(1, keepdim=True).repeat(1, 7)
  )");
  image.save(dir.file("image.pt"));
  auto ie = igpg::makeImageEncoder(dir.file("image.pt"));
  QCOMPARE(ie->dim(), int64_t(7));
  auto emb = igpg::datasetEmbedding(*ie, torch::ones({4, 1, 28, 28}), torch::tensor({0, 0, 1, 1}), 2);
  QCOMPARE(emb.numel(), igpg::datasetEmbeddingDim(*ie));

  // An image encoder that returns one vector for the whole batch has the wrong shape.
  torch::jit::Module bad("BadEnc");
  bad.define(R"(
    def forward(self, x):
        return x.mean()
  )");
  bad.save(dir.file("bad.pt"));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::makeImageEncoder(dir.file("bad.pt")));
  igpg_test::writeBytes(dir.file("junk.pt"), "not a module");
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::makeTextEncoder(dir.file("junk.pt")));
}

void PriorTest::trainedPriorConditionsAndRegenerates() {
  // Two "datasets", each with its own fixed token sequence for one architecture; the
  // sequence is longer than the context, so generation goes through Algorithm 1.
  torch::manual_seed(5);
  auto layout = smallLayout(10);
  auto structure = structureFor(layout, 8, 4);
  const int64_t L = structure.roles.size(1);
  std::vector<igpg::PriorExample> zoo;
  std::vector<torch::Tensor> sequences;
  for (int d = 0; d < 2; ++d) {
    sequences.push_back(torch::randint(16, {L}, torch::kInt64));
    zoo.push_back({sequences.back(), structure, {}, torch::randn({6})});
  }
  igpg::PriorTrainOptions o;
  o.gpt = tinyOptions();
  o.steps = 300;
  o.batchSize = 8;
  o.learningRate = 3e-3;
  o.warmupSteps = 20;
  o.contextOverlap = 12;
  auto result = igpg::trainPrior(zoo, o, {});
  QVERIFY2(result.tokenAccuracy > 0.95, std::to_string(result.tokenAccuracy).c_str());
  igpg::SamplingOptions s;
  s.seed = 1;
  s.temperature = 0.5;
  s.contextOverlap = 12;
  std::vector<torch::Tensor> generated;
  for (int d = 0; d < 2; ++d) {
    auto prefix = result.prior.gpt()->conditionPrefix({}, zoo[size_t(d)].datasetEmbedding, 1);
    generated.push_back(igpg::sampleSequence(result.prior.gpt(), prefix, structure, L, s).tokens[0]);
  }
  // Same seed, different dataset: different samples, each close to its own zoo member.
  QVERIFY(!torch::equal(generated[0], generated[1]));
  for (int d = 0; d < 2; ++d) {
    const double own = (generated[size_t(d)] == sequences[size_t(d)]).to(torch::kFloat32).mean().item<double>();
    const double other = (generated[size_t(d)] == sequences[size_t(1 - d)]).to(torch::kFloat32).mean().item<double>();
    QVERIFY2(own > 0.9, std::to_string(own).c_str());
    QVERIFY(other < 0.3);
  }
}

void PriorTest::resumeContinuesExactly() {
  igpg_test::ScratchDir dir;
  torch::manual_seed(6);
  auto structure = structureFor(smallLayout(6), 8, 4);
  const int64_t L = structure.roles.size(1);
  std::vector<igpg::PriorExample> zoo = {{torch::randint(16, {L}, torch::kInt64), structure, {}, torch::randn({6})}};
  igpg::PriorTrainOptions o;
  o.gpt = tinyOptions();
  o.steps = 20;
  o.batchSize = 4;
  auto straight = igpg::trainPrior(zoo, o, {});

  o.checkpointPath = dir.file("prior.ckpt");
  o.checkpointEvery = 0;
  igpg::JobControl job;
  int64_t seen = 0;
  // The per-step metrics sink, not the rate-limited progress events: a fast machine may
  // emit no progress event between step 9 and the end.
  auto cancelAfterStep9 = [&](int64_t step, const std::vector<std::pair<std::string, double>>&) {
    seen = step;
    if (step >= 9) job.cancel.cancel();  // interrupted after step 9 or 10
  };
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::trainPrior(zoo, o, job, cancelAfterStep9));
  QVERIFY(seen >= 9 && seen < 20);
  QVERIFY(igpg_test::readBytes(o.checkpointPath).size() > 0);
  auto resumed = igpg::trainPrior(zoo, o, {});
  auto a = straight.prior.gpt()->named_parameters();
  auto b = resumed.prior.gpt()->named_parameters();
  for (const auto& p : a) QVERIFY2(torch::allclose(p.value(), b[p.key()], 1e-5, 1e-6), p.key().c_str());
  auto saved = igpg::PriorModel::load(o.checkpointPath);
  QCOMPARE(saved.options().contextLength, int64_t(24));
}

IGPG_TEST_MAIN(PriorTest)
#include "test_prior.moc"
