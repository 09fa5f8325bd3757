// _tessera: the C++ side of the Python module `tessera` (python/tessera/).
// Each function takes NumPy arrays (float64, C order: no copy; anything else
// is converted once by NumPy) and returns the command line's JSON as Python
// dicts and lists, with the large numeric fields as NumPy arrays under the
// same keys; python/tessera/_results.py wraps them in typed objects.
//
// Long calls run in a worker thread while the calling thread, holding the
// GIL only briefly, polls for Ctrl-C (PyErr_CheckSignals) and the time
// limit every 20 ms and raises the library's cancel flag: Ctrl-C raises
// KeyboardInterrupt within a fraction of a second, a time limit returns the
// partial result marked complete=False. Library errors (tessera::Error)
// become tessera.Error (a ValueError) with the command line's message.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <pythread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdint>
#include <future>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "core/affine_report.hpp"
#include "core/error.hpp"
#include "core/laplace.hpp"
#include "core/limits.hpp"
#include "core/noise.hpp"
#include "export/json.hpp"
#include "io/input_io.hpp"
#include "io/onnx_io.hpp"
#include "regions/box_bounds.hpp"
#include "regions/certificate.hpp"
#include "regions/certify_set.hpp"
#include "regions/line_traversal.hpp"
#include "regions/polytope.hpp"
#include "regions/slice_2d.hpp"

namespace py = pybind11;
using tessera::Error;
using tessera::Matrix;
using tessera::Network;
using tessera::Vector;
using NetPtr = std::shared_ptr<Network>;
using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

