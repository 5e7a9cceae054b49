#include "prior/gpt.h"

#include "common/error.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace igpg {

namespace F = torch::nn::functional;

int64_t conditionLength(const GPTOptions& o) { return (o.archDim > 0) + (o.datasetDim > 0) + 1; }

namespace {

// layer(x), but a matrix-vector product for a single row on the CPU: OpenBLAS 0.3.21 runs
// a one-row GEMM through its packing kernel, 4-5x slower than its GEMV at the decoding
// step's shapes (512 x 512 to 2048 x 512, 2 cores), and batch-1 sampling is nothing but
// such rows.
torch::Tensor linear(torch::nn::Linear& layer, const torch::Tensor& x) {
  const auto& w = layer->weight;  // (out, in)
  if (!x.is_cpu() || x.numel() != w.size(1)) return layer->forward(x);
  auto sizes = x.sizes().vec();
  sizes.back() = w.size(0);
  auto row = x.reshape({-1});
  return (layer->bias.defined() ? torch::addmv(layer->bias, w, row) : torch::mv(w, row)).view(sizes);
}

}  // namespace

CausalSelfAttentionImpl::CausalSelfAttentionImpl(int64_t width, int64_t heads, double dropout)
    : heads_(heads), dropout_(dropout) {
  if (width % heads != 0)
    fail(ErrorKind::Config, "heads", "the width (" + std::to_string(width) + ") must be a multiple of heads");
  qkv = register_module("qkv", torch::nn::Linear(width, 3 * width));
  proj = register_module("proj", torch::nn::Linear(width, width));
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& bias,
                                               torch::Tensor* cacheK, torch::Tensor* cacheV,
                                               const torch::Tensor& position) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), hd = C / heads_;
  auto parts = linear(qkv, x).split(C, 2);                           // 3 x (B, T, C)
  auto q = parts[0].view({B, T, heads_, hd}).transpose(1, 2);        // (B, H, T, hd)
  auto k = parts[1].view({B, T, heads_, hd}).transpose(1, 2);
  auto v = parts[2].view({B, T, heads_, hd}).transpose(1, 2);
  if (position.defined()) {
    TORCH_CHECK(T == 1 && cacheK, "attention: a decoding step takes one token and a cache, got ", T, " tokens");
    cacheK->index_copy_(2, position, k);
    cacheV->index_copy_(2, position, v);
    k = cacheK->narrow(2, 0, bias.size(1));                          // (B, H, S, hd)
    v = cacheV->narrow(2, 0, bias.size(1));
  } else if (cacheK) {
    cacheK->narrow(2, 0, T).copy_(k);
    cacheV->narrow(2, 0, T).copy_(v);
  }
  const int64_t S = k.size(2);
  auto q3 = q.reshape({B * heads_, T, hd});
  auto kT = k.reshape({B * heads_, S, hd}).transpose(1, 2);         // (B*H, hd, S)
  const double scale = 1.0 / std::sqrt(double(hd));
  // Scaling and masking ride on the product: one kernel fewer each per layer and step.
  auto att = bias.defined() ? torch::baddbmm(bias.expand({B * heads_, T, S}), q3, kT, 1.0, scale)
                            : torch::bmm(q3, kT) * scale;           // (B*H, T, S)
  att = torch::softmax(att, -1);
  if (dropout_ > 0 && is_training()) att = F::dropout(att, F::DropoutFuncOptions().p(dropout_).training(true));
  auto y = torch::bmm(att, v.reshape({B * heads_, S, hd}));         // (B*H, T, hd)
  y = y.view({B, heads_, T, hd}).transpose(1, 2).contiguous().view({B, T, C});
  return linear(proj, y);
}

