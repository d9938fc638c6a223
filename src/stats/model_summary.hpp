#pragma once
#include <string>

namespace germ::stats {

// `germ stats --model m.safetensors`: what a model file holds, read through the validating
// loader (a damaged file is reported as corrupted, never half-described): kind, config,
// parameter count, tokenizer, labels, FOCUS adapter, training state and provenance.
// format: "text" or "json".
std::string describe_model_file(const std::string& path, const std::string& format);

}  // namespace germ::stats
