#include "score/masked_marginal.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "io/bases.hpp"
#include "io/indexed_fasta.hpp"
#include "model/model_store.hpp"
#include "model/token_batch.hpp"
#include "tokenize/tokenizer.hpp"
#include "util/error.hpp"

namespace germ::score {
namespace {

constexpr float kNoValue = std::numeric_limits<float>::quiet_NaN();
constexpr int64_t kProbeBases = 4096;
// Tokens of max_length kept free for the span: an allele's span may tokenize into more tokens
// than the same bases of flank.
constexpr int64_t kSpanReserve = 8;

// Some encoders expect at least one character.
std::vector<int64_t> encode(const tokenize::Tokenizer& tokenizer, const std::string& bases) {
  return bases.empty() ? std::vector<int64_t>{} : tokenizer.encode(bases);
}

[[noreturn]] void throw_not_covered(const tokenize::Tokenizer& tokenizer) {
  throw Error("tokenizer", "the " + tokenizer.kind() +
                               " tokens do not spell out the bases, so a variant's tokens cannot be placed");
}

// is_boundary[i]: a token of `bases`' tokenization starts or ends at offset i (0 and n always).
// A token spells its own text, except [UNK], which stands for a run of characters outside the
// vocabulary: one each (hf-bpe) or the whole run (SentencePiece, e.g. N in a vocabulary learnt
// from a corpus without N). Its run ends where the next token's text appears (no token holds a
// character the vocabulary lacks, so that is the first place it can).
std::vector<char> token_boundaries(const tokenize::Tokenizer& tokenizer, const std::string& bases) {
  const std::vector<int64_t> ids = encode(tokenizer, bases);
  std::vector<char> is_boundary(bases.size() + 1, 0);
  is_boundary[0] = 1;
  size_t at = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    if (ids[t] != tokenize::kUnkId) {
      if (tokenize::is_special_token(ids[t])) throw_not_covered(tokenizer);
      const std::string text = tokenizer.token_text(ids[t]);
      if (bases.compare(at, text.size(), text) != 0) throw_not_covered(tokenizer);
      at += text.size();
    } else if (t + 1 == ids.size()) {
      at = std::max(bases.size(), at + 1);
    } else if (ids[t + 1] == tokenize::kUnkId) {
      at += 1;
    } else {
      const size_t next = bases.find(tokenizer.token_text(ids[t + 1]), at + 1);
      if (next == std::string::npos) throw_not_covered(tokenizer);
      at = next;
    }
    if (at > bases.size()) throw_not_covered(tokenizer);
    is_boundary[at] = 1;
  }
  if (at != bases.size()) throw_not_covered(tokenizer);
  return is_boundary;
}

}  // namespace

MaskedAllelePair layout_masked_pair(const tokenize::Tokenizer& tokenizer, const std::string& window, int64_t at,
                                    int64_t ref_length, const std::string& alt) {
  const int64_t n = static_cast<int64_t>(window.size()), alt_length = static_cast<int64_t>(alt.size());
  if (at < 0 || ref_length < 0 || at + ref_length > n)
    throw Error("variant window", "REF placed outside its window (a bug in the window layout)");
  const std::string alt_window = window.substr(0, at) + alt + window.substr(at + ref_length);
  const std::vector<char> ref_cut = token_boundaries(tokenizer, window);
  const std::vector<char> alt_cut = token_boundaries(tokenizer, alt_window);
  // Widen to the nearest offsets that are token boundaries in both windows: left of REF both
  // windows share coordinates, right of it ALT's are shifted by the length difference. Using
  // both tokenizations (not REF's alone) makes the layout the same when REF and ALT swap roles.
  int64_t begin = at, end = at + ref_length;
  while (!(ref_cut[begin] && alt_cut[begin])) --begin;
  while (!(ref_cut[end] && alt_cut[end - ref_length + alt_length])) ++end;
  MaskedAllelePair pair;
  pair.span_begin = begin;
  pair.span_end = end;
  pair.left = encode(tokenizer, window.substr(0, begin));
  pair.right = encode(tokenizer, window.substr(end));
  pair.ref_span = encode(tokenizer, window.substr(begin, end - begin));
  pair.alt_span = encode(tokenizer, alt_window.substr(begin, end - ref_length + alt_length - begin));
  return pair;
}

