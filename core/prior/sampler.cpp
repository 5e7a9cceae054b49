#include "prior/sampler.h"

#include "common/error.h"
#include "prior/step_graph.h"
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

torch::Tensor gumbelNoise(int64_t steps, int64_t batch, int64_t vocab, at::Generator& generator) {
  auto u = torch::rand({steps, batch, vocab}, generator, torch::kFloat64);  // [0, 1)
  return -torch::log(-torch::log(u));  // u == 0 gives -inf: that token is never drawn
}

torch::Tensor sampleNext(const torch::Tensor& logits, const SamplingOptions& o, const torch::Tensor& gumbel) {
  if (o.temperature <= 0) return logits.argmax(-1);
  const double inf = std::numeric_limits<double>::infinity();
  auto l = logits / o.temperature;  // (B, V)
  if (o.topK > 0 && o.topK < l.size(-1)) {
    auto kth = std::get<0>(l.topk(o.topK, -1)).narrow(-1, o.topK - 1, 1);  // (B, 1)
    l = l.masked_fill(l < kth, -inf);
  }
  if (o.topP < 1.0) {
    auto sorted = l.sort(-1, /*descending=*/true);
    auto values = std::get<0>(sorted), order = std::get<1>(sorted);
    auto probs = torch::softmax(values, -1);
    // Keep the smallest prefix whose mass reaches topP (always at least the best token).
    auto drop = (probs.cumsum(-1) - probs) >= o.topP;
    l = l.masked_fill(torch::zeros_like(drop).scatter(-1, order, drop), -inf);
  }
  return (l + gumbel.to(l.scalar_type())).argmax(-1);
}

namespace {

// Everything one decoding step reads and writes, at fixed shapes and addresses, so that
// the step can be recorded once as a CUDA graph (step_graph.h) and replayed per token.
struct DecodeState {
  GPT gpt{nullptr};
  SamplingOptions options;
  TokenStructure structure;  // (B, L, ...) of the whole sequence, on the device
  torch::Tensor tokens;      // (B, L) int64 on the device
  torch::Tensor logits;      // (B, V): the next token's
  torch::Tensor gumbel;      // (N, B, V): the current block's noise
  torch::Tensor t;           // (1) int64: the token being drawn
  torch::Tensor k;           // (1) int64: its index in the block, into gumbel
  KVCache cache;

  // Draws token t from the logits, then feeds it to get the logits of token t + 1.
  void step() {
    auto next = sampleNext(logits, options, gumbel.index_select(0, k).squeeze(0));  // (B)
    tokens.index_copy_(1, t, next.unsqueeze(1));
    // The block's last step computes logits nobody reads; clamping keeps it in range.
    auto following = (t + 1).clamp_max(tokens.size(1) - 1);
    TokenStructure s{structure.features.index_select(1, following), structure.roles.index_select(1, following),
                     structure.inChunk.index_select(1, following)};
    logits.copy_(gpt->step(cache, next, s));
    t.add_(1);
    k.add_(1);
  }
};

}  // namespace

SampleResult sampleSequence(GPT& gpt, const torch::Tensor& prefix, const TokenStructure& structure, int64_t length,
                            const SamplingOptions& options, const JobControl& job) {
  torch::NoGradGuard noGrad;
  gpt->eval();
  const int64_t B = prefix.size(0);
  const int64_t N = gpt->options().contextLength;
  const int64_t V = gpt->options().vocabSize;
  const auto device = prefix.device();
  if (length <= 0) fail(ErrorKind::Config, "length", "nothing to sample");
  TORCH_CHECK(structure.features.size(1) == length, "sampleSequence: structure describes ",
              structure.features.size(1), " tokens, the sequence has ", length);
  auto generator = at::detail::createCPUGenerator(options.seed);
  SampleResult result;
  result.blocks = blockSchedule(length, N, options.contextOverlap);

  DecodeState s;
  s.gpt = gpt;
  s.options = options;
  s.structure = structureTo(structure.features.size(0) == B ? structure : expandStructure(structure, B), device);
  s.tokens = torch::zeros({B, length}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  s.logits = torch::zeros({B, V}, prefix.options());
  s.gumbel = torch::zeros({N, B, V}, prefix.options());
  s.t = torch::zeros({1}, s.tokens.options());
  s.k = torch::zeros({1}, s.tokens.options());
  s.cache = gpt->newCache(B, conditionLength(gpt->options()) + N, device);
  StepGraph graph([&s] { s.step(); }, device, options.cudaGraph);

  ProgressReporter progress(job, "sample", length);
  for (const auto& block : result.blocks) {
    const int64_t ctx = block.begin - block.contextBegin;
    const int64_t n = block.end - block.begin;
    if (options.temperature > 0) s.gumbel.narrow(0, 0, n).copy_(gumbelNoise(n, B, V, generator));  // greedy needs none
    auto context = ctx > 0 ? s.tokens.narrow(1, block.contextBegin, ctx) : torch::Tensor();
    if (options.useCache) {
      s.logits.copy_(gpt->start(s.cache, prefix, context, sliceStructure(s.structure, block.contextBegin, ctx + 1)));
      s.t.fill_(block.begin);
      s.k.zero_();
      for (int64_t t = block.begin; t < block.end; ++t) {
        job.cancel.throwIfCancelled("sample");
        graph.run();
        progress.update(t + 1);
      }
    } else {
      for (int64_t t = block.begin; t < block.end; ++t) {
        job.cancel.throwIfCancelled("sample");
        const int64_t have = t - block.contextBegin;
        auto window = s.tokens.narrow(1, block.contextBegin, have + 1);  // last entry is a placeholder
        auto logits = gpt->forward(prefix, window, sliceStructure(s.structure, block.contextBegin, have + 1));
        auto next = sampleNext(logits.select(1, have), options, s.gumbel[t - block.begin]);
        s.tokens.select(1, t).copy_(next);
        progress.update(t + 1);
      }
    }
  }
  progress.finish();
  result.tokens = s.tokens.to(torch::kCPU);
  return result;
}

}  // namespace igpg
