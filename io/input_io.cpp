#include "io/input_io.hpp"

#include <png.h>
#include <zlib.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "io/file_util.hpp"
#include "core/limits.hpp"

namespace tessera {

namespace {

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// A token for an error message: at most 40 characters, control and
// non-ASCII bytes as \xNN.
std::string quoted(const std::string& token) {
  std::string out;
  for (size_t i = 0; i < token.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  if (token.size() > 40) out += "... (" + std::to_string(token.size()) + " characters)";
  return out;
}

bool starts_with(const std::string& s, const char* prefix, size_t n) {
  return s.size() >= n && std::memcmp(s.data(), prefix, n) == 0;
}

// Refuses an image whose size cannot fit the model's input, from its header.
void check_image_size(const std::string& path, int C, std::int64_t H, std::int64_t W, const Shape* expected) {
  if (!expected) return;
  const std::int64_t n = C * H * W;
  const bool fits = (expected->dims.size() == 3 && ((expected->dims[0] == C && expected->dims[1] == H &&
                                                      expected->dims[2] == W) ||
                                                     (expected->dims[0] == H && expected->dims[1] == W &&
                                                      expected->dims[2] == C))) ||
                    (expected->dims.size() == 1 && expected->size() == n);
  if (!fits)
    throw Error(path + ": the image is " + std::to_string(C) + "x" + std::to_string(H) + "x" + std::to_string(W) +
                " (channels x height x width) but the model expects " + expected->str());
}

Image read_png(const std::string& path, const std::string& bytes, const Shape* expected) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size()))
    throw Error(path + ": not a readable PNG image (" + img.message + ")");
  const bool color = (img.format & PNG_FORMAT_FLAG_COLOR) != 0;
  if (static_cast<std::int64_t>(img.width) * img.height > (std::int64_t{1} << 26)) {
    png_image_free(&img);
    throw Error(path + ": image of " + std::to_string(img.width) + "x" + std::to_string(img.height) + " pixels is too large");
  }
  try {
    check_image_size(path, color ? 3 : 1, img.height, img.width, expected);
    // Decoded bytes plus the values in double precision.
    check_memory(mul_or_neg(static_cast<std::int64_t>(img.width) * img.height, (color ? 3 : 1) * (2 + 8)),
                 path + ": decoding an image of " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                     " pixels");
  } catch (...) {
    png_image_free(&img);
    throw;
  }
  // Keep 16-bit files' values as stored (no gamma conversion); alpha is
  // composed onto black by libpng's simplified reader.
  img.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  img.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  const int C = color ? 3 : 1;
  std::vector<unsigned char> pixels(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, pixels.data(), 0, nullptr)) {
    const std::string msg = img.message;
    png_image_free(&img);
    throw Error(path + ": corrupt PNG image (" + msg + ")");
  }
  Image out;
  out.channels = C;
  out.height = static_cast<int>(img.height);
  out.width = static_cast<int>(img.width);
  out.values.resize(static_cast<Eigen::Index>(C) * out.height * out.width);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      for (int c = 0; c < C; ++c)
        out.values[(static_cast<Eigen::Index>(c) * out.height + y) * out.width + x] =
            pixels[(static_cast<size_t>(y) * out.width + x) * C + c] / 255.0;
  return out;
}

