/*
 * vps_core: the host-side algorithms of the vps runtime (Pix2Seq-D video panoptic segmentation), bit for bit
 * as the Python runtime computes them (vps.bits, vps.kernels.reference, vps.runtime.postprocess,
 * vps.components, vps.runtime.frames, vps.runtime.tracker).
 *
 * Conventions
 * - Maps are dense, row-major, C-contiguous: "[h, w]" means h rows of w elements.
 * - Panoptic ids are int32 `class * label_divisor + instance`.
 * - Every function returns a vps_status; on failure vps_last_error() (thread-local) names the argument and
 *   the problem. No C++ exception ever crosses this boundary. Output buffers are written only on success;
 *   a frame the tracker refuses (bad ids, size change) leaves its state unchanged (running out of track ids,
 *   VPS_ERR_OVERFLOW, consumes the ids left, as the Python table does).
 * - Handles are opaque; create/destroy them with the functions below. A handle is not thread-safe: use one
 *   per stream (different handles may be used from different threads).
 */
#ifndef VPS_CORE_H
#define VPS_CORE_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && defined(VPS_CORE_SHARED)
#  ifdef VPS_CORE_BUILDING
#    define VPS_API __declspec(dllexport)
#  else
#    define VPS_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define VPS_API __attribute__((visibility("default")))
#else
#  define VPS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vps_status {
  VPS_OK = 0,
  VPS_ERR_ARGUMENT = 1, /* a bad argument (null pointer, size, id out of range); see vps_last_error() */
  VPS_ERR_STATE = 2,    /* the call does not fit the handle's state (e.g. map size changed mid-sequence) */
  VPS_ERR_OVERFLOW = 3, /* all 2**31 - 1 track ids are used up */
  VPS_ERR_MEMORY = 4,   /* allocation failed */
  VPS_ERR_INTERNAL = 5  /* a bug: please report with vps_last_error() */
} vps_status;

/* The message of the last failed call on this thread ("" if none). Valid until the next failing call. */
VPS_API const char* vps_last_error(void);
/* Library version, "MAJOR.MINOR.PATCH". */
VPS_API const char* vps_version(void);

/* ---- analog bits (vps.bits) ------------------------------------------------------------------------- */
typedef struct vps_bit_layout {
  int32_t class_bits;    /* 1..8 */
  int32_t instance_bits; /* 1..8 */
  double scale;          /* > 0; a 1 bit is +float32(scale), a 0 bit -float32(scale) */
  int32_t label_divisor; /* > 2**instance_bits - 1 */
} vps_bit_layout;

/* {8, 8, 0.1, 1000}: vps.bits.DEFAULT_LAYOUT. */
VPS_API vps_bit_layout vps_default_layout(void);

/* pan int32 [h, w] -> bits float32 [class_bits + instance_bits, h, w] (LSB first, class byte then
 * instance byte). Fails if a class id is outside 0..2**class_bits-1 or an instance id >= 2**instance_bits. */
VPS_API vps_status vps_panoptic_to_bits(const int32_t* pan, int64_t h, int64_t w, const vps_bit_layout* layout,
                                        float* bits);
/* bits float32 [num_bits, h, w] -> pan int32 [h, w] (a bit is set where the value is > 0). */
VPS_API vps_status vps_bits_to_panoptic(const float* bits, int64_t h, int64_t w, const vps_bit_layout* layout,
                                        int32_t* pan);

/* ---- decoding (vps.kernels.reference.decode_panoptic_reference) ------------------------------------ */
/* x float32 [channels, h, w] with channels 512 (logits: argmax of each 256-logit group, first index wins,
 * NaN beats everything) or 16 (analog bits: > 0). out int32 [out_h, out_w] = class * label_divisor +
 * instance, nearest-resized with vps_nearest_index along each axis (out_h = h, out_w = w: no resize). */
