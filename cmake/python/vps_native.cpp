// vps_native: nanobind binding of vps_core's C API (the functions vps.runtime.native dispatches to).
//
// Arrays in are C-contiguous NumPy arrays of the stated dtype (nanobind converts others where it can);
// arrays out are fresh NumPy arrays. A refused argument raises ValueError with vps_last_error()'s message
// (OverflowError when track ids run out, MemoryError on allocation failure). The GIL is released while
// the C code runs.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "vps_core.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace {
template <class T, class... Extra>
using In = nb::ndarray<const T, nb::numpy, nb::c_contig, nb::device::cpu, Extra...>;
template <class T>
using Out = nb::ndarray<nb::numpy, T>;

// Raise the Python exception matching a failed status.
void check(vps_status s) {
  if (s == VPS_OK) return;
  const std::string msg = vps_last_error();
  if (s == VPS_ERR_OVERFLOW) throw std::overflow_error(msg);
  if (s == VPS_ERR_MEMORY) throw std::bad_alloc();
  if (s == VPS_ERR_ARGUMENT || s == VPS_ERR_STATE) throw std::invalid_argument(msg);
  throw std::runtime_error(msg);
}

// A new C-contiguous NumPy array of `shape` owning its buffer; *data points at it.
template <class T>
Out<T> make(std::vector<size_t> shape, T** data) {
  size_t n = 1;
  for (size_t s : shape) n *= s;
  T* buf = new T[n > 0 ? n : 1];  // not zeroed: every output is written in full
  nb::capsule owner(buf, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  *data = buf;
  return Out<T>(buf, shape.size(), shape.data(), owner);
}

vps_bit_layout layout_of(int class_bits, int instance_bits, double scale, int label_divisor) {
  return vps_bit_layout{class_bits, instance_bits, scale, label_divisor};
}

Out<float> panoptic_to_bits(In<int32_t, nb::ndim<2>> pan, int cb, int ib, double scale, int div) {
  const vps_bit_layout L = layout_of(cb, ib, scale, div);
  float* out;
  auto arr = make<float>({size_t(cb + ib), pan.shape(0), pan.shape(1)}, &out);
  {
    nb::gil_scoped_release unlocked;
    check(vps_panoptic_to_bits(pan.data(), pan.shape(0), pan.shape(1), &L, out));
  }
  return arr;
}

Out<int32_t> bits_to_panoptic(In<float, nb::ndim<3>> bits, int cb, int ib, double scale, int div) {
  const vps_bit_layout L = layout_of(cb, ib, scale, div);
  if (int64_t(bits.shape(0)) != cb + ib)
    throw std::invalid_argument("bits: expected " + std::to_string(cb + ib) + " bit channels at dim -3");
  int32_t* out;
  auto arr = make<int32_t>({bits.shape(1), bits.shape(2)}, &out);
  {
    nb::gil_scoped_release unlocked;
    check(vps_bits_to_panoptic(bits.data(), bits.shape(1), bits.shape(2), &L, out));
  }
  return arr;
}

Out<int32_t> decode_panoptic(In<float, nb::ndim<3>> x, int div, int64_t out_h, int64_t out_w) {
  int32_t* out;
  auto arr = make<int32_t>({size_t(out_h > 0 ? out_h : 0), size_t(out_w > 0 ? out_w : 0)}, &out);
  {
    nb::gil_scoped_release unlocked;
    check(vps_decode_panoptic(x.data(), x.shape(0), x.shape(1), x.shape(2), div, out_h, out_w, out));
  }
  return arr;
}

Out<int64_t> nearest_index(int64_t n_in, int64_t n_out) {
  int64_t* out;
  auto arr = make<int64_t>({size_t(n_out > 0 ? n_out : 0)}, &out);
  check(vps_nearest_index(n_in, n_out, out));
  return arr;
}

using Geometry = std::tuple<int, int, int, int, int, int, int, int>;  // vps_geometry's fields in order

Geometry geometry_fit(int fh, int fw, int nh, int nw, const std::string& mode) {
  if (mode != "stretch" && mode != "letterbox")
    throw std::invalid_argument("resize_mode must be 'stretch' or 'letterbox', got '" + mode + "'");
  vps_geometry g;
  check(vps_geometry_fit(fh, fw, nh, nw, mode == "stretch" ? VPS_RESIZE_STRETCH : VPS_RESIZE_LETTERBOX, &g));
  return {g.frame_h, g.frame_w, g.network_h, g.network_w, g.content_h, g.content_w, g.top, g.left};
}

Out<int32_t> restore_labels(In<int32_t, nb::ndim<3>> labels, const Geometry& geo) {
  const auto [fh, fw, nh, nw, ch, cw, top, left] = geo;
  const vps_geometry g{fh, fw, nh, nw, ch, cw, top, left};
  int32_t* out;
  auto arr = make<int32_t>({labels.shape(0), size_t(fh > 0 ? fh : 0), size_t(fw > 0 ? fw : 0)}, &out);
  {
    nb::gil_scoped_release unlocked;
    check(vps_restore_labels(labels.data(), labels.shape(0), labels.shape(1), labels.shape(2), &g, out));
  }
  return arr;
}

Out<int32_t> postprocess_panoptic(In<int32_t, nb::ndim<2>> pan, In<int32_t, nb::ndim<1>> things, int64_t min_area,
                                  int div, int64_t min_part_area) {
  int32_t* out;
  auto arr = make<int32_t>({pan.shape(0), pan.shape(1)}, &out);
  {
    nb::gil_scoped_release unlocked;
    check(vps_postprocess_panoptic(pan.data(), pan.shape(0), pan.shape(1), things.data(), things.shape(0), min_area,
                                   div, min_part_area, out));
  }
  return arr;
}

Out<int32_t> split_instance_parts(In<int32_t, nb::ndim<2>> pan, int64_t min_part_area, int div) {
  int32_t* out;
  auto arr = make<int32_t>({pan.shape(0), pan.shape(1)}, &out);
  {
    nb::gil_scoped_release unlocked;
    check(vps_split_instance_parts(pan.data(), pan.shape(0), pan.shape(1), min_part_area, div, out));
  }
  return arr;
}

std::tuple<Out<int64_t>, int64_t> pair_histogram(In<int32_t> a, In<int32_t> b, int64_t num_a, int64_t num_b,
                                                 std::optional<int64_t> ignore_a, std::optional<int64_t> ignore_b) {
  if (a.size() != b.size()) throw std::invalid_argument("a and b must have the same number of elements");
  int64_t* out;
  auto arr = make<int64_t>({size_t(num_a > 0 ? num_a : 0), size_t(num_b > 0 ? num_b : 0)}, &out);
  int64_t bad = 0;
  {
    {
    nb::gil_scoped_release unlocked;
      check(vps_pair_histogram(a.data(), b.data(), int64_t(a.size()), num_a, num_b, ignore_a.has_value(),
                               ignore_a.value_or(0), ignore_b.has_value(), ignore_b.value_or(0), out, &bad));
    }
  }
  return {arr, bad};
}

Out<double> mask_iou(In<int64_t, nb::ndim<2>> hist) {
  double* out;
  auto arr = make<double>({hist.shape(0), hist.shape(1)}, &out);
  check(vps_mask_iou(hist.data(), hist.shape(0), hist.shape(1), out));
  return arr;
}

std::tuple<Out<int64_t>, Out<int64_t>> linear_sum_assignment(In<double, nb::ndim<2>> cost, bool maximize) {
  const size_t k = std::min(cost.shape(0), cost.shape(1));
  int64_t *rows, *cols;
  auto r = make<int64_t>({k}, &rows);
  auto c = make<int64_t>({k}, &cols);
  check(vps_linear_sum_assignment(cost.data(), cost.shape(0), cost.shape(1), maximize, rows, cols));
  return {r, c};
}

// The track table as a Python object owning a vps_tracker handle.
class Tracker {
 public:
  Tracker(double iou_threshold, int max_lost, int min_area, In<int32_t, nb::ndim<1>> things, int div) {
    const vps_tracker_config cfg{iou_threshold, max_lost, min_area};
    check(vps_tracker_create(&cfg, things.data(), things.shape(0), div, &t_));
  }
  ~Tracker() { vps_tracker_destroy(t_); }
  Tracker(const Tracker&) = delete;
  Tracker& operator=(const Tracker&) = delete;

  std::tuple<Out<int32_t>, Out<int32_t>> update(In<int32_t, nb::ndim<2>> pan) {
    int32_t *sem, *ids;
    auto s = make<int32_t>({pan.shape(0), pan.shape(1)}, &sem);
    auto i = make<int32_t>({pan.shape(0), pan.shape(1)}, &ids);
    {
      nb::gil_scoped_release unlocked;
      check(vps_tracker_update(t_, pan.data(), pan.shape(0), pan.shape(1), sem, ids));
    }
    return {s, i};
  }
  // (id, class_id, area, (x0, y0, x1, y1), age, frames_since_seen) of the visible or lost tracks, by id.
  std::vector<std::tuple<int64_t, int, int64_t, std::tuple<int, int, int, int>, int64_t, int64_t>> tracks(bool lost) {
    int64_t n = 0;
    check(vps_tracker_tracks(t_, lost, nullptr, 0, &n));
    std::vector<vps_track> buf(static_cast<size_t>(n));
    check(vps_tracker_tracks(t_, lost, buf.data(), n, &n));
    std::vector<std::tuple<int64_t, int, int64_t, std::tuple<int, int, int, int>, int64_t, int64_t>> out;
    for (const vps_track& t : buf)
      out.emplace_back(t.id, t.class_id, t.area, std::make_tuple(t.x0, t.y0, t.x1, t.y1), t.age, t.frames_since_seen);
    return out;
  }
  void reset() { check(vps_tracker_reset(t_)); }
  void restart(int64_t next_id) { check(vps_tracker_restart(t_, next_id)); }
  std::tuple<int64_t, int64_t, int64_t> counters() const {
    int64_t a, b, c;
    check(vps_tracker_counters(t_, &a, &b, &c));
    return {a, b, c};
  }

 private:
  vps_tracker* t_ = nullptr;
};
}  // namespace

