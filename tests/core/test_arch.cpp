// Architecture SPECs: parameter counts against hand-computed formulas, PyTorch key names
// and order, the reference checkpoint, canonical descriptions, data-derived fields and
// the errors bad SPECs give.
#include "igpg_test.h"
#include "test_util.h"

#include "arch/model.h"
#include "arch/spec.h"
#include "common/error.h"
#include "common/files.h"
#include "formats/safetensors.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

using igpg::arch::DataShape;
using igpg::arch::resolveSpec;

namespace {

const DataShape kMnist{1, 28, 28, 10};
const DataShape kCifar10{3, 32, 32, 10};
const DataShape kCifar100{3, 32, 32, 100};

int64_t tinyCnnCount(int64_t c1, int64_t c2, int64_t c3, int64_t hidden, const DataShape& d) {
  const int64_t h = ((d.height - 4) / 2 - 4) / 2 - 1, w = ((d.width - 4) / 2 - 4) / 2 - 1;
  return d.channels * c1 * 25 + c1 + c1 * c2 * 25 + c2 + c2 * c3 * 4 + c3 + c3 * h * w * hidden + hidden +
         hidden * d.classes + d.classes;
}

int64_t resnetCount(int64_t n, int64_t width, const DataShape& d) {
  int64_t total = 9 * d.channels * width + 2 * width;
  int64_t in = width;
  for (int stage = 0; stage < 3; ++stage) {
    const int64_t p = width << stage;
    total += 9 * in * p + 9 * p * p + 4 * p + (in != p ? in * p + 2 * p : 0);  // first block
    total += (n - 1) * (18 * p * p + 4 * p);
    in = p;
  }
  return total + 4 * width * d.classes + d.classes;
}

// layers: conv widths, 0 for a max pool
int64_t vggCount(const std::vector<int64_t>& layers, const std::vector<int64_t>& hidden, const DataShape& d) {
  int64_t total = 0, c = d.channels, h = d.height, w = d.width;
  for (int64_t v : layers) {
    if (v == 0) {
      h /= 2;
      w /= 2;
    } else {
      total += 9 * c * v + v + 2 * v;
      c = v;
    }
  }
  int64_t f = c * h * w;
  for (int64_t v : hidden) {
    total += f * v + v;
    f = v;
  }
  return total + f * d.classes + d.classes;
}

int64_t divisible(double v) {
  int64_t n = std::max<int64_t>(8, int64_t(v + 4) / 8 * 8);
  return double(n) < 0.9 * v ? n + 8 : n;
}

int64_t mobileNetV2Count(double wm, int64_t last, const DataShape& d) {
  auto convBn = [](int64_t in, int64_t out, int64_t k, int64_t groups) { return in / groups * out * k * k + 2 * out; };
  int64_t c = divisible(32 * wm);
  int64_t total = convBn(d.channels, c, 3, 1);
  const int64_t settings[7][3] = {{1, 16, 1}, {6, 24, 2}, {6, 32, 3}, {6, 64, 4}, {6, 96, 3}, {6, 160, 3}, {6, 320, 1}};
  for (const auto& s : settings) {
    const int64_t out = divisible(double(s[1]) * wm);
    for (int64_t i = 0; i < s[2]; ++i) {
      const int64_t hidden = c * s[0];
      if (s[0] != 1) total += convBn(c, hidden, 1, 1);
      total += convBn(hidden, hidden, 3, hidden) + convBn(hidden, out, 1, 1);
      c = out;
    }
  }
  return total + convBn(c, last, 1, 1) + last * d.classes + d.classes;
}

std::vector<std::string> layoutNames(const igpg::arch::ArchSpec& spec) {
  std::vector<std::string> names;
  for (const auto& s : spec.program().layout()) names.push_back(s.name);
  return names;
}

// Checks the error is a Config error whose where() names `where`.
template <class F>
bool configErrorAt(F f, const std::string& where) {
  try {
    f();
  } catch (const igpg::Error& e) {
    if (e.kind() != igpg::ErrorKind::Config || e.where() != where) {
      std::fprintf(stderr, "got a %s error at '%s': %s\n", igpg::errorKindName(e.kind()), e.where().c_str(), e.what());
      return false;
    }
    return true;
  }
  return false;
}

}  // namespace

