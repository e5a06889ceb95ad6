// The track table (vps.runtime.tracker.TrackTable): 8-bit model instance ids to never-reused 32-bit track
// ids, by per-class IoU matching with the previous frame, then with lost tracks (policy in tracker.py's
// module docstring; every step below names the Python method it mirrors).
#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "internal.hpp"

namespace {
constexpr int64_t kMaxTrackId = 2147483647;  // 2**31 - 1
constexpr double kTieBreak = 1e-6;           // bonus for the model's own id continuity (_TIE_BREAK)

struct Box {
  int32_t x0, y0, x1, y1;  // half-open
};

struct Record {  // TrackRecord
  int64_t id;
  int32_t class_id;
  int64_t first_frame, last_frame, area;
  Box box;
  bool lost;                  // the Python record's `mask is not None`
  std::vector<uint8_t> mask;  // bool [y1 - y0, x1 - x0] crop of the last mask, while lost
};

struct Segments {                // _Segments: current instances compacted to 1..N
  std::vector<int32_t> index;    // [h, w] in 0..N
  std::vector<int64_t> keys;     // [N] class * divisor + model id, ascending
  std::vector<int32_t> classes;  // [N]
  std::vector<int64_t> areas;    // [N]
  std::vector<Box> boxes;        // [N]
  int64_t count() const { return int64_t(keys.size()); }
};
}  // namespace

struct vps_tracker {
  vps_tracker_config config{};
  int32_t divisor = 1000;
  std::vector<uint8_t> is_thing;  // [max thing id + 1]
  int64_t next_id = 1, sequence_first_id = 1, frame_index = 0, reported_frame = 0;
  int64_t h = 0, w = 0;
  bool has_prev = false;
  std::vector<int32_t> slots;                   // [h, w] previous frame's tracks compacted to 0..M
  std::vector<int64_t> slot_tracks{0};          // [M + 1] slot -> track id
  std::unordered_map<int64_t, int64_t> model_ids;  // previous key -> track id
  std::vector<Record> tracks;                   // live and lost records; ascending id = insertion order

  Record* find(int64_t id) {
    auto it = std::lower_bound(tracks.begin(), tracks.end(), id, [](const Record& r, int64_t v) { return r.id < v; });
    return it != tracks.end() && it->id == id ? &*it : nullptr;
  }

  void reset() {
    sequence_first_id = next_id;
    frame_index = 0;
    has_prev = false;
    slots.clear();
    slot_tracks.assign(1, 0);
    model_ids.clear();
    tracks.clear();
  }

