// Precompiled header shared by every target (see cmake/IgpgPch.cmake). Only heavy,
// stable third-party headers belong here; project headers change too often.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>
