#include "io/file_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace tessera {

namespace {

// Temporary files of writes in progress, in fixed storage so that a signal
// handler can remove them without allocating.
constexpr int kSlots = 16;
constexpr int kPathMax = 4096;
char g_temp_paths[kSlots][kPathMax];
std::atomic<bool> g_temp_used[kSlots];
std::atomic<bool> g_temp_ready[kSlots];

int register_temp(const std::string& path) {
  if (path.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_temp_used[i].compare_exchange_strong(expected, true)) {
      std::memcpy(g_temp_paths[i], path.c_str(), path.size() + 1);
      g_temp_ready[i].store(true);
      return i;
    }
  }
  return -1;  // more than kSlots writes at once: this one is not tracked
}

void unregister_temp(int slot) {
  if (slot < 0) return;
  g_temp_ready[slot].store(false);
  g_temp_used[slot].store(false);
}

mode_t current_umask() {
  // umask(2) cannot be read without setting it (not thread-safe); Linux
  // reports it in /proc/self/status.
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::strtol(line.c_str() + 6, nullptr, 8));
  return 022;
}

std::string reason() { return std::strerror(errno); }

// Follows symbolic links (up to 40) to the path that is really written.
std::string resolve_links(std::string path) {
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
    if (n < 0) throw Error(path + ": cannot read the symbolic link: " + reason());
    target.resize(static_cast<size_t>(n));
    if (!target.empty() && target[0] != '/') {
      const auto slash = path.rfind('/');
      if (slash != std::string::npos) target = path.substr(0, slash + 1) + target;
    }
    path = target;
  }
  throw Error(path + ": too many levels of symbolic links");
}

// False (errno set) when a write fails.
bool write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string read_file(const std::string& path, long long max_bytes) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  if (max_bytes >= 0 && S_ISREG(st.st_mode) && st.st_size > max_bytes)
    throw Error(path + ": the file has " + std::to_string(st.st_size) + " bytes, more than the " +
                std::to_string(max_bytes) + " accepted here");
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw Error(path + ": read error");
  return s.str();
}

void check_output_path(const std::string& path) {
  if (path.empty() || path == "-") return;
  const std::string real = resolve_links(path);
  struct stat st;
  if (::stat(real.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error(path + ": is a directory; give a file name");
    if (!S_ISREG(st.st_mode)) {
      if (::access(real.c_str(), W_OK) != 0) throw Error(path + ": cannot write: " + reason());
      return;
    }
  }
  const auto slash = real.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : real.substr(0, slash));
  if (::stat(dir.c_str(), &st) != 0) throw Error(path + ": cannot write: folder " + dir + " does not exist");
  if (!S_ISDIR(st.st_mode)) throw Error(path + ": cannot write: " + dir + " is not a folder");
  if (::access(dir.c_str(), W_OK) != 0) throw Error(path + ": cannot write in folder " + dir + ": " + reason());
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string real = resolve_links(path);
  struct stat st;
  const bool exists = ::stat(real.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) throw Error(path + ": is a directory; give a file name");
  if (exists && !S_ISREG(st.st_mode)) {
    // A FIFO, device or socket cannot be replaced: write to it in place.
    const int fd = ::open(real.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot open for writing: " + reason());
    if (!write_all(fd, bytes)) {
      const std::string why = reason();
      ::close(fd);
      throw Error(path + ": write failed: " + why);
    }
    if (::close(fd) != 0) throw Error(path + ": write failed: " + reason());
    return;
  }
  const mode_t mode = exists ? (st.st_mode & 07777) : (0666 & ~current_umask());
  std::string tmp = real + ".tmp.XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) throw Error(path + ": cannot create a temporary file next to it: " + reason());
  const int slot = register_temp(tmp);
  // For the tests of signal cleanup only: hold the temporary file open for
  // two seconds, so that a signal lands while it exists.
  static const bool slow_for_tests = std::getenv("TESSERA_TEST_SLOW_WRITE") != nullptr;
  if (slow_for_tests) std::this_thread::sleep_for(std::chrono::seconds(2));  // not cut short by signals
  auto fail = [&](const std::string& what) {
    const std::string why = reason();
    ::close(fd);
    ::unlink(tmp.c_str());
    unregister_temp(slot);
    throw Error(path + ": " + what + ": " + why);
  };
  if (!write_all(fd, bytes)) fail("write failed");
  if (::fchmod(fd, mode) != 0) fail("cannot set the file's permissions");
  if (::fsync(fd) != 0) fail("write failed");
  if (::close(fd) != 0) {
    const std::string why = reason();
    ::unlink(tmp.c_str());
    unregister_temp(slot);
    throw Error(path + ": write failed: " + why);
  }
  if (std::rename(tmp.c_str(), real.c_str()) != 0) {
    const std::string why = reason();
    ::unlink(tmp.c_str());
    unregister_temp(slot);
    throw Error(path + ": cannot replace: " + why);
  }
  unregister_temp(slot);
}

void write_stdout(const std::string& bytes) {
  std::fflush(stdout);
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size())
    throw Error("standard output: write failed: " + reason());
  if (std::fflush(stdout) != 0) throw Error("standard output: write failed: " + reason());
}

void remove_temporary_files_now() {
  for (int i = 0; i < kSlots; ++i)
    if (g_temp_ready[i].load()) ::unlink(g_temp_paths[i]);
}

}  // namespace tessera
