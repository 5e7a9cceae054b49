#include "prior/fused_step_kernels.h"

#include <math.h>

// Tests run these kernels on the CPU through tests/support/cuda_host_emulation.h, which
// defines its own launch.
#ifndef IGPG_CUDA_HOST_EMULATION
#include <cuda_runtime.h>
#define IGPG_CUDA_LAUNCH(grid, threads, stream, ...) __VA_ARGS__<<<grid, threads, 0, stream>>>
#endif

namespace igpg::fused {

namespace {

constexpr int kWarp = 32;
constexpr unsigned kAll = 0xffffffffu;
// One warp per output row of a matrix-vector product, 8 rows per block.
constexpr int kRowsPerBlock = 8;
constexpr int kGemvThreads = kWarp * kRowsPerBlock;
constexpr int kSampleThreads = 1024;
constexpr float kLayerNormEps = 1e-5f;  // torch::nn::LayerNorm's default

__device__ float warpSum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(kAll, v, offset);
  return v;
}

__device__ float warpMax(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(kAll, v, offset));
  return v;
}

// Sum or maximum over the block; `scratch` holds a float per warp. Ends with a barrier, so
// that shared memory written before it is visible after it and scratch can be reused.
template <bool kMax>
__device__ float blockReduce(float v, float* scratch) {
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp, warps = blockDim.x / kWarp;
  v = kMax ? warpMax(v) : warpSum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float r = scratch[0];
  for (int i = 1; i < warps; ++i) r = kMax ? fmaxf(r, scratch[i]) : r + scratch[i];
  __syncthreads();
  return r;
}

// y[b, o] (=, or += with kResidual) act(W[o, :] . xin[b, :] + bias[o]) for every row b,
// where xin is x, or LayerNorm(x) with the given affine parameters when kNorm. One warp
// per output row o reads that row of W once, with 16-byte loads, for all batch rows.
template <bool kNorm, bool kGelu, bool kResidual>
__global__ void __launch_bounds__(kGemvThreads)
    rowGemv(const float* __restrict__ x, int batch, int in, const float* __restrict__ lnWeight,
            const float* __restrict__ lnBias, const float* __restrict__ W, const float* __restrict__ bias, int out,
            float* __restrict__ y) {
  __shared__ float mean[kMaxBatch], rstd[kMaxBatch];
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (kNorm) {
    // Every block normalizes the few rows itself: cheaper than another launch.
    for (int b = warp; b < batch; b += kRowsPerBlock) {
      const float* row = x + size_t(b) * in;
      float s = 0;
      for (int i = lane; i < in; i += kWarp) s += row[i];
      const float m = warpSum(s) / in;
      float v = 0;
      for (int i = lane; i < in; i += kWarp) v += (row[i] - m) * (row[i] - m);
      v = warpSum(v) / in;  // biased, as LayerNorm
      if (lane == 0) {
        mean[b] = m;
        rstd[b] = rsqrtf(v + kLayerNormEps);
      }
    }
    __syncthreads();
  }
  const int o = blockIdx.x * kRowsPerBlock + warp;
  if (o >= out) return;
  float acc[kMaxBatch];
#pragma unroll
  for (int b = 0; b < kMaxBatch; ++b) acc[b] = 0.f;
  const float4* w4 = reinterpret_cast<const float4*>(W + size_t(o) * in);
  const int in4 = in / 4;
  // Unrolled so that several loads of W are in flight per warp: at batch 1 the warps
  // mostly wait on memory.
#pragma unroll 4
  for (int j = lane; j < in4; j += kWarp) {
    const float4 w = w4[j];
    float4 g = make_float4(1.f, 1.f, 1.f, 1.f), beta = make_float4(0.f, 0.f, 0.f, 0.f);
    if (kNorm) {
      g = reinterpret_cast<const float4*>(lnWeight)[j];
      beta = reinterpret_cast<const float4*>(lnBias)[j];
    }
#pragma unroll
    for (int b = 0; b < kMaxBatch; ++b) {
      if (b >= batch) break;
      float4 v = reinterpret_cast<const float4*>(x + size_t(b) * in)[j];
      if (kNorm) {
        v.x = (v.x - mean[b]) * rstd[b] * g.x + beta.x;
        v.y = (v.y - mean[b]) * rstd[b] * g.y + beta.y;
        v.z = (v.z - mean[b]) * rstd[b] * g.z + beta.z;
        v.w = (v.w - mean[b]) * rstd[b] * g.w + beta.w;
      }
      acc[b] += w.x * v.x + w.y * v.y + w.z * v.z + w.w * v.w;
    }
  }
#pragma unroll
  for (int b = 0; b < kMaxBatch; ++b) {
    if (b >= batch) break;
    float s = warpSum(acc[b]);
    if (lane == 0) {
      if (bias) s += bias[o];
      if (kGelu) s = 0.5f * s * (1.f + erff(s * 0.70710678118654752f));  // exact GELU, as F::gelu
      float* target = y + size_t(b) * out + o;
      *target = kResidual ? *target + s : s;
    }
  }
}

