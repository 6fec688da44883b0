#pragma once
/// Covariance operators: the solver only ever multiplies by Sigma, multiplies selected rows of
/// it, and extracts small principal submatrices for the active-set polish. A dense matrix and a
/// factor model (B F B' + D, another issue) implement the same interface.

#include <algorithm>
#include <cmath>
#include <cstddef>
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
};

/// A dense symmetric n x n matrix in row-major order. Non-owning: the caller keeps the memory
/// alive (the Python binding passes numpy's buffer without copying it).
class DenseCovariance final : public CovarianceOperator {
   public:
    DenseCovariance(const double* data, std::size_t n) : data_(data), n_(n) {}

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

    double max_abs_entry() const override {
        double m = 0.0;
        for (std::size_t k = 0; k < n_ * n_; ++k) m = std::max(m, std::abs(data_[k]));
        return m;
    }

    /// min(max absolute row sum, Frobenius norm): both bound the spectral norm. The Frobenius
    /// sum is taken of entries scaled by max|a_ij|, so that it neither underflows (entries near
    /// 1e-200) nor overflows.
    double eigenvalue_bound() const override {
        const double scale = max_abs_entry();
        if (scale == 0.0) return 0.0;
        double max_row = 0.0, frob = 0.0;
        for (std::size_t i = 0; i < n_; ++i) {
            double row = 0.0;
            const double* a = data_ + i * n_;
            for (std::size_t j = 0; j < n_; ++j) {
                const double v = a[j] / scale;
                row += std::abs(v);
                frob += v * v;
            }
            max_row = std::max(max_row, row);
        }
        return scale * std::min(max_row, std::sqrt(frob));
    }

   private:
    const double* data_;
    std::size_t n_;
};

}  // namespace rebalancing
