// Shared internals of vps_core: the error channel of the C API and argument checks.
//
// C API functions are written as `return guard([&] { ...; });`: the body throws vps::Error (a status plus a
// message naming the argument), guard() catches everything, stores the message in the thread-local last
// error and returns the status, so no exception ever crosses the C boundary.
#pragma once

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "vps_core.h"

namespace vps {

struct Error : std::runtime_error {
  vps_status status;
  Error(vps_status s, const std::string& message) : std::runtime_error(message), status(s) {}
};

void set_last_error(const std::string& message);

[[noreturn]] inline void fail(const std::string& message, vps_status status = VPS_ERR_ARGUMENT) {
  throw Error(status, message);
}

template <class F>
vps_status guard(F&& body) {
  try {
    body();
    return VPS_OK;
  } catch (const Error& e) {
    set_last_error(e.what());
    return e.status;
  } catch (const std::bad_alloc&) {
    set_last_error("out of memory");
    return VPS_ERR_MEMORY;
  } catch (const std::exception& e) {
    set_last_error(std::string("internal error: ") + e.what());
    return VPS_ERR_INTERNAL;
  } catch (...) {
    set_last_error("internal error");
    return VPS_ERR_INTERNAL;
  }
}

inline void check_ptr(const void* p, const char* name) {
  if (p == nullptr) fail(std::string(name) + " must not be NULL");
}

// A map size: positive, and h * w below 2**40 pixels.
inline void check_hw(int64_t h, int64_t w, const char* what) {
  if (h <= 0 || w <= 0 || h > (int64_t(1) << 31) || w > (int64_t(1) << 31) || h * w > (int64_t(1) << 40))
    fail(std::string(what) + ": expected positive sizes (h, w), got (" + std::to_string(h) + ", " +
         std::to_string(w) + ")");
}

inline void check_divisor(int32_t label_divisor) {
  if (label_divisor < 1) fail("label_divisor must be >= 1, got " + std::to_string(label_divisor));
}

// Python's floor division and modulo for a positive divisor.
inline int64_t floor_div(int64_t a, int64_t d) { return a >= 0 ? a / d : -((-a + d - 1) / d); }
inline int64_t floor_mod(int64_t a, int64_t d) { return a - floor_div(a, d) * d; }

// ---- algorithms shared between translation units (no argument checks: callers validate) ----------------
void split_parts(int32_t* pan, int64_t h, int64_t w, int64_t min_part_area, int32_t label_divisor);
void pair_hist(const int32_t* a, const int32_t* b, int64_t n, int64_t num_a, int64_t num_b, int64_t* hist);
void iou_from_hist(const int64_t* hist, int64_t num_a, int64_t num_b, double* iou);
// Pairs (row, col) of the optimal assignment of cost [nr, nc]; rows ascending (scipy's order).
void lsap(const std::vector<double>& cost, int64_t nr, int64_t nc, bool maximize, std::vector<int64_t>& rows,
          std::vector<int64_t>& cols);

}  // namespace vps
