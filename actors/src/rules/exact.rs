//! Exact arithmetic for the portfolio breakers' comparisons.
//!
//! `Decimal` arithmetic rounds whenever a result needs more than 28 digits or a scale above
//! 28: `-0.1 × 0.0000000000000000000000000001` is `0`, and `1E28 − 1E-28` is `1E28`. A breaker
//! that compares such results judges the rounding, not the portfolio: a first value of `1E-28`
//! used to trip the drawdown breaker at "drawdown 0% <= -10%". An [`Exact`] holds a decimal's
//! mantissa as a wide integer over a power of ten, so sums, differences and products of
//! decimals are held without rounding and compared exactly. It is used on the comparisons only
//! (a few additions and multiplications of 96-bit mantissas), never on the order path.

use rust_decimal::Decimal;
use std::cmp::Ordering;

/// A number held exactly: `±magnitude / 10^scale`, the magnitude in base-2³² limbs, least
/// significant first, without leading zero limbs (zero has no limbs and is never negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exact {
    negative: bool,
    limbs: Vec<u32>,
    scale: u32,
}

impl From<Decimal> for Exact {
    fn from(d: Decimal) -> Self {
        let m = d.mantissa();
        let mut magnitude = m.unsigned_abs();
        let mut limbs = Vec::with_capacity(4);
        while magnitude > 0 {
            limbs.push(magnitude as u32);
            magnitude >>= 32;
        }
        Exact {
            negative: m < 0,
            limbs,
            scale: d.scale(),
        }
        .normalized()
    }
}

impl Exact {
    fn normalized(mut self) -> Self {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
        if self.limbs.is_empty() {
            self.negative = false;
        }
        self
    }

    /// Whether it is zero.
    pub fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    /// Whether it is above zero.
    pub fn is_positive(&self) -> bool {
        !self.negative && !self.is_zero()
    }

    /// The same magnitude over `10^scale` (`scale` ≥ the current one).
    fn rescaled(&self, scale: u32) -> Vec<u32> {
        let mut limbs = self.limbs.clone();
        for _ in self.scale..scale {
            limbs = mul_small(&limbs, 10);
        }
        limbs
    }

    /// `self + other`, exactly.
    pub fn add(&self, other: &Exact) -> Exact {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.rescaled(scale), other.rescaled(scale));
        let (negative, limbs) = if self.negative == other.negative {
            (self.negative, add_mag(&a, &b))
        } else {
            match cmp_mag(&a, &b) {
                Ordering::Less => (other.negative, sub_mag(&b, &a)),
                _ => (self.negative, sub_mag(&a, &b)),
            }
        };
        Exact {
            negative,
            limbs,
            scale,
        }
        .normalized()
    }

    /// `self − other`, exactly.
    pub fn sub(&self, other: &Exact) -> Exact {
        let negated = Exact {
            negative: !other.negative,
            limbs: other.limbs.clone(),
            scale: other.scale,
        }
        .normalized();
        self.add(&negated)
    }

    /// `self × other`, exactly.
    pub fn mul(&self, other: &Exact) -> Exact {
        Exact {
            negative: self.negative != other.negative,
            limbs: mul_mag(&self.limbs, &other.limbs),
            scale: self.scale + other.scale,
        }
        .normalized()
    }
}

/// Whether `a − b ≤ c × d`, exactly. Decimal's own results are used when they are exact (it
/// rounds only by lowering the scale, so a result at the exact result's scale was not
/// rounded); the wide integers otherwise. The fast path keeps a snapshot's judgment at the
/// cost of two decimal operations.
pub fn diff_at_most_product(a: Decimal, b: Decimal, c: Decimal, d: Decimal) -> bool {
    let diff = a
        .checked_sub(b)
        .filter(|x| x.scale() == a.scale().max(b.scale()));
    let product = c
        .checked_mul(d)
        .filter(|p| p.scale() == c.scale() + d.scale());
    match (diff, product) {
        (Some(x), Some(p)) => x <= p,
        _ => Exact::from(a).sub(&Exact::from(b)) <= Exact::from(c).mul(&Exact::from(d)),
    }
}

/// Whether `a − b ≤ c`, exactly (as [`diff_at_most_product`]).
pub fn diff_at_most(a: Decimal, b: Decimal, c: Decimal) -> bool {
    match a
        .checked_sub(b)
        .filter(|x| x.scale() == a.scale().max(b.scale()))
    {
        Some(x) => x <= c,
        None => Exact::from(a).sub(&Exact::from(b)) <= Exact::from(c),
    }
}

impl PartialOrd for Exact {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Exact {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (negative, _) => {
                let scale = self.scale.max(other.scale);
                let by_magnitude = cmp_mag(&self.rescaled(scale), &other.rescaled(scale));
                if negative {
                    by_magnitude.reverse()
                } else {
                    by_magnitude
                }
            }
        }
    }
}

fn trim(mut limbs: Vec<u32>) -> Vec<u32> {
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    limbs
}

