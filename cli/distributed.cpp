#include "cli/distributed.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <exception>
#include <iostream>

#include <omp.h>

#include "core/bytes.hpp"
#include "core/error.hpp"

#ifdef TESSERA_WITH_MPI
// The C interface only (not the deprecated C++ bindings, which need their
// own library).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace tessera::cli {

namespace {

bool g_started = false;

// The number of ranks an MPI launcher announced in the environment (Open
// MPI's mpirun, MPICH's Hydra, SLURM's srun with PMI or PMIx); 0 when this
// process was not launched by one.
int launched_ranks_raw() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    if (const char* v = std::getenv(name)) {
      const int n = std::atoi(v);
      if (n > 0) return n;
    }
  }
  if (std::getenv("PMIX_RANK") || std::getenv("PMI_RANK")) return 1;  // a launcher, size unknown yet
  return 0;
}

// Tasks of a SLURM job step (srun), which may run without MPI's knowledge
// (srun without --mpi=pmix); 0 outside srun.
int slurm_tasks() {
  const char* v = std::getenv("SLURM_STEP_NUM_TASKS");
  return v ? std::max(0, std::atoi(v)) : 0;
}

#ifdef TESSERA_WITH_MPI
constexpr int kTagRequest = 7101, kTagReply = 7102, kTagData = 7103;
constexpr std::uint64_t kWantWork = 0, kDone = 1;
constexpr std::uint64_t kNoneLeft = ~std::uint64_t{0};  // the reply when the set is done (whatever its size here)
constexpr std::uint64_t kChunk = std::uint64_t{1} << 30;  // bytes per message: MPI counts are ints

// Waits for a request without holding a core: Open MPI's blocking receive
// spins, which would take a core from this rank's worker threads.
bool wait_politely(MPI_Request* request, MPI_Status* status, const std::atomic<bool>* abandon = nullptr) {
  int done = 0;
  auto pause = std::chrono::microseconds(5);
  while (true) {
    if (abandon && abandon->load()) return false;
    MPI_Test(request, &done, status);
    if (done) return true;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(500));
  }
}

// Sends without spinning: a large message waits until rank 0 takes it,
// which may be long after this rank finished its share.
void send_bytes(const std::string& bytes, int to) {
  const std::uint64_t n = bytes.size();
  MPI_Request request;
  MPI_Status status;
  MPI_Isend(&n, 1, MPI_UINT64_T, to, kTagData, MPI_COMM_WORLD, &request);
  wait_politely(&request, &status);
  for (std::uint64_t at = 0; at < n; at += kChunk) {
    MPI_Isend(bytes.data() + at, static_cast<int>(std::min(kChunk, n - at)), MPI_CHAR, to, kTagData, MPI_COMM_WORLD,
              &request);
    wait_politely(&request, &status);
  }
}

std::string receive_bytes(int from) {
  std::uint64_t n = 0;
  MPI_Request request;
  MPI_Status status;
  MPI_Irecv(&n, 1, MPI_UINT64_T, from, kTagData, MPI_COMM_WORLD, &request);
  wait_politely(&request, &status);
  std::string bytes(n, '\0');
  for (std::uint64_t at = 0; at < n; at += kChunk) {
    MPI_Irecv(bytes.data() + at, static_cast<int>(std::min(kChunk, n - at)), MPI_CHAR, from, kTagData, MPI_COMM_WORLD,
              &request);
    wait_politely(&request, &status);
  }
  return bytes;
}
#endif

}  // namespace

int Ranks::announced() { return std::max(launched_ranks_raw(), slurm_tasks()); }

Ranks& Ranks::world() {
  static Ranks w;
  static bool asked = false;
  if (asked) return w;
  asked = true;
  const int announced = launched_ranks_raw();
  if (announced == 0) {
    // srun started several tasks but no MPI launcher speaks: each would
    // compute the whole set and write the same files.
    if (slurm_tasks() > 1)
      throw Error("srun started " + std::to_string(slurm_tasks()) +
                  " tasks but MPI cannot see them (no PMI): run srun --mpi=pmix, or one task");
    return w;
  }
#ifdef TESSERA_WITH_MPI
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
    throw Error("MPI: MPI_Init_thread failed (launched by an MPI launcher, but MPI could not start)");
  g_started = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size_);
  if (provided < MPI_THREAD_SERIALIZED && w.size_ > 1)
    throw Error("MPI: this MPI library does not support calls from several threads (MPI_THREAD_SERIALIZED), which "
                "sharing a set needs");
  // Ranks on one machine share its cores: each takes its part unless the
  // launcher already bound it to fewer cores than the machine has, or the
  // user set OMP_NUM_THREADS. (Idle OpenMP threads spin for a while, so
  // ranks that each took every core ran 30 times slower, measured on two
  // cores with four ranks.)
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, w.rank_, MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &w.local_size_);
  MPI_Comm_free(&local);
  if (!std::getenv("OMP_NUM_THREADS")) {
    int threads = omp_get_max_threads();  // the cores this process may run on
    const int machine = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (threads >= machine) threads = std::max(1, threads / w.local_size_);
    omp_set_num_threads(threads);
  }