namespace {

// ---------------------------------------------------------------- JSON -> Python

// Keys whose values are numbers (or nested lists of them): NumPy arrays.
const std::set<std::string>& array_keys() {
  static const std::set<std::string> keys = {"V",      "a",          "logits",          "softmax",
                                             "limit_logits", "logits_intercept", "logits_slope", "logits_map",
                                             "normal", "vertices",   "decision_boundary", "chebyshev_center",
                                             "recession_direction", "max_margin", "probabilities", "mean_logits",
                                             "logit_variances", "limit_probabilities", "limit_scores",
                                             "mean_logit_slope", "logit_variance_growth", "argmax_input",
                                             "class_upper", "class_lower"};
  return keys;
}

// The shape of a rectangular nested list of numbers (null counts as a
// number: NaN), every number at the same depth; false otherwise.
bool array_shape(const nlohmann::json& j, std::vector<py::ssize_t>& shape, size_t depth, size_t& leaf_depth) {
  if (j.is_number() || j.is_null()) {
    if (leaf_depth == 0) leaf_depth = depth;
    return depth == shape.size() && depth == leaf_depth;
  }
  if (!j.is_array()) return false;
  if (depth == shape.size()) {
    if (depth > 0 && shape.back() == 0) return false;
    shape.push_back(static_cast<py::ssize_t>(j.size()));
    if (j.empty()) return true;
  } else if (shape[depth] != static_cast<py::ssize_t>(j.size())) {
    return false;
  }
  for (const auto& e : j)
    if (!array_shape(e, shape, depth + 1, leaf_depth)) return false;
  return true;
}

void fill(const nlohmann::json& j, double*& out) {
  if (j.is_array()) {
    for (const auto& e : j) fill(e, out);
  } else {
    *out++ = j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
  }
}

py::object to_py(const nlohmann::json& j, const std::string& key = "");

py::object numbers_to_array(const nlohmann::json& j, const std::string& key) {
  std::vector<py::ssize_t> shape;
  size_t leaf_depth = 0;
  if (key == "decision_boundary" && j.empty()) shape = {0, 2, 2};  // m segments of 2 points (u, v)
  else if (!array_shape(j, shape, 0, leaf_depth)) return to_py(j);   // ragged: lists
  py::array_t<double> a(shape);
  double* out = a.mutable_data();
  fill(j, out);
  return std::move(a);
}

// `key`: the object key j is the value of; the keys of array_keys() become
// NumPy arrays.
py::object to_py(const nlohmann::json& j, const std::string& key) {
  using V = nlohmann::json::value_t;
  if (j.is_array() && !key.empty() && array_keys().count(key)) return numbers_to_array(j, key);
  switch (j.type()) {
    case V::null:
    case V::discarded:
      return py::none();
    case V::boolean:
      return py::bool_(j.get<bool>());
    case V::number_integer:
      return py::int_(j.get<std::int64_t>());
    case V::number_unsigned:
      return py::int_(j.get<std::uint64_t>());
    case V::number_float:
      return py::float_(j.get<double>());
    case V::string:
      return py::str(j.get_ref<const std::string&>());
    case V::array: {
      py::list l(j.size());
      size_t i = 0;
      for (const auto& e : j) l[i++] = to_py(e);
      return std::move(l);
    }
    case V::object: {
      py::dict d;
      for (const auto& [k, v] : j.items()) d[py::str(k)] = to_py(v, k);
      return std::move(d);
    }
    default:
      return py::none();
  }
}

// ---------------------------------------------------------------- arrays in

// One input: an array with the network's input size (any shape).
Vector one_input(const Network& net, const Array& x, const char* what) {
  if (x.size() != net.input_size())
    throw Error(std::string(what) + ": has " + std::to_string(x.size()) + " values but the network expects " +
                std::to_string(net.input_size()));
  return Eigen::Map<const Vector>(x.data(), x.size());
}

// A batch: shape (N, d) or (N, *input_shape), as a column-major d x N map
// of the same memory (C order (N, d) is column-major d x N).
Eigen::Map<const Matrix> batch(const Network& net, const Array& X, const char* what) {
  const py::ssize_t d = net.input_size();
  if (X.ndim() < 2 || X.shape(0) < 1 || X.size() != X.shape(0) * d)
    throw Error(std::string(what) + ": expected an array of shape (N, " + std::to_string(d) + ")" +
                (net.input_shape().dims.size() > 1 ? " or (N, " + net.input_shape().str() + ")" : std::string()) +
                " with N >= 1, got " + [&] {
                  std::string s = "(";
                  for (py::ssize_t i = 0; i < X.ndim(); ++i) s += (i ? ", " : "") + std::to_string(X.shape(i));
                  return s + (X.ndim() == 1 ? ",)" : ")");
                }());
  return Eigen::Map<const Matrix>(X.data(), d, X.shape(0));
}

// ---------------------------------------------------------------- interruptible calls

struct Stop {
  bool timed_out = false;
  double time_limit = 0;
};

// The fast path, for calls from Python's main thread without a time limit:
// the work runs in the calling thread (no thread to start: a short call
// costs microseconds, not the ~200 µs of a thread's start and wake-ups),
// and for its duration a SIGINT handler sets the cancel flag and passes the
// signal on to the handler it replaced (Python's, which notes it for
// PyErr_CheckSignals afterwards).
unsigned long g_main_thread = 0;  // threading.main_thread().ident, at import
std::atomic<bool> g_sigint{false};
struct sigaction g_previous;

extern "C" void on_sigint(int sig) {
  g_sigint.store(true);
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) g_previous.sa_sigaction(sig, nullptr, nullptr);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN && g_previous.sa_handler) {
    g_previous.sa_handler(sig);
  }
}

