// How the process's heap (glibc's malloc) treats the memory that LibTorch's CPU tensors
// free, while a training runs.
#pragma once

namespace igpg {

// While an object lives, freed memory stays in the heap for the next step. glibc serves
// large blocks with fresh mmap()s and hands freed ones back to the system, so a training
// step faults its activations' pages in again each time: on the Tiny CNN stacked 8 times
// that was half of the step (1 thread: 2.8 -> 1.3 ms per model and step; page faults
// 1.8M -> 62k per 1,600 samples). Trainings that overlap share one setting; when the last
// one ends the memory goes back to the system.
class KeepFreedMemory {
 public:
  KeepFreedMemory();
  ~KeepFreedMemory();
  KeepFreedMemory(const KeepFreedMemory&) = delete;
  KeepFreedMemory& operator=(const KeepFreedMemory&) = delete;
};

}  // namespace igpg
