// bench_generation: wall time and peak memory to generate one network (sample its token
// sequence from the prior, Algorithm 1 blocks included, and decode it into weights)
// against its parameter count, and the tokenizer's throughput (parameters encoded and
// decoded per second). The tokenizer and prior have the default options and random
// weights: timing does not depend on what they learned. Networks are MLPs on 28x28 inputs
// with one hidden layer sized to each target. Each size runs with every stream count of
// --streams (SamplingOptions::streams: parts of the sequence generated side by side).
//
//   build/bin/bench_generation [--device cuda] [--sizes 10000,100000,1000000] [--streams 1,64]
#include "bench_common.h"

#include "arch/spec.h"
#include "common/device_memory.h"
#include "common/error.h"
#include "common/runtime.h"
#include "common/stopwatch.h"
#include "jobs/workspace.h"
#include "prior/gpt.h"
#include "prior/sampler.h"
#include "prior/structure.h"
#include "tokenizer/weight_tokenizer.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace {

// An MLP on 28x28 inputs with one hidden layer sized to about `target` parameters, random
// weights, and a default tokenizer (random too) whose normalizer is fitted to them.
struct RandomNetwork {
  igpg::arch::ArchSpec spec;
  igpg::WeightLayout layout;
  torch::Tensor vector;  // (numel) the flattened weights
  igpg::WeightTokenizer tokenizer;

  static RandomNetwork ofSize(int64_t target, const igpg::TokenizerConfig& config, torch::Device device) {
    const int64_t hidden = std::max<int64_t>(1, target / (28 * 28 + 1 + 10));
    auto spec =
        igpg::arch::resolveSpecJson({{"family", "mlp"}, {"hidden", {hidden}}}, igpg::arch::DataShape{1, 28, 28, 10});
    auto layout = igpg::weightLayout(spec.program());
    auto vector = torch::randn({layout.numel});
    igpg::WeightNormalizer normalizer;
    normalizer.fit({{&layout, vector}});
    igpg::WeightTokenizer tokenizer(config, normalizer, device);
    return {std::move(spec), std::move(layout), vector, std::move(tokenizer)};
  }
};

int run(int argc, char** argv) {
  std::map<std::string, std::string> flags = {{"device", "cpu"},
                                              {"sizes", "10000,100000,1000000,10000000,30000000"},
                                              {"max-seconds", "120"},
                                              {"streams", "1"},
                                              {"threads", "0"},
                                              {"seed", "0"}};
  if (!bench::parseFlags(argc, argv, "bench_generation", flags)) return 2;
  igpg::setThreads(std::stoi(flags["threads"]));
  const torch::Device device = igpg::resolveDevice(flags["device"]);
  const uint64_t seed = std::stoull(flags["seed"]);
  const double budget = std::stod(flags["max-seconds"]);
  igpg::seedEverything(seed);

  igpg::TokenizerConfig config;
  igpg::GPTOptions priorOptions;
  priorOptions.vocabSize = config.vq.codebookSize;
  priorOptions.tokensPerChunk = config.vq.tokensPerChunk;
  std::printf("bench_generation: default tokenizer (K %lld, l %lld, m %lld) and prior (%lld layers, width %lld, "
              "N_max %lld), random weights\n",
              (long long)config.vq.chunkSize, (long long)config.vq.tokensPerChunk, (long long)config.vq.codebookSize,
              (long long)priorOptions.layers, (long long)priorOptions.width, (long long)priorOptions.contextLength);
  std::printf("LibTorch %s, device %s, %d intra-op threads, BLAS %s, seed %llu; sampling stops after %.0f s "
              "and projects the rest\n\n",
              igpg::torchVersion().c_str(), device.str().c_str(), at::get_num_threads(), igpg::blasBackend().c_str(),
              (unsigned long long)seed, budget);
  std::printf("%12s %10s %8s %7s %10s %10s %10s %12s %14s\n", "parameters", "tokens", "streams", "blocks",
              "sample s", "decode s", "total s", "peak MiB", "us/parameter");

  igpg::GPT gpt(priorOptions);
  gpt->to(device);
  for (int64_t target : bench::intList(flags["sizes"])) {
    RandomNetwork net = RandomNetwork::ofSize(target, config, device);
    const auto& layout = net.layout;
    auto& tokenizer = net.tokenizer;
    const int64_t params = net.spec.parameterCount();
    const int64_t length = tokenizer.sequenceLength(layout);
    const auto structure = igpg::tokenStructure(tokenizer.plan(layout), config.vq.tokensPerChunk, layout.numLayers);
    for (int64_t streams : bench::intList(flags["streams"])) {
      // Past the budget, the sampler is cancelled and the full time projected from its rate.
      igpg::JobControl job;
      int64_t done = 0, total = 1;
      double elapsed = 0;
      job.progress = [&](const igpg::ProgressEvent& e) {
        done = e.done;
        total = e.total;
        elapsed = e.elapsedSeconds;
        if (e.elapsedSeconds > budget) job.cancel.cancel();
      };
      torch::NoGradGuard noGrad;
      igpg::resetPeakMemory(device);
      const auto t0 = std::chrono::steady_clock::now();
      auto prefix = gpt->conditionPrefix({}, {}, 1);
      igpg::SamplingOptions sampling;
      sampling.seed = seed;
      sampling.streams = streams;
      igpg::SampleResult sampled;
      try {
        sampled = igpg::sampleSequence(gpt, prefix, structure, length, sampling, job);
      } catch (const igpg::Error& e) {
        if (e.kind() != igpg::ErrorKind::Cancelled) throw;
        std::printf("%12lld %10lld %8lld stopped after %.0f s at %lld of %lld tokens: sampling alone would take "
                    "about %.0f s\n",
                    (long long)params, (long long)length, (long long)streams, elapsed, (long long)done,
                    (long long)total, elapsed * double(total) / double(std::max<int64_t>(1, done)));
        continue;
      }
      const double sampleSeconds = igpg::secondsSince(t0);
      const auto t1 = std::chrono::steady_clock::now();
      (void)tokenizer.decode(sampled.tokens, layout);
      const double decodeSeconds = igpg::secondsSince(t1);
      const double seconds = sampleSeconds + decodeSeconds;
      std::printf("%12lld %10lld %8lld %7zu %10.3f %10.3f %10.3f %12.1f %14.3f\n", (long long)params,
                  (long long)length, (long long)streams, sampled.blocks.size(), sampleSeconds, decodeSeconds, seconds,
                  double(igpg::peakMemoryBytes(device)) / double(1 << 20), 1e6 * seconds / double(params));
      std::fflush(stdout);
    }
  }

  // Tokenizer throughput on a 1M-parameter MLP.
  RandomNetwork net = RandomNetwork::ofSize(1000000, config, device);
  const double params = double(net.spec.parameterCount());
  const auto weights = igpg::unflattenWeights(net.vector, net.layout);
  torch::Tensor tokens;
  net.tokenizer.encode(weights, net.layout);  // warm-up
  const double encodeSeconds = bench::medianSeconds(3, [&] { tokens = net.tokenizer.encode(weights, net.layout); });
  const double decodeSeconds = bench::medianSeconds(3, [&] { (void)net.tokenizer.decode(tokens, net.layout); });
  std::printf("\ntokenizer on %.0f parameters (%lld tokens): encode %.3f s (%.2f M parameters/s), decode %.3f s "
              "(%.2f M parameters/s)\n",
              params, (long long)tokens.numel(), encodeSeconds, params / encodeSeconds / 1e6, decodeSeconds,
              params / decodeSeconds / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return bench::mainOf("bench_generation", run, argc, argv); }