VPS_API vps_status vps_decode_panoptic(const float* x, int64_t channels, int64_t h, int64_t w,
                                       int32_t label_divisor, int64_t out_h, int64_t out_w, int32_t* out);
/* index int64 [n_out]: src = min(floor(float32(dst) * (float32(n_in) / float32(n_out))), n_in - 1), computed
 * in float32 (torch's nearest interpolation). */
VPS_API vps_status vps_nearest_index(int64_t n_in, int64_t n_out, int64_t* index);

/* ---- frame geometry and label restore (vps.runtime.frames) ----------------------------------------- */
typedef struct vps_geometry {
  int32_t frame_h, frame_w;     /* camera frame */
  int32_t network_h, network_w; /* network input */
  int32_t content_h, content_w; /* resized frame inside the network input */
  int32_t top, left;            /* offset of the content (0, 0 for stretch) */
} vps_geometry;

typedef enum vps_resize_mode { VPS_RESIZE_STRETCH = 0, VPS_RESIZE_LETTERBOX = 1 } vps_resize_mode;

/* FrameGeometry.fit: the geometry of fitting a frame into the network input. */
VPS_API vps_status vps_geometry_fit(int32_t frame_h, int32_t frame_w, int32_t network_h, int32_t network_w,
                                    vps_resize_mode mode, vps_geometry* out);
/* labels int32 [batch, h, w] covering the network input -> out int32 [batch, frame_h, frame_w] (nearest,
 * FrameGeometry.source_indices: float64 floor((top + i * content/frame) * labels/network), clipped). */
VPS_API vps_status vps_restore_labels(const int32_t* labels, int64_t batch, int64_t h, int64_t w,
                                      const vps_geometry* geometry, int32_t* out);

/* ---- post-processing (vps.runtime.postprocess, vps.components) ------------------------------------- */
/* One panoptic map pan int32 [h, w] cleaned into out int32 [h, w] (out may equal pan): instance ids on
 * stuff cleared, majority thing class per instance, instances under min_area pixels lose their id, and
 * with min_part_area > 0 detached parts split (vps.components.split_instance_parts). thing_ids: n_things
 * class ids in 0..255. */
VPS_API vps_status vps_postprocess_panoptic(const int32_t* pan, int64_t h, int64_t w, const int32_t* thing_ids,
                                            int64_t n_things, int64_t min_area, int32_t label_divisor,
                                            int64_t min_part_area, int32_t* out);
/* vps.components.split_instance_parts alone (out may equal pan). */
VPS_API vps_status vps_split_instance_parts(const int32_t* pan, int64_t h, int64_t w, int64_t min_part_area,
                                            int32_t label_divisor, int32_t* out);

/* ---- pair histogram and IoU (vps.kernels.pair_histogram, vps.kernels.mask_iou) --------------------- */
/* hist int64 [num_a, num_b] counts of (a[i], b[i]) over n pixels; pairs with a == ignore_a (if has_ignore_a),
 * b == ignore_b (if has_ignore_b) or an id outside [0, num_a) x [0, num_b) are not counted. out_of_range
 * (may be NULL) receives the number of non-ignored pixels with an id out of range. */
VPS_API vps_status vps_pair_histogram(const int32_t* a, const int32_t* b, int64_t n, int64_t num_a,
                                      int64_t num_b, int32_t has_ignore_a, int64_t ignore_a,
                                      int32_t has_ignore_b, int64_t ignore_b, int64_t* hist,
                                      int64_t* out_of_range);
/* iou float64 [num_a, num_b] = inter / (row area + column area - inter), 0 where the union is 0. */
VPS_API vps_status vps_mask_iou(const int64_t* hist, int64_t num_a, int64_t num_b, double* iou);

/* ---- assignment (scipy.optimize.linear_sum_assignment) --------------------------------------------- */
/* Optimal one-to-one assignment of a cost float64 [nr, nc] (finite values): min(nr, nc) pairs written to
 * rows/cols (rows ascending), the same pairs as scipy's solver, ties included. maximize != 0: maximum. */
