// Linear sum assignment by shortest augmenting paths (Jonker-Volgenant family, as described in
// D. F. Crouse, "On implementing 2D rectangular assignment algorithms", IEEE TAES 52(4), 2016), written here
// from that description. scipy.optimize.linear_sum_assignment implements the same method; to give the same
// pairs on ties (the tracker's ids must equal the Python table's) this implementation fixes the choices the
// description leaves open the same way:
//   * the smaller dimension is the row set (a wide matrix as given, a tall one transposed);
//   * rows are augmented in index order; columns are scanned from the last index down, and a scanned column
//     leaves the list by swapping in the list's last entry;
//   * of columns with equal reduced path cost the first one scanned wins, unless a later one is unassigned
//     (then the last such unassigned one wins: it ends the path);
//   * reduced costs are `((path_min + cost) - u_row) - v_col` in float64.
// tests/native/test_native_lsap.py checks the pairs against scipy on random, integer-tied and all-equal
// matrices.
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "internal.hpp"

namespace vps {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Solver {
  const std::vector<double>& cost;  // [nr, nc], nr <= nc
  int64_t nr, nc;
  std::vector<double> u, v, path_cost;
  std::vector<int64_t> col4row, row4col, path, todo;
  std::vector<bool> row_seen, col_seen;

  Solver(const std::vector<double>& c, int64_t r, int64_t n)
      : cost(c), nr(r), nc(n), u(size_t(r), 0.0), v(size_t(n), 0.0), path_cost(static_cast<size_t>(n)),
        col4row(size_t(r), -1), row4col(size_t(n), -1), path(size_t(n), -1), todo(static_cast<size_t>(n)),
        row_seen(size_t(r)), col_seen(static_cast<size_t>(n)) {}

  // Dijkstra from row `start` over reduced costs until an unassigned column is reached; returns it and the
  // length of the shortest path in `min_val`.
  int64_t shortest_path(int64_t start, double& min_val) {
    std::fill(path_cost.begin(), path_cost.end(), kInf);
    std::fill(row_seen.begin(), row_seen.end(), false);
    std::fill(col_seen.begin(), col_seen.end(), false);
    for (int64_t k = 0; k < nc; ++k) todo[size_t(k)] = nc - 1 - k;
    int64_t left = nc, row = start, sink = -1;
    min_val = 0.0;
    while (sink < 0) {
      row_seen[size_t(row)] = true;
      int64_t pick = -1;
      double lowest = kInf;
      for (int64_t k = 0; k < left; ++k) {
        const int64_t j = todo[size_t(k)];
        const double r = min_val + cost[size_t(row * nc + j)] - u[size_t(row)] - v[size_t(j)];
        if (r < path_cost[size_t(j)]) {
          path[size_t(j)] = row;
          path_cost[size_t(j)] = r;
        }
        const double pc = path_cost[size_t(j)];
        if (pc < lowest || (pc == lowest && row4col[size_t(j)] < 0)) {
          lowest = pc;
          pick = k;
        }
      }
      if (!(lowest < kInf)) fail("cost matrix is infeasible");
      min_val = lowest;
      const int64_t j = todo[size_t(pick)];
      if (row4col[size_t(j)] < 0)
        sink = j;
      else
        row = row4col[size_t(j)];
      col_seen[size_t(j)] = true;
      todo[size_t(pick)] = todo[size_t(--left)];
    }
    return sink;
  }

  void augment_row(int64_t start) {
    double min_val = 0.0;
    const int64_t sink = shortest_path(start, min_val);
    u[size_t(start)] += min_val;  // dual update
    for (int64_t i = 0; i < nr; ++i)
      if (row_seen[size_t(i)] && i != start) u[size_t(i)] += min_val - path_cost[size_t(col4row[size_t(i)])];
    for (int64_t j = 0; j < nc; ++j)
      if (col_seen[size_t(j)]) v[size_t(j)] -= min_val - path_cost[size_t(j)];
    for (int64_t j = sink;;) {  // flip the path
      const int64_t i = path[size_t(j)];
      row4col[size_t(j)] = i;
      std::swap(col4row[size_t(i)], j);
      if (i == start) break;
    }
  }
};
}  // namespace

void lsap(const std::vector<double>& cost, int64_t nr, int64_t nc, bool maximize, std::vector<int64_t>& rows,
          std::vector<int64_t>& cols) {
  rows.clear();
  cols.clear();
  if (nr == 0 || nc == 0) return;
  const bool transpose = nc < nr;
  const int64_t r = transpose ? nc : nr, c = transpose ? nr : nc;
  std::vector<double> work(static_cast<size_t>(nr * nc));
  for (int64_t i = 0; i < nr; ++i)
    for (int64_t j = 0; j < nc; ++j) {
      const double x = cost[size_t(i * nc + j)];
      if (!std::isfinite(x)) fail("cost: values must be finite");
      work[size_t(transpose ? j * nr + i : i * nc + j)] = maximize ? -x : x;
    }
  Solver s(work, r, c);
  for (int64_t i = 0; i < r; ++i) s.augment_row(i);
  if (!transpose) {
    for (int64_t i = 0; i < r; ++i) {
      rows.push_back(i);
      cols.push_back(s.col4row[size_t(i)]);
    }
    return;
  }
  std::vector<int64_t> orig_col_of(static_cast<size_t>(nr), -1);  // transposed: row i of `work` is original column i
  for (int64_t i = 0; i < r; ++i) orig_col_of[size_t(s.col4row[size_t(i)])] = i;
  for (int64_t i = 0; i < nr; ++i)
    if (orig_col_of[size_t(i)] >= 0) {
      rows.push_back(i);
      cols.push_back(orig_col_of[size_t(i)]);
    }
}

}  // namespace vps

extern "C" vps_status vps_linear_sum_assignment(const double* cost, int64_t nr, int64_t nc, int32_t maximize,
                                                int64_t* rows, int64_t* cols) {
  return vps::guard([&] {
    if (nr < 0 || nc < 0 || (nc > 0 && nr > (int64_t(1) << 40) / nc)) vps::fail("nr and nc must be >= 0");
    if (nr > 0 && nc > 0) {
      vps::check_ptr(cost, "cost");
      vps::check_ptr(rows, "rows");
      vps::check_ptr(cols, "cols");
    }
    std::vector<double> c(cost, cost + nr * nc);
    std::vector<int64_t> r, k;
    vps::lsap(c, nr, nc, maximize != 0, r, k);
    std::copy(r.begin(), r.end(), rows);
    std::copy(k.begin(), k.end(), cols);
  });
}