// Attention of the step's query over the cached positions 0..pos, pos = cacheLength - 1
// (the sampling kernel has counted the step): the loop bounds are read on the device, so
// a recorded CUDA graph replays correctly at every length without masking a whole window.
// Split as flash-decoding does: block (split, head, row) takes kAttentionThreads
// positions, one per thread for the scores, and leaves its softmax statistics (max m, sum
// l) and unnormalized output; the last block of a (row, head) to finish, found with an
// atomic counter, merges them. One block per (row, head) would leave most of the GPU idle
// and wait on memory latency hundreds of times in a row.
__global__ void __launch_bounds__(kAttentionThreads)
    decodeAttention(const float* __restrict__ qkv, float* cacheKeys, float* cacheValues,
                    const int64_t* __restrict__ cacheLength, int heads, int headDim, int maxLength, float scale,
                    float* partials, int* arrivals, float* __restrict__ y) {
  __shared__ float4 q4[kAttentionThreads / 4];
  __shared__ float p[kAttentionThreads];                  // scores, then probabilities
  __shared__ float4 sum4[kAttentionThreads];              // per group of positions, per 4 values
  __shared__ float scratch[kAttentionThreads / kWarp];
  __shared__ bool last;
  const int split = blockIdx.x, h = blockIdx.y, b = blockIdx.z, C = heads * headDim, tid = threadIdx.x;
  const int pos = int(cacheLength[0]) - 1;
  const int splits = pos / kAttentionThreads + 1, first = split * kAttentionThreads;
  if (split >= splits) return;
  const int count = min(kAttentionThreads, pos + 1 - first);
  const float* row = qkv + size_t(b) * 3 * C + h * headDim;  // (3, C) of this row, at this head
  const size_t base = (size_t(b) * heads + h) * size_t(maxLength) * headDim;
  float* K = cacheKeys + base;  // (maxLength, headDim)
  float* V = cacheValues + base;
  const int d4 = headDim / 4;
  for (int d = tid; d < headDim; d += blockDim.x) {
    reinterpret_cast<float*>(q4)[d] = row[d] * scale;
    if (pos / kAttentionThreads == split) {  // the step's own key and value, in the block that reads them
      K[size_t(pos) * headDim + d] = row[C + d];
      V[size_t(pos) * headDim + d] = row[2 * C + d];
    }
  }
  __syncthreads();
  float score = -INFINITY;
  if (tid < count) {
    const float4* k = reinterpret_cast<const float4*>(K + size_t(first + tid) * headDim);
    score = 0;
    for (int i = 0; i < d4; ++i) {
      const float4 kv = k[i], qv = q4[i];
      score += kv.x * qv.x + kv.y * qv.y + kv.z * qv.z + kv.w * qv.w;
    }
  }
  const float m = blockReduce<true>(score, scratch);
  const float e = tid < count ? expf(score - m) : 0.f;
  p[tid] = e;
  const float l = blockReduce<false>(e, scratch);  // its barrier publishes p
  // Groups of d4 threads, each thread 4 values of the output, each group every groups-th position.
  const int groups = blockDim.x / d4, g = tid / d4, c = tid % d4;
  float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);
  if (g < groups) {
#pragma unroll 4
    for (int s = g; s < count; s += groups) {
      const float4 v = reinterpret_cast<const float4*>(V + size_t(first + s) * headDim)[c];
      acc.x += p[s] * v.x;
      acc.y += p[s] * v.y;
      acc.z += p[s] * v.z;
      acc.w += p[s] * v.w;
    }
    sum4[tid] = acc;
  }
  __syncthreads();
  float* mine = partials + ((size_t(b) * heads + h) * ((maxLength + kAttentionThreads - 1) / kAttentionThreads) + split) *
                               (headDim + 2);
  for (int d = tid; d < headDim; d += blockDim.x) {
    float total = 0;
    for (int i = 0; i < groups; ++i) total += reinterpret_cast<const float*>(sum4 + i * d4)[d];
    mine[d] = total;
  }
  if (tid == 0) {
    mine[headDim] = m;
    mine[headDim + 1] = l;
  }
  // The classic last-block pattern: publish, count, and the block that counts last merges.
  __threadfence();
  __syncthreads();
  int* arrived = arrivals + b * heads + h;
  if (tid == 0) last = atomicAdd(arrived, 1) == splits - 1;
  __syncthreads();
  if (!last) return;
  const float* all = mine - size_t(split) * (headDim + 2);
  float M = -INFINITY;
  for (int i = 0; i < splits; ++i) M = fmaxf(M, __ldcg(all + size_t(i) * (headDim + 2) + headDim));
  float L = 0;
  for (int i = 0; i < splits; ++i) {
    const float* part = all + size_t(i) * (headDim + 2);
    L += __ldcg(part + headDim + 1) * expf(__ldcg(part + headDim) - M);
  }
  for (int d = tid; d < headDim; d += blockDim.x) {
    float total = 0;
    for (int i = 0; i < splits; ++i) {
      const float* part = all + size_t(i) * (headDim + 2);
      total += __ldcg(part + d) * expf(__ldcg(part + headDim) - M);
    }
    y[size_t(b) * C + h * headDim + d] = total / L;
  }
  if (tid == 0) *arrived = 0;  // ready for the next layer and step
}

