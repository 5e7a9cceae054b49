#include "prior/sampler.h"

#include "common/error.h"
#include "prior/fused_step.h"
#include "prior/step_graph.h"
#include "prior/structure.h"

#include <torch/torch.h>

#include <map>
#include <string>

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
  auto u = torch::rand({steps, batch, vocab}, generator,
                       torch::TensorOptions().dtype(torch::kFloat64).device(generator.device()));  // [0, 1)
  return -torch::log(-torch::log(u));  // u == 0 gives -inf: that token is never drawn
}

namespace {

// logits (B, V) divided by the temperature, with the tokens top-k and top-p drop at -inf.
torch::Tensor filteredLogits(const torch::Tensor& logits, const SamplingOptions& o) {
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
  return l;
}

}  // namespace

torch::Tensor sampleNext(const torch::Tensor& logits, const SamplingOptions& o, const torch::Tensor& gumbel) {
  if (o.temperature <= 0) return logits.argmax(-1);
  auto l = filteredLogits(logits, o);
  return (l + gumbel.to(l.scalar_type())).argmax(-1);
}

std::vector<int64_t> systematicDraws(const torch::Tensor& probs, int64_t count, std::mt19937_64& rng) {
  TORCH_CHECK(probs.dim() == 1 && probs.scalar_type() == torch::kFloat64 && probs.device().is_cpu(),
              "systematicDraws: probabilities must be (V) float64 on the CPU");
  // Written out rather than std::uniform_real_distribution and std::shuffle, whose
  // results differ between standard libraries: a seed draws the same samples everywhere.
  auto uniform = [&rng] { return double(rng() >> 11) * 0x1.0p-53; };  // [0, 1)
  std::vector<int64_t> strata(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) strata[size_t(i)] = i;
  for (int64_t i = count - 1; i > 0; --i) std::swap(strata[size_t(i)], strata[size_t(rng() % uint64_t(i + 1))]);
  const double u = uniform();
  auto p = probs.accessor<double, 1>();
  double total = 0;
  for (int64_t v = 0; v < p.size(0); ++v) total += p[v];
  TORCH_CHECK(total > 0, "systematicDraws: no token has a positive probability");
  std::vector<int64_t> draws;
  draws.reserve(size_t(count));
  for (int64_t s : strata) {
    const double q = (u + double(s)) / double(count) * total;
    int64_t token = -1;
    double below = 0;
    for (int64_t v = 0; v < p.size(0); ++v) {
      if (p[v] <= 0) continue;
      token = v;  // rounding can leave q past the last sum: then the last possible token
      below += p[v];
      if (q < below) break;
    }
    draws.push_back(token);
  }
  return draws;
}

