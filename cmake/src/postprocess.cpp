// Post-processing of a decoded panoptic map (vps.runtime.postprocess, vps.components), the pair histogram
// and IoU (vps.kernels.pair_histogram, vps.kernels.mask_iou).
#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "internal.hpp"

namespace vps {

namespace {
constexpr int kNumIds = 256;  // class and instance ids are bytes; instances 1..255 carry an identity

// Thing segments of pan int32 [n]: seg int32 [n] (1-based rank of the pixel's id among the thing ids,
// 0 for stuff / instance 0) and the ids themselves, ascending (np.unique order).
std::vector<int64_t> thing_segments(const int32_t* pan, int64_t n, int32_t div, std::vector<int32_t>& seg) {
  std::vector<int64_t> keys;
  for (int64_t p = 0; p < n; ++p)
    if ((p == 0 || pan[p] != pan[p - 1]) && floor_mod(pan[p], div) > 0) keys.push_back(pan[p]);  // per run
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  seg.assign(size_t(n), 0);
  int64_t last = 0;
  int32_t last_rank = 0;  // cache: neighbouring pixels usually share an id
  for (int64_t p = 0; p < n; ++p) {
    if (floor_mod(pan[p], div) <= 0) continue;
    if (last_rank == 0 || pan[p] != last) {
      last = pan[p];
      last_rank = int32_t(std::lower_bound(keys.begin(), keys.end(), last) - keys.begin()) + 1;
    }
    seg[size_t(p)] = last_rank;
  }
  return keys;
}

// 8-connected parts of equal non-zero seg values, numbered in raster order of their first pixel (scipy's
// label order). part int32 [h * w] (-1 where seg is 0); returns each part's (segment, size).
struct Part {
  int32_t segment;
  int64_t size;
};
std::vector<Part> label_parts(const std::vector<int32_t>& seg, int64_t h, int64_t w, std::vector<int32_t>& part) {
  std::vector<Part> parts;
  part.assign(seg.size(), -1);
  std::vector<int64_t> stack;
  for (int64_t start = 0; start < h * w; ++start) {
    if (seg[size_t(start)] == 0 || part[size_t(start)] >= 0) continue;
    const int32_t s = seg[size_t(start)], id = int32_t(parts.size());
    int64_t size = 0;
    part[size_t(start)] = id;
    stack.assign(1, start);
    while (!stack.empty()) {
      const int64_t p = stack.back();
      stack.pop_back();
      ++size;
      const int64_t y = p / w, x = p % w;
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
          const int64_t q = yy * w + xx;
          if (seg[size_t(q)] == s && part[size_t(q)] < 0) {
            part[size_t(q)] = id;
            stack.push_back(q);
          }
        }
    }
    parts.push_back(Part{s, size});
  }
  return parts;
}

// Instance ids 1..255 not used by any key, ascending.
std::vector<int64_t> free_ids(const std::vector<int64_t>& keys, int32_t div) {
  std::vector<bool> taken(kNumIds, false);
  for (int64_t k : keys) {
    const int64_t inst = floor_mod(k, div);
    if (inst < kNumIds) taken[size_t(inst)] = true;
  }
  std::vector<int64_t> out;
  for (int i = 1; i < kNumIds; ++i)
    if (!taken[size_t(i)]) out.push_back(i);
  return out;
}
}  // namespace

