#pragma once
/// The inner loop of a backtest: weights drift with asset returns period by period; on the
/// policy's check dates the portfolio is traded (to target here, or to whatever the caller
/// decides at an event), and costs are charged against the portfolio value.
///
/// Conventions (the Python layer documents them for users):
///   * row t of `returns` holds the simple returns of period t; the weights held over period t
///     are the post-trade weights of period t − 1 (the initial weights for t = 0);
///   * end of period t: v_i = w_i (1 + r_ti), gross return R_t = Σ v_i / Σ w_i − 1, pre-trade
///     weights w_i = v_i / Σ v; pre-trade value nav⁻_t = nav_{t−1} (1 + R_t);
///   * a trade z (weights after − before, Σ z = 0) costs, as a fraction of nav⁻_t,
///     Σ_k Σ_i rate_ki |z_i| (linear components: commission, half-spread, ...) plus
///     √nav⁻_t · Σ_i impact_ti |z_i|^{3/2} (square-root-law market impact with
///     impact_ti = coefficient · σ_ti / √ADV_i); nav_t = nav⁻_t (1 − cost). Costs are paid pro
///     rata, so the post-trade weights are exactly the ones chosen;
///   * a cash flow F_t (currency: > 0 a contribution, < 0 a withdrawal) arrives at the end of
///     period t, after the drift and before the policy looks: holdings h_i = w_i nav⁻_t become
///     h_i + x_i with Σ x = F_t, the value nav⁻_t + F_t, and the trades x cost as above with
///     z_i = x_i / (nav⁻_t + F_t). x is pro rata (x_i = F_t w_i: the weights do not move) or
///     "underweight": the x closest to the target in the least-squares sense that only buys
///     (contributions) or only sells (withdrawals, never more than held). With the gaps
///     d_i = w*_i (nav⁻_t + F_t) − h_i that is x_i = max(0, d_i − τ) for a contribution and
///     x_i = −min(h_i, max(0, −d_i − τ)) for a withdrawal, τ ≥ 0 the level that makes
///     Σ x = F_t (found by bisection: a water-filling).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace rebalancing {

/// Inputs of a backtest, viewed (not owned): row-major arrays.
struct BacktestData {
    const double* returns = nullptr;  ///< periods × assets simple returns
    std::size_t periods = 0;
    std::size_t assets = 0;
    const double* target = nullptr;        ///< assets
    const std::uint8_t* check = nullptr;   ///< periods: 1 where the policy looks at the portfolio
    const double* band = nullptr;          ///< assets, or null: an event needs |w − w*| > band
    const double* linear_rates = nullptr;  ///< components × assets, cost per unit weight traded
    std::size_t linear_components = 0;
    const double* impact = nullptr;     ///< periods × assets, or null (no market impact)
    const double* flows = nullptr;      ///< periods, currency, or null (no cash flows)
    bool flows_to_underweight = false;  ///< how flows are invested (see the header comment)
};

/// What happens at an event (a check date that, with bands, has a breach).
enum class OnEvent {
    trade_to_target,  ///< trade to target inside the loop and go on
    stop,             ///< return to the caller, who may call `trade` before resuming
};

/// Everything recorded per period; fresh vectors owned by the backtest.
struct BacktestRecord {
    std::vector<double> gross_return;  ///< R_t, before costs
    std::vector<double> turnover;      ///< one-way turnover ½ Σ |z_i| (fraction of nav⁻_t)
    std::vector<double> linear_cost;   ///< periods × components, fractions of nav⁻_t
    std::vector<double> impact_cost;   ///< fraction of nav⁻_t
    std::vector<double> nav;           ///< after flows and costs
    std::vector<double> max_drift;     ///< max_i |w_i − w*_i| before trading
    std::vector<std::uint8_t> traded;  ///< 1 where a non-zero trade was made
    std::vector<double> weights;       ///< periods × assets, after trading
    std::vector<double> flow;          ///< the cash flow invested at the end of each period
    /// periods × assets, the weights the policy saw (after the flow, before its trade); kept
    /// only with flows (otherwise they follow from the weights and the returns)
    std::vector<double> pre_trade;
};

