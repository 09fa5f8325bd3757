// Reading and atomically writing whole files.
#pragma once

#include <string>

namespace tessera {

// The bytes of a file; throws tessera::Error "PATH: cannot open: REASON",
// "PATH: is a directory", or (with max_bytes >= 0) "PATH: is larger than ..."
// before reading a file bigger than max_bytes.
std::string read_file(const std::string& path, long long max_bytes = -1);

// Writes `bytes` to `path` so that no reader and no crash ever sees a
// half-written file:
//  - a regular file (or a new one) is written to a temporary file next to it,
//    flushed to disk and renamed over it; an existing file keeps its
//    permissions, a new one gets 0666 minus the umask;
//  - a symbolic link is followed: its target is replaced, the link stays;
//  - a FIFO, character device or socket (/dev/stdout, a named pipe) is
//    written in place, since it cannot be replaced.
// The temporary file is removed on error and, through
// remove_temporary_files_now(), when a signal ends the process. Throws
// tessera::Error naming the path and the reason; any old file is untouched.
void write_file_atomically(const std::string& path, const std::string& bytes);

// Throws tessera::Error unless `path` could be written: its folder exists
// and is writable, and it is not a folder itself. Commands call it for every
// output path before they start computing.
void check_output_path(const std::string& path);

// Writes to standard output and flushes; throws tessera::Error
// "standard output: write failed: REASON" (a full disk, a closed pipe).
void write_stdout(const std::string& bytes);

// Removes the temporary files of writes in progress. Async-signal-safe: for
// signal handlers and watchdogs that end the process.
void remove_temporary_files_now();

}  // namespace tessera
