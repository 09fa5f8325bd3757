// Limits that every long computation shares: a memory budget checked before
// large allocations, and overflow-checked size arithmetic.
//
// The budget is one number for the whole process (bytes). It defaults to
// TESSERA_MAX_MEMORY_MB when set, else half of the machine's physical memory;
// the command-line tools set it from --max-memory. It is an estimate checked
// *before* allocating: a model, data file, slice or table whose estimated
// size exceeds it is refused with a one-line tessera::Error naming what and
// how much, instead of exhausting the machine.
#pragma once

#include <cstdint>
#include <string>

namespace tessera {

// The current budget in bytes (> 0).
std::int64_t memory_budget();
// Sets it (bytes > 0); throws tessera::Error otherwise.
void set_memory_budget(std::int64_t bytes);
// Parses a number of MiB ("512", "1.5e3"); throws tessera::Error naming
// `what` (the option or variable) when it is not a positive number.
std::int64_t parse_mebibytes(const std::string& text, const std::string& what);
// The default budget: TESSERA_MAX_MEMORY_MB, else half of physical memory.
std::int64_t default_memory_budget();

// Throws tessera::Error "WHAT needs N MiB, over the memory budget of M MiB
// (--max-memory / TESSERA_MAX_MEMORY_MB)" when bytes exceeds the budget (or
// is negative, meaning an overflowed estimate).
void check_memory(std::int64_t bytes, const std::string& what);

// "3.4 GiB", "512 MiB", "12 KiB": a size for messages.
std::string format_bytes(std::int64_t bytes);

// a * b, or -1 when either is negative or the product overflows int64.
std::int64_t mul_or_neg(std::int64_t a, std::int64_t b);
// a + b, or -1 when either is negative or the sum overflows int64.
std::int64_t add_or_neg(std::int64_t a, std::int64_t b);

}  // namespace tessera