fn mul_small(a: &[u32], k: u32) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + 1);
    let mut carry = 0u64;
    for &x in a {
        let p = u64::from(x) * u64::from(k) + carry;
        out.push(p as u32);
        carry = p >> 32;
    }
    if carry > 0 {
        out.push(carry as u32);
    }
    trim(out)
}

fn add_mag(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let mut carry = 0u64;
    for i in 0..a.len().max(b.len()) {
        let s = u64::from(a.get(i).copied().unwrap_or(0))
            + u64::from(b.get(i).copied().unwrap_or(0))
            + carry;
        out.push(s as u32);
        carry = s >> 32;
    }
    if carry > 0 {
        out.push(carry as u32);
    }
    trim(out)
}

/// `a − b` for `a ≥ b`.
fn sub_mag(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i64;
    for (i, &x) in a.iter().enumerate() {
        let mut d = i64::from(x) - i64::from(b.get(i).copied().unwrap_or(0)) - borrow;
        borrow = 0;
        if d < 0 {
            d += 1 << 32;
            borrow = 1;
        }
        out.push(d as u32);
    }
    trim(out)
}

fn mul_mag(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = vec![0u32; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u64;
        for (j, &y) in b.iter().enumerate() {
            let p = u64::from(x) * u64::from(y) + u64::from(out[i + j]) + carry;
            out[i + j] = p as u32;
            carry = p >> 32;
        }
        out[i + b.len()] = carry as u32;
    }
    trim(out)
}

fn cmp_mag(a: &[u32], b: &[u32]) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.iter().rev().cmp(b.iter().rev()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn e(d: Decimal) -> Exact {
        Exact::from(d)
    }

    #[test]
    fn test_mul_when_product_below_decimal_scale_then_not_zero() {
        let tiny = Decimal::new(1, 28);
        // Decimal rounds this product to zero; Exact keeps it.
        assert_eq!(dec!(-0.1) * tiny, Decimal::ZERO);
        let p = e(dec!(-0.1)).mul(&e(tiny));
        assert!(p < e(Decimal::ZERO));
        assert!(p > e(-tiny));
    }

    #[test]
    fn test_sub_when_scales_far_apart_then_exact() {
        let d = e(dec!(10000000000000000000000000000)).sub(&e(Decimal::new(1, 28)));
        assert!(d < e(dec!(10000000000000000000000000000)));
        assert!(d > e(dec!(9999999999999999999999999999)));
    }

    #[test]
    fn test_cmp_when_signs_and_zero_then_ordered() {
        assert_eq!(e(dec!(-0)), e(dec!(0)));
        assert!(e(dec!(-1)) < e(dec!(0)));
        assert!(e(dec!(-2)) < e(dec!(-1.5)));
        assert_eq!(e(dec!(1.50)).cmp(&e(dec!(1.5))), Ordering::Equal);
        assert!(e(Decimal::MIN).sub(&e(Decimal::MAX)) < e(Decimal::MIN));
    }

    fn any_decimal() -> impl Strategy<Value = Decimal> {
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28,
        )
            .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale))
    }

    /// Decimals at every scale, mostly near each other's magnitude so results round often.
    fn mixed() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            any_decimal(),
            (-1_000_000i64..1_000_000, 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
            (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
            Just(Decimal::MAX),
            Just(Decimal::MIN),
            Just(Decimal::new(1, 28)),
            Just(Decimal::new(-1, 28)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

        /// The fast path (Decimal's own results when exact) never disagrees with the exact one.
        #[test]
        fn prop_diff_at_most_when_fast_path_taken_then_agrees_with_exact(
            a in mixed(), b in mixed(), c in mixed(), d in mixed(),
        ) {
            let exact = e(a).sub(&e(b)) <= e(c).mul(&e(d));
            prop_assert_eq!(diff_at_most_product(a, b, c, d), exact);
            prop_assert_eq!(diff_at_most(a, b, c), e(a).sub(&e(b)) <= e(c));
        }

        #[test]
        fn prop_exact_when_decimal_result_is_exact_then_agrees(a in any_decimal(), b in any_decimal()) {
            prop_assert_eq!(e(a).cmp(&e(b)), a.cmp(&b));
            // Where Decimal can hold the result exactly (checked, and undone exactly), both agree.
            if let Some(s) = a.checked_sub(b) {
                if s.checked_add(b) == Some(a) && s.checked_sub(a).map(|x| -x) == Some(b) {
                    prop_assert_eq!(e(a).sub(&e(b)).cmp(&e(s)), Ordering::Equal);
                }
            }
            let sum = e(a).add(&e(b));
            prop_assert_eq!(sum.sub(&e(b)).cmp(&e(a)), Ordering::Equal);
            let small = Decimal::new(7, 1);
            if let Some(p) = a.checked_mul(small) {
                if p.scale() == a.scale() + 1 {
                    prop_assert_eq!(e(a).mul(&e(small)).cmp(&e(p)), Ordering::Equal);
                }
            }
        }
    }
}
