/* Drive vps_core's C API over a short clip, with no Python: the per-frame host work of the vps runtime
 * (decode -> post-process -> bits for the next frame -> track table -> restore to the frame size).
 *
 *   clip_example [--frames N] [--logits DIR]
 *
 * The exported graphs (encoder, context, denoiser steps) belong to the caller's inference engine (TensorRT,
 * ONNX Runtime C++ API). Here they are either a stub that "predicts" logits [512, h, w] of two cars driving
 * across the mask, or, with --logits DIR, the logits a real engine produced, one raw float32 file per
 * frame (DIR/meta.txt: "mask_h mask_w frame_h frame_w frames", then DIR/logits_0000.f32, ...; written by
 * cmake/examples/dump_logits.py with the Python ONNX Runtime backend).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vps_core.h"

#define TRY(call)                                                               \
  do {                                                                          \
    vps_status s_ = (call);                                                     \
    if (s_ != VPS_OK) {                                                         \
      fprintf(stderr, "%s failed (%d): %s\n", #call, (int)s_, vps_last_error()); \
      exit(1);                                                                  \
    }                                                                           \
  } while (0)

typedef struct clip {
  int mask_h, mask_w, frame_h, frame_w, frames;
  const char* dir; /* NULL: stub graphs */
} clip;

/* Stub graphs: logits [512, h, w] of a road (class 0) with two cars (class 13) moving right. `cond` (the
 * previous frame's bits [16, h, w]) is where a real denoiser would take its conditioning. */
static void stub_graphs(const clip* c, int f, const float* cond, float* logits) {
  const int n = c->mask_h * c->mask_w;
  int car, y, x;
  (void)cond;
  memset(logits, 0, sizeof(float) * 512 * (size_t)n);
  for (y = 0; y < n; ++y) logits[y] = 1.0f; /* class 0, instance 0 everywhere */
  for (y = 0; y < n; ++y) logits[256 * n + y] = 1.0f;
  for (car = 0; car < 2; ++car) {
    const int x0 = (f * (car + 1) + car * 20) % (c->mask_w - 8), y0 = 4 + car * 10;
    for (y = y0; y < y0 + 6 && y < c->mask_h; ++y)
      for (x = x0; x < x0 + 8; ++x) {
        logits[13 * n + y * c->mask_w + x] = 5.0f;
        logits[(256 + 1 + car) * n + y * c->mask_w + x] = 5.0f; /* model ids 1 and 2 */
      }
  }
}

static void read_logits(const clip* c, int f, float* logits) {
  char path[4096];
  size_t n = 512 * (size_t)c->mask_h * (size_t)c->mask_w;
  FILE* fp;
  snprintf(path, sizeof path, "%s/logits_%04d.f32", c->dir, f);
  fp = fopen(path, "rb");
  if (!fp || fread(logits, sizeof(float), n, fp) != n) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  fclose(fp);
}

static void parse(int argc, char** argv, clip* c) {
  int i;
  FILE* fp;
  char path[4096];
  *c = (clip){24, 80, 47, 155, 20, NULL};
  for (i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--frames") && i + 1 < argc) c->frames = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--logits") && i + 1 < argc) c->dir = argv[++i];
    else {
      printf("usage: %s [--frames N] [--logits DIR]\n(see the comment at the top of clip_example.c)\n", argv[0]);
      exit(strcmp(argv[i], "--help") ? 2 : 0);
    }
  }
  if (!c->dir) return;
  snprintf(path, sizeof path, "%s/meta.txt", c->dir);
  fp = fopen(path, "r");
  if (!fp || fscanf(fp, "%d %d %d %d %d", &c->mask_h, &c->mask_w, &c->frame_h, &c->frame_w, &c->frames) != 5) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  fclose(fp);
}

int main(int argc, char** argv) {
  const int32_t things[] = {11, 12, 13, 14, 15, 16, 17, 18}; /* KITTI-STEP: person, rider, car, ... */
  const vps_bit_layout layout = vps_default_layout();
  vps_tracker_config cfg = vps_tracker_default_config();
  vps_tracker* table = NULL;
  vps_geometry geo;
  clip c;
  int f;
  int64_t visible, lost, next_id;
  parse(argc, argv, &c);
  {
    const size_t n = (size_t)c.mask_h * c.mask_w, big = (size_t)c.frame_h * c.frame_w;
    float* logits = malloc(sizeof(float) * 512 * n);
    float* bits = calloc(16 * n, sizeof(float)); /* conditioning: zeros before the first frame */
    int32_t *ids = malloc(4 * n), *clean = malloc(4 * n), *sem = malloc(4 * n), *tracks = malloc(4 * n);
    int32_t* full = malloc(4 * big);
    cfg.iou_threshold = 0.1; /* the runtime's default (DEFAULT_TRACKER) */
    TRY(vps_tracker_create(&cfg, things, 8, layout.label_divisor, &table));
    TRY(vps_geometry_fit(c.frame_h, c.frame_w, c.mask_h * 4, c.mask_w * 4, VPS_RESIZE_STRETCH, &geo));
    for (f = 0; f < c.frames; ++f) {
      if (c.dir) read_logits(&c, f, logits);
      else stub_graphs(&c, f, bits, logits);
      TRY(vps_decode_panoptic(logits, 512, c.mask_h, c.mask_w, layout.label_divisor, c.mask_h, c.mask_w, ids));
      TRY(vps_postprocess_panoptic(ids, c.mask_h, c.mask_w, things, 8, 4, layout.label_divisor, 0, clean));
      TRY(vps_panoptic_to_bits(clean, c.mask_h, c.mask_w, &layout, bits)); /* next frame's conditioning */
      TRY(vps_tracker_update(table, clean, c.mask_h, c.mask_w, sem, tracks));
      TRY(vps_restore_labels(tracks, 1, c.mask_h, c.mask_w, &geo, full)); /* track ids at frame size */
      TRY(vps_tracker_tracks(table, 0, NULL, 0, &visible));
      TRY(vps_tracker_tracks(table, 1, NULL, 0, &lost));
      printf("frame %3d: %lld visible, %lld lost, track id at frame centre %d\n", f, (long long)visible,
             (long long)lost, full[(c.frame_h / 2) * c.frame_w + c.frame_w / 2]);
    }
    TRY(vps_tracker_counters(table, &next_id, NULL, NULL));
    printf("%d frames, %lld tracks created\n", c.frames, (long long)(next_id - 1));
    vps_tracker_destroy(table);
    free(logits), free(bits), free(ids), free(clean), free(sem), free(tracks), free(full);
  }
  return 0;
}