double probe_bases_per_token(const tokenize::Tokenizer& tokenizer) {
  // mt19937's output sequence is fixed by the standard, so the probe (and the default
  // context) is the same on every platform.
  std::mt19937 rng(1);
  std::string probe(kProbeBases, 'A');
  for (char& base : probe) base = "ACGT"[rng() % 4];
  const auto tokens = static_cast<double>(tokenizer.encode(probe).size());
  return static_cast<double>(kProbeBases) / std::max(1.0, tokens);
}

int64_t default_context_bases(const tokenize::Tokenizer& tokenizer, int64_t max_length) {
  const int64_t budget = std::max<int64_t>(1, max_length - 2 - kSpanReserve);
  const auto bases = static_cast<int64_t>(std::floor(probe_bases_per_token(tokenizer) * static_cast<double>(budget)));
  return std::max<int64_t>(2, bases / 2 * 2);
}

// One distinct masked input: [CLS] left [MASK]... right [SEP].
struct MaskedMarginalScorer::Input {
  std::vector<int64_t> ids;
  int64_t mask_begin = 0, mask_count = 0;
};

// The log-probability sum wanted from an input: `targets` at its [MASK]s, in order.
struct MaskedMarginalScorer::Query {
  size_t input = 0;
  std::vector<int64_t> targets;
};

MaskedMarginalScorer::MaskedMarginalScorer(model::GermModel model,
                                           std::shared_ptr<const tokenize::Tokenizer> tokenizer,
                                           MaskedMarginalOptions options, c10::Device device)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), options_(std::move(options)), device_(device) {
  if (!model_ || !tokenizer_) throw Error("model", "masked-marginal scoring needs a model and its tokenizer");
  if (model_->kind() != model::ModelKind::kEncoderMlm)
    throw Error(options_.model_name, std::string("masked-marginal scoring needs an encoder-mlm model; this is a ") +
                                         model::to_string(model_->kind()));
  if (options_.context_bases < 0 || options_.context_bases == 1)
    throw Error("context", "the masked-marginal context must be at least 2 bases (0: the model's default)");
  context_bases_ = options_.context_bases > 0 ? options_.context_bases / 2 * 2
                                              : default_context_bases(*tokenizer_, model_->config().max_length);
  options_.tokens_per_forward = std::max<int64_t>(1, options_.tokens_per_forward);
  model_->eval();
}

MaskedMarginalScorer::MaskedMarginalScorer(const model::ModelBundle& bundle, MaskedMarginalOptions options,
                                           c10::Device device)
    : MaskedMarginalScorer(bundle.model, bundle.tokenizer, std::move(options), device) {}

std::string MaskedMarginalScorer::describe() const {
  std::ostringstream text;
  text << "masked-marginal LLR (nats) of " << options_.model_name << " (encoder-mlm, " << tokenizer_->kind()
       << " tokens): " << context_bases_ / 2 << " bases each side of the allele; span = the tokens over REF"
       << " widened to the nearest boundaries shared by the REF and ALT tokenizations, all [MASK]ed;"
       << " LLR = sum log p(ALT span tokens) - sum log p(REF span tokens)";
  return text.str();
}

