#include "training/data_parallel.hpp"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>
#include <limits>
#include <optional>
#include <cerrno>

#include "core/error.hpp"

namespace tessera::training {

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

namespace {

// The first of the variables that is set, as a whole number in [lo, hi];
// nullopt when none is set.
std::optional<long> integer_variable(std::initializer_list<const char*> names, long lo, long hi) {
  for (const char* name : names) {
    const char* v = std::getenv(name);
    if (!v) continue;
    char* end = nullptr;
    errno = 0;
    const long x = std::strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
      throw Error(std::string("--distributed: ") + name + "='" + v + "' is not a whole number in [" + std::to_string(lo) +
                  ", " + std::to_string(hi) + "]");
    return x;
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<DataParallel> DataParallel::from_environment(std::chrono::seconds timeout) {
  const auto world = integer_variable({"WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS"}, 1, 1 << 20);
  if (!world)
    throw Error("--distributed: WORLD_SIZE is not set (start the processes with torchrun, mpirun or srun, or set RANK, "
                "WORLD_SIZE, MASTER_ADDR and MASTER_PORT yourself; docs/scale-out.md)");
  const auto rank = integer_variable({"RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"}, 0, *world - 1);
  if (!rank) throw Error("--distributed: RANK is not set (each process needs its rank, 0 .. WORLD_SIZE-1)");
  const char* addr = std::getenv("MASTER_ADDR");
  if (!addr || !*addr) throw Error("--distributed: MASTER_ADDR is not set (the host name or address of rank 0)");
  const auto port = integer_variable({"MASTER_PORT"}, 1, 65535);
  if (!port) throw Error("--distributed: MASTER_PORT is not set (a free TCP port on rank 0's host)");
  return std::make_unique<DataParallel>(static_cast<int>(*rank), static_cast<int>(*world), addr, static_cast<int>(*port),
                                        timeout);
}

DataParallel::DataParallel(int rank, int world, const std::string& master_addr, int master_port,
                           std::chrono::seconds timeout)
    : group_(std::make_unique<Group>()), rank_(rank), world_(world) {
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(master_port);
    store_options.isServer = rank == 0;
    store_options.numWorkers = world;
    store_options.waitWorkers = true;
    store_options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    group_->store = c10::make_intrusive<c10d::TCPStore>(master_addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create(std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
    // This host's interface toward rank 0 (loopback when it is this host).
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(master_addr));
    group_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, rank, world, options);
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    throw Error("--distributed: cannot join the group at " + master_addr + ":" + std::to_string(master_port) + " as " +
                "rank " + std::to_string(rank) + " of " + std::to_string(world) + ": " + what.substr(0, what.find('\n')));
  }
}

DataParallel::~DataParallel() = default;

std::string DataParallel::label() const { return "rank " + std::to_string(rank_) + " of " + std::to_string(world_); }

namespace {

// Runs one exchange; a failure (a process died, the network broke, the
// timeout passed) becomes one line that says what to do.
template <class F>
void exchange(const DataParallel& dp, F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    if (const auto bracket = what.find("] "); what.rfind("[", 0) == 0 && bracket != std::string::npos)
      what = what.substr(bracket + 2);  // Gloo's "[file:line] " prefix
    throw Error("--distributed: lost contact with the other processes (" + what + "); " + dp.label() +
                " stops. The run folder keeps its last checkpoint: continue with --resume");
  }
}

}  // namespace

void DataParallel::sum(torch::Tensor& t) {
  torch::Tensor host = t.device().is_cpu() ? t.contiguous() : t.to(torch::kCPU).contiguous();
  std::vector<at::Tensor> tensors{host};
  exchange(*this, [&] { group_->gloo->allreduce(tensors)->wait(); });
  if (!t.device().is_cpu() || !host.is_same(t)) t.copy_(host);
}

double DataParallel::sum_gradients(torch::nn::Module& module, double extra) {
  std::vector<torch::Tensor> parts;
  std::vector<torch::Tensor> params = module.parameters();
  for (const torch::Tensor& p : params)
    parts.push_back(p.grad().defined() ? p.grad().reshape(-1) : torch::zeros({p.numel()}, p.options()));
  const auto options = params.empty() ? torch::TensorOptions().dtype(torch::kFloat32) : params.front().options();
  parts.push_back(torch::full({1}, extra, options));
  torch::Tensor flat = torch::cat(parts);
  sum(flat);
  const double extras = flat[flat.size(0) - 1].item<double>();
  std::int64_t at = 0;
  for (torch::Tensor& p : params) {
    const torch::Tensor part = flat.narrow(0, at, p.numel()).view_as(p);
    if (p.grad().defined())
      p.mutable_grad().copy_(part);
    else
      p.mutable_grad() = part.clone();
    at += p.numel();
  }
  return extras;
}

void DataParallel::broadcast_state(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> all = module.parameters();
  for (const torch::Tensor& b : module.buffers()) all.push_back(b);
  for (torch::Tensor& t : all) {
    torch::Tensor host = t.to(torch::kCPU).contiguous();
    std::vector<at::Tensor> tensors{host};
    exchange(*this, [&] { group_->gloo->broadcast(tensors)->wait(); });
    t.copy_(host);
  }
}

bool DataParallel::any(bool yes) {
  torch::Tensor flag = torch::full({1}, yes ? 1.0 : 0.0, torch::kFloat64);
  sum(flag);
  return flag.item<double>() > 0;
}

}  // namespace tessera::training
