#include "arch/stacked_ops.h"

#include <torch/torch.h>

namespace igpg::arch {

namespace {

using torch::Tensor;

// On the CPU, activations live channels-last: LibTorch's CPU pooling and oneDNN's
// convolutions are vectorized over channels there (max pooling ~4x faster than NCHW on
// the Tiny CNN's maps), and elementwise ops keep whatever layout they are given.
at::MemoryFormat preferredFormat(const Tensor& x) {
  return x.is_cpu() ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

// The models side by side as channel groups. A view, not a copy, for what grouped
// convolutions and batch norms return: their (N, G*C, H, W) output seen as (G, N, C, H, W).
Tensor asSampleMajor(const Tensor& x) {  // (G, N, C, H, W) -> (N, G*C, H, W)
  return x.transpose(0, 1).reshape({x.size(1), x.size(0) * x.size(2), x.size(3), x.size(4)});
}

Tensor fromSampleMajor(const Tensor& y, int64_t G) {  // (N, G*C, H, W) -> (G, N, C, H, W)
  return y.view({y.size(0), G, y.size(1) / G, y.size(2), y.size(3)}).transpose(0, 1);
}

}  // namespace

Tensor stackedConv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
                     int64_t groups) {
  const int64_t G = x.size(0), O = weight.size(1);
  // With G = 1 this is the plain convolution of one model.
  Tensor xs = asSampleMajor(x);  // (N, G*C, H, W)
  // A strided 1x1 convolution only reads every stride-th pixel: read those first. On the
  // CPU, Debian's LibTorch 1.13 otherwise runs oneDNN's strided 1x1 backward, which frees
  // an invalid pointer on CPUs without AVX-512 (a ResNet downsample crashed training).
  if (x.is_cpu() && stride > 1 && padding == 0 && weight.size(3) == 1 && weight.size(4) == 1) {
    xs = xs.slice(2, 0, xs.size(2), stride).slice(3, 0, xs.size(3), stride);  // (N, G*C, H', W')
    stride = 1;
  }
  xs = xs.contiguous(preferredFormat(x));
  const Tensor ws = weight.reshape({G * O, weight.size(2), weight.size(3), weight.size(4)});
  const Tensor y = at::convolution(xs, ws, bias.defined() ? bias.reshape({G * O}) : Tensor(), {stride, stride},
                                   {padding, padding}, {1, 1}, false, {0, 0}, G * groups);  // (N, G*O, H', W')
  return fromSampleMajor(y, G);
}

Tensor stackedBatchNorm2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& runningMean,
                          const Tensor& runningVar, const Tensor& batchesTracked, bool training,
                          std::optional<double> momentum) {
  const int64_t G = x.size(0), C = x.size(2);
  double factor = momentum.value_or(0.0);
  if (training) {
    at::NoGradGuard noGrad;
    batchesTracked.add_(1);
    if (!momentum) factor = 1.0 / batchesTracked.flatten()[0].item<double>();
  }
  // view(), not reshape(): the running statistics must be updated in place.
  const Tensor y = at::batch_norm(asSampleMajor(x), weight.reshape({G * C}), bias.reshape({G * C}),
                                  runningMean.view({G * C}), runningVar.view({G * C}), training, factor, 1e-5,
                                  at::globalContext().userEnabledCuDNN());  // (N, G*C, H, W)
  return fromSampleMajor(y, G);
}

Tensor stackedLinear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const Tensor wt = weight.transpose(1, 2);  // (G, F, O)
  return bias.defined() ? at::baddbmm(bias.unsqueeze(1), x, wt) : at::bmm(x, wt);
}

Tensor stackedPool2d(const Tensor& x, PoolKind kind, int64_t size, int64_t stride) {
  const Tensor v = asSampleMajor(x);  // (N, G*C, H, W)
  switch (kind) {
    case PoolKind::Max: return fromSampleMajor(at::max_pool2d(v, {size, size}, {stride, stride}), x.size(0));
    case PoolKind::Average: return fromSampleMajor(at::avg_pool2d(v, {size, size}, {stride, stride}), x.size(0));
    case PoolKind::AdaptiveAverage: break;
  }
  return fromSampleMajor(at::adaptive_avg_pool2d(v, {size, size}), x.size(0));
}

}  // namespace igpg::arch