template <class R, class Work>
R inline_interruptible(Work& work) {
  struct sigaction ours {};
  ours.sa_handler = on_sigint;
  sigemptyset(&ours.sa_mask);
  if (sigaction(SIGINT, nullptr, &g_previous) != 0 || g_previous.sa_handler == SIG_IGN) {
    py::gil_scoped_release nogil;  // SIGINT ignored (a background process): nothing to watch
    static const std::atomic<bool> never{false};
    return work(&never);
  }
  g_sigint.store(false);
  sigaction(SIGINT, &ours, nullptr);
  struct Restore {
    ~Restore() { sigaction(SIGINT, &g_previous, nullptr); }
  } restore;
  std::optional<R> result;
  {
    py::gil_scoped_release nogil;
    result.emplace(work(&g_sigint));
  }
  if (g_sigint.load()) {
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // KeyboardInterrupt from Python's handler
    if (g_previous.sa_handler == SIG_DFL) {
      PyErr_SetNone(PyExc_KeyboardInterrupt);
      throw py::error_already_set();
    }
  }
  return std::move(*result);
}

// Runs work(cancel) so that Ctrl-C and the time limit can stop it. Ctrl-C:
// the work is cancelled, waited for, and KeyboardInterrupt raised. Time
// limit: cancelled, and the partial result returned with stop.timed_out
// set. Exceptions of the work propagate. From the main thread without a time
// limit, the work runs inline (above); otherwise in a worker thread while
// the calling thread polls Ctrl-C and the clock every 20 ms.
template <class R, class Work>
R interruptible(Work work, std::optional<double> time_limit, Stop& stop) {
  if (time_limit && !(*time_limit >= 0)) throw Error("time_limit must be a number of seconds >= 0");
  if (!time_limit && PyThread_get_thread_ident() == g_main_thread) return inline_interruptible<R>(work);
  std::atomic<bool> cancel{false};
  std::packaged_task<R()> task([&] { return work(&cancel); });
  std::future<R> result = task.get_future();
  std::optional<py::error_already_set> interrupted;
  const auto start = std::chrono::steady_clock::now();
  {
    py::gil_scoped_release nogil;
    // However this block is left, the work is cancelled and joined first
    // (it reads the caller's arrays).
    struct Joined {
      std::thread thread;
      std::atomic<bool>& cancel;
      ~Joined() {
        if (thread.joinable()) {
          cancel.store(true);
          thread.join();
        }
      }
    } worker{std::thread(std::move(task)), cancel};
    while (result.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
      if (time_limit && !cancel.load() &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= *time_limit) {
        stop.timed_out = true;
        stop.time_limit = *time_limit;
        cancel.store(true);
      }
      if (!interrupted) {
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) {
          interrupted.emplace();  // takes KeyboardInterrupt (or what a handler raised)
          cancel.store(true);
        }
      }
    }
    worker.thread.join();
  }
  if (interrupted) throw std::move(*interrupted);
  return result.get();
}

// "cancelled..." from the libraries, in the words of the time limit.
std::string described(const std::string& reason, const Stop& stop) {
  if (stop.timed_out && reason.rfind("cancelled", 0) == 0) {
    char limit[64];
    std::snprintf(limit, sizeof limit, "%g", stop.time_limit);
    return std::string("time limit of ") + limit + " s reached (time_limit)" + reason.substr(9);
  }
  return reason;
}

// ---------------------------------------------------------------- boxes

struct BoxArgs {
  bool enabled = false;
  double lo = 0, hi = 1;
  Vector lower, upper;
  nlohmann::json json = nullptr;
};