Image read_pgm(const std::string& path, const std::string& bytes, const Shape* expected) {
  // Header: magic, width, height, maxval, separated by whitespace and comments.
  size_t pos = 2;
  auto next_int = [&](const char* what) {
    while (pos < bytes.size()) {
      if (bytes[pos] == '#') {
        while (pos < bytes.size() && bytes[pos] != '\n') ++pos;
      } else if (std::isspace(static_cast<unsigned char>(bytes[pos]))) {
        ++pos;
      } else {
        break;
      }
    }
    long v = 0;
    size_t start = pos;
    while (pos < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[pos])) && v < 1000000)
      v = v * 10 + (bytes[pos++] - '0');
    if (pos == start || v <= 0 || v >= 1000000) throw Error(path + ": bad PGM header (" + what + ")");
    return static_cast<int>(v);
  };
  const bool binary = bytes[1] == '5';
  Image out;
  out.channels = 1;
  out.width = next_int("width");
  out.height = next_int("height");
  const int maxval = next_int("maxval");
  if (maxval > 65535) throw Error(path + ": bad PGM header (maxval)");
  check_image_size(path, 1, out.height, out.width, expected);
  const std::int64_t n = static_cast<std::int64_t>(out.width) * out.height;
  const std::int64_t available = static_cast<std::int64_t>(bytes.size());
  if (binary ? available < n : available < n * 2 - 1)  // at least one byte / digit+space per pixel
    throw Error(path + ": truncated PGM image (expected " + std::to_string(n) + " pixels)");
  out.values.resize(n);
  if (binary) {
    ++pos;  // the single whitespace after maxval
    const int bpp = maxval < 256 ? 1 : 2;
    if (static_cast<std::int64_t>(bytes.size() - std::min(pos, bytes.size())) < n * bpp)
      throw Error(path + ": truncated PGM image (expected " + std::to_string(n) + " pixels)");
    for (std::int64_t i = 0; i < n; ++i) {
      const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos + i * bpp);
      const int v = bpp == 1 ? p[0] : (p[0] << 8) | p[1];
      out.values[i] = std::min(v, maxval) / static_cast<double>(maxval);
    }
  } else {
    std::istringstream s(bytes.substr(pos));
    for (std::int64_t i = 0; i < n; ++i) {
      long v;
      if (!(s >> v)) throw Error(path + ": truncated PGM image (pixel " + std::to_string(i) + " missing)");
      if (v < 0 || v > maxval) throw Error(path + ": PGM pixel " + std::to_string(i) + " outside [0, maxval]");
      out.values[i] = v / static_cast<double>(maxval);
    }
  }
  return out;
}

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

void gz_read_exact(gzFile f, void* buf, std::int64_t n, const std::string& path, const char* what) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::int64_t>(n, 1 << 30));
    const int got = gzread(f, p, chunk);
    if (got <= 0) throw Error(path + ": truncated IDX file (" + what + ")");
    p += got;
    n -= got;
  }
}

bool looks_like_idx(const std::string& path, const std::string& head) {
  if (starts_with(head, "\x1f\x8b", 2)) return true;  // gzip: only IDX is read gzipped
  if (head.size() >= 4 && head[0] == 0 && head[1] == 0) {
    const unsigned char t = static_cast<unsigned char>(head[2]);
    return t == 0x08 || t == 0x09 || t == 0x0B || t == 0x0C || t == 0x0D || t == 0x0E;
  }
  (void)path;
  return false;
}

}  // namespace

