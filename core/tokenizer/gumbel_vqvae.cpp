#include "tokenizer/gumbel_vqvae.h"

#include "common/error.h"

#include <torch/torch.h>

namespace igpg {

namespace F = torch::nn::functional;

namespace {
constexpr int64_t kRelaxedCodes = 16;
}  // namespace

ResBlock1dImpl::ResBlock1dImpl(int64_t channels) {
  const int64_t groups = channels % 8 == 0 ? 8 : 1;
  norm1 = register_module("norm1", torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels)));
  conv1 = register_module("conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, channels, 3).padding(1)));
  norm2 = register_module("norm2", torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels)));
  conv2 = register_module("conv2", torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, channels, 3).padding(1)));
}

torch::Tensor ResBlock1dImpl::forward(const torch::Tensor& x) {
  auto h = conv1(F::silu(norm1(x)));
  h = conv2(F::silu(norm2(h)));
  return x + h;
}

GumbelVQVAEImpl::GumbelVQVAEImpl(const GumbelVQVAEOptions& o) : options_(o) {
  if (o.tokensPerChunk <= 0 || o.chunkSize % o.tokensPerChunk != 0)
    fail(ErrorKind::Config, "tokens-per-chunk",
         "must divide the chunk size (" + std::to_string(o.chunkSize) + "), got " + std::to_string(o.tokensPerChunk));
  if (o.codebookSize < 2) fail(ErrorKind::Config, "codebook", "needs at least 2 entries");
  const int64_t stride = o.chunkSize / o.tokensPerChunk;
  roleEmbedding = register_module("role_embedding", torch::nn::Embedding(o.numRoles, o.roleDim));
  // Patchify: each token position sees its K/l values and their roles, plus neighbours
  // through the kernel-3 convolutions of the residual blocks.
  encIn = register_module("enc_in", torch::nn::Conv1d(torch::nn::Conv1dOptions(1 + o.roleDim, o.hidden, stride).stride(stride)));
  encBlocks = register_module("enc_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.resBlocks; ++i) encBlocks->push_back(ResBlock1d(o.hidden));
  encOut = register_module("enc_out", torch::nn::Conv1d(torch::nn::Conv1dOptions(o.hidden, o.codeDim, 1)));

  codebook = register_module("codebook", torch::nn::Embedding(o.codebookSize, o.codeDim));
  torch::nn::init::normal_(codebook->weight, 0.0, 1.0);

  if (o.denseHidden > 0) {
    const int64_t in = o.tokensPerChunk * (o.codeDim + o.roleDim);
    denseIn = register_module("dense_in", torch::nn::Linear(in, o.denseHidden));
    denseMid = register_module("dense_mid", torch::nn::Linear(o.denseHidden, o.denseHidden));
    denseOut = register_module("dense_out", torch::nn::Linear(o.denseHidden, o.chunkSize));
  } else {
    decIn = register_module("dec_in", torch::nn::Conv1d(torch::nn::Conv1dOptions(o.codeDim + o.roleDim, o.hidden, 3).padding(1)));
    decBlocks = register_module("dec_blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < o.resBlocks; ++i) decBlocks->push_back(ResBlock1d(o.hidden));
    decUp = register_module("dec_up", torch::nn::ConvTranspose1d(
                                          torch::nn::ConvTranspose1dOptions(o.hidden, o.hidden, stride).stride(stride)));
    decOut = register_module("dec_out", torch::nn::Conv1d(torch::nn::Conv1dOptions(o.hidden + o.roleDim, 1, 3).padding(1)));
    // Linear paths from each patch to its code and back, beside the residual stacks: a
    // token then holds its values the way a scalar/vector quantizer would, and the stacks
    // learn corrections from context. At one value per token, 500 steps on the default zoo
    // left 0.070 relative RMSE without them (616 codes in use, where a scalar quantizer with
    // as many levels leaves under 0.01), 0.052 with them and 0.026 with them and codeDim 1.
    encDirect = register_module("enc_direct", torch::nn::Conv1d(torch::nn::Conv1dOptions(1, o.codeDim, stride).stride(stride)));
    decDirect = register_module("dec_direct", torch::nn::ConvTranspose1d(
                                                  torch::nn::ConvTranspose1dOptions(o.codeDim, 1, stride).stride(stride)));
  }
}

torch::Tensor GumbelVQVAEImpl::roleFeatures(const torch::Tensor& roles, int64_t length) {
  // roles (B, K) -> (B, roleDim, K), then average-pooled to `length` positions.
  auto r = roleEmbedding(roles).transpose(1, 2);
  if (length != r.size(2)) r = F::adaptive_avg_pool1d(r, F::AdaptiveAvgPool1dFuncOptions(length));
  return r;
}

torch::Tensor GumbelVQVAEImpl::encode(const torch::Tensor& values, const torch::Tensor& roles) {
  TORCH_CHECK(values.dim() == 2 && values.size(1) == options_.chunkSize,
              "GumbelVQVAE::encode: expected values (B, ", options_.chunkSize, "), got ", values.sizes());
  TORCH_CHECK(roles.sizes() == values.sizes(), "GumbelVQVAE::encode: roles must match values, got ", roles.sizes());
  // Padded positions are zeroed here, so whatever they hold cannot reach the codes.
  auto real = (roles != int64_t(0)).to(values.scalar_type());
  auto v = (values * real).unsqueeze(1);                                                    // (B, 1, K)
  auto x = torch::cat({v, roleFeatures(roles, options_.chunkSize)}, 1);                      // (B, 1+R, K)
  auto h = encIn(x);                                                                        // (B, H, l)
  for (auto& m : *encBlocks) h = m->as<ResBlock1d>()->forward(h);
  auto z = encOut(F::silu(h));                                                              // (B, D, l)
  if (encDirect) z = z + encDirect(v);
  return z.transpose(1, 2);                                                                 // (B, l, D)
}

torch::Tensor GumbelVQVAEImpl::logits(const torch::Tensor& z) {
  // -||z - e||^2 = 2 z.e - ||z||^2 - ||e||^2, computed without materializing (..., m, D).
  const auto& e = codebook->weight;                                         // (m, D)
  auto flat = z.reshape({-1, z.size(-1)});                                  // (N, D)
  auto lg = torch::addmm(e.pow(2).sum(-1).neg(), flat, e.t(), 1, 2);        // (N, m)
  lg = lg - flat.pow(2).sum(-1, /*keepdim=*/true);
  auto shape = z.sizes().vec();
  shape.back() = e.size(0);
  return lg.view(shape);                                                    // (..., m)
}

torch::Tensor GumbelVQVAEImpl::decode(const torch::Tensor& zq, const torch::Tensor& roles) {
  TORCH_CHECK(zq.dim() == 3 && zq.size(1) == options_.tokensPerChunk && zq.size(2) == options_.codeDim,
              "GumbelVQVAE::decode: expected (B, ", options_.tokensPerChunk, ", ", options_.codeDim, "), got ",
              zq.sizes());
  auto h = torch::cat({zq.transpose(1, 2), roleFeatures(roles, options_.tokensPerChunk)}, 1);  // (B, D+R, l)
  if (options_.denseHidden > 0) {
    auto d = F::gelu(denseIn(h.flatten(1)));  // (B, Hd)
    d = d + F::gelu(denseMid(d));
    return denseOut(d);                        // (B, K)
  }
  h = decIn(h);                                                                               // (B, H, l)
  for (auto& m : *decBlocks) h = m->as<ResBlock1d>()->forward(h);
  h = decUp(h);                                                                               // (B, H, K)
  h = torch::cat({F::silu(h), roleFeatures(roles, options_.chunkSize)}, 1);                   // (B, H+R, K)
  return (decOut(h) + decDirect(zq.transpose(1, 2))).squeeze(1);                              // (B, K)
}

torch::Tensor GumbelVQVAEImpl::decodeIndices(const torch::Tensor& indices, const torch::Tensor& roles) {
  return decode(codebook(indices), roles);
}

torch::Tensor GumbelVQVAEImpl::tokenize(const torch::Tensor& values, const torch::Tensor& roles) {
  return logits(encode(values, roles)).argmax(-1);
}

VQForward GumbelVQVAEImpl::forward(const torch::Tensor& values, const torch::Tensor& roles, double tau, bool hard) {
  auto z = encode(values, roles);                                           // (B, l, D)
  const int64_t b = z.size(0), l = z.size(1), d = z.size(2);
  // The Gumbel-softmax relaxation runs over the nearest `kRelaxedCodes` codes only: the
  // others have vanishing probability, and drawing Gumbel noise for every code of every
  // token (B * l * m values) costs more than the rest of a CPU training step together.
  // The logits are detached: the relaxed sample's gradient grows like 1/tau (1e4 at the
  // end of the paper's schedule) and blows encoder and codebook apart late in training.
  // The encoder learns through the straight-through term below and the commitment loss,
  // the codebook through the codebook and reconstruction losses.
  torch::Tensor nearLogits, nearIndices;
  {
    torch::NoGradGuard noGrad;
    std::tie(nearLogits, nearIndices) = logits(z).view({b * l, -1}).topk(std::min(kRelaxedCodes, options_.codebookSize), -1);  // (N, k)
  }
  // tau is the temperature of the code distribution softmax(logits / tau), sampled with the
  // Gumbel trick: as tau -> 0 the sample becomes the nearest code, the code inference uses.
  // (Gumbel noise added at a fixed scale would instead keep picking among near codes once
  // they are closer together than the noise, so the decoder would never learn the codes it
  // is given at inference.)
  auto y = F::gumbel_softmax(nearLogits / tau, F::GumbelSoftmaxFuncOptions().tau(1.0).hard(hard).dim(-1));  // (N, k)
  auto near = codebook->weight.index_select(0, nearIndices.flatten()).view({b * l, -1, d});                 // (N, k, D)
  auto zq = (y.unsqueeze(-1) * near).sum(1).view({b, l, d});                                              // (B, l, D)
  VQForward out;
  // The decoder sees the sampled code, the encoder the decoder's gradient straight through.
  out.reconstruction = decode(zq + (z - z.detach()), roles);
  out.indices = nearIndices.select(1, 0).view({b, l});
  out.commitment = (z - zq.detach()).pow(2).mean();
  out.codebook = (z.detach() - zq).pow(2).mean();
  return out;
}

}  // namespace igpg