// box: None (off), (lo, hi) numbers, or (lower, upper) arrays of the input size.
BoxArgs box_args(const Network& net, const py::object& box) {
  BoxArgs b;
  if (box.is_none()) return b;
  const py::tuple t = py::cast<py::tuple>(box);
  if (t.size() != 2) throw Error("box: expected None, (lo, hi) or (lower, upper)");
  b.enabled = true;
  if (py::isinstance<py::float_>(t[0]) || py::isinstance<py::int_>(t[0])) {
    b.lo = py::cast<double>(t[0]);
    b.hi = py::cast<double>(t[1]);
    if (!std::isfinite(b.lo) || !std::isfinite(b.hi) || !(b.lo < b.hi)) throw Error("box: expected finite lo < hi");
    b.json = {b.lo, b.hi};
    return b;
  }
  b.lower = one_input(net, py::cast<Array>(t[0]), "box lower bounds");
  b.upper = one_input(net, py::cast<Array>(t[1]), "box upper bounds");
  for (Eigen::Index i = 0; i < b.lower.size(); ++i) {
    if (!std::isfinite(b.lower[i]) || !std::isfinite(b.upper[i]))
      throw Error("box: the bounds of input " + std::to_string(i) + " are not finite numbers");
    if (!(b.lower[i] <= b.upper[i]))
      throw Error("box: input " + std::to_string(i) + " has lower bound " + std::to_string(b.lower[i]) +
                  " above its upper bound " + std::to_string(b.upper[i]));
  }
  b.json = {{"file", nullptr}, {"lower", tessera::to_json(b.lower)}, {"upper", tessera::to_json(b.upper)}};
  return b;
}

template <class Options>
void apply(const BoxArgs& b, Options& o) {
  o.has_box = b.enabled;
  o.box_lo = b.lo;
  o.box_hi = b.hi;
  o.box_lower = b.lower;
  o.box_upper = b.upper;
}

// ---------------------------------------------------------------- the functions

// A number of MiB for parse_mebibytes (which checks and caps it).
std::string mebibytes_text(double mb) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", mb);
  return text;
}

NetPtr load(const std::string& path, std::optional<double> max_model_mb) {
  tessera::OnnxLoadOptions o;
  if (max_model_mb) o.max_parameter_bytes = tessera::parse_mebibytes(mebibytes_text(*max_model_mb), "max_model_mb");
  py::gil_scoped_release nogil;
  return std::make_shared<Network>(tessera::load_onnx(path, o));
}

NetPtr load_bytes(const py::bytes& data, const std::string& source, std::optional<double> max_model_mb) {
  tessera::OnnxLoadOptions o;
  if (max_model_mb) o.max_parameter_bytes = tessera::parse_mebibytes(mebibytes_text(*max_model_mb), "max_model_mb");
  std::string bytes = data;
  py::gil_scoped_release nogil;
  return std::make_shared<Network>(tessera::parse_onnx(bytes, source, o));
}

py::object affine(const NetPtr& net, const Array& x, bool layers) {
  const Vector v = one_input(*net, x, "x");
  tessera::AffineReport r;
  {
    py::gil_scoped_release nogil;
    r = tessera::affine_report(*net, v, "x", layers);
  }
  // The maps go straight from Eigen into NumPy (moved, no copy); the JSON
  // writer gives the rest.
  std::vector<tessera::NodeAffineMap> hidden = std::move(r.hidden_maps);
  r.hidden_maps.clear();
  nlohmann::json j = tessera::affine_json(r, *net);
  j["model"] = net->source;
  j.erase("V");
  j.erase("a");
  py::dict d = to_py(j);
  d["V"] = py::cast(std::move(r.map.V));
  d["a"] = py::cast(std::move(r.map.a));
  if (!hidden.empty()) {
    py::list maps;
    for (tessera::NodeAffineMap& m : hidden) {
      tessera::NodeAffineMap shell{m.node, {}};
      nlohmann::json mj = tessera::node_map_json(shell, *net);  // node, name, op (and empty V, a)
      mj.erase("V");
      mj.erase("a");
      py::dict md = to_py(mj);
      md["V"] = py::cast(std::move(m.map.V));
      md["a"] = py::cast(std::move(m.map.a));
      maps.append(std::move(md));
    }
    d["hidden_maps"] = std::move(maps);
  }
  return std::move(d);
}

tessera::TraversalOptions traversal(std::size_t max_segments, bool point_segments) {
  tessera::TraversalOptions o;
  if (max_segments == 0) throw Error("max_segments must be positive");
  o.max_segments = max_segments;
  o.point_segments = point_segments;
  return o;
}

