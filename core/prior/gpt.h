// The autoregressive prior of IGPG (paper section 2.3, equation 3): a mini-GPT in the
// manner of nanoGPT whose input is a conditioning prefix (the projected architecture and
// dataset embeddings and a start token) followed by the weight tokens.
//
// Every input position also receives an embedding of *where in the network* the token it
// must predict lies (parameter role, layer depth, offset in the layer, position inside
// its chunk, absolute position in the sequence). Those come from the chunk plan, are
// known before generation, and let a window taken anywhere in a long network (Algorithm
// 1's blocks) know which weights it is generating.
#pragma once

#include <torch/nn.h>

#include <vector>

namespace igpg {

struct GPTOptions {
  int64_t vocabSize = 1024;   // codebook size of the tokenizer
  // N_max: weight tokens per window. The defaults fit the default zoo's budget on two CPU
  // cores (networks of 40-200 tokens, 300 steps in about 3 minutes); longer networks go
  // through Algorithm 1's blocks.
  int64_t contextLength = 256;
  int64_t layers = 2;
  int64_t heads = 4;
  int64_t width = 128;
  double dropout = 0.0;
  int64_t archDim = 0;        // size of the architecture embedding; 0 when not conditioned on it
  int64_t datasetDim = 0;     // size of the dataset embedding; 0 when not conditioned on it
  int64_t structureDim = 64;  // size of the per-token structure features (see structure.h)
  int64_t tokensPerChunk = 32;  // l, for the position-in-chunk embedding
  int64_t numRoles = 8;
};

int64_t conditionLength(const GPTOptions& o);  // prefix positions: [arch] [dataset] start

// Per-token structure of the token to predict at each input position.
struct TokenStructure {
  torch::Tensor features;  // (B, T, structureDim) float
  torch::Tensor roles;     // (B, T) int64
  torch::Tensor inChunk;   // (B, T) int64 in [0, l)
};

// Keys and values of every layer for incremental decoding: (B, H, maxLength, head_dim).
// The filled length lives on the cache's device, and a decoding step attends over all
// maxLength positions with the unfilled ones masked: every step then has the same shapes
// and addresses, so the sampler can record one step as a CUDA graph and replay it.
struct KVCache {
  std::vector<torch::Tensor> keys, values;
  torch::Tensor length;  // (1) int64: positions filled
  // (maxLength) float, added to the attention scores: 0 at filled positions, -inf beyond.
  // A step unmasks its own position with one write that every layer then shares.
  torch::Tensor bias;
  // The same count on the host. A step attends to the filled positions only, read off it,
  // unless wholeWindow: a step recorded as a CUDA graph replays with the shapes it was
  // recorded with, so it attends to all maxLength positions and the bias masks the
  // unfilled ones. Eager steps would read up to twice the keys and values they need (at
  // batch 8 on the CPU the whole window's cache outweighs the weights).
  int64_t filled = 0;
  bool wholeWindow = false;
};

class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  CausalSelfAttentionImpl(int64_t width, int64_t heads, double dropout);
  // x (B, T, C); bias (T, S) is added to the scaled scores (0 to attend, -inf to mask),
  // undefined for none. With a cache and no position, x are positions 0..T-1 and fill
  // the cache; with a position (1) int64, x is the one token (T = 1) at that position and
  // attends to the first S cached keys, bias (1, S) masking the unfilled ones.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias, torch::Tensor* cacheK = nullptr,
                        torch::Tensor* cacheV = nullptr, const torch::Tensor& position = {});

 private:
  int64_t heads_;
  double dropout_;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(CausalSelfAttention);

class GPTBlockImpl : public torch::nn::Module {
 public:
  GPTBlockImpl(int64_t width, int64_t heads, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias, torch::Tensor* cacheK = nullptr,
                        torch::Tensor* cacheV = nullptr, const torch::Tensor& position = {});

 private:
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  CausalSelfAttention attn{nullptr};
  torch::nn::Linear fc{nullptr}, out{nullptr};
  double dropout_;
};
TORCH_MODULE(GPTBlock);

class GPTImpl : public torch::nn::Module {
 public:
  explicit GPTImpl(const GPTOptions& options);

  // Prefix embeddings (B, P, C) from the conditioning vectors (either may be undefined
  // when the options do not use it).
  torch::Tensor conditionPrefix(const torch::Tensor& archEmbedding, const torch::Tensor& datasetEmbedding,
                                int64_t batch);

  // Teacher-forced logits: tokens (B, T) are the window's tokens; structure describes
  // tokens 0..T-1. Returns (B, T, V): logits[:, i] predicts tokens[:, i].
  torch::Tensor forward(const torch::Tensor& prefix, const torch::Tensor& tokens, const TokenStructure& structure);

  // Incremental decoding. start() runs the prefix (and optional given context tokens) and
  // returns the logits for the next token; step() feeds one token and returns the logits
  // for the one after it. step() never synchronizes with the host and keeps its shapes
  // from call to call.
  //
  // What a step adds to its token's embedding is known before sampling: the structure of
  // the token it predicts and the position it sits at. stepInputs() computes it for n
  // consecutive steps, `next` describing the n tokens they predict and the first step
  // sitting at `firstPosition` (the cache's length after start()), so that a sampler pays
  // for it once per block and each step looks up its row (B, 1, C).
  KVCache newCache(int64_t batch, int64_t maxLength, torch::Device device) const;
  torch::Tensor start(KVCache& cache, const torch::Tensor& prefix, const torch::Tensor& context,
                      const TokenStructure& structure);
  torch::Tensor stepInputs(const TokenStructure& next, int64_t firstPosition);  // (B, n, C)
  torch::Tensor step(KVCache& cache, const torch::Tensor& token, const torch::Tensor& stepInput);

  const GPTOptions& options() const { return options_; }

 private:
  torch::Tensor structureEmbedding(const TokenStructure& s);  // (B, T, C)
  // (B, T, C) -> logits (B, T, V). With a cache: step feeds one token at cache.length
  // whose input already holds its position embedding, otherwise x are positions 0..T-1
  // and fill the cache.
  torch::Tensor run(const torch::Tensor& x, KVCache* cache, bool step);

  GPTOptions options_;
  torch::nn::Embedding tokenEmbedding{nullptr}, positionEmbedding{nullptr}, roleEmbedding{nullptr},
      inChunkEmbedding{nullptr};
  torch::nn::Linear structureProjection{nullptr}, archProjection{nullptr}, datasetProjection{nullptr};
  torch::Tensor startToken;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm lnFinal{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(GPT);

}  // namespace igpg
