// Per-coordinate input boxes: VNN-LIB input bounds and two-row files.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "io/input_box.hpp"

namespace tessera {
namespace {

std::string error_of(const std::string& text, Eigen::Index d) {
  try {
    parse_input_box(text, d, "p.vnnlib");
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  }
  return "(no error)";
}

TEST(InputBox, VnnLibBoundsInEveryForm) {
  const std::string text =
      "; comment\n(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const X_2 Real)\n"
      "(declare-const Y_0 Real)\n"
      "(assert (>= X_0 -1.5))\n(assert (<= X_0 2e-1))\n"
      "(assert (<= 0 X_1)) ; c <= X: a lower bound\n(assert (>= 1 X_1))\n"
      "(assert (and (>= X_2 0.25) (<= X_2 0.5) (<= X_2 0.75)))\n"  // the tighter upper bound holds
      "(assert (<= Y_0 3))\n(assert (or (<= Y_0 1) (>= Y_0 2)))\n";  // outputs: skipped
  const InputBox b = parse_input_box(text, 3, "p.vnnlib");
  EXPECT_EQ(b.lo, Eigen::Vector3d(-1.5, 0, 0.25));
  EXPECT_EQ(b.hi, Eigen::Vector3d(0.2, 1, 0.5));
  EXPECT_FALSE(b.is_uniform());
  EXPECT_TRUE(b.contains(Eigen::Vector3d(0, 0.5, 0.3)));
  EXPECT_FALSE(b.contains(Eigen::Vector3d(0, 0.5, 0.6)));
}

TEST(InputBox, TwoRowsOfNumbers) {
  const InputBox b = parse_input_box("# lower\n0 0 -1\n# upper\n1 1 1\n", 3, "box.txt");
  EXPECT_EQ(b.lo, Eigen::Vector3d(0, 0, -1));
  EXPECT_EQ(b.hi, Eigen::Vector3d(1, 1, 1));
  EXPECT_TRUE(InputBox::uniform(4, 0, 1).is_uniform());
  EXPECT_EQ(InputBox::uniform(4, 0, 1).describe(), "[0, 1]^4");
}

TEST(InputBox, BadFilesNameWhatIsWrong) {
  EXPECT_NE(error_of("(assert (<= X_0 1))\n(assert (>= X_0 0))\n", 2).find("X_1 has no lower bound"), std::string::npos);
  EXPECT_NE(error_of("(assert (<= X_0 1))\n", 1).find("X_0 has no lower bound"), std::string::npos);
  EXPECT_NE(error_of("(assert (<= X_5 1))\n", 2).find("p.vnnlib:1: X_5 is beyond the network's 2 inputs"),
            std::string::npos);
  EXPECT_NE(error_of("(assert (or (<= X_0 1) (>= X_0 2)))", 1).find("disjunctions"), std::string::npos);
  EXPECT_NE(error_of("(assert (< X_0 1))", 1).find("comparison '<'"), std::string::npos);
  EXPECT_NE(error_of("(assert (<= X_0 abc))", 1).find("'abc' is not a number"), std::string::npos);
  EXPECT_NE(error_of("(assert (<= X_0 1)", 1).find("not closed"), std::string::npos);
  EXPECT_NE(error_of("(check-sat)", 1).find("'check-sat' is not supported"), std::string::npos);
  EXPECT_NE(error_of("(assert (<= X_0 0))\n(assert (>= X_0 1))\n", 1).find("lower bound 1"), std::string::npos);
  EXPECT_NE(error_of("0 0\n1\n", 2).find("has 3 numbers; expected 2 x 2"), std::string::npos);
  EXPECT_NE(error_of("0 x\n1 1\n", 2).find(":1: 'x' is not a number"), std::string::npos);
  EXPECT_NE(error_of("0 nan\n1 1\n", 2).find("not a finite number"), std::string::npos);
  EXPECT_NE(error_of("0 0\n1 1\n", 0).find("no inputs"), std::string::npos);
  try {
    read_input_box("/nonexistent/box.txt", 2);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/box.txt"), std::string::npos);
  }
}

}  // namespace
}  // namespace tessera