std::int64_t IdxArray::item_size() const {
  std::int64_t n = 1;
  for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

namespace {
struct IdxHead {
  IdxArray array;
  int elem = 0;
  std::int64_t item = 0;
};

IdxHead read_header(gzFile f, const std::string& path) {
  unsigned char magic[4];
  gz_read_exact(f, magic, 4, path, "header");
  const int type = magic[2], ndim = magic[3];
  int elem = 0;
  switch (type) {
    case 0x08: case 0x09: elem = 1; break;
    case 0x0B: elem = 2; break;
    case 0x0C: case 0x0D: elem = 4; break;
    case 0x0E: elem = 8; break;
    default: break;
  }
  if (magic[0] != 0 || magic[1] != 0 || elem == 0 || ndim < 1 || ndim > 8) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", magic[0], magic[1], magic[2], magic[3]);
    throw Error(path + ": not an IDX file (magic number 0x" + hex + "; expected 0x0000TTNN with type TT 08, 09, 0B, "
                "0C, 0D or 0E and 1 to 8 dimensions NN)");
  }
  IdxArray a;
  a.type = type;
  for (int i = 0; i < ndim; ++i) {
    unsigned char b[4];
    gz_read_exact(f, b, 4, path, "dimensions");
    const std::uint32_t d = (std::uint32_t{b[0]} << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
    if (d > (1u << 30)) throw Error(path + ": IDX dimension " + std::to_string(i) + " is implausibly large");
    a.dims.push_back(static_cast<int>(d));
  }
  std::int64_t item = 1;
  for (size_t i = 1; i < a.dims.size(); ++i) {
    item *= a.dims[i];
    if (item > (std::int64_t{1} << 28)) throw Error(path + ": IDX items of more than 2^28 values are not supported");
  }
  // A zero dimension after the first makes every item empty: nothing to read,
  // however many items the header claims (and reading them would take forever).
  if (item == 0) throw Error(path + ": the IDX items hold no values (a dimension after the first is 0)");
  return IdxHead{a, elem, item};
}
}  // namespace

IdxArray read_idx_header(const std::string& path) {
  if (is_directory(path)) throw Error(path + ": is a directory, not a file");
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
  return read_header(f.get(), path).array;
}

std::int64_t IdxBytes::item_size() const {
  std::int64_t n = 1;
  for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

IdxBytes read_idx_bytes(const std::string& path) {
  if (is_directory(path)) throw Error(path + ": is a directory, not a file");
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
  IdxHead head = read_header(f.get(), path);
  if (head.array.type != 0x08) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", head.array.type);
    throw Error(path + ": expected unsigned bytes (IDX type 0x08), found type " + hex);
  }
  IdxBytes out;
  out.dims = head.array.dims;
  const std::int64_t total = mul_or_neg(head.item, out.dims[0]);
  check_memory(total, path + ": " + std::to_string(out.dims[0]) + " items of " + std::to_string(head.item) + " bytes");
  // Memory grows with the data actually read (a header may claim more than
  // the file holds).
  std::int64_t have = 0;
  while (have < total) {
    const std::int64_t chunk = std::min<std::int64_t>(total - have, std::int64_t{1} << 24);
    out.bytes.resize(static_cast<size_t>(have + chunk));
    const int got = gzread(f.get(), out.bytes.data() + have, static_cast<unsigned>(chunk));
    if (got < 0) throw Error(path + ": read failed after " + std::to_string(have) + " bytes of data");
    have += got;
    if (got < chunk)
      throw Error(path + ": truncated: the header declares " + std::to_string(out.dims[0]) + " items of " +
                  std::to_string(head.item) + " bytes (" + std::to_string(total) + " bytes of data) but the data ends after " +
                  std::to_string(have) + " bytes");
  }
  return out;
}

IdxArray read_idx(const std::string& path, std::int64_t first, std::int64_t count, bool scale_bytes,
                  std::int64_t expected_item_size) {
  if (is_directory(path)) throw Error(path + ": is a directory, not a file");
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throw Error(path + ": cannot open: " + std::strerror(errno));
  IdxHead head = read_header(f.get(), path);
  IdxArray a = std::move(head.array);
  const int type = a.type, elem = head.elem;
  const std::int64_t item = head.item;
  if (expected_item_size >= 0 && item != expected_item_size) {
    std::string shape;
    for (size_t i = 1; i < a.dims.size(); ++i) shape += (i > 1 ? "x" : "") + std::to_string(a.dims[i]);
    throw Error(path + ": items have " + std::to_string(item) + " values (" + shape + ") but " +
                std::to_string(expected_item_size) + " are expected");
  }
  const std::int64_t items = a.dims[0];
  if (count < 0) count = items - first;
  if (first < 0 || first >= items || first + count > items)
    throw Error(path + ": row " + std::to_string(first + (count > 1 ? count - 1 : 0)) + " out of range (the file has " +
                std::to_string(items) + " items)");
  if (item * count > (std::int64_t{1} << 32)) throw Error(path + ": too many values requested at once");
  check_memory(mul_or_neg(item * count, 8), path + ": " + std::to_string(count) + " items of " + std::to_string(item) +
                                               " values");
  // Memory grows only with data actually read: a header may declare far more
  // than the (possibly gzipped) file holds, and must not make us allocate it.
  std::vector<unsigned char> buf;
  const std::int64_t item_bytes = item * elem;
  auto read_item = [&] {
    std::int64_t have = 0;
    while (have < item_bytes) {
      const std::int64_t chunk = std::min<std::int64_t>(item_bytes - have, std::int64_t{1} << 20);
      if (static_cast<std::int64_t>(buf.size()) < have + chunk) buf.resize(static_cast<size_t>(have + chunk));
      gz_read_exact(f.get(), buf.data() + have, chunk, path, "data");
      have += chunk;
    }
  };
  // Skip to the first requested item.
  for (std::int64_t i = 0; i < first; ++i) read_item();
  a.dims[0] = static_cast<int>(count);
  a.values.reserve(static_cast<size_t>(std::min<std::int64_t>(item * count, std::int64_t{1} << 20)));
  for (std::int64_t r = 0; r < count; ++r) {
    read_item();
    for (std::int64_t j = 0; j < item; ++j) {
      const unsigned char* p = buf.data() + j * elem;
      double v = 0;
      switch (type) {
        case 0x08: v = scale_bytes ? p[0] / 255.0 : p[0]; break;
        case 0x09: v = static_cast<signed char>(p[0]); break;
        case 0x0B: v = static_cast<std::int16_t>((p[0] << 8) | p[1]); break;
        case 0x0C: v = static_cast<std::int32_t>((std::uint32_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3]); break;
        case 0x0D: case 0x0E: {
          std::uint64_t bits = 0;
          for (int k = 0; k < elem; ++k) bits = (bits << 8) | p[k];
          if (elem == 4) {
            const auto b32 = static_cast<std::uint32_t>(bits);
            float fv;
            std::memcpy(&fv, &b32, 4);
            v = fv;
          } else {
            std::memcpy(&v, &bits, 8);
          }
          if (!std::isfinite(v))
            throw Error(path + ": item " + std::to_string(first + r) + " contains a non-finite value");
          break;
        }
      }
      a.values.push_back(v);
    }
  }
  return a;
}

Image read_image(const std::string& path, const Shape* expected) {
  const std::string bytes = read_file(path);
  if (starts_with(bytes, "\x89PNG", 4)) return read_png(path, bytes, expected);
  if (starts_with(bytes, "P5", 2) || starts_with(bytes, "P2", 2)) return read_pgm(path, bytes, expected);
  throw Error(path + ": not a PNG or PGM image");
}

namespace {
// One line of a text vector file: numbers separated by whitespace, commas
// or semicolons; '#' starts a comment. Returns false for a line without
// numbers. `before` values were read already (for the max_values limit).
bool parse_text_line(std::string& line, const std::string& path, int line_no, std::int64_t max_values,
                     std::size_t before, std::vector<double>* row_values) {
  const auto hash = line.find('#');
  if (hash != std::string::npos) line.resize(hash);
  for (char& c : line)
    if (c == ',' || c == ';') c = ' ';
  std::istringstream s(line);
  std::string tok;
  bool any = false;
  while (s >> tok) {
    any = true;
    char* end = nullptr;
    const double v = std::strtod(tok.c_str(), &end);
    // The whole token must be the number ("0.5\0xyz" is not 0.5).
    if (end == tok.c_str() || end != tok.c_str() + tok.size())
      throw Error(path + ": line " + std::to_string(line_no) + ": '" + quoted(tok) + "' is not a number");
    if (!std::isfinite(v))
      throw Error(path + ": line " + std::to_string(line_no) + ": value '" + quoted(tok) + "' is not finite");
    row_values->push_back(v);
    if (max_values >= 0 && static_cast<std::int64_t>(before + row_values->size()) > max_values)
      throw Error(path + ": has more than " + std::to_string(max_values) + " values but the network expects " +
                  std::to_string(max_values));
  }
  return any;
}
}  // namespace

std::vector<Vector> read_vector_rows(const std::string& path) {
  if (is_directory(path)) throw Error(path + ": is a directory, not a file");
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<Vector> rows;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::vector<double> v;
    if (!parse_text_line(line, path, line_no, -1, 0, &v)) continue;
    rows.push_back(Eigen::Map<Vector>(v.data(), static_cast<Eigen::Index>(v.size())));
  }
  return rows;
}

