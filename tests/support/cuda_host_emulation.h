// Just enough of CUDA to run the fused decoding step's kernels on the CPU in a test, where
// no GPU exists (the CI machines): every CUDA thread of a block is a fiber (ucontext) on
// the one host thread, and __syncthreads and warp shuffles are barriers between the
// fibers. Blocks run one after another, so a __shared__ variable may be a static local.
// Slow (a context switch per barrier and thread) but exact about the kernels' indexing,
// reductions and barriers, which is what can go wrong without a GPU to run them on.
//
// Included before the kernels' source (see fused_step_kernels_on_host.cpp); the kernels
// launch through IGPG_CUDA_LAUNCH, which this header defines first.
#pragma once

#include <ucontext.h>

#include <math.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <vector>

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

inline dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __shared__ static
#define __launch_bounds__(n)
#define __restrict__ __restrict

using cudaError_t = int;
constexpr cudaError_t cudaSuccess = 0;
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorString(cudaError_t) { return "no error"; }

inline int min(int a, int b) { return a < b ? a : b; }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline void __threadfence() {}
template <typename T>
T __ldcg(const T* p) {
  return *p;
}
inline int atomicAdd(int* p, int v) {  // fibers never interleave inside a call
  const int old = *p;
  *p += v;
  return old;
}

namespace cuda_host_emulation {

constexpr int kWarpSize = 32;

struct Fiber {
  ucontext_t context;
  std::vector<char> stack;
  bool done = false;
};

struct Barrier {
  int arrived = 0;
  uint64_t generation = 0;
};

struct Block {
  std::vector<Fiber> fibers;
  ucontext_t scheduler;
  int current = 0;
  int live = 0;
  uint64_t progress = 0;  // arrivals, releases and exits: a round without any is a deadlock
  Barrier block;
  std::vector<Barrier> warps;
  std::vector<int> liveInWarp;
  std::vector<uint64_t> exchange;  // one slot per thread for shuffles
  std::function<void()> body;
};

inline Block& block() {
  static Block b;
  return b;
}

inline void yield() {
  Block& b = block();
  swapcontext(&b.fibers[size_t(b.current)].context, &b.scheduler);
}

// Waits until `participants` fibers have arrived; the last one releases the others.
inline void wait(Barrier& barrier, const int& participants) {
  const uint64_t generation = barrier.generation;
  ++block().progress;
  if (++barrier.arrived >= participants) {
    barrier.arrived = 0;
    ++barrier.generation;
    return;
  }
  while (barrier.generation == generation) yield();
}

inline void entry() {
  Block& b = block();
  b.body();
  const int warp = b.current / kWarpSize;
  b.fibers[size_t(b.current)].done = true;
  ++b.progress;
  --b.live;
  --b.liveInWarp[size_t(warp)];
  // A thread that returns no longer counts at barriers others are waiting on.
  if (b.block.arrived > 0 && b.block.arrived >= b.live) {
    b.block.arrived = 0;
    ++b.block.generation;
  }
  Barrier& w = b.warps[size_t(warp)];
  if (w.arrived > 0 && w.arrived >= b.liveInWarp[size_t(warp)]) {
    w.arrived = 0;
    ++w.generation;
  }
}

// Runs body once per thread of one block.
inline void runBlock(unsigned threads, const std::function<void()>& body) {
  Block& b = block();
  const int warps = int((threads + kWarpSize - 1) / kWarpSize);
  b.fibers.resize(threads);
  b.warps.assign(size_t(warps), Barrier{});
  b.liveInWarp.assign(size_t(warps), 0);
  b.exchange.assign(threads, 0);
  b.block = Barrier{};
  b.live = int(threads);
  b.body = body;
  for (unsigned t = 0; t < threads; ++t) {
    Fiber& f = b.fibers[t];
    f.done = false;
    f.stack.resize(64 * 1024);
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack.data();
    f.context.uc_stack.ss_size = f.stack.size();
    f.context.uc_link = &b.scheduler;
    makecontext(&f.context, entry, 0);
    ++b.liveInWarp[t / kWarpSize];
  }
  while (b.live > 0) {
    const uint64_t before = b.progress;
    for (unsigned t = 0; t < threads; ++t) {
      if (b.fibers[t].done) continue;
      b.current = int(t);
      threadIdx = dim3(t, 0, 0);
      swapcontext(&b.scheduler, &b.fibers[t].context);
    }
    if (b.progress == before && b.live > 0)
      throw std::logic_error("cuda_host_emulation: every thread waits at a barrier the others never reach");
  }
}

inline void syncthreads() { wait(block().block, block().live); }

template <typename T>
T shuffleXor(T value, int offset) {
  static_assert(sizeof(T) <= sizeof(uint64_t), "shuffles of up to 8 bytes");
  Block& b = block();
  const int me = b.current, warp = me / kWarpSize;
  std::memcpy(&b.exchange[size_t(me)], &value, sizeof(T));
  wait(b.warps[size_t(warp)], b.liveInWarp[size_t(warp)]);
  T other;
  std::memcpy(&other, &b.exchange[size_t(warp * kWarpSize + ((me % kWarpSize) ^ offset))], sizeof(T));
  wait(b.warps[size_t(warp)], b.liveInWarp[size_t(warp)]);  // nobody overwrites a slot still to be read
  return other;
}

// kernel<<<grid, threads>>>(args...): every block in order, every thread a fiber.
template <typename Kernel>
auto launcher(dim3 grid, dim3 threads, Kernel kernel) {
  return [=](auto... args) {
    gridDim = grid;
    blockDim = threads;
    for (unsigned z = 0; z < grid.z; ++z)
      for (unsigned y = 0; y < grid.y; ++y)
        for (unsigned x = 0; x < grid.x; ++x) {
          blockIdx = dim3(x, y, z);
          runBlock(threads.x, [&] { kernel(args...); });
        }
  };
}

}  // namespace cuda_host_emulation

inline void __syncthreads() { cuda_host_emulation::syncthreads(); }
template <typename T>
T __shfl_xor_sync(unsigned, T value, int offset) {
  return cuda_host_emulation::shuffleXor(value, offset);
}

#define IGPG_CUDA_HOST_EMULATION 1
#define IGPG_CUDA_LAUNCH(grid, threads, stream, ...) \
  ((void)(stream), cuda_host_emulation::launcher(dim3(grid), dim3(threads), __VA_ARGS__))
