// The error handling shared by tessera-train and tessera-eval: call from a
// catch (...) block; prints one line naming the command and returns the
// exit status (cli/common.hpp).
#pragma once

#include <torch/torch.h>

#include <boost/program_options/errors.hpp>
#include <iostream>
#include <new>
#include <string>

#include "cli/common.hpp"
#include "core/error.hpp"

namespace tessera::training {

inline int report_failure(const std::string& command) {
  const std::string who = "tessera " + command;
  try {
    throw;
  } catch (const Error& e) {
    std::cerr << who << ": error: " << e.what() << "\n";
    return cli::kBadInput;
  } catch (const boost::program_options::error& e) {
    std::cerr << who << ": usage error: " << e.what() << " (see " << who << " --help)\n";
    return cli::kUsage;
  } catch (const std::bad_alloc&) {
    std::cerr << who << ": error: out of memory\n";
    return cli::kBadInput;
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    std::cerr << who << ": internal error (LibTorch): " << msg.substr(0, msg.find('\n')) << "\n";
    return cli::kInternal;
  } catch (const std::exception& e) {
    std::cerr << who << ": internal error: " << e.what() << "\n";
    return cli::kInternal;
  }
}

}  // namespace tessera::training
