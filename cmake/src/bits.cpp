// Analog bits, decoding of logits/bits, nearest resize and label restore (vps.bits, vps.kernels.reference,
// vps.runtime.frames), plus the C API's error channel.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "internal.hpp"

namespace vps {

namespace {
thread_local std::string last_error;

void check_layout(const vps_bit_layout* layout) {
  check_ptr(layout, "layout");
  const vps_bit_layout& L = *layout;
  if (L.class_bits < 1 || L.class_bits > 8 || L.instance_bits < 1 || L.instance_bits > 8)
    fail("layout: class_bits and instance_bits must lie in 1..8");
  if (!(L.scale > 0)) fail("layout: scale must be positive");
  if ((int64_t(1) << L.instance_bits) > L.label_divisor)
    fail("layout: label_divisor must exceed the largest instance id");
}

// Source index of every destination index, torch's float32 nearest rule. index: int64 [n_out].
void nearest_index(int64_t n_in, int64_t n_out, int64_t* index) {
  const float scale = static_cast<float>(n_in) / static_cast<float>(n_out);
  for (int64_t d = 0; d < n_out; ++d) {
    const float src = std::floor(static_cast<float>(d) * scale);
    const int64_t s = static_cast<int64_t>(src);
    index[d] = s < n_in - 1 ? s : n_in - 1;
  }
}

constexpr int64_t kTile = 8192;  // pixels whose running maxima stay in L1 while 256 channels stream by

// Argmax over 256 logits per pixel of one group: group float32 [256, n] -> out uint8 [n].
// numpy's rule: the first maximum wins, and the first NaN beats everything. Branch-free, so it vectorises.
void group_argmax(const float* group, int64_t n, uint8_t* out) {
  float best[kTile];
  int32_t idx[kTile];
  for (int64_t p0 = 0; p0 < n; p0 += kTile) {
    const int64_t m = std::min(kTile, n - p0);
    std::memcpy(best, group + p0, sizeof(float) * size_t(m));
    std::fill(idx, idx + m, 0);
    for (int32_t c = 1; c < 256; c += 5) {  // channels 1..255, five per pass (255 = 5 * 51), in order
      const float* row = group + int64_t(c) * n + p0;
      for (int64_t p = 0; p < m; ++p) {
        float b = best[p];
        int32_t i = idx[p];
        for (int32_t k = 0; k < 5; ++k) {
          const float v = row[k * n + p];
          const bool take = (v > b) | ((v != v) & (b == b));  // v > b, or v the first NaN
          b = take ? v : b;
          i = take ? c + k : i;
        }
        best[p] = b;
        idx[p] = i;
      }
    }
    for (int64_t p = 0; p < m; ++p) out[p0 + p] = uint8_t(idx[p]);
  }
}

// Panoptic ids int32 [h * w] of decoded logits or bits x float32 [channels, h * w].
void decode_lowres(const float* x, int64_t channels, int64_t n, int32_t divisor, int32_t* out) {
  std::vector<uint8_t> cls(static_cast<size_t>(n), 0), inst(size_t(n), 0);
  if (channels == 512) {
    group_argmax(x, n, cls.data());
    group_argmax(x + 256 * n, n, inst.data());
  } else {
    for (int k = 0; k < 8; ++k) {
      const float* c = x + k * n;
      const float* i = x + (8 + k) * n;
      for (int64_t p = 0; p < n; ++p) {
        cls[p] = uint8_t(cls[p] | (c[p] > 0 ? 1 << k : 0));
        inst[p] = uint8_t(inst[p] | (i[p] > 0 ? 1 << k : 0));
      }
    }
  }
  for (int64_t p = 0; p < n; ++p) out[p] = static_cast<int32_t>(int64_t(cls[p]) * divisor + inst[p]);
}

// Gather src int32 [h, w] at rows int64 [oh] x cols int64 [ow] into out int32 [oh, ow].
void gather(const int32_t* src, int64_t w, const std::vector<int64_t>& rows, const std::vector<int64_t>& cols,
            int32_t* out) {
  const int64_t ow = int64_t(cols.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    int32_t* o = out + int64_t(r) * ow;
    if (r > 0 && rows[r] == rows[r - 1]) {  // same source row as the row above: copy it
      std::memcpy(o, o - ow, sizeof(int32_t) * size_t(ow));
      continue;
    }
    const int32_t* s = src + rows[r] * w;
    for (int64_t c = 0; c < ow; ++c) o[c] = s[cols[size_t(c)]];
  }
}

// FrameGeometry.source_indices along one axis: int64 [n_frame] rows (or columns) of an n_lab label map.
std::vector<int64_t> restore_index(int64_t n_frame, int64_t n_content, int64_t off, int64_t n_net,
                                   int64_t n_lab) {
  std::vector<int64_t> idx(static_cast<size_t>(n_frame));
  const double step = double(n_content) / double(n_frame);
  const double ratio = double(n_lab) / double(n_net);
  for (int64_t i = 0; i < n_frame; ++i) {
    const double start = double(off) + double(i) * step;  // network pixels
    const double src = std::floor(start * ratio);
    idx[size_t(i)] = src < 0 ? 0 : (src > double(n_lab - 1) ? n_lab - 1 : int64_t(src));
  }
  return idx;
}

void check_geometry(const vps_geometry* g) {
  check_ptr(g, "geometry");
  if (g->frame_h <= 0 || g->frame_w <= 0 || g->network_h <= 0 || g->network_w <= 0 || g->content_h <= 0 ||
      g->content_w <= 0)
    fail("geometry: frame, network and content sizes must be positive");
}
}  // namespace

void set_last_error(const std::string& message) { last_error = message; }

}  // namespace vps

