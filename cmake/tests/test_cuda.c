/* The CUDA twins against the host functions (built with -DVPS_CORE_CUDA=ON; skipped, exit code 77, where no
 * GPU is present). Random logits with ties and NaNs, three output sizes; random id maps with out-of-range ids. */
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vps_core.h"


static void* to_device(const void* host, size_t bytes) {
  void* dev = NULL;
  CHECK(cudaMalloc(&dev, bytes) == cudaSuccess);
  CHECK(cudaMemcpy(dev, host, bytes, cudaMemcpyHostToDevice) == cudaSuccess);
  return dev;
}

static void test_decode(int64_t h, int64_t w, int64_t channels, int64_t oh, int64_t ow) {
  const size_t n = (size_t)(channels * h * w);
  float* x = malloc(n * sizeof(float));
  int32_t *ref = malloc((size_t)(oh * ow) * 4), *got = malloc((size_t)(oh * ow) * 4), *dout = NULL;
  float* dx;
  size_t i;
  for (i = 0; i < n; ++i) x[i] = (float)(rand() % 5) - 2.0f; /* small integers: ties */
  for (i = 0; i < n; i += 997) x[i] = NAN;
  dx = to_device(x, n * sizeof(float));
  CHECK(cudaMalloc((void**)&dout, (size_t)(oh * ow) * 4) == cudaSuccess);
  CHECK(vps_decode_panoptic(x, channels, h, w, 1000, oh, ow, ref) == VPS_OK);
  CHECK(vps_cuda_decode_panoptic(dx, channels, h, w, 1000, oh, ow, dout, NULL) == VPS_OK);
  CHECK(cudaMemcpy(got, dout, (size_t)(oh * ow) * 4, cudaMemcpyDeviceToHost) == cudaSuccess);
  CHECK(memcmp(ref, got, (size_t)(oh * ow) * 4) == 0);
  cudaFree(dx), cudaFree(dout), free(x), free(ref), free(got);
}

static void test_histogram(int64_t n, int64_t num_a, int64_t num_b) {
  int32_t *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
  int64_t *ref = malloc((size_t)(num_a * num_b) * 8), *got = malloc((size_t)(num_a * num_b) * 8), *dh = NULL;
  int32_t *da, *db;
  int64_t i;
  for (i = 0; i < n; ++i) a[i] = rand() % (int)(num_a + 2) - 1, b[i] = rand() % (int)(num_b + 2) - 1;
  da = to_device(a, (size_t)n * 4), db = to_device(b, (size_t)n * 4);
  CHECK(cudaMalloc((void**)&dh, (size_t)(num_a * num_b) * 8) == cudaSuccess);
  CHECK(cudaMemset(dh, 0, (size_t)(num_a * num_b) * 8) == cudaSuccess);
  CHECK(vps_pair_histogram(a, b, n, num_a, num_b, 0, 0, 0, 0, ref, NULL) == VPS_OK);
  CHECK(vps_cuda_pair_histogram(da, db, n, num_a, num_b, dh, NULL) == VPS_OK);
  CHECK(cudaMemcpy(got, dh, (size_t)(num_a * num_b) * 8, cudaMemcpyDeviceToHost) == cudaSuccess);
  CHECK(memcmp(ref, got, (size_t)(num_a * num_b) * 8) == 0);
  cudaFree(da), cudaFree(db), cudaFree(dh), free(a), free(b), free(ref), free(got);
}

int main(void) {
  if (!vps_cuda_available()) {
    printf("test_cuda: no CUDA device, skipped\n");
    return 77;
  }
  test_decode(48, 160, 512, 48, 160);
  test_decode(48, 160, 512, 375, 1242);
  test_decode(192, 624, 16, 96, 311);
  test_histogram(192 * 624, 256, 256); /* many bins: global atomics */
  test_histogram(375 * 1242, 64, 64);  /* few bins: shared-memory privatisation */
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("test_cuda: all checks passed\n");
  return failures ? 1 : 0;
}
