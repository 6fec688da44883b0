#pragma once
/// Search over the breakpoints of a monotone piecewise-linear function of one multiplier.
///
/// Both the exact prox (prox.hpp) and the duality-gap certificate (certificate.hpp) reduce to
/// finding where a monotone function of the sum-constraint multiplier nu crosses a level. That
/// function is piecewise linear with known breakpoints, so the crossing is found exactly by a
/// selection-based binary search: O(n) expected work for the selections plus O(log n)
/// evaluations, instead of sorting all breakpoints.

#include <algorithm>
#include <cstddef>
#include <vector>

namespace rebalancing {

/// The two breakpoints that bracket the switch of a monotone predicate.
struct BreakpointBracket {
    bool has_left = false;     ///< some breakpoint has pred == false
    bool has_right = false;    ///< some breakpoint has pred == true
    double left = 0.0;         ///< the largest breakpoint with pred == false
    double right = 0.0;        ///< the smallest breakpoint with pred == true
    double left_value = 0.0;   ///< value(left) as returned by the evaluator
    double right_value = 0.0;  ///< value(right)
};

/// `eval(nu)` returns a value v(nu) and `pred(v)` must be false then true as nu increases.
/// `breakpoints` is reordered (not otherwise changed).
template <class Eval, class Pred>
BreakpointBracket bracket_breakpoints(std::vector<double>& breakpoints, Eval eval, Pred pred) {
    BreakpointBracket out;
    auto lo = breakpoints.begin();
    auto hi = breakpoints.end();
    while (lo < hi) {
        auto mid = lo + (hi - lo) / 2;
        std::nth_element(lo, mid, hi);
        const double nu = *mid;
        const double value = eval(nu);
        if (pred(value)) {
            out.has_right = true;
            out.right = nu;
            out.right_value = value;
            hi = mid;  // [lo, mid) holds the breakpoints <= nu
        } else {
            out.has_left = true;
            out.left = nu;
            out.left_value = value;
            lo = mid + 1;  // (mid, hi) holds the breakpoints >= nu
        }
    }
    return out;
}

}  // namespace rebalancing