std::vector<VariantScore> MaskedMarginalScorer::score(const std::vector<Variant>& variants,
                                                      const io::IndexedFasta& reference) {
  const int64_t half = context_bases_ / 2;
  std::vector<VariantScore> scores(variants.size());
  std::vector<Input> inputs;
  std::map<std::vector<int64_t>, size_t> input_of_ids;  // distinct inputs run once: REF == ALT is exactly 0
  std::vector<Query> queries;
  struct AltQueries {
    size_t variant, alt, ref_query, alt_query;
  };
  std::vector<AltQueries> jobs;

  auto add_query = [&](const MaskedAllelePair& pair, const std::vector<int64_t>& span) {
    Input input;
    input.ids.reserve(pair.left.size() + span.size() + pair.right.size() + 2);
    input.ids.push_back(tokenize::kClsId);
    input.ids.insert(input.ids.end(), pair.left.begin(), pair.left.end());
    input.mask_begin = static_cast<int64_t>(input.ids.size());
    input.mask_count = static_cast<int64_t>(span.size());
    input.ids.insert(input.ids.end(), span.size(), tokenize::kMaskId);
    input.ids.insert(input.ids.end(), pair.right.begin(), pair.right.end());
    input.ids.push_back(tokenize::kSepId);
    auto [it, fresh] = input_of_ids.emplace(input.ids, inputs.size());
    if (fresh) inputs.push_back(std::move(input));
    queries.push_back(Query{it->second, span});
    return queries.size() - 1;
  };

  for (size_t v = 0; v < variants.size(); ++v) {
    const Variant& variant = variants[v];
    scores[v].llr.assign(variant.alts.size(), kNoValue);
    const VariantWindows plan = plan_variant_windows(variant, reference, half, /*both_strands=*/false);
    // EDGE is re-decided below: this window is W/2 bases each side of REF, not centred on it.
    for (const char* flag : plan.flags)
      if (std::string(flag) != variant_flag::kEdge) scores[v].flags.emplace_back(flag);
    if (plan.strands.empty()) continue;
    const StrandWindow& strand = plan.strands.front();
    const int64_t length = reference.contig_length(variant.contig);
    const int64_t begin = std::max<int64_t>(0, strand.position - half);
    const int64_t end = std::min(length, strand.position + strand.ref_length + half);
    if (begin > strand.position - half || end < strand.position + strand.ref_length + half)
      scores[v].flags.emplace_back(variant_flag::kEdge);
    const std::string window = io::normalize_bases(reference.fetch(variant.contig, begin, end));
    for (size_t a = 0; a < strand.alt_index.size(); ++a) {
      const MaskedAllelePair pair =
          layout_masked_pair(*tokenizer_, window, strand.position - begin, strand.ref_length, strand.alt_bases[a]);
      const size_t ref_query = add_query(pair, pair.ref_span);
      const size_t alt_query = add_query(pair, pair.alt_span);
      jobs.push_back({v, strand.alt_index[a], ref_query, alt_query});
    }
  }

  std::vector<double> sums(queries.size(), 0.0);
  run_inputs(inputs, queries, sums);
  for (const AltQueries& job : jobs)
    scores[job.variant].llr[job.alt] = static_cast<float>(sums[job.alt_query] - sums[job.ref_query]);
  return scores;
}

void MaskedMarginalScorer::run_inputs(const std::vector<Input>& inputs, const std::vector<Query>& queries,
                                      std::vector<double>& sums) {
  c10::InferenceMode inference;
  std::vector<std::vector<size_t>> queries_of(inputs.size());
  for (size_t q = 0; q < queries.size(); ++q) queries_of[queries[q].input].push_back(q);
  // Shortest first, so that each forward pads its rows only up to a similar length.
  std::vector<size_t> order(inputs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto length_of = [&](size_t i) { return static_cast<int64_t>(inputs[i].ids.size()); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return length_of(a) < length_of(b); });
  for (size_t first = 0; first < order.size();) {
    size_t last = first + 1;  // the batch's longest input is its last
    while (last < order.size() &&
           static_cast<int64_t>(last - first + 1) * length_of(order[last]) <= options_.tokens_per_forward)
      ++last;
    run_batch(inputs, std::vector<size_t>(order.begin() + first, order.begin() + last), queries_of, queries, sums);
    first = last;
  }
  inputs_run_ += static_cast<int64_t>(inputs.size());
}

void MaskedMarginalScorer::run_batch(const std::vector<Input>& inputs, const std::vector<size_t>& members,
                                     const std::vector<std::vector<size_t>>& queries_of,
                                     const std::vector<Query>& queries, std::vector<double>& sums) {
  std::vector<std::vector<int64_t>> rows;
  rows.reserve(members.size());
  for (size_t i : members) rows.push_back(inputs[i].ids);
  model::TokenBatch batch = model::pad_token_batch(rows);
  const int64_t width = batch.ids.size(1);
  // Only the [MASK] positions go through the vocabulary projection (the head is per position).
  std::vector<int64_t> flat;
  for (size_t r = 0; r < members.size(); ++r) {
    const Input& input = inputs[members[r]];
    for (int64_t k = 0; k < input.mask_count; ++k)
      flat.push_back(static_cast<int64_t>(r) * width + input.mask_begin + k);
  }
  at::Tensor hidden = model_->hidden_states(batch.ids.to(device_), batch.attention_mask.to(device_));
  at::Tensor masked = hidden.reshape({-1, hidden.size(-1)}).index_select(0, at::tensor(flat, at::kLong).to(device_));
  at::Tensor log_probs = at::log_softmax(model_->head(masked).to(at::kFloat), -1).cpu().contiguous();
  auto view = log_probs.accessor<float, 2>();
  ++forwards_run_;
  int64_t row = 0;
  for (size_t i : members) {
    for (size_t q : queries_of[i]) {
      double sum = 0;
      for (size_t k = 0; k < queries[q].targets.size(); ++k) sum += view[row + static_cast<int64_t>(k)][queries[q].targets[k]];
      sums[q] = sum;
    }
    row += inputs[i].mask_count;
  }
}

}  // namespace germ::score
