# Finds every dependency and fails with the Debian 12 package that provides it.

find_package(Threads REQUIRED)
find_package(PkgConfig)

macro(germ_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR "germ: ${what} not found. On Debian 12 install it with: apt-get install ${package}")
  endif()
endmacro()

find_package(Torch QUIET)
germ_require(Torch_FOUND "LibTorch (TorchConfig.cmake)" "libtorch-dev")
separate_arguments(TORCH_CXX_FLAGS_LIST UNIX_COMMAND "${TORCH_CXX_FLAGS}")

find_package(TBB QUIET)
germ_require(TBB_FOUND "oneTBB" "libtbb-dev")

find_package(ZLIB QUIET)
germ_require(ZLIB_FOUND "zlib" "zlib1g-dev")

find_package(nlohmann_json 3 QUIET)
germ_require(nlohmann_json_FOUND "nlohmann/json" "nlohmann-json3-dev")

find_package(CLI11 QUIET)
germ_require(CLI11_FOUND "CLI11" "libcli11-dev")

function(germ_find_c_library target header library package)
  find_path(${target}_INCLUDE_DIR ${header})
  find_library(${target}_LIBRARY NAMES ${library})
  if(NOT ${target}_INCLUDE_DIR OR NOT ${target}_LIBRARY)
    message(FATAL_ERROR "germ: ${header} / lib${library} not found. On Debian 12 install it with: apt-get install ${package}")
  endif()
  add_library(germ::${target} INTERFACE IMPORTED GLOBAL)
  target_include_directories(germ::${target} INTERFACE ${${target}_INCLUDE_DIR})
  target_link_libraries(germ::${target} INTERFACE ${${target}_LIBRARY})
endfunction()

germ_find_c_library(htslib htslib/hts.h hts libhts-dev)
germ_find_c_library(sentencepiece sentencepiece_trainer.h sentencepiece libsentencepiece-dev)
find_library(SENTENCEPIECE_TRAIN_LIBRARY NAMES sentencepiece_train)
if(NOT SENTENCEPIECE_TRAIN_LIBRARY)
  message(FATAL_ERROR "germ: libsentencepiece_train not found. On Debian 12 install it with: apt-get install libsentencepiece-dev")
endif()
target_link_libraries(germ::sentencepiece INTERFACE ${SENTENCEPIECE_TRAIN_LIBRARY})
set(GERM_SENTENCEPIECE_VERSION "unknown")
if(PkgConfig_FOUND)
  pkg_check_modules(GERM_SP_PC QUIET sentencepiece)
  if(GERM_SP_PC_FOUND)
    set(GERM_SENTENCEPIECE_VERSION "${GERM_SP_PC_VERSION}")
  endif()
endif()
germ_find_c_library(bigwig bigWig.h BigWig libbigwig-dev)
# oneDNN runs the u8 x s8 integer GEMMs (src/quant/int8_gemm.cpp); Debian's LibTorch links the same libdnnl.so.2.
germ_find_c_library(dnnl dnnl.hpp dnnl libdnnl-dev)
# at::parallel_for is a header template that runs serially unless _OPENMP is defined where it
# is instantiated, and Debian's TorchConfig adds no OpenMP flag (see CMakeLists.txt).
find_package(OpenMP QUIET COMPONENTS CXX)
germ_require(OpenMP_CXX_FOUND "OpenMP (omp.h, libgomp)" "libgcc-12-dev")

if(GERM_BUILD_TESTS)
  find_package(GTest QUIET)
  germ_require(GTest_FOUND "GoogleTest" "libgtest-dev")
endif()
