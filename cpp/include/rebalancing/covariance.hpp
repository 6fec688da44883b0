#pragma once
/// Covariance operators: the solver only ever multiplies by Sigma, multiplies selected rows of
/// it, and extracts small principal submatrices for the active-set polish. A dense matrix and a
/// factor model (B F B' + D, another issue) implement the same interface.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <vector>

#include "linalg.hpp"

namespace rebalancing {

class CovarianceOperator {
   public:
    virtual ~CovarianceOperator() = default;
    /// Number of assets n.
    virtual std::size_t size() const = 0;
    /// y = Sigma x.
    virtual void multiply(const double* x, double* y) const = 0;
    /// out[r] = (Sigma x)[rows[r]] for the listed rows only.
    virtual void multiply_rows(const std::vector<std::size_t>& rows, const double* x,
                               double* out) const = 0;
    /// y += Sigma[:, cols] coef: updates a product after a few entries of x changed.
    virtual void add_columns(const std::vector<std::size_t>& cols, const double* coef,
                             double* y) const = 0;
    /// Row-major |idx| x |idx| principal submatrix Sigma[idx, idx].
    virtual void principal_submatrix(const std::vector<std::size_t>& idx, double* out) const = 0;
    /// An upper bound on the largest eigenvalue (the Lipschitz constant of x -> Sigma x).
    virtual double eigenvalue_bound() const = 0;
    /// max_ij |Sigma_ij|: sets the rounding error of a computed product Sigma x.
    virtual double max_abs_entry() const = 0;
    /// scale * Sigma[idx, idx] for the saddle solves of the active-set methods. By default a
    /// dense principal submatrix (Cholesky, O(m^3)); a structured operator may do better.
    virtual std::unique_ptr<ReducedMatrix> reduced(const std::vector<std::size_t>& idx,
                                                   double scale) const {
        const std::size_t m = idx.size();
        std::vector<double> a(m * m);
        principal_submatrix(idx, a.data());
        for (double& v : a) v *= scale;
        return std::make_unique<DenseReduced>(std::move(a), m);
    }
};

/// The scale of a dense matrix, computed once: max|a_ij| and a bound on the spectral norm.
struct DenseStats {
    double max_abs = 0.0;
    /// min(max absolute row sum, Frobenius norm): both bound the spectral norm.
    double eigenvalue_bound = 0.0;
};

/// Two passes over the row-major n x n matrix a, with four independent partial results per
/// reduction so that the loops vectorise without -ffast-math. The Frobenius sum is taken of
/// entries scaled by 1 / max|a_ij|, so it neither underflows (entries near 1e-200) nor
/// overflows (near 1e200).
inline DenseStats dense_stats(const double* a, std::size_t n) {
    const std::size_t total = n * n;
    double lane_max[4] = {0, 0, 0, 0};
    std::size_t k = 0;
    for (; k + 4 <= total; k += 4)
        for (std::size_t l = 0; l < 4; ++l) {
            const double v = std::abs(a[k + l]);
            lane_max[l] = v > lane_max[l] ? v : lane_max[l];
        }
    for (; k < total; ++k) lane_max[0] = std::max(lane_max[0], std::abs(a[k]));
    DenseStats out;
    out.max_abs = std::max(std::max(lane_max[0], lane_max[1]), std::max(lane_max[2], lane_max[3]));
    if (out.max_abs == 0.0) return out;
    const double inv = 1.0 / out.max_abs;
    double max_row = 0.0, frob = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double* row = a + i * n;
        double lane_abs[4] = {0, 0, 0, 0}, lane_sq[4] = {0, 0, 0, 0};
        std::size_t j = 0;
        for (; j + 4 <= n; j += 4)
            for (std::size_t l = 0; l < 4; ++l) {
                const double v = row[j + l] * inv;
                lane_abs[l] += std::abs(v);
                lane_sq[l] += v * v;
            }
        for (; j < n; ++j) {
            const double v = row[j] * inv;
            lane_abs[0] += std::abs(v);
            lane_sq[0] += v * v;
        }
        max_row = std::max(max_row, (lane_abs[0] + lane_abs[1]) + (lane_abs[2] + lane_abs[3]));
        frob += (lane_sq[0] + lane_sq[1]) + (lane_sq[2] + lane_sq[3]);
    }
    out.eigenvalue_bound = out.max_abs * std::min(max_row, std::sqrt(frob));
    return out;
}

