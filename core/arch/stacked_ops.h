// Layers over a stack of G models of one architecture. Activations are (G, N, ...) in
// logical shape, each model with its own minibatch; parameters carry a leading model
// dimension. Every op computes exactly what G separate PyTorch layers compute, so a
// model trained in a stack equals the same model trained alone (up to float rounding).
// A single model is the stack with G = 1, where every op reduces to the plain layer.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>

namespace igpg::arch {

// The models of a stack run side by side as the channel groups of one grouped
// convolution over (N, G*C, H, W), channels-last on the CPU. Measured on the 2-core dev
// machine (Tiny CNN, batch 32, 1 thread, CPU time per model and step, 8-64 models):
// grouped channels-last 1.3-1.6 ms; each model's own dense oneDNN convolution, the models
// spread over the threads, 2.4-2.6 ms (and 18-23 ms with 2 threads); the same model
// trained alone 3.3-3.7 ms. bench/bench_zoo_builder measures the whole training.

// x (G, N, C, H, W), weight (G, O, C/groups, k, k), bias (G, O) or undefined -> (G, N, O, H', W')
torch::Tensor stackedConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            int64_t stride, int64_t padding, int64_t groups);

// x (G, N, C, H, W); weight, bias, running mean and var (G, C); batches tracked (G).
// Training uses batch statistics and updates the running ones in place (unbiased
// variance, eps 1e-5), as torch.nn.BatchNorm2d does: an exponential average with
// `momentum`, or with no momentum the cumulative average over the batches tracked
// (PyTorch's momentum=None; the models of a stack are assumed to move in lockstep).
torch::Tensor stackedBatchNorm2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                 const torch::Tensor& runningMean, const torch::Tensor& runningVar,
                                 const torch::Tensor& batchesTracked, bool training,
                                 std::optional<double> momentum = 0.1);

// x (G, N, F), weight (G, O, F), bias (G, O) or undefined -> (G, N, O)
torch::Tensor stackedLinear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

enum class PoolKind { Max, Average, AdaptiveAverage };

// x (G, N, C, H, W) -> (G, N, C, H', W'); `size` is the kernel (Max, Average) or the
// output size (AdaptiveAverage).
torch::Tensor stackedPool2d(const torch::Tensor& x, PoolKind kind, int64_t size, int64_t stride);

}  // namespace igpg::arch
