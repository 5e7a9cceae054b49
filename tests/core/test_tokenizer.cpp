// Vectorization, chunking, normalization, the temperature schedule and the Gumbel VQ-VAE
// of the weight tokenizer (paper section 2.2).
#include "igpg_test.h"
#include "test_util.h"

#include "common/error.h"
#include "formats/safetensors.h"
#include "tokenizer/codebook_stats.h"
#include "tokenizer/tokenizer_training.h"

#include <torch/torch.h>

namespace {

// A small network with a BatchNorm layer, in PyTorch's state-dict order.
igpg::StateDict sampleNetwork(int64_t seed) {
  torch::manual_seed(seed);
  igpg::StateDict sd;
  sd.add("conv1.weight", torch::randn({4, 1, 3, 3}) * 0.3);
  sd.add("bn1.weight", 1 + 0.1 * torch::randn({4}));
  sd.add("bn1.bias", 0.1 * torch::randn({4}));
  sd.add("bn1.running_mean", torch::randn({4}));
  sd.add("bn1.running_var", torch::rand({4}) + 0.5);
  sd.add("bn1.num_batches_tracked", torch::tensor({int64_t(17)}).reshape({}));
  sd.add("fc.weight", torch::randn({3, 36}) * 0.2);
  sd.add("fc.bias", torch::randn({3}) * 0.05);
  return sd;
}

// Sample networks of seeds firstSeed, firstSeed + 1, ... as a tokenizer's zoo.
std::vector<igpg::TokenizerExample> sampleZoo(int64_t firstSeed, int count) {
  std::vector<igpg::TokenizerExample> zoo;
  for (int64_t s = firstSeed; s < firstSeed + count; ++s) {
    auto sd = sampleNetwork(s);
    zoo.push_back({igpg::WeightLayout::fromStateDict(sd), sd});
  }
  return zoo;
}

// A VQ-VAE small enough for a test: K values per chunk in l tokens of a codebook of m codes
// of width d, 16 channels.
igpg::GumbelVQVAEOptions smallVQ(int64_t k, int64_t l, int64_t m, int64_t d) {
  igpg::GumbelVQVAEOptions o;
  o.chunkSize = k;
  o.tokensPerChunk = l;
  o.codebookSize = m;
  o.codeDim = d;
  o.hidden = 16;
  return o;
}

igpg::TokenizerTrainOptions smallTraining(int64_t k, int64_t l, int64_t m, int64_t d, int64_t steps, int64_t batch) {
  igpg::TokenizerTrainOptions o;
  o.config.vq = smallVQ(k, l, m, d);
  o.steps = steps;
  o.batchSize = batch;
  return o;
}

}  // namespace

class TokenizerTest : public QObject {
  Q_OBJECT
 private slots:
  void layoutInfersRolesAndOrder();
  void flattenRoundTripIsExact();
  void chunkRoundTripsAreExact();
  void chunkOriginsPointIntoLayers();
  void normalizationRoundTrip();
  void unseenShapesFallBackToRoleStatistics();
  void temperatureScheduleAnneals();
  void paddingNeverContributesToTheLoss();
  void gradientsReachTheEncoder();
  void convolutionalTokenizerEncodesUnseenNetworks();
  void codebookStatistics();
  void checkpointRoundTripAndBadFiles();
};

void TokenizerTest::layoutInfersRolesAndOrder() {
  auto layout = igpg::WeightLayout::fromStateDict(sampleNetwork(0));
  QCOMPARE(int(layout.entries.size()), 7);
  QVERIFY(layout.entries[0].role == igpg::ParamRole::ConvWeight);
  QVERIFY(layout.entries[1].role == igpg::ParamRole::NormWeight);
  QVERIFY(layout.entries[2].role == igpg::ParamRole::NormBias);
  QVERIFY(layout.entries[3].role == igpg::ParamRole::RunningMean);
  QVERIFY(layout.entries[4].role == igpg::ParamRole::RunningVar);
  QVERIFY(layout.entries[5].role == igpg::ParamRole::LinearWeight);
  QVERIFY(layout.entries[6].role == igpg::ParamRole::Bias);
  QCOMPARE(layout.numLayers, int64_t(3));
  QCOMPARE(layout.numel, int64_t(36 + 16 + 108 + 3));
  QCOMPARE(int(layout.integerBuffers.size()), 1);
}