Vector read_vector_file(const std::string& path, int row) { return read_vector_file_limited(path, row, -1); }

Vector read_vector_file_limited(const std::string& path, int row, std::int64_t max_values) {
  if (is_directory(path)) throw Error(path + ": is a directory, not a file");
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
  std::vector<double> values;
  std::string line;
  int line_no = 0, data_line = -1;
  bool found_row = row < 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::vector<double> row_values;
    if (!parse_text_line(line, path, line_no, max_values, values.size(), &row_values)) continue;
    ++data_line;
    if (row < 0) {
      values.insert(values.end(), row_values.begin(), row_values.end());
    } else if (data_line == row) {
      values = row_values;
      found_row = true;
      break;
    }
  }
  if (!found_row)
    throw Error(path + ": row " + std::to_string(row) + " out of range (the file has " + std::to_string(data_line + 1) +
                " rows)");
  if (values.empty()) throw Error(path + ": no numbers found");
  return Eigen::Map<Vector>(values.data(), static_cast<Eigen::Index>(values.size()));
}

namespace {
bool is_image_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char head[4] = {0, 0, 0, 0};
  in.read(head, 4);
  const std::string h(head, static_cast<size_t>(in.gcount()));
  return starts_with(h, "\x89PNG", 4) || starts_with(h, "P5", 2) || starts_with(h, "P2", 2);
}
}  // namespace

