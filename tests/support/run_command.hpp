// Runs a shell command line for the command-line tests: its exit status,
// stdout, and stderr (through a temporary file, so that both can be long).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace tessera::test {

struct CommandResult {
  int status = -1;  // the exit status, -1 when killed by a signal
  std::string out, err;
};

// command_line runs in /bin/sh; its stderr is captured, so it must not
// redirect stderr itself. tag names the temporary file (one per test program).
inline CommandResult run_command(const std::string& command_line, const std::string& tag) {
  const std::string err_file =
      (std::filesystem::temp_directory_path() / ("tessera_" + tag + "_err_" + std::to_string(::getpid()))).string();
  const std::string cmd = command_line + " 2>'" + err_file + "'";
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(err_file);
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  std::filesystem::remove(err_file);
  return r;
}

}  // namespace tessera::test
