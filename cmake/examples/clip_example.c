/* Drive vps_core's C API over a short clip, with no Python: the per-frame host work of the vps runtime
 * (decode -> post-process -> bits for the next frame -> track table -> restore to the frame size).
 *
 *   clip_example [--frames N] [--logits DIR]
 *
 * The exported graphs (encoder, context, denoiser steps) belong to the caller's inference engine (TensorRT,
 * ONNX Runtime's C++ API). Here they are either a stub that "predicts" logits [512, h, w] of two cars driving
 * across the mask, or, with --logits DIR, the logits the exported graphs produced under the Python ONNX
 * Runtime (cmake/examples/dump_logits.py writes DIR/meta.txt, DIR/logits_NNNN.f32 and the Python runtime's
 * track ids DIR/expected_NNNN.i32): then every frame's track ids are checked against the Python runtime's
 * (exit code 1 on a difference).
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

enum { MAX_THINGS = 256 };

typedef struct clip {
  int mask_h, mask_w, frame_h, frame_w, frames, net_h, net_w, letterbox, min_area, min_part_area;
  int num_classes, ignore_label, divisor, n_things;
  int32_t things[MAX_THINGS];
  const char* dir; /* NULL: stub graphs */
} clip;

/* Stub graphs: logits [512, h, w] of a road (class 0) with two cars (class 13) moving right. `cond` (the
 * previous frame's bits [16, h, w]) is where a real denoiser would take its conditioning. */
static void stub_graphs(const clip* c, int f, const float* cond, float* logits) {
  const int n = c->mask_h * c->mask_w;
  int car, y, x;
  (void)cond;
  memset(logits, 0, sizeof(float) * 512 * (size_t)n);
  for (y = 0; y < n; ++y) logits[y] = logits[256 * n + y] = 1.0f; /* class 0, instance 0 everywhere */
  for (car = 0; car < 2; ++car) {
    const int x0 = (f * (car + 1) + car * 20) % (c->mask_w - 8), y0 = 4 + car * 10;
    for (y = y0; y < y0 + 6 && y < c->mask_h; ++y)
      for (x = x0; x < x0 + 8; ++x) {
        logits[13 * n + y * c->mask_w + x] = 5.0f;
        logits[(256 + 1 + car) * n + y * c->mask_w + x] = 5.0f; /* model ids 1 and 2 */
      }
  }
}

/* Read DIR/<name>_NNNN.<ext> (count elements of size bytes) into buf; 0 if the file is missing. */
static int read_frame(const clip* c, const char* name, int f, void* buf, size_t size, size_t count) {
  char path[4096];
  FILE* fp;
  size_t got;
  snprintf(path, sizeof path, "%s/%s_%04d.%s", c->dir, name, f, strcmp(name, "logits") ? "i32" : "f32");
  fp = fopen(path, "rb");
  if (!fp) return 0;
  got = fread(buf, size, count, fp);
  fclose(fp);
  if (got != count) {
    fprintf(stderr, "%s: expected %zu values, read %zu\n", path, count, got);
    exit(1);
  }
  return 1;
}

static void read_meta(clip* c) {
  char path[4096];
  FILE* fp;
  int k, ok;
  snprintf(path, sizeof path, "%s/meta.txt", c->dir);
  fp = fopen(path, "r");
  ok = fp && fscanf(fp, "%d %d %d %d %d %d %d %d %d %d %d %d %d %d", &c->mask_h, &c->mask_w, &c->frame_h,
                    &c->frame_w, &c->frames, &c->net_h, &c->net_w, &c->letterbox, &c->min_area, &c->min_part_area,
                    &c->num_classes, &c->ignore_label, &c->divisor, &c->n_things) == 14;
  ok = ok && c->n_things >= 0 && c->n_things <= MAX_THINGS;
  for (k = 0; ok && k < c->n_things; ++k) ok = fscanf(fp, "%d", &c->things[k]) == 1;
  if (fp) fclose(fp);
  if (!ok) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
}

