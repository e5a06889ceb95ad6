// Build without a CUDA compiler: the CUDA entry points exist and say so.
#include "../internal.hpp"

extern "C" {

int32_t vps_cuda_available(void) { return 0; }

vps_status vps_cuda_decode_panoptic(const float*, int64_t, int64_t, int64_t, int32_t, int64_t, int64_t, int32_t*,
                                    void*) {
  return vps::guard([] { vps::fail("vps_core was built without CUDA (-DVPS_CORE_CUDA=ON)", VPS_ERR_STATE); });
}

vps_status vps_cuda_pair_histogram(const int32_t*, const int32_t*, int64_t, int64_t, int64_t, int64_t*, void*) {
  return vps::guard([] { vps::fail("vps_core was built without CUDA (-DVPS_CORE_CUDA=ON)", VPS_ERR_STATE); });
}

}  // extern "C"
