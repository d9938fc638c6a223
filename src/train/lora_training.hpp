#pragma once
// The fine-tuning side of LoRA (the adapters themselves: engine/lora.hpp):
//   QLoRA (Dettmers et al. 2023):  LoRA with W stored as NF4 and dequantised on the fly
//   LoftQ (Li et al. 2023):        QLoRA whose Q, A, B are initialised jointly so that
//                                  Q + (alpha / r) B A approximates W
// and what the optimizer trains.
#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "engine/lora.hpp"
#include "model/transformer.hpp"
#include "quant/nf4.hpp"

namespace germ::train {

using engine::LoraOptions;
using engine::LoraSet;

// As attach_lora, and additionally store every transformer-block linear weight (all-linear,
// plus any target outside the blocks) as NF4, releasing its fp32 storage: the parameter
// becomes an empty tensor until merge_lora. As in QLoRA, layers that are not targets are
// quantised too (that is where the memory goes); only targets get adapters. Attach after
// moving the model to its device: the NF4 codes live where the weights were.
std::shared_ptr<LoraSet> attach_qlora(model::GermModel& model, const LoraOptions& options);
// As attach_qlora, with each target's NF4 weight and adapter initialised by LoftQ.
std::shared_ptr<LoraSet> attach_loftq(model::GermModel& model, const LoraOptions& options, int iterations = 5);

// The head parameters left trainable plus every adapter factor.
std::vector<at::Tensor> trainable_parameters(model::GermModel& model, const LoraSet& set);

// LoftQ's alternating initialisation for one weight W [out, in]: Q_0 = 0, A B = 0; then T
// times Q_t = NF4(W - s B A) and s B A = the rank-r truncated SVD of W - deq(Q_t), with
// sqrt(S) split evenly between the factors (s = alpha / r).
struct LoftqInit {
  quant::Nf4Tensor q;
  at::Tensor A, B;  // [r, in], [out, r]
};
LoftqInit loftq_initialise(const at::Tensor& weight, int64_t rank, double scaling, int iterations,
                           bool double_quant = true);

}  // namespace germ::train
