// Masked-marginal variant scoring throughput (src/score/masked_marginal.*) on real variants,
// until a `germ score --vcf` front end calls it: records/s, and the values as TSV on stdout.
// Usage: germ_masked_marginal_bench MODEL REF.fa VARIANTS.tsv [max_records] [context] [tokens_per_forward] [threads]
// VARIANTS.tsv: contig, 0-based position, REF, comma-separated ALTs, e.g. from a VCF by
//   bcftools query -f '%CHROM\t%POS0\t%REF\t%ALT\n' in.vcf.gz
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "io/indexed_fasta.hpp"
#include "model/model_store.hpp"
#include "score/masked_marginal.hpp"
#include "util/error.hpp"
#include "util/runtime.hpp"

namespace {

std::vector<germ::score::Variant> read_variants(const std::string& path, int64_t limit) {
  std::ifstream in(path);
  if (!in) throw germ::Error(path, "cannot be read");
  std::vector<germ::score::Variant> variants;
  std::string line, alts;
  while (static_cast<int64_t>(variants.size()) < limit && std::getline(in, line)) {
    std::istringstream fields(line);
    germ::score::Variant v;
    if (!(fields >> v.contig >> v.position >> v.ref >> alts)) throw germ::Error(path, "bad line: " + line);
    std::istringstream split(alts);
    for (std::string alt; std::getline(split, alt, ',');) v.alts.push_back(alt);
    variants.push_back(std::move(v));
  }
  return variants;
}

}  // namespace

int main(int argc, char** argv) try {
  germ::util::reexecute_with_tuned_environment(argv);
  germ::util::configure_threads(argc > 7 ? std::atoi(argv[7]) : 0);  // as -@ (0: all cores)
  if (argc < 4) {
    std::cerr << "usage: germ_masked_marginal_bench MODEL REF.fa VARIANTS.tsv [max_records] [context] [tokens_per_forward] [threads]\n";
    return 2;
  }
  const int64_t limit = argc > 4 ? std::atoll(argv[4]) : 256;
  germ::score::MaskedMarginalOptions options;
  options.context_bases = argc > 5 ? std::atoll(argv[5]) : 0;
  options.tokens_per_forward = argc > 6 ? std::atoll(argv[6]) : options.tokens_per_forward;
  options.model_name = argv[1];
  germ::model::ModelBundle bundle = germ::model::load_model(argv[1]);
  germ::score::MaskedMarginalScorer scorer(bundle, options);
  germ::io::IndexedFasta reference(argv[2]);
  const auto variants = read_variants(argv[3], limit);

  const auto started = std::chrono::steady_clock::now();
  std::vector<germ::score::VariantScore> scores;
  for (size_t first = 0; first < variants.size(); first += 256) {  // blocks as the VCF driver reads them
    std::vector<germ::score::Variant> block(variants.begin() + first,
                                            variants.begin() + std::min(variants.size(), first + 256));
    auto part = scorer.score(block, reference);
    scores.insert(scores.end(), part.begin(), part.end());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::printf("#chrom\tpos\tref\talt\tllr\tflags\n");
  for (size_t v = 0; v < variants.size(); ++v) {
    std::string flags;
    for (const auto& flag : scores[v].flags) flags += (flags.empty() ? "" : ",") + flag;
    for (size_t a = 0; a < variants[v].alts.size(); ++a)
      std::printf("%s\t%lld\t%s\t%s\t%.6g\t%s\n", variants[v].contig.c_str(),
                  static_cast<long long>(variants[v].position + 1), variants[v].ref.c_str(),
                  variants[v].alts[a].c_str(), scores[v].llr[a], flags.empty() ? "." : flags.c_str());
  }
  std::fprintf(stderr,
               "# %s\n# %s\n# %zu records, %.2f s, %.2f records/s, %lld forwards, %lld distinct masked inputs, "
               "context %lld bases, %d threads\n",
               germ::util::machine_summary().c_str(), scorer.describe().c_str(), variants.size(), seconds, variants.size() / seconds,
               static_cast<long long>(scorer.forwards_run()), static_cast<long long>(scorer.inputs_run()),
               static_cast<long long>(scorer.context_bases()), at::get_num_threads());
  return 0;
} catch (const std::exception& error) {
  std::cerr << "germ_masked_marginal_bench: " << error.what() << "\n";
  return 1;
}