class ArchTest : public QObject {
  Q_OBJECT
 private slots:
  void presetParameterCounts();
  void everyPresetNamesItself();
  void tinyCnnKeysMatchReference();
  void resnetKeysFollowPyTorch();
  void moduleNamesAreStateDictNames();
  void referenceCheckpointLoads();
  void sameSpecWrittenTwoWaysDescribesAlike();
  void differentFieldsDescribeDifferently();
  void descriptionsFollowTheTableStyle();
  void dataFieldsComeFromTheDataset();
  void badSpecsNameTheField();
  void architecturesThatDoNotFitAreRejected();
  void mismatchedWeightsAreRejected();
};

void ArchTest::presetParameterCounts() {
  QCOMPARE(resolveSpec("tinycnn", kMnist).parameterCount(), int64_t(2464));
  QCOMPARE(tinyCnnCount(8, 6, 4, 20, kMnist), int64_t(2464));
  QCOMPARE(resolveSpec("resnet20", kMnist).parameterCount(), int64_t(272186));
  for (int64_t n : {3, 5, 7, 9, 18}) {
    const std::string name = "resnet" + std::to_string(6 * n + 2);
    QCOMPARE(resolveSpec(name, kMnist).parameterCount(), resnetCount(n, 16, kMnist));
    QCOMPARE(resolveSpec(name, kCifar100).parameterCount(), resnetCount(n, 16, kCifar100));
  }
  QCOMPARE(resolveSpec("resnet20", kCifar10).parameterCount(), int64_t(272474));  // He et al.'s 0.27M
  QCOMPARE(resolveSpec(R"({"family":"resnet","blocks":[2,3,4],"width":8})", kMnist).parameterCount(),
           int64_t(9 * 8 + 16 + (9 * 64 + 9 * 64 + 32) + (18 * 64 + 32) + (9 * 8 * 16 + 9 * 256 + 64 + 128 + 32) +
                   2 * (18 * 256 + 64) + (9 * 16 * 32 + 9 * 1024 + 128 + 512 + 64) + 3 * (18 * 1024 + 128) + 32 * 10 + 10));
  QCOMPARE(resolveSpec(R"({"family":"tinycnn","channels":[16,12,8],"hidden":32})", kCifar10).parameterCount(),
           tinyCnnCount(16, 12, 8, 32, kCifar10));
  QCOMPARE(resolveSpec("vgg4_bn", kMnist).parameterCount(), vggCount({16, 0, 32, 0, 64, 0}, {}, kMnist));
  QCOMPARE(resolveSpec("vgg8_bn", kMnist).parameterCount(),
           vggCount({32, 0, 64, 0, 128, 128, 0, 256, 256, 0}, {256}, kMnist));
  QCOMPARE(resolveSpec("vgg11_bn", kCifar10).parameterCount(),
           vggCount({64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}, {512, 512}, kCifar10));
  QCOMPARE(resolveSpec(R"({"family":"mlp","hidden":[64,32]})", kMnist).parameterCount(),
           int64_t(784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10));
  QCOMPARE(resolveSpec(R"({"family":"mlp","hidden":[]})", kCifar10).parameterCount(), int64_t(3072 * 10 + 10));
  for (double w : {0.5, 0.75, 1.0, 1.4}) {
    const nlohmann::json spec = {{"family", "mobilenetv2"}, {"width_multiplier", w}};
    const int64_t last = divisible(1280 * std::max(1.0, w));
    QCOMPARE(igpg::arch::resolveSpecJson(spec, kCifar100).parameterCount(), mobileNetV2Count(w, last, kCifar100));
  }
  // torchvision's MobileNetV2 (1.0) has 3,504,872 parameters for 1000 classes.
  QCOMPARE(resolveSpec("mobilenetv2_x1_0", DataShape{3, 32, 32, 1000}).parameterCount(), int64_t(3504872));
}

void ArchTest::everyPresetNamesItself() {
  for (const auto& p : igpg::arch::presets()) {
    const DataShape data = p.name == "vgg11_bn" ? kCifar10 : kMnist;
    const auto spec = resolveSpec(p.name, data);
    QCOMPARE(spec.name(), p.name);
    QCOMPARE(spec.family(), p.family);
    QVERIFY2(spec.description().rfind(p.name + " ", 0) == 0, spec.description().c_str());
  }
}