NB_MODULE(vps_native, m) {
  m.doc() = "vps_core (C++ host-side algorithms of the vps runtime); use through vps.runtime.native";
  m.attr("__version__") = vps_version();
  m.def("cuda_available", [] { return vps_cuda_available() != 0; });
  m.def("panoptic_to_bits", &panoptic_to_bits, "pan"_a, "class_bits"_a, "instance_bits"_a, "scale"_a,
        "label_divisor"_a);
  m.def("bits_to_panoptic", &bits_to_panoptic, "bits"_a, "class_bits"_a, "instance_bits"_a, "scale"_a,
        "label_divisor"_a);
  m.def("decode_panoptic", &decode_panoptic, "x"_a, "label_divisor"_a, "out_h"_a, "out_w"_a);
  m.def("nearest_index", &nearest_index, "n_in"_a, "n_out"_a);
  m.def("geometry_fit", &geometry_fit, "frame_h"_a, "frame_w"_a, "network_h"_a, "network_w"_a, "resize_mode"_a);
  m.def("restore_labels", &restore_labels, "labels"_a, "geometry"_a);
  m.def("postprocess_panoptic", &postprocess_panoptic, "pan"_a, "thing_ids"_a, "min_area"_a, "label_divisor"_a,
        "min_part_area"_a);
  m.def("split_instance_parts", &split_instance_parts, "pan"_a, "min_part_area"_a, "label_divisor"_a);
  m.def("pair_histogram", &pair_histogram, "a"_a, "b"_a, "num_a"_a, "num_b"_a, "ignore_a"_a = nb::none(),
        "ignore_b"_a = nb::none());
  m.def("mask_iou", &mask_iou, "hist"_a);
  m.def("linear_sum_assignment", &linear_sum_assignment, "cost"_a, "maximize"_a = false);
  nb::class_<Tracker>(m, "Tracker")
      .def(nb::init<double, int, int, In<int32_t, nb::ndim<1>>, int>(), "iou_threshold"_a, "max_lost"_a,
           "min_area"_a, "thing_ids"_a, "label_divisor"_a)
      .def("update", &Tracker::update, "pan"_a)
      .def("tracks", &Tracker::tracks, "lost"_a)
      .def("reset", &Tracker::reset)
      .def("restart", &Tracker::restart, "next_id"_a)
      .def("counters", &Tracker::counters);
}
