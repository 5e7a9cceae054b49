// What the benchmark programs share: flag parsing, timing, bandwidth, and running a
// reference program whose result lines they compare with their own.
#pragma once

#include <torch/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace bench {

// main() of a benchmark: runs run(argc, argv), and prints an exception as "program: what".
int mainOf(const char* program, int (*run)(int, char**), int argc, char** argv);

// --name value flags over the defaults; false (after printing usage) on an unknown flag.
bool parseFlags(int argc, char** argv, const char* program, std::map<std::string, std::string>& flags);
std::vector<int64_t> intList(const std::string& text);  // "1,8" -> {1, 8}

// Median wall time in seconds of `repeats` calls of fn (which must synchronize itself).
double medianSeconds(int repeats, const std::function<void()>& fn);

// Memory bandwidth of the device in bytes per second, counting bytes read and written by a
// large device-to-device copy (the figure the hardware limit of a memory-bound step uses).
double copyBandwidth(torch::Device device);

// Runs `command` and returns each output line of the form "RESULT {json}" as its json text.
std::vector<std::string> referenceResults(const std::string& command);

}  // namespace bench
