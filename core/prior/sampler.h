// Sampling weight-token sequences from the prior, with a key/value cache so each new
// token costs one step, and Algorithm 1 of the paper for networks whose sequence is
// longer than the prior's context N_max: the first block is generated from the
// conditioning alone, each later block from the conditioning plus a context window of the
// previous block's last tokens, until the whole sequence exists.
#pragma once

#include "jobs/progress.h"
#include "prior/gpt.h"

#include <cstdint>
#include <vector>

namespace igpg {

struct SamplingOptions {
  // Half temperature: the prior's uncertainty between zoo members (which seed a network
  // continues) stays a choice, while one unlikely token no longer breaks a network (at 1.0,
  // one sample in five broke on the default zoo, e.g. 71% mean top-1 against 85%). <= 0: greedy.
  double temperature = 0.5;
  int64_t topK = 0;          // 0: no top-k filter
  double topP = 1.0;         // nucleus; 1: no filter
  uint64_t seed = 0;
  int64_t contextOverlap = -1;  // tokens of the previous block carried as context; -1: N_max / 2
  // For networks longer than the context: cut the sequence into this many consecutive
  // parts (whole chunks each) and generate them side by side as rows of one batch, each
  // by Algorithm 1 from its own start with no earlier tokens, as the prior's training
  // windows drawn at random offsets are. On a GPU a step of 64 rows costs about what a
  // step of one does, so a long network comes out up to that many times sooner; each
  // seam loses the context a single stream would have carried across it. 1: Algorithm 1.
  int64_t streams = 1;
  bool useCache = true;         // false recomputes every step from scratch (for tests and benchmarks)
  // On CUDA, record the decoding step once as a CUDA graph and replay it for every token
  // (see step_graph.h); false launches its kernels one by one (for benchmarks).
  bool cudaGraph = true;
};

struct SampledBlock {
  int64_t contextBegin = 0;  // first context token (== begin for the first block)
  int64_t begin = 0;         // first generated token
  int64_t end = 0;           // one past the last generated token
};

struct SampleResult {
  torch::Tensor tokens;  // (B, L) int64 on the CPU
  std::vector<SampledBlock> blocks;  // of every stream, in sequence order
};

// prefix (B, P, C) from GPT::conditionPrefix; structure describes all L tokens (batch 1 or B).
SampleResult sampleSequence(GPT& gpt, const torch::Tensor& prefix, const TokenStructure& structure, int64_t length,
                            const SamplingOptions& options, const JobControl& job = {});

// The block schedule of Algorithm 1 for a sequence of `length` tokens.
std::vector<SampledBlock> blockSchedule(int64_t length, int64_t contextLength, int64_t overlap);

// Gumbel noise (steps, B, V) float64 for the draws of `steps` tokens, on the generator's
// device: the sampler seeds one on the device it samples on, so that drawing never waits
// on the host (a 30M-parameter network needs half a billion draws).
torch::Tensor gumbelNoise(int64_t steps, int64_t batch, int64_t vocab, at::Generator& generator);

// Filters logits (B, V) by temperature, top-k and top-p and draws one token per row by
// the Gumbel-max trick: argmax(logits / T + g) with g from gumbelNoise (B, V) is a draw
// from softmax(logits / T). Fixed shapes, no host synchronization: it runs on the device,
// inside the recorded decoding step.
torch::Tensor sampleNext(const torch::Tensor& logits, const SamplingOptions& options, const torch::Tensor& gumbel);

}  // namespace igpg
