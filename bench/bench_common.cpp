#include "bench_common.h"

#include "common/stopwatch.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

namespace bench {

int mainOf(const char* program, int (*run)(int, char**), int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 1;
  }
}

bool parseFlags(int argc, char** argv, const char* program, std::map<std::string, std::string>& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || !flags.count(a.substr(2)) || i + 1 >= argc) {
      std::cerr << "usage: " << program;
      for (const auto& [k, v] : flags) std::cerr << " [--" << k << " " << (v.empty() ? "\"\"" : v) << "]";
      std::cerr << "\n";
      return false;
    }
    flags[a.substr(2)] = argv[++i];
  }
  return true;
}

std::vector<int64_t> intList(const std::string& text) {
  std::vector<int64_t> values;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) values.push_back(std::stoll(item));
  return values;
}

namespace {
void synchronize(const torch::Tensor& t) {
  if (t.is_cuda()) (void)t.sum().item<double>();  // a read-back waits for the queued work
}
}  // namespace

double medianSeconds(int repeats, const std::function<void()>& fn) {
  std::vector<double> times;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    times.push_back(igpg::secondsSince(t0));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double copyBandwidth(torch::Device device) {
  torch::NoGradGuard noGrad;
  const int64_t bytes = device.is_cuda() ? (int64_t(1) << 30) : (int64_t(1) << 28);
  auto a = torch::ones({bytes / 4}, torch::TensorOptions().device(device));
  auto b = torch::empty_like(a);
  b.copy_(a);
  synchronize(b);
  const double seconds = medianSeconds(5, [&] {
    b.copy_(a);
    synchronize(b);
  });
  return 2.0 * double(bytes) / seconds;
}

std::vector<std::string> referenceResults(const std::string& command) {
  std::vector<std::string> results;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return results;
  std::array<char, 4096> buffer{};
  std::string line;
  while (std::fgets(buffer.data(), int(buffer.size()), pipe.get())) {
    line += buffer.data();
    if (line.empty() || line.back() != '\n') continue;
    line.pop_back();
    if (line.rfind("RESULT ", 0) == 0) results.push_back(line.substr(7));
    else std::printf("  | %s\n", line.c_str());
    line.clear();
  }
  return results;
}

}  // namespace bench