void ArchTest::tinyCnnKeysMatchReference() {
  const auto reference = nlohmann::json::parse(igpg::readFileText(igpg_test::fixture("reference.json")));
  const auto spec = resolveSpec("tinycnn", kMnist);
  QCOMPARE(layoutNames(spec), reference["state_dict_keys"].get<std::vector<std::string>>());
  QCOMPARE(spec.parameterCount(), reference["parameters"].get<int64_t>());
}

void ArchTest::resnetKeysFollowPyTorch() {
  const auto names = layoutNames(resolveSpec("resnet20", kMnist));
  const std::vector<std::string> head = {"conv1.weight",         "bn1.weight",          "bn1.bias",
                                         "bn1.running_mean",     "bn1.running_var",     "bn1.num_batches_tracked",
                                         "layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias",
                                         "layer1.0.bn1.running_mean"};
  QVERIFY(std::equal(head.begin(), head.end(), names.begin()));
  QCOMPARE(names.back(), std::string("fc.bias"));
  QCOMPARE(names[names.size() - 2], std::string("fc.weight"));
  auto at = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
  // A block's modules in registration order: conv1, bn1, conv2, bn2, downsample.
  QVERIFY(at("layer2.0.bn2.num_batches_tracked") < at("layer2.0.downsample.0.weight"));
  QVERIFY(at("layer2.0.downsample.0.weight") < at("layer2.0.downsample.1.weight"));
  QVERIFY(at("layer2.0.downsample.1.num_batches_tracked") < at("layer2.1.conv1.weight"));
  QVERIFY(at("layer3.0.downsample.1.running_var") < int64_t(names.size()));
  QCOMPARE(at("layer1.0.downsample.0.weight"), int64_t(names.size()));  // same width: no projection
  QCOMPARE(at("layer2.1.downsample.0.weight"), int64_t(names.size()));
  QCOMPARE(names.size(), size_t(1 + 5 + 9 * 2 * (1 + 5) + 2 * (1 + 5) + 2));

  const auto resnet = resolveSpec("resnet20", kMnist);
  const auto& layout = resnet.program().layout();
  QCOMPARE(layout[at("layer2.0.downsample.0.weight")].shape, (std::vector<int64_t>{32, 16, 1, 1}));
  QCOMPARE(layout[at("layer3.0.conv1.weight")].shape, (std::vector<int64_t>{64, 32, 3, 3}));
  QVERIFY(layout[at("bn1.num_batches_tracked")].shape.empty());
  QVERIFY(layout[at("bn1.num_batches_tracked")].integral());

  const auto mobile = layoutNames(resolveSpec("mobilenetv2_x0_5", kMnist));
  QCOMPARE(mobile.front(), std::string("features.0.0.weight"));
  QVERIFY(std::find(mobile.begin(), mobile.end(), "features.1.conv.0.0.weight") != mobile.end());  // t = 1: depthwise first
  QVERIFY(std::find(mobile.begin(), mobile.end(), "features.1.conv.2.running_mean") != mobile.end());
  QVERIFY(std::find(mobile.begin(), mobile.end(), "features.2.conv.3.num_batches_tracked") != mobile.end());
  QVERIFY(std::find(mobile.begin(), mobile.end(), "features.18.1.weight") != mobile.end());
  QCOMPARE(mobile.back(), std::string("classifier.1.bias"));

  const auto vgg = layoutNames(resolveSpec("vgg11_bn", kCifar10));
  QCOMPARE(vgg[0], std::string("features.0.weight"));
  QCOMPARE(vgg[2], std::string("features.1.weight"));  // batch norm
  QVERIFY(std::find(vgg.begin(), vgg.end(), "features.4.weight") != vgg.end());  // conv, bn, relu, pool, conv
  QVERIFY(std::find(vgg.begin(), vgg.end(), "classifier.3.weight") != vgg.end());
  QCOMPARE(vgg.back(), std::string("classifier.6.bias"));
}

void ArchTest::moduleNamesAreStateDictNames() {
  const auto spec = resolveSpec("resnet20", kMnist);
  igpg::arch::Model model(spec.program());
  std::vector<std::string> params, buffers, expectedParams, expectedBuffers;
  for (const auto& p : model->named_parameters()) params.push_back(p.key());
  for (const auto& b : model->named_buffers()) buffers.push_back(b.key());
  for (const auto& s : spec.program().layout()) (s.trainable() ? expectedParams : expectedBuffers).push_back(s.name);
  QCOMPARE(params, expectedParams);
  QCOMPARE(buffers, expectedBuffers);
  int64_t trainable = 0;
  for (const auto& p : model->parameters()) trainable += p.numel();
  QCOMPARE(trainable, int64_t(272186));
  std::vector<std::string> exported;
  const auto weights = model->stateDict();
  for (const auto& e : weights.entries()) exported.push_back(e.name);
  QCOMPARE(exported, layoutNames(spec));
  QVERIFY(model->stateDict().at("bn1.num_batches_tracked").scalar_type() == torch::kInt64);
}