using namespace vps;

extern "C" {

const char* vps_last_error(void) { return last_error.c_str(); }
const char* vps_version(void) { return "0.1.0"; }
vps_bit_layout vps_default_layout(void) { return vps_bit_layout{8, 8, 0.1, 1000}; }

vps_status vps_panoptic_to_bits(const int32_t* pan, int64_t h, int64_t w, const vps_bit_layout* layout,
                                float* bits) {
  return guard([&] {
    check_layout(layout);
    check_ptr(pan, "pan");
    check_ptr(bits, "bits");
    check_hw(h, w, "pan");
    const int64_t n = h * w, div = layout->label_divisor;
    const int cb = layout->class_bits, ib = layout->instance_bits;
    std::vector<uint8_t> sem(static_cast<size_t>(n)), inst(static_cast<size_t>(n));  // the two bytes
    for (int64_t p = 0, last = -1, s = 0, i = 0; p < n; ++p) {
      if (p == 0 || pan[p] != last) {  // neighbouring pixels usually share an id: divide once per run
        last = pan[p], s = floor_div(last, div), i = floor_mod(last, div);
        if (s < 0 || s >= (int64_t(1) << cb))
          fail("pan: class ids must lie in 0.." + std::to_string((1 << cb) - 1) + ", got " + std::to_string(s));
        if (i >= (int64_t(1) << ib))
          fail("pan: instance ids must lie in 0.." + std::to_string((1 << ib) - 1) + ", got " + std::to_string(i));
      }
      sem[size_t(p)] = uint8_t(s), inst[size_t(p)] = uint8_t(i);
    }
    const float on = static_cast<float>(layout->scale), off = -on;
    for (int k = 0; k < cb + ib; ++k) {
      float* plane = bits + k * n;
      const uint8_t* byte = k < cb ? sem.data() : inst.data();
      const int shift = k < cb ? k : k - cb;
      for (int64_t p = 0; p < n; ++p) plane[p] = (byte[p] >> shift) & 1 ? on : off;
    }
  });
}

vps_status vps_bits_to_panoptic(const float* bits, int64_t h, int64_t w, const vps_bit_layout* layout,
                                int32_t* pan) {
  return guard([&] {
    check_layout(layout);
    check_ptr(bits, "bits");
    check_ptr(pan, "pan");
    check_hw(h, w, "bits");
    const int64_t n = h * w;
    const int cb = layout->class_bits, ib = layout->instance_bits;
    for (int64_t p = 0; p < n; ++p) {
      int64_t sem = 0, inst = 0;
      for (int k = 0; k < cb; ++k) sem |= int64_t(bits[k * n + p] > 0) << k;
      for (int k = 0; k < ib; ++k) inst |= int64_t(bits[(cb + k) * n + p] > 0) << k;
      pan[p] = static_cast<int32_t>(sem * layout->label_divisor + inst);
    }
  });
}

vps_status vps_nearest_index(int64_t n_in, int64_t n_out, int64_t* index) {
  return guard([&] {
    if (n_in <= 0 || n_out <= 0) fail("n_in and n_out must be positive");
    check_ptr(index, "index");
    nearest_index(n_in, n_out, index);
  });
}

vps_status vps_decode_panoptic(const float* x, int64_t channels, int64_t h, int64_t w, int32_t label_divisor,
                               int64_t out_h, int64_t out_w, int32_t* out) {
  return guard([&] {
    check_ptr(x, "x");
    check_ptr(out, "out");
    if (channels != 512 && channels != 16)
      fail("x: expected 512 logit or 16 bit channels, got " + std::to_string(channels));
    check_hw(h, w, "x");
    check_hw(out_h, out_w, "out");
    check_divisor(label_divisor);
    if (out_h == h && out_w == w) return decode_lowres(x, channels, h * w, label_divisor, out);
    std::vector<int32_t> low(static_cast<size_t>(h * w));
    decode_lowres(x, channels, h * w, label_divisor, low.data());
    std::vector<int64_t> rows(static_cast<size_t>(out_h)), cols(static_cast<size_t>(out_w));
    nearest_index(h, out_h, rows.data());
    nearest_index(w, out_w, cols.data());
    gather(low.data(), w, rows, cols, out);
  });
}

vps_status vps_geometry_fit(int32_t frame_h, int32_t frame_w, int32_t network_h, int32_t network_w,
                            vps_resize_mode mode, vps_geometry* out) {
  return guard([&] {
    check_ptr(out, "out");
    if (frame_h <= 0 || frame_w <= 0) fail("frame: sizes must be positive");
    if (network_h <= 0 || network_w <= 0) fail("input_size: expected two positive sizes (H, W)");
    vps_geometry g{frame_h, frame_w, network_h, network_w, network_h, network_w, 0, 0};
    if (mode == VPS_RESIZE_LETTERBOX) {
      const double scale = std::fmin(double(network_h) / frame_h, double(network_w) / frame_w);
      const double ch = std::fmax(1.0, std::nearbyint(frame_h * scale));  // Python round: half to even
      const double cw = std::fmax(1.0, std::nearbyint(frame_w * scale));
      g.content_h = int32_t(std::fmin(double(network_h), ch));
      g.content_w = int32_t(std::fmin(double(network_w), cw));
      g.top = (network_h - g.content_h) / 2;
      g.left = (network_w - g.content_w) / 2;
    } else if (mode != VPS_RESIZE_STRETCH) {
      fail("mode must be VPS_RESIZE_STRETCH or VPS_RESIZE_LETTERBOX");
    }
    *out = g;
  });
}

vps_status vps_restore_labels(const int32_t* labels, int64_t batch, int64_t h, int64_t w,
                              const vps_geometry* geometry, int32_t* out) {
  return guard([&] {
    check_ptr(labels, "labels");
    check_ptr(out, "out");
    check_geometry(geometry);
    check_hw(h, w, "labels");
    if (batch < 1) fail("batch must be >= 1, got " + std::to_string(batch));
    const vps_geometry& g = *geometry;
    const auto rows = restore_index(g.frame_h, g.content_h, g.top, g.network_h, h);
    const auto cols = restore_index(g.frame_w, g.content_w, g.left, g.network_w, w);
    const int64_t out_plane = int64_t(g.frame_h) * g.frame_w;
    for (int64_t b = 0; b < batch; ++b) gather(labels + b * h * w, w, rows, cols, out + b * out_plane);
  });
}

}  // extern "C"