// Draws token t = counters[0] of every row, as sampleNext does (argmax of
// logits * inverseTemperature + gumbel, ties to the lowest index as torch::argmax), writes
// it, and sets hidden[b] = tokenEmbedding[token] + inputs[b, k]. Last, it advances the
// counters and the cache length: every kernel after it reads the new length.
__global__ void __launch_bounds__(kSampleThreads)
    sampleAndEmbed(StepShapes shape, StepBuffers io, float inverseTemperature, bool greedy) {
  __shared__ float bestValue[kSampleThreads / kWarp];
  __shared__ int bestIndex[kSampleThreads / kWarp];
  __shared__ int64_t token[kMaxBatch];
  const int tid = threadIdx.x, lane = tid % kWarp, warp = tid / kWarp, warps = blockDim.x / kWarp;
  const int64_t t = io.counters[0], k = io.counters[1];
  const int V = shape.vocab, C = shape.width;
  for (int b = 0; b < shape.batch; ++b) {
    if (io.chosen) {
      if (tid == 0) token[b] = io.chosen[b];
      continue;
    }
    float best = -INFINITY;
    int index = V;  // past the end: loses to any value, even -inf
    for (int v = tid; v < V; v += blockDim.x) {
      float s = io.logits[size_t(b) * V + v];
      // Rounded apart, as the separate LibTorch operations of sampleNext round.
      if (!greedy) s = __fadd_rn(__fmul_rn(s, inverseTemperature), io.gumbel[(size_t(k) * shape.batch + b) * V + v]);
      if (s > best || (s == best && v < index) || (isnan(s) && !isnan(best))) {
        best = s;
        index = v;
      }
    }
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      const float otherValue = __shfl_xor_sync(kAll, best, offset);
      const int otherIndex = __shfl_xor_sync(kAll, index, offset);
      if (otherValue > best || (otherValue == best && otherIndex < index) || (isnan(otherValue) && !isnan(best))) {
        best = otherValue;
        index = otherIndex;
      }
    }
    if (lane == 0) {
      bestValue[warp] = best;
      bestIndex[warp] = index;
    }
    __syncthreads();
    if (tid == 0) {
      for (int i = 1; i < warps; ++i)
        if (bestValue[i] > best || (bestValue[i] == best && bestIndex[i] < index) ||
            (isnan(bestValue[i]) && !isnan(best))) {
          best = bestValue[i];
          index = bestIndex[i];
        }
      token[b] = index < V ? index : 0;
    }
    __syncthreads();
  }
  __syncthreads();
  for (int i = tid; i < shape.batch * C; i += blockDim.x) {
    const int b = i / C, c = i % C;
    io.hidden[i] = io.tokenEmbedding[size_t(token[b]) * C + c] + io.inputs[(size_t(b) * shape.window + k) * C + c];
  }
  if (tid < shape.batch) io.tokens[size_t(tid) * shape.sequenceLength + t] = token[tid];
  __syncthreads();  // every thread has read the counters before they move
  if (tid == 0) {
    io.counters[0] = t + 1;
    io.counters[1] = k + 1;
    io.cacheLength[0] += 1;
  }
}