void ArchTest::referenceCheckpointLoads() {
  const auto weights = igpg::loadSafetensors(igpg_test::fixture("tinycnn_fmnist.safetensors"));
  igpg::arch::Model model(resolveSpec("tinycnn", kMnist).program());
  model->loadStateDict(weights);
  model->eval();
  torch::NoGradGuard noGrad;
  const auto x = torch::randn({5, 1, 28, 28}, torch::Generator(at::detail::createCPUGenerator(7)));
  const auto logits = model->forward(x);
  QCOMPARE(logits.sizes().vec(), (std::vector<int64_t>{5, 10}));
  QVERIFY(torch::isfinite(logits).all().item<bool>());
  // The weights are really in use: the exported state dict is the file's, and the
  // output changes when one weight does.
  const auto exported = model->stateDict();
  for (const auto& e : weights.entries()) QVERIFY(torch::equal(exported.at(e.name), e.tensor));
  auto changed = weights;
  changed.set("fc2.bias", weights.at("fc2.bias") + 1.0);
  model->loadStateDict(changed);
  QVERIFY(torch::allclose(model->forward(x), logits + 1.0, 1e-5, 1e-5));
}

void ArchTest::sameSpecWrittenTwoWaysDescribesAlike() {
  const auto a = resolveSpec("resnet20", kMnist);
  const auto b = resolveSpec(R"({"family": "resnet", "blocks": [3, 3, 3]})", kMnist);
  const auto c = resolveSpec(R"( {"width":16,"family":"resnet20","num_classes":10,"in_channels":1} )", kMnist);
  QCOMPARE(a.description(), b.description());
  QCOMPARE(a.description(), c.description());
  QCOMPARE(a.canonicalJson(), b.canonicalJson());
  QCOMPARE(a.canonicalJson(), c.canonicalJson());
  QCOMPARE(a.name(), std::string("resnet20"));
  // The canonical JSON is itself a SPEC of the same network.
  QCOMPARE(resolveSpec(a.canonicalJson(), kMnist).description(), a.description());
  QCOMPARE(resolveSpec("mobilenetv2_x0_5", kMnist).description(),
           resolveSpec(R"({"family":"mobilenetv2","width_multiplier":0.50})", kMnist).description());
  QCOMPARE(resolveSpec("mlp", kMnist).description(), resolveSpec(R"({"family":"mlp","hidden":[100]})", kMnist).description());
}

void ArchTest::differentFieldsDescribeDifferently() {
  const std::vector<std::string> specs = {
      "resnet20",
      R"({"family":"resnet","blocks":[3,3,4]})",
      R"({"family":"resnet","width":32})",
      R"({"family":"resnet","blocks":[1,2,3]})",
      R"({"family":"resnet","blocks":[2,2,2]})",
      "resnet32",
      "tinycnn",
      R"({"family":"tinycnn","hidden":21})",
      R"({"family":"tinycnn","channels":[8,6,5]})",
      "mlp",
      R"({"family":"mlp","activation":"tanh"})",
      R"({"family":"mlp","hidden":[100,100]})",
      "vgg4_bn",
      R"({"family":"vgg","batch_norm":false})",
      R"({"family":"vgg","classifier":[64]})",
      R"({"family":"vgg","layers":[4,"M",8,"M",16,"M"]})",
      "mobilenetv2_x0_5",
      R"({"family":"mobilenetv2","width_multiplier":0.5,"final_layer_channels":640})",
  };
  std::set<std::string> descriptions, names, canonical;
  for (const auto& s : specs) {
    const auto spec = resolveSpec(s, kMnist);
    descriptions.insert(spec.description());
    names.insert(spec.name());
    canonical.insert(spec.canonicalJson());
    // Names are typed back as --arch: one copied from a table must build that network.
    if (igpg::arch::findPreset(spec.name())) QCOMPARE(resolveSpec(spec.name(), kMnist).canonicalJson(), spec.canonicalJson());
  }
  QCOMPARE(descriptions.size(), specs.size());
  QCOMPARE(names.size(), specs.size());
  QCOMPARE(resolveSpec(R"({"family":"resnet","blocks":[3,3,3]})", kMnist).name(), std::string("resnet20"));
  QCOMPARE(resolveSpec(R"({"family":"vgg","layers":[32,"M",64,"M",128,128,"M",256,256,"M"],"classifier":[256]})", kMnist).name(),
           std::string("vgg8_bn"));
  QCOMPARE(canonical.size(), specs.size());
  // The dataset's fields are part of the description too: they change the weights.
  QVERIFY(resolveSpec("resnet20", kCifar10).description() != resolveSpec("resnet20", kCifar100).description());
  QVERIFY(resolveSpec("resnet20", kMnist).description() != resolveSpec("resnet20", kCifar10).description());
}