py::object line_result(const NetPtr& net, tessera::LineTraversal tr, const Stop& stop, const char* kind) {
  tr.stop_reason = described(tr.stop_reason, stop);
  nlohmann::json j = tr;
  j["model"] = net->source;
  j["kind"] = kind;
  return to_py(j);
}

py::object ray(const NetPtr& net, const Array& x, double alpha0, std::size_t max_segments, bool point_segments,
               std::optional<double> time_limit) {
  const Vector v = one_input(*net, x, "x");
  tessera::TraversalOptions o = traversal(max_segments, point_segments);
  Stop stop;
  auto tr = interruptible<tessera::LineTraversal>(
      [&](const std::atomic<bool>* cancel) {
        o.cancel = cancel;
        return tessera::traverse_ray(*net, v, alpha0, o);
      },
      time_limit, stop);
  return line_result(net, std::move(tr), stop, "ray");
}

py::object line(const NetPtr& net, const Array& x0, const Array& direction, double t0, double t1,
                std::size_t max_segments, bool point_segments, std::optional<double> time_limit) {
  const Vector a = one_input(*net, x0, "x0");
  const Vector d = one_input(*net, direction, "direction");
  if (d.isZero(0.0)) throw Error("direction: is zero (x1 equals x0, or direction is all zeros)");
  tessera::TraversalOptions o = traversal(max_segments, point_segments);
  Stop stop;
  auto tr = interruptible<tessera::LineTraversal>(
      [&](const std::atomic<bool>* cancel) {
        o.cancel = cancel;
        return tessera::traverse_line(*net, a, d, t0, t1, o);
      },
      time_limit, stop);
  return line_result(net, std::move(tr), stop, "line");
}

tessera::CertifyOptions certify_options(const Network& net, double threshold, const py::object& box, double alpha0,
                                        bool full, std::size_t max_segments, nlohmann::json& box_json) {
  tessera::CertifyOptions o;
  o.threshold = threshold;
  o.alpha0 = alpha0;
  o.full = full;
  if (max_segments == 0) throw Error("max_segments must be positive");
  o.traversal.max_segments = max_segments;
  const BoxArgs b = box_args(net, box);
  apply(b, o);
  box_json = b.json;
  if (const std::string why = o.validate(); !why.empty()) throw Error(why);
  return o;
}

py::object certify_one(const NetPtr& net, const Array& x, double threshold, const py::object& box, double alpha0,
                       bool full, std::size_t max_segments, std::optional<double> time_limit) {
  const Vector v = one_input(*net, x, "x");
  nlohmann::json box_json;
  tessera::CertifyOptions o = certify_options(*net, threshold, box, alpha0, full, max_segments, box_json);
  // A model with a Laplace posterior: its limit and predictive too.
  const std::optional<tessera::LaplaceModel> laplace =
      net->laplace ? std::optional<tessera::LaplaceModel>(tessera::laplace_model(*net)) : std::nullopt;
  if (laplace) o.laplace = &*laplace;
  Stop stop;
  tessera::Certificate c = interruptible<tessera::Certificate>(
      [&](const std::atomic<bool>* cancel) {
        o.traversal.cancel = cancel;
        return tessera::certify(*net, v, o);
      },
      time_limit, stop);
  c.stop_reason = described(c.stop_reason, stop);
  nlohmann::json j = tessera::certificate_json(c, o);
  j["model"] = net->source;
  j["threshold"] = o.threshold;
  j["box"] = box_json;
  return to_py(j);
}