/// max_ij |a_ij - a_ji| of the row-major n x n matrix a: the symmetry check of a dense
/// covariance. Tile by tile (kTile x kTile blocks above the diagonal against their mirror
/// blocks below it), so that reading a column of the mirror block stays within a few cache
/// lines instead of striding across the whole matrix: one pass over each triangle. The value
/// equals numpy's max(abs(a - a.T)) exactly (x - y is -(y - x) in IEEE arithmetic).
inline double max_asymmetry(const double* a, std::size_t n) {
    constexpr std::size_t kTile = 32;
    double out = 0.0;
    for (std::size_t bi = 0; bi < n; bi += kTile) {
        const std::size_t ei = std::min(n, bi + kTile);
        for (std::size_t bj = bi; bj < n; bj += kTile) {
            const std::size_t ej = std::min(n, bj + kTile);
            for (std::size_t i = bi; i < ei; ++i) {
                const double* row = a + i * n;
                for (std::size_t j = std::max(bj, i + 1); j < ej; ++j) {
                    const double d = std::abs(row[j] - a[j * n + i]);
                    out = d > out ? d : out;
                }
            }
        }
    }
    return out;
}

/// A dense symmetric n x n matrix in row-major order. Non-owning: the caller keeps the memory
/// alive (the Python binding passes numpy's buffer without copying it). Its DenseStats are
/// computed on construction unless given (the Python layer computes them once per matrix).
class DenseCovariance final : public CovarianceOperator {
   public:
    DenseCovariance(const double* data, std::size_t n)
        : DenseCovariance(data, n, dense_stats(data, n)) {}
    DenseCovariance(const double* data, std::size_t n, DenseStats stats)
        : data_(data), n_(n), stats_(stats) {}

    std::size_t size() const override { return n_; }

    void multiply(const double* x, double* y) const override {
        for (std::size_t i = 0; i < n_; ++i) y[i] = dot(data_ + i * n_, x, n_);
    }

    /// Column j of a symmetric matrix is row j: contiguous.
    void add_columns(const std::vector<std::size_t>& cols, const double* coef,
                     double* __restrict y) const override {
        for (std::size_t c = 0; c < cols.size(); ++c) {
            const double* __restrict row = data_ + cols[c] * n_;
            const double a = coef[c];
            for (std::size_t j = 0; j < n_; ++j) y[j] += a * row[j];
        }
    }

    void multiply_rows(const std::vector<std::size_t>& rows, const double* x,
                       double* out) const override {
        for (std::size_t r = 0; r < rows.size(); ++r) out[r] = dot(data_ + rows[r] * n_, x, n_);
    }

    void principal_submatrix(const std::vector<std::size_t>& idx, double* out) const override {
        const std::size_t m = idx.size();
        for (std::size_t r = 0; r < m; ++r) {
            const double* row = data_ + idx[r] * n_;
            for (std::size_t c = 0; c < m; ++c) out[r * m + c] = row[idx[c]];
        }
    }

    double max_abs_entry() const override { return stats_.max_abs; }
    double eigenvalue_bound() const override { return stats_.eigenvalue_bound; }

   private:
    const double* data_;
    std::size_t n_;
    DenseStats stats_;
};

/// The scale of a factor model, computed once (O(n k^2)).
struct FactorStats {
    /// max_i Sigma_ii, which is max_ij |Sigma_ij| for a PSD Sigma (|S_ij| <= sqrt(S_ii S_jj)).
    double max_abs = 0.0;
    /// ||F||_F ||B'B||_F + max_i D_i >= lambda_max(B F B' + D).
    double eigenvalue_bound = 0.0;
};

/// Sigma = B F B' + diag(D): B is n x k (row-major), F k x k symmetric PSD, D >= 0 (n).
inline FactorStats factor_stats(const double* b, const double* f, const double* d, std::size_t n,
                                std::size_t k) {
    FactorStats out;
    std::vector<double> gram(k * k, 0.0), fb(k);
    double max_d = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double* bi = b + i * k;
        for (std::size_t r = 0; r < k; ++r)
            for (std::size_t c = 0; c < k; ++c) gram[r * k + c] += bi[r] * bi[c];
        for (std::size_t r = 0; r < k; ++r) fb[r] = dot(f + r * k, bi, k);
        out.max_abs = std::max(out.max_abs, dot(bi, fb.data(), k) + d[i]);
        max_d = std::max(max_d, d[i]);
    }
    double frob_f = 0.0, frob_g = 0.0;
    for (std::size_t t = 0; t < k * k; ++t) {
        frob_f += f[t] * f[t];
        frob_g += gram[t] * gram[t];
    }
    out.eigenvalue_bound = std::sqrt(frob_f) * std::sqrt(frob_g) + max_d;
    return out;
}

