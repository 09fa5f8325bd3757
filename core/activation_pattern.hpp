// Activation patterns Σ(x): which units of every ReLU / LeakyReLU layer are
// active (pre-activation > 0, the seed's definition), which piece every unit
// of a Piecewise layer (Clip, Abs, PRelu, ...) is on, and which input every
// max-pool window selects. Two inputs with equal patterns lie in the same
// linear region, where the network is one affine map.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/network.hpp"

namespace tessera {

// The pattern of one piecewise node.
struct LayerPattern {
  int node = -1;                     // index of the Relu / LeakyRelu / Piecewise / MaxPool2d node
  OpKind kind = OpKind::Relu;
  int size = 0;                      // number of units (outputs of the node)
  std::vector<std::uint64_t> bits;   // Relu/LeakyRelu: bit i set <=> unit i active
  std::vector<std::uint8_t> pieces;  // Piecewise: the piece (0 .. P-1) of unit i
  std::vector<int> selection;        // MaxPool2d: input index chosen by output i

  bool active(int i) const { return (bits[static_cast<size_t>(i) >> 6] >> (i & 63)) & 1u; }
  void set_active(int i) { bits[static_cast<size_t>(i) >> 6] |= std::uint64_t{1} << (i & 63); }
  // Relu/LeakyRelu: active units; Piecewise: units past their first piece;
  // MaxPool2d: outputs.
  int active_count() const;
  bool operator==(const LayerPattern& o) const {
    return node == o.node && bits == o.bits && pieces == o.pieces && selection == o.selection;
  }
};

struct ActivationPattern {
  std::vector<LayerPattern> layers;  // one per piecewise node, in node order

  // Stable 64-bit hash: FNV-1a over, for each piecewise layer in order, its
  // ordinal (uint32), its bit words (uint64), its pieces (uint8) and its
  // selections (uint32), all as little-endian bytes. Equal patterns give equal hashes on every
  // platform, and a model re-exported by Tessera keeps its hashes (node
  // numbering does not enter).
  std::uint64_t hash() const;
  std::string hash_hex() const;  // 16 lower-case hex digits
  bool operator==(const ActivationPattern& o) const { return layers == o.layers; }
  bool operator!=(const ActivationPattern& o) const { return !(*this == o); }
};

// 16 lower-case hex digits, as pattern hashes are printed everywhere.
// For a Piecewise layer: how many of its units lie on each piece (empty for
// other kinds).
std::vector<int> units_per_piece(const Network& net, const LayerPattern& layer);
// The hash of one layer's pattern alone (as a pattern of that one layer).
std::string layer_hash_hex(const LayerPattern& layer);
std::string hash_to_hex(std::uint64_t hash);

// A blank pattern with one LayerPattern of the right size per piecewise node.
ActivationPattern empty_pattern(const Network& net);

// Slope applied to unit i of a Relu/LeakyRelu/Piecewise node under a fixed
// pattern: 1 when active, 0 (ReLU) or the node's slope (LeakyReLU) when not;
// the slope of the unit's piece (Piecewise).
Vector unit_slopes(const Node& node, const LayerPattern& layer);
// The constant term of a Piecewise node's units under a fixed pattern (the
// offsets of their pieces); zero for Relu/LeakyRelu.
Vector unit_offsets(const Node& node, const LayerPattern& layer);

}  // namespace tessera