GPTBlockImpl::GPTBlockImpl(int64_t width, int64_t heads, double dropout) : dropout_(dropout) {
  ln1 = register_module("ln1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  attn = register_module("attn", CausalSelfAttention(width, heads, dropout));
  ln2 = register_module("ln2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
  fc = register_module("fc", torch::nn::Linear(width, 4 * width));
  out = register_module("out", torch::nn::Linear(4 * width, width));
}

torch::Tensor GPTBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& bias, torch::Tensor* cacheK,
                                    torch::Tensor* cacheV, const torch::Tensor& position) {
  auto h = x + attn(ln1(x), bias, cacheK, cacheV, position);
  auto m = linear(out, F::gelu(linear(fc, ln2(h))));
  if (dropout_ > 0 && is_training()) m = F::dropout(m, F::DropoutFuncOptions().p(dropout_).training(true));
  return h + m;
}

GPTImpl::GPTImpl(const GPTOptions& o) : options_(o) {
  if (o.vocabSize < 2) fail(ErrorKind::Config, "vocab", "needs at least 2 tokens");
  if (o.contextLength < 2) fail(ErrorKind::Config, "context", "context length must be at least 2");
  tokenEmbedding = register_module("token_embedding", torch::nn::Embedding(o.vocabSize, o.width));
  positionEmbedding =
      register_module("position_embedding", torch::nn::Embedding(conditionLength(o) + o.contextLength, o.width));
  roleEmbedding = register_module("role_embedding", torch::nn::Embedding(o.numRoles, o.width));
  inChunkEmbedding = register_module("in_chunk_embedding", torch::nn::Embedding(o.tokensPerChunk, o.width));
  structureProjection = register_module("structure_projection", torch::nn::Linear(o.structureDim, o.width));
  if (o.archDim > 0) archProjection = register_module("arch_projection", torch::nn::Linear(o.archDim, o.width));
  if (o.datasetDim > 0)
    datasetProjection = register_module("dataset_projection", torch::nn::Linear(o.datasetDim, o.width));
  startToken = register_parameter("start_token", torch::randn({o.width}) * 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) blocks->push_back(GPTBlock(o.width, o.heads, o.dropout));
  lnFinal = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.width})));
  head = register_module("head", torch::nn::Linear(torch::nn::LinearOptions(o.width, o.vocabSize).bias(false)));
  // GPT-2 initialization: small normal weights, residual projections scaled by depth.
  for (auto& p : named_parameters()) {
    const auto& name = p.key();
    auto& t = p.value();
    torch::NoGradGuard noGrad;
    if (name.find("bias") != std::string::npos || name.find("ln") != std::string::npos) continue;
    if (name == "start_token") continue;
    const bool residual = name.find("proj.weight") != std::string::npos || name.find("out.weight") != std::string::npos;
    t.normal_(0.0, residual ? 0.02 / std::sqrt(2.0 * double(o.layers)) : 0.02);
  }
}

torch::Tensor GPTImpl::conditionPrefix(const torch::Tensor& archEmbedding, const torch::Tensor& datasetEmbedding,
                                       int64_t batch) {
  std::vector<torch::Tensor> parts;
  if (options_.archDim > 0) {
    TORCH_CHECK(archEmbedding.defined() && archEmbedding.size(-1) == options_.archDim,
                "GPT: the prior was trained with architecture embeddings of size ", options_.archDim);
    parts.push_back(archProjection(archEmbedding.reshape({-1, options_.archDim})).expand({batch, options_.width}));
  }
  if (options_.datasetDim > 0) {
    TORCH_CHECK(datasetEmbedding.defined() && datasetEmbedding.size(-1) == options_.datasetDim,
                "GPT: the prior was trained with dataset embeddings of size ", options_.datasetDim);
    parts.push_back(
        datasetProjection(datasetEmbedding.reshape({-1, options_.datasetDim})).expand({batch, options_.width}));
  }
  parts.push_back(startToken.unsqueeze(0).expand({batch, options_.width}));
  return torch::stack(parts, 1);  // (B, P, C)
}

torch::Tensor GPTImpl::structureEmbedding(const TokenStructure& s) {
  auto features = s.features.to(structureProjection->weight.scalar_type());
  return structureProjection(features) + roleEmbedding(s.roles) + inChunkEmbedding(s.inChunk);  // (B, T, C)
}

