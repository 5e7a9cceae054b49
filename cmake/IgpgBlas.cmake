# LibTorch 1.13 from Debian runs its CPU matmuls on whichever libblas.so.3 the system's
# alternatives select, usually OpenBLAS built on pthreads. That build keeps its own thread
# pool, whose idle threads spin (sched_yield) while LibTorch's OpenMP threads run the
# other ops, and the other way round: on 2 cores the tokenizer's training steps took 1.7x
# as long as with the OpenMP build of OpenBLAS, which runs on LibTorch's own OpenMP threads
# (bench/README.md has the measurement). So when that build is installed, IGPG's programs
# look for libblas.so.3 in its folder first, whatever the system default is.
#
# The search path must reach libtorch_cpu's own dependency on libblas.so.3, which only an
# old-style DT_RPATH of the executable does (a DT_RUNPATH covers direct dependencies only),
# hence --disable-new-dtags.
set(IGPG_OPENBLAS_OPENMP_DIR "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp")
if(CMAKE_LIBRARY_ARCHITECTURE AND EXISTS "${IGPG_OPENBLAS_OPENMP_DIR}/libblas.so.3")
  message(STATUS "BLAS: OpenBLAS (OpenMP) from ${IGPG_OPENBLAS_OPENMP_DIR}")
  list(APPEND CMAKE_BUILD_RPATH "${IGPG_OPENBLAS_OPENMP_DIR}")
  list(APPEND CMAKE_INSTALL_RPATH "${IGPG_OPENBLAS_OPENMP_DIR}")
  add_link_options("LINKER:--disable-new-dtags")
else()
  message(STATUS "BLAS: the system's libblas.so.3 (install libopenblas0-openmp for one thread pool with LibTorch)")
endif()