void ArchTest::descriptionsFollowTheTableStyle() {
  QCOMPARE(resolveSpec("resnet20", kMnist).description(),
           std::string("resnet20 layers: [3, 3, 3], width: 16, in_channels: 1, num_classes: 10"));
  QCOMPARE(resolveSpec("vgg11_bn", kCifar10).description(),
           std::string("vgg11_bn layers: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'], "
                       "batch_norm: true, classifier: [512, 512], in_channels: 3, input_size: [32, 32], num_classes: 10"));
  QCOMPARE(resolveSpec("mobilenetv2_x0_5", kCifar100).description(),
           std::string("mobilenetv2_x0_5 width_multiplier: 0.5, final_layer_channels: 1280, in_channels: 3, num_classes: 100"));
  QCOMPARE(resolveSpec("tinycnn", kMnist).description(),
           std::string("tinycnn channels: [8, 6, 4], hidden: 20, in_channels: 1, input_size: [28, 28], num_classes: 10"));
  QCOMPARE(resolveSpec(R"({"family":"mlp","hidden":[256,128],"activation":"gelu"})", kMnist).description(),
           std::string("mlp_256x128_gelu hidden: [256, 128], activation: gelu, in_features: 784, num_classes: 10"));
  QCOMPARE(resolveSpec("resnet20", kMnist).canonicalJson(),
           std::string(R"({"blocks":[3,3,3],"family":"resnet","in_channels":1,"num_classes":10,"width":16})"));
}

void ArchTest::dataFieldsComeFromTheDataset() {
  const auto spec = resolveSpec("resnet20", kCifar100);
  QCOMPARE(spec.fields()["in_channels"].get<int64_t>(), int64_t(3));
  QCOMPARE(spec.fields()["num_classes"].get<int64_t>(), int64_t(100));
  QCOMPARE(spec.program().layout().front().shape, (std::vector<int64_t>{16, 3, 3, 3}));
  QCOMPARE(spec.program().layout().back().shape, (std::vector<int64_t>{100}));
  const auto mlp = resolveSpec("mlp", DataShape{1, 8, 8, 10});
  QCOMPARE(mlp.fields()["in_features"].get<int64_t>(), int64_t(64));
  const auto tiny = resolveSpec("tinycnn", DataShape{3, 32, 32, 10});
  QCOMPARE(tiny.fields()["input_size"], nlohmann::json({32, 32}));
  // conv3 leaves 4x2x2 at 32x32 -> fc1 takes 64 features
  const auto& layout = tiny.program().layout();
  QCOMPARE(layout[6].name, std::string("fc1.weight"));
  QCOMPARE(layout[6].shape, (std::vector<int64_t>{20, 64}));
  // Stated data fields that agree with the data are fine.
  QCOMPARE(resolveSpec(R"({"family":"resnet20","num_classes":100,"in_channels":3})", kCifar100).parameterCount(),
           spec.parameterCount());
}