void TokenizerTest::flattenRoundTripIsExact() {
  auto sd = sampleNetwork(1);
  auto layout = igpg::WeightLayout::fromStateDict(sd);
  auto back = igpg::unflattenWeights(igpg::flattenWeights(sd, layout), layout);
  QCOMPARE(int(back.size()), int(sd.size()));
  for (size_t i = 0; i < sd.size(); ++i) {
    QCOMPARE(back.entries()[i].name, sd.entries()[i].name);  // PyTorch order kept, integer buffer included
    if (sd.entries()[i].tensor.is_floating_point())
      QVERIFY(torch::equal(back.entries()[i].tensor, sd.entries()[i].tensor));
  }
  auto wrong = sampleNetwork(1);
  wrong.set("fc.weight", torch::zeros({3, 35}));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::flattenWeights(wrong, layout));
}

void TokenizerTest::chunkRoundTripsAreExact() {
  auto sd = sampleNetwork(2);
  auto layout = igpg::WeightLayout::fromStateDict(sd);
  auto vector = igpg::flattenWeights(sd, layout);
  for (auto mode : {igpg::Vectorization::ArchitectureWise, igpg::Vectorization::LayerWise}) {
    for (int64_t k : {1, 7, 16, 64, 500}) {
      igpg::ChunkPlan plan(layout, mode, k);
      auto chunks = plan.chunk(vector);
      QVERIFY(torch::equal(plan.unchunk(chunks.values), vector));
      // The mask counts exactly the real values; padding is zero.
      QCOMPARE(chunks.mask.sum().item<double>(), double(layout.numel));
      QCOMPARE((chunks.values * (1 - chunks.mask)).abs().sum().item<double>(), 0.0);
      QVERIFY(((chunks.roles == 0) == (chunks.mask == 0)).all().item<bool>());
    }
  }
  // Layer-wise pads every layer on its own: more chunks than architecture-wise.
  igpg::ChunkPlan whole(layout, igpg::Vectorization::ArchitectureWise, 16);
  igpg::ChunkPlan layers(layout, igpg::Vectorization::LayerWise, 16);
  QCOMPARE(whole.numChunks(), int64_t((163 + 15) / 16));
  QCOMPARE(layers.numChunks(), int64_t(3 + 1 + 7));  // conv 36, bn 16, fc weight+bias 111
}

void TokenizerTest::chunkOriginsPointIntoLayers() {
  auto layout = igpg::WeightLayout::fromStateDict(sampleNetwork(3));
  igpg::ChunkPlan plan(layout, igpg::Vectorization::ArchitectureWise, 16);
  const auto& o = plan.origins();
  QCOMPARE(o[0].layerIndex, int64_t(0));
  QVERIFY(o[0].role == igpg::ParamRole::ConvWeight);
  QCOMPARE(o[2].layerIndex, int64_t(0));  // values 32..47: the first 4 are conv1's last
  QCOMPARE(o[2].offsetInLayer, int64_t(32));
  QCOMPARE(o[3].layerIndex, int64_t(1));  // values 48..63 are all bn1 (starts at 36)
  QCOMPARE(o[3].offsetInLayer, int64_t(12));
  QCOMPARE(o[3].layerNumel, int64_t(16));
}

void TokenizerTest::normalizationRoundTrip() {
  auto a = sampleNetwork(4), b = sampleNetwork(5);
  auto layout = igpg::WeightLayout::fromStateDict(a);
  auto va = igpg::flattenWeights(a, layout), vb = igpg::flattenWeights(b, layout);
  igpg::WeightNormalizer n;
  n.fit({{&layout, va}, {&layout, vb}});
  auto na = n.normalize(va, layout);
  QVERIFY(torch::allclose(n.denormalize(na, layout), va, 1e-5, 1e-6));
  // Over the fitted zoo, every tensor is standardized.
  auto nb = n.normalize(vb, layout);
  for (const auto& e : layout.entries) {
    auto both = torch::cat({na.narrow(0, e.offset, e.numel), nb.narrow(0, e.offset, e.numel)});
    QVERIFY2(std::fabs(both.mean().item<double>()) < 1e-4, e.name.c_str());
    QVERIFY2(std::fabs(both.std(false).item<double>() - 1.0) < 1e-3, e.name.c_str());
  }
  auto restored = igpg::WeightNormalizer::fromJson(n.toJson());
  QVERIFY(torch::allclose(restored.normalize(va, layout), na));
}