VPS_API vps_status vps_linear_sum_assignment(const double* cost, int64_t nr, int64_t nc, int32_t maximize,
                                             int64_t* rows, int64_t* cols);

/* ---- track table (vps.runtime.tracker.TrackTable) --------------------------------------------------- */
typedef struct vps_tracker_config {
  double iou_threshold; /* (0, 1]; TrackerConfig default 0.5, the runtime's 0.1 */
  int32_t max_lost;     /* >= 0: frames a track may be absent and still be revived (default 10) */
  int32_t min_area;     /* >= 1: instances smaller than this get no track (default 4) */
} vps_tracker_config;

typedef struct vps_track {
  int64_t id;                /* 1 .. 2**31 - 1, never reused */
  int32_t class_id;
  int64_t area;              /* pixels in the last frame it was seen */
  int32_t x0, y0, x1, y1;    /* half-open box in map pixels */
  int64_t age;               /* frames since first seen (1 on its first frame) */
  int64_t frames_since_seen; /* 0 for a track visible in the last frame */
} vps_track;

typedef struct vps_tracker vps_tracker;

/* {0.5, 10, 4}: TrackerConfig(). */
VPS_API vps_tracker_config vps_tracker_default_config(void);
/* thing_ids: the n_things classes that carry tracks (0 .. 2**20 - 1). */
VPS_API vps_status vps_tracker_create(const vps_tracker_config* config, const int32_t* thing_ids,
                                      int64_t n_things, int32_t label_divisor, vps_tracker** out);
VPS_API void vps_tracker_destroy(vps_tracker* tracker);
/* Start a new sequence: tracks forgotten, ids keep increasing. */
VPS_API vps_status vps_tracker_reset(vps_tracker* tracker);
/* Start a new sequence whose first new id is next_id (>= 1): mirrors an external table's counter. */
VPS_API vps_status vps_tracker_restart(vps_tracker* tracker, int64_t next_id);
/* Track one frame pan int32 [h, w] (ids >= 0). semantic (may be NULL): int32 [h, w] = pan / label_divisor;
 * track_ids: int32 [h, w], 0 = no track. */
VPS_API vps_status vps_tracker_update(vps_tracker* tracker, const int32_t* pan, int64_t h, int64_t w,
                                      int32_t* semantic, int32_t* track_ids);
/* Tracks after the last update: lost == 0 visible ones, else the lost ones kept for revival; by id.
 * *count receives how many there are; min(count, capacity) are written to out (may be NULL if capacity 0). */
VPS_API vps_status vps_tracker_tracks(const vps_tracker* tracker, int32_t lost, vps_track* out,
                                      int64_t capacity, int64_t* count);
/* Counters: next id to hand out, first id of this sequence, frames processed in this sequence. */
VPS_API vps_status vps_tracker_counters(const vps_tracker* tracker, int64_t* next_id,
                                        int64_t* sequence_first_id, int64_t* frame_index);

/* ---- CUDA twins (compiled only with VPS_CORE_CUDA; device pointers, stream = cudaStream_t) ----------- */
/* 1 if this build has the CUDA kernels below, else 0 (they then return VPS_ERR_STATE). */
VPS_API int32_t vps_cuda_available(void);
VPS_API vps_status vps_cuda_decode_panoptic(const float* x, int64_t channels, int64_t h, int64_t w,
                                            int32_t label_divisor, int64_t out_h, int64_t out_w, int32_t* out,
                                            void* stream);
/* hist must be zeroed by the caller; counts are added (int64, device memory). */
VPS_API vps_status vps_cuda_pair_histogram(const int32_t* a, const int32_t* b, int64_t n, int64_t num_a,
                                           int64_t num_b, int64_t* hist, void* stream);

#ifdef __cplusplus
}
#endif
#endif /* VPS_CORE_H */
