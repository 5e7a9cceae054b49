#include "prior/fused_step.h"

#include "common/error.h"

#include <torch/torch.h>

#include <cstdint>

#ifdef IGPG_WITH_FUSED_STEP
#include <c10/cuda/CUDAStream.h>
#endif

namespace igpg {

std::optional<FusedStepPlan> planFusedStep(GPT& gpt, const DecodeBuffers& b, const SamplingOptions& options,
                                           std::string* why) {
  auto refuse = [why](const std::string& reason) {
    if (why) *why = reason;
    return std::optional<FusedStepPlan>();
  };
  const GPTOptions& o = gpt->options();
  const int64_t B = b.tokens.size(0), C = o.width, headDim = o.width / o.heads;
  if (int64_t(b.cache.keys.size()) != o.layers) return refuse("the cache does not hold every layer");
  const int64_t maxLength = b.cache.keys[0].size(2);
  if (B > fused::kMaxBatch)
    return refuse("a batch of " + std::to_string(B) + " rows; the kernels take up to " +
                  std::to_string(fused::kMaxBatch));
  if (C % 4 != 0) return refuse("width " + std::to_string(C) + " is not a multiple of 4");
  if (headDim > fused::kAttentionThreads || headDim % 4 != 0)
    return refuse("heads of " + std::to_string(headDim) + " values; the kernels take multiples of 4 up to " +
                  std::to_string(fused::kAttentionThreads));
  for (const torch::Tensor* t : {&b.logits, &b.gumbel, &b.inputs})
    if (t->scalar_type() != torch::kFloat32 || !t->is_contiguous()) return refuse("the step's buffers are not float32");
  for (const auto* list : {&b.cache.keys, &b.cache.values})
    for (const auto& t : *list)
      if (t.scalar_type() != torch::kFloat32 || !t.is_contiguous()) return refuse("the cache is not float32");

  auto params = gpt->named_parameters();
  std::string missing;
  // Every matrix and vector is read with 16-byte loads: float32, contiguous, aligned, and
  // where the step's buffers are.
  auto weight = [&](const std::string& name) -> const float* {
    const torch::Tensor* t = params.find(name);
    if (!t || t->device() != b.logits.device() || t->scalar_type() != torch::kFloat32 || !t->is_contiguous() ||
        reinterpret_cast<std::uintptr_t>(t->data_ptr()) % 16 != 0) {
      if (missing.empty()) missing = name;
      return nullptr;
    }
    return t->data_ptr<float>();
  };
  FusedStepPlan plan;
  for (int64_t i = 0; i < o.layers; ++i) {
    const std::string p = "blocks." + std::to_string(i) + ".";
    plan.layers.push_back({weight(p + "ln1.weight"), weight(p + "ln1.bias"), weight(p + "attn.qkv.weight"),
                           weight(p + "attn.qkv.bias"), weight(p + "attn.proj.weight"), weight(p + "attn.proj.bias"),
                           weight(p + "ln2.weight"), weight(p + "ln2.bias"), weight(p + "fc.weight"),
                           weight(p + "fc.bias"), weight(p + "out.weight"), weight(p + "out.bias"),
                           b.cache.keys[size_t(i)].data_ptr<float>(), b.cache.values[size_t(i)].data_ptr<float>()});
  }
  plan.io.tokenEmbedding = weight("token_embedding.weight");
  plan.io.lnFinalWeight = weight("ln_final.weight");
  plan.io.lnFinalBias = weight("ln_final.bias");
  plan.io.headWeight = weight("head.weight");
  if (!missing.empty()) return refuse("weight " + missing + " is not a float32 tensor the kernels can read there");

  plan.options = options;
  const int64_t V = o.vocabSize;
  plan.filtered = options.temperature > 0 && ((options.topK > 0 && options.topK < V) || options.topP < 1.0);
  plan.shapes = {int(B), int(C), int(o.heads), int(V), int(b.gumbel.size(0)), int(maxLength), b.tokens.size(1)};
  const auto f = b.logits.options();
  plan.hidden = torch::zeros({B, C}, f);
  plan.qkv = torch::zeros({B, 3 * C}, f);
  plan.attention = torch::zeros({B, C}, f);
  plan.mlp = torch::zeros({B, 4 * C}, f);
  plan.partials = torch::zeros({fused::attentionPartialFloats(int(B), int(o.heads), int(maxLength), int(headDim))}, f);
  plan.arrivals = torch::zeros({B, o.heads}, f.dtype(torch::kInt32));
  plan.chosen = torch::zeros({B}, b.tokens.options());
  plan.io.hidden = plan.hidden.data_ptr<float>();
  plan.io.qkv = plan.qkv.data_ptr<float>();
  plan.io.attention = plan.attention.data_ptr<float>();
  plan.io.mlp = plan.mlp.data_ptr<float>();
  plan.io.partials = plan.partials.data_ptr<float>();
  plan.io.arrivals = plan.arrivals.data_ptr<int>();
  plan.io.chosen = plan.filtered ? plan.chosen.data_ptr<int64_t>() : nullptr;
  return plan;
}

fused::StepBuffers FusedStepPlan::prepare(DecodeBuffers& b) {
  if (filtered) {
    auto k = b.counters.narrow(0, 1, 1);
    chosen.copy_(sampleNext(b.logits, options, b.gumbel.index_select(0, k).squeeze(0)));
  }
  fused::StepBuffers step = io;
  step.logits = b.logits.data_ptr<float>();
  step.gumbel = b.gumbel.data_ptr<float>();
  step.inputs = b.inputs.data_ptr<float>();
  step.counters = b.counters.data_ptr<int64_t>();
  step.tokens = b.tokens.data_ptr<int64_t>();
  step.cacheLength = b.cache.length.data_ptr<int64_t>();
  return step;
}

FusedDecodeStep::FusedDecodeStep(FusedStepPlan plan) : plan_(std::move(plan)) {}
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
  if (!available()) return refuse("this build has no CUDA kernels of its own");
  if (!b.logits.is_cuda()) return refuse("the step is not on CUDA");
  auto plan = planFusedStep(gpt, b, options, why);
  if (!plan) return {};
  return std::unique_ptr<FusedDecodeStep>(new FusedDecodeStep(std::move(*plan)));
}

void FusedDecodeStep::run(DecodeBuffers& b) {
#ifdef IGPG_WITH_FUSED_STEP
  const fused::StepBuffers io = plan_.prepare(b);
  const auto stream = c10::cuda::getCurrentCUDAStream(b.logits.device().index()).stream();
  if (const char* error = fused::decodeStep(plan_.shapes, io, plan_.layers.data(), int(plan_.layers.size()),
                                            plan_.inverseTemperature(), plan_.greedy(), stream))
    fail(ErrorKind::Device, "fused decoding step", error);
  b.cache.filled += 1;
#else
  (void)b;
  fail(ErrorKind::Internal, "fused decoding step", "this build has no CUDA kernels of its own");
#endif
}

}  // namespace igpg
