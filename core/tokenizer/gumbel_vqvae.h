// The Gumbel VQ-VAE of IGPG (paper section 2.2, equations 1-2): an encoder maps a chunk
// of K normalized weights to l latent vectors, each is quantized by a Gumbel-softmax over
// a codebook of m entries (hard, i.e. nearest code, at inference), and a decoder maps the
// l code vectors back to K values.
//
// Logits are negative squared distances between the latent and every code, so the
// hard Gumbel sample at tau -> 0 is the nearest code and the commitment/codebook terms of
// equation 2 (||z - sg[z_q]||^2, ||sg[z] - z_q||^2) are meaningful.
//
// Both encoder and decoder also see, per value, where it came from (the parameter role:
// weight, bias, BatchNorm statistics, ... and the padding mask), so a code can mean
// different things in a bias and in a conv kernel.
#pragma once

#include <torch/nn.h>

namespace igpg {

// Defaults are the paper's regime (few tokens per chunk, dense decoder): 40-200 tokens per
// network of the default zoo, which a prior learns in minutes on a CPU. The price: the
// dense decoder reproduces the networks it was trained on, not unseen ones (a held-out
// seed came back at 71 points below its accuracy). The convolutional decoder at one value
// per token and one-dimensional codes (denseHidden 0, K 32, l 32, codeDim 1) encodes
// unseen networks about as well as seen ones (relative RMSE 0.0125 and 0.0094, mean top-1
// gap 0.15 and 0.09 point), at a token per parameter: sequences for priors trained on a GPU.
//
// The residual stacks run at token resolution (l positions): the chunk is patchified
// into l patches of K/l values on the way in and un-patchified on the way out, so the
// cost per chunk does not grow with the values each token covers.
struct GumbelVQVAEOptions {
  int64_t chunkSize = 256;       // K: values per chunk
  int64_t tokensPerChunk = 4;    // l: latent vectors (tokens) per chunk; must divide K
  int64_t codebookSize = 1024;   // m
  int64_t codeDim = 4;           // width of a code vector: low, so that codes cover the encoder outputs
  int64_t hidden = 48;           // channels of the residual convolution stacks
  int64_t resBlocks = 2;         // residual blocks in the encoder and in the decoder
  // 0: the convolutional decoder above. > 0: a dense decoder of this width that maps all
  // l codes of a chunk to its K values at once. At few tokens per chunk (the paper's
  // regime: 64 tokens for 2.7M parameters) the decoder then holds the zoo's weights and
  // the codes index them, so the prior has short sequences to learn. Measured on the default
  // zoo (1,500 steps, 2 cores, pthread OpenBLAS): width 1,024 left 0.023 relative RMSE and
  // lost up to 0.84 point on the digits MLP in 3:24; 1,536 leaves 0.013 and 0.34 point in
  // 4:19-4:22; 2,048 is no better (0.013) and takes 4:58 of the 5-minute budget. With the
  // OpenMP OpenBLAS that cmake/IgpgBlas.cmake selects, 1,536 trains in 3:12.
  int64_t denseHidden = 1536;
  int64_t numRoles = 8;          // size of the role vocabulary fed beside the values
  int64_t roleDim = 8;
};

// Output of one forward pass in training.
struct VQForward {
  torch::Tensor reconstruction;  // (B, K)
  torch::Tensor indices;         // (B, l) int64: argmax codes
  torch::Tensor commitment;      // scalar ||z - sg[z_q]||^2 (mean)
  torch::Tensor codebook;        // scalar ||sg[z] - z_q||^2 (mean)
};

class ResBlock1dImpl : public torch::nn::Module {
 public:
  explicit ResBlock1dImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);  // (B, C, L) -> (B, C, L)

 private:
  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv1d conv1{nullptr}, conv2{nullptr};
};
TORCH_MODULE(ResBlock1d);

class GumbelVQVAEImpl : public torch::nn::Module {
 public:
  explicit GumbelVQVAEImpl(const GumbelVQVAEOptions& options);

  // values (B, K) normalized weights, roles (B, K) int64 role ids (0 = padding).
  // Returns latents z (B, l, D).
  torch::Tensor encode(const torch::Tensor& values, const torch::Tensor& roles);
  // Logits over the codebook: -||z - e_j||^2, (B, l, m).
  torch::Tensor logits(const torch::Tensor& z);
  // Code vectors (B, l, D) -> values (B, K).
  torch::Tensor decode(const torch::Tensor& zq, const torch::Tensor& roles);
  torch::Tensor decodeIndices(const torch::Tensor& indices, const torch::Tensor& roles);  // (B, l) -> (B, K)
  // Nearest-code tokens (hard quantization, no noise): (B, K) -> (B, l) int64.
  torch::Tensor tokenize(const torch::Tensor& values, const torch::Tensor& roles);

  // Training pass with Gumbel-softmax at temperature tau (straight-through when hard).
  VQForward forward(const torch::Tensor& values, const torch::Tensor& roles, double tau, bool hard);

  const GumbelVQVAEOptions& options() const { return options_; }
  torch::Tensor codebookWeights() const { return codebook->weight; }  // (m, D)

 private:
  torch::Tensor roleFeatures(const torch::Tensor& roles, int64_t length);  // (B, roleDim, length)

  GumbelVQVAEOptions options_;
  torch::nn::Embedding roleEmbedding{nullptr};
  torch::nn::Conv1d encIn{nullptr}, encOut{nullptr};
  torch::nn::ModuleList encBlocks{nullptr};
  torch::nn::Embedding codebook{nullptr};
  torch::nn::Conv1d decIn{nullptr}, decOut{nullptr};
  torch::nn::ConvTranspose1d decUp{nullptr};
  torch::nn::Conv1d encDirect{nullptr};
  torch::nn::ConvTranspose1d decDirect{nullptr};
  torch::nn::ModuleList decBlocks{nullptr};
  torch::nn::Linear denseIn{nullptr}, denseMid{nullptr}, denseOut{nullptr};
};
TORCH_MODULE(GumbelVQVAE);

}  // namespace igpg
