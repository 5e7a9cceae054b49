#include "terminal.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <sstream>

namespace igpg::cli {

namespace {
std::mutex gMutex;
bool gBarOpen = false;
}  // namespace

std::string formatDuration(double seconds) {
  if (seconds < 0 || !std::isfinite(seconds)) return "?";
  long s = long(std::lround(seconds));
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

static std::string metricsText(const ProgressEvent& e) {
  std::ostringstream s;
  for (const auto& [name, value] : e.metrics) {
    s << " " << name << "=";
    if (std::fabs(value) >= 1000 || value == std::floor(value)) s << value;
    else {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.4g", value);
      s << buf;
    }
  }
  return s.str();
}

ProgressCallback makeTerminalProgress() {
  const bool tty = ::isatty(2);
  auto lastLine = std::make_shared<std::chrono::steady_clock::time_point>();
  return [tty, lastLine](const ProgressEvent& e) {
    std::lock_guard<std::mutex> lock(gMutex);
    if (!e.message.empty()) {
      if (gBarOpen) std::fputs("\r\033[K", stderr);
      std::fprintf(stderr, "%s\n", e.message.c_str());
      gBarOpen = false;
    }
    std::ostringstream line;
    line << e.phase;
    if (e.total > 0) {
      const double frac = std::min(1.0, double(e.done) / double(e.total));
      const int width = 24, filled = int(frac * width);
      line << " [" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << e.done << "/"
           << e.total << " " << int(frac * 100) << "%";
    } else if (e.done > 0) {
      line << " " << e.done;
    }
    line << " " << formatDuration(e.elapsedSeconds);
    if (!e.finished && e.etaSeconds >= 0) line << " eta " << formatDuration(e.etaSeconds);
    line << metricsText(e);
    if (tty) {
      std::fprintf(stderr, "\r\033[K%s", line.str().c_str());
      gBarOpen = true;
      if (e.finished) {
        std::fputc('\n', stderr);
        gBarOpen = false;
      }
    } else {
      // Without a terminal: one line every 5 seconds and the final one.
      auto now = std::chrono::steady_clock::now();
      if (e.finished || now - *lastLine > std::chrono::seconds(5)) {
        *lastLine = now;
        std::fprintf(stderr, "%s\n", line.str().c_str());
      }
    }
    std::fflush(stderr);
  };
}

void finishTerminalProgress() {
  std::lock_guard<std::mutex> lock(gMutex);
  if (gBarOpen) {
    std::fputc('\n', stderr);
    gBarOpen = false;
  }
}

}  // namespace igpg::cli
