//! Disclosure control as a type: a person count leaves the gateway only as a `PersonCount`,
//! built by a `Disclosure` that knows whether the viewer may see it exactly.

use async_graphql::{Enum, SimpleObject};

/// Why a figure is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum Suppression {
    /// Between 1 and the threshold minus one: too few persons to show (diskretionering).
    BelowThreshold,
    /// Hidden so that another suppressed cell cannot be worked out from the total.
    Complementary,
    /// A rate whose numerator or denominator is suppressed.
    DerivedFromSuppressed,
}

/// A number of persons, or why it is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, SimpleObject)]
pub struct PersonCount {
    /// The count; null when suppressed.
    pub value: Option<i64>,
    /// Why the count is hidden; null when it is shown.
    pub suppressed: Option<Suppression>,
}

/// A share between 0 and 1, or why it is not shown.
#[derive(Debug, Clone, Copy, PartialEq, SimpleObject)]
pub struct Rate {
    /// The share (0–1); null when suppressed or when the denominator is 0.
    pub value: Option<f64>,
    /// Why the share is hidden; null when it is shown.
    pub suppressed: Option<Suppression>,
}

/// How person counts reach one viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// Clinicians within their own clinic and cluster.
    Exact,
    /// Regions and the ministry: 1..threshold-1 suppressed.
    Controlled { threshold: u32 },
}

impl Disclosure {
    pub fn count(self, n: i64) -> PersonCount {
        match self {
            Disclosure::Controlled { threshold } if n > 0 && n < i64::from(threshold) => {
                PersonCount {
                    value: None,
                    suppressed: Some(Suppression::BelowThreshold),
                }
            }
            _ => PersonCount {
                value: Some(n),
                suppressed: None,
            },
        }
    }

    /// A breakdown returned with its total: cells are suppressed as counts, and when exactly
    /// one cell is hidden, the smallest other non-zero cell is hidden too.
    pub fn breakdown(self, cells: &[i64]) -> Vec<PersonCount> {
        let mut out: Vec<PersonCount> = cells.iter().map(|&n| self.count(n)).collect();
        if out.iter().filter(|c| c.suppressed.is_some()).count() == 1 {
            let partner = cells
                .iter()
                .enumerate()
                .filter(|(i, &n)| n > 0 && out[*i].suppressed.is_none())
                .min_by_key(|(_, &n)| n)
                .map(|(i, _)| i);
            if let Some(i) = partner {
                out[i] = PersonCount {
                    value: None,
                    suppressed: Some(Suppression::Complementary),
                };
            }
        }
        out
    }

    /// numerator / denominator, hidden when either count is.
    pub fn rate(num: PersonCount, den: PersonCount) -> Rate {
        match (num.value, den.value) {
            (Some(n), Some(d)) => Rate {
                value: (d > 0).then(|| n as f64 / d as f64),
                suppressed: None,
            },
            _ => Rate {
                value: None,
                suppressed: Some(Suppression::DerivedFromSuppressed),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTROLLED: Disclosure = Disclosure::Controlled { threshold: 5 };

    #[test]
    fn small_counts_are_suppressed_zero_is_shown() {
        assert_eq!(CONTROLLED.count(0).value, Some(0));
        for n in 1..5 {
            assert_eq!(CONTROLLED.count(n).value, None);
            assert_eq!(
                CONTROLLED.count(n).suppressed,
                Some(Suppression::BelowThreshold)
            );
        }
        assert_eq!(CONTROLLED.count(5).value, Some(5));
        assert_eq!(Disclosure::Exact.count(2).value, Some(2));
    }

    #[test]
    fn one_hidden_cell_takes_the_smallest_other_with_it() {
        let cells = CONTROLLED.breakdown(&[3, 40, 7, 0, 12]);
        let shown: Vec<_> = cells.iter().map(|c| c.value).collect();
        assert_eq!(shown, vec![None, Some(40), None, Some(0), Some(12)]);
        assert_eq!(cells[2].suppressed, Some(Suppression::Complementary));
        // Two hidden cells already protect each other.
        let cells = CONTROLLED.breakdown(&[3, 2, 7]);
        assert_eq!(cells[2].value, Some(7));
    }

    #[test]
    fn rates_follow_their_counts() {
        let r = Disclosure::rate(CONTROLLED.count(3), CONTROLLED.count(10));
        assert_eq!(r.value, None);
        let r = Disclosure::rate(CONTROLLED.count(6), CONTROLLED.count(12));
        assert_eq!(r.value, Some(0.5));
    }

    /// Property: whatever the counts, no controlled output carries a value in 1..threshold.
    #[test]
    fn no_controlled_output_carries_a_small_count() {
        let mut seed: u64 = 0x5eed;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for threshold in [2u32, 5, 11] {
            let d = Disclosure::Controlled { threshold };
            for _ in 0..2_000 {
                let len = (next() % 8) as usize + 1;
                let cells: Vec<i64> = (0..len).map(|_| (next() % 30) as i64).collect();
                let total: i64 = cells.iter().sum();
                for c in d.breakdown(&cells).into_iter().chain([d.count(total)]) {
                    if let Some(v) = c.value {
                        assert!(v == 0 || v >= i64::from(threshold), "{cells:?} → {v}");
                    }
                }
            }
        }
    }
}
