#include <gtest/gtest.h>

#include "core/activation_pattern.hpp"
#include "core/forward.hpp"
#include "tests/support/random_networks.hpp"

namespace tessera {
namespace {

TEST(ActivationPattern, HashIsTheDocumentedFnv1a) {
  // Expected value computed independently (Python, FNV-1a 64 over the
  // little-endian bytes: ordinal 0 as uint32, bit word 5 as uint64, ordinal 1 as
  // uint32, selections 7 and 1 as uint32).
  ActivationPattern p;
  LayerPattern relu;
  relu.node = 2;
  relu.size = 3;
  relu.bits = {5};
  LayerPattern pool;
  pool.node = 4;
  pool.kind = OpKind::MaxPool2d;
  pool.size = 2;
  pool.selection = {7, 1};
  p.layers = {relu, pool};
  EXPECT_EQ(p.hash_hex(), "4716a7421ed72ed7");
  EXPECT_EQ(relu.active_count(), 2);
  EXPECT_TRUE(relu.active(0));
  EXPECT_FALSE(relu.active(1));
}

TEST(ActivationPattern, EqualPatternsAndOnlyThoseShareAHash) {
  const Network net = random_mlp(3, {70, 70}, 2, 5);  // > 64 units: several bit words
  SeededRandom rng(9);
  const Vector x = test::random_input(net, rng);
  const ActivationPattern a = activation_pattern(net, x);
  EXPECT_EQ(a.hash(), activation_pattern(net, x).hash());
  // Flip one unit of the second word: a different pattern and hash.
  ActivationPattern b = a;
  b.layers[0].bits[1] ^= 1u;
  EXPECT_NE(a, b);
  EXPECT_NE(a.hash(), b.hash());
  EXPECT_EQ(a.layers[0].bits.size(), 2u);
}

TEST(ActivationPattern, ActiveCountMatchesPositivePreActivations) {
  const Network net = random_mlp(6, {33}, 3, 8);
  SeededRandom rng(4);
  const Vector x = test::random_input(net, rng);
  const ForwardPass fp = forward_pass(net, x);
  const Vector& pre = fp.values[net.nodes[2].inputs[0]];
  EXPECT_EQ(fp.pattern.layers[0].active_count(), (pre.array() > 0).count());
}

}  // namespace
}  // namespace tessera
