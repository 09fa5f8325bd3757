// Data-parallel training over several processes with LibTorch's own
// distributed backend (c10d with Gloo, over TCP): every process holds the
// whole model, takes a share of every batch, and the gradients are summed
// over the processes before each step, so the parameters stay identical.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>

namespace tessera::training {

class DataParallel {
 public:
  // Joins the group the environment describes, as PyTorch's launchers set
  // it: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT. Under mpirun or srun,
  // OMPI_COMM_WORLD_RANK/SIZE or SLURM_PROCID/NTASKS stand in for RANK and
  // WORLD_SIZE (MASTER_ADDR and MASTER_PORT are still needed). Rank 0 serves
  // the rendezvous at MASTER_ADDR:MASTER_PORT. Throws tessera::Error naming
  // a missing or malformed variable, or when the group cannot form within
  // `timeout` (which also bounds every later exchange: a rank that died
  // ends the others with an error instead of a hang).
  static std::unique_ptr<DataParallel> from_environment(std::chrono::seconds timeout);
  DataParallel(int rank, int world, const std::string& master_addr, int master_port, std::chrono::seconds timeout);
  ~DataParallel();

  int rank() const { return rank_; }
  int world() const { return world_; }
  bool root() const { return rank_ == 0; }
  // "rank 1 of 2", for messages.
  std::string label() const;

  // Sums a tensor over the processes, in place (any device: moved through
  // the CPU).
  void sum(torch::Tensor& t);
  // Every parameter's gradient summed over the processes, in one exchange
  // (a parameter without a gradient counts as zero), with one number from
  // each process riding along: returns the sum of `extra` over them.
  double sum_gradients(torch::nn::Module& module, double extra = 0);
  // Rank 0's parameters and buffers everywhere.
  void broadcast_state(torch::nn::Module& module);
  // Whether any process says yes (a stop request seen by one of them).
  bool any(bool yes);

 private:
  struct Group;
  std::unique_ptr<Group> group_;
  int rank_ = 0, world_ = 1;
};

}  // namespace tessera::training
