#pragma once
// Precompiled for every translation unit of the library, CLI and tests: LibTorch's
// umbrella header is the dominant compile cost, so it is parsed once per build.
#include <torch/torch.h>
