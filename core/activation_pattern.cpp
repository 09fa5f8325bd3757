#include "core/activation_pattern.hpp"

#include <bitset>
#include <cstdio>

namespace tessera {

int LayerPattern::active_count() const {
  if (kind == OpKind::MaxPool2d) return static_cast<int>(selection.size());
  int count = 0;
  for (std::uint8_t p : pieces) count += p > 0;
  for (std::uint64_t w : bits) count += static_cast<int>(std::bitset<64>(w).count());
  return count;
}

namespace {
constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

void mix(std::uint64_t& h, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) {
    h ^= (value >> (8 * i)) & 0xffu;
    h *= kFnvPrime;
  }
}
}  // namespace

std::uint64_t ActivationPattern::hash() const {
  std::uint64_t h = kFnvOffset;
  std::uint32_t ordinal = 0;
  for (const LayerPattern& l : layers) {
    mix(h, ordinal++, 4);
    for (std::uint64_t w : l.bits) mix(h, w, 8);
    for (std::uint8_t p : l.pieces) mix(h, p, 1);
    for (int s : l.selection) mix(h, static_cast<std::uint32_t>(s), 4);
  }
  return h;
}

std::string hash_to_hex(std::uint64_t hash) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

std::string ActivationPattern::hash_hex() const { return hash_to_hex(hash()); }

ActivationPattern empty_pattern(const Network& net) {
  ActivationPattern p;
  for (int i : net.piecewise_nodes()) {
    const Node& n = net.nodes[i];
    LayerPattern l;
    l.node = i;
    l.kind = n.kind;
    l.size = static_cast<int>(n.shape.size());
    if (n.kind == OpKind::MaxPool2d)
      l.selection.assign(l.size, -1);
    else if (n.kind == OpKind::Piecewise)
      l.pieces.assign(l.size, 0);
    else
      l.bits.assign((static_cast<size_t>(l.size) + 63) / 64, 0);
    p.layers.push_back(std::move(l));
  }
  return p;
}

Vector unit_slopes(const Node& node, const LayerPattern& layer) {
  if (node.kind == OpKind::Piecewise) {
    Vector s(layer.size);
    for (int i = 0; i < layer.size; ++i) s[i] = node.piece_slope(i, layer.pieces[i]);
    return s;
  }
  const double off = node.kind == OpKind::LeakyRelu ? node.slope : 0.0;
  Vector s(layer.size);
  for (int i = 0; i < layer.size; ++i) s[i] = layer.active(i) ? 1.0 : off;
  return s;
}

Vector unit_offsets(const Node& node, const LayerPattern& layer) {
  Vector o = Vector::Zero(layer.size);
  if (node.kind == OpKind::Piecewise)
    for (int i = 0; i < layer.size; ++i) o[i] = node.piece_offset(i, layer.pieces[i]);
  return o;
}

std::vector<int> units_per_piece(const Network& net, const LayerPattern& l) {
  if (l.kind != OpKind::Piecewise) return {};
  std::vector<int> counts(net.nodes[l.node].pieces(), 0);
  for (std::uint8_t k : l.pieces) ++counts[k];
  return counts;
}

std::string layer_hash_hex(const LayerPattern& layer) {
  ActivationPattern p;
  p.layers.push_back(layer);
  return p.hash_hex();
}

}  // namespace tessera