void ArchTest::badSpecsNameTheField() {
  QVERIFY(configErrorAt([] { resolveSpec("resnet21", kMnist); }, "field family"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"transformer"})", kMnist); }, "field family"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"blocks":[3,3,3]})", kMnist); }, "field family"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":3})", kMnist); }, "field family"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"resnet","blocks":"3"})", kMnist); }, "field blocks"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"resnet","blocks":[3,3]})", kMnist); }, "field blocks"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"resnet","blocks":[3,0,3]})", kMnist); }, "field blocks"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"resnet","blocks":[3,3.5,3]})", kMnist); }, "field blocks"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"resnet","width":-16})", kMnist); }, "field width"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"resnet","width":10000000})", kMnist); }, "field width"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"resnet","depth":20})", kMnist); }, "field depth"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"mlp","activation":"swish"})", kMnist); }, "field activation"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"vgg","layers":[16,"N",32]})", kMnist); }, "field layers"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"vgg","layers":["M"]})", kMnist); }, "field layers"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"vgg","batch_norm":"yes"})", kMnist); }, "field batch_norm"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"mobilenetv2","width_multiplier":0})", kMnist); },
                        "field width_multiplier"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"resnet", "blocks": [3,3,3])", kMnist); }, "spec"));
  QVERIFY(configErrorAt([] { resolveSpec("[1,2]", kMnist); }, "spec"));
  QVERIFY(configErrorAt([] { resolveSpec("  ", kMnist); }, "spec"));
  QVERIFY(configErrorAt([] { resolveSpec("resnet 20", kMnist); }, "spec"));
  try {
    resolveSpec(R"({"family":"resnet","depth":20})", kMnist);
  } catch (const igpg::Error& e) {
    QVERIFY2(std::string(e.what()).find("blocks") != std::string::npos, e.what());  // lists the real fields
  }
}

void ArchTest::architecturesThatDoNotFitAreRejected() {
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"resnet20","num_classes":100})", kMnist); }, "field num_classes"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"resnet20","in_channels":3})", kMnist); }, "field in_channels"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"tinycnn","input_size":[32,32]})", kMnist); }, "field input_size"));
  QVERIFY(configErrorAt([] { resolveSpec(R"({"family":"mlp","in_features":100})", kMnist); }, "field in_features"));
  // Five 2x2 pools shrink 28 -> 14 -> 7 -> 3 -> 1 -> 0.
  QVERIFY(configErrorAt([] { resolveSpec("vgg11_bn", kMnist); }, "field layers"));
  // The Tiny CNN's 5x5 convs need more than 8x8 pixels.
  QVERIFY(configErrorAt([] { resolveSpec("tinycnn", DataShape{1, 8, 8, 10}); }, "field input_size"));
  QVERIFY(configErrorAt([] { resolveSpec("tinycnn", DataShape{0, 28, 28, 10}); }, "dataset"));
  // Architectures with padding or global pooling fit small images.
  QCOMPARE(resolveSpec("resnet20", DataShape{1, 8, 8, 10}).parameterCount(), int64_t(272186));
  QVERIFY(resolveSpec("mobilenetv2_x0_5", DataShape{1, 8, 8, 10}).parameterCount() > 0);
}

void ArchTest::mismatchedWeightsAreRejected() {
  igpg::arch::Model model(resolveSpec("tinycnn", kMnist).program());
  auto weights = model->stateDict();
  auto expectMismatch = [&](const igpg::StateDict& w, const std::string& where) {
    try {
      model->loadStateDict(w);
    } catch (const igpg::Error& e) {
      QCOMPARE(e.where(), where);
      QVERIFY(e.kind() == igpg::ErrorKind::Mismatch);
      return;
    }
    QFAIL("no error");
  };
  auto wrongShape = weights;
  wrongShape.set("fc1.weight", torch::zeros({20, 37}));
  expectMismatch(wrongShape, "tensor fc1.weight");
  auto extra = weights;
  extra.add("fc3.weight", torch::zeros({1}));
  expectMismatch(extra, "tensor fc3.weight");
  igpg::StateDict missing;
  for (const auto& e : weights.entries())
    if (e.name != "conv2.bias") missing.add(e.name, e.tensor);
  expectMismatch(missing, "tensor conv2.bias");
  auto wrongType = weights;
  wrongType.set("conv1.weight", torch::zeros({8, 1, 5, 5}, torch::kInt32));
  expectMismatch(wrongType, "tensor conv1.weight");
  // Nothing was half-loaded: the model still holds the original weights.
  for (const auto& e : weights.entries()) QVERIFY(torch::equal(model->stateDict().at(e.name), e.tensor));
  // Double-precision checkpoints convert.
  auto doubles = weights;
  for (const auto& e : weights.entries()) doubles.set(e.name, e.tensor.to(torch::kFloat64));
  model->loadStateDict(doubles);
  QVERIFY(model->stateDict().at("fc2.weight").scalar_type() == torch::kFloat32);
}

IGPG_TEST_MAIN(ArchTest)
#include "test_arch.moc"