py::object certify_many(const NetPtr& net, const Array& X, double threshold, const py::object& box, double alpha0,
                        bool full, std::size_t max_segments, int threads, std::optional<double> time_limit) {
  const Eigen::Map<const Matrix> M = batch(*net, X, "X");
  tessera::check_memory(tessera::mul_or_neg(tessera::mul_or_neg(M.rows(), M.cols()), 8),
                        "X: a copy of " + std::to_string(M.cols()) + " inputs of " + std::to_string(M.rows()) + " values");
  nlohmann::json box_json;
  tessera::CertifySetOptions so;
  so.certify = certify_options(*net, threshold, box, alpha0, full, max_segments, box_json);
  const std::optional<tessera::LaplaceModel> laplace =
      net->laplace ? std::optional<tessera::LaplaceModel>(tessera::laplace_model(*net)) : std::nullopt;
  if (laplace) so.certify.laplace = &*laplace;
  if (threads < 0) throw Error("threads must be 0 (all cores) or a positive number");
  so.threads = threads;
  // certify_set takes a Matrix: one copy of the inputs, made without the GIL.
  Stop stop;
  tessera::CertifySetResult r = interruptible<tessera::CertifySetResult>(
      [&](const std::atomic<bool>* cancel) {
        so.cancel = cancel;
        so.certify.traversal.cancel = cancel;
        return tessera::certify_set(*net, Matrix(M), so);
      },
      time_limit, stop);
  std::string why = stop.timed_out ? described("cancelled", stop) : std::string("cancelled");
  nlohmann::json j = tessera::certify_set_json(r, so.certify, why, [&](const std::string& s) { return described(s, stop); });
  j["model"] = net->source;
  j["threshold"] = so.certify.threshold;
  j["box"] = box_json;
  return to_py(j);
}

py::object region(const NetPtr& net, const Array& x, const py::object& box, bool facets, bool confidence,
                  std::size_t max_lp_rows, std::optional<double> time_limit) {
  const Vector v = one_input(*net, x, "x");
  tessera::RegionOptions o;
  const BoxArgs b = box_args(*net, box);
  apply(b, o);
  o.find_facets = facets;
  o.confidence = confidence;
  o.max_lp_rows = max_lp_rows;
  Stop stop;
  tessera::RegionReport r = interruptible<tessera::RegionReport>(
      [&](const std::atomic<bool>* cancel) {
        o.cancel = cancel;
        return tessera::analyse_region(*net, v, o);
      },
      time_limit, stop);
  r.stop_reason = described(r.stop_reason, stop);
  nlohmann::json j = tessera::region_json(r, *net);
  j["model"] = net->source;
  j["box"] = b.json;
  return to_py(j);
}

py::object bound(const NetPtr& net, const std::optional<Array>& x, std::optional<double> eps, const py::object& box,
                 const std::string& method, double tolerance, std::size_t max_branches, int attack_steps,
                 std::optional<double> time_limit) {
  const std::optional<tessera::BoundMethod> m = tessera::parse_bound_method(method);
  if (!m) throw Error("method '" + method + "': expected ibp, crown or exact");
  const int d = net->input_size();
  const BoxArgs b = box_args(*net, box);
  Vector dlo = Vector::Constant(d, -std::numeric_limits<double>::infinity());
  Vector dhi = Vector::Constant(d, std::numeric_limits<double>::infinity());
  if (b.enabled) {
    dlo = b.lower.size() ? b.lower : Vector::Constant(d, b.lo);
    dhi = b.upper.size() ? b.upper : Vector::Constant(d, b.hi);
  }
  Vector lo, hi;
  if (x) {
    if (!eps) throw Error("eps: give the radius of the ball around x");
    if (!(*eps >= 0) || !std::isfinite(*eps)) throw Error("eps must be a finite number >= 0");
    const Vector c = one_input(*net, *x, "x");
    lo = (c.array() - *eps).matrix().cwiseMax(dlo);
    hi = (c.array() + *eps).matrix().cwiseMin(dhi);
    for (Eigen::Index i = 0; i < d; ++i)
      if (lo[i] > hi[i])
        throw Error("x[" + std::to_string(i) + "] lies more than eps outside the box: the ball and the box do not meet");
  } else {
    if (eps) throw Error("eps needs x, the centre of the ball");
    if (!b.enabled) throw Error("give x and eps, or the box itself");
    lo = dlo;
    hi = dhi;
  }
  tessera::BoxBoundOptions o;
  o.method = *m;
  o.tolerance = tolerance;
  o.max_branches = max_branches;
  o.attack_steps = attack_steps;
  Stop stop;
  tessera::BoxBound r = interruptible<tessera::BoxBound>(
      [&](const std::atomic<bool>* cancel) {
        o.cancel = cancel;
        return tessera::bound_confidence(*net, lo, hi, o);
      },
      time_limit, stop);
  r.stop_reason = described(r.stop_reason, stop);
  nlohmann::json j = tessera::box_bound_json(r, true);
  j["model"] = net->source;
  return to_py(j);
}

