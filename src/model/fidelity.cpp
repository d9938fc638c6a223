#include "model/fidelity.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdio>

#include "tokenize/nucleotide_tokenizer.hpp"
#include "util/error.hpp"

namespace germ::model {

void FidelityTotals::add(const at::Tensor& base_lp, const at::Tensor& focus_lp, const at::Tensor& observed_index) {
  at::Tensor lp = base_lp.to(at::kDouble), lq = focus_lp.to(at::kDouble);
  at::Tensor p = lp.exp(), q = lq.exp(), m = 0.5 * (p + q);
  at::Tensor lm = m.clamp_min(1e-300).log();
  l1 += (p - q).abs().sum(-1).sum().item<double>();
  l2 += (p - q).pow(2).sum(-1).sqrt().sum().item<double>();
  hellinger += ((p.sqrt() - q.sqrt()).pow(2).sum(-1) * 0.5).sqrt().sum().item<double>();
  jensen_shannon += (0.5 * (p * (lp - lm)).sum(-1) + 0.5 * (q * (lq - lm)).sum(-1)).sum().item<double>();
  kl += (p * (lp - lq)).sum(-1).sum().item<double>();
  positions += p.size(0);
  at::Tensor has = observed_index >= 0;
  at::Tensor index = observed_index.clamp_min(0).unsqueeze(-1);
  at::Tensor dp = (p.gather(-1, index) - q.gather(-1, index)).squeeze(-1).abs();
  abs_dp += dp.masked_select(has).sum().item<double>();
  observed += has.sum().item<int64_t>();
}

FidelityTotals& FidelityTotals::operator+=(const FidelityTotals& o) {
  l1 += o.l1, l2 += o.l2, hellinger += o.hellinger, jensen_shannon += o.jensen_shannon, kl += o.kl;
  abs_dp += o.abs_dp, positions += o.positions, observed += o.observed;
  return *this;
}

std::string FidelityTotals::report() const {
  char text[512];
  std::snprintf(text, sizeof text,
                "mean_l1\t%.6g\nmean_l2\t%.6g\nmean_hellinger\t%.6g\nmean_js\t%.6g\nmean_kl\t%.6g\n"
                "mean_abs_dp\t%.6g\npositions\t%lld\n",
                mean(l1), mean(l2), mean(hellinger), mean(jensen_shannon), mean(kl), mean_abs_dp(),
                static_cast<long long>(positions));
  return text;
}

at::Tensor nucleotide_ids(const std::vector<std::string>& sequences) {
  const int64_t length = static_cast<int64_t>(sequences.at(0).size());
  at::Tensor ids = at::empty({static_cast<int64_t>(sequences.size()), length}, at::kLong);
  for (size_t b = 0; b < sequences.size(); ++b) {
    if (static_cast<int64_t>(sequences[b].size()) != length) throw Error("fidelity", "sequences must have equal length");
    tokenize::NucleotideTokenizer::encode_into(sequences[b], ids[b].data_ptr<int64_t>());
  }
  return ids;
}

at::Tensor observed_bases(const std::vector<std::string>& sequences) {
  using tokenize::NucleotideTokenizer;
  at::Tensor index = nucleotide_ids(sequences) - NucleotideTokenizer::kFirstBaseId;
  return at::where((index >= 0).logical_and(index < 4), index, at::full_like(index, -1));
}

at::Tensor window_ids(const at::Tensor& ids, const FocusGeometry& g, int64_t window_index,
                      std::vector<int64_t>& valid_from) {
  const int64_t lanes = ids.size(0), length = ids.size(1);
  const int64_t start = window_index * g.window, begin = start - g.context;
  at::Tensor out = at::full({lanes, g.raw_tokens()}, tokenize::NucleotideTokenizer::id_of('N'), at::kLong);
  int64_t from = std::max<int64_t>(0, begin), to = std::min(length, start + g.window);
  out.slice(1, from - begin, to - begin).copy_(ids.slice(1, from, to));
  valid_from.assign(lanes, std::max<int64_t>(0, -begin));
  return out;
}

WindowRunner uncompressed_runner(GermModel model, int64_t window, int64_t length) {
  FocusGeometry g;
  g.kind = MemoryKind::kRaw, g.k = 1, g.window = window, g.context = 1, g.memory = length;
  return WindowRunner(std::move(model), nullptr, g);
}

FidelityTotals evaluate_fidelity(WindowRunner& runner, const std::vector<std::string>& sequences, int64_t lanes) {
  c10::InferenceMode inference;
  FidelityTotals totals;
  const FocusGeometry& g = runner.geometry();
  GermModel& model = runner.model();
  for (size_t first = 0; first < sequences.size(); first += lanes) {
    std::vector<std::string> group(sequences.begin() + first,
                                   sequences.begin() + std::min(sequences.size(), first + lanes));
    at::Tensor ids = nucleotide_ids(group), observed = observed_bases(group);
    const int64_t length = ids.size(1), windows = (length + g.window - 1) / g.window;
    WindowRunner teacher = uncompressed_runner(model, g.window, length);
    std::vector<LaneMemory> memory(group.size()), teacher_memory(group.size());
    std::vector<LaneMemory*> memories, teacher_memories;
    for (size_t b = 0; b < group.size(); ++b) memories.push_back(&memory[b]), teacher_memories.push_back(&teacher_memory[b]);
    std::vector<int64_t> valid_from;
    for (int64_t w = 0; w < windows; ++w) {
      at::Tensor hidden = runner.step(window_ids(ids, g, w, valid_from), valid_from, memories);
      at::Tensor reference = teacher.step(window_ids(ids, teacher.geometry(), w, valid_from), valid_from, teacher_memories);
      if (w == 0) continue;
      const int64_t start = w * g.window, count = std::min(g.window, length - start);
      at::Tensor student = base_log_probs(model, hidden.slice(1, 0, count));
      at::Tensor exact = base_log_probs(model, reference.slice(1, 0, count));
      totals.add(exact.reshape({-1, 4}), student.reshape({-1, 4}),
                 observed.slice(1, start, start + count).reshape({-1}));
    }
  }
  return totals;
}

}  // namespace germ::model