void split_parts(int32_t* pan, int64_t h, int64_t w, int64_t min_part_area, int32_t div) {
  if (min_part_area <= 0) return;
  std::vector<int32_t> seg, part;
  const std::vector<int64_t> keys = thing_segments(pan, h * w, div, seg);
  const std::vector<Part> parts = label_parts(seg, h, w, part);
  std::vector<std::vector<int32_t>> by_segment(keys.size() + 1);  // parts of each segment, raster order
  for (size_t i = 0; i < parts.size(); ++i) by_segment[size_t(parts[i].segment)].push_back(int32_t(i));
  const std::vector<int64_t> fresh = free_ids(keys, div);
  size_t next_free = 0;
  std::vector<int64_t> relabel(parts.size(), 0);  // new id of each part (ids may be negative)
  std::vector<uint8_t> changed(parts.size(), 0);
  for (size_t s = 1; s <= keys.size(); ++s) {
    std::vector<int32_t>& list = by_segment[s];
    if (list.size() < 2) continue;
    std::stable_sort(list.begin(), list.end(), [&](int32_t a, int32_t b) { return parts[a].size > parts[b].size; });
    const int64_t key = keys[s - 1], base = key - floor_mod(key, div);
    for (size_t k = 1; k < list.size(); ++k) {
      const size_t part = size_t(list[k]);
      if (parts[part].size < min_part_area) {
        relabel[part] = base, changed[part] = 1;
      } else if (next_free < fresh.size()) {
        relabel[part] = base + fresh[next_free++], changed[part] = 1;
      }
    }
  }
  for (int64_t p = 0; p < h * w; ++p)
    if (part[size_t(p)] >= 0 && changed[size_t(part[size_t(p)])])
      pan[p] = static_cast<int32_t>(relabel[size_t(part[size_t(p)])]);
}

void pair_hist(const int32_t* a, const int32_t* b, int64_t n, int64_t num_a, int64_t num_b, int64_t* hist) {
  for (int64_t p = 0; p < n; ++p)
    if (a[p] >= 0 && a[p] < num_a && b[p] >= 0 && b[p] < num_b) ++hist[a[p] * num_b + b[p]];
}

void iou_from_hist(const int64_t* hist, int64_t num_a, int64_t num_b, double* iou) {
  std::vector<double> rows(static_cast<size_t>(num_a), 0.0), cols(size_t(num_b), 0.0);
  for (int64_t i = 0; i < num_a; ++i)
    for (int64_t j = 0; j < num_b; ++j) {
      rows[size_t(i)] += double(hist[i * num_b + j]);  // integer-valued: exact in any order below 2**53
      cols[size_t(j)] += double(hist[i * num_b + j]);
    }
  for (int64_t i = 0; i < num_a; ++i)
    for (int64_t j = 0; j < num_b; ++j) {
      const double inter = double(hist[i * num_b + j]);
      const double uni = rows[size_t(i)] + cols[size_t(j)] - inter;
      iou[i * num_b + j] = uni > 0 ? inter / uni : 0.0;
    }
}

namespace {
// postprocess_panoptic without the split: pan int32 [n] -> out int32 [n].
void clean(const int32_t* pan, int64_t n, const std::vector<bool>& is_thing, int64_t min_area, int32_t div,
           int32_t* out) {
  std::vector<uint8_t> cls_c(static_cast<size_t>(n)), inst(static_cast<size_t>(n));
  std::vector<int64_t> hist(kNumIds * kNumIds, 0);  // [instance, class]
  for (int64_t p = 0; p < n; ++p) {
    const int64_t c = std::clamp<int64_t>(floor_div(pan[p], div), 0, kNumIds - 1);
    const int64_t i = std::clamp<int64_t>(floor_mod(pan[p], div), 0, kNumIds - 1);
    cls_c[size_t(p)] = uint8_t(c);
    inst[size_t(p)] = is_thing[size_t(c)] ? uint8_t(i) : 0;
    ++hist[inst[size_t(p)] * kNumIds + c];
  }
  std::vector<int64_t> vote(kNumIds, 0), area(kNumIds, 0);
  for (int i = 0; i < kNumIds; ++i) {
    const int64_t* row = &hist[size_t(i) * kNumIds];
    vote[size_t(i)] = std::max_element(row, row + kNumIds) - row;  // first maximum, as argmax
    area[size_t(i)] = std::accumulate(row, row + kNumIds, int64_t(0));
  }
  for (int64_t p = 0; p < n; ++p) {
    const int64_t i = inst[size_t(p)];
    const int64_t c = i > 0 ? vote[size_t(i)] : floor_div(pan[p], div);
    const int64_t kept = (i > 0 && area[size_t(i)] < min_area) ? 0 : i;
    out[p] = static_cast<int32_t>(c * div + kept);
  }
}
}  // namespace

}  // namespace vps