py::object slice(const NetPtr& net, const Array& origin, const Array& e1, const Array& e2, std::vector<double> window,
                 const py::object& box, std::size_t max_regions, std::optional<double> time_limit) {
  const tessera::Plane2d plane{one_input(*net, origin, "origin"), one_input(*net, e1, "e1"), one_input(*net, e2, "e2")};
  if (window.size() != 4) throw Error("window: expected (u0, u1, v0, v1)");
  const tessera::SliceWindow w{window[0], window[1], window[2], window[3]};
  tessera::SliceOptions o;
  if (max_regions == 0) throw Error("max_regions must be at least 1");
  o.max_regions = max_regions;
  const BoxArgs b = box_args(*net, box);
  if (b.enabled) {
    o.box_lower = b.lower.size() ? b.lower : Vector::Constant(net->input_size(), b.lo);
    o.box_upper = b.upper.size() ? b.upper : Vector::Constant(net->input_size(), b.hi);
  }
  Stop stop;
  tessera::Slice2d s = interruptible<tessera::Slice2d>(
      [&](const std::atomic<bool>* cancel) {
        o.cancel = cancel;
        return tessera::slice_regions_2d(*net, plane, w, o);
      },
      time_limit, stop);
  s.stop_reason = described(s.stop_reason, stop);
  nlohmann::json j = s;
  j["model"] = net->source;
  j["window"] = {w.u0, w.u1, w.v0, w.v1};
  j["input_box"] = b.json;
  return to_py(j);
}

// A (count, d) C-order array: column-major d x count is the same memory.
py::array matrix_rows(Matrix m) {
  const py::ssize_t d = m.rows(), n = m.cols();
  auto* owner = new Matrix(std::move(m));
  py::capsule free(owner, [](void* p) { delete static_cast<Matrix*>(p); });
  return py::array_t<double>({n, d}, {d * static_cast<py::ssize_t>(sizeof(double)), static_cast<py::ssize_t>(sizeof(double))},
                             owner->data(), free);
}

}  // namespace

