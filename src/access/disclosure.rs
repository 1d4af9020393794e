//! Disclosure control as a type: a person count leaves the gateway only as a `PersonCount`,
//! made here from the set of persons it counts, for one viewer.
//!
//! The method is the cell-key method (DOMAIN.md, "Disclosure control"), as the Australian
//! Bureau of Statistics' TableBuilder and the UK's 2021 census tables use it:
//! - every person has a fixed *record key*, a pseudo-random number in [0, 1) made from the CPR
//!   number under a secret (`access.record_key_secret`), the same in every process;
//! - a count's *cell key* is the fractional part of the sum of its persons' record keys, so
//!   the same set of persons always has the same cell key, whichever question reaches it;
//! - the published table `PTABLE` maps the true count (capped at 2) and the cell key to an
//!   adjustment from −2 to +2; a controlled value from 1 to threshold − 1 is then suppressed.
//!
//! Record keys are 64-bit fixed-point fractions (k / 2^64), so the fractional part of a sum is
//! the wrapping sum: exact, and independent of the order persons are added in.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes256;
use async_graphql::{Enum, SimpleObject};
use std::collections::HashSet;
use std::sync::Mutex;

/// A person's record key: a uniform fraction in [0, 1) as k / 2^64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RecordKey(u64);

/// Makes record keys. AES-256 under the secret is the keyed pseudo-random function: a CPR
/// number fits one block, and with AES-NI a key costs tens of nanoseconds, so the rollout
/// aggregates compute one per person at every rebuild (0.55 M at national scale) without a
/// cache. Without the secret nobody can compute a key, so nobody can invert a perturbation.
#[derive(Clone)]
pub struct RecordKeys {
    cipher: Aes256,
}

#[derive(Debug, thiserror::Error)]
#[error("access.record_key_secret: must be 64 hexadecimal digits (32 bytes)")]
pub struct BadRecordKeySecret;

/// The demonstration secret of `config/default.toml`; refused when tokens come from a real
/// identity provider (a JWKS), see `app::start`.
pub const DEMO_RECORD_KEY_SECRET: &str =
    "666f726c6f65622d64656d6f2d7265636f72642d6b65792d7365637265742d31";

impl RecordKeys {
    pub fn new(hex_secret: &str) -> Result<Self, BadRecordKeySecret> {
        let bytes = hex::decode(hex_secret)
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or(BadRecordKeySecret)?;
        let cipher = Aes256::new_from_slice(&bytes).map_err(|_| BadRecordKeySecret)?;
        Ok(Self { cipher })
    }

    /// The record key of a CPR number (10 digits, as stored).
    pub fn of(&self, cpr: &str) -> RecordKey {
        // Domain-separated block: a tag, then the CPR number's bytes, zero-padded.
        let mut block = [0u8; 16];
        block[0] = b'R';
        for (slot, b) in block[1..].iter_mut().zip(cpr.bytes()) {
            *slot = b;
        }
        let mut block = aes::Block::from(block);
        self.cipher.encrypt_block(&mut block);
        let mut first = [0u8; 8];
        for (slot, b) in first.iter_mut().zip(block.iter()) {
            *slot = *b;
        }
        RecordKey(u64::from_le_bytes(first))
    }
}

/// What identifies a set of persons for disclosure control: its size and the (wrapping) sum of
/// its record keys. Two different sets have the same pair with probability about 2^-64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PersonSet {
    n: u64,
    key_sum: u64,
}

impl PersonSet {
    pub fn add(&mut self, key: RecordKey) {
        self.n += 1;
        self.key_sum = self.key_sum.wrapping_add(key.0);
    }

    /// Takes out a person added before: the inverse of `add`, so that a set over a sliding
    /// window (or a difference of running totals) is kept without keeping its members.
    pub fn remove(&mut self, key: RecordKey) {
        self.n = self.n.saturating_sub(1);
        self.key_sum = self.key_sum.wrapping_sub(key.0);
    }

    /// Adds a set with no person in common with this one (persons of another clinic): the
    /// union, as if each had been added.
    pub fn union_disjoint(&mut self, other: PersonSet) {
        self.n += other.n;
        self.key_sum = self.key_sum.wrapping_add(other.key_sum);
    }

    /// How many persons: the exact count, for the clinic's own clinicians and the operator.
    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The cell key as a percentile, 0–99: which column of the perturbation table applies.
    fn percentile(&self) -> u32 {
        // key_sum < 2^64, so the product shifted down is below 100.
        u32::try_from((u128::from(self.key_sum) * 100) >> 64).unwrap_or(99)
    }

