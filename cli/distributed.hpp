// Running one tessera command as several processes (MPI ranks), launched by
// mpirun, srun or any MPI launcher: the processes share a set of inputs and
// rank 0 merges their results and writes every output.
//
// MPI is started only when the process was launched by an MPI launcher (its
// environment says so); a plain `tessera certify ...` never touches MPI. In
// a build without MPI (-DTESSERA_MPI=OFF) the world is this process alone,
// and a launch of several ranks is refused (each would compute everything).
//
// Threads: rank 0 runs a thread that hands out work (WorkQueue); other ranks
// call MPI from their worker threads one at a time (a mutex), so the MPI
// library needs MPI_THREAD_SERIALIZED, which Open MPI and MPICH provide.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.hpp"

namespace tessera::cli {

class Ranks {
 public:
  // The processes of this job; starts MPI on the first call when launched by
  // an MPI launcher. Throws tessera::Error when the launch cannot work (a
  // build without MPI launched as several ranks, too little thread support).
  static Ranks& world();
  // Ends MPI (when it was started); called once by main() before it returns.
  static void finalize();
  // Ends every rank of the job with this exit status (MPI_Abort), after the
  // caller printed why; in a world of one, just exits.
  [[noreturn]] static void abort(int status);
  // Whether MPI was started (the world may still be one rank).
  static bool started();
  // How many processes a launcher (mpirun, srun) says it started, without
  // starting MPI: 0 when none did. For programs that must not run as
  // several ranks.
  static int announced();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }
  // Ranks on this machine; each uses its share of the machine's cores by
  // default (OpenMP's thread count is set so when MPI starts).
  int local_size() const { return local_size_; }
  // "rank 2 of 4", for messages; "" in a world of one.
  std::string label() const;
  // Throws tessera::Error for a command that does not share its work when
  // several ranks run it.
  void require_one(const std::string& command) const;

  // Collective (every rank calls it, in the same order): every rank's bytes,
  // in rank order, at rank 0; an empty list elsewhere.
  std::vector<std::string> gather(const std::string& bytes) const;
  // Collective: rank 0's bytes at every rank.
  std::string broadcast(const std::string& bytes) const;
  // Collective: the sum of a count over the ranks, at every rank.
  std::uint64_t sum(std::uint64_t value) const;

 private:
  Ranks() = default;
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

// The indices 0 .. n-1 of a set, handed out to whichever thread of
// whichever rank asks next, so long inputs and short ones balance out.
// Rank 0's threads take one index at a time from a shared counter; rank 0
// also runs a thread that answers the other ranks' requests, each with a
// run of indices that shrinks as the set runs out (guided scheduling: an
// eighth of what is left per rank, at most 64), so cheap inputs do not wait
// for a message each. Every rank constructs it
// (collectively) and calls close() after its last next().
class WorkQueue {
 public:
  WorkQueue(const Ranks& ranks, std::size_t n);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // The next index for this thread, or nullopt when none is left.
  // Thread-safe.
  std::optional<std::size_t> next();
  // Collective: this rank takes no more work (finished, or stopped early);
  // returns once every rank has closed (on rank 0) or at once (elsewhere).
  void close();
  // Indices handed out so far, over all ranks (rank 0's count; others know
  // only their own).
  std::size_t handed_out() const { return handed_.load(); }
  std::size_t size() const { return n_; }

 private:
  void serve();  // rank 0's answering thread
  const Ranks& ranks_;
  const std::size_t n_;
  std::atomic<std::size_t> counter_{0};  // rank 0: the next index
  std::atomic<std::size_t> handed_{0};
  std::mutex mutex_;                     // other ranks: one request at a time
  bool exhausted_ = false;               // other ranks: rank 0 said "none left"
  std::size_t pool_begin_ = 0, pool_end_ = 0;  // other ranks: the run of indices received, not yet taken
  bool closed_ = false;
  std::atomic<bool> abandon_{false};     // rank 0 leaving by an exception: the server stops
  std::thread server_;
};

// The parts of a shared set that one rank computed: its summary (bytes of a
// mergeable summary), its items (index in the set, the item's JSON text)
// and whether every input handed to it finished.
struct SetPart {
  std::string summary;
  std::vector<std::pair<std::int64_t, std::string>> items;
  bool complete = true;
  std::string stop_reason;  // why this rank stopped early ("" when it did not)
};

// Collective: every rank's part at rank 0, in rank order (other ranks get
// an empty list). A world of one gets its own part back.
std::vector<SetPart> gather_parts(const Ranks& ranks, const SetPart& mine);
// The items of all parts, in index order.
std::vector<std::pair<std::int64_t, std::string>> items_in_order(const std::vector<SetPart>& parts);
// Whether every part finished, and the first stop reason given.
bool all_complete(const std::vector<SetPart>& parts);
std::string first_stop_reason(const std::vector<SetPart>& parts);
// A mergeable summary (CertifySetSummary, BoxBoundSummary: write, read,
// merge) as a part's bytes, and the merge of every part's.
template <class Summary>
std::string summary_bytes(const Summary& summary) {
  ByteWriter w;
  summary.write(w);
  return w.take();
}
template <class Summary>
Summary merged_summary(const std::vector<SetPart>& parts) {
  Summary s;
  for (const SetPart& p : parts) {
    ByteReader r(p.summary);
    s.merge(Summary::read(r));
  }
  return s;
}

// Rank 0, under MPI: one line on stderr saying how the set was shared,
// "tessera CMD: 30 WHAT shared by 4 ranks: 8, 7, 8, 7" (items per rank).
void report_shares(const Ranks& ranks, const std::vector<SetPart>& parts, const std::string& command, const std::string& what);

}  // namespace tessera::cli