static void parse(int argc, char** argv, clip* c) {
  int i;
  memset(c, 0, sizeof *c);
  c->mask_h = 24, c->mask_w = 80, c->frame_h = 47, c->frame_w = 155, c->frames = 20, c->net_h = 48;
  c->net_w = 160, c->min_area = 4, c->num_classes = 19, c->ignore_label = 255, c->divisor = 1000;
  c->n_things = 2, c->things[0] = 11, c->things[1] = 13; /* KITTI-STEP: person, car */
  for (i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--frames") && i + 1 < argc) c->frames = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--logits") && i + 1 < argc) c->dir = argv[++i];
    else {
      printf("usage: %s [--frames N] [--logits DIR]\n(see the comment at the top of clip_example.c)\n", argv[0]);
      exit(strcmp(argv[i], "--help") ? 2 : 0);
    }
  }
  if (c->dir) read_meta(c);
}

/* Classes the dataset does not have become void (Segmenter._sanitize). */
static void sanitize(const clip* c, const int32_t* ids, int32_t* out, size_t n) {
  size_t p;
  for (p = 0; p < n; ++p) {
    const int32_t cls = ids[p] / c->divisor;
    out[p] = cls >= c->num_classes && cls != c->ignore_label ? c->ignore_label * c->divisor : ids[p];
  }
}

int main(int argc, char** argv) {
  clip c;
  vps_bit_layout layout = vps_default_layout();
  vps_tracker_config cfg = vps_tracker_default_config();
  vps_tracker* table = NULL;
  vps_geometry geo;
  int f, mismatches = 0;
  int64_t visible, lost, next_id;
  parse(argc, argv, &c);
  layout.label_divisor = c.divisor;
  {
    const size_t n = (size_t)c.mask_h * c.mask_w, big = (size_t)c.frame_h * c.frame_w;
    float* logits = malloc(sizeof(float) * 512 * n);
    float* bits = calloc(16 * n, sizeof(float)); /* conditioning: zeros before the first frame */
    int32_t *ids = malloc(4 * n), *clean = malloc(4 * n), *model = malloc(4 * n), *tracks = malloc(4 * n);
    int32_t *full = malloc(4 * big), *expected = malloc(4 * big);
    cfg.iou_threshold = 0.1; /* the runtime's default (DEFAULT_TRACKER) */
    TRY(vps_tracker_create(&cfg, c.things, c.n_things, c.divisor, &table));
    TRY(vps_geometry_fit(c.frame_h, c.frame_w, c.net_h, c.net_w,
                         c.letterbox ? VPS_RESIZE_LETTERBOX : VPS_RESIZE_STRETCH, &geo));
    for (f = 0; f < c.frames; ++f) {
      if (!c.dir) stub_graphs(&c, f, bits, logits);
      else if (!read_frame(&c, "logits", f, logits, 4, 512 * n)) {
        fprintf(stderr, "missing logits of frame %d in %s\n", f, c.dir);
        return 1;
      }
      TRY(vps_decode_panoptic(logits, 512, c.mask_h, c.mask_w, c.divisor, c.mask_h, c.mask_w, ids));
      TRY(vps_postprocess_panoptic(ids, c.mask_h, c.mask_w, c.things, c.n_things, c.min_area, c.divisor,
                                   c.min_part_area, clean));
      TRY(vps_panoptic_to_bits(clean, c.mask_h, c.mask_w, &layout, bits)); /* next frame's conditioning */
      sanitize(&c, clean, model, n);
      TRY(vps_tracker_update(table, model, c.mask_h, c.mask_w, NULL, tracks));
      TRY(vps_restore_labels(tracks, 1, c.mask_h, c.mask_w, &geo, full)); /* track ids at frame size */
      TRY(vps_tracker_tracks(table, 0, NULL, 0, &visible));
      TRY(vps_tracker_tracks(table, 1, NULL, 0, &lost));
      printf("frame %3d: %lld visible, %lld lost", f, (long long)visible, (long long)lost);
      if (c.dir && read_frame(&c, "expected", f, expected, 4, big)) {
        const int same = !memcmp(full, expected, 4 * big);
        mismatches += !same;
        printf(", track ids %s the Python runtime's", same ? "equal" : "DIFFER FROM");
      }
      printf("\n");
    }
    TRY(vps_tracker_counters(table, &next_id, NULL, NULL));
    printf("%d frames, %lld tracks created, %d frames differing from the Python runtime\n", c.frames,
           (long long)(next_id - 1), mismatches);
    vps_tracker_destroy(table);
    free(logits), free(bits), free(ids), free(clean), free(model), free(tracks), free(full), free(expected);
  }
  return mismatches ? 1 : 0;
}