    /// The adjustment the published table gives this set.
    pub fn adjustment(&self) -> i64 {
        // Sets larger than the table's last row use that row.
        let Some(row) = usize::try_from(self.n)
            .ok()
            .and_then(|n| PTABLE.get(n))
            .or(PTABLE.last())
        else {
            return 0;
        };
        let p = self.percentile();
        let mut upto = 0u32;
        for (adj, share) in ADJUSTMENTS.iter().zip(row) {
            upto += share;
            if p < upto {
                return *adj;
            }
        }
        0
    }
}

impl FromIterator<RecordKey> for PersonSet {
    fn from_iter<I: IntoIterator<Item = RecordKey>>(iter: I) -> Self {
        let mut set = PersonSet::default();
        for k in iter {
            set.add(k);
        }
        set
    }
}

/// The adjustments of the table's columns.
pub const ADJUSTMENTS: [i64; 5] = [-2, -1, 0, 1, 2];

/// The perturbation table, published (README, "Disclosure control"): for a true count of 0, 1
/// and 2 or more, the percentage of cell keys that get each adjustment of `ADJUSTMENTS`.
/// - 0 stays 0: an empty cell is no disclosure and a made-up person would be.
/// - No result below zero: a count of 1 never gets −2.
/// - Every row has mean zero, so values just above the threshold are not biased up or down
///   before suppression.
/// - The variance is as high as ±2 allows with some mass at every step (2.7 for counts of 2
///   and more): it sets how many independent differences an averaging attacker needs, see
///   `averaging_attack_needs` below and the README.
pub const PTABLE: [[u32; 5]; 3] = [[0, 0, 100, 0, 0], [0, 40, 30, 20, 10], [30, 15, 10, 15, 30]];

/// Why a figure is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum Suppression {
    /// The controlled value lies between 1 and the threshold minus one (diskretionering).
    BelowThreshold,
    /// A rate whose numerator or denominator is suppressed.
    DerivedFromSuppressed,
    /// Person counts are not given for a hand-picked union of several clinics or clusters:
    /// differences between such unions would isolate a few persons. Group by clinic or
    /// cluster instead.
    UnionOfClinics,
}

/// A number of persons, or why it is not shown. Made only by `Disclosure::count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, SimpleObject)]
// In several subgraphs, so shareable in federation (ignored in the one-process schema).
#[graphql(shareable)]
pub struct PersonCount {
    /// The count; null when suppressed. When `controlled`, it may differ from the true count
    /// by up to 2 (cell-key perturbation); the same set of persons always answers the same.
    value: Option<i64>,
    /// Why the count is hidden; null when it is shown.
    suppressed: Option<Suppression>,
    /// True when the count is disclosure-controlled (perturbed, small values suppressed);
    /// false when it is exact (the clinic's own clinicians).
    controlled: bool,
    /// True when a value is shown that the cell-key method may have moved by −2…+2 (every
    /// shown controlled value: whether its adjustment happened to be zero is never said, since
    /// that would tell the true count).
    perturbed: bool,
}

impl PersonCount {
    /// The value shown, if any.
    pub fn shown(&self) -> Option<i64> {
        self.value
    }

    /// Why it is hidden, if it is.
    pub fn why_hidden(&self) -> Option<Suppression> {
        self.suppressed
    }

    fn hidden(reason: Suppression) -> Self {
        PersonCount {
            value: None,
            suppressed: Some(reason),
            controlled: true,
            perturbed: false,
        }
    }
}

/// A share between 0 and 1, or why it is not shown.
#[derive(Debug, Clone, Copy, PartialEq, SimpleObject)]
// In several subgraphs, so shareable in federation (ignored in the one-process schema).
#[graphql(shareable)]
pub struct Rate {
    /// The share (0–1); null when suppressed or when the denominator is 0. From controlled
    /// counts it is computed from the controlled values and kept within 0–1.
    value: Option<f64>,
    /// Why the share is hidden; null when it is shown.
    suppressed: Option<Suppression>,
    /// True when computed from controlled counts.
    controlled: bool,
}

impl Rate {
    /// The share shown, if any.
    pub fn shown(&self) -> Option<f64> {
        self.value
    }
}

/// The controlled cells one request answered, by what identifies their sets of persons: what
/// the daily budget of distinct cells is charged with (`access::budget`).
#[derive(Debug, Default)]
pub struct CellLedger {
    cells: Mutex<HashSet<PersonSet>>,
}

impl CellLedger {
    fn note(&self, set: PersonSet) {
        // An empty set is the same cell for everyone and tells nothing: free.
        if !set.is_empty() {
            if let Ok(mut c) = self.cells.lock() {
                c.insert(set);
            }
        }
    }