void TokenizerTest::unseenShapesFallBackToRoleStatistics() {
  auto sd = sampleNetwork(6);
  auto layout = igpg::WeightLayout::fromStateDict(sd);
  igpg::WeightNormalizer n;
  n.fit({{&layout, igpg::flattenWeights(sd, layout)}});
  QVERIFY(n.knowsExactly(layout));
  // A wider linear layer was never seen: its statistics come from the role and fan-in.
  auto wider = igpg::WeightLayout::fromShapes({{"fc.weight", {3, 144}}, {"fc.bias", {3}}});
  QVERIFY(!n.knowsExactly(wider));
  auto [mean, std] = n.statistics(wider);
  QVERIFY(torch::isfinite(std).all().item<bool>());
  QVERIFY(std.narrow(0, 0, 432).max().item<double>() > 0);
  auto [seenMean, seenStd] = n.statistics(layout);
  const double seenWeightStd = seenStd[layout.entries[5].offset].item<double>();
  // 1/sqrt(fan_in): four times the fan-in, about half the scale.
  QVERIFY(std[0].item<double>() < seenWeightStd);
  auto conv = igpg::WeightLayout::fromShapes({{"x.weight", {2, 2}}});
  igpg::WeightNormalizer convOnly;
  auto onlyConv = igpg::WeightLayout::fromShapes({{"c.weight", {2, 1, 3, 3}}});
  convOnly.fit({{&onlyConv, torch::randn({18})}});
  QVERIFY_THROWS_EXCEPTION(igpg::Error, convOnly.statistics(conv));  // no linear weights at all in training
}

void TokenizerTest::temperatureScheduleAnneals() {
  igpg::TemperatureSchedule s;
  s.totalSteps = 1000;
  s.cycles = 4;
  s.annealFraction = 0.8;
  QCOMPARE(s.at(0), 1.0);
  QVERIFY(std::fabs(s.at(100) - std::pow(1e-4, 100.0 / 200.0)) < 1e-9);  // geometric, 250 steps per cycle, 200 annealing
  QVERIFY(std::fabs(s.at(200) - 1e-4) < 1e-12);
  QVERIFY(std::fabs(s.at(249) - 1e-4) < 1e-12);
  QCOMPARE(s.at(250), 1.0);  // a new cycle starts hot
  QVERIFY(std::fabs(s.at(999) - 1e-4) < 1e-12);  // training ends cold
  for (int64_t t = 1; t < 200; ++t) QVERIFY(s.at(t) < s.at(t - 1));
}

void TokenizerTest::paddingNeverContributesToTheLoss() {
  torch::manual_seed(0);
  igpg::GumbelVQVAE model(smallVQ(16, 4, 32, 8));
  auto values = torch::randn({5, 16});
  auto roles = torch::full({5, 16}, int64_t(igpg::ParamRole::LinearWeight));
  roles.narrow(1, 10, 6).fill_(0);  // the last 6 values of each chunk are padding
  auto mask = (roles != 0).to(torch::kFloat32);
  values = values * mask;
  auto run = [&](const torch::Tensor& v) {
    torch::manual_seed(42);  // same Gumbel noise
    return igpg::vqLoss(model, v, roles, mask, 0.5, 0.25, 1.0).total.item<double>();
  };
  const double clean = run(values);
  auto perturbed = values + (1 - mask) * torch::randn({5, 16}) * 100;
  QCOMPARE(run(perturbed), clean);
  auto realChange = values + mask * 0.5;
  QVERIFY(run(realChange) != clean);
}

