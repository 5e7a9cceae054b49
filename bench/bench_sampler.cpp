// bench_sampler: tokens per second of the prior's sampler (key/value cache, one block of
// --tokens tokens) against a plain PyTorch script with a key/value cache
// (bench/sampler_reference.py, run by --reference in the same process run) and against
// the memory-bandwidth bound: at batch 1 every step reads all weights once, so no sampler
// can beat bandwidth / bytes of weights per step.
//
//   build/bin/bench_sampler [--device cuda] [--reference "python3 bench/sampler_reference.py"]
#include "bench_common.h"

#include "common/runtime.h"
#include "prior/fused_step.h"
#include "prior/gpt.h"
#include "prior/sampler.h"
#include "prior/step_graph.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <iostream>

namespace {

// Bytes of weights one decoding step reads: every matrix and vector, but only one row of
// each embedding table.
double bytesPerStep(igpg::GPT& gpt) {
  double bytes = 0;
  for (const auto& p : gpt->named_parameters()) {
    const auto& t = p.value();
    const bool table = p.key().find("embedding") != std::string::npos && t.dim() == 2;
    bytes += double(table ? t.size(1) : t.numel()) * double(t.element_size());
  }
  return bytes;
}

int run(int argc, char** argv) {
  std::map<std::string, std::string> flags = {
      {"device", "cpu"}, {"layers", "8"}, {"heads", "8"},   {"width", "512"},    {"vocab", "1024"},
      {"tokens", "640"}, {"batch", "1,8"}, {"repeats", "3"}, {"threads", "0"}, {"seed", "0"}, {"reference", ""}};
  if (!bench::parseFlags(argc, argv, "bench_sampler", flags)) return 2;
  igpg::setThreads(std::stoi(flags["threads"]));
  const torch::Device device = igpg::resolveDevice(flags["device"]);
  const uint64_t seed = std::stoull(flags["seed"]);
  const int repeats = std::stoi(flags["repeats"]);
  const int64_t tokens = std::stoll(flags["tokens"]);

  igpg::GPTOptions o;
  o.layers = std::stoll(flags["layers"]);
  o.heads = std::stoll(flags["heads"]);
  o.width = std::stoll(flags["width"]);
  o.vocabSize = std::stoll(flags["vocab"]);
  o.contextLength = tokens;  // one block: the reference has no Algorithm 1
  igpg::seedEverything(seed);
  igpg::GPT gpt(o);
  gpt->to(device);
  const double stepBytes = bytesPerStep(gpt);
  const double bandwidth = bench::copyBandwidth(device);

  std::printf("bench_sampler: prior of %lld layers, %lld heads, width %lld, vocabulary %lld; %lld tokens per sample\n",
              (long long)o.layers, (long long)o.heads, (long long)o.width, (long long)o.vocabSize, (long long)tokens);
  std::printf("LibTorch %s, device %s, %d intra-op threads, BLAS %s, seed %llu, median of %d runs\n",
              igpg::torchVersion().c_str(), device.str().c_str(), at::get_num_threads(), igpg::blasBackend().c_str(),
              (unsigned long long)seed,
              repeats);
  std::printf("weights read per step %.1f MB, copy bandwidth %.0f GB/s: bound %.0f steps/s\n\n", stepBytes / 1e6,
              bandwidth / 1e9, bandwidth / stepBytes);

  // Modes: LibTorch's kernels launched one by one, the same recorded as a CUDA graph, and
  // the fused kernels of fused_step.h recorded as a graph (where they apply).
  struct Mode {
    const char* name;
    bool graph, fused;
  };
  std::vector<Mode> modes = {{device.is_cuda() ? "eager" : "cpu", false, false}};
  if (device.is_cuda() && igpg::StepGraph::available()) modes.push_back({"cuda-graph", true, false});
  if (device.is_cuda() && igpg::FusedDecodeStep::available()) modes.push_back({"fused", true, true});
  std::map<int64_t, double> best;  // batch -> steps per second of the fastest mode
  for (int64_t batch : bench::intList(flags["batch"])) {
    torch::NoGradGuard noGrad;
    auto prefix = gpt->conditionPrefix({}, {}, batch);  // (B, 1, C): the start token alone
    igpg::TokenStructure structure{
        torch::zeros({1, tokens, o.structureDim}, torch::TensorOptions().device(device)),
        torch::zeros({1, tokens}, torch::TensorOptions().dtype(torch::kInt64).device(device)),
        torch::arange(tokens, torch::TensorOptions().dtype(torch::kInt64).device(device)).remainder(o.tokensPerChunk)
            .unsqueeze(0)};
    for (const Mode& mode : modes) {
      igpg::SamplingOptions s;
      s.temperature = 1.0;
      s.seed = seed;
      s.cudaGraph = mode.graph;
      s.fusedStep = mode.fused;
      auto sample = [&] { (void)igpg::sampleSequence(gpt, prefix, structure, tokens, s); };
      sample();  // warm-up: allocator, libraries, kernels
      const double seconds = bench::medianSeconds(repeats, sample);
      const double steps = double(tokens) / seconds;
      best[batch] = std::max(best[batch], steps);
      std::printf("igpg   batch %3lld %-12s %9.0f tokens/s  %7.1f steps/s  %5.1f%% of the bandwidth bound\n",
                  (long long)batch, mode.name, steps * double(batch), steps, 100.0 * steps / (bandwidth / stepBytes));
    }
  }

  if (!flags["reference"].empty()) {
    std::string command = flags["reference"] + " --device " + device.str() + " --layers " + flags["layers"] +
                          " --heads " + flags["heads"] + " --width " + flags["width"] + " --vocab " + flags["vocab"] +
                          " --tokens " + flags["tokens"] + " --batch " + flags["batch"] + " --repeats " +
                          flags["repeats"] + " --threads " + std::to_string(at::get_num_threads()) + " --seed " +
                          flags["seed"];
    std::printf("\nreference: %s\n", command.c_str());
    const auto results = bench::referenceResults(command);
    if (results.empty()) std::printf("reference printed no RESULT line\n");
    for (const auto& line : results) {
      const auto r = nlohmann::json::parse(line);
      const int64_t batch = r.at("batch").get<int64_t>();
      const double steps = r.at("steps_per_second").get<double>();
      std::printf("python batch %3lld %-12s %9.0f tokens/s  %7.1f steps/s  igpg is %.2fx\n", (long long)batch,
                  r.value("mode", "").c_str(), steps * double(batch), steps, best.count(batch) ? best[batch] / steps : 0.0);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return bench::mainOf("bench_sampler", run, argc, argv); }
