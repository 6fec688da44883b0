#pragma once
/// Small dense linear algebra for the active-set polish: a Cholesky factorisation and the
/// solution of the equality-constrained (saddle-point) system
///     [A  1] [y ]   [b  ]
///     [1' 0] [nu] = [rho]
/// with A symmetric positive semidefinite.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "covariance.hpp"

namespace rebalancing {

/// In-place lower Cholesky factor of the row-major m x m matrix a + delta I (upper part
/// ignored). Row-oriented so that every inner product runs over contiguous memory.
/// Returns false on a non-positive pivot.
inline bool cholesky(double* a, std::size_t m, double delta) {
    for (std::size_t i = 0; i < m; ++i) {
        double* row_i = a + i * m;
        for (std::size_t j = 0; j <= i; ++j) {
            const double* row_j = a + j * m;
            double v = row_i[j] - dot(row_i, row_j, j);
            if (i == j) {
                v += delta;
                if (!(v > 0.0)) return false;
                row_i[i] = std::sqrt(v);
            } else {
                row_i[j] = v / row_j[j];
            }
        }
    }
    return true;
}

/// Solves L L' x = b in place, L from cholesky().
inline void cholesky_solve(const double* l, std::size_t m, double* b) {
    for (std::size_t i = 0; i < m; ++i) b[i] = (b[i] - dot(l + i * m, b, i)) / l[i * m + i];
    for (std::size_t i = m; i-- > 0;) {
        double v = b[i];
        for (std::size_t k = i + 1; k < m; ++k) v -= l[k * m + i] * b[k];
        b[i] = v / l[i * m + i];
    }
}

/// Solves the saddle-point system above through the Schur complement of a regularised
/// factorisation (A + delta I = L L'), then refines against the exact A. Regularisation keeps
/// a rank-deficient A (sample covariance of few observations) factorisable; refinement removes
/// its bias whenever the saddle system itself is non-singular.
class SaddleSolver {
   public:
    /// Factorises a (row-major, m x m, copied). Returns false if no regularisation worked.
    bool factorize(const std::vector<double>& a, std::size_t m) {
        m_ = m;
        a_ = a;
        double scale = 0.0;
        for (std::size_t i = 0; i < m; ++i) scale = std::max(scale, std::abs(a[i * m + i]));
        if (scale == 0.0) scale = 1.0;
        // delta trades off the conditioning of the factor (larger helps a rank-deficient A)
        // against the speed of refinement (each step shrinks the error by delta / (lambda +
        // delta) along an eigenvalue lambda of A); 1e-10 relative converges in a few steps.
        for (double rel : {1e-11, 1e-9, 1e-7, 1e-5}) {
            l_ = a;
            if (cholesky(l_.data(), m, rel * scale)) {
                ones_.assign(m, 1.0);
                cholesky_solve(l_.data(), m, ones_.data());
                schur_ = 0.0;
                for (double v : ones_) schur_ += v;
                return schur_ > 0.0;
            }
        }
        return false;
    }

    /// y (length m) and nu from b and rho, by refinement steps from the initial guess in y
    /// and nu until the residual stops shrinking. Each step is a proximal-point step
    /// (A + delta I) dy = residual: when A is singular the system has many solutions, and the
    /// steps converge to one near the guess rather than jumping along the null space.
    void solve(const std::vector<double>& b, double rho, std::vector<double>& y, double& nu,
               int max_refinements = 60) const {
        std::vector<double> ry(m_), dy(m_);
        double previous = INFINITY;
        for (int k = 0; k < max_refinements; ++k) {
            double sum_y = 0.0, norm = 0.0;
            for (std::size_t i = 0; i < m_; ++i) {
                ry[i] = b[i] - dot(a_.data() + i * m_, y.data(), m_) - nu;
                sum_y += y[i];
                norm = std::max(norm, std::abs(ry[i]));
            }
            const double r_rho = rho - sum_y;
            norm = std::max(norm, std::abs(r_rho));
            if (!(norm < 0.9 * previous)) break;  // converged to rounding, or stagnating
            previous = norm;
            double dnu = 0.0;
            apply_inverse(ry, r_rho, dy, dnu);
            for (std::size_t i = 0; i < m_; ++i) y[i] += dy[i];
            nu += dnu;
        }
    }

   private:
    void apply_inverse(const std::vector<double>& b, double rho, std::vector<double>& y,
                       double& nu) const {
        y = b;
        cholesky_solve(l_.data(), m_, y.data());
        double sum = 0.0;
        for (double v : y) sum += v;
        nu = (sum - rho) / schur_;
        for (std::size_t i = 0; i < m_; ++i) y[i] -= nu * ones_[i];
    }

    std::size_t m_ = 0;
    std::vector<double> a_, l_, ones_;
    double schur_ = 0.0;
};

}  // namespace rebalancing