void TokenizerTest::gradientsReachTheEncoder() {
  for (int64_t denseHidden : {64, 0}) {  // the dense and the convolutional decoder
    torch::manual_seed(1);
    auto o = smallVQ(16, 4, 32, 8);
    o.denseHidden = denseHidden;
    igpg::GumbelVQVAE model(o);
    auto values = torch::randn({8, 16});
    auto roles = torch::full({8, 16}, int64_t(igpg::ParamRole::ConvWeight));
    auto loss = igpg::vqLoss(model, values, roles, torch::ones({8, 16}), 1.0, 0.25, 1.0);
    // Only the reconstruction term: its gradient to the encoder flows through the Gumbel sample.
    loss.reconstruction.backward();
    for (const auto& p : model->named_parameters()) {
      if (p.key().rfind("enc_", 0) != 0) continue;
      QVERIFY2(p.value().grad().defined(), p.key().c_str());
      QVERIFY2(p.value().grad().abs().sum().item<double>() > 0, p.key().c_str());
    }
  }
}

// The dense decoder holds the networks it was trained on; the convolutional one, at one
// value per token and one-dimensional codes, is a quantizer of values that also encodes
// networks it never saw about as well as the ones it trained on.
void TokenizerTest::convolutionalTokenizerEncodesUnseenNetworks() {
  const auto seen = sampleZoo(20, 16), unseen = sampleZoo(40, 4);
  auto o = smallTraining(16, 16, 256, 1, 600, 32);
  o.config.vq.denseHidden = 0;
  auto result = igpg::trainTokenizer(seen, o, {});
  const double seenError = igpg::summarizeReconstruction(result.tokenizer, seen).relativeRmse;
  const double unseenError = igpg::summarizeReconstruction(result.tokenizer, unseen).relativeRmse;
  qInfo("relative RMSE: seen %.4f, unseen %.4f", seenError, unseenError);
  QVERIFY2(unseenError < 0.08, qPrintable(QString::number(unseenError)));
  QVERIFY2(unseenError < 1.6 * seenError, qPrintable(QString::number(unseenError)));
}

void TokenizerTest::codebookStatistics() {
  auto uniform = igpg::codebookStats(torch::arange(8, torch::kInt64).repeat({10}), 8);
  QVERIFY(std::fabs(uniform.perplexity - 8.0) < 1e-9);
  QCOMPARE(uniform.deadCodes, int64_t(0));
  auto single = igpg::codebookStats(torch::full({20}, int64_t(3)), 8);
  QVERIFY(std::fabs(single.perplexity - 1.0) < 1e-9);
  QCOMPARE(single.deadCodes, int64_t(7));
  QCOMPARE(single.usage[3], int64_t(20));
  QCOMPARE(igpg::CodebookStats::fromJson(single.toJson()).deadCodes, int64_t(7));
}

void TokenizerTest::checkpointRoundTripAndBadFiles() {
  igpg_test::ScratchDir dir;
  const auto zoo = sampleZoo(10, 2);
  const auto o = smallTraining(16, 8, 64, 8, 30, 16);
  auto result = igpg::trainTokenizer(zoo, o, {});
  const std::string path = dir.file("tok.safetensors");
  result.tokenizer.save(path);
  auto loaded = igpg::WeightTokenizer::load(path);
  auto a = result.tokenizer.encode(zoo[0].weights, zoo[0].layout);
  auto b = loaded.encode(zoo[0].weights, zoo[0].layout);
  QVERIFY(torch::equal(a, b));
  QCOMPARE(a.numel(), result.tokenizer.sequenceLength(zoo[0].layout));
  auto decoded = loaded.decode(a, zoo[0].layout);
  QCOMPARE(int(decoded.size()), 1);
  QVERIFY(decoded[0].contains("bn1.num_batches_tracked"));
  // Tokens of the wrong length or outside the codebook are refused, not decoded.
  QVERIFY_THROWS_EXCEPTION(igpg::Error, loaded.decode(a.narrow(0, 0, a.numel() - 1), zoo[0].layout));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, loaded.decode(a + 1000, zoo[0].layout));
  // Corrupted and foreign files give errors, not crashes.
  std::string bytes = igpg_test::readBytes(path);
  igpg_test::writeBytes(dir.file("cut.safetensors"), bytes.substr(0, bytes.size() / 2));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::WeightTokenizer::load(dir.file("cut.safetensors")));
  igpg::StateDict other;
  other.add("x", torch::zeros({2}));
  igpg::saveSafetensors(dir.file("other.safetensors"), other);
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::WeightTokenizer::load(dir.file("other.safetensors")));
}

IGPG_TEST_MAIN(TokenizerTest)
#include "test_tokenizer.moc"
