#pragma once
#include <torch/nn/module.h>

#include <memory>
#include <string>

namespace germ::model {

// The module at a dotted path below `root` ("attention.self"), creating plain container
// modules for missing names. LibTorch forbids dots in child names, so dotted parameter names
// (those of DNABERT-2 checkpoints, "lora.<module>.A") need one container per component.
inline torch::nn::Module& container_at(torch::nn::Module& root, const std::string& dotted) {
  torch::nn::Module* node = &root;
  std::string path = dotted + ".";
  for (size_t dot; (dot = path.find('.')) != std::string::npos; path = path.substr(dot + 1)) {
    std::string name = path.substr(0, dot);
    auto existing = node->named_children().find(name);
    node = existing ? existing->get()
                    : node->register_module(name, std::make_shared<torch::nn::Module>()).get();
  }
  return *node;
}

// Registers `child` under a dotted path ("attention.self.Wqkv") via container_at.
template <typename Holder>
Holder register_at(torch::nn::Module& root, const std::string& dotted, Holder child) {
  auto dot = dotted.rfind('.');
  if (dot == std::string::npos) return root.register_module(dotted, child);
  return container_at(root, dotted.substr(0, dot)).register_module(dotted.substr(dot + 1), child);
}

}  // namespace germ::model