class Backtest {
   public:
    Backtest(const BacktestData& data, const double* initial, double nav0, OnEvent on_event)
        : data_(data), on_event_(on_event), w_(initial, initial + data.assets), nav_(nav0) {
        const std::size_t periods = data.periods;
        rec_.gross_return.assign(periods, 0.0);
        rec_.turnover.assign(periods, 0.0);
        rec_.linear_cost.assign(periods * data.linear_components, 0.0);
        rec_.impact_cost.assign(periods, 0.0);
        rec_.nav.assign(periods, 0.0);
        rec_.max_drift.assign(periods, 0.0);
        rec_.traded.assign(periods, 0);
        rec_.weights.assign(periods * data.assets, 0.0);
        rec_.flow.assign(periods, 0.0);
        if (data.flows) rec_.pre_trade.assign(periods * data.assets, 0.0);
        change_.assign(data.assets, 0.0);
        added_.assign(data.linear_components, 0.0);
    }

    /// Advances to the next event and returns its period, or −1 when the data is exhausted.
    /// At an event the pre-trade weights are `weights()`; call `trade` (or not) and run again.
    long run() {
        if (at_event_) finish_period();
        while (t_ < data_.periods) {
            drift_one_period();
            if (data_.flows) {
                if (data_.flows[t_] != 0.0) apply_flow(data_.flows[t_]);
                std::copy(w_.begin(), w_.end(), rec_.pre_trade.begin() + t_ * data_.assets);
            }
            if (is_event()) {
                if (on_event_ == OnEvent::stop) {
                    at_event_ = true;
                    return static_cast<long>(t_);
                }
                trade_to(data_.target);
            }
            finish_period();
        }
        return -1;
    }

    /// Trades to `new_weights` at the current event (the caller checked they sum to one).
    void trade(const double* new_weights) {
        if (!at_event_) throw std::logic_error("trade() is only allowed at an event");
        trade_to(new_weights);
    }

    bool at_event() const { return at_event_; }
    std::size_t period() const { return t_; }
    const std::vector<double>& weights() const { return w_; }
    double nav() const { return nav_; }
    const BacktestRecord& record() const { return rec_; }

