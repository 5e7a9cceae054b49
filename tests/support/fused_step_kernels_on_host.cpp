// The fused decoding step's CUDA kernels compiled for the CPU, through the emulation of
// cuda_host_emulation.h, so that test_fused_step runs them where there is no GPU.
#include "cuda_host_emulation.h"

#include "prior/fused_step_kernels.cu"