using namespace vps;

extern "C" {

vps_status vps_postprocess_panoptic(const int32_t* pan, int64_t h, int64_t w, const int32_t* thing_ids,
                                    int64_t n_things, int64_t min_area, int32_t label_divisor,
                                    int64_t min_part_area, int32_t* out) {
  return guard([&] {
    check_ptr(pan, "pan");
    check_ptr(out, "out");
    check_hw(h, w, "pan");
    check_divisor(label_divisor);
    if (n_things < 0 || (n_things > 0 && thing_ids == nullptr)) fail("thing_ids: NULL or negative n_things");
    std::vector<bool> is_thing(kNumIds, false);
    for (int64_t k = 0; k < n_things; ++k) {
      if (thing_ids[k] < 0 || thing_ids[k] >= kNumIds)
        fail("thing_ids: class ids must lie in 0..255, got " + std::to_string(thing_ids[k]));
      is_thing[size_t(thing_ids[k])] = true;
    }
    std::vector<int32_t> result(static_cast<size_t>(h * w));
    clean(pan, h * w, is_thing, min_area, label_divisor, result.data());
    split_parts(result.data(), h, w, min_part_area, label_divisor);
    std::memcpy(out, result.data(), sizeof(int32_t) * size_t(h * w));
  });
}

vps_status vps_split_instance_parts(const int32_t* pan, int64_t h, int64_t w, int64_t min_part_area,
                                    int32_t label_divisor, int32_t* out) {
  return guard([&] {
    check_ptr(pan, "pan");
    check_ptr(out, "out");
    check_hw(h, w, "pan");
    check_divisor(label_divisor);
    std::vector<int32_t> result(pan, pan + h * w);
    split_parts(result.data(), h, w, min_part_area, label_divisor);
    std::memcpy(out, result.data(), sizeof(int32_t) * size_t(h * w));
  });
}

vps_status vps_pair_histogram(const int32_t* a, const int32_t* b, int64_t n, int64_t num_a, int64_t num_b,
                              int32_t has_ignore_a, int64_t ignore_a, int32_t has_ignore_b, int64_t ignore_b,
                              int64_t* hist, int64_t* out_of_range) {
  return guard([&] {
    check_ptr(hist, "hist");
    if (n < 0) fail("n must be >= 0, got " + std::to_string(n));
    if (n > 0) {
      check_ptr(a, "a");
      check_ptr(b, "b");
    }
    if (num_a < 1 || num_b < 1 || num_a > (int64_t(1) << 31) / num_b)
      fail("num_a and num_b must be >= 1 with num_a * num_b < 2**31");
    std::fill(hist, hist + num_a * num_b, int64_t(0));
    int64_t bad = 0;
    for (int64_t p = 0; p < n; ++p) {
      if ((has_ignore_a && a[p] == ignore_a) || (has_ignore_b && b[p] == ignore_b)) continue;
      if (a[p] >= 0 && a[p] < num_a && b[p] >= 0 && b[p] < num_b)
        ++hist[a[p] * num_b + b[p]];
      else
        ++bad;
    }
    if (out_of_range != nullptr) *out_of_range = bad;
  });
}

vps_status vps_mask_iou(const int64_t* hist, int64_t num_a, int64_t num_b, double* iou) {
  return guard([&] {
    check_ptr(hist, "hist");
    check_ptr(iou, "iou");
    if (num_a < 0 || num_b < 0) fail("num_a and num_b must be >= 0");
    iou_from_hist(hist, num_a, num_b, iou);
  });
}

}  // extern "C"
