// CUDA kernels of the prior's fused decoding step (fused_step.h), behind a plain C++
// interface: raw float32 device pointers and a CUDA stream, no LibTorch and no CUDA
// headers, so that nvcc compiles the kernels apart from LibTorch's headers and flags.
//
// At batch 1 a decoding step reads every weight once and does little else, so its time
// is the number of kernels times their launch and tail latency, not arithmetic. LibTorch
// needs about 135 kernels for a step of the 8-layer benchmark prior; these need 5 per
// layer and 2 more: LayerNorm folds into the matrix-vector product that follows it, bias,
// GELU and the residual into its epilogue, the key/value cache write and the softmax
// into one attention kernel, and drawing the token and embedding it into one kernel.
#pragma once

#include <cstdint>

struct CUstream_st;

namespace igpg::fused {

// Rows of a batch one kernel handles: each warp keeps one accumulator per row.
constexpr int kMaxBatch = 8;
// Attention blocks have this many threads and take as many cached positions each; heads
// of up to this many values, a multiple of 4.
constexpr int kAttentionThreads = 128;

struct LayerWeights {
  const float* ln1Weight;
  const float* ln1Bias;
  const float* qkvWeight;   // (3C, C)
  const float* qkvBias;     // (3C)
  const float* projWeight;  // (C, C)
  const float* projBias;
  const float* ln2Weight;
  const float* ln2Bias;
  const float* fcWeight;    // (4C, C)
  const float* fcBias;
  const float* outWeight;   // (C, 4C)
  const float* outBias;
  float* cacheKeys;         // (B, H, maxLength, C / H)
  float* cacheValues;
};

struct StepShapes {
  int batch;      // B <= kMaxBatch
  int width;      // C, a multiple of 4
  int heads;      // H; C / H <= kAttentionThreads and a multiple of 4
  int vocab;      // V
  int window;     // N: rows of gumbel and inputs per batch row
  int maxLength;  // positions of the key/value cache
  int64_t sequenceLength;  // L: columns of tokens
};

struct StepBuffers {
  float* logits;         // (B, V): read to draw token t, then overwritten with those of t + 1
  const float* gumbel;   // (N, B, V)
  const float* inputs;   // (B, N, C): GPT::stepInputs of the block
  const int64_t* chosen; // (B) tokens drawn elsewhere (top-k, top-p), or null
  int64_t* counters;     // (2): t, the token drawn now, and its index k in the block
  int64_t* tokens;       // (B, L)
  int64_t* cacheLength;  // (1): positions filled in the key/value cache
  const float* tokenEmbedding;  // (V, C)
  const float* lnFinalWeight;
  const float* lnFinalBias;
  const float* headWeight;      // (V, C), no bias
  float* hidden;         // (B, C) scratch
  float* qkv;            // (B, 3C) scratch
  float* attention;      // (B, C) scratch
  float* mlp;            // (B, 4C) scratch
  float* partials;       // attentionPartialFloats(...) scratch
  int* arrivals;         // (B, H) zeros, and left at zero by every step
};

// Scratch floats the attention kernel needs for its partial results: for each row, head
// and split of kAttentionThreads positions, headDim values and the softmax's max and sum.
inline int64_t attentionPartialFloats(int batch, int heads, int maxLength, int headDim) {
  return int64_t(batch) * heads * ((maxLength + kAttentionThreads - 1) / kAttentionThreads) * (headDim + 2);
}

// Draws token t of every row (argmax of logits * inverseTemperature + gumbel[k], or of the
// logits alone when greedy, or `chosen`), writes it to tokens[:, t], feeds it through the
// layers and writes the logits of token t + 1; advances counters and cacheLength by one.
// Returns a CUDA error string, or null when every launch succeeded.
const char* decodeStep(const StepShapes& shapes, const StepBuffers& buffers, const LayerWeights* layers, int numLayers,
                       float inverseTemperature, bool greedy, CUstream_st* stream);

}  // namespace igpg::fused
