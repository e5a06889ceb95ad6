// CUDA twins of vps_decode_panoptic and vps_pair_histogram for C++ stacks whose engine leaves the logits on
// the GPU (compiled only with -DVPS_CORE_CUDA=ON when CMake finds a CUDA compiler). Same rules as the host
// functions and the project's Triton kernels (vps.kernels): argmax per 256-logit group (first maximum wins,
// the first NaN beats everything) or bit > 0, `class * divisor + instance`, torch's float32 nearest index;
// int64 pair counts of in-range ids. All pointers are device pointers; work is queued on `stream`.
// tests/test_cuda.c compares them with the host functions; it skips where no GPU is present.
#include <cuda_runtime.h>

#include <string>

#include "../internal.hpp"

namespace {
constexpr int kThreads = 256;
constexpr int64_t kPrivateBins = 8192;  // histograms up to this many bins are privatised in shared memory

// Value of one 256-logit group at pixel p of x [channels, n]: argmax, numpy's NaN and tie rules.
__device__ int group_argmax(const float* g, int64_t n, int64_t p) {
  float best = g[p];
  int idx = 0;
  for (int c = 1; c < 256; ++c) {
    const float v = g[int64_t(c) * n + p];
    const bool take = (v > best) | ((v != v) & (best == best));
    best = take ? v : best;
    idx = take ? c : idx;
  }
  return idx;
}

__device__ int group_bits(const float* g, int64_t n, int64_t p) {
  int v = 0;
  for (int k = 0; k < 8; ++k) v |= (g[int64_t(k) * n + p] > 0.0f ? 1 : 0) << k;
  return v;
}

// out [out_h, out_w]: each output pixel decodes its nearest source pixel of x [channels, h, w].
__global__ void decode_kernel(const float* x, bool logits, int64_t h, int64_t w, int32_t divisor, int64_t out_h,
                              int64_t out_w, float scale_h, float scale_w, int32_t* out) {
  const int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (q >= out_h * out_w) return;
  int64_t r = q / out_w, c = q % out_w;
  if (out_h != h || out_w != w) {
    r = min(int64_t(floorf(float(r) * scale_h)), h - 1);
    c = min(int64_t(floorf(float(c) * scale_w)), w - 1);
  }
  const int64_t n = h * w, p = r * w + c;
  const int cls = logits ? group_argmax(x, n, p) : group_bits(x, n, p);
  const int inst = logits ? group_argmax(x + 256 * n, n, p) : group_bits(x + 8 * n, n, p);
  out[q] = int32_t(int64_t(cls) * divisor + inst);
}

__global__ void histogram_kernel(const int32_t* a, const int32_t* b, int64_t n, int64_t num_a, int64_t num_b,
                                 unsigned long long* hist, bool private_bins) {
  extern __shared__ unsigned int local[];
  const int64_t bins = num_a * num_b;
  if (private_bins) {
    for (int64_t k = threadIdx.x; k < bins; k += blockDim.x) local[k] = 0;
    __syncthreads();
  }
  for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < n; p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = a[p], j = b[p];
    if (i < 0 || i >= num_a || j < 0 || j >= num_b) continue;
    if (private_bins)
      atomicAdd(&local[i * num_b + j], 1u);
    else
      atomicAdd(&hist[i * num_b + j], 1ull);
  }
  if (!private_bins) return;
  __syncthreads();
  for (int64_t k = threadIdx.x; k < bins; k += blockDim.x)
    if (local[k]) atomicAdd(&hist[k], (unsigned long long)local[k]);
}

void check_launch(const char* what) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) vps::fail(std::string(what) + ": " + cudaGetErrorString(e), VPS_ERR_STATE);
}
}  // namespace

extern "C" {

int32_t vps_cuda_available(void) {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0 ? 1 : 0;
}

vps_status vps_cuda_decode_panoptic(const float* x, int64_t channels, int64_t h, int64_t w, int32_t label_divisor,
                                    int64_t out_h, int64_t out_w, int32_t* out, void* stream) {
  return vps::guard([&] {
    vps::check_ptr(x, "x");
    vps::check_ptr(out, "out");
    if (channels != 512 && channels != 16)
      vps::fail("x: expected 512 logit or 16 bit channels, got " + std::to_string(channels));
    vps::check_hw(h, w, "x");
    vps::check_hw(out_h, out_w, "out");
    vps::check_divisor(label_divisor);
    const float scale_h = float(h) / float(out_h), scale_w = float(w) / float(out_w);  // host float32, as torch
    const int64_t blocks = (out_h * out_w + kThreads - 1) / kThreads;
    decode_kernel<<<unsigned(blocks), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        x, channels == 512, h, w, label_divisor, out_h, out_w, scale_h, scale_w, out);
    check_launch("decode kernel");
  });
}

vps_status vps_cuda_pair_histogram(const int32_t* a, const int32_t* b, int64_t n, int64_t num_a, int64_t num_b,
                                   int64_t* hist, void* stream) {
  return vps::guard([&] {
    vps::check_ptr(hist, "hist");
    if (n < 0) vps::fail("n must be >= 0");
    if (num_a < 1 || num_b < 1 || num_a > (int64_t(1) << 31) / num_b)
      vps::fail("num_a and num_b must be >= 1 with num_a * num_b < 2**31");
    if (n == 0) return;
    vps::check_ptr(a, "a");
    vps::check_ptr(b, "b");
    const bool private_bins = num_a * num_b <= kPrivateBins;
    const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 1024);
    const size_t shared = private_bins ? size_t(num_a * num_b) * sizeof(unsigned int) : 0;
    histogram_kernel<<<unsigned(blocks), kThreads, shared, static_cast<cudaStream_t>(stream)>>>(
        a, b, n, num_a, num_b, reinterpret_cast<unsigned long long*>(hist), private_bins);
    check_launch("pair histogram kernel");
  });
}

}  // extern "C"
