// A colour image made gray and resized: how `tessera data cifar10-gray`
// turns CIFAR-10 into the 28x28 gray out-distribution of the MNIST models.
#pragma once

#include <cstdint>
#include <string>

namespace tessera {

// How the gray image is made and resampled.
//   kPil  the paper's pipeline (its data.py: torchvision's Resize((28, 28)) on
//         the RGB image, then the unweighted mean of R, G and B): each colour
//         plane resized by Pillow's antialiased bilinear filter (Pillow >= 2.7,
//         src/libImaging/Resample.c: a triangle of half-width
//         max(1, n_in / n_out) around (d + 0.5) n_in / n_out, weights
//         normalised, rounded to 22-bit fixed point; the horizontal pass
//         first, rounded to bytes, then the vertical pass, rounded to
//         bytes), then (R + G + B) / 3 rounded to the nearest byte (the paper
//         keeps (R + G + B) / 765 unrounded: bytes differ from it by at most
//         1/510). The default; checked against Pillow itself by a test.
// The two others make the image gray first (kGray* weights below, on [0, 1])
// and resample it bilinearly without antialiasing, as TensorFlow's resize
// ops do. For output pixel d of an axis resized from
// n_in to n_out values, scale = n_in / n_out, and the source coordinate s is
//   kBilinearHalfPixel  s = (d + 0.5) * scale - 0.5, then at least 0
//                       (TF2 tf.image.resize(method="bilinear"), PyTorch's
//                       interpolate(mode="bilinear", align_corners=False));
//   kBilinearLegacy     s = d * scale
//                       (TF1 tf.image.resize_bilinear, align_corners=False,
//                       half_pixel_centers=False).
// The value is (1 - t) v[floor(s)] + t v[min(floor(s) + 1, n_in - 1)],
// t = s - floor(s): first along each row (x), then between rows (y).
enum class ResizeMethod { kPil, kBilinearHalfPixel, kBilinearLegacy };

// "pil" / "bilinear" / "legacy", and back (tessera::Error for anything else).
const char* resize_method_name(ResizeMethod method);
ResizeMethod parse_resize_method(const std::string& name);

// Grayscale weights of TensorFlow's rgb_to_grayscale (ITU-R BT.601 luma,
// rounded to four digits; they sum to 0.9999).
constexpr double kGrayR = 0.2989, kGrayG = 0.5870, kGrayB = 0.1140;

// rgb         3 x in_h x in_w bytes: the red plane, then green, then blue,
//             each row-major (CIFAR's record layout)
// out         out_h x out_w bytes, row-major
// kPil as described above; the others in floating point on [0, 1]:
// y = kGrayR R + kGrayG G + kGrayB B, resized by `method`, then rounded to the
// nearest byte (halves away from zero) and clamped to [0, 255]. Sizes must be
// >= 1.
void gray_resize(const std::uint8_t* rgb, int in_h, int in_w, int out_h, int out_w, ResizeMethod method,
                 std::uint8_t* out);

}  // namespace tessera
