#include "commands.hpp"
#include "common_options.hpp"
#include "io/region.hpp"
#include "train/focus_training.hpp"
#include "train/pretrain.hpp"
#include "util/error.hpp"
#include "util/runtime.hpp"

namespace germ::cli {

namespace {

// Held-out data, evaluation, sampling and the time limit.
void add_data_options(CLI::App& app, train::PretrainOptions& o, std::vector<std::string>& holdout_regions) {
  app.add_option("--eval-every", o.eval_every, "Steps between validation passes")->capture_default_str();
  app.add_option("--eval-windows", o.eval_windows, "Held-out windows per validation pass")->capture_default_str();
  app.add_option("--holdout", holdout_regions, "Held-out region(s) chr:beg-end (repeatable)");
  app.add_option("--holdout-fraction", o.corpus.holdout_fraction,
                 "Fraction held out from the end of each contig (without --holdout/--heldout)")->capture_default_str();
  app.add_option("--heldout", o.heldout_files,
                 "Held-out FASTA file(s), evaluated and reported one by one; inputs are then trained on whole");
  app.add_option("--weights", o.sampling_weights,
                 "TSV 'PATTERN<TAB>WEIGHT': share of windows per file group (default: sqrt(bases) per file)");
  app.add_option("--time-limit", o.time_limit_minutes,
                 "Minutes: checkpoint and exit 0 before this much time has passed (resume with --resume)");
}

void add_focus_options(CLI::App& app, train::PretrainOptions& o) {
  app.add_flag("--focus", o.focus, "Train the FOCUS adapter of --init-from (a causal LM), base frozen");
  app.add_option("--focus-k", o.focus_k, "FOCUS: bases per focus token (trained with k/2, k, 2k)")->capture_default_str();
  app.add_option("--window", o.focus_window, "FOCUS: bases per window, a multiple of 2k")->capture_default_str();
  app.add_option("--memory", o.focus_memory, "FOCUS: focus states kept across windows")->capture_default_str();
  app.add_option("--context", o.focus_context, "FOCUS: bases re-read before each window (default k)");
  app.add_option("--focus-windows", o.focus_windows_per_sequence, "FOCUS: windows per training sequence")
      ->capture_default_str();
  app.add_option("--kl-weight", o.focus_kl_weight, "FOCUS: weight of KL(uncompressed || FOCUS)")->capture_default_str();
}

void report_time_limit(const train::PretrainOptions& o, int64_t steps, const std::string& checkpoint,
                       const char* command) {
  std::fprintf(stderr,
               "germ %s: time limit (%g min) reached after step %lld of %lld; wrote checkpoint %s; "
               "continue with the same command and --resume %s\n",
               command, o.time_limit_minutes, static_cast<long long>(steps), static_cast<long long>(o.steps),
               checkpoint.c_str(), checkpoint.c_str());
}

void report(const train::FocusTrainingResult& r, const train::PretrainOptions& o, bool quiet) {
  if (quiet) return;
  if (r.stopped_by_time_limit) return report_time_limit(o, r.steps, r.checkpoint, "pretrain --focus");
  std::fprintf(stderr,
               "germ pretrain --focus: wrote %s: %lld steps, %lld trainable parameters, loss %.4f -> %.4f; "
               "held-out mean |dp| %.3g -> %.3g, KL %.3g -> %.3g nats\n",
               o.output.c_str(), static_cast<long long>(r.steps), static_cast<long long>(r.trainable_parameters),
               r.first_loss, r.last_loss, r.before.mean_abs_dp(), r.after.mean_abs_dp(), r.before.mean(r.before.kl),
               r.after.mean(r.after.kl));
}

void report(const train::PretrainResult& r, const train::PretrainOptions& o, bool quiet) {
  if (quiet || r.rank != 0) return;
  if (r.stopped_by_time_limit) return report_time_limit(o, r.steps, r.checkpoint, "pretrain");
  std::fprintf(stderr,
               "germ pretrain: wrote %s: %lld steps, %lld parameters, train loss %.4f -> %.4f, "
               "validation loss %.4f nats (%.4f bits) per %s\n",
               o.output.c_str(), static_cast<long long>(r.steps), static_cast<long long>(r.parameters),
               r.first_train_loss, r.last_train_loss, r.validation_loss, r.validation_bits,
               o.objective == "clm" ? "base" : "masked token");
}

}  // namespace

int run_pretrain(int argc, char** argv) {
  CLI::App app{"Train a germ model from FASTA files.\n\n"
               "  mlm: BERT-style encoder (DNABERT-2/GERM layout) over SentencePiece BPE tokens\n"
               "  clm: causal LM over single nucleotides (the base model of 'germ score')\n\n"
               "Examples:\n"
               "  germ pretrain --objective clm --size small --steps 2000 -o clm.safetensors genome.fa\n"
               "  germ pretrain --objective mlm --attention softmax -o vanilla.safetensors a.fa b.fa\n"
               "  germ pretrain --objective mlm --init-from vanilla.safetensors --attention softmax1 \\\n"
               "      --steps 200 -o germ_t.safetensors a.fa     # GERM-T continual learning\n"
               "  germ pretrain ... --resume out.safetensors.ckpt # continue after an interruption\n"
               "  germ pretrain --objective clm --time-limit 60 --heldout corpus/heldout/*.fa.gz \\\n"
               "      -o clm.safetensors corpus/train/*.fa.gz   # stops after ~1 h; rerun with --resume\n"
               "  germ pretrain --focus --init-from clm.safetensors -o clm_focus.safetensors genome.fa\n"
               "      # FOCUS: freeze the causal LM, train only the focus adapter (docs/focus.md)",
               "germ pretrain"};
  CommonOptions common;
  common.output = "";
  add_common_options(app, common, kOutput | kThreads | kDevice | kSeed | kVerbosity);
  train::PretrainOptions o;
  std::vector<std::string> holdout_regions;
  std::string precision = "fp32";
  app.add_option("inputs", o.inputs, "FASTA/FASTQ files (plain, gzip or bgzip)")->required();
  app.add_option("--objective", o.objective, "mlm | clm")->capture_default_str();
  app.add_option("--attention", o.attention, "softmax1 (GERM) | softmax (vanilla); default softmax1");
  app.add_option("--size", o.size, "tiny | small | base (DNABERT-2 dimensions)")->capture_default_str();
  app.add_option("--config", o.config_path, "Model config JSON (overrides --size)");
  app.add_option("--vocab", o.vocab, "BPE vocabulary size (mlm)")->capture_default_str();
  app.add_option("--tokenizer", o.tokenizer_from, "Reuse the tokenizer of this model file (mlm)");
  app.add_option("--init-from", o.init_from, "Start from this model's weights (GERM-T with --attention softmax1)");
  app.add_option("--resume", o.resume, "Resume from a checkpoint written by an earlier run");
  app.add_option("--checkpoint", o.checkpoint, "Checkpoint path (default <output>.ckpt)");
  app.add_option("--checkpoint-every", o.checkpoint_every, "Steps between checkpoints (0 = none)")->capture_default_str();
  app.add_option("--steps", o.steps, "Optimizer steps")->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "Sequences per micro-batch")->capture_default_str();
  app.add_option("--grad-accum", o.grad_accum, "Micro-batches per step")->capture_default_str();
  app.add_option("--seq-len", o.seq_len, "Tokens per sequence (mlm, default 128) or bases (clm, default 512)");
  app.add_option("--lr", o.lr, "Peak learning rate (default: by objective and width, docs/pretrain.md: 5e-3 at 64; mlm 5e-4 at 256-768, clm 1.4e-3 at 256; 5e-4 for --focus)");
  app.add_option("--warmup", o.warmup, "Warm-up steps (default 6% of --steps)");
  app.add_option("--schedule", o.schedule, "linear | cosine | constant")->capture_default_str();
  app.add_option("--clip", o.clip, "Gradient-norm clipping (0 = off)")->capture_default_str();
  app.add_option("--weight-decay", o.weight_decay, "AdamW weight decay")->capture_default_str();
  add_data_options(app, o, holdout_regions);
  app.add_option("--precision", precision, "fp32 | bf16 (autocast of the forward pass; CUDA, or CPUs with bf16)")
      ->capture_default_str();
  add_focus_options(app, o);
  app.add_option("--log", o.log_path, "Training log TSV (default <output>.log.tsv)");
  add_distributed_options(app, o.dist_timeout);
  return run_command(app, argc, argv, [&] {
    apply_common_options(common);
    util::keep_freed_memory_for_reuse();  // each step's activations reused, not re-faulted
    o.output = common.output;
    o.seed = common.seed;
    o.quiet = common.quiet;
    o.device = util::select_device(common.device);
    o.precision = train::parse_precision(precision);
    if (o.time_limit_minutes < 0) throw Error("--time-limit", "must be positive (minutes)");
    if (app.count("--lr") > 0 && !(o.lr > 0)) throw Error("--lr", "must be positive");
    for (const auto& r : holdout_regions) o.corpus.holdout_regions.push_back(io::parse_region(r));
    o.command_line = command_line(argc, argv);
    if (o.focus) {
      if (train::placement_from_environment().world_size > 1)
        throw Error("--focus", "FOCUS adapter training runs in one process (unset WORLD_SIZE)");
      report(train::train_focus(o), o, common.quiet);
      return 0;
    }
    report(train::pretrain(o), o, common.quiet);
    return 0;
  });
}

}  // namespace germ::cli