DecodeBuffers newDecodeBuffers(GPT& gpt, int64_t batch, int64_t length, int64_t prefixLength,
                               const torch::TensorOptions& like) {
  const GPTOptions& o = gpt->options();
  const auto device = like.device();
  DecodeBuffers b;
  b.tokens = torch::zeros({batch, length}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  b.logits = torch::zeros({batch, o.vocabSize}, like);
  b.gumbel = torch::zeros({o.contextLength, batch, o.vocabSize}, like);
  b.inputs = torch::zeros({batch, o.contextLength, o.width}, like);
  b.counters = torch::zeros({2}, b.tokens.options());
  b.cache = gpt->newCache(batch, prefixLength + o.contextLength, device);
  return b;
}

void decodeStepOnLibTorch(GPT& gpt, DecodeBuffers& b, const SamplingOptions& options) {
  auto t = b.counters.narrow(0, 0, 1), k = b.counters.narrow(0, 1, 1);
  auto next = sampleNext(b.logits, options, b.gumbel.index_select(0, k).squeeze(0));  // (B)
  b.tokens.index_copy_(1, t, next.unsqueeze(1));
  b.logits.copy_(gpt->step(b.cache, next, b.inputs.index_select(1, k)));
  b.counters.add_(1);
}

namespace {

// The groups of rows that share their conditioning and every token drawn so far, which
// SamplingOptions::stratified makes draw together. Groups only ever split, and once every
// row is alone, sampling runs with no host synchronization as before: on the zoo's
// networks the samples part at their first token.
class SharedHistories {
 public:
  // prefix (B, P, C); rows with equal structureIds (B) have the same token structure. The
  // caller knows that from how it laid the rows out: comparing the structures themselves
  // would copy (B, L, 64) features to the host, 120 MB a row for a 30M-parameter network.
  SharedHistories(const torch::Tensor& prefix, const std::vector<int64_t>& structureIds,
                  const SamplingOptions& options)
      : rng_(options.seed) {
    if (!options.stratified || options.temperature <= 0) return;  // greedy rows agree anyway
    TORCH_CHECK(int64_t(structureIds.size()) == prefix.size(0), "SharedHistories: ", structureIds.size(),
                " structure ids for ", prefix.size(0), " rows");
    const auto conditioning = prefix.to(torch::kCPU).contiguous();
    std::map<std::pair<int64_t, std::string>, std::vector<int64_t>> byKey;
    for (int64_t i = 0; i < prefix.size(0); ++i) {
      const auto row = conditioning[i];
      byKey[{structureIds[size_t(i)], std::string(static_cast<const char*>(row.data_ptr()), row.nbytes())}]
          .push_back(i);
    }
    for (auto& entry : byKey)
      if (entry.second.size() > 1) groups_.push_back(std::move(entry.second));
  }

  bool any() const { return !groups_.empty(); }

  // logits (B, V) of the next token; noise (B, V) the Gumbel noise its draw adds. Fixes
  // the draw of each grouped row through its noise, 0 at the row's token and -inf
  // elsewhere, so the decoding step draws it as it is: LibTorch's step, a recorded CUDA
  // graph and the fused kernels alike.
  void draw(const torch::Tensor& logits, const SamplingOptions& options, torch::Tensor noise) {
    const double inf = std::numeric_limits<double>::infinity();
    auto filtered = filteredLogits(logits, options);  // (B, V)
    auto tempered = torch::softmax(filtered.to(torch::kFloat64), -1).to(torch::kCPU);  // (B, V)
    // Top-k and top-p at the sampling temperature decide which tokens may be drawn (the
    // decoding step draws none outside them), the branch temperature their odds.
    auto branching = torch::softmax((logits / partingTemperature(options)).masked_fill(filtered == -inf, -inf)
                                        .to(torch::kFloat64), -1).to(torch::kCPU);  // (B, V)
    std::vector<int64_t> rows, tokens;
    std::vector<std::vector<int64_t>> remaining;
    for (const auto& group : groups_) {
      // The branch temperature only where the group must part at the sampling temperature
      // too (no token takes all g rows: each gets at most ceil(g p) of them). Where the
      // prior is that sure, a group that never parts would otherwise draw every token of
      // its networks hotter than asked, and a row draws at most g - 1 tokens hotter.
      const auto g = int64_t(group.size());
      const bool parts = tempered[group.front()].max().item<double>() * double(g) < double(g - 1);
      const auto draws = systematicDraws((parts ? branching : tempered)[group.front()], g, rng_);
      std::map<int64_t, std::vector<int64_t>> byToken;
      for (size_t i = 0; i < group.size(); ++i) {
        rows.push_back(group[i]);
        tokens.push_back(draws[i]);
        byToken[draws[i]].push_back(group[i]);
      }
      for (auto& entry : byToken)
        if (entry.second.size() > 1) remaining.push_back(std::move(entry.second));
    }
    groups_ = std::move(remaining);
    const int64_t n = int64_t(rows.size());
    auto forced = torch::full({n, noise.size(1)}, -inf, torch::kFloat64);
    forced.index_put_({torch::arange(n), torch::tensor(tokens)}, 0.0);
    noise.index_copy_(0, torch::tensor(rows).to(noise.device()), forced.to(noise.options()));
  }

 private:
  std::vector<std::vector<int64_t>> groups_;
  std::mt19937_64 rng_;
};

// Algorithm 1 over the rows of prefix (B, P, C), each a sequence of `length` tokens that
// `structure` (B, length, ...) on the device describes; rows with equal structureIds have
// the same structure. Progress counts `scale` tokens a step.
SampleResult sampleRows(GPT& gpt, const torch::Tensor& prefix, const TokenStructure& structure,
                        const std::vector<int64_t>& structureIds, int64_t length, const SamplingOptions& options,
                        const JobControl& job, int64_t scale) {
  const int64_t B = prefix.size(0);
  const int64_t P = prefix.size(1);
  const int64_t N = gpt->options().contextLength;
  const int64_t V = gpt->options().vocabSize;
  const auto device = prefix.device();
  at::Generator generator = at::globalContext().defaultGenerator(device).clone();
  generator.set_current_seed(options.seed);
  SampleResult result;
  result.blocks = blockSchedule(length, N, options.contextOverlap);

  DecodeBuffers b = newDecodeBuffers(gpt, B, length, P, prefix.options());
  // On our fused kernels where they apply (fused_step.h), on LibTorch's otherwise.
  std::unique_ptr<FusedDecodeStep> fused;
  if (options.fusedStep && options.useCache) fused = FusedDecodeStep::create(gpt, b, options);
  StepGraph graph(
      [&] {
        if (fused)
          fused->run(b);
        else
          decodeStepOnLibTorch(gpt, b, options);
      },
      device, options.cudaGraph);
  b.cache.wholeWindow = graph.records();

  SharedHistories shared(prefix, structureIds, options);
  ProgressReporter progress(job, "sample", length * scale);
  for (const auto& block : result.blocks) {
    const int64_t ctx = block.begin - block.contextBegin;
    const int64_t n = block.end - block.begin;
    if (options.temperature > 0) b.gumbel.narrow(0, 0, n).copy_(gumbelNoise(n, B, V, generator));  // greedy needs none
    auto context = ctx > 0 ? b.tokens.narrow(1, block.contextBegin, ctx) : torch::Tensor();
    if (options.useCache) {
      b.logits.copy_(gpt->start(b.cache, prefix, context, sliceStructure(structure, block.contextBegin, ctx + 1)));
      // Step i predicts token begin + i + 1; the sequence's last step predicts nothing.
      const int64_t predicted = std::min(block.end + 1, length) - (block.begin + 1);
      if (predicted > 0)
        b.inputs.narrow(1, 0, predicted).copy_(gpt->stepInputs(sliceStructure(structure, block.begin + 1, predicted), P + ctx));
      b.counters.copy_(torch::tensor({block.begin, int64_t(0)}));
      for (int64_t t = block.begin; t < block.end; ++t) {
        job.cancel.throwIfCancelled("sample");
        if (shared.any()) shared.draw(b.logits, options, b.gumbel[t - block.begin]);
        graph.run();
        progress.update((t + 1) * scale);
      }
    } else {
      for (int64_t t = block.begin; t < block.end; ++t) {
        job.cancel.throwIfCancelled("sample");
        const int64_t have = t - block.contextBegin;
        auto window = b.tokens.narrow(1, block.contextBegin, have + 1);  // last entry is a placeholder
        auto logits = gpt->forward(prefix, window, sliceStructure(structure, block.contextBegin, have + 1));
        if (shared.any()) shared.draw(logits.select(1, have), options, b.gumbel[t - block.begin]);
        auto next = sampleNext(logits.select(1, have), options, b.gumbel[t - block.begin]);
        b.tokens.select(1, t).copy_(next);
        progress.update((t + 1) * scale);
      }
    }
  }
  progress.finish();
  result.tokens = b.tokens.to(torch::kCPU);
  return result;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

SampleResult sampleSequence(GPT& gpt, const torch::Tensor& prefix, const TokenStructure& structure, int64_t length,
                            const SamplingOptions& options, const JobControl& job) {
  const int64_t B = prefix.size(0);
  if (length <= 0) fail(ErrorKind::Config, "length", "nothing to sample");
  if (options.streams < 1) fail(ErrorKind::Config, "streams", "must be at least 1");
  TORCH_CHECK(structure.features.size(1) == length, "sampleSequence: structure describes ",
              structure.features.size(1), " tokens, the sequence has ", length);
  TORCH_CHECK(structure.features.size(0) == 1 || structure.features.size(0) == B, "sampleSequence: structure for ",
              structure.features.size(0), " rows, prefix has ", B);
  gpt->eval();
  // Streams hold whole chunks, so that each starts where a chunk does, and at least a
  // context's worth: they parallelize Algorithm 1's blocks, and a sequence that fits one
  // window has none to parallelize.
  const int64_t chunk = gpt->options().tokensPerChunk;
  const int64_t minimum = gpt->options().contextLength;
  const int64_t part = ceilDiv(std::max(ceilDiv(length, options.streams), minimum), chunk) * chunk;
  const int64_t streams = ceilDiv(length, part);
  SampleResult result;
  {
    // Lighter than NoGradGuard on each of the few hundred small operations of a token.
    c10::InferenceMode inference;
    // Which rows share their structure: all of them when one structure serves the batch;
    // with streams, the rows of one part (sample i's part s is row i * streams + s).
    const bool shared = structure.features.size(0) == 1;
    std::vector<int64_t> structureIds(size_t(B * streams));
    for (int64_t r = 0; r < B * streams; ++r) structureIds[size_t(r)] = shared ? r % streams : r;
    if (streams == 1) {
      result = sampleRows(gpt, prefix, structureTo(expandStructure(structure, B), prefix.device()), structureIds,
                          length, options, job, 1);
    } else {
      auto rows = sampleRows(gpt, prefix.repeat_interleave(streams, 0),
                             structureTo(splitStructure(structure, B, streams, part), prefix.device()), structureIds,
                             part, options, job, streams);  // (B * streams, part)
      result.tokens = rows.tokens.reshape({B, streams * part}).narrow(1, 0, length);
      for (int64_t i = 0; i < streams; ++i)
        for (const auto& b : rows.blocks)
          if (i * part + b.begin < length)
            result.blocks.push_back(
                {i * part + b.contextBegin, i * part + b.begin, std::min(length, i * part + b.end)});
    }
  }
  result.tokens = result.tokens.clone();  // outside inference mode: a tensor callers may modify
  return result;
}

}  // namespace igpg
