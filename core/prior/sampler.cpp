#include "prior/sampler.h"

#include "common/error.h"
#include "prior/structure.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace igpg {

std::vector<SampledBlock> blockSchedule(int64_t length, int64_t contextLength, int64_t overlap) {
  if (overlap < 0) overlap = contextLength / 2;
  if (overlap >= contextLength)
    fail(ErrorKind::Config, "context-overlap",
         "must be smaller than the prior's context (" + std::to_string(contextLength) + ")");
  std::vector<SampledBlock> blocks;
  int64_t end = std::min(length, contextLength);
  blocks.push_back({0, 0, end});
  while (end < length) {
    const int64_t begin = end;
    end = std::min(length, begin + contextLength - overlap);
    blocks.push_back({begin - overlap, begin, end});
  }
  return blocks;
}

torch::Tensor sampleNext(const torch::Tensor& logits, const SamplingOptions& o, at::Generator& generator) {
  auto l = logits.to(torch::kCPU, torch::kFloat64);  // (B, V); sampling on the CPU keeps draws device-independent
  if (o.temperature <= 0) return l.argmax(-1);
  l = l / o.temperature;
  if (o.topK > 0 && o.topK < l.size(-1)) {
    auto kth = std::get<0>(l.topk(o.topK, -1)).select(-1, o.topK - 1).unsqueeze(-1);
    l = l.masked_fill(l < kth, -std::numeric_limits<double>::infinity());
  }
  if (o.topP < 1.0) {
    auto sorted = l.sort(-1, /*descending=*/true);
    auto values = std::get<0>(sorted), order = std::get<1>(sorted);
    auto cumulative = torch::softmax(values, -1).cumsum(-1);
    // Keep the smallest prefix whose mass reaches topP (always at least the best token).
    auto drop = (cumulative - torch::softmax(values, -1)) >= o.topP;
    auto mask = torch::zeros_like(drop).scatter(-1, order, drop);
    l = l.masked_fill(mask, -std::numeric_limits<double>::infinity());
  }
  auto probs = torch::softmax(l, -1);
  return torch::multinomial(probs, 1, false, generator).squeeze(-1);
}

SampleResult sampleSequence(GPT& gpt, const torch::Tensor& prefix, const TokenStructure& structure, int64_t length,
                            const SamplingOptions& options, const JobControl& job) {
  torch::NoGradGuard noGrad;
  gpt->eval();
  const int64_t B = prefix.size(0);
  const int64_t N = gpt->options().contextLength;
  const auto device = prefix.device();
  if (length <= 0) fail(ErrorKind::Config, "length", "nothing to sample");
  auto full = structureTo(structure.features.size(0) == B ? structure : expandStructure(structure, B), device);
  auto generator = at::detail::createCPUGenerator(options.seed);
  SampleResult result;
  result.blocks = blockSchedule(length, N, options.contextOverlap);
  auto tokens = torch::zeros({B, length}, torch::kInt64);
  ProgressReporter progress(job, "sample", length);
  for (const auto& block : result.blocks) {
    const int64_t ctx = block.begin - block.contextBegin;
    auto context = ctx > 0 ? tokens.narrow(1, block.contextBegin, ctx).to(device) : torch::Tensor();
    if (options.useCache) {
      KVCache cache = gpt->newCache(B, conditionLength(gpt->options()) + N, device);
      auto logits = gpt->start(cache, prefix, context, sliceStructure(full, block.contextBegin, ctx + 1));
      for (int64_t t = block.begin; t < block.end; ++t) {
        job.cancel.throwIfCancelled("sample");
        auto next = sampleNext(logits, options, generator);  // (B)
        tokens.select(1, t).copy_(next);
        progress.update(t + 1);
        if (t + 1 < block.end) logits = gpt->step(cache, next.to(device), sliceStructure(full, t + 1, 1));
      }
    } else {
      for (int64_t t = block.begin; t < block.end; ++t) {
        job.cancel.throwIfCancelled("sample");
        const int64_t have = t - block.contextBegin;
        auto window = tokens.narrow(1, block.contextBegin, have + 1).to(device);  // last entry is a placeholder
        auto logits = gpt->forward(prefix, window, sliceStructure(full, block.contextBegin, have + 1));
        auto next = sampleNext(logits.select(1, have), options, generator);
        tokens.select(1, t).copy_(next);
        progress.update(t + 1);
      }
    }
  }
  progress.finish();
  result.tokens = tokens;
  return result;
}

}  // namespace igpg
