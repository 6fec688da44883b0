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
///     rata, so the post-trade weights are exactly the ones chosen.
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
    const double* impact = nullptr;  ///< periods × assets, or null (no market impact)
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
    std::vector<double> nav;           ///< after costs
    std::vector<double> max_drift;     ///< max_i |w_i − w*_i| before trading
    std::vector<std::uint8_t> traded;  ///< 1 where a non-zero trade was made
    std::vector<double> weights;       ///< periods × assets, after trading
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
    }

    /// Advances to the next event and returns its period, or −1 when the data is exhausted.
    /// At an event the pre-trade weights are `weights()`; call `trade` (or not) and run again.
    long run() {
        if (at_event_) finish_period();
        while (t_ < data_.periods) {
            drift_one_period();
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
        const std::size_t n = data_.assets, k_count = data_.linear_components;
        const double root_nav = std::sqrt(nav_);
        double traded = 0.0, impact = 0.0, cost = 0.0;
        double* linear = rec_.linear_cost.data() + t_ * k_count;
        const double* impact_row = data_.impact ? data_.impact + t_ * n : nullptr;
        for (std::size_t i = 0; i < n; ++i) {
            const double z = std::fabs(new_weights[i] - w_[i]);
            traded += z;
            for (std::size_t k = 0; k < k_count; ++k)
                linear[k] += data_.linear_rates[k * n + i] * z;
            if (impact_row) impact += impact_row[i] * z * std::sqrt(z);
            w_[i] = new_weights[i];
        }
        impact *= root_nav;
        for (std::size_t k = 0; k < k_count; ++k) cost += linear[k];
        cost += impact;
        if (!(cost < 1.0))
            throw std::invalid_argument("trading costs in period " + std::to_string(t_) +
                                        " exceed the portfolio value");
        rec_.turnover[t_] += 0.5 * traded;
        rec_.impact_cost[t_] += impact;
        rec_.traded[t_] = rec_.traded[t_] || traded > 0.0;
        nav_ *= 1.0 - cost;
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
    double nav_;
    std::size_t t_ = 0;
    bool at_event_ = false;
    BacktestRecord rec_;
};

}  // namespace rebalancing