   private:
    void drift_one_period() {
        const std::size_t n = data_.assets;
        const double* r = data_.returns + t_ * n;
        double before = 0.0, after = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            before += w_[i];
            w_[i] *= 1.0 + r[i];
            after += w_[i];
        }
        const double growth = after / before;
        if (!(growth > 0.0) || !std::isfinite(growth))
            throw std::invalid_argument("the portfolio lost all its value in period " +
                                        std::to_string(t_));
        const double scale = 1.0 / after;
        double worst = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            w_[i] *= scale;
            worst = std::max(worst, std::fabs(w_[i] - data_.target[i]));
        }
        rec_.gross_return[t_] = growth - 1.0;
        rec_.max_drift[t_] = worst;
        nav_ *= growth;
    }

    bool is_event() const {
        if (!data_.check[t_]) return false;
        if (data_.band == nullptr) return true;
        for (std::size_t i = 0; i < data_.assets; ++i)
            if (std::fabs(w_[i] - data_.target[i]) > data_.band[i]) return true;
        return false;
    }

    void trade_to(const double* new_weights) {
        const std::size_t n = data_.assets;
        for (std::size_t i = 0; i < n; ++i) change_[i] = std::fabs(new_weights[i] - w_[i]);
        const double traded = charge(change_.data());
        std::copy(new_weights, new_weights + n, w_.begin());
        rec_.turnover[t_] += 0.5 * traded;
        rec_.traded[t_] = rec_.traded[t_] || traded > 0.0;
    }

    /// Charges the costs of trading |z_i| = z[i] (fractions of nav_) and takes them from nav_;
    /// returns Σ |z_i|.
    double charge(const double* z) {
        const std::size_t n = data_.assets, k_count = data_.linear_components;
        double traded = 0.0, impact = 0.0, cost = 0.0;
        double* linear = rec_.linear_cost.data() + t_ * k_count;
        const double* impact_row = data_.impact ? data_.impact + t_ * n : nullptr;
        std::vector<double>& added = added_;
        std::fill(added.begin(), added.end(), 0.0);
        for (std::size_t i = 0; i < n; ++i) {
            traded += z[i];
            for (std::size_t k = 0; k < k_count; ++k)
                added[k] += data_.linear_rates[k * n + i] * z[i];
            if (impact_row) impact += impact_row[i] * z[i] * std::sqrt(z[i]);
        }
        impact *= std::sqrt(nav_);
        for (std::size_t k = 0; k < k_count; ++k) cost += added[k];
        cost += impact;
        if (!(cost < 1.0))
            throw std::invalid_argument("trading costs in period " + std::to_string(t_) +
                                        " exceed the portfolio value");
        for (std::size_t k = 0; k < k_count; ++k) linear[k] += added[k];
        rec_.impact_cost[t_] += impact;
        nav_ *= 1.0 - cost;
        return traded;
    }

    /// Invests a cash flow (see the header comment) and charges its trades.
    void apply_flow(double flow) {
        const std::size_t n = data_.assets;
        const double before = nav_, after = nav_ + flow;
        if (!(after > 0.0) || !std::isfinite(after))
            throw std::invalid_argument("the withdrawal in period " + std::to_string(t_) +
                                        " is not less than the portfolio value");
        std::vector<double>& x = change_;  // the flow's trades, currency
        if (!data_.flows_to_underweight) {
            for (std::size_t i = 0; i < n; ++i) x[i] = flow * w_[i];
        } else {
            // amount(τ) = Σ of the trades at level τ, non-increasing in τ; amount(0) ≥ |flow|
            // when Σ w = Σ w* = 1 and amount(τ) = 0 for τ ≥ the largest gap.
            const double sign = flow > 0.0 ? 1.0 : -1.0;
            auto trade_at = [&](std::size_t i, double level) {
                const double held = w_[i] * before, gap = sign * (data_.target[i] * after - held);
                const double size = std::max(0.0, gap - level);
                return sign > 0.0 ? size : std::min(held, size);
            };
            auto amount = [&](double level) {
                double total = 0.0;
                for (std::size_t i = 0; i < n; ++i) total += trade_at(i, level);
                return total;
            };
            double low = 0.0, high = 0.0;
            for (std::size_t i = 0; i < n; ++i) high = std::max(high, trade_at(i, 0.0));
            const double wanted = std::fabs(flow);
            if (amount(0.0) > wanted) {
                for (int iter = 0; iter < 200 && high - low > 0.0; ++iter) {
                    const double mid = 0.5 * (low + high);
                    if (mid <= low || mid >= high) break;
                    (amount(mid) > wanted ? low : high) = mid;
                }
            } else {
                high = 0.0;
            }
            for (std::size_t i = 0; i < n; ++i) x[i] = sign * trade_at(i, high);
        }
        // New weights, normalized (the level's rounding leaves Σ x within an ulp or so of the
        // flow), then the trades' costs as fractions of the new value.
        double total = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            w_[i] = w_[i] * before + x[i];
            total += w_[i];
        }
        for (std::size_t i = 0; i < n; ++i) {
            w_[i] /= total;
            x[i] = std::fabs(x[i]) / after;
        }
        nav_ = after;
        charge(x.data());
        rec_.flow[t_] = flow;
    }

    void finish_period() {
        std::copy(w_.begin(), w_.end(), rec_.weights.begin() + t_ * data_.assets);
        rec_.nav[t_] = nav_;
        at_event_ = false;
        ++t_;
    }

    BacktestData data_;
    OnEvent on_event_;
    std::vector<double> w_;
    std::vector<double> change_;  // scratch: |trade| per asset
    std::vector<double> added_;   // scratch: the cost of one trade per linear component
    double nav_;
    std::size_t t_ = 0;
    bool at_event_ = false;
    BacktestRecord rec_;
};

}  // namespace rebalancing
