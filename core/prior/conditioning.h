// Conditioning vectors of the prior (paper section 2.3): an architecture embedding from
// the text description of the architecture, and a dataset embedding from a balanced
// sample of its images (five per class), mean-pooled.
//
// The paper uses LLaMA-3-Instruct for the text and CLIP for the images; neither can be
// fetched here, so two offline encoders are built in, and any TorchScript module can be
// dropped in instead (forward(str) -> Tensor[D] for text, forward(Tensor[N,C,H,W]) ->
// Tensor[N,D] for images), for example an exported CLIP visual tower.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

namespace igpg {

class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  virtual std::string id() const = 0;  // stored with priors and cached embeddings
  virtual int64_t dim() const = 0;
  virtual torch::Tensor encode(const std::string& text) = 0;  // (D) float32, CPU
};

class ImageEncoder {
 public:
  virtual ~ImageEncoder() = default;
  virtual std::string id() const = 0;
  virtual int64_t dim() const = 0;
  virtual torch::Tensor encode(const torch::Tensor& images) = 0;  // (N,C,H,W) -> (N, D) float32, CPU
};

// Built-in architecture encoder: words become fixed pseudo-random vectors (bag of words);
// every number becomes a smooth code of its magnitude bound to its field name and list
// position, so that blocks = [2, 3, 2] lands between [2, 2, 2] and [3, 3, 3] rather than at
// an unrelated hash.
std::unique_ptr<TextEncoder> makeBuiltinTextEncoder();
// Built-in image encoder: fixed seeded random convolution features (two layers, ReLU,
// pooling) of images resized to 28x28, a standard offline stand-in for a pretrained tower.
std::unique_ptr<ImageEncoder> makeBuiltinImageEncoder();

// TorchScript drop-ins. The output shape is checked on first use and on every call;
// a wrong shape is an Error(Mismatch) naming the file.
std::unique_ptr<TextEncoder> loadTorchScriptTextEncoder(const std::string& path);
std::unique_ptr<ImageEncoder> loadTorchScriptImageEncoder(const std::string& path);

// "builtin" or a path to a TorchScript file.
std::unique_ptr<TextEncoder> makeTextEncoder(const std::string& spec);
std::unique_ptr<ImageEncoder> makeImageEncoder(const std::string& spec);

// The instruction of the paper's Remark 1 around an architecture description.
std::string architectureInstruction(const std::string& family, const std::string& fields, int64_t sequenceLength);

// Dataset embedding from a balanced sample: the mean of the image embeddings (the paper's
// mean pooling), then the per-class means bound to their class index (so that relabelled
// class subsets differ), then a smooth code of the number of classes.
torch::Tensor datasetEmbedding(ImageEncoder& encoder, const torch::Tensor& images, const torch::Tensor& labels,
                               int64_t numClasses);
int64_t datasetEmbeddingDim(const ImageEncoder& encoder);

}  // namespace igpg
