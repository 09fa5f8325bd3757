// LibTorch's exceptions, for the programs' error report
// (cli::report_failure's ForeignErrorHook): cli/ never includes torch
// headers, so the training programs recognise c10::Error through this.
#pragma once

#include <c10/util/Exception.h>

#include <exception>
#include <optional>
#include <string>

namespace tessera::training {

// The first line of a c10::Error's message (without LibTorch's backtrace);
// std::nullopt for any other exception.
inline std::optional<std::string> libtorch_error_message(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  if (!c10) return std::nullopt;
  const std::string msg = c10->what_without_backtrace();
  return msg.substr(0, msg.find('\n'));
}

}  // namespace tessera::training