torch::Tensor GPTImpl::run(const torch::Tensor& x, KVCache* cache, bool step) {
  const int64_t T = x.size(1);
  TORCH_CHECK(T <= positionEmbedding->weight.size(0), "GPT: ", T, " positions exceed the prior's context of ",
              positionEmbedding->weight.size(0));
  TORCH_CHECK(!step || T == 1, "GPT: a decoding step takes one token, got ", T);
  const double inf = std::numeric_limits<double>::infinity();
  torch::Tensor position, bias, h = x;  // h (B, T, C)
  if (step) {
    position = cache->length;                   // (1)
    cache->bias.index_fill_(0, position, 0.0);  // this step's own key
    const int64_t S = cache->wholeWindow ? cache->bias.size(0) : cache->filled + 1;
    bias = cache->bias.narrow(0, 0, S).unsqueeze(0);  // (1, S)
  } else {
    h = x + positionEmbedding(torch::arange(T, x.options().dtype(torch::kInt64))).unsqueeze(0);
    if (T > 1) bias = torch::full({T, T}, -inf, x.options()).triu(1);  // causal
    if (cache) {
      cache->bias.fill_(-inf);
      cache->bias.narrow(0, 0, T).zero_();
    }
  }
  for (size_t i = 0; i < blocks->size(); ++i) {
    auto block = blocks[i]->as<GPTBlock>();
    h = cache ? block->forward(h, bias, &cache->keys[i], &cache->values[i], position) : block->forward(h, bias);
  }
  if (step) {
    cache->length.add_(1);
    cache->filled += 1;
  } else if (cache) {
    cache->length.fill_(T);
    cache->filled = T;
  }
  return linear(head, lnFinal(h));  // (B, T, V)
}

torch::Tensor GPTImpl::forward(const torch::Tensor& prefix, const torch::Tensor& tokens,
                               const TokenStructure& structure) {
  const int64_t B = tokens.size(0), T = tokens.size(1), P = prefix.size(1);
  TORCH_CHECK(structure.features.size(1) == T, "GPT::forward: structure for ", structure.features.size(1),
              " tokens, window has ", T);
  auto x = torch::cat({prefix, tokenEmbedding(tokens.narrow(1, 0, T - 1))}, 1);  // (B, P+T-1, C)
  auto s = structureEmbedding(structure);                                         // (B, T, C)
  x = torch::cat({x.narrow(1, 0, P - 1), x.narrow(1, P - 1, T) + s}, 1);
  (void)B;
  return run(x, nullptr, false).narrow(1, P - 1, T);  // (B, T, V)
}

KVCache GPTImpl::newCache(int64_t batch, int64_t maxLength, torch::Device device) const {
  KVCache cache;
  const int64_t hd = options_.width / options_.heads;
  auto opts = torch::TensorOptions().dtype(head->weight.scalar_type()).device(device);
  for (int64_t i = 0; i < options_.layers; ++i) {
    cache.keys.push_back(torch::zeros({batch, options_.heads, maxLength, hd}, opts));
    cache.values.push_back(torch::zeros({batch, options_.heads, maxLength, hd}, opts));
  }
  cache.length = torch::zeros({1}, opts.dtype(torch::kInt64));
  cache.bias = torch::full({maxLength}, -std::numeric_limits<double>::infinity(), opts);
  return cache;
}

torch::Tensor GPTImpl::start(KVCache& cache, const torch::Tensor& prefix, const torch::Tensor& context,
                             const TokenStructure& structure) {
  const int64_t P = prefix.size(1);
  const int64_t c = context.defined() ? context.size(1) : 0;
  TORCH_CHECK(structure.features.size(1) == c + 1, "GPT::start: structure must describe the ", c,
              " context tokens and the next one");
  auto x = c > 0 ? torch::cat({prefix, tokenEmbedding(context)}, 1) : prefix;  // (B, P+c, C)
  x = torch::cat({x.narrow(1, 0, P - 1), x.narrow(1, P - 1, c + 1) + structureEmbedding(structure)}, 1);
  return run(x, &cache, false).select(1, P + c - 1);  // (B, V)
}

torch::Tensor GPTImpl::stepInputs(const TokenStructure& next, int64_t firstPosition) {
  const int64_t n = next.roles.size(1);
  TORCH_CHECK(firstPosition + n <= positionEmbedding->weight.size(0), "GPT::stepInputs: steps up to position ",
              firstPosition + n, " exceed the prior's context of ", positionEmbedding->weight.size(0));
  auto positions = torch::arange(firstPosition, firstPosition + n, next.roles.options());
  return structureEmbedding(next) + positionEmbedding(positions).unsqueeze(0);  // (B, n, C)
}

torch::Tensor GPTImpl::step(KVCache& cache, const torch::Tensor& token, const torch::Tensor& stepInput) {
  auto x = tokenEmbedding(token.reshape({-1, 1})) + stepInput;  // (B, 1, C)
  return run(x, &cache, true).select(1, 0);                     // (B, V)
}

}  // namespace igpg
