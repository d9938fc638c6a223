#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace germ::train {

// Where this process sits in a data-parallel job (docs/distributed.md), as torchrun sets it
// (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or SLURM does (SLURM_PROCID,
// SLURM_NTASKS, SLURM_LOCALID; MASTER_ADDR defaults to the first host of SLURM_JOB_NODELIST
// and MASTER_PORT to 20000 + SLURM_JOB_ID % 20000, so every task of a job agrees on them).
struct ProcessPlacement {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_address;
  int master_port = 0;
  bool launched = false;  // WORLD_SIZE (or SLURM_NTASKS) is set: join a process group
};

// Reads the environment; inconsistent values throw germ::Error naming the variable.
ProcessPlacement placement_from_environment();

// The first host of a SLURM node list: "gpu[03-05,07],cpu1" -> "gpu03".
std::string first_slurm_host(const std::string& node_list);

// [begin, end) of the `count` items of a global batch that `rank` trains on: contiguous and
// disjoint, so concatenating the ranks' slices in rank order gives the single-process batch.
std::pair<int64_t, int64_t> shard_range(int64_t count, int rank, int world_size);

inline constexpr double kDefaultDistributedTimeout = 60;  // seconds; --dist-timeout
inline constexpr int64_t kGradientBucketBytes = 25 << 20;  // PyTorch DDP's bucket_cap_mb

// The c10d process group of a data-parallel run (Gloo on CPU, NCCL for CUDA tensors when
// the LibTorch has it). Without `launched` every operation is the identity, so single-process
// training runs the same code. Collectives throw germ::Error("distributed", ...) in one line
// when a peer stops or `timeout_seconds` passes.
class DataParallel {
 public:
  DataParallel(const ProcessPlacement& placement, double timeout_seconds, c10::Device device);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return placement_.rank; }
  int world_size() const { return placement_.world_size; }
  bool is_root() const { return placement_.rank == 0; }
  bool active() const { return group_ != nullptr; }
  // "gloo" | "nccl" | "none".
  std::string backend() const;

  // Element-wise sum over the ranks, in place.
  void all_reduce_sum(at::Tensor& tensor);
  // Sums the gradients over the ranks in buckets of at most kGradientBucketBytes; an
  // undefined gradient (a parameter this rank's batch did not reach) counts as zero.
  void all_reduce_gradients(const std::vector<at::Tensor>& parameters);
  // Every rank gets rank 0's values.
  void broadcast(const std::vector<at::Tensor>& tensors);
  std::string broadcast_text(const std::string& text_on_root);
  void barrier();

 private:
  struct Group;
  [[noreturn]] void fail(const std::string& operation, const std::exception& cause) const;
  ProcessPlacement placement_;
  double timeout_seconds_;
  std::unique_ptr<Group> group_;
};

}  // namespace germ::train
