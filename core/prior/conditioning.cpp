#include "prior/conditioning.h"

#include "common/error.h"
#include "common/sha256.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <cctype>
#include <cmath>

namespace igpg {

namespace {

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// A fixed pseudo-random tensor for a key: the same on every machine and LibTorch version
// (splitmix64, not LibTorch's generators).
torch::Tensor keyedRandom(const std::string& key, std::vector<int64_t> shape, bool signs) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  auto out = torch::empty({n});
  float* p = out.data_ptr<float>();
  uint64_t state = fnv1a(key);
  for (int64_t i = 0; i < n; ++i) {
    state += 0x9e3779b97f4a7c15ULL;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    const double u = double(z >> 11) / double(1ULL << 53);  // [0, 1)
    p[i] = signs ? (u < 0.5 ? -1.f : 1.f) : float(std::sqrt(12.0) * (u - 0.5));  // unit variance
  }
  return out.reshape(shape);
}

// Smooth code of a non-negative magnitude: Gaussian bumps over log2(1 + |v|), and the sign.
constexpr int64_t kMagnitudeBumps = 14;
torch::Tensor magnitudeCode(double v) {
  auto code = torch::empty({kMagnitudeBumps + 1});
  const double x = std::log2(1.0 + std::fabs(v));
  for (int64_t i = 0; i < kMagnitudeBumps; ++i) code[i] = std::exp(-0.5 * std::pow((x - double(i)) / 0.75, 2));
  code[kMagnitudeBumps] = v < 0 ? -1.0 : (v > 0 ? 1.0 : 0.0);
  return code;
}

class BuiltinTextEncoder : public TextEncoder {
 public:
  std::string id() const override { return "builtin-text-v1"; }
  int64_t dim() const override { return kWords + kNumbers; }

  torch::Tensor encode(const std::string& text) override {
    auto words = torch::zeros({kWords});
    auto numbers = torch::zeros({kNumbers});
    std::string key = "_";
    int64_t listIndex = -1, depth = 0, wordCount = 0;
    std::map<std::string, double> listSums;
    size_t i = 0;
    while (i < text.size()) {
      const char c = text[i];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t j = i;
        while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) ++j;
        std::string word = text.substr(i, j - i);
        for (auto& ch : word) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        words += keyedRandom("word:" + word, {kWords}, true);
        ++wordCount;
        // A word directly followed by ':' or '=' names the field of the numbers after it.
        size_t k = j;
        while (k < text.size() && text[k] == ' ') ++k;
        if (k < text.size() && (text[k] == ':' || text[k] == '=')) key = word;
        i = j;
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 ((c == '-' || c == '.') && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])))) {
        size_t used = 0;
        const double v = std::stod(text.substr(i), &used);
        const std::string slot = key + "#" + std::to_string(std::max<int64_t>(listIndex, 0));
        numbers += torch::matmul(keyedRandom("num:" + slot, {kNumbers, kMagnitudeBumps + 1}, false), magnitudeCode(v));
        if (depth > 0) {
          listSums[key] += v;
          ++listIndex;
        }
        i += used;
      } else {
        if (c == '[') {
          ++depth;
          listIndex = 0;
        } else if (c == ']') {
          depth = std::max<int64_t>(0, depth - 1);
          if (depth == 0) listIndex = -1;
        }
        ++i;
      }
    }
    // Totals of lists (e.g. the number of blocks) as numbers of their own.
    for (const auto& [k, sum] : listSums)
      numbers += torch::matmul(keyedRandom("sum:" + k, {kNumbers, kMagnitudeBumps + 1}, false), magnitudeCode(sum));
    if (wordCount > 0) words /= std::sqrt(double(wordCount));
    return torch::cat({words, numbers / std::sqrt(double(kNumbers))});
  }

 private:
  static constexpr int64_t kWords = 64;
  static constexpr int64_t kNumbers = 192;
};

