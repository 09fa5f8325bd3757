#include "io/laplace_io.hpp"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "io/file_util.hpp"
#include "io/onnx/importer.hpp"
#include "io/onnx_io.hpp"

namespace tessera {
namespace {

const std::string kPrefix = "tessera.laplace.";

onnx::ModelProto parse_model(const std::string& bytes, const std::string& source) {
  onnx::ModelProto model;
  if (bytes.empty()) throw Error(source + ": the file is empty, not an ONNX model");
  if (!model.ParseFromString(bytes))
    throw Error(source + ": not a valid ONNX model (the protobuf could not be parsed; truncated or corrupt?)");
  return model;
}

Matrix read_square(const std::map<std::string, onnx_import::Value>& inits, const std::string& name, const std::string& where) {
  const auto it = inits.find(kPrefix + name);
  if (it == inits.end() || !it->second.is_const) throw Error(where + ": initializer '" + kPrefix + name + "' is missing");
  const onnx_import::ConstTensor& c = it->second.c;
  if (c.dims.size() != 2 || c.dims[0] != c.dims[1])
    throw Error(where + ": initializer '" + kPrefix + name + "' must be a square matrix, not " + onnx_import::dims_str(c.dims));
  const auto n = static_cast<Eigen::Index>(c.dims[0]);
  Matrix m(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) m(i, j) = c.data[static_cast<std::size_t>(i * n + j)];
  return m;
}

void add_square(onnx::GraphProto& g, const std::string& name, const Matrix& m) {
  onnx::TensorProto* t = g.add_initializer();
  t->set_name(kPrefix + name);
  t->set_data_type(onnx::TensorProto::DOUBLE);
  t->add_dims(m.rows());
  t->add_dims(m.cols());
  std::string raw(static_cast<std::size_t>(m.size()) * sizeof(double), '\0');
  char* p = raw.data();
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j, p += sizeof(double)) {
      const double v = m(i, j);
      std::memcpy(p, &v, sizeof v);  // little-endian hosts only, as the exporter
    }
  t->set_raw_data(std::move(raw));
}

std::string number(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

}  // namespace

namespace onnx_import {

std::shared_ptr<const LaplaceHead> read_laplace_posterior(const onnx::ModelProto& model,
                                                          const std::map<std::string, Value>& inits,
                                                          const Network& net, const std::string& source) {
  const std::string where = source + ": Laplace posterior";
  std::map<std::string, std::string> meta;
  for (const auto& kv : model.metadata_props())
    if (kv.key().rfind(kPrefix, 0) == 0) meta[kv.key().substr(kPrefix.size())] = kv.value();
  if (meta.empty()) return nullptr;
  auto get = [&](const std::string& key) {
    const auto it = meta.find(key);
    if (it == meta.end()) throw Error(where + ": metadata '" + kPrefix + key + "' is missing");
    return it->second;
  };
  if (get("version") != "1")
    throw Error(where + ": version '" + get("version") + "' is not supported (this Tessera reads version 1)");
  LaplaceHead h;
  const std::string structure = get("structure");
  if (structure == "full") h.structure = LaplaceHead::Structure::Full;
  else if (structure == "kronecker") h.structure = LaplaceHead::Structure::Kronecker;
  else throw Error(where + ": structure '" + structure + "': expected full or kronecker");
  h.layer = get("layer");
  const std::string tau = get("prior_precision");
  try {
    std::size_t used = 0;
    h.prior_precision = std::stod(tau, &used);
    if (used != tau.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw Error(where + ": prior_precision '" + tau + "' is not a number");
  }
  if (meta.count("fitted_on")) h.fitted_on = meta["fitted_on"];
  if (h.structure == LaplaceHead::Structure::Full) {
    h.covariance = read_square(inits, "covariance", where);
  } else {
    h.class_covariance = read_square(inits, "class_covariance", where);
    h.feature_covariance = read_square(inits, "feature_covariance", where);
  }
  // Checked against the last layer, which supplies the mean.
  return std::make_shared<const LaplaceHead>(checked_laplace_head(net, std::move(h)));
}

}  // namespace onnx_import

LaplaceModel load_laplace_model(const std::string& path) { return laplace_model(load_onnx(path)); }

std::string add_laplace_head(const std::string& bytes, const LaplaceHead& head, const std::string& source) {
  onnx::ModelProto model = parse_model(bytes, source);
  // Drop an earlier posterior.
  auto* props = model.mutable_metadata_props();
  for (int i = props->size() - 1; i >= 0; --i)
    if (props->Get(i).key().rfind(kPrefix, 0) == 0) props->DeleteSubrange(i, 1);
  auto* inits = model.mutable_graph()->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i)
    if (inits->Get(i).name().rfind(kPrefix, 0) == 0) inits->DeleteSubrange(i, 1);

  auto put = [&](const std::string& key, const std::string& value) {
    auto* kv = model.add_metadata_props();
    kv->set_key(kPrefix + key);
    kv->set_value(value);
  };
  put("version", "1");
  put("structure", head.structure_name());
  put("layer", head.layer);
  put("prior_precision", number(head.prior_precision));
  if (!head.fitted_on.empty()) put("fitted_on", head.fitted_on);
  if (head.structure == LaplaceHead::Structure::Full) {
    add_square(*model.mutable_graph(), "covariance", head.covariance);
  } else {
    add_square(*model.mutable_graph(), "class_covariance", head.class_covariance);
    add_square(*model.mutable_graph(), "feature_covariance", head.feature_covariance);
  }
  std::string out;
  if (!model.SerializeToString(&out)) throw Error(source + ": cannot serialise the model with its Laplace posterior");
  return out;
}

void save_laplace_model(const std::string& model_bytes, const LaplaceHead& head, const std::string& path,
                        const std::string& source) {
  write_file_atomically(path, add_laplace_head(model_bytes, head, source));
}

}  // namespace tessera
