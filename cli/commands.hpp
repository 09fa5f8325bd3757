// One function per subcommand; each parses its own options and returns an
// exit status (cli/common.hpp). tessera::Error escapes to main().
#pragma once

#include <string>
#include <vector>

namespace tessera::cli {

int run_info(const std::vector<std::string>& args);
int run_affine(const std::vector<std::string>& args);
int run_convert(const std::vector<std::string>& args);
int run_examples(const std::vector<std::string>& args);
int run_data(const std::vector<std::string>& args);
int run_ray(const std::vector<std::string>& args);
int run_certify(const std::vector<std::string>& args);
int run_bound(const std::vector<std::string>& args);
int run_slice(const std::vector<std::string>& args);
int run_region(const std::vector<std::string>& args);

}  // namespace tessera::cli