#else
  if (announced > 1)
    throw Error("launched as " + std::to_string(announced) +
                " MPI processes, but this tessera was built without MPI: each process would compute the whole set; "
                "configure with -DTESSERA_MPI=ON (needs libopenmpi-dev) or run one process");
#endif
  return w;
}

bool Ranks::started() { return g_started; }

void Ranks::finalize() {
#ifdef TESSERA_WITH_MPI
  if (g_started) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
#endif
}

void Ranks::abort(int status) {
  std::cout.flush();
  std::cerr.flush();
#ifdef TESSERA_WITH_MPI
  if (g_started) MPI_Abort(MPI_COMM_WORLD, status);
#endif
  std::exit(status);
}

std::string Ranks::label() const {
  return size_ > 1 ? "rank " + std::to_string(rank_) + " of " + std::to_string(size_) : std::string();
}

void Ranks::require_one(const std::string& command) const {
  if (size_ > 1)
    throw Error("tessera " + command + " does not share its work between MPI ranks (certify, bound, eval and ray "
                "with several lines do): run it as one process, not under mpirun -np " + std::to_string(size_));
}

std::vector<std::string> Ranks::gather(const std::string& bytes) const {
  if (size_ == 1) return {bytes};
#ifdef TESSERA_WITH_MPI
  if (!root()) {
    send_bytes(bytes, 0);
    return {};
  }
  std::vector<std::string> all(size_);
  all[0] = bytes;
  for (int r = 1; r < size_; ++r) all[r] = receive_bytes(r);
  return all;
#else
  return {bytes};
#endif
}

std::string Ranks::broadcast(const std::string& bytes) const {
  if (size_ == 1) return bytes;
#ifdef TESSERA_WITH_MPI
  if (root()) {
    for (int r = 1; r < size_; ++r) send_bytes(bytes, r);
    return bytes;
  }
  return receive_bytes(0);
#else
  return bytes;
#endif
}

std::uint64_t Ranks::sum(std::uint64_t value) const {
  if (size_ == 1) return value;
#ifdef TESSERA_WITH_MPI
  std::uint64_t total = 0;
  MPI_Allreduce(&value, &total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  return total;
#else
  return value;
#endif
}

WorkQueue::WorkQueue(const Ranks& ranks, std::size_t n) : ranks_(ranks), n_(n) {
#ifdef TESSERA_WITH_MPI
  if (ranks_.distributed() && ranks_.root()) server_ = std::thread([this] { serve(); });
#endif
}

WorkQueue::~WorkQueue() {
  // Left by an exception: rank 0 is about to end the job (MPI_Abort) with
  // its message, and must not first wait for every other rank to finish.
  if (std::uncaught_exceptions() > 0 && server_.joinable()) {
    abandon_ = true;  // the server stops within a poll, and stops calling MPI
    server_.join();
    return;
  }
  try {
    close();
  } catch (...) {
  }
}

std::optional<std::size_t> WorkQueue::next() {
  if (!ranks_.distributed() || ranks_.root()) {
    const std::size_t i = counter_.fetch_add(1);
    if (i >= n_) return std::nullopt;
    ++handed_;
    return i;
  }
#ifdef TESSERA_WITH_MPI
  std::lock_guard<std::mutex> lock(mutex_);
  if (pool_begin_ < pool_end_) {
    ++handed_;
    return pool_begin_++;
  }
  if (exhausted_ || closed_) return std::nullopt;
  MPI_Send(&kWantWork, 1, MPI_UINT64_T, 0, kTagRequest, MPI_COMM_WORLD);
  std::uint64_t reply[2] = {0, 0};  // a run [begin, end) of indices; begin >= n: none left
  MPI_Request request;
  MPI_Status status;
  MPI_Irecv(reply, 2, MPI_UINT64_T, 0, kTagReply, MPI_COMM_WORLD, &request);
  wait_politely(&request, &status);
  if (reply[0] == kNoneLeft || reply[0] >= n_) {
    exhausted_ = true;
    return std::nullopt;
  }
  pool_begin_ = static_cast<std::size_t>(reply[0]) + 1;
  pool_end_ = static_cast<std::size_t>(reply[1]);
  ++handed_;
  return static_cast<std::size_t>(reply[0]);
#else
  return std::nullopt;
#endif
}

void WorkQueue::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  closed_ = true;
  if (!ranks_.distributed()) return;
#ifdef TESSERA_WITH_MPI
  if (ranks_.root()) {
    if (server_.joinable()) server_.join();
  } else if (!exhausted_) {
    MPI_Send(&kDone, 1, MPI_UINT64_T, 0, kTagRequest, MPI_COMM_WORLD);
  }
#endif
}