/// scale (B_I F B_I' + D_I) for the trading assets I of a factor model, solved by Woodbury:
/// with E = scale D_I + delta and W = sqrt(scale) B_I L, where L L' = F (+ a tiny jitter),
///     (E + W W')^{-1} = E^{-1} - E^{-1} W (I + W' E^{-1} W)^{-1} W' E^{-1},
/// O(m k^2) to factorise and O(m k) per solve instead of O(m^3). The jitter only changes the
/// preconditioner: products (and so the saddle solver's refinement) use F itself. Used when
/// every specific variance in I is well away from zero (E^{-1} stays moderate).
class FactorReduced final : public ReducedMatrix {
   public:
    FactorReduced(const double* b, const double* f, const double* d,
                  const std::vector<std::size_t>& idx, std::size_t k, double scale)
        : f_(f), m_(idx.size()), k_(k), scale_(scale), u_(m_ * k), dd_(m_), w_(m_ * k) {
        for (std::size_t r = 0; r < m_; ++r) {
            for (std::size_t c = 0; c < k; ++c) u_[r * k + c] = b[idx[r] * k + c];
            dd_[r] = scale * d[idx[r]];
        }
        // L with L L' = F + jitter I (lower, row-major; the upper part zeroed).
        std::vector<double> l(f, f + k * k);
        double f_scale = 0.0;
        for (std::size_t c = 0; c < k; ++c) f_scale = std::max(f_scale, std::abs(f[c * k + c]));
        if (f_scale == 0.0) f_scale = 1.0;
        for (double jitter : {1e-12, 1e-9, 1e-6}) {
            l.assign(f, f + k * k);
            if (cholesky(l.data(), k, jitter * f_scale)) break;
        }
        for (std::size_t r = 0; r < k; ++r)
            for (std::size_t c = r + 1; c < k; ++c) l[r * k + c] = 0.0;
        const double root = std::sqrt(scale);
        for (std::size_t r = 0; r < m_; ++r)
            for (std::size_t c = 0; c < k; ++c) {
                double v = 0.0;
                for (std::size_t t = c; t < k; ++t) v += u_[r * k + t] * l[t * k + c];
                w_[r * k + c] = root * v;
            }
        std::vector<double> fu(k);
        for (std::size_t r = 0; r < m_; ++r) {
            for (std::size_t c = 0; c < k; ++c) fu[c] = dot(f + c * k, u_.data() + r * k, k);
            diag_ = std::max(diag_, dd_[r] + scale * dot(u_.data() + r * k, fu.data(), k));
        }
    }

    std::size_t size() const override { return m_; }

    void multiply(const double* y, double* out) const override {
        std::vector<double> t(k_, 0.0), ft(k_);
        for (std::size_t r = 0; r < m_; ++r)
            for (std::size_t c = 0; c < k_; ++c) t[c] += u_[r * k_ + c] * y[r];
        for (std::size_t c = 0; c < k_; ++c) ft[c] = scale_ * dot(f_ + c * k_, t.data(), k_);
        for (std::size_t r = 0; r < m_; ++r)
            out[r] = dd_[r] * y[r] + dot(u_.data() + r * k_, ft.data(), k_);
    }

    bool factorize(double delta) override {
        e_.resize(m_);
        for (std::size_t r = 0; r < m_; ++r) {
            e_[r] = dd_[r] + delta;
            if (!(e_[r] > 0.0)) return false;
        }
        // K = I + W' E^{-1} W.
        kk_.assign(k_ * k_, 0.0);
        for (std::size_t r = 0; r < m_; ++r) {
            const double* wr = w_.data() + r * k_;
            const double inv = 1.0 / e_[r];
            for (std::size_t a = 0; a < k_; ++a)
                for (std::size_t c = 0; c <= a; ++c) kk_[a * k_ + c] += wr[a] * wr[c] * inv;
        }
        for (std::size_t a = 0; a < k_; ++a) kk_[a * k_ + a] += 1.0;
        return cholesky(kk_.data(), k_, 0.0);
    }

    void solve(double* b) const override {
        std::vector<double> t(k_, 0.0);
        for (std::size_t r = 0; r < m_; ++r) {
            b[r] /= e_[r];
            for (std::size_t c = 0; c < k_; ++c) t[c] += w_[r * k_ + c] * b[r];
        }
        cholesky_solve(kk_.data(), k_, t.data());
        for (std::size_t r = 0; r < m_; ++r) b[r] -= dot(w_.data() + r * k_, t.data(), k_) / e_[r];
    }

    double diagonal_scale() const override { return diag_; }

    /// Whether Woodbury suits these assets: every scaled specific variance at least 1e-6 of
    /// the largest diagonal entry (else E^{-1} is huge and the dense path is the safer one).
    static bool suits(const double* d, const std::vector<std::size_t>& idx, double max_diag) {
        for (std::size_t i : idx)
            if (!(d[i] >= 1e-6 * max_diag)) return false;
        return true;
    }

