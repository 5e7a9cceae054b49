// The architecture families, each written once as a Program. Parameter names follow the
// PyTorch modules they mirror, so exported weights load into those modules and their
// checkpoints import:
//   tinycnn      the Tiny Model Zoo CNN (Schürholt et al. 2021/2022)
//   mlp          nn.Sequential-free MLP with fc1..fcN
//   resnet       CIFAR ResNet (He et al. 2016) as in chenyaofo/pytorch-cifar-models
//   vgg          torchvision/chenyaofo VGG numbering (features.N, classifier.N)
//   mobilenetv2  torchvision MobileNetV2 with chenyaofo's CIFAR strides
// Dropout layers are not applied (zoo models train without them, so that a model depends
// only on its seed), but keep their index in the numbering so keys match PyTorch's.
#include "arch/spec.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>

namespace igpg::arch {

namespace {

using nlohmann::json;

FieldDef field(std::string name, FieldType type, json defaultValue, std::string help) {
  FieldDef f;
  f.name = std::move(name);
  f.type = type;
  f.defaultValue = std::move(defaultValue);
  f.help = std::move(help);
  return f;
}

FieldDef inChannelsField() {
  FieldDef f = field("in_channels", FieldType::Int, nullptr, "image channels (from the dataset)");
  f.data = DataField::Channels;
  return f;
}

FieldDef inputSizeField() {
  FieldDef f = field("input_size", FieldType::IntList, nullptr, "[height, width] of the images (from the dataset)");
  f.data = DataField::InputSize;
  f.length = 2;
  return f;
}

FieldDef numClassesField() {
  FieldDef f = field("num_classes", FieldType::Int, nullptr, "number of classes (from the dataset)");
  f.data = DataField::Classes;
  return f;
}

std::vector<int64_t> ints(const json& v) { return v.get<std::vector<int64_t>>(); }

std::string joined(const std::vector<int64_t>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

// ---- tinycnn -----------------------------------------------------------------------

Family tinyCnn() {
  Family f;
  f.name = "tinycnn";
  f.summary = "Tiny Model Zoo CNN: 3 tanh convs (5x5, 5x5, 2x2) with max pools, 2 linears";
  FieldDef channels = field("channels", FieldType::IntList, json{8, 6, 4}, "output channels of conv1, conv2, conv3");
  channels.length = 3;
  f.fields = {channels, field("hidden", FieldType::Int, 20, "width of fc1"), inChannelsField(), inputSizeField(),
              numClassesField()};
  f.displayName = [](const json& v) {
    const auto c = ints(v["channels"]);
    const int64_t h = v["hidden"].get<int64_t>();
    if (c == std::vector<int64_t>{8, 6, 4} && h == 20) return std::string("tinycnn");
    return "tinycnn_c" + joined(c, "-") + "_h" + std::to_string(h);
  };
  f.build = [](const json& v, const InputShape& in) {
    const auto c = ints(v["channels"]);
    const int64_t classes = v["num_classes"].get<int64_t>();
    ProgramBuilder b(in, "field input_size");
    b.conv("conv1", c[0], 5);
    b.pool(OpKind::MaxPool2d, 2, 2);
    b.activation(OpKind::Tanh);
    b.conv("conv2", c[1], 5);
    b.pool(OpKind::MaxPool2d, 2, 2);
    b.activation(OpKind::Tanh);
    b.conv("conv3", c[2], 2);
    b.activation(OpKind::Tanh);
    b.flatten();
    b.linear("fc1", v["hidden"].get<int64_t>());
    b.activation(OpKind::Tanh);
    b.linear("fc2", classes);
    return b.finish(classes);
  };
  return f;
}

// ---- mlp ---------------------------------------------------------------------------

OpKind activationKind(const std::string& name) {
  if (name == "tanh") return OpKind::Tanh;
  if (name == "gelu") return OpKind::Gelu;
  return OpKind::Relu;
}

Family mlp() {
  Family f;
  f.name = "mlp";
  f.summary = "multilayer perceptron on flattened images: fc1..fcN";
  FieldDef hidden = field("hidden", FieldType::IntList, json{100}, "hidden layer widths (empty: a linear classifier)");
  hidden.minLength = 0;
  FieldDef activation = field("activation", FieldType::Choice, "relu", "activation after each hidden layer");
  activation.choices = {"relu", "tanh", "gelu"};
  FieldDef features = field("in_features", FieldType::Int, nullptr, "values per sample, channels x height x width (from the dataset)");
  features.data = DataField::Features;
  f.fields = {hidden, activation, features, numClassesField()};
  f.displayName = [](const json& v) {
    const auto h = ints(v["hidden"]);
    const std::string act = v["activation"].get<std::string>();
    return "mlp_" + (h.empty() ? std::string("linear") : joined(h, "x")) + (act == "relu" ? "" : "_" + act);
  };
  f.build = [](const json& v, const InputShape& in) {
    const int64_t classes = v["num_classes"].get<int64_t>();
    const OpKind act = activationKind(v["activation"].get<std::string>());
    ProgramBuilder b(in, "field in_features");
    b.flatten();
    int index = 1;
    for (int64_t width : ints(v["hidden"])) {
      b.linear("fc" + std::to_string(index++), width);
      b.activation(act);
    }
    b.linear("fc" + std::to_string(index), classes);
    return b.finish(classes);
  };
  return f;
}

// ---- resnet ------------------------------------------------------------------------

Family resnet() {
  Family f;
  f.name = "resnet";
  f.summary = "CIFAR ResNet (He et al. 2016): 3 stages of basic blocks, widths w, 2w, 4w";
  FieldDef blocks = field("blocks", FieldType::IntList, json{3, 3, 3}, "basic blocks per stage");
  blocks.length = 3;
  blocks.label = "layers";  // the paper's word (Table 7)
  f.fields = {blocks, field("width", FieldType::Int, 16, "channels of the first stage"), inChannelsField(),
              numClassesField()};
  f.displayName = [](const json& v) {
    const auto b = ints(v["blocks"]);
    int64_t depth = 2;
    for (int64_t n : b) depth += 2 * n;
    const int64_t width = v["width"].get<int64_t>();
    const bool uniform = std::all_of(b.begin(), b.end(), [&](int64_t n) { return n == b.front(); });
    return "resnet" + std::to_string(depth) + (uniform ? "" : "_b" + joined(b, "-")) +
           (width == 16 ? "" : "_w" + std::to_string(width));
  };
  f.build = [](const json& v, const InputShape& in) {
    const int64_t classes = v["num_classes"].get<int64_t>();
    const int64_t width = v["width"].get<int64_t>();
    ProgramBuilder b(in, "dataset input size");
    b.conv("conv1", width, 3, 1, 1, 1, false);
    b.batchNorm("bn1");
    b.activation(OpKind::Relu);
    const auto blocks = ints(v["blocks"]);
    for (size_t stage = 0; stage < blocks.size(); ++stage) {
      const int64_t planes = width << stage;
      for (int64_t i = 0; i < blocks[stage]; ++i) {
        const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(i) + ".";
        const int64_t stride = (stage > 0 && i == 0) ? 2 : 1;
        const bool downsample = stride != 1 || b.channels() != planes;
        b.copy("x", "identity");
        b.conv(p + "conv1", planes, 3, stride, 1, 1, false);
        b.batchNorm(p + "bn1");
        b.activation(OpKind::Relu);
        b.conv(p + "conv2", planes, 3, 1, 1, 1, false);
        b.batchNorm(p + "bn2");
        if (downsample) {
          b.conv(p + "downsample.0", planes, 1, stride, 0, 1, false, "identity");
          b.batchNorm(p + "downsample.1", "identity");
        }
        b.add("identity", "x");
        b.activation(OpKind::Relu);
      }
    }
    b.adaptiveAvgPool(1);
    b.flatten();
    b.linear("fc", classes);
    return b.finish(classes);
  };
  return f;
}

// ---- vgg ---------------------------------------------------------------------------

Family vgg() {
  Family f;
  f.name = "vgg";
  f.summary = "VGG: 3x3 convs (+BN) and max pools, then a linear classifier";
  FieldDef layers = field("layers", FieldType::LayerList, json{16, "M", 32, "M", 64, "M"},
                  "conv widths and 'M' max pools, as torchvision's cfgs");
  FieldDef classifier = field("classifier", FieldType::IntList, json::array(), "hidden widths of the classifier");
  classifier.minLength = 0;
  f.fields = {layers, field("batch_norm", FieldType::Bool, true, "batch norm after each conv"), classifier,
              inChannelsField(), inputSizeField(), numClassesField()};
  f.displayName = [](const json& v) {
    // Depth alone names several networks; the presets keep their short names (see nameOf).
    const auto hidden = ints(v["classifier"]);
    int64_t depth = 1 + int64_t(hidden.size());
    std::string layers;
    for (const auto& e : v["layers"]) {
      depth += e.is_string() ? 0 : 1;
      layers += (layers.empty() ? "" : "-") + (e.is_string() ? "M" : e.dump());
    }
    return "vgg" + std::to_string(depth) + (v["batch_norm"].get<bool>() ? "_bn" : "") + "_c" + layers +
           (hidden.empty() ? "" : "_h" + joined(hidden, "-"));
  };
  f.build = [](const json& v, const InputShape& in) {
    const int64_t classes = v["num_classes"].get<int64_t>();
    const bool bn = v["batch_norm"].get<bool>();
    ProgramBuilder b(in, "field layers");
    int index = 0;
    auto next = [&]() { return "features." + std::to_string(index++); };
    for (const auto& e : v["layers"]) {
      if (e.is_string()) {
        b.pool(OpKind::MaxPool2d, 2, 2, next());
        continue;
      }
      b.conv(next(), e.get<int64_t>(), 3, 1, 1);
      if (bn) b.batchNorm(next());
      b.activation(OpKind::Relu);
      ++index;
    }
    b.flatten();
    int c = 0;
    for (int64_t width : ints(v["classifier"])) {
      b.linear("classifier." + std::to_string(c), width);
      b.activation(OpKind::Relu);
      c += 3;  // Linear, ReLU, Dropout
    }
    b.linear("classifier." + std::to_string(c), classes);
    return b.finish(classes);
  };
  return f;
}

// ---- mobilenetv2 -------------------------------------------------------------------

// torchvision's _make_divisible: round to a multiple of 8, never more than 10% down.
int64_t makeDivisible(double v, int64_t divisor = 8) {
  int64_t n = std::max(divisor, int64_t(v + double(divisor) / 2) / divisor * divisor);
  if (double(n) < 0.9 * v) n += divisor;
  return n;
}

int64_t defaultFinalChannels(double widthMultiplier) { return makeDivisible(1280 * std::max(1.0, widthMultiplier)); }

std::string widthTag(double w) {
  std::string s = json(w).dump();
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

Family mobileNetV2() {
  Family f;
  f.name = "mobilenetv2";
  f.summary = "MobileNetV2 (Sandler et al. 2018) with CIFAR strides (chenyaofo), for 28-32 px images";
  FieldDef finalChannels = field("final_layer_channels", FieldType::Int, nullptr,
                         "channels of the last 1x1 conv (default 1280 x max(1, width_multiplier))");
  f.fields = {field("width_multiplier", FieldType::Number, 1.0, "scales every layer's channels"), finalChannels,
              inChannelsField(), numClassesField()};
  f.completeDefaults = [](json& v) {
    if (!v.contains("final_layer_channels"))
      v["final_layer_channels"] = defaultFinalChannels(v["width_multiplier"].get<double>());
  };
  f.displayName = [](const json& v) {
    const double w = v["width_multiplier"].get<double>();
    const int64_t last = v["final_layer_channels"].get<int64_t>();
    return "mobilenetv2_x" + widthTag(w) + (last == defaultFinalChannels(w) ? "" : "_f" + std::to_string(last));
  };
  f.build = [](const json& v, const InputShape& in) {
    const int64_t classes = v["num_classes"].get<int64_t>();
    const double w = v["width_multiplier"].get<double>();
    // expansion t, channels c, repeats n, stride s; strides 2->1 in the first two
    // places for small images, as chenyaofo/pytorch-cifar-models does.
    const int64_t settings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 1},  {6, 32, 3, 2},  {6, 64, 4, 2},
                                    {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    ProgramBuilder b(in, "dataset input size");
    auto convBnRelu = [&](const std::string& p, int64_t out, int64_t k, int64_t stride, int64_t groups,
                          const std::string& reg) {
      b.conv(p + ".0", out, k, stride, (k - 1) / 2, groups, false, reg);
      b.batchNorm(p + ".1", reg);
      b.activation(OpKind::Relu6, reg);
    };
    convBnRelu("features.0", makeDivisible(32 * w), 3, 1, 1, "x");
    int index = 1;
    for (const auto& s : settings) {
      const int64_t out = makeDivisible(double(s[1]) * w);
      for (int64_t i = 0; i < s[2]; ++i, ++index) {
        const std::string p = "features." + std::to_string(index) + ".conv.";
        const int64_t in = b.channels();
        const int64_t stride = i == 0 ? s[3] : 1;
        const int64_t hidden = std::llround(double(in) * double(s[0]));
        const bool residual = stride == 1 && in == out;
        const std::string reg = residual ? "branch" : "x";
        if (residual) b.copy("x", "branch");
        int m = 0;
        if (s[0] != 1) convBnRelu(p + std::to_string(m++), hidden, 1, 1, 1, reg);
        convBnRelu(p + std::to_string(m++), hidden, 3, stride, hidden, reg);
        b.conv(p + std::to_string(m++), out, 1, 1, 0, 1, false, reg);
        b.batchNorm(p + std::to_string(m++), reg);
        if (residual) b.add("branch", "x");
      }
    }
    convBnRelu("features." + std::to_string(index), v["final_layer_channels"].get<int64_t>(), 1, 1, 1, "x");
    b.adaptiveAvgPool(1);
    b.flatten();
    b.linear("classifier.1", classes);
    return b.finish(classes);
  };
  return f;
}

}  // namespace

const std::vector<Family>& families() {
  static const std::vector<Family> all = {tinyCnn(), mlp(), resnet(), vgg(), mobileNetV2()};
  return all;
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> all = [] {
    std::vector<Preset> p;
    p.push_back({"tinycnn", "tinycnn", json::object(), "Tiny Model Zoo CNN, 2,464 parameters on MNIST-sized data"});
    for (int64_t n : {3, 5, 7, 9, 18})
      p.push_back({"resnet" + std::to_string(6 * n + 2), "resnet", {{"blocks", {n, n, n}}},
                   "CIFAR ResNet-" + std::to_string(6 * n + 2)});
    p.push_back({"vgg4_bn", "vgg", json::object(), "3 convs with BN, 3 pools, linear classifier"});
    p.push_back({"vgg8_bn", "vgg",
                 {{"layers", {32, "M", 64, "M", 128, 128, "M", 256, 256, "M"}}, {"classifier", {256}}},
                 "6 convs with BN, 4 pools, one hidden linear"});
    p.push_back({"vgg11_bn", "vgg",
                 {{"layers", {64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"}},
                  {"classifier", {512, 512}}},
                 "torchvision configuration A with CIFAR classifier; needs 32x32 or larger images"});
    for (double w : {0.5, 0.75, 1.0, 1.4})
      p.push_back({"mobilenetv2_x" + widthTag(w), "mobilenetv2", {{"width_multiplier", w}},
                   "MobileNetV2, width multiplier " + json(w).dump()});
    return p;
  }();
  return all;
}

}  // namespace igpg::arch
