#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "model/sample_dropout.hpp"
#include "tokenize/nucleotide_tokenizer.hpp"
#include "train/batches.hpp"
#include "train/distributed.hpp"
#include "util/error.hpp"

using namespace germ;

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace

TEST(Distributed, ShardsAreDisjointContiguousAndCoverTheBatch) {
  for (int world = 1; world <= 5; ++world)
    for (int64_t count : {0, 1, 4, 7, 32}) {
      int64_t next = 0;
      for (int rank = 0; rank < world; ++rank) {
        auto [begin, end] = train::shard_range(count, rank, world);
        EXPECT_EQ(begin, next);
        EXPECT_LE(end - begin, count / world + 1);
        next = end;
      }
      EXPECT_EQ(next, count);
    }
}

TEST(Distributed, FirstSlurmHost) {
  EXPECT_EQ(train::first_slurm_host("node7"), "node7");
  EXPECT_EQ(train::first_slurm_host("a,b[1-2]"), "a");
  EXPECT_EQ(train::first_slurm_host("gpu[03-05,07],cpu1"), "gpu03");
}

TEST(Distributed, UnlaunchedProcessIsTheIdentity) {
  train::DataParallel dp(train::ProcessPlacement{}, 60, c10::Device(c10::kCPU));
  EXPECT_FALSE(dp.active());
  at::Tensor t = at::arange(4, at::kFloat);
  dp.all_reduce_sum(t);
  EXPECT_TRUE(t.equal(at::arange(4, at::kFloat)));
  EXPECT_EQ(dp.broadcast_text("x"), "x");
}

TEST(Distributed, GlooGroupOfOne) {
  train::ProcessPlacement p;
  p.launched = true;
  p.master_address = "127.0.0.1";
  p.master_port = free_port();
  train::DataParallel dp(p, 10, c10::Device(c10::kCPU));
  ASSERT_TRUE(dp.active());
  EXPECT_EQ(dp.backend(), "gloo");
  at::Tensor weight = at::ones({3, 2}).requires_grad_();
  at::Tensor untouched = at::ones({2}).requires_grad_();
  (weight * 2).sum().backward();
  dp.all_reduce_gradients({weight, untouched});
  EXPECT_TRUE(weight.grad().equal(at::full({3, 2}, 2.0)));
  ASSERT_TRUE(untouched.grad().defined());  // no gradient counts as zero
  EXPECT_EQ(untouched.grad().abs().sum().item<float>(), 0);
  EXPECT_EQ(dp.broadcast_text("tokenizer json"), "tokenizer json");
  dp.barrier();
}

// A sample's dropout mask and MLM masking depend on its own seed only, not on its batch-mates:
// the property that lets ranks holding slices of a batch reproduce the whole batch.
TEST(Distributed, PerSampleNoiseIsIndependentOfTheBatch) {
  const std::vector<uint64_t> seeds{11, 22, 33, 44};
  at::Tensor x = at::ones({4, 5, 8});
  at::Tensor whole, half;
  {
    model::SampleNoiseScope scope(seeds);
    whole = model::sample_dropout(x, 0.5, true);
  }
  {
    model::SampleNoiseScope scope({seeds.begin() + 2, seeds.end()});
    half = model::sample_dropout(x.narrow(0, 2, 2), 0.5, true);
  }
  EXPECT_TRUE(whole.narrow(0, 2, 2).equal(half));
  EXPECT_FALSE(whole[0].equal(whole[1]));

  tokenize::NucleotideTokenizer tokenizer;
  std::vector<std::string> windows{"ACGTACGTACGTACGT", "TTTTGGGGCCCCAAAA", "ACGTTGCAACGTTGCA", "GGGGGGGGAAAAAAAA"};
  train::Batch all = train::make_mlm_batch(windows, tokenizer, 20, 0.5, seeds);
  train::Batch tail = train::make_mlm_batch({windows.begin() + 2, windows.end()}, tokenizer, 20, 0.5,
                                            std::vector<uint64_t>(seeds.begin() + 2, seeds.end()));
  EXPECT_TRUE(all.input_ids.narrow(0, 2, 2).equal(tail.input_ids));
  EXPECT_TRUE(all.labels.narrow(0, 2, 2).equal(tail.labels));
}