void WorkQueue::serve() {
#ifdef TESSERA_WITH_MPI
  int open = ranks_.size() - 1;  // ranks that may still ask
  while (open > 0) {
    std::uint64_t message = 0;
    MPI_Request request;
    MPI_Status status;
    MPI_Irecv(&message, 1, MPI_UINT64_T, MPI_ANY_SOURCE, kTagRequest, MPI_COMM_WORLD, &request);
    if (!wait_politely(&request, &status, &abandon_)) return;  // rank 0 is ending the job
    if (message == kDone) {
      --open;
      continue;
    }
    // Guided: an eighth of what is left per rank, between 1 and 64.
    const std::size_t taken = counter_.load();
    const std::size_t left = taken < n_ ? n_ - taken : 0;
    const std::size_t run = std::clamp<std::size_t>(left / (8 * static_cast<std::size_t>(ranks_.size())), 1, 64);
    const std::size_t begin = counter_.fetch_add(run);
    const std::size_t end = std::min(begin + run, n_);
    std::uint64_t reply[2] = {begin < n_ ? begin : kNoneLeft, end};
    if (begin < n_)
      handed_ += end - begin;
    else
      --open;  // told "none left": it asks no more
    MPI_Send(reply, 2, MPI_UINT64_T, status.MPI_SOURCE, kTagReply, MPI_COMM_WORLD);
  }
#endif
}

std::vector<SetPart> gather_parts(const Ranks& ranks, const SetPart& mine) {
  if (!ranks.distributed()) return {mine};
  ByteWriter w;
  w.put_string(mine.summary);
  w.put<std::uint8_t>(mine.complete);
  w.put_string(mine.stop_reason);
  w.put<std::uint64_t>(mine.items.size());
  for (const auto& [index, text] : mine.items) {
    w.put<std::int64_t>(index);
    w.put_string(text);
  }
  const std::vector<std::string> all = ranks.gather(w.take());
  std::vector<SetPart> parts;
  for (const std::string& bytes : all) {
    ByteReader r(bytes);
    SetPart p;
    p.summary = r.get_string();
    p.complete = r.get<std::uint8_t>() != 0;
    p.stop_reason = r.get_string();
    const auto n = r.get<std::uint64_t>();
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto index = r.get<std::int64_t>();
      p.items.emplace_back(index, r.get_string());
    }
    parts.push_back(std::move(p));
  }
  return parts;
}

bool all_complete(const std::vector<SetPart>& parts) {
  return std::all_of(parts.begin(), parts.end(), [](const SetPart& p) { return p.complete; });
}

std::string first_stop_reason(const std::vector<SetPart>& parts) {
  for (const SetPart& p : parts)
    if (!p.stop_reason.empty()) return p.stop_reason;
  return "";
}

void report_shares(const Ranks& ranks, const std::vector<SetPart>& parts, const std::string& command, const std::string& what) {
  if (!ranks.distributed() || !ranks.root()) return;
  std::size_t total = 0;
  std::string shares;
  for (const SetPart& p : parts) {
    total += p.items.size();
    shares += (shares.empty() ? "" : ", ") + std::to_string(p.items.size());
  }
  std::cerr << ("tessera " + command + ": " + std::to_string(total) + " " + what + " shared by " +
                std::to_string(ranks.size()) + " ranks: " + shares + "\n")
            << std::flush;
}

std::vector<std::pair<std::int64_t, std::string>> items_in_order(const std::vector<SetPart>& parts) {
  std::vector<std::pair<std::int64_t, std::string>> items;
  for (const SetPart& p : parts) items.insert(items.end(), p.items.begin(), p.items.end());
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return items;
}

}  // namespace tessera::cli