PYBIND11_MODULE(_tessera, m) {
  m.doc() = "C++ core of the tessera module (use `import tessera`).";
  g_main_thread = py::cast<unsigned long>(py::module_::import("threading").attr("main_thread")().attr("ident"));
  static py::exception<Error> error(m, "Error", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      error(e.what());
    }
  });

  py::class_<Network, std::shared_ptr<Network>>(m, "Network", "A loaded ReLU network (read-only; thread-safe).")
      .def_property_readonly("input_shape", [](const Network& n) { return py::tuple(py::cast(n.input_shape().dims)); },
                             "shape of one input, batch dimension excluded, e.g. (1, 28, 28)")
      .def_property_readonly("input_size", &Network::input_size, "number of input values d")
      .def_property_readonly("output_size", &Network::output_size, "number of classes K")
      .def_property_readonly("source", [](const Network& n) { return n.source; }, "where it was loaded from")
      .def_property_readonly("class_names", [](const Network& n) { return n.class_names; }, "class names, if the model has them")
      .def_property_readonly("parameter_count", &Network::parameter_count, "number of weights and biases")
      .def_property_readonly("has_laplace", [](const Network& n) { return static_cast<bool>(n.laplace); },
                             "whether the model carries a last-layer Laplace posterior (tessera laplace): then "
                             "affine() and certify() also report its predictive confidence and its limit")
      .def("__repr__", [](const Network& n) {
        return "<tessera.Network " + n.source + ": " + n.input_shape().str() + " -> " + std::to_string(n.output_size()) +
               " classes, " + std::to_string(n.parameter_count()) + " parameters>";
      });

  m.def("load", &load, py::arg("path"), py::arg("max_model_mb") = py::none());
  m.def("load_bytes", &load_bytes, py::arg("data"), py::arg("source"), py::arg("max_model_mb") = py::none());
  m.def("read_input", [](const NetPtr& net, const std::string& path, int row) {
    if (row < -1) throw Error("row must be >= 0 (or -1: the first)");
    Vector v;
    {
      py::gil_scoped_release nogil;
      v = tessera::read_input_for(net->input_shape(), path, row);
    }
    return py::cast(std::move(v));
  }, py::arg("net"), py::arg("path"), py::arg("row") = -1);
  m.def("uniform_noise", [](int d, int count, std::uint64_t seed, double lo, double hi) {
    if (count < 1) throw Error("count must be at least 1");
    if (!(lo < hi)) throw Error("box: lo must be < hi");
    tessera::check_memory(tessera::mul_or_neg(tessera::mul_or_neg(count, d), 8), "count " + std::to_string(count) + " inputs of " + std::to_string(d) + " values");
    return matrix_rows(tessera::uniform_noise(d, count, seed, lo, hi));
  }, py::arg("d"), py::arg("count"), py::arg("seed"), py::arg("lo"), py::arg("hi"));
  m.def("affine", &affine, py::arg("net"), py::arg("x"), py::arg("layers"));
  m.def("ray", &ray, py::arg("net"), py::arg("x"), py::arg("alpha0"), py::arg("max_segments"), py::arg("point_segments"),
        py::arg("time_limit"));
  m.def("line", &line, py::arg("net"), py::arg("x0"), py::arg("direction"), py::arg("t0"), py::arg("t1"),
        py::arg("max_segments"), py::arg("point_segments"), py::arg("time_limit"));
  m.def("certify_one", &certify_one, py::arg("net"), py::arg("x"), py::arg("threshold"), py::arg("box"),
        py::arg("alpha0"), py::arg("full"), py::arg("max_segments"), py::arg("time_limit"));
  m.def("certify_many", &certify_many, py::arg("net"), py::arg("X"), py::arg("threshold"), py::arg("box"),
        py::arg("alpha0"), py::arg("full"), py::arg("max_segments"), py::arg("threads"), py::arg("time_limit"));
  m.def("region", &region, py::arg("net"), py::arg("x"), py::arg("box"), py::arg("facets"), py::arg("confidence"),
        py::arg("max_lp_rows"), py::arg("time_limit"));
  m.def("slice", &slice, py::arg("net"), py::arg("origin"), py::arg("e1"), py::arg("e2"), py::arg("window"),
        py::arg("box"), py::arg("max_regions"), py::arg("time_limit"));
  m.def("bound", &bound, py::arg("net"), py::arg("x"), py::arg("eps"), py::arg("box"), py::arg("method"),
        py::arg("tolerance"), py::arg("max_branches"), py::arg("attack_steps"), py::arg("time_limit"));
  m.def("set_memory_budget", [](double mb) {
    tessera::set_memory_budget(tessera::parse_mebibytes(mebibytes_text(mb), "memory budget"));
  }, py::arg("mb"));
  m.def("memory_budget", [] { return static_cast<double>(tessera::memory_budget()) / (1024 * 1024); });
  m.def("_data_address", [](const Array& a) { return reinterpret_cast<std::uintptr_t>(a.data()); },
        "test helper: the address of the buffer C++ sees (equal to the array's own when no copy was made)");
}
