#pragma once
/// Small dense linear algebra for the active-set polish: a Cholesky factorisation and the
/// solution of the equality-constrained (saddle-point) system
///     [A  1] [y ]   [b  ]
///     [1' 0] [nu] = [rho]
/// with A symmetric positive semidefinite.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

namespace rebalancing {

/// Dot product with eight independent partial sums: a fixed summation order (so results are
/// reproducible) that compilers vectorise without -ffast-math.
inline double dot(const double* a, const double* b, std::size_t n) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (std::size_t k = 0; k < 8; ++k) acc[k] += a[j + k] * b[j + k];
    double tail = 0.0;
    for (; j < n; ++j) tail += a[j] * b[j];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

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

/// A reduced matrix A (the m x m block of 2 lam Sigma over the trading assets) as the saddle
/// solve needs it: products with A, and solves with A + delta I after factorize(delta).
class ReducedMatrix {
   public:
    virtual ~ReducedMatrix() = default;
    virtual std::size_t size() const = 0;
    /// out = A y.
    virtual void multiply(const double* y, double* out) const = 0;
    /// Prepares solve() for A + delta I; false if that failed (e.g. a non-positive pivot).
    virtual bool factorize(double delta) = 0;
    /// b <- (A + delta I)^{-1} b.
    virtual void solve(double* b) const = 0;
    /// max_i A_ii: the scale that delta is relative to.
    virtual double diagonal_scale() const = 0;
};

/// A dense reduced matrix, factorised by Cholesky: O(m^3).
class DenseReduced final : public ReducedMatrix {
   public:
    DenseReduced(std::vector<double> a, std::size_t m) : a_(std::move(a)), m_(m) {}
    std::size_t size() const override { return m_; }
    void multiply(const double* y, double* out) const override {
        for (std::size_t i = 0; i < m_; ++i) out[i] = dot(a_.data() + i * m_, y, m_);
    }
    bool factorize(double delta) override {
        l_ = a_;
        return cholesky(l_.data(), m_, delta);
    }
    void solve(double* b) const override { cholesky_solve(l_.data(), m_, b); }
    double diagonal_scale() const override {
        double scale = 0.0;
        for (std::size_t i = 0; i < m_; ++i) scale = std::max(scale, std::abs(a_[i * m_ + i]));
        return scale;
    }

   private:
    std::vector<double> a_, l_;
    std::size_t m_;
};

/// Solves the saddle-point system above through the Schur complement of a regularised
/// factorisation (A + delta I = L L'), then refines against the exact A. Regularisation keeps
/// a rank-deficient A (sample covariance of few observations) factorisable; refinement removes
/// its bias whenever the saddle system itself is non-singular.
class SaddleSolver {
   public:
    /// Factorises A + delta I for the first delta that works. Returns false if none did.
    /// `a` must outlive the solver.
    bool factorize(ReducedMatrix& a) {
        a_ = &a;
        m_ = a.size();
        double scale = a.diagonal_scale();
        if (scale == 0.0) scale = 1.0;
        // delta trades off the conditioning of the factor (larger helps a rank-deficient A)
        // against the speed of refinement (each step shrinks the error by delta / (lambda +
        // delta) along an eigenvalue lambda of A).
        for (double rel : {1e-11, 1e-9, 1e-7, 1e-5}) {
            if (a.factorize(rel * scale)) {
                ones_.assign(m_, 1.0);
                a.solve(ones_.data());
                schur_ = 0.0;
                for (double v : ones_) schur_ += v;
                if (schur_ > 0.0 && std::isfinite(schur_)) return true;
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
        std::vector<double> ry(m_), dy(m_), ay(m_);
        double previous = INFINITY;
        for (int k = 0; k < max_refinements; ++k) {
            a_->multiply(y.data(), ay.data());
            double sum_y = 0.0, norm = 0.0;
            for (std::size_t i = 0; i < m_; ++i) {
                ry[i] = b[i] - ay[i] - nu;
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
        a_->solve(y.data());
        double sum = 0.0;
        for (double v : y) sum += v;
        nu = (sum - rho) / schur_;
        for (std::size_t i = 0; i < m_; ++i) y[i] -= nu * ones_[i];
    }

    ReducedMatrix* a_ = nullptr;
    std::size_t m_ = 0;
    std::vector<double> ones_;
    double schur_ = 0.0;
};

}  // namespace rebalancing