// Two random convolution layers over 28x28 single-channel images; features are spatial
// averages and maxima of the responses plus a coarse 4x4 thumbnail.
class BuiltinImageEncoder : public ImageEncoder {
 public:
  BuiltinImageEncoder() {
    w1_ = keyedRandom("image-conv1", {kC1, 1, 5, 5}, false);
    w1_ = w1_ - w1_.mean({1, 2, 3}, true);
    w1_ = w1_ / w1_.pow(2).sum({1, 2, 3}, true).sqrt();
    w2_ = keyedRandom("image-conv2", {kC2, kC1, 3, 3}, false) / std::sqrt(double(kC1 * 9));
  }
  std::string id() const override { return "builtin-image-v1"; }
  int64_t dim() const override { return kC1 + 2 * kC2 + 16; }

  torch::Tensor encode(const torch::Tensor& images) override {
    torch::NoGradGuard noGrad;
    TORCH_CHECK(images.dim() == 4, "image encoder: expected (N, C, H, W), got ", images.sizes());
    auto x = images.to(torch::kCPU, torch::kFloat32).mean(1, true);  // (N, 1, H, W)
    if (x.size(2) != 28 || x.size(3) != 28)
      x = torch::nn::functional::interpolate(
          x, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{28, 28}).mode(torch::kBilinear).align_corners(false));
    auto h1 = torch::relu(torch::conv2d(x, w1_));                   // (N, C1, 24, 24)
    auto p1 = torch::max_pool2d(h1, 2);                             // (N, C1, 12, 12)
    auto h2 = torch::relu(torch::conv2d(p1, w2_));                  // (N, C2, 10, 10)
    auto thumb = torch::adaptive_avg_pool2d(x, {4, 4}).flatten(1);  // (N, 16)
    return torch::cat({p1.mean({2, 3}), h2.mean({2, 3}), h2.amax({2, 3}), thumb}, 1);
  }

 private:
  static constexpr int64_t kC1 = 32, kC2 = 48;
  torch::Tensor w1_, w2_;
};

std::string fileId(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return "torchscript:" + sha256Hex(bytes);
}

torch::jit::Module loadScript(const std::string& path) {
  try {
    return torch::jit::load(path);
  } catch (const c10::Error& e) {
    fail(ErrorKind::Format, path, std::string("not a TorchScript module: ") + e.what_without_backtrace());
  }
}

class ScriptTextEncoder : public TextEncoder {
 public:
  explicit ScriptTextEncoder(const std::string& path) : path_(path), module_(loadScript(path)), id_(fileId(path)) {
    dim_ = encode("probe").numel();
  }
  std::string id() const override { return id_; }
  int64_t dim() const override { return dim_; }
  torch::Tensor encode(const std::string& text) override {
    torch::NoGradGuard noGrad;
    torch::Tensor out;
    try {
      auto result = module_.forward({text});
      if (!result.isTensor()) fail(ErrorKind::Mismatch, path_, "text encoder must return a tensor");
      out = result.toTensor();
    } catch (const c10::Error& e) {
      fail(ErrorKind::Mismatch, path_, std::string("text encoder failed: ") + e.what_without_backtrace());
    }
    if (!(out.dim() == 1 || (out.dim() == 2 && out.size(0) == 1)) || out.numel() == 0 || !out.is_floating_point())
      fail(ErrorKind::Mismatch, path_, "text encoder must return a float tensor of shape (D) or (1, D)");
    out = out.reshape({-1}).to(torch::kCPU, torch::kFloat32);
    if (dim_ > 0 && out.numel() != dim_)
      fail(ErrorKind::Mismatch, path_, "text encoder returned " + std::to_string(out.numel()) + " values, earlier " +
                                           std::to_string(dim_));
    if (!torch::isfinite(out).all().item<bool>()) fail(ErrorKind::Mismatch, path_, "text encoder returned NaN or inf");
    return out;
  }

 private:
  std::string path_;
  torch::jit::Module module_;
  std::string id_;
  int64_t dim_ = 0;
};