    /// The distinct cells answered, as stable text ids (size and key sum in hex).
    pub fn cell_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .cells
            .lock()
            .map(|c| {
                c.iter()
                    .map(|s| format!("{:x}.{:016x}", s.n, s.key_sum))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }
}

/// How person counts reach one viewer for one figure.
#[derive(Debug, Clone, Copy)]
pub enum Disclosure<'a> {
    /// The clinic's own clinicians.
    Exact,
    /// Everyone else who may see person counts: perturbed, then 1..threshold-1 suppressed.
    Controlled {
        threshold: u32,
        ledger: &'a CellLedger,
    },
    /// Not offered to this viewer for this question at all, for the reason given.
    Withheld(Suppression),
}

impl Disclosure<'_> {
    pub fn is_exact(&self) -> bool {
        matches!(self, Disclosure::Exact)
    }

    /// The count of a set of persons as this viewer may see it.
    pub fn count(&self, set: PersonSet) -> PersonCount {
        match self {
            Disclosure::Exact => PersonCount {
                value: Some(set.n as i64),
                suppressed: None,
                controlled: false,
                perturbed: false,
            },
            Disclosure::Controlled { threshold, ledger } => {
                ledger.note(set);
                let v = (set.n as i64 + set.adjustment()).max(0);
                if v > 0 && v < i64::from(*threshold) {
                    PersonCount::hidden(Suppression::BelowThreshold)
                } else {
                    PersonCount {
                        value: Some(v),
                        suppressed: None,
                        controlled: true,
                        perturbed: true,
                    }
                }
            }
            Disclosure::Withheld(reason) => PersonCount::hidden(*reason),
        }
    }

    /// numerator / denominator, hidden when either count is.
    pub fn rate(num: PersonCount, den: PersonCount) -> Rate {
        let controlled = num.controlled || den.controlled;
        match (num.value, den.value) {
            (Some(n), Some(d)) => Rate {
                value: (d > 0).then(|| (n as f64 / d as f64).clamp(0.0, 1.0)),
                suppressed: None,
                controlled,
            },
            _ => Rate {
                value: None,
                suppressed: Some(Suppression::DerivedFromSuppressed),
                controlled,
            },
        }
    }
}

#[cfg(test)]
// Simulations count in small numbers that fit every integer type they are cast to.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
mod tests {
    use super::*;

    fn keys() -> RecordKeys {
        RecordKeys::new(DEMO_RECORD_KEY_SECRET).expect("demo secret")
    }

    /// A deterministic stream of pseudo-random numbers for the properties below.
    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    fn set_of(n: usize, next: &mut impl FnMut() -> u64) -> PersonSet {
        (0..n).map(|_| RecordKey(next())).collect()
    }

    #[test]
    fn the_table_keeps_zero_never_goes_below_zero_and_has_mean_zero() {
        for (n, row) in PTABLE.iter().enumerate() {
            assert_eq!(row.iter().sum::<u32>(), 100, "row {n} sums to 100 %");
            let mean: i64 = ADJUSTMENTS
                .iter()
                .zip(row)
                .map(|(a, p)| a * i64::from(*p))
                .sum();
            assert_eq!(mean, 0, "row {n} has mean zero");
            for (a, p) in ADJUSTMENTS.iter().zip(row) {
                if *p > 0 {
                    assert!(n as i64 + a >= 0, "row {n} never goes below zero");
                }
            }
        }
        assert_eq!(PTABLE[0], [0, 0, 100, 0, 0], "zero stays zero");
        // Observed over many sets: the adjustment's distribution follows the table.
        let mut next = xorshift(0x5eed);
        for n in [1usize, 2, 7, 40] {
            let row = &PTABLE[n.min(2)];
            let mut seen = [0u32; 5];
            for _ in 0..20_000 {
                let adj = set_of(n, &mut next).adjustment();
                seen[(adj + 2) as usize] += 1;
            }
            for (i, p) in row.iter().enumerate() {
                let share = f64::from(seen[i]) / 200.0;
                assert!((share - f64::from(*p)).abs() < 1.5, "n={n}: {seen:?}");
            }
        }
    }

