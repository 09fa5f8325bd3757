#include "io/input_box.hpp"

#include <cerrno>
#include <cmath>
#include <cctype>
#include <cstdlib>
#include <sstream>

#include "core/error.hpp"
#include "io/file_util.hpp"
#include "core/tolerances.hpp"

namespace tessera {

InputBox InputBox::uniform(Eigen::Index d, double lo, double hi) {
  InputBox b;
  b.lo = Vector::Constant(d, lo);
  b.hi = Vector::Constant(d, hi);
  return b;
}

bool InputBox::contains(const Vector& x) const {
  return x.size() == lo.size() && (x.array() >= lo.array()).all() && (x.array() <= hi.array()).all();
}

bool InputBox::is_uniform() const {
  return lo.size() > 0 && (lo.array() == lo[0]).all() && (hi.array() == hi[0]).all();
}

std::string InputBox::describe() const {
  std::ostringstream s;
  if (is_uniform()) {
    s << "[" << lo[0] << ", " << hi[0] << "]^" << lo.size();
  } else {
    s << "per-coordinate box" << (source.empty() ? "" : " from " + source) << " (" << lo.size() << " intervals)";
  }
  return s.str();
}

namespace {

// A token as messages show it: printable, at most 40 characters (a binary
// file passed by mistake must not put raw bytes on the terminal).
std::string shown(const std::string& token) {
  std::string out;
  for (char c : token.substr(0, 40)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return token.size() > 40 ? out + "..." : out;
}

// A number token, or nullopt.
bool parse_number(const std::string& token, double* v) {
  if (token.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *v = std::strtod(token.c_str(), &end);
  return end == token.c_str() + token.size() && errno != ERANGE;
}

void check_bounds(InputBox& b, const std::string& source) {
  for (Eigen::Index i = 0; i < b.size(); ++i) {
    for (double v : {b.lo[i], b.hi[i]})
      if (!std::isfinite(v) || std::abs(v) > tol::kMaxAbsParameter)
        throw Error(source + ": the bound " + std::to_string(v) + " of input " + std::to_string(i) +
                    " is not a finite number up to 1e150");
    if (!(b.lo[i] <= b.hi[i]))
      throw Error(source + ": input " + std::to_string(i) + " has lower bound " + std::to_string(b.lo[i]) +
                  " above its upper bound " + std::to_string(b.hi[i]));
  }
}

// S-expressions of a VNN-LIB file, tokenised with line numbers.
struct Token {
  std::string text;
  int line;
};

std::vector<Token> tokenize(const std::string& text) {
  std::vector<Token> out;
  int line = 1;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (c == ';') {  // comment to the end of the line
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '(' || c == ')') {
      out.push_back({std::string(1, c), line});
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) && text[j] != '(' && text[j] != ')' &&
           text[j] != ';')
      ++j;
    out.push_back({text.substr(i, j - i), line});
    i = j;
  }
  return out;
}

struct Expr {
  std::string atom;  // empty for a list
  std::vector<Expr> list;
  int line = 0;
};

// Lists nest at most this deep (VNN-LIB input bounds need 3: the stack of
// a recursive parse stays small whatever the file holds).
constexpr int kMaxNesting = 64;

Expr parse_expr(const std::vector<Token>& t, size_t& i, const std::string& source, int depth = 0) {
  if (i >= t.size()) throw Error(source + ": unexpected end of file (a '(' is not closed)");
  if (depth > kMaxNesting)
    throw Error(source + ":" + std::to_string(t[i].line) + ": expressions nest more than " +
                std::to_string(kMaxNesting) + " deep");
  Expr e;
  e.line = t[i].line;
  if (t[i].text == ")") throw Error(source + ":" + std::to_string(t[i].line) + ": unexpected ')'");
  if (t[i].text != "(") {
    e.atom = t[i++].text;
    return e;
  }
  ++i;
  while (true) {
    if (i >= t.size()) throw Error(source + ":" + std::to_string(e.line) + ": '(' is not closed");
    if (t[i].text == ")") {
      ++i;
      return e;
    }
    e.list.push_back(parse_expr(t, i, source, depth + 1));
  }
}

// X_12 -> 12; anything else -> -1.
long input_index(const std::string& s) {
  if (s.size() < 3 || s[0] != 'X' || s[1] != '_') return -1;
  for (size_t k = 2; k < s.size(); ++k)
    if (!std::isdigit(static_cast<unsigned char>(s[k]))) return -1;
  return std::strtol(s.c_str() + 2, nullptr, 10);
}

bool mentions_output(const Expr& e) {
  if (!e.atom.empty()) return e.atom.rfind("Y_", 0) == 0;
  for (const Expr& c : e.list)
    if (mentions_output(c)) return true;
  return false;
}

InputBox parse_vnnlib(const std::string& text, Eigen::Index d, const std::string& source) {
  const std::vector<Token> tokens = tokenize(text);
  InputBox b;
  b.source = source;
  b.lo = Vector::Constant(d, std::nan(""));
  b.hi = Vector::Constant(d, std::nan(""));
  for (size_t i = 0; i < tokens.size();) {
    const Expr e = parse_expr(tokens, i, source);
    const std::string where = source + ":" + std::to_string(e.line);
    if (e.list.empty() || !e.list[0].atom.size()) throw Error(where + ": expected a command such as (assert ...)");
    const std::string& cmd = e.list[0].atom;
    if (cmd == "declare-const") {
      if (e.list.size() != 3) throw Error(where + ": (declare-const NAME Real) expected");
      const long k = input_index(e.list[1].atom);
      if (k >= d)
        throw Error(where + ": declares " + shown(e.list[1].atom) + " but the network has " + std::to_string(d) + " inputs");
      continue;
    }
    if (cmd != "assert") throw Error(where + ": '" + shown(cmd) + "' is not supported (only declare-const and assert)");
    if (e.list.size() != 2) throw Error(where + ": (assert EXPR) takes one expression");
    if (mentions_output(e.list[1])) continue;  // a property of the outputs, not of the input domain
    // (and A B ...) is the list of its parts.
    std::vector<const Expr*> parts{&e.list[1]};
    for (size_t p = 0; p < parts.size(); ++p)
      if (parts[p]->list.size() && parts[p]->list[0].atom == "and") {
        for (size_t q = 1; q < parts[p]->list.size(); ++q) parts.push_back(&parts[p]->list[q]);
        parts[p] = nullptr;
      }
    for (const Expr* part : parts) {
    if (!part) continue;
    const Expr& a = *part;
    if (a.list.size() && a.list[0].atom == "or")
      throw Error(where + ": disjunctions (or ...) are not supported: a box is one interval per input");
    if (a.list.size() != 3 || a.list[0].atom.empty())
      throw Error(where + ": only (assert (<= X_i c)) and (assert (>= X_i c)) are supported for inputs");
    const std::string& op = a.list[0].atom;
    if (op != "<=" && op != ">=") throw Error(where + ": comparison '" + shown(op) + "' is not supported (use <= or >=)");
    long k = input_index(a.list[1].atom);
    double c = 0;
    bool upper = op == "<=";  // X <= c
    if (k >= 0) {
      if (!parse_number(a.list[2].atom, &c)) throw Error(where + ": '" + shown(a.list[2].atom) + "' is not a number");
    } else {
      k = input_index(a.list[2].atom);  // (<= c X): a lower bound
      if (k < 0 || !parse_number(a.list[1].atom, &c))
        throw Error(where + ": expected an input X_i and a number, got '" + shown(a.list[1].atom) + "' and '" +
                    shown(a.list[2].atom) + "'");
      upper = !upper;
    }
    if (k >= d)
      throw Error(where + ": X_" + std::to_string(k) + " is beyond the network's " + std::to_string(d) + " inputs");
    // Several bounds on one side: the tightest holds.
    double& slot = upper ? b.hi[k] : b.lo[k];
    slot = std::isnan(slot) ? c : (upper ? std::min(slot, c) : std::max(slot, c));
    }
  }
  for (Eigen::Index k = 0; k < d; ++k)
    if (std::isnan(b.lo[k]) || std::isnan(b.hi[k]))
      throw Error(source + ": X_" + std::to_string(k) + " has no " + (std::isnan(b.lo[k]) ? "lower" : "upper") +
                  " bound; a box needs both bounds of all " + std::to_string(d) + " inputs");
  check_bounds(b, source);
  return b;
}

InputBox parse_rows(const std::string& text, Eigen::Index d, const std::string& source) {
  std::vector<double> values;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    std::string token;
    while (ls >> token) {
      double v = 0;
      if (!parse_number(token, &v))
        throw Error(source + ":" + std::to_string(line_no) + ": '" + shown(token) + "' is not a number");
      values.push_back(v);
      if (static_cast<Eigen::Index>(values.size()) > 2 * d)
        throw Error(source + ": has more than 2 x " + std::to_string(d) +
                    " numbers; expected the lower bounds, then the upper bounds, of " + std::to_string(d) + " inputs");
    }
  }
  if (static_cast<Eigen::Index>(values.size()) != 2 * d)
    throw Error(source + ": has " + std::to_string(values.size()) + " numbers; expected 2 x " + std::to_string(d) +
                " (the lower bounds, then the upper bounds, of the network's " + std::to_string(d) + " inputs)");
  InputBox b;
  b.source = source;
  b.lo = Eigen::Map<const Vector>(values.data(), d);
  b.hi = Eigen::Map<const Vector>(values.data() + d, d);
  check_bounds(b, source);
  return b;
}

}  // namespace

InputBox parse_input_box(const std::string& text, Eigen::Index d, const std::string& source) {
  if (d <= 0) throw Error(source + ": the network has no inputs");
  // VNN-LIB when the first non-blank, non-comment character opens a list.
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (c == ';') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '(') return parse_vnnlib(text, d, source);
    break;
  }
  return parse_rows(text, d, source);
}

InputBox read_input_box(const std::string& path, Eigen::Index d) {
  // A box is two numbers per input: refuse absurdly large files early.
  return parse_input_box(read_file(path, 64 * (2 * d + 1) + (1 << 20)), d, path);
}

}  // namespace tessera