class ScriptImageEncoder : public ImageEncoder {
 public:
  explicit ScriptImageEncoder(const std::string& path) : path_(path), module_(loadScript(path)), id_(fileId(path)) {
    dim_ = encode(torch::zeros({2, 1, 28, 28})).size(1);
  }
  std::string id() const override { return id_; }
  int64_t dim() const override { return dim_; }
  torch::Tensor encode(const torch::Tensor& images) override {
    torch::NoGradGuard noGrad;
    torch::Tensor out;
    try {
      auto result = module_.forward({images});
      if (!result.isTensor()) fail(ErrorKind::Mismatch, path_, "image encoder must return a tensor");
      out = result.toTensor();
    } catch (const c10::Error& e) {
      fail(ErrorKind::Mismatch, path_, std::string("image encoder failed: ") + e.what_without_backtrace());
    }
    if (out.dim() != 2 || out.size(0) != images.size(0) || !out.is_floating_point())
      fail(ErrorKind::Mismatch, path_,
           "image encoder must return a float tensor of shape (N, D) for N images; got " +
               c10::str(out.sizes()) + " for " + std::to_string(images.size(0)));
    if (dim_ > 0 && out.size(1) != dim_)
      fail(ErrorKind::Mismatch, path_, "image encoder returned " + std::to_string(out.size(1)) + " features, earlier " +
                                           std::to_string(dim_));
    out = out.to(torch::kCPU, torch::kFloat32);
    if (!torch::isfinite(out).all().item<bool>()) fail(ErrorKind::Mismatch, path_, "image encoder returned NaN or inf");
    return out;
  }

 private:
  std::string path_;
  torch::jit::Module module_;
  std::string id_;
  int64_t dim_ = 0;
};

}  // namespace

std::unique_ptr<TextEncoder> makeBuiltinTextEncoder() { return std::make_unique<BuiltinTextEncoder>(); }
std::unique_ptr<ImageEncoder> makeBuiltinImageEncoder() { return std::make_unique<BuiltinImageEncoder>(); }
std::unique_ptr<TextEncoder> loadTorchScriptTextEncoder(const std::string& path) {
  return std::make_unique<ScriptTextEncoder>(path);
}
std::unique_ptr<ImageEncoder> loadTorchScriptImageEncoder(const std::string& path) {
  return std::make_unique<ScriptImageEncoder>(path);
}

std::unique_ptr<TextEncoder> makeTextEncoder(const std::string& spec) {
  return spec.empty() || spec == "builtin" ? makeBuiltinTextEncoder() : loadTorchScriptTextEncoder(spec);
}
std::unique_ptr<ImageEncoder> makeImageEncoder(const std::string& spec) {
  return spec.empty() || spec == "builtin" ? makeBuiltinImageEncoder() : loadTorchScriptImageEncoder(spec);
}

std::string architectureInstruction(const std::string& family, const std::string& fields, int64_t sequenceLength) {
  return "Instruction: You are a codebook generator. Input: Generate the full codebook of length " +
         std::to_string(sequenceLength) + " for " + family + " with: " + fields + ".";
}

int64_t datasetEmbeddingDim(const ImageEncoder& encoder) { return 2 * encoder.dim() + kMagnitudeBumps + 1; }

torch::Tensor datasetEmbedding(ImageEncoder& encoder, const torch::Tensor& images, const torch::Tensor& labels,
                               int64_t numClasses) {
  TORCH_CHECK(images.size(0) == labels.size(0) && images.size(0) > 0, "datasetEmbedding: need labelled images");
  auto features = encoder.encode(images);  // (N, D)
  const int64_t D = features.size(1);
  auto mean = features.mean(0);
  auto bound = torch::zeros({D});
  for (int64_t c = 0; c < numClasses; ++c) {
    auto rows = (labels.to(torch::kCPU) == c).nonzero().reshape({-1});
    if (rows.numel() == 0) continue;
    auto classMean = features.index_select(0, rows).mean(0) - mean;
    bound += classMean * keyedRandom("class:" + std::to_string(c), {D}, true);
  }
  bound /= std::sqrt(double(std::max<int64_t>(1, numClasses)));
  return torch::cat({mean, bound, magnitudeCode(double(numClasses))});
}

}  // namespace igpg
