#include "gui/tour.hpp"

namespace tessera::gui {

const std::vector<TourStep>& tour_steps() {
  static const std::vector<TourStep> steps = [] {
    std::vector<TourStep> s;
    TourStep a;
    a.title = "1. A ReLU network is piecewise affine";
    a.text =
        "This small network maps the plane to three class scores. Each ReLU unit is either on or off; the pattern of "
        "on/off units is constant on each coloured patch, and there the whole network is one affine map "
        "<i>f(x) = V x + a</i>. The map shows every such region exactly (one colour per activation pattern): the "
        "lines are where some unit switches.";
    a.model = "toy2d.onnx";
    a.colouring = Colouring::Region;
    s.push_back(a);

    TourStep b;
    b.title = "2. The regions are convex polytopes";
    b.text =
        "Each region is cut out by linear inequalities (one per unit: its pre-activation keeps its sign), so it is "
        "convex: here a polygon, in general a polytope. The picked region is outlined; the panel lists its pattern and "
        "its logits, which are affine functions of (u, v) on it. Thick black lines are the decision boundary.";
    b.model = "toy2d.onnx";
    b.colouring = Colouring::Shaded;
    b.point = Eigen::Vector2d(0.5, 0.25);
    b.alpha = 1;
    s.push_back(b);

    TourStep c;
    c.title = "3. Follow the ray \u03b1x";
    c.text =
        "Scale the picked input x by \u03b1 &gt; 0. The ray \u03b1x (red) crosses region after region; the ticks mark "
        "where it enters a new one. The chart shows the exact softmax along it: within a region the logits are "
        "affine in \u03b1, so each piece of the curve is a softmax of straight lines.";
    c.model = "toy2d.onnx";
    c.point = Eigen::Vector2d(1, 0.5);
    c.alpha = 0.5;
    s.push_back(c);

    TourStep d;
    d.title = "4. Every ray ends in one unbounded region";
    d.text =
        "There are finitely many regions, so beyond some \u03b1 the ray stays in one last, unbounded region (green "
        "marker). Tessera finds it exactly, with no sampling, and with it the limit of the prediction. Zoomed out, "
        "the map becomes a fan of cones from the origin: far away only the network without its biases matters.";
    d.model = "toy2d.onnx";
    d.window = SliceWindow{-40, 40, -40, 40};
    d.point = Eigen::Vector2d(1, 0.5);
    d.alpha = 20;
    s.push_back(d);

    TourStep e;
    e.title = "5. Theorem 3.1: confidence tends to 1";
    e.text =
        "In the last region the logits grow like \u03b1 (V x); unless two classes grow equally fast, one wins ever more "
        "clearly and the softmax tends to 1 (Hein, Andriushchenko and Bitterwolf, CVPR 2019). Far from the data, a "
        "plainly trained ReLU classifier is therefore certain, and wrong: see \u03b1* in the chart, where the confidence "
        "passes 0.999 for good.";
    e.model = "trained/moons_plain.onnx";
    e.point = Eigen::Vector2d(1.5, 1);
    e.alpha = 1000;
    s.push_back(e);

    TourStep f;
    f.title = "6. CEDA and ACET far away";
    f.text =
        "CEDA trains on noise, ACET on adversarially worst noise, to be unsure away from the data. Side by side on "
        "the same plane (plain, CEDA, ACET), their maps are paler far out: lower confidence in a box around the data. "
        "The theorem still holds along almost every ray, so far enough out they too become confident; the chart "
        "shows where.";
    f.model = "trained/moons_plain.onnx";
    f.point = Eigen::Vector2d(1.5, 1);
    f.alpha = 20;
    f.compare = {"trained/moons_ceda.onnx", "trained/moons_acet.onnx"};
    s.push_back(f);
    return s;
  }();
  return steps;
}

}  // namespace tessera::gui