    #[test]
    fn the_same_persons_always_answer_the_same_in_any_order() {
        let k = keys();
        let cprs = ["0103521234", "1204801236", "3112999995", "0101010101"];
        let a: PersonSet = cprs.iter().map(|c| k.of(c)).collect();
        let b: PersonSet = cprs.iter().rev().map(|c| k.of(c)).collect();
        assert_eq!(a, b);
        let ledger = CellLedger::default();
        let d = Disclosure::Controlled {
            threshold: 5,
            ledger: &ledger,
        };
        assert_eq!(d.count(a), d.count(b));
        assert_eq!(ledger.cell_ids().len(), 1, "one distinct cell");
        // Another secret gives other keys.
        let other = RecordKeys::new(&"ab".repeat(32)).expect("key");
        assert_ne!(k.of(cprs[0]), other.of(cprs[0]));
        assert!(RecordKeys::new("abc").is_err());
    }

    #[test]
    fn exact_for_the_clinic_controlled_for_everyone_else() {
        let mut next = xorshift(7);
        let ledger = CellLedger::default();
        let controlled = Disclosure::Controlled {
            threshold: 5,
            ledger: &ledger,
        };
        assert_eq!(controlled.count(PersonSet::default()).shown(), Some(0));
        let three = set_of(3, &mut next);
        assert_eq!(Disclosure::Exact.count(three).shown(), Some(3));
        // No controlled output carries a value from 1 to threshold - 1, whatever the count.
        for threshold in [2u32, 5, 11] {
            let d = Disclosure::Controlled {
                threshold,
                ledger: &ledger,
            };
            for n in 0..40 {
                for _ in 0..200 {
                    let c = d.count(set_of(n, &mut next));
                    if let Some(v) = c.shown() {
                        assert!(v == 0 || v >= i64::from(threshold), "{n} → {v}");
                        assert!((v - n as i64).abs() <= 2);
                    } else {
                        assert_eq!(c.why_hidden(), Some(Suppression::BelowThreshold));
                    }
                }
            }
        }
    }

    #[test]
    fn rates_follow_their_counts_and_stay_within_one() {
        let mut next = xorshift(11);
        let ledger = CellLedger::default();
        let d = Disclosure::Controlled {
            threshold: 5,
            ledger: &ledger,
        };
        let hidden = PersonCount::hidden(Suppression::BelowThreshold);
        let r = Disclosure::rate(hidden, d.count(set_of(30, &mut next)));
        assert_eq!(r.shown(), None);
        for _ in 0..500 {
            let r = Disclosure::rate(
                d.count(set_of(20, &mut next)),
                d.count(set_of(20, &mut next)),
            );
            assert!(r.shown().is_some_and(|v| (0.0..=1.0).contains(&v)));
        }
    }

    /// The averaging attack in its most favourable setting: the attacker can ask for any
    /// number of pairs of sets (A ∪ H, A), each A new, around a hidden set H of h persons,
    /// and averages the differences. Returns the fewest distinct cells (two per pair) after
    /// which the attacker's 95 % interval (mean ± 1.96·σ/√pairs, σ known from the published
    /// table) is within ±1, and checks it by simulation.
    pub fn averaging_attack_needs() -> usize {
        let var: f64 = ADJUSTMENTS
            .iter()
            .zip(&PTABLE[2])
            .map(|(a, p)| (a * a) as f64 * f64::from(*p) / 100.0)
            .sum();
        let sd_difference = (2.0 * var).sqrt();
        let pairs = ((1.96 * sd_difference).powi(2)).ceil() as usize;
        2 * pairs
    }

    #[test]
    fn averaging_needs_more_cells_than_a_few_dozen() {
        let cells = averaging_attack_needs();
        assert_eq!(
            cells, 42,
            "README and the budget defaults quote this number"
        );
        // Simulated: with that many cells the estimate is within ±1 about 95 % of the time;
        // with half of them, clearly less often.
        let mut next = xorshift(99);
        let within = |cells: usize, next: &mut dyn FnMut() -> u64| {
            let mut hits = 0;
            for _ in 0..2_000 {
                let h = (next() % 4 + 1) as usize;
                let hidden = set_of(h, &mut || next());
                let mut sum = 0i64;
                for _ in 0..cells / 2 {
                    let a = set_of(50 + (next() % 200) as usize, &mut || next());
                    let mut with = a;
                    with.key_sum = with.key_sum.wrapping_add(hidden.key_sum);
                    with.n += hidden.n;
                    let shown = |s: PersonSet| s.n as i64 + s.adjustment();
                    sum += shown(with) - shown(a);
                }
                let estimate = sum as f64 / (cells / 2) as f64;
                if (estimate - h as f64).abs() <= 1.0 {
                    hits += 1;
                }
            }
            f64::from(hits) / 2_000.0
        };
        let full = within(cells, &mut next);
        let half = within(cells / 4, &mut next);
        assert!(full > 0.93, "{full}");
        assert!(half < 0.80, "{half}");
    }
}