   private:
    const double* f_;
    std::size_t m_, k_;
    double scale_;
    std::vector<double> u_, dd_, w_, e_, kk_;
    double diag_ = 0.0;
};

/// A factor-model covariance: every product costs O(n k) instead of O(n^2), and Sigma is never
/// formed. Non-owning (the Python layer keeps the arrays alive); const methods allocate their
/// k-sized scratch locally, so one operator can be shared by threads solving many accounts.
class FactorCovariance final : public CovarianceOperator {
   public:
    FactorCovariance(const double* loadings, const double* factor_cov, const double* specific,
                     std::size_t n, std::size_t k, FactorStats stats)
        : b_(loadings), f_(factor_cov), d_(specific), n_(n), k_(k), stats_(stats) {}
    FactorCovariance(const double* loadings, const double* factor_cov, const double* specific,
                     std::size_t n, std::size_t k)
        : FactorCovariance(loadings, factor_cov, specific, n, k,
                           factor_stats(loadings, factor_cov, specific, n, k)) {}

    std::size_t size() const override { return n_; }

    void multiply(const double* x, double* y) const override {
        const std::vector<double> v = factor_part(x);
        for (std::size_t i = 0; i < n_; ++i) y[i] = dot(b_ + i * k_, v.data(), k_) + d_[i] * x[i];
    }

    void multiply_rows(const std::vector<std::size_t>& rows, const double* x,
                       double* out) const override {
        const std::vector<double> v = factor_part(x);
        for (std::size_t r = 0; r < rows.size(); ++r) {
            const std::size_t i = rows[r];
            out[r] = dot(b_ + i * k_, v.data(), k_) + d_[i] * x[i];
        }
    }

    /// y += Sigma[:, cols] coef = B F (B[cols]' coef) + D[cols] coef.
    void add_columns(const std::vector<std::size_t>& cols, const double* coef,
                     double* y) const override {
        std::vector<double> u(k_, 0.0), v(k_);
        for (std::size_t c = 0; c < cols.size(); ++c) {
            const double* bc = b_ + cols[c] * k_;
            for (std::size_t r = 0; r < k_; ++r) u[r] += coef[c] * bc[r];
        }
        for (std::size_t r = 0; r < k_; ++r) v[r] = dot(f_ + r * k_, u.data(), k_);
        for (std::size_t i = 0; i < n_; ++i) y[i] += dot(b_ + i * k_, v.data(), k_);
        for (std::size_t c = 0; c < cols.size(); ++c) y[cols[c]] += d_[cols[c]] * coef[c];
    }

    /// B_I F B_I' + diag(D_I): O(m k^2 + m^2 k).
    void principal_submatrix(const std::vector<std::size_t>& idx, double* out) const override {
        const std::size_t m = idx.size();
        std::vector<double> bf(m * k_);  // row r: F B_{idx[r]}' (F is symmetric)
        for (std::size_t r = 0; r < m; ++r)
            for (std::size_t c = 0; c < k_; ++c)
                bf[r * k_ + c] = dot(f_ + c * k_, b_ + idx[r] * k_, k_);
        for (std::size_t r = 0; r < m; ++r)
            for (std::size_t c = 0; c < m; ++c)
                out[r * m + c] =
                    dot(bf.data() + r * k_, b_ + idx[c] * k_, k_) + (r == c ? d_[idx[r]] : 0.0);
    }

    double eigenvalue_bound() const override { return stats_.eigenvalue_bound; }
    double max_abs_entry() const override { return stats_.max_abs; }

    /// Woodbury (O(m k^2)) once the trading set is large next to k and the specific variances
    /// allow it; the dense default otherwise.
    std::unique_ptr<ReducedMatrix> reduced(const std::vector<std::size_t>& idx,
                                           double scale) const override {
        if (idx.size() >= std::max<std::size_t>(64, 4 * k_) &&
            FactorReduced::suits(d_, idx, stats_.max_abs))
            return std::make_unique<FactorReduced>(b_, f_, d_, idx, k_, scale);
        return CovarianceOperator::reduced(idx, scale);
    }

   private:
    /// v = F B' x.
    std::vector<double> factor_part(const double* x) const {
        std::vector<double> u(k_, 0.0), v(k_);
        for (std::size_t i = 0; i < n_; ++i) {
            const double* bi = b_ + i * k_;
            for (std::size_t r = 0; r < k_; ++r) u[r] += x[i] * bi[r];
        }
        for (std::size_t r = 0; r < k_; ++r) v[r] = dot(f_ + r * k_, u.data(), k_);
        return v;
    }

    const double* b_;
    const double* f_;
    const double* d_;
    std::size_t n_, k_;
    FactorStats stats_;
};

}  // namespace rebalancing
