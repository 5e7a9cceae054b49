#include "prior/fused_step.h"

#include "common/error.h"

#include <torch/torch.h>

#ifdef IGPG_WITH_FUSED_STEP
#include "prior/fused_step_kernels.h"

#include <c10/cuda/CUDAStream.h>

#include <cstdint>
#include <vector>
#endif

namespace igpg {

struct FusedDecodeStep::Impl {
#ifdef IGPG_WITH_FUSED_STEP
  SamplingOptions options;
  bool filtered = false;  // top-k or top-p: sampleNext draws the token, the kernels take it
  std::vector<fused::LayerWeights> layers;
  fused::StepShapes shapes{};
  fused::StepBuffers io{};
  torch::Tensor hidden, qkv, attention, mlp, partials, arrivals, chosen;  // scratch that outlives the recorded step
#endif
};

FusedDecodeStep::FusedDecodeStep() : impl_(std::make_unique<Impl>()) {}
FusedDecodeStep::~FusedDecodeStep() = default;

bool FusedDecodeStep::available() {
#ifdef IGPG_WITH_FUSED_STEP
  return true;
#else
  return false;
#endif
}

std::unique_ptr<FusedDecodeStep> FusedDecodeStep::create(GPT& gpt, const DecodeBuffers& b,
                                                         const SamplingOptions& options, std::string* why) {
  auto refuse = [why](const std::string& reason) {
    if (why) *why = reason;
    return std::unique_ptr<FusedDecodeStep>();
  };
#ifndef IGPG_WITH_FUSED_STEP
  (void)gpt, (void)b, (void)options;
  return refuse("this build has no CUDA kernels of its own");
#else
  const GPTOptions& o = gpt->options();
  const int64_t B = b.tokens.size(0), C = o.width, headDim = o.width / o.heads;
  const int64_t maxLength = b.cache.keys.empty() ? 0 : b.cache.keys[0].size(2);
  if (!b.logits.is_cuda()) return refuse("the step is not on CUDA");
  if (B > fused::kMaxBatch)
    return refuse("a batch of " + std::to_string(B) + " rows; the kernels take up to " +
                  std::to_string(fused::kMaxBatch));
  if (C % 4 != 0) return refuse("width " + std::to_string(C) + " is not a multiple of 4");
  if (headDim > fused::kAttentionThreads || headDim % 4 != 0)
    return refuse("heads of " + std::to_string(headDim) + " values; the kernels take multiples of 4 up to " +
                  std::to_string(fused::kAttentionThreads));
  for (const torch::Tensor* t : {&b.logits, &b.gumbel, &b.inputs})
    if (t->scalar_type() != torch::kFloat32 || !t->is_contiguous()) return refuse("the step's buffers are not float32");
  for (const auto& t : b.cache.keys)
    if (t.scalar_type() != torch::kFloat32 || !t.is_contiguous()) return refuse("the cache is not float32");

  auto params = gpt->named_parameters();
  std::string missing;
  // Every matrix and vector is read with 16-byte loads: float32, contiguous, aligned.
  auto weight = [&](const std::string& name) -> const float* {
    const torch::Tensor* t = params.find(name);
    if (!t || !t->is_cuda() || t->scalar_type() != torch::kFloat32 || !t->is_contiguous() ||
        reinterpret_cast<std::uintptr_t>(t->data_ptr()) % 16 != 0) {
      if (missing.empty()) missing = name;
      return nullptr;
    }
    return t->data_ptr<float>();
  };
  auto step = std::unique_ptr<FusedDecodeStep>(new FusedDecodeStep());
  Impl& s = *step->impl_;
  for (int64_t i = 0; i < o.layers; ++i) {
    const std::string p = "blocks." + std::to_string(i) + ".";
    s.layers.push_back({weight(p + "ln1.weight"), weight(p + "ln1.bias"), weight(p + "attn.qkv.weight"),
                        weight(p + "attn.qkv.bias"), weight(p + "attn.proj.weight"), weight(p + "attn.proj.bias"),
                        weight(p + "ln2.weight"), weight(p + "ln2.bias"), weight(p + "fc.weight"),
                        weight(p + "fc.bias"), weight(p + "out.weight"), weight(p + "out.bias"),
                        b.cache.keys[i].data_ptr<float>(), b.cache.values[i].data_ptr<float>()});
  }
  s.io.tokenEmbedding = weight("token_embedding.weight");
  s.io.lnFinalWeight = weight("ln_final.weight");
  s.io.lnFinalBias = weight("ln_final.bias");
  s.io.headWeight = weight("head.weight");
  if (!missing.empty()) return refuse("weight " + missing + " is not a float32 CUDA tensor the kernels can read");

  s.options = options;
  const int64_t V = o.vocabSize;
  s.filtered = options.temperature > 0 && ((options.topK > 0 && options.topK < V) || options.topP < 1.0);
  s.shapes = {int(B), int(C), int(o.heads), int(V), int(b.gumbel.size(0)), int(maxLength), b.tokens.size(1)};
  const auto f = b.logits.options();
  s.hidden = torch::zeros({B, C}, f);
  s.qkv = torch::zeros({B, 3 * C}, f);
  s.attention = torch::zeros({B, C}, f);
  s.mlp = torch::zeros({B, 4 * C}, f);
  s.partials = torch::zeros({fused::attentionPartialFloats(int(B), int(o.heads), int(maxLength), int(headDim))}, f);
  s.arrivals = torch::zeros({B, o.heads}, f.dtype(torch::kInt32));
  s.chosen = torch::zeros({B}, b.tokens.options());
  s.io.hidden = s.hidden.data_ptr<float>();
  s.io.qkv = s.qkv.data_ptr<float>();
  s.io.attention = s.attention.data_ptr<float>();
  s.io.mlp = s.mlp.data_ptr<float>();
  s.io.partials = s.partials.data_ptr<float>();
  s.io.arrivals = s.arrivals.data_ptr<int>();
  s.io.chosen = s.filtered ? s.chosen.data_ptr<int64_t>() : nullptr;
  return step;
#endif
}

void FusedDecodeStep::run(DecodeBuffers& b) {
#ifndef IGPG_WITH_FUSED_STEP
  (void)b;
  fail(ErrorKind::Internal, "fused decoding step", "this build has no CUDA kernels of its own");
#else
  Impl& s = *impl_;
  if (s.filtered) {
    auto k = b.counters.narrow(0, 1, 1);
    s.chosen.copy_(sampleNext(b.logits, s.options, b.gumbel.index_select(0, k).squeeze(0)));
  }
  fused::StepBuffers io = s.io;
  io.logits = b.logits.data_ptr<float>();
  io.gumbel = b.gumbel.data_ptr<float>();
  io.inputs = b.inputs.data_ptr<float>();
  io.counters = b.counters.data_ptr<int64_t>();
  io.tokens = b.tokens.data_ptr<int64_t>();
  io.cacheLength = b.cache.length.data_ptr<int64_t>();
  const bool greedy = s.options.temperature <= 0;
  // As LibTorch divides by a scalar on CUDA: multiplies by its float reciprocal.
  const float inverseTemperature = greedy ? 1.f : 1.f / float(s.options.temperature);
  const auto stream = c10::cuda::getCurrentCUDAStream(b.logits.device().index()).stream();
  if (const char* error = fused::decodeStep(s.shapes, io, s.layers.data(), int(s.layers.size()), inverseTemperature,
                                            greedy, stream))
    fail(ErrorKind::Device, "fused decoding step", error);
  b.cache.filled += 1;
#endif
}

}  // namespace igpg
