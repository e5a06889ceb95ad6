/* C tests of vps_core's stateless functions: known answers and refused arguments (plain C99, no Python). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vps_core.h"


static void test_bits_roundtrip(void) {
  vps_bit_layout L = vps_default_layout();
  int32_t pan[6] = {0, 1000, 13255, 255255, 11001, 7};
  float bits[16 * 6];
  int32_t back[6];
  CHECK(vps_panoptic_to_bits(pan, 2, 3, &L, bits) == VPS_OK);
  CHECK(bits[0 * 6 + 1] == 0.1f);            /* class 1 of pixel 1: bit 0 set */
  CHECK(bits[0 * 6 + 0] == -0.1f);           /* pixel 0 is all zero bits */
  CHECK(bits[8 * 6 + 5] == 0.1f);            /* instance 7 of pixel 5: bit 0 set */
  CHECK(vps_bits_to_panoptic(bits, 2, 3, &L, back) == VPS_OK);
  CHECK(memcmp(pan, back, sizeof pan) == 0);
  pan[0] = 256000; /* class 256 */
  CHECK(vps_panoptic_to_bits(pan, 2, 3, &L, bits) == VPS_ERR_ARGUMENT);
  CHECK(strstr(vps_last_error(), "class ids") != NULL);
  CHECK(vps_panoptic_to_bits(NULL, 2, 3, &L, bits) == VPS_ERR_ARGUMENT);
  CHECK(strstr(vps_last_error(), "pan") != NULL);
  L.class_bits = 9;
  CHECK(vps_panoptic_to_bits(pan, 2, 3, &L, bits) == VPS_ERR_ARGUMENT);
  CHECK(strstr(vps_last_error(), "layout") != NULL);
}

static void test_decode(void) {
  enum { H = 2, W = 2, N = H * W };
  float *x = calloc(512 * N, sizeof(float));
  int32_t out[4 * 6];
  int p;
  for (p = 0; p < N; ++p) {
    x[(13 * N) + p] = 1.0f;          /* class 13 */
    x[(256 + p + 1) * N + p] = 2.0f; /* instance p + 1 */
  }
  x[(256 + 9) * N + 3] = NAN; /* NaN beats everything */
  CHECK(vps_decode_panoptic(x, 512, H, W, 1000, H, W, out) == VPS_OK);
  CHECK(out[0] == 13001 && out[1] == 13002 && out[2] == 13003 && out[3] == 13009);
  CHECK(vps_decode_panoptic(x, 512, H, W, 1000, 4, 6, out) == VPS_OK); /* nearest upsampling */
  CHECK(out[0] == 13001 && out[5] == 13002 && out[18] == 13003 && out[23] == 13009);
  CHECK(vps_decode_panoptic(x, 100, H, W, 1000, H, W, out) == VPS_ERR_ARGUMENT);
  CHECK(strstr(vps_last_error(), "channels") != NULL);
  free(x);
}

static void test_nearest_and_restore(void) {
  int64_t idx[82];
  vps_geometry g;
  int32_t labels[4] = {1, 2, 3, 4}, out[6 * 4];
  CHECK(vps_nearest_index(8, 82, idx) == VPS_OK);
  CHECK(idx[41] == 3); /* torch's float32 rule (OpenCV says 4) */
  CHECK(vps_geometry_fit(375, 1242, 192, 624, VPS_RESIZE_STRETCH, &g) == VPS_OK);
  CHECK(g.content_h == 192 && g.top == 0);
  CHECK(vps_geometry_fit(100, 100, 50, 100, VPS_RESIZE_LETTERBOX, &g) == VPS_OK);
  CHECK(g.content_h == 50 && g.content_w == 50 && g.left == 25);
  CHECK(vps_geometry_fit(3, 4, 2, 2, VPS_RESIZE_STRETCH, &g) == VPS_OK);
  g.frame_h = 6, g.frame_w = 4;
  CHECK(vps_restore_labels(labels, 1, 2, 2, &g, out) == VPS_OK);
  CHECK(out[0] == 1 && out[3] == 2 && out[23] == 4);
  CHECK(vps_restore_labels(labels, 1, 0, 2, &g, out) == VPS_ERR_ARGUMENT);
}

static void test_postprocess(void) {
  /* 1x6: instance 5 with classes 11, 11, 13 -> majority 11; instance 3 of 1 pixel under min_area 2 */
  int32_t pan[6] = {11005, 11005, 13005, 13003, 0, 2007}, out[6];
  int32_t things[2] = {11, 13};
  CHECK(vps_postprocess_panoptic(pan, 1, 6, things, 2, 2, 1000, 0, out) == VPS_OK);
  CHECK(out[0] == 11005 && out[2] == 11005 && out[3] == 13000 && out[4] == 0 && out[5] == 2000);
  things[0] = 256;
  CHECK(vps_postprocess_panoptic(pan, 1, 6, things, 2, 2, 1000, 0, out) == VPS_ERR_ARGUMENT);
  CHECK(strstr(vps_last_error(), "thing_ids") != NULL);
}

static void test_split(void) {
  /* one instance in two parts: sizes 3 (keeps its id) and 2 (new id 1) */
  int32_t pan[7] = {11002, 11002, 11002, 0, 11002, 11002, 0}, out[8];
  int32_t pan2[2 * 4] = {11002, 0, 0, 11002, 0, 0, 0, 11002};
  CHECK(vps_split_instance_parts(pan, 1, 7, 2, 1000, out) == VPS_OK);
  CHECK(out[0] == 11002 && out[4] == 11001 && out[5] == 11001);
  CHECK(vps_split_instance_parts(pan2, 2, 4, 2, 1000, out) == VPS_OK);
  CHECK(out[0] == 11000 && out[3] == 11002 && out[7] == 11002); /* parts {0} (too small), {3, 7} */
}

static void test_histogram_iou_lsap(void) {
  int32_t a[5] = {0, 1, 1, 2, 9}, b[5] = {1, 1, 0, 1, 0};
  int64_t hist[3 * 2], bad = -1, rows[3], cols[3];
  double iou[6];
  double cost[3 * 3] = {4, 1, 3, 2, 0, 5, 3, 2, 2};
  CHECK(vps_pair_histogram(a, b, 5, 3, 2, 1, 2, 0, 0, hist, &bad) == VPS_OK);
  CHECK(hist[0] == 0 && hist[1] == 1 && hist[2] == 1 && hist[3] == 1 && hist[5] == 0 && bad == 1);
  CHECK(vps_mask_iou(hist, 3, 2, iou) == VPS_OK);
  CHECK(fabs(iou[3] - 1.0 / 3.0) < 1e-15 && iou[4] == 0.0);
  CHECK(vps_linear_sum_assignment(cost, 3, 3, 0, rows, cols) == VPS_OK);
  CHECK(cols[0] == 1 && cols[1] == 0 && cols[2] == 2); /* scipy's documented example: total 5 */
  CHECK(vps_pair_histogram(a, b, 5, 0, 2, 0, 0, 0, 0, hist, NULL) == VPS_ERR_ARGUMENT);
}

int main(void) {
  test_bits_roundtrip();
  test_decode();
  test_nearest_and_restore();
  test_postprocess();
  test_split();
  test_histogram_iou_lsap();
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("test_core: all checks passed (vps_core %s, cuda %d)\n", vps_version(), vps_cuda_available());
  return failures ? 1 : 0;
}
