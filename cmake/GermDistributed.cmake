# Data-parallel training (src/train/distributed.cpp, docs/distributed.md). Every LibTorch has
# the Gloo process group (Debian needs libgloo-dev for its headers); only CUDA builds have
# NCCL, so its path is compiled when a test program using ProcessGroupNCCL builds and links.
include(CheckCXXSourceCompiles)
if(GERM_CUDA)
  # ProcessGroupNCCL.hpp includes nccl.h, which a pip LibTorch keeps in its nvidia-nccl package
  # (scripts/gpu_lib.bash puts that folder on CMAKE_INCLUDE_PATH).
  find_path(GERM_NCCL_INCLUDE_DIR nccl.h)
  set(CMAKE_REQUIRED_INCLUDES ${TORCH_INCLUDE_DIRS})
  if(GERM_NCCL_INCLUDE_DIR)
    list(APPEND CMAKE_REQUIRED_INCLUDES ${GERM_NCCL_INCLUDE_DIR})
  endif()
  set(CMAKE_REQUIRED_LIBRARIES ${TORCH_LIBRARIES})
  set(CMAKE_REQUIRED_FLAGS "${TORCH_CXX_FLAGS} -std=c++17")
  set(CMAKE_REQUIRED_DEFINITIONS -DUSE_C10D_NCCL)
  check_cxx_source_compiles([[
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
int main() { return c10d::ProcessGroupNCCL::Options::create() ? 0 : 1; }
]] GERM_TORCH_HAS_NCCL)
  unset(CMAKE_REQUIRED_INCLUDES)
  unset(CMAKE_REQUIRED_LIBRARIES)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_DEFINITIONS)
endif()
if(GERM_TORCH_HAS_NCCL)
  set_property(SOURCE src/train/distributed.cpp APPEND PROPERTY COMPILE_DEFINITIONS GERM_HAVE_NCCL)
  if(GERM_NCCL_INCLUDE_DIR)
    set_property(SOURCE src/train/distributed.cpp APPEND PROPERTY INCLUDE_DIRECTORIES ${GERM_NCCL_INCLUDE_DIR})
  endif()
  message(STATUS "germ: data-parallel training with NCCL and Gloo")
else()
  message(STATUS "germ: data-parallel training with Gloo (this LibTorch has no NCCL)")
endif()