  // _segments
  Segments segments(const int32_t* pan) const {
    Segments s;
    const int64_t n = h * w;
    std::vector<int32_t> raw(static_cast<size_t>(n), 0);
    std::vector<int64_t> keys;
    for (int64_t p = 0; p < n; ++p) {
      if (p > 0 && pan[p] == pan[p - 1]) continue;  // one candidate per run of equal ids
      const int64_t c = pan[p] / divisor;
      if (pan[p] % divisor > 0 && c < int64_t(is_thing.size()) && is_thing[size_t(c)]) keys.push_back(pan[p]);
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::vector<int64_t> area(keys.size() + 1, 0);
    for (int64_t p = 0, last = -1, rank = 0; p < n; ++p) {
      if (pan[p] != last) {  // rank 0: not a thing instance
        last = pan[p];
        const auto it = std::lower_bound(keys.begin(), keys.end(), last);
        rank = it != keys.end() && *it == last ? it - keys.begin() + 1 : 0;
      }
      raw[size_t(p)] = int32_t(rank);
      ++area[size_t(rank)];
    }
    std::vector<int32_t> relabel(keys.size() + 1, 0);  // drop fragments below min_area, renumber the rest
    for (size_t k = 0; k < keys.size(); ++k)
      if (area[k + 1] >= config.min_area) {
        s.keys.push_back(keys[k]);
        s.classes.push_back(int32_t(keys[k] / divisor));
        s.areas.push_back(area[k + 1]);
        relabel[k + 1] = int32_t(s.keys.size());
      }
    s.index.resize(size_t(n));
    s.boxes.assign(s.keys.size(), Box{int32_t(w), int32_t(h), 0, 0});
    for (int64_t p = 0; p < n; ++p) {
      const int32_t j = relabel[size_t(raw[size_t(p)])];
      s.index[size_t(p)] = j;
      if (j == 0) continue;
      Box& b = s.boxes[size_t(j - 1)];
      const int32_t y = int32_t(p / w), x = int32_t(p % w);
      b.x0 = std::min(b.x0, x), b.y0 = std::min(b.y0, y), b.x1 = std::max(b.x1, x + 1), b.y1 = std::max(b.y1, y + 1);
    }
    return s;
  }

  // _match_previous: iou [M, N] of previous tracks x current instances, same class only.
  void match_previous(const Segments& seg, std::vector<int64_t>& track_of) const {
    const int64_t M = int64_t(slot_tracks.size()) - 1, N = seg.count();
    if (!has_prev || M == 0 || N == 0) return;
    std::vector<int64_t> hist(size_t((M + 1) * (N + 1)), 0);
    vps::pair_hist(slots.data(), seg.index.data(), h * w, M + 1, N + 1, hist.data());
    std::vector<double> full(hist.size());
    vps::iou_from_hist(hist.data(), M + 1, N + 1, full.data());
    std::vector<double> iou(static_cast<size_t>(M * N)), score(static_cast<size_t>(M * N));
    for (int64_t r = 0; r < M; ++r) {
      const int64_t tid = slot_tracks[size_t(r + 1)];
      const int32_t cls = const_cast<vps_tracker*>(this)->find(tid)->class_id;
      for (int64_t c = 0; c < N; ++c) {
        const double v = cls == seg.classes[size_t(c)] ? full[size_t((r + 1) * (N + 1) + c + 1)] : 0.0;
        const auto m = model_ids.find(seg.keys[size_t(c)]);
        const bool same = m != model_ids.end() && m->second == tid;
        iou[size_t(r * N + c)] = v;
        score[size_t(r * N + c)] = v + (same ? kTieBreak : 0.0);
      }
    }
    assign(score, iou, M, N, [&](int64_t r, int64_t c) { track_of[size_t(c + 1)] = slot_tracks[size_t(r + 1)]; });
  }

  // _revive_lost: iou [L, N] of lost tracks' last masks x still-unmatched current instances.
  void revive_lost(const Segments& seg, std::vector<int64_t>& track_of) const {
    std::vector<const Record*> lost;
    for (const Record& r : tracks)
      if (r.lost) lost.push_back(&r);
    const int64_t N = seg.count(), L = int64_t(lost.size());
    bool all_taken = true;
    for (int64_t c = 0; c < N; ++c) all_taken = all_taken && track_of[size_t(c + 1)] > 0;
    if (L == 0 || all_taken) return;
    std::vector<double> iou(static_cast<size_t>(L * N), 0.0);
    std::vector<int64_t> inter(static_cast<size_t>(N + 1));
    for (int64_t i = 0; i < L; ++i) {
      const Record& rec = *lost[size_t(i)];
      std::fill(inter.begin(), inter.end(), 0);
      const int32_t bw = rec.box.x1 - rec.box.x0;
      for (int32_t y = rec.box.y0; y < rec.box.y1; ++y)
        for (int32_t x = rec.box.x0; x < rec.box.x1; ++x)
          if (rec.mask[size_t((y - rec.box.y0) * bw + (x - rec.box.x0))]) ++inter[size_t(seg.index[size_t(y * w + x)])];
      for (int64_t c = 0; c < N; ++c) {
        if (rec.class_id != seg.classes[size_t(c)] || track_of[size_t(c + 1)] > 0) continue;
        const int64_t k = inter[size_t(c + 1)];
        iou[size_t(i * N + c)] = double(k) / double(rec.area + seg.areas[size_t(c)] - k);
      }
    }
    assign(iou, iou, L, N, [&](int64_t r, int64_t c) { track_of[size_t(c + 1)] = lost[size_t(r)]->id; });
  }

  // _assign: maximum-score pairs whose IoU reaches the threshold.
  template <class F>
  void assign(const std::vector<double>& score, const std::vector<double>& iou, int64_t nr, int64_t nc, F take) const {
    std::vector<int64_t> rows, cols;
    vps::lsap(score, nr, nc, true, rows, cols);
    for (size_t k = 0; k < rows.size(); ++k)
      if (iou[size_t(rows[k] * nc + cols[k])] >= config.iou_threshold) take(rows[k], cols[k]);
  }

  // _commit
  void commit(Segments& seg, const std::vector<int64_t>& track_of) {
    const int64_t fi = frame_index, N = seg.count();
    std::unordered_set<int64_t> visible;
    for (int64_t j = 0; j < N; ++j) {
      const int64_t tid = track_of[size_t(j + 1)];
      visible.insert(tid);
      Record* rec = find(tid);
      if (rec == nullptr) {
        const size_t k = size_t(j);
        tracks.push_back(Record{tid, seg.classes[k], fi, fi, seg.areas[k], seg.boxes[k], false, {}});
      } else {
        rec->last_frame = fi, rec->area = seg.areas[size_t(j)], rec->box = seg.boxes[size_t(j)];
        rec->lost = false, rec->mask.clear();
      }
    }
    for (size_t slot = 1; has_prev && slot < slot_tracks.size(); ++slot) {
      if (visible.count(slot_tracks[slot])) continue;
      Record& rec = *find(slot_tracks[slot]);
      rec.lost = true;
      rec.mask.clear();
      for (int32_t y = rec.box.y0; y < rec.box.y1; ++y)
        for (int32_t x = rec.box.x0; x < rec.box.x1; ++x) rec.mask.push_back(slots[size_t(y * w + x)] == int32_t(slot));
    }
    const int64_t max_lost = config.max_lost;
    const auto stale = [&](const Record& r) { return fi - r.last_frame > max_lost; };  // forgotten
    tracks.erase(std::remove_if(tracks.begin(), tracks.end(), stale), tracks.end());
    slots.swap(seg.index);
    slot_tracks = track_of;
    model_ids.clear();
    for (int64_t j = 0; j < N; ++j) model_ids[seg.keys[size_t(j)]] = track_of[size_t(j + 1)];
    has_prev = true;
    reported_frame = fi;
    frame_index = fi + 1;
  }

  void update(const int32_t* pan, int64_t mh, int64_t mw, int32_t* semantic, int32_t* track_ids) {
    for (int64_t p = 0; p < mh * mw; ++p)
      if (pan[p] < 0) vps::fail("pan: panoptic ids must be >= 0");
    if (has_prev && (mh != h || mw != w))
      vps::fail("pan: map size changed from (" + std::to_string(h) + ", " + std::to_string(w) + ") to (" +
                std::to_string(mh) + ", " + std::to_string(mw) + ") mid-sequence; call reset()", VPS_ERR_STATE);
    h = mh, w = mw;
    Segments seg = segments(pan);
    std::vector<int64_t> track_of(static_cast<size_t>(seg.count() + 1), 0);  // instance -> track id, 0 = undecided
    match_previous(seg, track_of);
    revive_lost(seg, track_of);
    for (size_t j = 1; j < track_of.size(); ++j) {
      if (track_of[j] != 0) continue;
      if (next_id > kMaxTrackId)
        vps::fail("all 2147483647 track ids are used up; restart the runtime", VPS_ERR_OVERFLOW);
      track_of[j] = next_id++;
    }
    for (int64_t p = 0; p < h * w; ++p) {
      if (semantic != nullptr) semantic[p] = pan[p] / divisor;
      track_ids[p] = int32_t(track_of[size_t(seg.index[size_t(p)])]);
    }
    commit(seg, track_of);
  }
};

using namespace vps;

extern "C" {

vps_tracker_config vps_tracker_default_config(void) { return vps_tracker_config{0.5, 10, 4}; }

vps_status vps_tracker_create(const vps_tracker_config* config, const int32_t* thing_ids, int64_t n_things,
                              int32_t label_divisor, vps_tracker** out) {
  return guard([&] {
    check_ptr(config, "config");
    check_ptr(out, "out");
    check_divisor(label_divisor);
    if (!(config->iou_threshold > 0.0 && config->iou_threshold <= 1.0))
      fail("config: iou_threshold must lie in (0, 1], got " + std::to_string(config->iou_threshold));
    if (config->max_lost < 0 || config->min_area < 1) fail("config: need max_lost >= 0 and min_area >= 1");
    if (n_things < 0 || (n_things > 0 && thing_ids == nullptr)) fail("thing_ids: NULL or negative n_things");
    auto t = std::make_unique<vps_tracker>();
    t->config = *config;
    t->divisor = label_divisor;
    for (int64_t k = 0; k < n_things; ++k) {
      if (thing_ids[k] < 0 || thing_ids[k] >= (1 << 20))
        fail("thing_ids: class ids must lie in 0..1048575, got " + std::to_string(thing_ids[k]));
      if (size_t(thing_ids[k]) >= t->is_thing.size()) t->is_thing.resize(size_t(thing_ids[k]) + 1, 0);
      t->is_thing[size_t(thing_ids[k])] = 1;
    }
    *out = t.release();
  });
}

void vps_tracker_destroy(vps_tracker* tracker) { delete tracker; }

vps_status vps_tracker_reset(vps_tracker* tracker) {
  return guard([&] {
    check_ptr(tracker, "tracker");
    tracker->reset();
  });
}

vps_status vps_tracker_restart(vps_tracker* tracker, int64_t next_id) {
  return guard([&] {
    check_ptr(tracker, "tracker");
    if (next_id < 1) fail("next_id must be >= 1, got " + std::to_string(next_id));
    tracker->next_id = next_id;
    tracker->reset();
  });
}

vps_status vps_tracker_update(vps_tracker* tracker, const int32_t* pan, int64_t h, int64_t w, int32_t* semantic,
                              int32_t* track_ids) {
  return guard([&] {
    check_ptr(tracker, "tracker");
    check_ptr(pan, "pan");
    check_ptr(track_ids, "track_ids");
    check_hw(h, w, "pan");
    tracker->update(pan, h, w, semantic, track_ids);
  });
}

vps_status vps_tracker_tracks(const vps_tracker* tracker, int32_t lost, vps_track* out, int64_t capacity,
                              int64_t* count) {
  return guard([&] {
    check_ptr(tracker, "tracker");
    check_ptr(count, "count");
    if (capacity < 0 || (capacity > 0 && out == nullptr)) fail("out: NULL or negative capacity");
    int64_t k = 0;
    const int64_t fi = tracker->reported_frame;
    for (const Record& r : tracker->tracks) {
      if (r.lost != (lost != 0)) continue;
      if (k < capacity)
        out[k] = vps_track{r.id, r.class_id, r.area, r.box.x0, r.box.y0, r.box.x1, r.box.y1,
                           fi - r.first_frame + 1, fi - r.last_frame};
      ++k;
    }
    *count = k;
  });
}

vps_status vps_tracker_counters(const vps_tracker* tracker, int64_t* next_id, int64_t* sequence_first_id,
                                int64_t* frame_index) {
  return guard([&] {
    check_ptr(tracker, "tracker");
    if (next_id) *next_id = tracker->next_id;
    if (sequence_first_id) *sequence_first_id = tracker->sequence_first_id;
    if (frame_index) *frame_index = tracker->frame_index;
  });
}

}  // extern "C"
