#include "train/distributed.hpp"

// LibTorch exports the Gloo process group but its headers only declare it under these macros
// (set when PyTorch itself is built); NCCL only where CMake found it (cmake/GermDistributed.cmake).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#if defined(GERM_HAVE_NCCL) && !defined(USE_C10D_NCCL)
#define USE_C10D_NCCL 1
#endif
#include <ATen/ATen.h>
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef GERM_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>

#include "util/error.hpp"

namespace germ::train {
namespace {

const char* environment(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

int integer_variable(const char* name, const char* value, int minimum) {
  char* end = nullptr;
  long parsed = std::strtol(value, &end, 10);
  if (*end != '\0' || parsed < minimum || parsed > 1 << 20)
    throw Error(name, std::string("'") + value + "' is not an integer >= " + std::to_string(minimum));
  return static_cast<int>(parsed);
}

// The first of several variables that is set (torchrun's name first, then SLURM's).
const char* first_set(std::initializer_list<const char*> names, const char** which) {
  for (const char* name : names)
    if (const char* value = environment(name)) {
      *which = name;
      return value;
    }
  return nullptr;
}

std::string first_line(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10_error ? c10_error->what_without_backtrace() : e.what();
  text = text.substr(0, text.find('\n'));
  return text.size() > 300 ? text.substr(0, 300) + "..." : text;
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

}  // namespace

std::string first_slurm_host(const std::string& node_list) {
  size_t comma = node_list.find(',');
  size_t bracket = node_list.find('[');
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket))
    return node_list.substr(0, comma);
  std::string prefix = node_list.substr(0, bracket);
  size_t digits_end = bracket + 1;
  while (digits_end < node_list.size() && std::isdigit(static_cast<unsigned char>(node_list[digits_end]))) ++digits_end;
  return prefix + node_list.substr(bracket + 1, digits_end - bracket - 1);
}

ProcessPlacement placement_from_environment() {
  ProcessPlacement p;
  const char* name = nullptr;
  const char* world = first_set({"WORLD_SIZE", "SLURM_NTASKS"}, &name);
  if (!world) return p;
  p.launched = true;
  p.world_size = integer_variable(name, world, 1);
  const char* rank = first_set({"RANK", "SLURM_PROCID"}, &name);
  if (!rank) throw Error("RANK", "is not set although WORLD_SIZE is (set both, or use germ launch / torchrun / srun)");
  p.rank = integer_variable(name, rank, 0);
  if (p.rank >= p.world_size)
    throw Error(name, std::to_string(p.rank) + " is not below the world size " + std::to_string(p.world_size));
  if (const char* local = first_set({"LOCAL_RANK", "SLURM_LOCALID"}, &name)) p.local_rank = integer_variable(name, local, 0);
  if (const char* address = environment("MASTER_ADDR")) {
    p.master_address = address;
  } else if (const char* nodes = environment("SLURM_JOB_NODELIST")) {
    p.master_address = first_slurm_host(nodes);
  } else if (p.world_size == 1) {
    p.master_address = "127.0.0.1";
  } else {
    throw Error("MASTER_ADDR", "is not set (the address of rank 0's host)");
  }
  if (const char* port = environment("MASTER_PORT")) {
    p.master_port = integer_variable("MASTER_PORT", port, 1);
  } else if (const char* job = environment("SLURM_JOB_ID")) {
    p.master_port = 20000 + integer_variable("SLURM_JOB_ID", job, 0) % 20000;
  } else if (p.world_size == 1) {
    p.master_port = 29500;
  } else {
    throw Error("MASTER_PORT", "is not set (a free TCP port on rank 0's host)");
  }
  if (p.master_port > 65535) throw Error("MASTER_PORT", std::to_string(p.master_port) + " is not a TCP port");
  return p;
}

std::pair<int64_t, int64_t> shard_range(int64_t count, int rank, int world_size) {
  // Remainders go to the lowest ranks, so uneven counts (finetune's last batch) still cover all.
  const int64_t base = count / world_size, extra = count % world_size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

// LibTorch 2 moved the collectives from ProcessGroup to the Backend that Gloo and NCCL implement.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CollectiveBackend> process_group;
  std::string backend;
};

DataParallel::DataParallel(const ProcessPlacement& placement, double timeout_seconds, c10::Device device)
    : placement_(placement), timeout_seconds_(timeout_seconds) {
  if (!placement.launched) return;
  if (!(timeout_seconds > 0)) throw Error("--dist-timeout", "must be positive");
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  group_ = std::make_unique<Group>();
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(placement.master_port);
    store_options.isServer = placement.rank == 0;
    store_options.numWorkers = placement.world_size;
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    group_->store = c10::make_intrusive<c10d::TCPStore>(placement.master_address, store_options);
#ifdef GERM_HAVE_NCCL
    if (device.is_cuda()) {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      group_->process_group =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(group_->store, placement.rank, placement.world_size, options);
      group_->backend = "nccl";
      return;
    }
#endif
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // Loopback jobs bind to loopback; GLOO_SOCKET_IFNAME picks the interface on clusters, as in PyTorch.
    if (const char* interface = environment("GLOO_SOCKET_IFNAME"))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    else if (is_loopback(placement.master_address))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(placement.master_address));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 2;
    group_->process_group =
        c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, placement.rank, placement.world_size, options);
    group_->backend = "gloo";
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    group_.reset();
    throw Error("distributed", "rank " + std::to_string(placement.rank) + " could not join the group at " +
                                   placement.master_address + ":" + std::to_string(placement.master_port) +
                                   " within " + std::to_string(static_cast<int>(timeout_seconds)) +
                                   " s (--dist-timeout): " + first_line(e));
  }
}

