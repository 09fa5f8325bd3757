// The guided tour of the app's Tour menu: a short path through the ideas
// (piecewise affine -> polytopes -> the ray -> the last region -> Theorem
// 3.1 -> CEDA/ACET far away), each step a view of a shipped model and a
// paragraph. Data only (no Qt): the window carries the steps out
// (MainWindow::runTourStep), and `tessera-gui --tour-step N --screenshot F`
// reproduces each step's picture.
#pragma once

#include <Eigen/Core>
#include <optional>
#include <string>
#include <vector>

#include "export/palette.hpp"
#include "regions/slice_2d.hpp"

namespace tessera::gui {

struct TourStep {
  std::string title;
  std::string text;                        // a paragraph (Qt rich text)
  std::string model;                       // under the source tree's data/models/
  Colouring colouring = Colouring::Shaded;
  std::optional<SliceWindow> window;       // the map's window (default: the model's)
  std::optional<Eigen::Vector2d> point;    // pick this point and follow its ray
  double alpha = 1;                        // then move to this alpha
  std::vector<std::string> compare;        // open these models side by side (under data/models/)
};

const std::vector<TourStep>& tour_steps();

}  // namespace tessera::gui