Vector read_input_for(const Shape& expected, const std::string& path, int row) {
  if (!is_image_file(path)) {
    Vector v = read_input(path, row, &expected);
    if (v.size() != expected.size())
      throw Error(path + ": has " + std::to_string(v.size()) + " values but the network expects " + std::to_string(expected.size()) +
                  (expected.dims.size() > 1 ? " (" + expected.str() + ")" : ""));
    return v;
  }
  if (row > 0) throw Error(path + ": an image has no rows to choose from (row " + std::to_string(row) + ")");
  const Image im = read_image(path, &expected);
  const Shape chw{im.channels, im.height, im.width};
  if (expected == chw) return im.values;
  if (expected.dims.size() == 1 && expected.size() == chw.size()) return im.values;
  if (expected == Shape{im.height, im.width, im.channels} && im.channels > 1) {
    Vector hwc(im.values.size());
    for (int c = 0; c < im.channels; ++c)
      for (int y = 0; y < im.height; ++y)
        for (int x = 0; x < im.width; ++x)
          hwc[(static_cast<Eigen::Index>(y) * im.width + x) * im.channels + c] =
              im.values[(static_cast<Eigen::Index>(c) * im.height + y) * im.width + x];
    return hwc;
  }
  throw Error(path + ": the image is " + chw.str() + " (channels x height x width) but the model expects " +
              expected.str());
}

Vector read_input(const std::string& path, int row) { return read_input(path, row, nullptr); }

Vector read_input(const std::string& path, int row, const Shape* expected) {
  if (is_directory(path)) throw Error(path + ": is a directory, not a file");
  std::string head;
  {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path + ": cannot open: " + std::strerror(errno));
    head.resize(8);
    in.read(head.data(), 8);
    head.resize(static_cast<size_t>(in.gcount()));
  }
  if (starts_with(head, "\x89PNG", 4) || starts_with(head, "P5", 2) || starts_with(head, "P2", 2)) {
    if (row > 0) throw Error(path + ": an image has no rows to choose from (row " + std::to_string(row) + ")");
    return read_image(path).values;
  }
  if (looks_like_idx(path, head)) {
    IdxArray a = read_idx(path, std::max(row, 0), 1, true, expected ? expected->size() : -1);
    return Eigen::Map<Vector>(a.values.data(), static_cast<Eigen::Index>(a.values.size()));
  }
  // Text must be text: a NUL or other control byte in the first bytes means
  // a binary file that is none of the formats above.
  for (const char ch : head) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != '\v'))
      throw Error(path + ": not a PNG, PGM, IDX or text file (binary data; an IDX file starts with 00 00 and a type byte)");
  }
  return read_vector_file_limited(path, row, expected ? expected->size() : -1);
}

}  // namespace tessera