DataParallel::~DataParallel() = default;

std::string DataParallel::backend() const { return group_ ? group_->backend : "none"; }

void DataParallel::fail(const std::string& operation, const std::exception& cause) const {
  throw Error("distributed", "rank " + std::to_string(rank()) + " of " + std::to_string(world_size()) + ": " +
                                 operation + " failed; another rank stopped or did not answer within " +
                                 std::to_string(static_cast<int>(timeout_seconds_)) +
                                 " s (--dist-timeout): " + first_line(cause));
}

void DataParallel::all_reduce_sum(at::Tensor& tensor) {
  if (!group_) return;
  try {
    std::vector<at::Tensor> tensors{tensor};
    group_->process_group->allreduce(tensors)->wait();
  } catch (const std::exception& e) {
    fail("all-reduce", e);
  }
}

void DataParallel::all_reduce_gradients(const std::vector<at::Tensor>& parameters) {
  if (!group_) return;
  struct Bucket {
    std::vector<at::Tensor> parameters;
    at::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Bucket> buckets;
  int64_t bucket_bytes = 0;
  for (const at::Tensor& parameter : parameters) {
    if (!parameter.requires_grad()) continue;
    const int64_t bytes = parameter.numel() * static_cast<int64_t>(parameter.element_size());
    const bool fits = !buckets.empty() && bucket_bytes + bytes <= kGradientBucketBytes &&
                      buckets.back().parameters.front().scalar_type() == parameter.scalar_type() &&
                      buckets.back().parameters.front().device() == parameter.device();
    if (!fits) {
      buckets.emplace_back();
      bucket_bytes = 0;
    }
    buckets.back().parameters.push_back(parameter);
    bucket_bytes += bytes;
  }
  try {
    // All buckets are in flight at once; Gloo's worker threads reduce them while later ones are packed.
    for (Bucket& bucket : buckets) {
      std::vector<at::Tensor> pieces;
      for (const at::Tensor& p : bucket.parameters)
        pieces.push_back(p.grad().defined() ? p.grad().reshape({-1}) : at::zeros({p.numel()}, p.options()));
      bucket.flat = at::cat(pieces);
      std::vector<at::Tensor> tensors{bucket.flat};
      bucket.work = group_->process_group->allreduce(tensors);
    }
    for (Bucket& bucket : buckets) {
      bucket.work->wait();
      int64_t offset = 0;
      for (const at::Tensor& p : bucket.parameters) {
        at::Tensor reduced = bucket.flat.narrow(0, offset, p.numel()).view(p.sizes());
        offset += p.numel();
        at::Tensor& grad = const_cast<at::Tensor&>(p).mutable_grad();
        if (grad.defined())
          grad.copy_(reduced);
        else
          grad = reduced.clone();
      }
    }
  } catch (const std::exception& e) {
    fail("gradient all-reduce", e);
  }
}

void DataParallel::broadcast(const std::vector<at::Tensor>& tensors) {
  if (!group_) return;
  try {
    for (const at::Tensor& t : tensors) {
      at::NoGradGuard no_grad;
      at::Tensor contiguous = t.is_contiguous() ? t : t.contiguous();
      std::vector<at::Tensor> one{contiguous};
      group_->process_group->broadcast(one)->wait();
      if (!contiguous.is_same(t)) const_cast<at::Tensor&>(t).copy_(contiguous);
    }
  } catch (const std::exception& e) {
    fail("broadcast", e);
  }
}

std::string DataParallel::broadcast_text(const std::string& text_on_root) {
  if (!group_) return text_on_root;
  at::Tensor length = at::tensor({static_cast<int64_t>(is_root() ? text_on_root.size() : 0)}, at::kLong);
  broadcast({length});
  at::Tensor bytes = at::zeros({length.item<int64_t>()}, at::kByte);
  if (is_root()) std::copy(text_on_root.begin(), text_on_root.end(), bytes.data_ptr<uint8_t>());
  broadcast({bytes});
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), bytes.numel());
}

void DataParallel::barrier() {
  if (!group_) return;
  try {
    group_->process_group->barrier()->wait();
  } catch (const std::exception& e) {
    fail("barrier", e);
  }
}

}  // namespace germ::train