int blocksFor(int rows) { return (rows + kRowsPerBlock - 1) / kRowsPerBlock; }

}  // namespace

const char* decodeStep(const StepShapes& shape, const StepBuffers& io, const LayerWeights* layers, int numLayers,
                       float inverseTemperature, bool greedy, CUstream_st* stream) {
  const int B = shape.batch, C = shape.width, headDim = C / shape.heads;
  const dim3 attentionGrid((shape.maxLength + kAttentionThreads - 1) / kAttentionThreads, shape.heads, B);
  const float scale = 1.f / sqrtf(float(headDim));
  IGPG_CUDA_LAUNCH(1, kSampleThreads, stream, sampleAndEmbed)(shape, io, inverseTemperature, greedy);
  for (int i = 0; i < numLayers; ++i) {
    const LayerWeights& w = layers[i];
    IGPG_CUDA_LAUNCH(blocksFor(3 * C), kGemvThreads, stream, rowGemv<true, false, false>)(
        io.hidden, B, C, w.ln1Weight, w.ln1Bias, w.qkvWeight, w.qkvBias, 3 * C, io.qkv);
    IGPG_CUDA_LAUNCH(attentionGrid, kAttentionThreads, stream, decodeAttention)(
        io.qkv, w.cacheKeys, w.cacheValues, io.cacheLength, shape.heads, headDim, shape.maxLength, scale,
        io.partials, io.arrivals, io.attention);
    IGPG_CUDA_LAUNCH(blocksFor(C), kGemvThreads, stream, rowGemv<false, false, true>)(
        io.attention, B, C, nullptr, nullptr, w.projWeight, w.projBias, C, io.hidden);
    IGPG_CUDA_LAUNCH(blocksFor(4 * C), kGemvThreads, stream, rowGemv<true, true, false>)(
        io.hidden, B, C, w.ln2Weight, w.ln2Bias, w.fcWeight, w.fcBias, 4 * C, io.mlp);
    IGPG_CUDA_LAUNCH(blocksFor(C), kGemvThreads, stream, rowGemv<false, false, true>)(
        io.mlp, B, 4 * C, nullptr, nullptr, w.outWeight, w.outBias, C, io.hidden);
  }
  IGPG_CUDA_LAUNCH(blocksFor(shape.vocab), kGemvThreads, stream, rowGemv<true, false, false>)(
      io.hidden, B, C, io.lnFinalWeight, io.lnFinalBias, io.headWeight, nullptr, shape.vocab, io.logits);
  const cudaError_t status = cudaGetLastError();
  return status == cudaSuccess ? nullptr : cudaGetErrorString(status);
}

}  // namespace igpg::fused
