#include <c10/core/Device.h>

#include <cstdio>
#include <string>

#include "commands.hpp"
#include "common_options.hpp"
#include "train/finetune.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"
#include "util/runtime.hpp"

namespace germ::cli {
namespace {

// --lr: a positive number, or "auto" for the range test.
void parse_lr(const std::string& text, train::FinetuneOptions& o) {
  if (text.empty()) return;
  if (text == "auto") {
    o.lr_auto = true;
    return;
  }
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || !(value > 0)) throw Error("--lr", "'" + text + "' is neither a positive number nor auto");
  o.lr = value;
}

}  // namespace

int run_finetune(int argc, char** argv) {
  CLI::App app{"Fine-tune a sequence classifier on a GUE-format task (train.csv, dev.csv: sequence,label).\n\n"
               "Methods: full (all weights), lora (adapters + head), qlora (LoRA over an NF4 base with double\n"
               "quantisation), loftq (QLoRA with LoftQ-initialised adapters). The checkpoint with the best dev\n"
               "MCC is kept. The default learning rate follows the model's width (DNABERT-2's 3e-5 full / 1e-4\n"
               "adapters at width 768, more for narrower models); --lr auto measures one. A run that learns\n"
               "nothing (training loss at the class prior's, or dev MCC <= 0) gets a warning.\n\n"
               "Examples:\n"
               "  germ finetune --method full --base encoder.safetensors --data tasks/yeast_coding -o coding.safetensors\n"
               "  germ finetune --method lora --rank 8 --targets Wqkv,mlp.wo --merge --base enc.safetensors --data DIR -o c.safetensors",
               "germ finetune"};
  CommonOptions common;
  add_common_options(app, common, kOutput | kThreads | kDevice | kSeed | kVerbosity);
  train::FinetuneOptions o;
  std::string targets = "Wqkv";
  app.add_option("--method", o.method, "full | lora | qlora | loftq")->capture_default_str();
  app.add_option("--base", o.base, "Encoder (germ pretrain --objective mlm) or classifier model file")->required();
  app.add_option("--data", o.data, "GUE task directory (train.csv, dev.csv; labels.tsv names the classes)")->required();
  std::string lr;
  app.add_option("--lr", lr, "Peak learning rate, or 'auto' (a range test of at most 100 steps picks it); "
                             "default: by model width (docs/finetune.md)");
  app.add_option("--warmup", o.warmup, "Warm-up steps (default 6% of the steps, at most 50)");
  app.add_option("--weight-decay", o.weight_decay, "AdamW weight decay")->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "Sequences per step")->capture_default_str();
  app.add_option("--epochs", o.epochs, "Passes over train.csv")->capture_default_str();
  app.add_option("--steps", o.steps, "Optimizer steps (overrides --epochs)");
  app.add_option("--eval-every", o.eval_every, "Steps between dev evaluations (default: every epoch)");
  app.add_option("--max-length", o.max_length, "Tokens per sequence (default: the model's max_length)");
  std::string pooling = "cls";
  app.add_option("--pooling", pooling, "What a new classifier head reads: cls ([CLS], as DNABERT-2) or mean "
                                       "(the mean over the tokens)")->capture_default_str();
  app.add_option("--rank", o.lora.rank, "LoRA rank r")->capture_default_str();
  app.add_option("--alpha", o.lora.alpha, "LoRA alpha (scaling alpha/r)")->capture_default_str();
  app.add_option("--lora-dropout", o.lora.dropout, "Dropout on the LoRA input")->capture_default_str();
  app.add_option("--targets", targets, "Comma-separated linear layers to adapt (Wqkv, attention.output.dense, "
                                       "mlp.gated_layers, mlp.wo, all-linear)")->capture_default_str();
  app.add_option("--loftq-iterations", o.loftq_iterations, "LoftQ alternating steps T")->capture_default_str();
  app.add_flag("--merge", o.merge, "Fold the adapters into the weights (a plain classifier file)");
  app.add_flag("--fail-on-chance", o.fail_on_chance, "A run that learned nothing is an error (exit 1, nothing written)");
  app.add_option("--log", o.log_path, "Training log TSV (default <output>.log.tsv)");
  add_distributed_options(app, o.dist_timeout);
  return run_command(app, argc, argv, [&] {
    apply_common_options(common);
    util::keep_freed_memory_for_reuse();  // each step's activations reused, not re-faulted
    if (common.output == "-") throw Error("-o/--output", "a model file is required (not stdout)");
    o.output = common.output;
    if (pooling != "cls" && pooling != "mean") throw Error("--pooling", "unknown value '" + pooling + "' (use cls or mean)");
    o.pooling = model::parse_pooling(pooling);
    o.seed = common.seed;
    o.quiet = common.quiet;
    o.device = util::select_device(common.device);
    parse_lr(lr, o);
    o.lora.targets.clear();
    for (size_t start = 0; start <= targets.size();) {
      size_t comma = targets.find(',', start);
      std::string t = targets.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!t.empty()) o.lora.targets.push_back(t);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    o.command_line = command_line(argc, argv);
    train::FinetuneResult r = train::finetune(o);
    double total = 0;
    for (double s : r.epoch_seconds) total += s;
    if (!common.quiet && r.rank == 0)
      std::fprintf(stderr,
                 "germ finetune: wrote %s: %lld steps, best dev MCC %.4f (accuracy %.4f) at step %lld; "
                 "%.1f s per epoch\n",
                 o.output.c_str(), static_cast<long long>(r.steps), r.best_dev.mcc, r.best_dev.accuracy,
                 static_cast<long long>(r.best_step), r.epoch_seconds.empty() ? 0.0 : total / r.epoch_seconds.size());
    return 0;
  });
}

}  // namespace germ::cli
